#include "config.h"

#include <string.h>

#include "model.h"
#include "val.h"

size_t
model_load(struct model *m, const char *path, struct diag_list *diags)
{
	size_t before = diags->nerr;

	memset(m, 0, sizeof(*m));
	kset_init(&m->set);
	load_path(&m->set, path, diags);
	val_all(&m->set, &m->pcfg, diags);
	if (res_build(&m->set, &m->pcfg, &m->res, diags) == 0)
		m->resolved = 1;
	else
		diag_add(diags, DIAG_ERROR, DIAG_NOTE, path, 0, 0, NULL, NULL,
		    NULL, NULL, NULL, "out of memory while resolving");
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
