#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vec.h"
#include "ysplit.h"

/* How far into the file a List's `items:` line is looked for. */
#define YSPLIT_HEAD_MAX	(64 * 1024)

static int
is_blank_or_end(const char *buf, size_t len, size_t i)
{
	return i >= len || buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' ||
	    buf[i] == '\n';
}

/* A block sequence entry (`- `, `-` at the end of a line) at i. */
static int
is_entry(const char *buf, size_t len, size_t i)
{
	return i < len && buf[i] == '-' && i + 1 < len &&
	    (buf[i + 1] == ' ' || buf[i + 1] == '\r' || buf[i + 1] == '\n');
}

static int
push(struct ysplit *sp, size_t *cap, size_t off, size_t end)
{
	struct ysplit_piece *p;

	if (VEC_GROW(&sp->pieces, cap, sp->npieces + 1, 16) == -1)
		return -1;
	p = &sp->pieces[sp->npieces++];
	memset(p, 0, sizeof(*p));
	p->off = off;
	p->len = end - off;
	return 0;
}

/* The next `---` document start at or after from, or len. */
static size_t
next_doc(const char *buf, size_t len, size_t from)
{
	const char *p;

	while (from < len) {
		if ((p = memmem(buf + from - 1, len - from + 1, "\n---", 4)) ==
		    NULL)
			return len;
		from = (size_t)(p - buf) + 1;
		if (is_blank_or_end(buf, len, from + 3))
			return from;
		from += 3;
	}
	return len;
}

static int
find_docs(const char *buf, size_t len, size_t piece_size, size_t max,
    struct ysplit *sp)
{
	size_t cap = 0, prev = 0, cut;

	while (sp->npieces + 1 < max && prev + piece_size < len) {
		if ((cut = next_doc(buf, len, prev + piece_size)) >= len)
			break;
		if (push(sp, &cap, prev, cut) == -1)
			return -1;
		prev = cut;
	}
	if (sp->npieces == 0)
		return 0;
	if (push(sp, &cap, prev, len) == -1)
		return -1;
	sp->form = YSPLIT_DOCS;
	return 0;
}

/*
 * The head of a List: the lines up to the root key line `items:`,
 * directly followed by the first item at column 0.  0 when there is
 * none within YSPLIT_HEAD_MAX.
 */
static size_t
list_head(const char *buf, size_t len, size_t *lines)
{
	size_t		 i = 0, n = 0;
	const char	*nl;

	while (i < len && i < YSPLIT_HEAD_MAX) {
		size_t end;

		if ((nl = memchr(buf + i, '\n', len - i)) == NULL)
			return 0;
		end = (size_t)(nl - buf);
		n++;
		if ((end - i == 6 || (end - i == 7 && buf[end - 1] == '\r')) &&
		    memcmp(buf + i, "items:", 6) == 0) {
			if (!is_entry(buf, len, end + 1))
				return 0;
			*lines = n;
			return end + 1;
		}
		i = end + 1;
	}
	return 0;
}

/* The start of the last column-0 item after head, or 0. */
static size_t
last_item(const char *buf, size_t len, size_t head)
{
	size_t i;

	for (i = len; i > head; i--)
		if (buf[i - 1] == '\n' && is_entry(buf, len, i))
			return i;
	return is_entry(buf, len, head) ? head : 0;
}

/* The next column-0 item at or after from, before end; or end. */
static size_t
next_item(const char *buf, size_t end, size_t from)
{
	const char *p;

	while (from < end) {
		if ((p = memmem(buf + from - 1, end - from + 1, "\n-", 2)) ==
		    NULL)
			return end;
		from = (size_t)(p - buf) + 1;
		if (is_entry(buf, end, from))
			return from;
		from++;
	}
	return end;
}

static int
find_list(const char *buf, size_t len, size_t piece_size, size_t max,
    struct ysplit *sp)
{
	size_t cap = 0, head, last, prev, cut, lines = 0;

	if ((head = list_head(buf, len, &lines)) == 0 ||
	    (last = last_item(buf, len, head)) <= head)
		return 0;
	prev = head;
	while (sp->npieces + 2 < max && prev + piece_size < last) {
		if ((cut = next_item(buf, last, prev + piece_size)) >= last)
			break;
		if (push(sp, &cap, prev, cut) == -1)
			return -1;
		prev = cut;
	}
	if (push(sp, &cap, prev, last) == -1 || push(sp, &cap, last, len) == -1)
		return -1;
	sp->form = YSPLIT_LIST;
	sp->head_len = head;
	sp->head_lines = lines;
	return 0;
}

int
ysplit_find(const char *buf, size_t len, size_t piece_size, size_t max,
    struct ysplit *sp)
{
	const unsigned char *b = (const unsigned char *)buf;

	memset(sp, 0, sizeof(*sp));
	if (max > YSPLIT_MAX_PIECES)
		max = YSPLIT_MAX_PIECES;
	if (piece_size == 0)
		piece_size = 1;
	if (len < 4 || max < 2)
		return YSPLIT_NONE;
	/* libyaml reads UTF-16 by its byte order mark; bytes are cut here. */
	if ((b[0] == 0xff && b[1] == 0xfe) || (b[0] == 0xfe && b[1] == 0xff) ||
	    (b[0] == 0 && b[1] == 0))
		return YSPLIT_NONE;
	if (find_docs(buf, len, piece_size, max, sp) == -1 ||
	    (sp->form == YSPLIT_NONE &&
	    find_list(buf, len, piece_size, max, sp) == -1)) {
		ysplit_free(sp);
		return -1;
	}
	if (sp->form == YSPLIT_NONE)
		ysplit_free(sp);
	return sp->form;
}

/* The bytes ysplit_scan() stops at; the rest is skipped at once. */
static const unsigned char stop[256] = {
	['\n'] = 1, ['\r'] = 1, ['*'] = 1, ['&'] = 1, [0xc2] = 1, [0xe2] = 1,
};

/* What a column-0 line between two List items may start with. */
static int
item_line_ok(const char *buf, size_t len, size_t i)
{
	if (i >= len)
		return 1;
	switch (buf[i]) {
	case '-':
		return is_entry(buf, len, i);
	case '#':
	case ' ':
	case '\n':
	case '\r':
		return 1;
	default:
		return 0;
	}
}

int
ysplit_scan(const struct ysplit *sp, size_t i, const char *buf, size_t len)
{
	const unsigned char	*b = (const unsigned char *)buf;
	size_t			 j, start, end, nl = 0;
	int			 head = i == SIZE_MAX;
	int			 list = sp->form == YSPLIT_LIST;
	int			 between = list && !head && i + 1 < sp->npieces;

	if (head) {
		start = 0;
		end = sp->head_len;
	} else {
		start = sp->pieces[i].off;
		end = start + sp->pieces[i].len;
	}
	if (start < end && b[start] == '%')
		return -1;
	for (j = start; j < end; j++) {
		if (!stop[b[j]])
			continue;
		switch (b[j]) {
		case '\n':
			nl++;
			if (j + 1 < end && b[j + 1] == '%')
				return -1;
			if (between && j + 1 < end &&
			    !item_line_ok(buf, end, j + 1))
				return -1;
			break;
		case '\r':
			if (j + 1 >= len || b[j + 1] != '\n')
				return -1;
			break;
		case 0xc2:	/* NEL */
			if (j + 1 < len && b[j + 1] == 0x85)
				return -1;
			break;
		case 0xe2:	/* LS, PS */
			if (j + 2 < len && b[j + 1] == 0x80 &&
			    (b[j + 2] == 0xa8 || b[j + 2] == 0xa9))
				return -1;
			break;
		case '*':
			if (head || (list && (j == 0 || strchr(" \t\n[{,",
			    b[j - 1]) != NULL)))
				return -1;
			break;
		case '&':
			if (head)
				return -1;
			break;
		}
	}
	if (!head)
		sp->pieces[i].nlines = nl;
	return 0;
}

void
ysplit_lines(struct ysplit *sp)
{
	size_t i, line = sp->form == YSPLIT_LIST ? sp->head_lines : 0;

	for (i = 0; i < sp->npieces; i++) {
		sp->pieces[i].line = line;
		line += sp->pieces[i].nlines;
	}
}

void
ysplit_free(struct ysplit *sp)
{
	free(sp->pieces);
	memset(sp, 0, sizeof(*sp));
}
