/*
 * unit.h: helpers shared by the Check suites.  Header-only so every
 * test binary links only the modules it tests.
 */
#ifndef SVCPROXY_UNIT_H
#define SVCPROXY_UNIT_H

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "load.h"

/* Load one YAML text as file "test.yaml" into a fresh set. */
static inline int
unit_load(struct kset *set, struct diag_list *dl, const char *yaml)
{
	int rc;

	kset_init(set);
	diag_list_init(dl);
	rc = load_buffer(set, "test.yaml", yaml, strlen(yaml), dl);
	load_finish(set, dl);
	return rc;
}

static inline void
unit_free(struct kset *set, struct diag_list *dl)
{
	kset_free(set);
	diag_list_free(dl);
}

/* The first diagnostic whose field path equals field (NULL: any). */
static inline const struct diag *
unit_find(const struct diag_list *dl, const char *field)
{
	size_t i;

	for (i = 0; i < dl->n; i++)
		if (field == NULL || (dl->v[i].field != NULL &&
		    strcmp(dl->v[i].field, field) == 0))
			return &dl->v[i];
	return NULL;
}

/* Print diagnostics when a test fails, to see why. */
static inline void
unit_dump(const struct diag_list *dl)
{
	diag_print(dl, stderr);
}

/* Run one suite; the exit code of a Check test binary. */
static inline int
unit_run(Suite *s)
{
	SRunner	*sr = srunner_create(s);
	int	 nfail;

	srunner_run_all(sr, CK_ENV);
	nfail = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfail == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
