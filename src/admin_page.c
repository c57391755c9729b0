/*
 * admin_page: GET / on the admin address (admin_page.h).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <sys/random.h>

#include "admin_page.h"
#include "health_state.h"
#include "health_view.h"
#include "proto.h"

#define ADM_PAGE_NONCE_BYTES	16

/* s as HTML text into out: <, >, &, " and ' escaped. */
static void
page_esc(struct evbuffer *out, const char *s)
{
	const char	*p;

	for (p = s; *p != '\0'; p++) {
		switch (*p) {
		case '<':	evbuffer_add(out, "&lt;", 4); break;
		case '>':	evbuffer_add(out, "&gt;", 4); break;
		case '&':	evbuffer_add(out, "&amp;", 5); break;
		case '"':	evbuffer_add(out, "&quot;", 6); break;
		case '\'':	evbuffer_add(out, "&#39;", 5); break;
		default:	evbuffer_add(out, p, 1); break;
		}
	}
}

/* The word (and class) for endpoint ep: up, down or unknown. */
static const char *
page_ep_state(const struct lb_ep *ep, int64_t now_ms)
{
	return hc_health_name(hc_view_health(ep, now_ms));
}

/* The word for Service port sp: panic, down (no healthy endpoint), up. */
static const char *
page_port_state(const struct snap_port *sp, int64_t now_ms)
{
	if (atomic_load_explicit(&sp->lb.panic, memory_order_relaxed))
		return "panic";
	if (sp->lb.neps == 0 || hc_view_healthy(&sp->lb, now_ms) == 0)
		return "down";
	return "up";
}

/* One Service port's row and its endpoints' rows. */
static void
page_port(struct evbuffer *out, const struct snap_port *sp,
    const struct met_tab *met, int64_t now_ms)
{
	struct met_ctr	 c;
	const char	*st = page_port_state(sp, now_ms);
	uint64_t	 acc, cl;
	size_t		 j;

	memset(&c, 0, sizeof(c));
	if (sp->met != NULL && met != NULL)
		met_port_sum(met, sp->met, &c);
	acc = met_get(&c.accepted);
	cl = met_get(&c.closed);
	evbuffer_add_printf(out, "<tr class=\"port st-%s\" data-state=\"%s\">"
	    "<td>", st, st);
	page_esc(out, sp->label);
	evbuffer_add_printf(out, "/%s</td><td><span class=\"st\">%s</span>"
	    "</td><td class=\"n\">%" PRIu64 "</td><td class=\"n\">%" PRIu64
	    "</td><td class=\"n\">%" PRIu64 "</td><td class=\"n\">%" PRIu64
	    " / %" PRIu64 "</td><td class=\"n\">%" PRIu64 " / %" PRIu64
	    "</td></tr>\n", proto_name(sp->proto), st, acc > cl ? acc - cl : 0,
	    acc, met_get(&c.connect_failures), met_get(&c.refused_policy),
	    met_get(&c.refused_source), met_get(&c.limited),
	    met_get(&c.no_endpoint));
	for (j = 0; j < sp->lb.neps; j++) {
		const struct lb_ep *ep = &sp->lb.eps[j];

		st = page_ep_state(ep, now_ms);
		evbuffer_add_printf(out, "<tr class=\"ep st-%s\" "
		    "data-state=\"%s\"><td>", st, st);
		page_esc(out, ep->name);
		if (ep->pod != NULL) {
			evbuffer_add(out, " ", 1);
			page_esc(out, ep->pod);
		}
		evbuffer_add_printf(out, "</td><td><span class=\"st\">%s</span>"
		    "</td><td class=\"n\">%u</td><td class=\"n\">%" PRIu64
		    "</td><td class=\"n\">%" PRIu64 "</td><td></td><td></td>"
		    "</tr>\n", st, atomic_load_explicit(&ep->live->active,
		    memory_order_relaxed), met_get(&ep->live->total),
		    met_get(&ep->live->failures));
	}
}

/* The server-rendered table: every Service port of s and its endpoints. */
static void
page_table(struct evbuffer *out, const struct snap *s,
    const struct met_tab *met, const struct met_proc *proc, int64_t now_ms)
{
	size_t	 i;

	evbuffer_add_printf(out, "<p id=\"static\">Configuration %016" PRIx64
	    "%s.</p>\n", proc != NULL ? proc->config_hash : 0,
	    proc != NULL && proc->draining ? "; <span class=\"st-draining\">"
	    "<span class=\"st\">draining</span></span>" : "");
	if (s == NULL) {
		evbuffer_add_printf(out, "<p>No configuration loaded.</p>\n");
		return;
	}
	evbuffer_add_printf(out, "<table id=\"static-ports\"><thead><tr>"
	    "<th>Service port / endpoint</th><th>state</th>"
	    "<th class=\"n\">active</th><th class=\"n\">total</th>"
	    "<th class=\"n\">connect failures</th>"
	    "<th class=\"n\">refused policy / source</th>"
	    "<th class=\"n\">limited / no endpoint</th></tr></thead>"
	    "<tbody>\n");
	for (i = 0; i < s->nports; i++)
		page_port(out, &s->ports[i], met, now_ms);
	evbuffer_add_printf(out, "</tbody></table>\n");
}

int
adm_page(struct evbuffer *body, char *hdrs, size_t hdrslen,
    const struct snap *s, const struct met_tab *met,
    const struct met_proc *proc, int64_t now_ms)
{
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		 rnd[ADM_PAGE_NONCE_BYTES];
	char			 nonce[2 * ADM_PAGE_NONCE_BYTES + 1];
	const unsigned char	*p = adm_page_html, *end, *at;
	size_t			 i;
	int			 n;

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return -1;
	for (i = 0; i < sizeof(rnd); i++) {
		nonce[2 * i] = hex[rnd[i] >> 4];
		nonce[2 * i + 1] = hex[rnd[i] & 15];
	}
	nonce[sizeof(nonce) - 1] = '\0';
	/*
	 * default-src 'self': the script may read /status and nothing
	 * else; inline style and script only with this answer's nonce;
	 * no framing (clickjacking), no plugins, no base or form games.
	 */
	n = snprintf(hdrs, hdrslen, "Content-Security-Policy: default-src "
	    "'self'; script-src 'nonce-%s'; style-src 'nonce-%s'; "
	    "object-src 'none'; base-uri 'none'; form-action 'none'; "
	    "frame-ancestors 'none'\r\nX-Content-Type-Options: nosniff\r\n"
	    "X-Frame-Options: DENY\r\nReferrer-Policy: no-referrer\r\n",
	    nonce, nonce);
	if (n < 0 || (size_t)n >= hdrslen)
		return -1;
	/* The template, its markers replaced. */
	end = adm_page_html + adm_page_html_len;
	while (p < end) {
		if ((at = memchr(p, '@', end - p)) == NULL)
			at = end;
		if (evbuffer_add(body, p, at - p) == -1)
			return -1;
		if (at == end)
			break;
		if ((size_t)(end - at) >= 7 && memcmp(at, "@NONCE@", 7) == 0) {
			evbuffer_add(body, nonce, strlen(nonce));
			p = at + 7;
		} else if ((size_t)(end - at) >= 7 &&
		    memcmp(at, "@TABLE@", 7) == 0) {
			page_table(body, s, met, proc, now_ms);
			p = at + 7;
		} else {
			evbuffer_add(body, at, 1);
			p = at + 1;
		}
	}
	return 0;
}
