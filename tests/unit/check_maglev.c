/*
 * maglev: the table (balance, disruption on removal, weights, order
 * independence) through maglev.c's pure functions, and the "maglev"
 * algorithm through lb_pick (sizes refused, two sets built from
 * shuffled endpoints map clients alike, the deterministic fallback).
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb.h"
#include "maglev.h"
#include "unit.h"

#define M	LB_MAGLEV_TABLE_DEFAULT

/* Endpoint k's address: 10.1.(k / 250).(k % 250 + 1), port 8080. */
static void
node_addr(size_t k, struct ipaddr *a)
{
	char ip[32];

	snprintf(ip, sizeof(ip), "10.1.%zu.%zu", k / 250, k % 250 + 1);
	ck_assert_int_eq(ipaddr_parse(ip, a), 0);
}

/* n nodes of weight 1, ids 0..n-1, sorted, into a table of m. */
static uint32_t *
table_of(struct maglev_node *nodes, size_t n, uint32_t m)
{
	uint32_t	*table = calloc(m, sizeof(*table));
	uint64_t	*scratch = calloc(3 * n + 1, sizeof(*scratch));

	ck_assert_ptr_nonnull(table);
	ck_assert_ptr_nonnull(scratch);
	maglev_sort(nodes, n);
	ck_assert_uint_eq(maglev_fill(nodes, n, table, m, scratch), 0);
	free(scratch);
	return table;
}

static void
nodes_init(struct maglev_node *nodes, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		memset(&nodes[i], 0, sizeof(nodes[i]));
		node_addr(i, &nodes[i].addr);
		nodes[i].port = 8080;
		nodes[i].weight = 1;
		nodes[i].id = (uint32_t)i;
	}
}

START_TEST(test_prime)
{
	ck_assert(maglev_is_prime(LB_MAGLEV_TABLE_DEFAULT));
	ck_assert(maglev_is_prime(LB_MAGLEV_TABLE_MAX));
	ck_assert(maglev_is_prime(2));
	ck_assert(maglev_is_prime(7));
	ck_assert(!maglev_is_prime(0));
	ck_assert(!maglev_is_prime(1));
	ck_assert(!maglev_is_prime(65536));
	ck_assert(!maglev_is_prime(65539 * 3));
	ck_assert(!maglev_is_prime(4294967295U));
}
END_TEST

/* The paper's property: with 100 endpoints, max/min entries <= 1.05. */
START_TEST(test_balance)
{
	struct maglev_node	 nodes[100];
	uint32_t		*table, cnt[100] = { 0 }, mn = M, mx = 0, c;
	size_t			 i;

	nodes_init(nodes, 100);
	table = table_of(nodes, 100, M);
	for (c = 0; c < M; c++) {
		ck_assert_uint_lt(table[c], 100);
		cnt[table[c]]++;
	}
	for (i = 0; i < 100; i++) {
		mn = cnt[i] < mn ? cnt[i] : mn;
		mx = cnt[i] > mx ? cnt[i] : mx;
	}
	printf("maglev balance: 100 endpoints, table %u: min %u max %u "
	    "(max/min %.4f)\n", M, mn, mx, (double)mx / mn);
	ck_assert_uint_gt(mn, 0);
	ck_assert_uint_le((uint64_t)mx * 100, (uint64_t)mn * 105);
	free(table);
}
END_TEST

/*
 * Removing one of N = 100: the share of table entries (and of 100,000
 * client addresses) that change endpoint, against the ideal 1/N.  At
 * least that endpoint's share moves; at most about twice the ideal.
 */
START_TEST(test_disruption)
{
	enum { N = 100, GONE = 37, NCLIENTS = 100000 };
	struct maglev_node	 nodes[N], less[N - 1];
	struct ipaddr		 ca;
	uint32_t		*a, *b, c, moved = 0, cmoved = 0, x, y, m;
	uint64_t		 h;
	size_t			 i, k;
	double			 ideal = 1.0 / N, share, cshare;

	nodes_init(nodes, N);
	for (i = 0, k = 0; i < N; i++)
		if (i != GONE)
			less[k++] = nodes[i];
	a = table_of(nodes, N, M);
	b = table_of(less, N - 1, M);
	for (c = 0; c < M; c++) {
		if (a[c] == GONE)
			ck_assert_uint_ne(b[c], GONE);
		if (a[c] != b[c])
			moved++;
	}
	memset(&ca, 0, sizeof(ca));
	ca.family = AF_INET;
	for (i = 0; i < NCLIENTS; i++) {
		ca.b[0] = 192;
		ca.b[1] = (uint8_t)(i >> 16);
		ca.b[2] = (uint8_t)(i >> 8);
		ca.b[3] = (uint8_t)i;
		h = maglev_hash_addr(&ca, 0, 0);
		m = maglev_first(h, M);
		x = a[m];
		y = b[m];
		if (x != y)
			cmoved++;
	}
	share = (double)moved / M;
	cshare = (double)cmoved / NCLIENTS;
	printf("maglev disruption: remove 1 of %d, table %u: entries moved "
	    "%.4f, clients moved %.4f, ideal %.4f (%.2fx)\n", N, M, share,
	    cshare, ideal, share / ideal);
	ck_assert(share >= ideal * 0.9);
	ck_assert(share <= ideal * 2.0);
	ck_assert(cshare <= ideal * 2.2);
	free(a);
	free(b);
}
END_TEST

/* Weight 2 takes twice the entries of weight 1; weight 0 none. */
START_TEST(test_weights)
{
	struct maglev_node	 nodes[10];
	uint32_t		*table, cnt[10] = { 0 }, c, rest = 0;
	uint64_t		 scratch[30];
	size_t			 i;
	double			 ratio;

	nodes_init(nodes, 10);
	nodes[3].weight = 2;
	nodes[7].weight = 0;
	ck_assert_ptr_nonnull(table = calloc(M, sizeof(*table)));
	maglev_sort(nodes, 10);
	ck_assert_uint_eq(maglev_fill(nodes, 10, table, M, scratch), 1);
	for (c = 0; c < M; c++)
		cnt[table[c]]++;
	ck_assert_uint_eq(cnt[7], 0);
	for (i = 0; i < 10; i++)
		if (i != 3 && i != 7)
			rest += cnt[i];
	ratio = cnt[3] / (rest / 8.0);
	printf("maglev weights: weight 2 has %u entries, weight 1 %.1f on "
	    "average (%.3fx)\n", cnt[3], rest / 8.0, ratio);
	ck_assert(ratio > 1.98 && ratio < 2.02);

	/* Scaled weights (20 and 10) give the same table as 2 and 1. */
	{
		uint32_t *t2 = calloc(M, sizeof(*t2));

		ck_assert_ptr_nonnull(t2);
		for (i = 0; i < 10; i++)
			nodes[i].weight *= 10;
		maglev_fill(nodes, 10, t2, M, scratch);
		ck_assert_int_eq(memcmp(table, t2, M * sizeof(*t2)), 0);
		free(t2);
	}
	/* No weight at all: no entry. */
	for (i = 0; i < 10; i++)
		nodes[i].weight = 0;
	ck_assert_uint_eq(maglev_fill(nodes, 10, table, 7, scratch), 10);
	for (c = 0; c < 7; c++)
		ck_assert_uint_eq(table[c], MAGLEV_NONE);
	free(table);
}
END_TEST

/* ---- the algorithm, through lb_pick ---- */

#define NEPS	50

/* A set of NEPS endpoints (some IPv6, two ports), in an order. */
struct mgfx {
	struct lb_livetab	 live;
	struct arena		 arena;
	struct lb_ep		 eps[NEPS];
	struct lb_set		 set;
};

/* Endpoint k's text: "10.2.0.k:80", every fifth "[fd00::k]:8080". */
static void
ep_init(struct lb_ep *ep, size_t k, struct lb_livetab *live)
{
	char ip[64];

	memset(ep, 0, sizeof(*ep));
	if (k % 5 == 4)
		snprintf(ip, sizeof(ip), "fd00::%zx", k + 1);
	else
		snprintf(ip, sizeof(ip), "10.2.0.%zu", k + 1);
	ck_assert_int_eq(ipaddr_parse(ip, &ep->addr), 0);
	ep->port = k % 5 == 4 ? 8080 : 80;
	ep->salen = ipaddr_sockaddr(&ep->addr, ep->port, &ep->sa);
	ep->weight = 1;
	ipaddr_format_hostport(&ep->addr, ep->port, ep->name,
	    sizeof(ep->name));
	ck_assert_ptr_nonnull(ep->live = lb_live_get(live, ep->name));
}

/* perm[i]: which endpoint goes to eps[i]; NULL: in order. */
static int
mgfx_init(struct mgfx *f, const size_t *perm, uint32_t table_size,
    enum lb_hash_key key, char *err, size_t errlen)
{
	size_t i;

	memset(f, 0, sizeof(*f));
	lb_livetab_init(&f->live);
	arena_init(&f->arena, 1 << 24);
	for (i = 0; i < NEPS; i++)
		ep_init(&f->eps[i], perm ? perm[i] : i, &f->live);
	f->set.ops = &lb_maglev_ops;
	f->set.eps = f->eps;
	f->set.neps = NEPS;
	f->set.table_size = table_size;
	f->set.hash_key = key;
	return f->set.ops->build(&f->set, &f->arena, err, errlen);
}

static void
mgfx_free(struct mgfx *f)
{
	arena_free(&f->arena);
	lb_livetab_free(&f->live);
}

/* Client i: 172.16.x.y port 40000 + i % 1000. */
static void
client_of(size_t i, struct sockaddr_storage *ss)
{
	struct ipaddr	a;

	memset(&a, 0, sizeof(a));
	a.family = AF_INET;
	a.b[0] = 172;
	a.b[1] = 16 + (uint8_t)(i >> 16);
	a.b[2] = (uint8_t)(i >> 8);
	a.b[3] = (uint8_t)i;
	ipaddr_sockaddr(&a, (uint16_t)(40000 + i % 1000), ss);
}

/* Pick for a fresh connection from ss, retried after tried picks;
   the endpoint's name or "" for none. */
static const char *
pick_name(struct mgfx *f, const struct sockaddr_storage *ss, int retries)
{
	struct lb_flow	 fl;
	struct lb_ep	*ep = NULL;
	int		 i;

	memset(&fl, 0, sizeof(fl));
	fl.client = (const struct sockaddr *)ss;
	for (i = 0; i <= retries; i++)
		if ((ep = lb_pick(&f->set, &fl)) == NULL)
			break;
	for (i = 0; i < (int)fl.ntried; i++)
		lb_release(&f->set, &f->eps[fl.tried[i]]);
	return ep ? ep->name : "";
}

START_TEST(test_sizes_refused)
{
	struct mgfx	f;
	char		err[256] = "";
	uint32_t	p;

	ck_assert_int_eq(mgfx_init(&f, NULL, 65536, 0, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "65536"));
	ck_assert_ptr_nonnull(strstr(err, "prime"));
	mgfx_free(&f);
	for (p = LB_MAGLEV_TABLE_MAX + 1; !maglev_is_prime(p); p++)
		;
	ck_assert_int_eq(mgfx_init(&f, NULL, p, 0, err, sizeof(err)), -1);
	mgfx_free(&f);
	ck_assert_int_eq(mgfx_init(&f, NULL, 1, 0, err, sizeof(err)), -1);
	mgfx_free(&f);
	/* A small prime is fine (fewer entries than endpoints, even). */
	ck_assert_int_eq(mgfx_init(&f, NULL, 7, 0, err, sizeof(err)), 0);
	ck_assert_str_ne(pick_name(&f, NULL, 0), "");
	mgfx_free(&f);
	ck_assert_int_eq(mgfx_init(&f, NULL, LB_MAGLEV_TABLE_MAX, 0, err,
	    sizeof(err)), 0);
	mgfx_free(&f);
}
END_TEST

static void
shuffle(size_t *perm, size_t n, unsigned seed)
{
	size_t i, j, t;

	for (i = 0; i < n; i++)
		perm[i] = i;
	srand(seed);
	for (i = n - 1; i > 0; i--) {
		j = (size_t)rand() % (i + 1);
		t = perm[i];
		perm[i] = perm[j];
		perm[j] = t;
	}
}

/* Two sets from shuffled input map 10,000 clients alike, and spread
   them over every endpoint. */
START_TEST(test_shuffled_same)
{
	struct mgfx		 a, b;
	struct sockaddr_storage	 ss;
	size_t			 perm[NEPS], i, j;
	char			 err[256];
	int			 seen[NEPS] = { 0 };
	const char		*x;

	shuffle(perm, NEPS, 7);
	ck_assert_int_eq(mgfx_init(&a, NULL, 0, 0, err, sizeof(err)), 0);
	ck_assert_int_eq(mgfx_init(&b, perm, 0, 0, err, sizeof(err)), 0);
	for (i = 0; i < 10000; i++) {
		client_of(i, &ss);
		x = pick_name(&a, &ss, 0);
		ck_assert_str_eq(x, pick_name(&b, &ss, 0));
		for (j = 0; j < NEPS; j++)
			if (strcmp(a.eps[j].name, x) == 0)
				seen[j]++;
	}
	for (j = 0; j < NEPS; j++)
		ck_assert_int_gt(seen[j], 100);
	mgfx_free(&a);
	mgfx_free(&b);
}
END_TEST

/* The key: the client IP (any port, a v4-mapped IPv6 client alike), or
   the IP and the port. */
START_TEST(test_hash_key)
{
	struct mgfx		 a, b;
	struct sockaddr_storage	 s1, s2, s6;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&s6;
	struct ipaddr		 ip;
	char			 err[256], n1[64];
	size_t			 i, differ = 0;

	ck_assert_int_eq(mgfx_init(&a, NULL, 0, LB_HASH_CLIENT_IP, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(mgfx_init(&b, NULL, 0, LB_HASH_CLIENT_IP_PORT, err,
	    sizeof(err)), 0);
	for (i = 0; i < 200; i++) {
		client_of(i, &s1);
		client_of(i + (1 << 24), &s2);	/* same IP, another port */
		ck_assert_str_eq(pick_name(&a, &s1, 0), pick_name(&a, &s2, 0));
		snprintf(n1, sizeof(n1), "%s", pick_name(&b, &s1, 0));
		if (strcmp(n1, pick_name(&b, &s2, 0)) != 0)
			differ++;
		/* ::ffff:172.16.x.y is 172.16.x.y. */
		ipaddr_from_sockaddr((struct sockaddr *)&s1, &ip, NULL);
		memset(&s6, 0, sizeof(s6));
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr.s6_addr[10] = 0xff;
		sin6->sin6_addr.s6_addr[11] = 0xff;
		memcpy(&sin6->sin6_addr.s6_addr[12], ip.b, 4);
		ck_assert_str_eq(pick_name(&a, &s1, 0), pick_name(&a, &s6, 0));
	}
	/* With 50 endpoints, about 98% differ. */
	ck_assert_uint_gt(differ, 150);
	mgfx_free(&a);
	mgfx_free(&b);
}
END_TEST

/*
 * The hashed endpoint down (or already tried): the choice is the next
 * entry of the client's probe sequence in a table built independently
 * (maglev_fill over the same endpoints), the same in a set built from
 * shuffled input.
 */
START_TEST(test_fallback)
{
	struct mgfx		 a, b;
	struct maglev_node	 nodes[NEPS];
	struct sockaddr_storage	 ss;
	uint32_t		*table, j, step, first, next;
	uint64_t		 scratch[3 * NEPS], h;
	size_t			 perm[NEPS], i, k;
	char			 err[256];
	const char		*x, *y;

	shuffle(perm, NEPS, 11);
	ck_assert_int_eq(mgfx_init(&a, NULL, 0, 0, err, sizeof(err)), 0);
	ck_assert_int_eq(mgfx_init(&b, perm, 0, 0, err, sizeof(err)), 0);
	for (i = 0; i < NEPS; i++) {
		memset(&nodes[i], 0, sizeof(nodes[i]));
		nodes[i].addr = a.eps[i].addr;
		nodes[i].port = a.eps[i].port;
		nodes[i].weight = 1;
		nodes[i].id = (uint32_t)i;
	}
	ck_assert_ptr_nonnull(table = calloc(M, sizeof(*table)));
	maglev_sort(nodes, NEPS);
	maglev_fill(nodes, NEPS, table, M, scratch);
	for (i = 0; i < 300; i++) {
		client_of(i * 7919, &ss);
		h = maglev_hash_sockaddr((struct sockaddr *)&ss, 0);
		j = maglev_first(h, M);
		step = maglev_step(h, M);
		first = table[j];
		for (k = 0; table[j] == first; k++) {
			ck_assert_uint_lt(k, 64);
			j = (j + step) % M;
		}
		next = table[j];
		ck_assert_str_eq(pick_name(&a, &ss, 0), a.eps[first].name);
		/* Tried once (a failed connect): the retry goes to next. */
		ck_assert_str_eq(pick_name(&a, &ss, 1), a.eps[next].name);
		ck_assert_str_eq(pick_name(&b, &ss, 1), a.eps[next].name);
		/* Down: new connections go to next, in both sets. */
		lb_live_set_up(a.eps[first].live, 0);
		lb_live_set_up(lb_live_get(&b.live, a.eps[first].name), 0);
		x = pick_name(&a, &ss, 0);
		y = pick_name(&b, &ss, 0);
		ck_assert_str_eq(x, a.eps[next].name);
		ck_assert_str_eq(x, y);
		lb_live_set_up(a.eps[first].live, 1);
		lb_live_set_up(lb_live_get(&b.live, a.eps[first].name), 1);
		ck_assert_str_eq(pick_name(&a, &ss, 0), a.eps[first].name);
	}
	/* All but one down: the scan finds it, for every client. */
	for (i = 0; i < NEPS; i++)
		if (i != 13)
			lb_live_set_up(a.eps[i].live, 0);
	for (i = 0; i < 300; i++) {
		client_of(i, &ss);
		ck_assert_str_eq(pick_name(&a, &ss, 0), a.eps[13].name);
	}
	lb_live_set_up(a.eps[13].live, 0);
	/* None up: panic is not ours (no check here): nothing. */
	client_of(1, &ss);
	ck_assert_str_eq(pick_name(&a, &ss, 0), "");
	free(table);
	mgfx_free(&a);
	mgfx_free(&b);
}
END_TEST

/* Weight 0 (drained): never chosen; all drained: no choice. */
START_TEST(test_drained)
{
	struct mgfx		 f;
	struct sockaddr_storage	 ss;
	char			 err[256];
	size_t			 i;

	memset(&f, 0, sizeof(f));
	lb_livetab_init(&f.live);
	arena_init(&f.arena, 1 << 24);
	for (i = 0; i < NEPS; i++) {
		ep_init(&f.eps[i], i, &f.live);
		f.eps[i].weight = i == 4 ? 1 : 0;
	}
	f.set.ops = &lb_maglev_ops;
	f.set.eps = f.eps;
	f.set.neps = NEPS;
	ck_assert_int_eq(f.set.ops->build(&f.set, &f.arena, err,
	    sizeof(err)), 0);
	for (i = 0; i < 1000; i++) {
		client_of(i, &ss);
		ck_assert_str_eq(pick_name(&f, &ss, 0), f.eps[4].name);
		/* Its retry finds nobody: the others are drained. */
		ck_assert_str_eq(pick_name(&f, &ss, 1), "");
	}
	mgfx_free(&f);

	memset(&f, 0, sizeof(f));
	lb_livetab_init(&f.live);
	arena_init(&f.arena, 1 << 24);
	for (i = 0; i < NEPS; i++) {
		ep_init(&f.eps[i], i, &f.live);
		f.eps[i].weight = 0;
	}
	f.set.ops = &lb_maglev_ops;
	f.set.eps = f.eps;
	f.set.neps = NEPS;
	ck_assert_int_eq(f.set.ops->build(&f.set, &f.arena, err,
	    sizeof(err)), 0);
	client_of(3, &ss);
	ck_assert_str_eq(pick_name(&f, &ss, 0), "");
	mgfx_free(&f);
}
END_TEST

static Suite *
maglev_suite(void)
{
	Suite	*s = suite_create("maglev");
	TCase	*tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_prime);
	tcase_add_test(tc, test_balance);
	tcase_add_test(tc, test_disruption);
	tcase_add_test(tc, test_weights);
	tcase_add_test(tc, test_sizes_refused);
	tcase_add_test(tc, test_shuffled_same);
	tcase_add_test(tc, test_hash_key);
	tcase_add_test(tc, test_fallback);
	tcase_add_test(tc, test_drained);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(maglev_suite());
}
