/*
 * Namespaces: the declared ones are checked; every namespace an object
 * lives in but no file declares is added as an implicit one, so that
 * namespaceSelector sees it as a real cluster would (where it exists
 * before anything is created in it).  Each gets the label the API
 * server sets on every namespace.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "val_int.h"
#include "vec.h"

#define NS_NAME_LABEL	"kubernetes.io/metadata.name"

static int
ns_cmp(const void *a, const void *b)
{
	const struct kns *x = *(struct kns * const *)a;
	const struct kns *y = *(struct kns * const *)b;

	return strcmp(x->meta.name, y->meta.name);
}

/* Binary search of the sorted prefix [0, n) of set->nss. */
static int
ns_find(const struct kset *set, size_t n, const char *name)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t	mid = lo + (hi - lo) / 2;
		int	c = strcmp(name, set->nss.v[mid]->meta.name);

		if (c == 0)
			return 1;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return 0;
}

/* Append an implicit namespace; the caller sorts afterwards. */
static int
ns_add(struct kset *set, const char *name, const char *file)
{
	struct kns *ns;

	if (VEC_GROW(&set->nss.v, &set->nss.cap, set->nss.n + 1, 16) == -1)
		return -1;
	if ((ns = arena_alloc(&set->arena, sizeof(*ns))) == NULL)
		return -1;
	ns->file = file;		/* the first object that uses it */
	ns->meta.name = name;
	ns->implicit = 1;
	set->nss.v[set->nss.n++] = ns;
	return 0;
}

/*
 * Add namespace ns unless it is declared (the sorted [0, nsorted)) or
 * already added.  A name that is not a valid namespace name is left to
 * the object's own checks.
 */
static void
add_used(struct kset *set, size_t nsorted, const char *ns, const char *file)
{
	size_t i;

	if (ns == NULL || !val_is_dns1123_label(ns))
		return;
	if (ns_find(set, nsorted, ns))
		return;
	for (i = nsorted; i < set->nss.n; i++)	/* added in this pass */
		if (strcmp(set->nss.v[i]->meta.name, ns) == 0)
			return;
	(void)ns_add(set, ns, file);
}

/*
 * add_used for the objects of one kind, sorted by namespace: a run of
 * objects in one namespace needs only its first looked up (the name
 * check and search would otherwise run for each of 50,000 Pods).
 */
#define ADD_USED_KIND(set, n, vec) do {					\
	const char *last_ = NULL;					\
	size_t i_;							\
									\
	for (i_ = 0; i_ < (vec).n; i_++) {				\
		const char *ns_ = (vec).v[i_]->meta.ns;			\
									\
		if (ns_ != NULL && last_ != NULL &&			\
		    strcmp(ns_, last_) == 0)				\
			continue;					\
		add_used((set), (n), ns_, (vec).v[i_]->file);		\
		last_ = ns_;						\
	}								\
} while (0)

static void
add_implicit(struct kset *set)
{
	size_t	n = set->nss.n;

	ADD_USED_KIND(set, n, set->svcs);
	ADD_USED_KIND(set, n, set->pods);
	ADD_USED_KIND(set, n, set->epss);
	ADD_USED_KIND(set, n, set->netpols);
	if (set->nss.n > n)
		qsort(set->nss.v, set->nss.n, sizeof(*set->nss.v), ns_cmp);
}

/*
 * The API server sets kubernetes.io/metadata.name to the name on every
 * namespace, over any value given.
 */
static void
name_label(struct kset *set, struct kns *ns, struct diag_list *diags)
{
	struct kstrmap	*l = &ns->meta.labels;
	struct kpair	*v;
	size_t		 i;

	for (i = 0; i < l->n; i++) {
		if (strcmp(l->v[i].key, NS_NAME_LABEL) != 0)
			continue;
		if (strcmp(l->v[i].value, ns->meta.name) != 0) {
			struct diag_ctx dc;

			val_ctx(&dc, diags, ns->file, "Namespace", &ns->meta);
			kobj_warn(&dc, val_map_value(l, i), DIAG_INVALID,
			    "metadata.labels", l->v[i].value,
			    "the API server sets label %s to the namespace "
			    "name; \"%s\" is used", NS_NAME_LABEL,
			    ns->meta.name);
			l->v[i].value = ns->meta.name;
		}
		return;
	}
	if ((v = arena_calloc(&set->arena, l->n + 1, sizeof(*v))) == NULL)
		return;
	if (l->n > 0)
		memcpy(v, l->v, l->n * sizeof(*v));
	v[l->n].key = NS_NAME_LABEL;
	v[l->n].value = ns->meta.name;
	l->v = v;
	l->n++;
}

void
val_namespaces(struct kset *set, struct diag_list *diags)
{
	struct diag_ctx	dc;
	size_t		i;

	/*
	 * SetDefaults_Namespace sets the name label before validation, so
	 * a wrong value given for it is replaced, not reported.
	 */
	for (i = 0; i < set->nss.n; i++) {
		struct kns *ns = set->nss.v[i];

		name_label(set, ns, diags);
		val_ctx(&dc, diags, ns->file, "Namespace", &ns->meta);
		if (val_meta(&dc, &ns->meta, ns->y, val_dns1123_label, 0) > 0)
			ns->invalid = 1;
	}
	add_implicit(set);
	for (i = 0; i < set->nss.n; i++)
		if (set->nss.v[i]->implicit)
			name_label(set, set->nss.v[i], diags);
}
