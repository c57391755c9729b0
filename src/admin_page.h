/*
 * admin_page: the status page the admin server answers GET / with.
 *
 * The page is src/status_page.html, compiled into the binary (the
 * build turns it into adm_page_html[], status_page_html.c), so it
 * needs nothing from anywhere else and works with no network.  Its
 * style and script are inline, allowed by a Content-Security-Policy
 * nonce drawn afresh for each answer; its script reads /status and
 * draws the live view.  For text browsers and browsers without
 * script, the server renders a plain table of every Service port and
 * endpoint into the page itself, words beside colours: up, down,
 * unknown, panic, draining.
 */
#ifndef SVCPROXY_ADMIN_PAGE_H
#define SVCPROXY_ADMIN_PAGE_H

#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>

#include "metrics.h"
#include "snapshot.h"

/* The page's template (status_page_html.c, generated at build). */
extern const unsigned char	adm_page_html[];
extern const size_t		adm_page_html_len;

/* Room for adm_page's headers, each line ending "\r\n". */
#define ADM_PAGE_HEADERS_MAX	512

/*
 * The status page into body, with the table of s's ports (NULL: none
 * loaded; counters from met, draining from proc) at now_ms (monotonic);
 * hdrs gets the headers that go with it (the Content-Security-Policy
 * with this answer's nonce, no framing, no sniffing).  0, or -1 when
 * no random nonce could be drawn or memory ran out (body then partly
 * filled: the caller answers 500).
 */
int	 adm_page(struct evbuffer *body, char *hdrs, size_t hdrslen,
	    const struct snap *s, const struct met_tab *met,
	    const struct met_proc *proc, int64_t now_ms);

#endif
