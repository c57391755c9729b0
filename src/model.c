#include "config.h"

#include <string.h>
#include <time.h>

#include "clock.h"
#include "model.h"
#include "val.h"

static void
phase_start(struct model_times *t, enum model_phase ph)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	t->wall_us[ph] = -clock_mono_us();
	t->cpu_us[ph] = -((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
}

static void
phase_end(struct model_times *t, enum model_phase ph)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	t->wall_us[ph] += clock_mono_us();
	t->cpu_us[ph] += (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

size_t
model_load(struct model *m, const char *path, struct diag_list *diags)
{
	size_t	before = diags->nerr;

	memset(m, 0, sizeof(*m));
	kset_init(&m->set);
	phase_start(&m->times, MODEL_LOAD);
	load_path(&m->set, path, diags);
	phase_end(&m->times, MODEL_LOAD);
	phase_start(&m->times, MODEL_VALIDATE);
	val_all(&m->set, &m->pcfg, diags);
	phase_end(&m->times, MODEL_VALIDATE);
	phase_start(&m->times, MODEL_RESOLVE);
	if (res_build(&m->set, &m->pcfg, &m->res, diags) == 0)
		m->resolved = 1;
	else
		diag_add(diags, DIAG_ERROR, DIAG_NOTE, path, 0, 0, NULL, NULL,
		    NULL, NULL, NULL, "out of memory while resolving");
	phase_end(&m->times, MODEL_RESOLVE);
	diag_sort(diags);
	m->nerrors = diags->nerr - before;
	return m->nerrors;
}

void
model_free(struct model *m)
{
	if (m->resolved)
		res_free(&m->res);
	kset_free(&m->set);
	memset(m, 0, sizeof(*m));
}
