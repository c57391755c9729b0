/*
 * model: the whole config side in one call, as check, resolve, run and
 * reload all use it: load files, validate and default, resolve.
 */
#ifndef SVCPROXY_MODEL_H
#define SVCPROXY_MODEL_H

#include <stdint.h>

#include "diag.h"
#include "load.h"
#include "pcfg-t.h"
#include "res.h"

/*
 * Where model_load() spent its time, in microseconds of wall clock and
 * of CPU (every thread of the process): reading, parsing, decoding,
 * sorting and duplicates (load), validation, resolving.  `check`
 * prints them with SVCPROXY_TIMINGS set.
 */
enum model_phase {
	MODEL_LOAD,
	MODEL_VALIDATE,
	MODEL_RESOLVE,
	MODEL_NPHASES
};

struct model_times {
	int64_t			 wall_us[MODEL_NPHASES];
	int64_t			 cpu_us[MODEL_NPHASES];
};

struct model {
	struct kset		 set;		/* owns the objects */
	struct pcfg		 pcfg;		/* points into set's arena */
	struct res_model	 res;		/* borrows from set and pcfg */
	int			 resolved;	/* res is valid (free it) */
	size_t			 nerrors;
	struct model_times	 times;
};

/*
 * Load path, validate, resolve.  Returns the number of errors (0: the
 * model can be served); every diagnostic is in diags, sorted by place.
 * The model must be freed with model_free() whatever the result; a
 * model is never moved once loaded (res points at its pcfg).
 */
size_t	 model_load(struct model *, const char *path, struct diag_list *);
void	 model_free(struct model *);

#endif
