/*
 * libFuzzer target: one YAML file through the whole config side
 * (ydoc -> kobj -> val -> res), freeing on every path.  Built with
 * ./configure --enable-fuzzing CC=clang; seeded from conf/ and tests/.
 *
 * Then differential: the file parsed again cut into pieces on two
 * threads (load_buffer_split, the path files of a megabyte or more
 * take), pieces of 1 to 64 bytes as the last input byte says, must give
 * the serial parse's objects, diagnostics in order and hash; a
 * difference aborts.  Inputs up to FUZZ_SPLIT_MAX: the fuzzer's own are
 * small, and the timed slow shapes should time one parse.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "load.h"
#include "res.h"
#include "val.h"

#define FUZZ_MAX_INPUT	(2 * 1024 * 1024)	/* run.sh -max_len */
/* Larger inputs (run.sh's timed slow shapes) are parsed only once. */
#define FUZZ_SPLIT_MAX	(64 * 1024)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* What must match: the object counts, then each diagnostic's text. */
static void
same_load(const struct kset *a, const struct diag_list *da,
    const uint8_t *data, size_t size)
{
	struct load_split	split = { 2, size > 0 ? data[size - 1] % 64 + 1 :
				    1 };
	struct kset		b;
	struct diag_list	db;
	char			x[512], y[512];
	size_t			i;

	kset_init(&b);
	diag_list_init(&db);
	load_buffer_split(&b, "fuzz.yaml", (const char *)data, size, &split,
	    &db);
	load_finish(&b, &db);
	if (a->svcs.n != b.svcs.n || a->pods.n != b.pods.n ||
	    a->nss.n != b.nss.n || a->epss.n != b.epss.n ||
	    a->netpols.n != b.netpols.n || (a->pcfg == NULL) !=
	    (b.pcfg == NULL) || a->nskipped != b.nskipped ||
	    a->hash != b.hash || da->n != db.n || da->nerr != db.nerr)
		abort();
	for (i = 0; i < da->n; i++) {
		diag_format(&da->v[i], x, sizeof(x));
		diag_format(&db.v[i], y, sizeof(y));
		if (strcmp(x, y) != 0)
			abort();
	}
	diag_list_free(&db);
	kset_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kset		set;
	struct diag_list	dl;
	struct pcfg		pcfg;
	struct res_model	res;
	char			buf[256];
	size_t			i;

	if (size > FUZZ_MAX_INPUT)
		return -1;
	kset_init(&set);
	diag_list_init(&dl);
	load_buffer(&set, "fuzz.yaml", (const char *)data, size, &dl);
	load_finish(&set, &dl);
	if (size <= FUZZ_SPLIT_MAX)
		same_load(&set, &dl, data, size);
	val_all(&set, &pcfg, &dl);
	if (res_build(&set, &pcfg, &res, &dl) == 0)
		res_free(&res);
	/* Formatting every diagnostic exercises the message paths too. */
	for (i = 0; i < dl.n; i++)
		diag_format(&dl.v[i], buf, sizeof(buf));
	diag_list_free(&dl);
	kset_free(&set);
	return 0;
}
