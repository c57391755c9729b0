/*
 * libFuzzer target: one YAML file through the whole config side
 * (ydoc -> kobj -> val -> res), freeing on every path.  Built with
 * ./configure --enable-fuzzing CC=clang; seeded from conf/ and tests/.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "load.h"
#include "res.h"
#include "val.h"

#define FUZZ_MAX_INPUT	(2 * 1024 * 1024)	/* run.sh -max_len */

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

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
