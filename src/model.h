/*
 * model: the whole config side in one call, as check, resolve, run and
 * reload all use it: load files, validate and default, resolve.
 */
#ifndef SVCPROXY_MODEL_H
#define SVCPROXY_MODEL_H

#include "diag.h"
#include "load.h"
#include "pcfg-t.h"
#include "res.h"

struct model {
	struct kset		 set;		/* owns the objects */
	struct pcfg		 pcfg;		/* points into set's arena */
	struct res_model	 res;		/* borrows from set and pcfg */
	int			 resolved;	/* res is valid (free it) */
	size_t			 nerrors;
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
