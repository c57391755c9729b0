/*
 * Service clusterIP, clusterIPs, ipFamilies and ipFamilyPolicy: the
 * API server's ValidateServiceClusterIPsRelatedFields, run before it
 * allocates, then the allocation of the requested cluster IPs against
 * the Services created before (val_service.c has the order).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "val_service_int.h"

/*
 * initIPFamilyFields, the part that needs no cluster configuration: an
 * absent ipFamilyPolicy is SingleStack (RequireDualStack for a headless
 * Service without selector), and SingleStack has one address and one
 * family.
 */
static void
family_policy(struct svc_ctx *c)
{
	const struct ksvc_spec	*sp = &c->s->spec;
	const char		*policy = sp->ip_family_policy;

	if (policy == NULL)
		policy = headless(c->s) && sp->selector.n == 0 ?
		    "RequireDualStack" : "SingleStack";
	if (!is(policy, "SingleStack"))
		return;
	if (sp->cluster_ips.n == 2)
		err(c, at(c, "ipFamilyPolicy"), DIAG_INVALID,
		    "spec.ipFamilyPolicy", policy, "must be 'RequireDualStack' "
		    "or 'PreferDualStack' when multiple cluster IPs are "
		    "specified");
	if (sp->ip_families.n == 2)
		err(c, at(c, "ipFamilyPolicy"), DIAG_INVALID,
		    "spec.ipFamilyPolicy", policy, "must be 'RequireDualStack' "
		    "or 'PreferDualStack' when multiple IP families are "
		    "specified");
}

/*
 * ValidateServiceClusterIPsRelatedFields: clusterIP against clusterIPs,
 * ipFamilies, ipFamilyPolicy, each clusterIPs entry, dual-stack pairs,
 * and each IP against its family.  The API server runs it before it
 * allocates (initIPFamilyFields), and not again.
 */
void
val_svc_cluster_ips(struct svc_ctx *c)
{
	struct ksvc_spec	*sp = &c->s->spec;
	const struct kstrlist	*l = &sp->cluster_ips, *fam = &sp->ip_families;
	struct ipaddr		 a[2];
	char			 f[VAL_PATH_MAX];
	size_t			 i, j, n0 = c->n;
	int			 invalid_ips = 0;

	if (is(sp->type, "ExternalName"))
		return;
	memset(a, 0, sizeof(a));
	if (!empty(sp->cluster_ip)) {
		if (l->n == 0)
			err(c, at(c, "clusterIP"), DIAG_REQUIRED,
			    "spec.clusterIPs", NULL, NULL);
		else if (!is(l->v[0], sp->cluster_ip))
			err(c, l->y->items[0], DIAG_INVALID, "spec.clusterIPs",
			    l->v[0], "first value must match `clusterIP`");
	} else if (l->n != 0)
		err(c, l->y, DIAG_INVALID, "spec.clusterIPs", l->v[0],
		    "must be empty when `clusterIP` is not specified");
	for (i = 0; i < fam->n; i++) {
		val_path(f, "spec.ipFamilies[%zu]", i);
		if (!is(fam->v[i], "IPv4") && !is(fam->v[i], "IPv6"))
			err(c, fam->y->items[i], DIAG_NOT_SUPPORTED, f,
			    fam->v[i], "supported values: \"IPv4\", \"IPv6\"");
		for (j = 0; j < i; j++)
			if (is(fam->v[j], fam->v[i]))
				break;
		if (j < i)
			err(c, fam->y->items[i], DIAG_DUPLICATE, f, fam->v[i],
			    NULL);
	}
	if (sp->ip_family_policy != NULL &&
	    !is(sp->ip_family_policy, "SingleStack") &&
	    !is(sp->ip_family_policy, "PreferDualStack") &&
	    !is(sp->ip_family_policy, "RequireDualStack"))
		err(c, at(c, "ipFamilyPolicy"), DIAG_NOT_SUPPORTED,
		    "spec.ipFamilyPolicy", sp->ip_family_policy,
		    "supported values: \"PreferDualStack\", "
		    "\"RequireDualStack\", \"SingleStack\"");
	for (i = 0; i < l->n; i++) {
		struct ipaddr	 tmp = { 0 }, *ip = i < 2 ? &a[i] : &tmp;

		val_path(f, "spec.clusterIPs[%zu]", i);
		if (i == 0 && is(l->v[0], "None")) {
			if (l->n > 1) {
				invalid_ips = 1;
				err(c, l->y, DIAG_INVALID, "spec.clusterIPs",
				    "None", "'None' must be the first and "
				    "only value");
			}
			continue;
		}
		if (val_ip(&c->dc, l->y->items[i], f, l->v[i], 0, ip) > 0) {
			c->n++;
			invalid_ips = 1;
		} else if (ipaddr_is_unspecified(ip)) {
			/* svcproxy's: nothing could be served there. */
			kobj_err(&c->dc, l->y->items[i], DIAG_INVALID, f,
			    l->v[i], "may not be unspecified (%s)", l->v[i]);
			c->n++;
			invalid_ips = 1;
		} else if (ipaddr_is_loopback(ip))
			val_warn_loopback(&c->dc, l->y->items[i], f, l->v[i]);
	}
	if (l->n > 2)
		err(c, l->y, DIAG_INVALID, "spec.clusterIPs", NULL,
		    "may only hold up to 2 values");
	if (invalid_ips)
		goto out;
	if (l->n == 2 && a[0].family == a[1].family)
		err(c, l->y, DIAG_INVALID, "spec.clusterIPs", l->v[1],
		    "may specify no more than one IP for each IP family");
	if (headless(c->s))
		goto out;
	for (i = 0; i < l->n && i < 2 && i < fam->n; i++) {
		int v6 = a[i].family == AF_INET6;

		if ((is(fam->v[i], "IPv4") && v6) ||
		    (is(fam->v[i], "IPv6") && !v6)) {
			kobj_err(&c->dc, l->y->items[i], DIAG_INVALID,
			    val_path(f, "spec.clusterIPs[%zu]", i), l->v[i],
			    "expected an %s value as indicated by "
			    "`ipFamilies[%zu]`", fam->v[i], i);
			c->n++;
		}
	}
out:
	if (c->n == n0)
		family_policy(c);
	if (c->n > n0)
		c->alloc_failed = 1;
}

static int
ip_use_cmp(const void *a, const void *b)
{
	const struct ip_use	*x = a, *y = b;
	int			 r = ipaddr_cmp(&x->ip, &y->ip);

	if (r != 0)
		return r;
	return x->svc < y->svc ? -1 : x->svc > y->svc;
}

/* The created Service (earlier, without errors) holding ip, or NULL. */
static const struct ksvc *
ip_owner(const struct svc_ctx *c, const struct ipaddr *ip)
{
	struct ip_use	 key;
	size_t		 lo = 0, hi = c->al->nips, mid;

	memset(&key, 0, sizeof(key));
	key.ip = *ip;
	while (lo < hi) {		/* the first entry >= (ip, 0) */
		mid = lo + (hi - lo) / 2;
		if (ip_use_cmp(&c->al->ips[mid], &key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < c->al->nips && c->al->ips[lo].svc < c->idx &&
	    ipaddr_equal(&c->al->ips[lo].ip, ip); lo++)
		if (!c->set->svcs.v[c->al->ips[lo].svc]->invalid)
			return c->set->svcs.v[c->al->ips[lo].svc];
	return NULL;
}

/* allocClusterIPs for the requested addresses. */
void
val_svc_alloc_cluster_ips(struct svc_ctx *c)
{
	const struct ksvc_spec	*sp = &c->s->spec;
	const struct kstrlist	*l = &sp->cluster_ips;
	const struct ksvc	*o;
	struct ipaddr		 ip;
	size_t			 i;

	if (c->alloc_failed || is(sp->type, "ExternalName") || headless(c->s))
		return;
	for (i = 0; i < l->n && i < 2; i++) {
		if (ipaddr_parse(l->v[i], &ip) == -1 ||
		    (o = ip_owner(c, &ip)) == NULL)
			continue;
		kobj_err(&c->dc, l->y->items[i], DIAG_INVALID,
		    "spec.clusterIPs", l->v[i], "failed to allocate IP %s: "
		    "provided IP is already allocated", l->v[i]);
		c->n++;
		note_holder(c, l->y->items[i], "spec.clusterIPs", o);
		c->alloc_failed = 1;
		return;
	}
}

/* Every requested cluster IP, for ip_owner(). */
void
val_svc_collect_ips(struct kset *set, struct svc_alloc *al)
{
	size_t i, k;

	if (set->svcs.n == 0 ||
	    (al->ips = calloc(set->svcs.n * 2, sizeof(*al->ips))) == NULL)
		return;
	for (i = 0; i < set->svcs.n; i++) {
		const struct ksvc_spec *sp = &set->svcs.v[i]->spec;

		if (is(sp->type, "ExternalName"))
			continue;
		for (k = 0; k < sp->cluster_ips.n && k < 2; k++)
			if (ipaddr_parse(sp->cluster_ips.v[k],
			    &al->ips[al->nips].ip) == 0)
				al->ips[al->nips++].svc = i;
	}
	qsort(al->ips, al->nips, sizeof(*al->ips), ip_use_cmp);
}
