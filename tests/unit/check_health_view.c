/*
 * check_health_view: what /status, /metrics and /healthz say of health
 * (health_view.c, admin.c's health members, metrics.c's health
 * families), on a snapshot made by hand with cells set as the health
 * thread and outlier detection would set them.  The /metrics text also
 * goes through `promtool check metrics` when promtool is installed, and
 * the /status members through Python's json module.
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "admin.h"
#include "clock.h"
#include "health_view.h"
#include "metrics.h"
#include "snapshot.h"
#include "unit.h"

#define NEPS	4
#define T_LAST	INT64_C(1764460201123)	/* 2025-11-29T23:50:01.123Z */

/*
 * Service default/web, port 80 (http checks) with four endpoints:
 *   0 10.0.0.1:8080 checked, up, last check passed;
 *   1 10.0.0.2:8080 checked, down, last check failed (HTTP 503);
 *   2 10.0.0.3:8080 not checked, passively ejected (twice so far);
 *   3 10.0.0.4:8080 checked, no result yet (unknown);
 * and port 81, in panic, with endpoint 0's address and cell (one check
 * shared by two ports) and endpoint 1's.
 */
struct fix {
	struct snap		 s;
	struct snap_svc		 svc;
	struct snap_port	 ports[2];
	struct lb_ep		 eps[NEPS];
	struct lb_ep		 eps81[2];
	struct lb_live		*live[NEPS];
	struct hc_cell		*cell[NEPS];	/* NULL: not checked */
	int64_t			 now;
};

static struct fix F;

static void
set_reason(struct hc_cell *c, const char *r)
{
	size_t i;

	for (i = 0; i == 0 || r[i - 1] != '\0'; i++)
		atomic_store(&c->reason[i], r[i]);
}

static void
setup(void)
{
	static const char *const addr[NEPS] = {
		"10.0.0.1:8080", "10.0.0.2:8080", "10.0.0.3:8080",
		"10.0.0.4:8080",
	};
	size_t i;

	memset(&F, 0, sizeof(F));
	F.now = clock_mono_ms();
	F.svc.ns = "default";
	F.svc.name = "web";
	for (i = 0; i < NEPS; i++) {
		ck_assert_ptr_nonnull(F.live[i] = calloc(1,
		    sizeof(struct lb_live) + 16));
		snprintf(F.eps[i].name, sizeof(F.eps[i].name), "%s", addr[i]);
		F.eps[i].live = F.live[i];
		F.eps[i].weight = 1;
		if (i == 2)
			continue;
		ck_assert_ptr_nonnull(F.cell[i] = calloc(1,
		    sizeof(struct hc_cell) + 16));
		F.eps[i].hc = F.cell[i];
	}
	/* 0: up; 10 checks, 3 failed, 2 transitions; 2 at most 1 ms, 5
	   at most 5 ms, 3 slower than 5 s. */
	atomic_store(&F.cell[0]->state, HC_UP);
	atomic_store(&F.cell[0]->checks, 10);
	atomic_store(&F.cell[0]->failures, 3);
	atomic_store(&F.cell[0]->transitions, 2);
	atomic_store(&F.cell[0]->latency[0], 2);
	atomic_store(&F.cell[0]->latency[1], 5);
	atomic_store(&F.cell[0]->latency[HC_LAT_BUCKETS - 1], 3);
	atomic_store(&F.cell[0]->latency_sum_us, 2 * 500 + 5 * 3000 +
	    3 * 6000000);
	atomic_store(&F.cell[0]->last_ms, T_LAST);
	atomic_store(&F.cell[0]->last_ok_ms, T_LAST);
	atomic_store(&F.cell[0]->last_latency_us, 1200);
	set_reason(F.cell[0], "HTTP 200");
	/* 1: down, failing. */
	atomic_store(&F.cell[1]->state, HC_DOWN);
	atomic_store(&F.cell[1]->checks, 4);
	atomic_store(&F.cell[1]->failures, 4);
	atomic_store(&F.cell[1]->transitions, 1);
	atomic_store(&F.cell[1]->latency[2], 4);
	atomic_store(&F.cell[1]->latency_sum_us, 4 * 7000);
	atomic_store(&F.cell[1]->last_ms, T_LAST + 2000);
	atomic_store(&F.cell[1]->last_ok_ms, T_LAST - 60000);
	atomic_store(&F.cell[1]->last_latency_us, 7000);
	set_reason(F.cell[1], "HTTP 503");
	/* 2: ejected for another minute. */
	atomic_store(&F.live[2]->ejected_until_ms, F.now + 60000);
	atomic_store(&F.live[2]->ejections, 2);

	F.ports[0].svc = &F.svc;
	F.ports[0].port = 80;
	F.ports[0].proto = PROTO_TCP;
	F.ports[0].label = "default/web:80";
	F.ports[0].lb.eps = F.eps;
	F.ports[0].lb.neps = NEPS;
	F.ports[0].hc.check.kind = HC_HTTP;
	F.eps81[0] = F.eps[0];
	F.eps81[1] = F.eps[1];
	F.ports[1] = F.ports[0];
	F.ports[1].port = 81;
	F.ports[1].label = "default/web:81";
	F.ports[1].lb.eps = F.eps81;
	F.ports[1].lb.neps = 2;
	atomic_store(&F.ports[1].lb.panic, 1);
	F.svc.ports = F.ports;
	F.svc.nports = 2;
	F.s.svcs = &F.svc;
	F.s.nsvcs = 1;
	F.s.ports = F.ports;
	F.s.nports = 2;
}

static void
teardown(void)
{
	size_t i;

	for (i = 0; i < NEPS; i++) {
		free(F.live[i]);
		free(F.cell[i]);
	}
}

START_TEST(health_rule)
{
	int64_t		now = F.now;
	struct hc_view	v;

	ck_assert_int_eq(hc_view_health(&F.eps[0], now), HC_UP);
	ck_assert_int_eq(hc_view_health(&F.eps[1], now), HC_DOWN);
	ck_assert_int_eq(hc_view_health(&F.eps[2], now), HC_DOWN);
	ck_assert_int_eq(hc_view_health(&F.eps[3], now), HC_UNKNOWN);
	/* Unknown counts as healthy: it is served. */
	ck_assert_uint_eq(hc_view_healthy(&F.ports[0].lb, now), 2);
	/* The ejection over: an unchecked endpoint is up again. */
	ck_assert_int_eq(hc_view_health(&F.eps[2], now + 60000), HC_UP);
	hc_view_ep(&F.eps[2], now + 60000, &v);
	ck_assert_int_eq(v.ejected, 0);
	ck_assert_uint_eq(v.ejections, 2);
	ck_assert_int_eq(v.checked, 0);
	/* Ejected beats a check that passed before the ejection; a pass
	   after it re-admits, as lb_ep_ejected has new connections do. */
	atomic_store(&F.live[0]->ejected_until_ms, now + 1);
	atomic_store(&F.live[0]->ejected_wall_ms, T_LAST);
	ck_assert_int_eq(hc_view_health(&F.eps[0], now), HC_DOWN);
	hc_view_ep(&F.eps[0], now, &v);
	ck_assert_int_eq(v.ejected, 1);
	atomic_store(&F.live[0]->ejected_wall_ms, T_LAST - 1);
	ck_assert_int_eq(hc_view_health(&F.eps[0], now), HC_UP);
	hc_view_ep(&F.eps[0], now, &v);
	ck_assert_int_eq(v.ejected, 0);
	atomic_store(&F.live[0]->ejected_until_ms, 0);
	atomic_store(&F.live[0]->ejected_wall_ms, 0);
	atomic_store(&F.live[3]->down, 1);
	ck_assert_int_eq(hc_view_health(&F.eps[3], now), HC_DOWN);
	ck_assert_uint_eq(hc_view_healthy(&F.ports[0].lb, now), 1);

	hc_view_ep(&F.eps[1], now, &v);
	ck_assert_int_eq(v.checked, 1);
	ck_assert_int_eq(v.has_result, 1);
	ck_assert_int_eq(v.pass, 0);
	ck_assert_str_eq(v.reason, "HTTP 503");
	ck_assert_uint_eq(v.latency_us, 7000);
	hc_view_ep(&F.eps[3], now, &v);
	ck_assert_int_eq(v.checked, 1);
	ck_assert_int_eq(v.has_result, 0);
}
END_TEST

START_TEST(time_format)
{
	char	buf[HC_VIEW_TIME_MAX];

	ck_assert_str_eq(hc_view_time(T_LAST, buf, sizeof(buf)),
	    "2025-11-29T23:50:01.123Z");
	ck_assert_str_eq(hc_view_time(7, buf, sizeof(buf)),
	    "1970-01-01T00:00:00.007Z");
}
END_TEST

/* The /status members of ep; free them. */
static char *
ep_json(const struct snap_port *sp, const struct lb_ep *ep)
{
	char	*buf = NULL;
	size_t	 len = 0;
	FILE	*f;

	ck_assert_ptr_nonnull(f = open_memstream(&buf, &len));
	adm_json_ep_health(f, sp, ep, F.now);
	fclose(f);
	return buf;
}

START_TEST(status_members)
{
	char	*j;
	FILE	*p;
	size_t	 i;

	j = ep_json(&F.ports[0], &F.eps[0]);
	ck_assert_str_eq(j, ",\"health\":\"up\",\"check\":{\"type\":\"http\","
	    "\"result\":\"pass\",\"reason\":\"HTTP 200\",\"at\":"
	    "\"2025-11-29T23:50:01.123Z\",\"latencyMs\":1.200}");
	free(j);
	j = ep_json(&F.ports[0], &F.eps[1]);
	ck_assert_str_eq(j, ",\"health\":\"down\",\"check\":{\"type\":\"http\","
	    "\"result\":\"fail\",\"reason\":\"HTTP 503\",\"at\":"
	    "\"2025-11-29T23:50:03.123Z\",\"latencyMs\":7.000}");
	free(j);
	j = ep_json(&F.ports[0], &F.eps[2]);
	ck_assert_str_eq(j, ",\"health\":\"down\",\"ejected\":true,"
	    "\"ejections\":2");
	free(j);
	j = ep_json(&F.ports[0], &F.eps[3]);
	ck_assert_str_eq(j, ",\"health\":\"unknown\",\"check\":{\"type\":"
	    "\"http\"}");
	free(j);
	/* Every endpoint's members, one with a reason that needs escaping,
	   in one document that Python's json module must accept. */
	set_reason(F.cell[1], "TLS handshake failed: \"bad\" cert\\\n");
	ck_assert_ptr_nonnull(p = popen("python3 -m json.tool >/dev/null",
	    "w"));
	for (i = 0; i < NEPS; i++) {
		j = ep_json(&F.ports[0], &F.eps[i]);
		fprintf(p, "%s{\"address\":\"x\"%s}", i ? "," : "[", j);
		free(j);
	}
	fputs("]\n", p);
	ck_assert_msg(pclose(p) == 0, "/status members are not JSON");
}
END_TEST

START_TEST(healthz_rule)
{
	char	why[256];

	ck_assert_int_eq(adm_port_unhealthy(&F.ports[0], why, sizeof(why)),
	    0);
	ck_assert_int_eq(adm_port_unhealthy(&F.ports[1], why, sizeof(why)),
	    1);
	ck_assert_str_eq(why, "Service port default/web:81 is in panic: no "
	    "healthy endpoint, serving unhealthy ones");
	/* Every endpoint down (no panic flag yet): no healthy endpoint. */
	atomic_store(&F.cell[0]->state, HC_DOWN);
	atomic_store(&F.cell[3]->state, HC_DOWN);
	ck_assert_int_eq(adm_port_unhealthy(&F.ports[0], why, sizeof(why)),
	    1);
	ck_assert_str_eq(why, "Service port default/web:80 has no healthy "
	    "endpoint");
	/* One unknown is enough: it is served. */
	atomic_store(&F.cell[3]->state, HC_UNKNOWN);
	ck_assert_int_eq(adm_port_unhealthy(&F.ports[0], why, sizeof(why)),
	    0);
	F.ports[0].lb.neps = 0;
	ck_assert_int_eq(adm_port_unhealthy(&F.ports[0], why, sizeof(why)),
	    1);
	ck_assert_str_eq(why, "Service port default/web:80 has no ready "
	    "endpoint");
}
END_TEST

/* /metrics' text of the fixture, NUL-terminated; free it. */
static char *
metrics_text(void)
{
	struct evbuffer		*b = evbuffer_new();
	struct met_tab		 t;
	struct met_proc		 p;
	struct met_wrk		 w;
	struct met_adm		 a;
	char			*s;
	size_t			 n;

	ck_assert_ptr_nonnull(b);
	memset(&p, 0, sizeof(p));
	memset(&w, 0, sizeof(w));
	memset(&a, 0, sizeof(a));
	met_tab_init(&t, 1);
	ck_assert_int_eq(met_print_prom(b, &t, &F.s, &p, &w, &a, 10), 0);
	n = evbuffer_get_length(b);
	ck_assert_ptr_nonnull(s = malloc(n + 1));
	evbuffer_remove(b, s, n);
	s[n] = '\0';
	evbuffer_free(b);
	met_tab_free(&t);
	return s;
}

#define EP(name, port, ep)	name "{namespace=\"default\",service=" \
	"\"web\",port=\"" port "\",protocol=\"TCP\",endpoint=\"" ep "\""

/* line, a whole line of text. */
static void
has_line(const char *text, const char *line)
{
	const char	*p = text;
	size_t		 n = strlen(line);

	while ((p = strstr(p, line)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return;
		p++;
	}
	fprintf(stderr, "%s", text);	/* too long for a Check message */
	ck_abort_msg("no line \"%s\" (the text: above)", line);
}

START_TEST(metrics_families)
{
	char	*m = metrics_text();

	has_line(m, "# TYPE svcproxy_endpoint_health gauge");
	has_line(m, EP("svcproxy_endpoint_health", "80", "10.0.0.1:8080")
	    "} 1");
	has_line(m, EP("svcproxy_endpoint_health", "80", "10.0.0.2:8080")
	    "} 0");
	has_line(m, EP("svcproxy_endpoint_health", "80", "10.0.0.3:8080")
	    "} 0");
	has_line(m, EP("svcproxy_endpoint_health", "80", "10.0.0.4:8080")
	    "} -1");
	/* The shared check, under both ports. */
	has_line(m, EP("svcproxy_endpoint_health", "81", "10.0.0.1:8080")
	    "} 1");
	has_line(m, EP("svcproxy_health_checks_total", "80", "10.0.0.1:8080")
	    ",result=\"pass\"} 7");
	has_line(m, EP("svcproxy_health_checks_total", "81", "10.0.0.1:8080")
	    ",result=\"fail\"} 3");
	has_line(m, EP("svcproxy_health_checks_total", "80", "10.0.0.4:8080")
	    ",result=\"pass\"} 0");
	has_line(m, EP("svcproxy_health_transitions_total", "80",
	    "10.0.0.2:8080") "} 1");
	has_line(m, EP("svcproxy_endpoint_ejections_total", "80",
	    "10.0.0.3:8080") "} 2");
	/* Cumulative buckets, the sum of every check, the count. */
	has_line(m, "# TYPE svcproxy_health_check_duration_seconds histogram");
	has_line(m, EP("svcproxy_health_check_duration_seconds_bucket", "80",
	    "10.0.0.1:8080") ",le=\"0.001\"} 2");
	has_line(m, EP("svcproxy_health_check_duration_seconds_bucket", "80",
	    "10.0.0.1:8080") ",le=\"0.005\"} 7");
	has_line(m, EP("svcproxy_health_check_duration_seconds_bucket", "80",
	    "10.0.0.1:8080") ",le=\"5\"} 7");
	has_line(m, EP("svcproxy_health_check_duration_seconds_bucket", "80",
	    "10.0.0.1:8080") ",le=\"+Inf\"} 10");
	has_line(m, EP("svcproxy_health_check_duration_seconds_sum", "80",
	    "10.0.0.1:8080") "} 18.016000");
	has_line(m, EP("svcproxy_health_check_duration_seconds_count", "80",
	    "10.0.0.1:8080") "} 10");
	has_line(m, EP("svcproxy_health_check_duration_seconds_bucket", "80",
	    "10.0.0.2:8080") ",le=\"0.005\"} 0");
	has_line(m, EP("svcproxy_health_check_duration_seconds_bucket", "80",
	    "10.0.0.2:8080") ",le=\"0.01\"} 4");
	/* Unchecked: no check series. */
	ck_assert_ptr_null(strstr(m, EP("svcproxy_health_checks_total", "80",
	    "10.0.0.3:8080")));
	has_line(m, "svcproxy_port_panic{namespace=\"default\",service=\"web\","
	    "port=\"80\",protocol=\"TCP\"} 0");
	has_line(m, "svcproxy_port_panic{namespace=\"default\",service=\"web\","
	    "port=\"81\",protocol=\"TCP\"} 1");
	free(m);
}
END_TEST

/* The whole text passes promtool's parser and lint, when installed. */
START_TEST(metrics_promtool)
{
	char	*m = metrics_text(), path[] = "/tmp/check_health_view.XXXXXX";
	char	 cmd[128];
	FILE	*f;
	int	 fd, rc;

	if (system("command -v promtool >/dev/null 2>&1") != 0) {
		fprintf(stderr, "metrics_promtool: no promtool, skipped\n");
		free(m);
		return;
	}
	ck_assert_int_ne(fd = mkstemp(path), -1);
	ck_assert_ptr_nonnull(f = fdopen(fd, "w"));
	fputs(m, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "promtool check metrics <%s >&2", path);
	rc = system(cmd);
	unlink(path);
	if (rc != 0)
		fprintf(stderr, "%s", m);
	ck_assert_msg(rc == 0, "promtool check metrics failed (%d)", rc);
	free(m);
}
END_TEST

static Suite *
view_suite(void)
{
	Suite	*s = suite_create("health_view");
	TCase	*tc = tcase_create("view");

	tcase_set_timeout(tc, 60);	/* python3 and promtool, loaded */
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, health_rule);
	tcase_add_test(tc, time_format);
	tcase_add_test(tc, status_members);
	tcase_add_test(tc, healthz_rule);
	tcase_add_test(tc, metrics_families);
	tcase_add_test(tc, metrics_promtool);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(view_suite());
}
