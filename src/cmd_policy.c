/*
 * svcproxy policy: would NetworkPolicy let this connection through, and
 * why.  Loads and validates like check, compiles the policies as a
 * snapshot would, and runs the same verdict the data path runs, then
 * explains it: which policies isolate each side and which rule allowed
 * the connection, or that none did.
 *
 * Exit 0 for either verdict (the answer is on stdout), 1 when the
 * configuration has errors, 2 for a bad query.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "cmd.h"
#include "diag.h"
#include "model.h"
#include "policy.h"

const struct cmd_entry cmd_policy_entry = {
	.name = "policy",
	.usage = "[-c PATH] --from SRC (--to DST | --service NAMESPACE/NAME) "
	    "--port N [--protocol TCP|UDP|SCTP] [-o json]",
	.summary = "Explain a NetworkPolicy verdict: ALLOW or DENY, and "
	    "which rules decided it.",
	.exec = cmd_policy,
};

#define NAME_MAX_LEN	600	/* "namespace/name" with room to spare */

struct query {
	const char	*config;
	int		 json;
	const char	*from;
	const char	*to;
	const char	*service;
	const char	*port;
	int		 proto;		/* -1: not given */
};

/* One end of the connection as given: a Pod by name, or an address. */
struct end {
	const char	*text;
	int		 by_name;
	char		 ns[NAME_MAX_LEN];
	char		 name[NAME_MAX_LEN];
	int32_t		 pod;
	struct ipaddr	 addr;
};

/* cmd_parse's handler of policy's own options. */
static int
query_opt(int val, const char *arg, void *ctx)
{
	struct query *q = ctx;

	switch (val) {
	case 'f':
		q->from = arg;
		return 0;
	case 't':
		q->to = arg;
		return 0;
	case 's':
		q->service = arg;
		return 0;
	case 'p':
		q->port = arg;
		return 0;
	case 'P':
		if ((q->proto = proto_parse(arg)) < 0) {
			fprintf(stderr, "svcproxy policy: --protocol takes "
			    "TCP, UDP or SCTP\n");
			return 2;
		}
		return 0;
	}
	return 2;
}

static int
parse_args(int argc, char **argv, struct query *q)
{
	static const struct option extra[] = {
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "service", required_argument, NULL, 's' },
		{ "port", required_argument, NULL, 'p' },
		{ "protocol", required_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 },
	};
	struct cmd_parser	p;
	struct cmd_opts		o;
	int			rc;

	memset(q, 0, sizeof(*q));
	q->proto = -1;
	p = (struct cmd_parser){ &cmd_policy_entry, 1, extra, query_opt, q };
	if ((rc = cmd_parse(argc, argv, &p, &o)) != CMD_GO)
		return rc;
	q->config = o.config;
	q->json = o.json;
	if (q->from == NULL || q->port == NULL ||
	    (q->to == NULL) == (q->service == NULL)) {
		cmd_usage(stderr, &cmd_policy_entry);
		return 2;
	}
	return CMD_GO;
}

/* "80" -> 80; -1 unless a decimal number in 1..65535. */
static int
parse_port(const char *s)
{
	long	 v;
	char	*end;

	if (*s < '0' || *s > '9')
		return -1;
	v = strtol(s, &end, 10);
	return *end == '\0' && v >= 1 && v <= 65535 ? (int)v : -1;
}

/* Split "namespace/name" into out's buffers; -1 when malformed. */
static int
split_name(const char *s, char *ns, char *name)
{
	const char *slash = strchr(s, '/');

	if (slash == NULL || slash == s || slash[1] == '\0' ||
	    strchr(slash + 1, '/') != NULL || (size_t)(slash - s) >=
	    NAME_MAX_LEN || strlen(slash + 1) >= NAME_MAX_LEN)
		return -1;
	memcpy(ns, s, (size_t)(slash - s));
	ns[slash - s] = '\0';
	strcpy(name, slash + 1);
	return 0;
}

/* Syntax only (before loading): an address or namespace/pod. */
static int
end_parse(struct end *e, const char *text)
{
	memset(e, 0, sizeof(*e));
	e->text = text;
	e->pod = POL_NONE;
	if (strchr(text, '/') != NULL) {
		e->by_name = 1;
		if (split_name(text, e->ns, e->name) == -1) {
			fprintf(stderr, "svcproxy policy: \"%s\": want an IP "
			    "address or namespace/pod\n", text);
			return -1;
		}
		return 0;
	}
	if (ipaddr_parse(text, &e->addr) == -1) {
		fprintf(stderr, "svcproxy policy: \"%s\" is not an IP address "
		    "(or namespace/pod)\n", text);
		return -1;
	}
	return 0;
}

/* Find the Pod of e in t: by name (must exist) or by address. */
static int
end_find(const struct pol_table *t, struct end *e)
{
	if (!e->by_name) {
		e->pod = pol_pod_by_addr(t, &e->addr);
		return 0;
	}
	if ((e->pod = pol_pod_by_name(t, e->ns, e->name)) == POL_NONE) {
		fprintf(stderr, "svcproxy policy: unknown pod \"%s\"\n",
		    e->text);
		return -1;
	}
	return 0;
}

/* The Pod's address of family (0: its first), or NULL. */
static const struct ipaddr *
pod_addr(const struct pol_table *t, int32_t pod, int family)
{
	const struct pol_pod	*p;
	uint32_t		 i;

	if (pod < 0)
		return NULL;
	p = &t->pods[pod];
	for (i = 0; i < p->naddr; i++)
		if (family == 0 || p->addr[i].family == family)
			return &p->addr[i];
	return NULL;
}

/*
 * Addresses for Pods given by name: the same family on both ends when
 * they share one (dual-stack Pods talk v4 to v4 first).
 */
static void
ends_pair(const struct pol_table *t, struct end *src, struct end *dst)
{
	const struct ipaddr	*a, *b;
	uint32_t		 i;

	if (dst->by_name) {
		a = NULL;
		for (i = 0; src->by_name && i < t->pods[dst->pod].naddr; i++)
			if (pod_addr(t, src->pod,
			    t->pods[dst->pod].addr[i].family) != NULL) {
				a = &t->pods[dst->pod].addr[i];
				break;
			}
		if (a == NULL)
			a = pod_addr(t, dst->pod, src->by_name ? 0 :
			    src->addr.family);
		if (a == NULL && !src->by_name)
			a = pod_addr(t, dst->pod, 0);
		if (a != NULL)
			dst->addr = *a;
	}
	if (src->by_name && (b = pod_addr(t, src->pod,
	    dst->addr.family)) != NULL)
		src->addr = *b;
	else if (src->by_name && (b = pod_addr(t, src->pod, 0)) != NULL)
		src->addr = *b;
}

/* ---- output ---- */

static void
json_pod(const struct pol_table *t, int32_t pod)
{
	char buf[2 * NAME_MAX_LEN];

	if (pod < 0) {
		fputs("null", stdout);
		return;
	}
	snprintf(buf, sizeof(buf), "%s/%s", t->pods[pod].ns,
	    t->pods[pod].name);
	json_str(stdout, buf);
}

static void
json_policy(const struct pol_table *t, uint32_t pi)
{
	char buf[2 * NAME_MAX_LEN];

	snprintf(buf, sizeof(buf), "%s/%s", t->policies[pi].ns,
	    t->policies[pi].name);
	json_str(stdout, buf);
}

static void
json_addr(const struct ipaddr *a)
{
	char buf[NETADDR_STRLEN];

	if (a->family == 0)
		fputs("null", stdout);
	else
		printf("\"%s\"", ipaddr_format(a, buf));
}

/*
 * {"pod","isolated","allowed","policies":[...],
 *  "allowedBy":{"policy","rule"}|null}
 */
static void
json_side(const struct pol_table *t, const struct pol_side *s)
{
	uint32_t i;

	printf("{\"pod\":");
	json_pod(t, s->pod);
	printf(",\"isolated\":%s,\"allowed\":%s,\"policies\":[",
	    s->isolated ? "true" : "false", s->allowed ? "true" : "false");
	for (i = 0; i < s->npolicies; i++) {
		if (i > 0)
			putchar(',');
		json_policy(t, s->policies[i]);
	}
	printf("],\"allowedBy\":");
	if (s->by_policy == POL_NONE)
		fputs("null", stdout);
	else {
		printf("{\"policy\":");
		json_policy(t, (uint32_t)s->by_policy);
		printf(",\"rule\":%d}", (int)s->by_rule);
	}
	putchar('}');
}

static void
json_end(const struct pol_table *t, const struct end *e)
{
	printf("{\"pod\":");
	json_pod(t, e->pod);
	printf(",\"ip\":");
	json_addr(&e->addr);
	putchar('}');
}

/* "ingress: isolated by a/b, a/c; allowed by a/c ingress[0]" */
static void
text_side(const struct pol_table *t, enum pol_dir d,
    const struct pol_side *s, const char *indent)
{
	const struct pol_pod	*p;
	uint32_t		 i;

	printf("%s%s: ", indent, pol_dir_name(d));
	if (s->pod < 0) {
		printf("not isolated (%s is not a Pod)\n", d == POL_INGRESS ?
		    "the destination" : "the source");
		return;
	}
	p = &t->pods[s->pod];
	if (!s->isolated) {
		printf("not isolated (no policy selects %s/%s for %s)\n",
		    p->ns, p->name, pol_dir_name(d));
		return;
	}
	printf("%s/%s isolated by ", p->ns, p->name);
	for (i = 0; i < s->npolicies; i++)
		printf("%s%s/%s", i > 0 ? ", " : "",
		    t->policies[s->policies[i]].ns,
		    t->policies[s->policies[i]].name);
	if (s->allowed)
		printf("; allowed by %s/%s %s[%d]\n",
		    t->policies[s->by_policy].ns,
		    t->policies[s->by_policy].name, pol_dir_name(d),
		    (int)s->by_rule);
	else
		printf("; no %s rule allows it\n", pol_dir_name(d));
}

static void
text_end(const struct pol_table *t, const char *label, const struct end *e)
{
	char buf[NETADDR_STRLEN];

	printf("%s: ", label);
	if (e->pod >= 0)
		printf("%s/%s ", t->pods[e->pod].ns, t->pods[e->pod].name);
	if (e->addr.family != 0)
		printf("%s", ipaddr_format(&e->addr, buf));
	else
		printf("(no address)");
	printf("%s\n", e->pod < 0 ? " (not a Pod)" : "");
}

/* ---- the two queries ---- */

/*
 * With SVCPROXY_TIMINGS set: what one verdict on f costs, the walk
 * (pol_judge) against the merged index (pol_allowed), and whether they
 * agree (a disagreement is a bug: exit status 3 says so).
 */
static int
time_query(const struct pol_table *t, const struct pol_flow *f)
{
	struct pol_verdict	v;
	int64_t			t0, t1, t2;
	int			i, n = 20000, slow = 0, fast = 0;

	if (getenv("SVCPROXY_TIMINGS") == NULL)
		return 0;
	t0 = clock_mono_us();
	for (i = 0; i < n; i++)
		slow += pol_judge(t, f, &v);
	t1 = clock_mono_us();
	for (i = 0; i < n; i++)
		fast += pol_allowed(t, f);
	t2 = clock_mono_us();
	fprintf(stderr, "svcproxy: verdict: walk %.0f ns, merged index %.0f "
	    "ns%s\n", (t1 - t0) * 1e3 / n, (t2 - t1) * 1e3 / n,
	    slow == fast ? "" : "; THEY DISAGREE");
	return slow == fast ? 0 : 3;
}

static int
query_to(const struct query *q, const struct pol_table *t, struct end *src)
{
	struct end		 dst;
	struct pol_flow		 f;
	struct pol_verdict	 v;
	int			 port;
	enum proto		 proto;

	if (end_parse(&dst, q->to) == -1 || end_find(t, src) == -1 ||
	    end_find(t, &dst) == -1)
		return 2;
	if ((port = parse_port(q->port)) < 0) {
		fprintf(stderr, "svcproxy policy: --port \"%s\": want a "
		    "number from 1 to 65535\n", q->port);
		return 2;
	}
	proto = q->proto < 0 ? PROTO_TCP : (enum proto)q->proto;
	ends_pair(t, src, &dst);
	memset(&f, 0, sizeof(f));
	f.src = src->addr;
	f.dst = dst.addr;
	f.src_pod = src->pod;
	f.dst_pod = dst.pod;
	f.port = (uint16_t)port;
	f.proto = proto;
	pol_judge(t, &f, &v);
	if (time_query(t, &f) != 0)
		return 3;
	if (q->json) {
		printf("{\"allowed\":%s,\"from\":", v.allowed ? "true" :
		    "false");
		json_end(t, src);
		printf(",\"to\":");
		json_end(t, &dst);
		printf(",\"port\":%d,\"protocol\":\"%s\",\"ingress\":", port,
		    proto_name(proto));
		json_side(t, &v.side[POL_INGRESS]);
		printf(",\"egress\":");
		json_side(t, &v.side[POL_EGRESS]);
		printf("}\n");
		return 0;
	}
	printf("%s\n", v.allowed ? "ALLOW" : "DENY");
	text_end(t, "from", src);
	text_end(t, "to", &dst);
	printf("port: %d/%s\n", port, proto_name(proto));
	text_side(t, POL_INGRESS, &v.side[POL_INGRESS], "");
	text_side(t, POL_EGRESS, &v.side[POL_EGRESS], "");
	return 0;
}

static enum proto
res_to_pol(enum proto p)
{
	switch (p) {
	case PROTO_UDP:
		return PROTO_UDP;
	case PROTO_SCTP:
		return PROTO_SCTP;
	default:
		return PROTO_TCP;
	}
}

/*
 * The Service port SERVICEPORT (number or name) names; with several
 * matches and no --protocol, the TCP one.  NULL when there is none.
 */
static const struct res_port *
find_port(const struct res_service *s, const char *spec, int proto)
{
	const struct res_port	*rp, *found = NULL;
	int			 num = parse_port(spec);
	size_t			 i;

	for (i = 0; i < s->nports; i++) {
		rp = &s->ports[i];
		if (num > 0 ? rp->port != num : strcmp(rp->name, spec) != 0)
			continue;
		if (proto >= 0 && (int)res_to_pol(rp->proto) != proto)
			continue;
		if (found == NULL || (res_to_pol(found->proto) != PROTO_TCP &&
		    res_to_pol(rp->proto) == PROTO_TCP))
			found = rp;
	}
	return found;
}

static const struct res_service *
find_service(const struct res_model *m, const char *ns, const char *name)
{
	size_t i;

	for (i = 0; i < m->nservices; i++)
		if (strcmp(m->services[i].ns, ns) == 0 &&
		    strcmp(m->services[i].name, name) == 0)
			return &m->services[i];
	return NULL;
}

/* Judge src against one endpoint; fills f and v. */
static void
judge_endpoint(const struct pol_table *t, const struct end *src,
    const struct res_endpoint *ep, enum proto proto,
    struct pol_flow *f, struct pol_verdict *v)
{
	const struct ipaddr *a;

	memset(f, 0, sizeof(*f));
	f->dst = ep->addr;
	f->dst_pod = POL_NONE;
	if (ep->pod != NULL && ep->pod_ns != NULL)
		f->dst_pod = pol_pod_by_name(t, ep->pod_ns, ep->pod);
	if (f->dst_pod == POL_NONE)
		f->dst_pod = pol_pod_by_addr(t, &ep->addr);
	f->src = src->addr;
	f->src_pod = src->pod;
	if (src->by_name) {
		a = pod_addr(t, src->pod, ep->addr.family);
		if (a == NULL)
			a = pod_addr(t, src->pod, 0);
		if (a != NULL)
			f->src = *a;
		else
			memset(&f->src, 0, sizeof(f->src));
	}
	f->port = ep->port;
	f->proto = proto;
	pol_judge(t, f, v);
}

static void
print_endpoint(const struct pol_table *t, const struct pol_flow *f,
    const struct pol_verdict *v, int first, int json)
{
	char hp[NETADDR_HOSTPORTLEN];

	if (json) {
		printf("%s{\"pod\":", first ? "" : ",");
		json_pod(t, f->dst_pod);
		printf(",\"ip\":");
		json_addr(&f->dst);
		printf(",\"port\":%u,\"allowed\":%s,\"ingress\":",
		    (unsigned)f->port, v->allowed ? "true" : "false");
		json_side(t, &v->side[POL_INGRESS]);
		printf(",\"egress\":");
		json_side(t, &v->side[POL_EGRESS]);
		putchar('}');
		return;
	}
	printf("endpoint ");
	if (f->dst_pod >= 0)
		printf("%s/%s ", t->pods[f->dst_pod].ns,
		    t->pods[f->dst_pod].name);
	printf("%s: %s\n", ipaddr_format_hostport(&f->dst, f->port, hp,
	    sizeof(hp)), v->allowed ? "ALLOW" : "DENY");
	text_side(t, POL_INGRESS, &v->side[POL_INGRESS], "  ");
	text_side(t, POL_EGRESS, &v->side[POL_EGRESS], "  ");
}

static int
query_service(const struct query *q, const struct pol_table *t,
    const struct res_model *m, struct end *src)
{
	char			 ns[NAME_MAX_LEN], name[NAME_MAX_LEN];
	const struct res_service *s;
	const struct res_port	*rp;
	struct pol_flow		*f;
	struct pol_verdict	*v;
	const struct ipaddr	*a;
	size_t			 i, nallowed = 0;


	if (end_find(t, src) == -1)
		return 2;
	/* Shown as the Pod's first address; each endpoint picks its own
	   family (judge_endpoint). */
	if (src->by_name && (a = pod_addr(t, src->pod, 0)) != NULL)
		src->addr = *a;
	if (split_name(q->service, ns, name) == -1 ||
	    (s = find_service(m, ns, name)) == NULL) {
		fprintf(stderr, "svcproxy policy: unknown service \"%s\"\n",
		    q->service);
		return 2;
	}
	if ((rp = find_port(s, q->port, q->proto)) == NULL) {
		fprintf(stderr, "svcproxy policy: service %s has no port "
		    "\"%s\"%s%s\n", q->service, q->port, q->proto < 0 ? "" :
		    "/", q->proto < 0 ? "" : proto_name(q->proto));
		return 2;
	}
	f = calloc(rp->nendpoints + 1, sizeof(*f));
	v = calloc(rp->nendpoints + 1, sizeof(*v));
	if (f == NULL || v == NULL) {
		free(f);
		free(v);
		fprintf(stderr, "svcproxy policy: out of memory\n");
		return 1;
	}
	for (i = 0; i < rp->nendpoints; i++) {
		judge_endpoint(t, src, &rp->endpoints[i],
		    res_to_pol(rp->proto), &f[i], &v[i]);
		nallowed += v[i].allowed != 0;
	}
	if (q->json) {
		printf("{\"allowed\":%s,\"service\":", nallowed > 0 ?
		    "true" : "false");
		json_str(stdout, q->service);
		printf(",\"port\":%u,\"protocol\":\"%s\",\"from\":",
		    (unsigned)rp->port, proto_name(rp->proto));
		json_end(t, src);
		printf(",\"endpoints\":[");
	} else {
		printf("%s\n", nallowed > 0 ? "ALLOW" : "DENY");
		text_end(t, "from", src);
		printf("service %s port %u/%s: %zu of %zu endpoints "
		    "allowed\n", q->service, (unsigned)rp->port,
		    proto_name(rp->proto), nallowed, rp->nendpoints);
	}
	for (i = 0; i < rp->nendpoints; i++)
		print_endpoint(t, &f[i], &v[i], i == 0, q->json);
	if (q->json)
		printf("]}\n");
	free(f);
	free(v);
	return 0;
}

/*
 * Compile the policies; with SVCPROXY_TIMINGS set, also build the
 * merged index as a snapshot would (bounded alike: twice the tables, at
 * least 16 MiB) and say on stderr what each cost, for bench/ and
 * whoever wonders what 1,000 policies cost a reload.  0 or -1.
 */
static int
policy_build(struct pol_table *t, struct arena *a, const struct kset *set)
{
	int64_t	t0, t1, t2;
	size_t	tables, max;

	if (getenv("SVCPROXY_TIMINGS") == NULL)
		return pol_build(t, a, set);
	t0 = clock_mono_us();
	if (pol_build(t, a, set) == -1)
		return -1;
	t1 = clock_mono_us();
	tables = a->used;
	max = 2 * tables < (size_t)16 << 20 ? (size_t)16 << 20 : 2 * tables;
	if (pol_index_build(t, a, max) == -1)
		return -1;
	t2 = clock_mono_us();
	fprintf(stderr, "svcproxy: policy tables %.3f s, %zu bytes; merged "
	    "index %.3f s, %zu bytes, %u lists, Pods left to the walk: %u "
	    "ingress, %u egress (%u policies, %u Pods, %u/%u isolated)\n",
	    (t1 - t0) / 1e6, tables, (t2 - t1) / 1e6, t->ix_bytes, t->nix,
	    t->ix_missed[POL_INGRESS], t->ix_missed[POL_EGRESS],
	    t->npolicies, t->npods, t->nisolated[POL_INGRESS],
	    t->nisolated[POL_EGRESS]);
	return 0;
}

int
cmd_policy(int argc, char **argv)
{
	struct query		 q;
	struct end		 src, dst;
	struct diag_list	 dl;
	struct model		 m;
	struct arena		 a;
	struct pol_table	 t;
	size_t			 nerr;
	int			 rc;

	if ((rc = parse_args(argc, argv, &q)) != CMD_GO)
		return rc;
	/* A malformed address is a bad query whatever the config says. */
	if (end_parse(&src, q.from) == -1 ||
	    (q.to != NULL && end_parse(&dst, q.to) == -1))
		return 2;
	diag_list_init(&dl);
	arena_init(&a, 0);
	nerr = model_load(&m, q.config, &dl);
	if (nerr > 0 || !m.resolved) {
		cmd_print_diags(&dl, q.config, nerr, q.json);
		rc = 1;
	} else if (policy_build(&t, &a, &m.set) == -1) {
		fprintf(stderr, "svcproxy policy: out of memory\n");
		rc = 1;
	} else if (q.to != NULL)
		rc = query_to(&q, &t, &src);
	else
		rc = query_service(&q, &t, &m.res, &src);
	arena_free(&a);
	model_free(&m);
	diag_list_free(&dl);
	return rc;
}
