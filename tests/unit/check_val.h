/* Helpers shared by the check_val*.c files (one test binary). */
#ifndef SVCPROXY_CHECK_VAL_H
#define SVCPROXY_CHECK_VAL_H

#include <check.h>

#include "diag.h"
#include "load.h"
#include "val_int.h"

/* One validated input: the set, its diagnostics, the ProxyConfig. */
struct vt {
	struct kset		set;
	struct diag_list	dl;
	struct pcfg		pcfg;
	size_t			nerr;	/* val_all() result */
};

/* Load yaml (must decode cleanly) and validate it. */
void	 vt_run(struct vt *, const char *yaml);
void	 vt_free(struct vt *);
/* The first diagnostic at field with that severity, else NULL. */
const struct diag *vt_find(const struct vt *, const char *field,
	    enum diag_severity);
/*
 * Assert an error (or warning) at field of that type; bad NULL: not
 * checked; detail: a substring of the detail (NULL: not checked).
 */
const struct diag *vt_expect(const struct vt *, const char *field,
	    enum diag_severity, enum diag_type, const char *bad,
	    const char *detail);
/* Assert no error and no warning at all. */
void	 vt_clean(const struct vt *);

/* Service YAML around a spec body (each line indented by 2). */
const char *vt_svc(const char *spec);

TCase	*val_tc_service(void);
TCase	*val_tc_service_cross(void);
TCase	*val_tc_pod(void);
TCase	*val_tc_eps(void);
TCase	*val_tc_netpol(void);

#endif
