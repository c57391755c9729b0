/*
 * policy index: pol_allowed() (the merged per-list index) must answer
 * exactly what pol_judge() (the walk) answers.  Random clusters and
 * policies, written as YAML and taken through load -> val -> pol_build
 * as a snapshot would, then many random flows through both.  Fixed
 * seeds: a failure prints its seed, world and flow, and repeats.
 */
#include "config.h"

#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "load.h"
#include "policy.h"
#include "unit.h"
#include "val.h"

#define WORLDS		300	/* random clusters per seed */
#define FLOWS		400	/* random flows per cluster */

/*
 * SVCPROXY_TEST_SCALE=P (1-100, default 100) runs P% of the random
 * clusters of the three differential tests (at least one each).  CI
 * runs them whole in the plain build and at a fraction under ASan,
 * where each costs about ten times as much: there they look for memory
 * errors in the code paths, which a few hundred clusters reach, not for
 * a rare disagreement, which the whole count in the plain build does.
 */
static unsigned
scaled(unsigned n)
{
	const char	*e = getenv("SVCPROXY_TEST_SCALE");
	long		 p;
	char		*end;

	if (e == NULL || *e == '\0')
		return n;
	p = strtol(e, &end, 10);
	if (*end != '\0' || p < 1 || p >= 100)
		return n;
	n = (unsigned)((unsigned long)n * (unsigned long)p / 100);
	return n > 0 ? n : 1;
}

/*
 * xorshift64*: the test's own sequence, the same on every machine; and
 * how the generator leans.
 */
struct rng {
	uint64_t	x;
	int		narrow;	/* small Pod selections, few port specs */
};

static uint64_t
rnd(struct rng *s)
{
	s->x ^= s->x >> 12;
	s->x ^= s->x << 25;
	s->x ^= s->x >> 27;
	return s->x * 0x2545f4914f6cdd1dULL;
}

static unsigned
rn(struct rng *s, unsigned n)
{
	return (unsigned)(rnd(s) >> 33) % n;
}

/* A growing YAML text. */
struct buf {
	char	*p;
	size_t	 n;
	size_t	 cap;
};

static void __attribute__((format(printf, 2, 3)))
out(struct buf *b, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
		va_end(ap);
		ck_assert_int_ge(n, 0);
		if ((size_t)n < b->cap - b->n)
			break;
		b->cap = b->cap * 2 + (size_t)n + 1;
		b->p = realloc(b->p, b->cap);
		ck_assert_ptr_nonnull(b->p);
	}
	b->n += (size_t)n;
}

static const char *const names[] = { "http", "dns", "metrics", "sctp-p" };
static const char *const protos[] = { "TCP", "UDP", "SCTP" };
static const uint16_t ports[] = { 53, 80, 443, 8080, 9000, 9001 };

/* A v4 or v6 address of the small pool every end and block is from. */
static void
pool_addr(struct rng *s, int v6, char *buf, size_t len)
{
	if (v6)
		snprintf(buf, len, "fd00::%x:%x", rn(s, 4), rn(s, 16));
	else
		snprintf(buf, len, "10.0.%u.%u", rn(s, 4), rn(s, 16));
}

/* A cidr over the pool, host bits clear, with 0-2 strict excepts. */
static void
gen_ipblock(struct rng *s, struct buf *b)
{
	struct cidr	c, e;
	char		a[64];
	int		v6 = rn(s, 3) == 0, bits = v6 ? 128 : 32, prefix, i, k;
	int		ne = (int)rn(s, 3);

	if (rn(s, 10) == 0)
		prefix = 0;
	else
		prefix = bits - (int)rn(s, 21);
	pool_addr(s, v6, a, sizeof(a));
	ck_assert_int_eq(ipaddr_parse(a, &c.addr), 0);
	for (k = prefix; k < bits; k++)
		c.addr.b[k / 8] &= (uint8_t)~(0x80 >> (k % 8));
	ipaddr_format(&c.addr, a);
	out(b, "{ipBlock: {cidr: \"%s/%d\"", a, prefix);
	if (prefix == bits)
		ne = 0;
	if (ne > 0)
		out(b, ", except: [");
	for (i = 0; i < ne; i++) {
		/* A pool address (some excepts overlap, some hold Pods)
		   moved into the cidr, with a longer prefix. */
		pool_addr(s, v6, a, sizeof(a));
		ck_assert_int_eq(ipaddr_parse(a, &e.addr), 0);
		for (k = 0; k < prefix; k++)
			e.addr.b[k / 8] = (uint8_t)((e.addr.b[k / 8] &
			    ~(0x80 >> (k % 8))) | (c.addr.b[k / 8] &
			    (0x80 >> (k % 8))));
		e.prefix = prefix + 1 + (int)rn(s, (unsigned)(bits - prefix));
		for (k = e.prefix; k < bits; k++)
			e.addr.b[k / 8] &= (uint8_t)~(0x80 >> (k % 8));
		ipaddr_format(&e.addr, a);
		out(b, "%s\"%s/%d\"", i ? ", " : "", a, e.prefix);
	}
	out(b, "%s}}", ne > 0 ? "]" : "");
}

static void
gen_selector(struct rng *s, struct buf *b, int ns)
{
	switch (s->narrow && !ns && rn(s, 4) ? 5 : rn(s, 6)) {
	case 0:
		out(b, "{}");
		break;
	case 5:
		/* Small selections: a shard of one app. */
		out(b, "{matchLabels: {%s: %c, shard: s%u}}",
		    ns ? "env" : "app", 'a' + rn(s, 3), rn(s, 16));
		break;
	case 1:
		if (ns)
			out(b, "{matchLabels: {env: %c}}", 'a' + rn(s, 2));
		else
			out(b, "{matchLabels: {app: %c}}", 'a' + rn(s, 3));
		break;
	case 2:
		if (ns)
			out(b, "{matchLabels: {kubernetes.io/metadata.name: "
			    "ns%u}}", rn(s, 5));
		else
			out(b, "{matchLabels: {app: %c, tier: %c}}",
			    'a' + rn(s, 3), 'x' + rn(s, 2));
		break;
	case 3:
		out(b, "{matchExpressions: [{key: %s, operator: %s, "
		    "values: [%c, %c]}]}", ns ? "env" : "app",
		    rn(s, 2) ? "In" : "NotIn", 'a' + rn(s, 3), 'a' + rn(s, 3));
		break;
	default:
		out(b, "{matchExpressions: [{key: %s, operator: %s}]}",
		    ns ? "team" : "tier", rn(s, 2) ? "Exists" : "DoesNotExist");
		break;
	}
}

static void
gen_peer(struct rng *s, struct buf *b)
{
	switch (s->narrow && rn(s, 2) ? 0 : rn(s, 4)) {
	case 0:
		out(b, "{podSelector: ");
		gen_selector(s, b, 0);
		out(b, "}");
		break;
	case 1:
		out(b, "{namespaceSelector: ");
		gen_selector(s, b, 1);
		out(b, "}");
		break;
	case 2:
		out(b, "{namespaceSelector: ");
		gen_selector(s, b, 1);
		out(b, ", podSelector: ");
		gen_selector(s, b, 0);
		out(b, "}");
		break;
	default:
		gen_ipblock(s, b);
		break;
	}
}

static void
gen_port(struct rng *s, struct buf *b)
{
	unsigned	p = ports[rn(s, 6)];
	const char	*proto = protos[rn(s, 4) % 3];

	if (s->narrow && rn(s, 4)) {
		/* Few specs: many rules merge into each group. */
		out(b, "{port: %u}", ports[rn(s, 2)]);
		return;
	}
	switch (rn(s, 5)) {
	case 0:
		out(b, "{protocol: %s}", proto);
		break;
	case 1:
		out(b, "{port: %s, protocol: %s}", names[rn(s, 4)], proto);
		break;
	case 2:
		out(b, "{port: %u, endPort: %u, protocol: %s}", p,
		    p + rn(s, 600), proto);
		break;
	default:
		if (rn(s, 2))
			out(b, "{port: %u, protocol: %s}", p, proto);
		else
			out(b, "{port: %u}", p);
		break;
	}
}

static void
gen_rule(struct rng *s, struct buf *b, int egress)
{
	unsigned i, n;

	out(b, "  - {");
	if (rn(s, 4) != 0) {
		n = rn(s, 4);
		out(b, "%s: [", egress ? "to" : "from");
		for (i = 0; i < n; i++) {
			out(b, "%s", i ? ", " : "");
			gen_peer(s, b);
		}
		out(b, "]%s", "");
	}
	if (rn(s, 3) != 0) {
		n = rn(s, 4);
		out(b, "%sports: [", b->p[b->n - 1] == '{' ? "" : ", ");
		for (i = 0; i < n; i++) {
			out(b, "%s", i ? ", " : "");
			gen_port(s, b);
		}
		out(b, "]");
	}
	out(b, "}\n");
}

static void
gen_policy(struct rng *s, struct buf *b, unsigned i)
{
	static const char *const types[] = { NULL, "[Ingress]", "[Egress]",
	    "[Ingress, Egress]" };
	const char	*ty = types[rn(s, 4)];
	unsigned	 d, j, n;

	out(b, "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
	    "metadata: {name: p%u, namespace: ns%u}\nspec:\n  podSelector: ",
	    i, rn(s, 5));
	gen_selector(s, b, 0);
	out(b, "\n");
	if (ty != NULL)
		out(b, "  policyTypes: %s\n", ty);
	for (d = 0; d < 2; d++) {
		if (rn(s, 4) == 0)
			continue;
		n = rn(s, 4);
		out(b, "  %s:%s\n", d ? "egress" : "ingress", n ? "" : " []");
		for (j = 0; j < n; j++)
			gen_rule(s, b, (int)d);
	}
}

static void
gen_pod(struct rng *s, struct buf *b, unsigned i)
{
	char		 a4[64], a6[64];
	unsigned	 k, used = 0, np;

	out(b, "---\napiVersion: v1\nkind: Pod\nmetadata: {name: pod%u, "
	    "namespace: ns%u, labels: {", i, rn(s, 5));
	if (rn(s, 4))
		out(b, "app: %c", 'a' + rn(s, 3));
	if (rn(s, 2))
		out(b, "%stier: %c", b->p[b->n - 1] == '{' ? "" : ", ",
		    'x' + rn(s, 2));
	if (rn(s, 2))
		out(b, "%sshard: s%u", b->p[b->n - 1] == '{' ? "" : ", ",
		    rn(s, 16));
	out(b, "}}\nspec:\n");
	if (rn(s, 10) == 0)
		out(b, "  hostNetwork: true\n");
	out(b, "  containers:\n  - name: c\n");
	np = rn(s, 4);
	if (np > 0)
		out(b, "    ports:\n");
	for (k = 0; k < np; k++) {
		unsigned n = rn(s, 4);

		if (used & 1u << n)
			continue;
		used |= 1u << n;
		out(b, "    - {name: %s, containerPort: %u, protocol: %s}\n",
		    names[n], ports[rn(s, 6)], protos[rn(s, 3)]);
	}
	if (rn(s, 6) == 0) {
		/* A sidecar's ports count; a plain init container's not. */
		out(b, "  initContainers:\n  - name: i\n%s    ports: "
		    "[{name: %s, containerPort: %u}]\n", rn(s, 2) ?
		    "    restartPolicy: Always\n" : "", names[rn(s, 4)],
		    ports[rn(s, 6)]);
	}
	pool_addr(s, 0, a4, sizeof(a4));
	pool_addr(s, 1, a6, sizeof(a6));
	out(b, "status:\n");
	switch (rn(s, 12)) {
	case 0:
		break;
	case 1:
		out(b, "  phase: %s\n  podIP: %s\n", rn(s, 2) ? "Succeeded" :
		    "Failed", a4);
		break;
	case 2:
	case 3:
	case 4:
		out(b, "  podIP: %s\n  podIPs: [{ip: %s}, {ip: \"%s\"}]\n",
		    a4, a4, a6);
		break;
	case 5:
		out(b, "  podIP: \"%s\"\n", a6);
		break;
	default:
		out(b, "  phase: Running\n  podIP: %s\n", a4);
		break;
	}
}

struct world {
	struct kset		 set;
	struct diag_list	 dl;
	struct pcfg		 pcfg;
	struct arena		 a;
	struct pol_table	 t;
	char			*yaml;
};

static void
world_build(struct world *w, struct rng *s, unsigned npods, unsigned npols,
    size_t ix_max)
{
	struct buf	b = { NULL, 0, 0 };
	unsigned	i;
	size_t		nerr;

	for (i = 0; i < 4; i++)
		out(&b, "---\napiVersion: v1\nkind: Namespace\nmetadata: "
		    "{name: ns%u, labels: {env: %c%s}}\n", i, 'a' + i % 2,
		    i % 3 ? ", team: t" : "");
	/* ns4 is only referenced: its one label is its name. */
	for (i = 0; i < npods; i++)
		gen_pod(s, &b, i);
	for (i = 0; i < npols; i++)
		gen_policy(s, &b, i);
	w->yaml = b.p;
	memset(&w->pcfg, 0, sizeof(w->pcfg));
	unit_load(&w->set, &w->dl, w->yaml);
	nerr = val_all(&w->set, &w->pcfg, &w->dl);
	if (nerr != 0) {
		unit_dump(&w->dl);
		fprintf(stderr, "%s", w->yaml);
	}
	ck_assert_uint_eq(nerr, 0);
	arena_init(&w->a, 0);
	ck_assert_int_eq(pol_build(&w->t, &w->a, &w->set), 0);
	ck_assert_int_eq(pol_index_build(&w->t, &w->a, ix_max), 0);
}

static void
world_free(struct world *w)
{
	arena_free(&w->a);
	unit_free(&w->set, &w->dl);
	free(w->yaml);
}

/* One end: a Pod's address, or a pool or outside address; rarely none. */
static void
gen_end(struct rng *s, const struct pol_table *t, int v6, struct ipaddr *a)
{
	const struct pol_pod	*p;
	char			 buf[64];
	uint32_t		 i;

	memset(a, 0, sizeof(*a));
	if (rn(s, 2) && t->npods > 0) {
		p = &t->pods[rn(s, t->npods)];
		for (i = 0; i < p->naddr; i++)
			if ((p->addr[i].family == AF_INET6) == v6) {
				*a = p->addr[i];
				return;
			}
	}
	if (rn(s, 8) == 0)
		snprintf(buf, sizeof(buf), v6 ? "2001:db8::%x" :
		    "192.0.2.%u", rn(s, 256));
	else
		pool_addr(s, v6, buf, sizeof(buf));
	ck_assert_int_eq(ipaddr_parse(buf, a), 0);
}

/* A member of a rule's Pod set, or POL_NONE. */
static int32_t
group_member(struct rng *s, const struct pol_table *t,
    const struct pol_rule *g)
{
	uint32_t	i, k;

	if (g->pods.n == 0)
		return POL_NONE;
	if (g->pods.idx != NULL)
		return (int32_t)g->pods.idx[rn(s, g->pods.n)];
	k = rn(s, g->pods.n);
	for (i = 0; i < t->npods; i++)
		if ((g->pods.bits[i >> 6] >> (i & 63) & 1) && k-- == 0)
			return (int32_t)i;
	return POL_NONE;
}

/*
 * Aim f at a rule: one end an isolated Pod, the other a member of the
 * peers of one rule of one of its policies (or a neighbour of one),
 * the port one of the rule's.  Random ends rarely land in a small Pod
 * set, and a wrong union shows only on its members.
 */
static void
aim_flow(struct rng *s, const struct pol_table *t, struct pol_flow *f)
{
	const struct pol_pod	*p;
	const struct pol_policy	*pol;
	const struct pol_rule	*r;
	const struct pol_port	*pt;
	int32_t			 peer, self = f->dst_pod;
	int			 d = rn(s, 3) == 0 ? POL_EGRESS : POL_INGRESS;

	if (d == POL_EGRESS)
		self = (int32_t)rn(s, t->npods);
	p = &t->pods[self];
	if (p->npol[d] == 0 || p->naddr == 0)
		return;
	pol = &t->policies[t->pod_pols[p->pol_off[d] + rn(s, p->npol[d])]];
	if (pol->nrules[d] == 0)
		return;
	r = &pol->rules[d][rn(s, pol->nrules[d])];
	if (!r->all_ports && r->nports > 0) {
		pt = &r->ports[rn(s, r->nports)];
		f->proto = pt->proto;
		if (!pt->named)
			f->port = (uint16_t)(pt->lo + rn(s,
			    (unsigned)(pt->hi - pt->lo) + 1));
	}
	if ((peer = group_member(s, t, r)) == POL_NONE)
		return;
	if (rn(s, 4) == 0)
		peer = (int32_t)(peer + 1) % (int32_t)t->npods;
	if (t->pods[peer].naddr == 0 ||
	    t->pods[peer].addr[0].family != p->addr[0].family)
		return;
	if (d == POL_INGRESS) {
		f->dst_pod = self;
		f->dst = p->addr[0];
		f->src_pod = peer;
		f->src = t->pods[peer].addr[0];
	} else {
		f->src_pod = self;
		f->src = p->addr[0];
		f->dst_pod = peer;
		f->dst = t->pods[peer].addr[0];
	}
}

static void
gen_flow(struct rng *s, const struct pol_table *t, struct pol_flow *f)
{
	struct ipaddr	src, dst;
	int		v6 = rn(s, 3) == 0;
	uint16_t	port = rn(s, 8) ? ports[rn(s, 6)] :
			    (uint16_t)rn(s, 65536);

	gen_end(s, t, v6, &src);
	gen_end(s, t, v6, &dst);
	pol_flow_init(t, f, &src, &dst, port, (enum proto)(rn(s, 4) % 3));
	/* The data path names the endpoint's Pod by name: it may differ
	   from the one its address finds, or have no address at all. */
	if (rn(s, 10) == 0 && t->npods > 0)
		f->dst_pod = (int32_t)rn(s, t->npods);
	if (rn(s, 20) == 0 && t->npods > 0)
		f->src_pod = (int32_t)rn(s, t->npods);
	if (rn(s, 50) == 0)
		f->dst_pod = POL_NONE;
	else if (f->dst_pod >= 0 && rn(s, 2))
		aim_flow(s, t, f);	/* dst_pod >= 0: npods > 0 */
}

struct tally {
	unsigned	yes, no, isolated;
};

/*
 * Every flow of one world through both; with the whole index built
 * they must agree, with part of it pol_allowed may only say no more.
 * Returns the number of disagreements; the first is printed.
 */
static unsigned
world_compare(struct world *w, struct rng *s, unsigned nflows, int exact,
    struct tally *ty, const char *what)
{
	struct pol_flow		f;
	struct pol_verdict	v;
	char			sa[64], da[64];
	unsigned		i, bad = 0;
	int			fast, slow;

	for (i = 0; i < nflows; i++) {
		gen_flow(s, &w->t, &f);
		slow = pol_judge(&w->t, &f, &v);
		fast = pol_allowed(&w->t, &f);
		ty->yes += slow;
		ty->no += !slow;
		ty->isolated += v.side[0].isolated || v.side[1].isolated;
		if (fast == slow || (!exact && !fast))
			continue;
		if (bad++ == 0 && what != NULL) {
			ipaddr_format(&f.src, sa);
			ipaddr_format(&f.dst, da);
			fprintf(stderr, "%s: %s (pod %d) -> %s (pod %d) "
			    "port %u/%s: walk %d, index %d\n%s", what, sa,
			    f.src_pod, da, f.dst_pod, f.port,
			    proto_name(f.proto), slow, fast, w->yaml);
		}
	}
	return bad;
}

static const uint64_t seeds[] = { 1, 0x5eed, 0xdecafbad, 17171717 };

START_TEST(test_index_agrees_with_walk)
{
	struct world	w;
	struct tally	ty = { 0, 0, 0 };
	struct rng	s = { seeds[_i], 0 };
	unsigned	i, bad = 0, nw = scaled(WORLDS);
	char		what[64];

	for (i = 0; i < nw && bad == 0; i++) {
		snprintf(what, sizeof(what), "seed %d world %u", _i, i);
		world_build(&w, &s, 8 + rn(&s, 40), 1 + rn(&s, 14),
		    (size_t)64 << 20);
		ck_assert_uint_eq(w.t.ix_missed[0] + w.t.ix_missed[1], 0);
		bad += world_compare(&w, &s, FLOWS, 1, &ty, what);
		world_free(&w);
	}
	ck_assert_uint_eq(bad, 0);
	/* The flows must exercise both answers, on isolated Pods. */
	ck_assert_uint_gt(ty.isolated, nw * FLOWS / 5);
	ck_assert_uint_gt(ty.yes, nw * FLOWS / 20);
	ck_assert_uint_gt(ty.no, nw * FLOWS / 20);
}
END_TEST

/* Many policies on few Pods: long lists, many groups per index. */
START_TEST(test_index_agrees_many_policies)
{
	struct world	w;
	struct tally	ty = { 0, 0, 0 };
	struct rng	s = { seeds[_i] * 31 + 7, 0 };
	unsigned	i, bad = 0, nw = scaled(20);

	for (i = 0; i < nw && bad == 0; i++) {
		world_build(&w, &s, 30, 60 + rn(&s, 80), (size_t)64 << 20);
		bad += world_compare(&w, &s, 2000, 1, &ty, "many");
		world_free(&w);
	}
	ck_assert_uint_eq(bad, 0);
	ck_assert_uint_gt(ty.yes, 0);
	ck_assert_uint_gt(ty.no, 0);
}
END_TEST

/*
 * Many Pods: small selections stay sorted arrays (32 bits a member
 * against one bit a Pod), and unions mix arrays and bitmaps.
 */
START_TEST(test_index_agrees_many_pods)
{
	struct world	w;
	struct tally	ty = { 0, 0, 0 };
	struct rng	s = { seeds[_i] * 7 + 3, 1 };
	unsigned	i, bad = 0, nw = scaled(3);

	for (i = 0; i < nw && bad == 0; i++) {
		world_build(&w, &s, 2500, 30 + rn(&s, 30), (size_t)64 << 20);
		bad += world_compare(&w, &s, 10000, 1, &ty, "many pods");
		world_free(&w);
	}
	ck_assert_uint_eq(bad, 0);
	ck_assert_uint_gt(ty.yes, 0);
	ck_assert_uint_gt(ty.no, 0);
}
END_TEST

/*
 * Over the memory bound, Pods left without an index take the walk:
 * pol_allowed says no for them, never yes where the walk says no.
 */
START_TEST(test_index_bound_falls_back)
{
	struct world	w;
	struct tally	ty = { 0, 0, 0 };
	struct rng	s = { 99, 0 };
	unsigned	i, missed = 0, bad = 0;

	for (i = 0; i < 40; i++) {
		world_build(&w, &s, 40, 10 + rn(&s, 10), 1);
		missed += w.t.ix_missed[0] + w.t.ix_missed[1];
		bad += world_compare(&w, &s, 500, 0, &ty, "bound");
		world_free(&w);
	}
	ck_assert_uint_gt(missed, 0);
	ck_assert_uint_eq(bad, 0);
}
END_TEST

/*
 * The comparison catches a wrong index: plant a bug (a group widened to
 * every peer, or dropped) and the same flows must find it.
 */
START_TEST(test_planted_bug_is_caught)
{
	struct world	w;
	struct tally	ty = { 0, 0, 0 };
	struct rng	s = { 4242, 0 }, fs;
	unsigned	i, widened = 0, narrowed = 0, tried = 0;
	uint32_t	k, g;

	for (i = 0; i < 60; i++) {
		world_build(&w, &s, 30, 8, (size_t)64 << 20);
		fs = s;
		ck_assert_uint_eq(world_compare(&w, &s, 1000, 1, &ty, "clean"),
		    0);
		for (k = 0; k < w.t.nix; k++)
			for (g = 0; g < w.t.ix[k].ngroups; g++)
				if (!w.t.ix[k].groups[g].all_peers) {
					w.t.ix[k].groups[g].all_peers = 1;
					break;
				}
		s = fs;
		if (w.t.nix > 0) {
			tried++;
			widened += world_compare(&w, &s, 1000, 1, &ty, NULL)
			    > 0;
		}
		for (k = 0; k < w.t.nix; k++)
			w.t.ix[k].ngroups = w.t.ix[k].nscan = 0;
		s = fs;
		narrowed += world_compare(&w, &s, 1000, 1, &ty, NULL) > 0;
		world_free(&w);
	}
	ck_assert_uint_gt(tried, 30);
	ck_assert_uint_gt(widened, tried / 2);
	ck_assert_uint_gt(narrowed, 30);
}
END_TEST

static Suite *
policy_index_suite(void)
{
	Suite	*s = suite_create("policy_index");
	TCase	*tc = tcase_create("differential");

	tcase_set_timeout(tc, 600);
	tcase_add_loop_test(tc, test_index_agrees_with_walk, 0,
	    (int)(sizeof(seeds) / sizeof(seeds[0])));
	tcase_add_loop_test(tc, test_index_agrees_many_policies, 0,
	    (int)(sizeof(seeds) / sizeof(seeds[0])));
	tcase_add_loop_test(tc, test_index_agrees_many_pods, 0,
	    (int)(sizeof(seeds) / sizeof(seeds[0])));
	tcase_add_test(tc, test_index_bound_falls_back);
	tcase_add_test(tc, test_planted_bug_is_caught);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(policy_index_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
