#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "hash.h"
#include "vec.h"
#include "ydoc.h"

struct yframe {
	struct ynode	 *node;
	struct ynode	**items;	/* malloc, reused by each collection at
					   this depth; copied to the arena */
	size_t		  n;
	size_t		  cap;
	char		 *anchor;	/* arena; registered when closed */
	const void	 *ctx;		/* filter context; NULL: keep all */
	int		  pending;	/* map: the filter's word on the
					   value to come (PENDING_*) */
	const void	 *value_ctx;	/* PENDING_CTX: the value's context */
};

/* What the filter said at a map's key about the value that follows. */
enum {
	PENDING_NONE,		/* ask when the value starts */
	PENDING_DROP,		/* drop it: its key was never made a node */
	PENDING_CTX,		/* keep it, with value_ctx */
};

struct yanchor {
	const char	 *name;		/* arena; NULL: a free slot */
	struct ynode	 *node;
};

/*
 * Anchors of the current document by name.  A hash, not a list: a file
 * may hold hundreds of thousands of anchors and as many aliases, and a
 * scan per alias made parsing quadratic in the file size.
 */
struct yanchors {
	struct yanchor	 *slots;	/* malloc; open addressing */
	size_t		  nslots;	/* power of two, or 0 */
	size_t		  used;
};

/* Equal short scalars share one copy: keys repeat on every object. */
struct yintern_slot {
	const char	 *str;		/* arena; NULL: free */
	uint32_t	  len;
	uint32_t	  hash;		/* low bits of hash_fast_buf(): the
					   table grows without hashing again,
					   and most probes end without a
					   memcmp */
};

struct yintern {
	struct yintern_slot *slots;	/* malloc; open addressing */
	size_t		  nslots;	/* power of two */
	size_t		  used;
};

#define YINTERN_MAX_LEN	64

struct yparse {
	struct arena	 *a;
	const struct ydoc_filter *filter;	/* NULL: keep everything */
	unsigned	  skip_depth;	/* inside a dropped collection */
	const void	 *next_ctx;	/* context of the node being opened */
	struct yintern	  intern;
	const char	 *file;
	struct diag_list *diags;
	struct yframe	  stack[YDOC_MAX_DEPTH + 1];
	int		  depth;
	struct yanchors	  anchors;
	size_t		  nodes;
	size_t		  alias_nodes;
	uint32_t	  head_lines;	/* lines past these are shifted */
	uint32_t	  line_delta;
	struct ynode	**docs;		/* malloc while parsing */
	size_t		  ndocs;
	size_t		  capdocs;
};

static void
yerr(struct yparse *p, unsigned line, unsigned col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The file's 1-based line of a 0-based line of the text parsed. */
static unsigned
file_line(const struct yparse *p, size_t line0)
{
	if (line0 >= p->head_lines)
		line0 += p->line_delta;
	return (unsigned)line0 + 1;
}

static void
yerr(struct yparse *p, unsigned line, unsigned col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vadd(p->diags, DIAG_ERROR, DIAG_SYNTAX, p->file, line, col, NULL,
	    NULL, NULL, NULL, NULL, fmt, ap);
	va_end(ap);
}

static int
is_null_scalar(const yaml_event_t *ev)
{
	const char	*s = (const char *)ev->data.scalar.value;
	size_t		 len = ev->data.scalar.length;

	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	if (ev->data.scalar.tag != NULL &&
	    strcmp((const char *)ev->data.scalar.tag, YAML_NULL_TAG) == 0)
		return 1;
	return len == 0 || (len == 1 && s[0] == '~') ||
	    (len == 4 && (memcmp(s, "null", 4) == 0 ||
	    memcmp(s, "Null", 4) == 0 || memcmp(s, "NULL", 4) == 0));
}

static struct ynode *
node_new(struct yparse *p, enum ynode_kind kind, const yaml_mark_t *m)
{
	struct ynode *n;

	if (++p->nodes > YDOC_MAX_NODES) {
		yerr(p, file_line(p, m->line), (unsigned)m->column + 1,
		    "more than %s nodes in one file", "16777216");
		return NULL;
	}
	if ((n = arena_alloc(p->a, sizeof(*n))) == NULL) {
		yerr(p, file_line(p, m->line), (unsigned)m->column + 1,
		    "%s", "out of memory");
		return NULL;
	}
	/*
	 * One whole store: setting a bit-field alone reads its word first,
	 * which maps the zero page and faults again (with a TLB flush on
	 * every CPU) on the write.
	 */
	*n = (struct ynode){
		.line = file_line(p, m->line),
		.col = (unsigned)m->column + 1,
		.kind = kind,
	};
	return n;
}

static int
anchor_grow(struct yanchors *t)
{
	size_t		 nslots = t->nslots ? t->nslots * 2 : 64, i, j;
	struct yanchor	*slots = calloc(nslots, sizeof(*slots));

	if (slots == NULL)
		return -1;
	for (i = 0; i < t->nslots; i++) {
		if (t->slots[i].name == NULL)
			continue;
		j = fnv1a64_buf(FNV1A64_INIT, t->slots[i].name,
		    strlen(t->slots[i].name)) & (nslots - 1);
		while (slots[j].name != NULL)
			j = (j + 1) & (nslots - 1);
		slots[j] = t->slots[i];
	}
	free(t->slots);
	t->slots = slots;
	t->nslots = nslots;
	return 0;
}

/* The slot of name: its entry, or the free slot where it would go. */
static struct yanchor *
anchor_slot(const struct yanchors *t, const char *name)
{
	size_t j = fnv1a64_buf(FNV1A64_INIT, name, strlen(name)) &
	    (t->nslots - 1);

	while (t->slots[j].name != NULL && strcmp(t->slots[j].name, name) != 0)
		j = (j + 1) & (t->nslots - 1);
	return &t->slots[j];
}

static int
anchor_add(struct yparse *p, const unsigned char *name, struct ynode *n)
{
	struct yanchors	*t = &p->anchors;
	struct yanchor	*slot;

	if (name == NULL)
		return 0;
	if ((t->used + 1) * 2 > t->nslots && anchor_grow(t) == -1)
		return -1;
	slot = anchor_slot(t, (const char *)name);
	/* Later anchors of the same name shadow earlier ones (YAML 1.2). */
	if (slot->name == NULL) {
		if ((slot->name = arena_strdup(p->a, (const char *)name)) ==
		    NULL)
			return -1;
		t->used++;
	}
	slot->node = n;
	return 0;
}

static struct ynode *
anchor_find(struct yparse *p, const unsigned char *name)
{
	if (p->anchors.nslots == 0)
		return NULL;
	return anchor_slot(&p->anchors, (const char *)name)->node;
}

/* Anchors do not cross documents. */
static void
anchor_reset(struct yanchors *t)
{
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

static int
key_equal(const struct ynode *a, const struct ynode *b)
{
	if (a->kind != b->kind)
		return 0;
	if (a->kind == YN_NULL)
		return 1;
	if (a->kind != YN_SCALAR)
		return a == b;
	return a->len == b->len && memcmp(a->str, b->str, a->len) == 0;
}

/* Key order: kind, then bytes, then length (a prefix sorts first). */
static int
key_order(const struct ynode *a, enum ynode_kind bkind, const char *bstr,
    size_t blen)
{
	size_t	m;
	int	c;

	if (a->kind != bkind)
		return (int)a->kind - (int)bkind;
	if (a->kind != YN_SCALAR)
		return 0;
	m = a->len < blen ? a->len : blen;
	if ((c = memcmp(a->str, bstr, m)) != 0)
		return c;
	return a->len < blen ? -1 : a->len > blen;
}

struct ykeypos {
	const struct ynode	*key;
	uint32_t		 pos;
};

static int
keypos_cmp(const void *x, const void *y)
{
	const struct ykeypos *a = x, *b = y;
	int c;

	c = key_order(a->key, (enum ynode_kind)b->key->kind, b->key->str,
	    b->key->len);
	return c != 0 ? c : (a->pos > b->pos) - (a->pos < b->pos);
}

/*
 * Report duplicate keys and, for a large map, build its key index (see
 * ydoc.h): small maps are compared pairwise, large ones sorted.  The
 * index is written after the map's pairs, in the same arena block.
 */
static void
check_duplicates(struct yparse *p, struct ynode *map)
{
	struct ykeypos	*keys;
	uint32_t	*index;
	size_t		 i, j;

	if (map->n < 2)
		return;
	if (map->n <= YDOC_INDEX_MIN) {
		for (i = 1; i < map->n; i++)
			for (j = 0; j < i; j++)
				if (key_equal(map->items[2 * i],
				    map->items[2 * j])) {
					struct ynode *k = map->items[2 * i];

					yerr(p, k->line, k->col,
					    "duplicate key \"%s\"",
					    k->kind == YN_SCALAR ||
					    k->kind == YN_NULL ? k->str :
					    "null");
					break;
				}
		return;
	}
	if ((keys = malloc(map->n * sizeof(*keys))) == NULL) {
		yerr(p, map->line, map->col, "%s", "out of memory");
		return;
	}
	for (i = 0; i < map->n; i++) {
		keys[i].key = map->items[2 * i];
		keys[i].pos = (uint32_t)i;
	}
	/* Equal keys sort in file order: the later one is reported. */
	qsort(keys, map->n, sizeof(*keys), keypos_cmp);
	index = (uint32_t *)(map->items + 2 * map->n);
	for (i = 0; i < map->n; i++) {
		index[i] = keys[i].pos;
		if (i > 0 && keys[i].key->kind == YN_SCALAR &&
		    key_equal(keys[i].key, keys[i - 1].key))
			yerr(p, keys[i].key->line, keys[i].key->col,
			    "duplicate key \"%s\"", keys[i].key->str);
	}
	free(keys);
}

/* Attach a finished node to its parent, or make it a document root. */
static int
attach(struct yparse *p, struct ynode *n)
{
	struct yframe *f;

	if (p->depth == 0) {
		if (VEC_GROW(&p->docs, &p->capdocs, p->ndocs + 1, 8) == -1)
			return -1;
		p->docs[p->ndocs++] = n;
		return 0;
	}
	f = &p->stack[p->depth - 1];
	if (VEC_GROW(&f->items, &f->cap, f->n + 1, 8) == -1)
		return -1;
	f->items[f->n++] = n;
	return 0;
}

static int
open_collection(struct yparse *p, enum ynode_kind kind, const yaml_event_t *ev,
    const unsigned char *anchor)
{
	struct ynode *n;

	/* on_event() checked the depth: the stack has room. */
	if ((n = node_new(p, kind, &ev->start_mark)) == NULL)
		return -1;
	p->stack[p->depth].anchor = NULL;
	if (anchor != NULL && (p->stack[p->depth].anchor =
	    arena_strdup(p->a, (const char *)anchor)) == NULL)
		return -1;
	p->stack[p->depth].node = n;
	p->stack[p->depth].ctx = p->next_ctx;
	p->stack[p->depth].pending = PENDING_NONE;
	p->stack[p->depth].n = 0;	/* items: kept from the last use */
	p->depth++;
	return 0;
}

static int
close_collection(struct yparse *p)
{
	struct yframe	*f = &p->stack[--p->depth];
	struct ynode	*n = f->node;

	if (f->n > 0) {
		size_t slots = f->n;

		/* Room for a large map's key index: a uint32_t per pair. */
		if (n->kind == YN_MAP && f->n / 2 > YDOC_INDEX_MIN)
			slots += (f->n / 2 * sizeof(uint32_t) +
			    sizeof(*n->items) - 1) / sizeof(*n->items);
		n->items = arena_calloc(p->a, slots, sizeof(*n->items));
		if (n->items == NULL)
			return -1;
		memcpy(n->items, f->items, f->n * sizeof(*n->items));
	}
	n->n = (uint32_t)(n->kind == YN_MAP ? f->n / 2 : f->n);
	/* f->items stays for the next collection at this depth. */
	if (n->kind == YN_MAP)
		check_duplicates(p, n);
	/* Only now may an alias name it: no alias can make a cycle. */
	if (anchor_add(p, (const unsigned char *)f->anchor, n) == -1)
		return -1;
	return attach(p, n);
}

static int
intern_grow(struct yintern *t)
{
	size_t			 nslots = t->nslots ? t->nslots * 2 : 1024, i, j;
	struct yintern_slot	*slots = calloc(nslots, sizeof(*slots));

	if (slots == NULL)
		return -1;
	for (i = 0; i < t->nslots; i++) {
		if (t->slots[i].str == NULL)
			continue;
		for (j = t->slots[i].hash & (nslots - 1); slots[j].str != NULL;
		    j = (j + 1) & (nslots - 1))
			;
		slots[j] = t->slots[i];
	}
	free(t->slots);
	t->slots = slots;
	t->nslots = nslots;
	return 0;
}

/* The arena copy of s[0..len), shared with equal earlier scalars. */
static const char *
intern(struct yparse *p, const unsigned char *s, size_t len)
{
	struct yintern		*t = &p->intern;
	struct yintern_slot	*slot;
	uint32_t		 h;
	size_t			 j;
	char			*copy;

	if (len > YINTERN_MAX_LEN)
		return arena_strndup(p->a, (const char *)s, len);
	if ((t->used + 1) * 2 > t->nslots && intern_grow(t) == -1)
		return arena_strndup(p->a, (const char *)s, len);
	h = (uint32_t)hash_fast_buf(0, s, len);
	for (j = h & (t->nslots - 1); (slot = &t->slots[j])->str != NULL;
	    j = (j + 1) & (t->nslots - 1))
		if (slot->hash == h && slot->len == len &&
		    memcmp(slot->str, s, len) == 0)
			return slot->str;
	if ((copy = arena_strndup(p->a, (const char *)s, len)) == NULL)
		return NULL;
	slot->str = copy;
	slot->len = (uint32_t)len;
	slot->hash = h;
	t->used++;
	return copy;
}

/*
 * A plain or quoted scalar about to be a map's key, where the filter
 * looks: ask it now, while the key is still only the event, whether the
 * pair is kept.  A dropped pair's key then costs no node, no interned
 * string and no slot: kubectl's output drops a dozen keys per Pod
 * (image, resources, uid, ...).  Returns 1 when the key was dropped.
 * Keys with an anchor are made nodes as ever: an alias may name them.
 */
static int
key_drops(struct yparse *p, const yaml_event_t *ev, int null)
{
	struct yframe	*f;
	struct ynode	 key;
	const void	*ctx;

	if (p->filter == NULL || p->depth == 0 ||
	    ev->data.scalar.anchor != NULL)
		return 0;
	f = &p->stack[p->depth - 1];
	if (f->ctx == NULL || f->node->kind != YN_MAP || f->n % 2 != 0)
		return 0;
	key.kind = null ? YN_NULL : YN_SCALAR;
	key.str = (const char *)ev->data.scalar.value;
	key.len = (uint32_t)ev->data.scalar.length;
	key.plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	key.line = file_line(p, ev->start_mark.line);
	key.col = (unsigned)ev->start_mark.column + 1;
	ctx = p->filter->child(p->filter->arg, f->ctx, YN_MAP, f->items,
	    f->n / 2, &key);
	if (ctx == YDOC_SKIP) {
		f->pending = PENDING_DROP;
		return 1;
	}
	f->pending = PENDING_CTX;
	f->value_ctx = ctx;
	return 0;
}

static int
on_scalar(struct yparse *p, const yaml_event_t *ev)
{
	struct ynode	*n;
	int		 null = is_null_scalar(ev);

	if (key_drops(p, ev, null))
		return 0;
	n = node_new(p, null ? YN_NULL : YN_SCALAR, &ev->start_mark);
	if (n == NULL)
		return -1;
	n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	n->len = (uint32_t)ev->data.scalar.length;
	n->str = intern(p, ev->data.scalar.value, n->len);
	if (n->str == NULL)
		return -1;
	if (anchor_add(p, ev->data.scalar.anchor, n) == -1)
		return -1;
	return attach(p, n);
}

/*
 * The nodes a walk of n would visit, aliases expanded, counting no
 * further than cap.  Only aliases need it, so it is counted when one is
 * met rather than kept in every node: the walks stop once the file's
 * aliases expand past YDOC_MAX_ALIAS_NODES, which bounds their work.
 */
static size_t
node_weight(const struct ynode *n, size_t cap)
{
	size_t w = 1, i, m;

	if (n->kind != YN_MAP && n->kind != YN_SEQ)
		return 1;
	m = n->kind == YN_MAP ? 2 * (size_t)n->n : n->n;
	for (i = 0; i < m && w <= cap; i++)
		w += node_weight(n->items[i], cap - w + 1);
	return w;
}

static int
on_alias(struct yparse *p, const yaml_event_t *ev)
{
	struct ynode	*n = anchor_find(p, ev->data.alias.anchor);
	size_t		 w;

	if (n == NULL) {
		yerr(p, file_line(p, ev->start_mark.line),
		    (unsigned)ev->start_mark.column + 1,
		    "unknown anchor \"%s\"",
		    (const char *)ev->data.alias.anchor);
		return -1;
	}
	/* The tree shares the node; count what a walk would expand. */
	w = node_weight(n, YDOC_MAX_ALIAS_NODES - (p->alias_nodes <
	    YDOC_MAX_ALIAS_NODES ? p->alias_nodes : YDOC_MAX_ALIAS_NODES));
	p->alias_nodes += w;
	if (p->alias_nodes > YDOC_MAX_ALIAS_NODES) {
		yerr(p, file_line(p, ev->start_mark.line),
		    (unsigned)ev->start_mark.column + 1,
		    "aliases expand to more than %s nodes", "1048576");
		return -1;
	}
	return attach(p, n);
}

const char ydoc_skip_marker;

/*
 * Ask the filter about the node an event starts.  Returns 1 to drop it
 * (its pending key is taken back), else 0 with p->next_ctx set.
 */
static int
filter_drops(struct yparse *p)
{
	struct yframe	*f;
	const void	*ctx;

	p->next_ctx = NULL;
	if (p->filter == NULL)
		return 0;
	if (p->depth == 0) {
		p->next_ctx = p->filter->root;
		return 0;
	}
	f = &p->stack[p->depth - 1];
	if (f->ctx == NULL)
		return 0;
	if (f->node->kind == YN_MAP && f->pending != PENDING_NONE) {
		/* A value whose key key_drops() saw (n is even if dropped). */
		int drop = f->pending == PENDING_DROP;

		p->next_ctx = drop ? NULL : f->value_ctx;
		f->pending = PENDING_NONE;
		return drop;
	}
	if (f->node->kind == YN_MAP && f->n % 2 == 0)
		return 0;	/* a key: always kept */
	if (f->node->kind == YN_MAP)
		ctx = p->filter->child(p->filter->arg, f->ctx, YN_MAP,
		    f->items, f->n / 2, f->items[f->n - 1]);
	else
		ctx = p->filter->child(p->filter->arg, f->ctx, YN_SEQ, NULL,
		    0, NULL);
	if (ctx == YDOC_SKIP) {
		if (f->node->kind == YN_MAP)
			f->n--;
		return 1;
	}
	p->next_ctx = ctx;
	return 0;
}

static int
on_event(struct yparse *p, const yaml_event_t *ev)
{
	int starts = ev->type == YAML_SCALAR_EVENT ||
	    ev->type == YAML_ALIAS_EVENT ||
	    ev->type == YAML_SEQUENCE_START_EVENT ||
	    ev->type == YAML_MAPPING_START_EVENT;
	int opens = ev->type == YAML_SEQUENCE_START_EVENT ||
	    ev->type == YAML_MAPPING_START_EVENT;

	/*
	 * Depth counts dropped collections too: libyaml's scanner does work
	 * per open flow level for each token, so 40,000 levels of `[` in a
	 * field nobody reads took seconds, and a million never finished.
	 */
	if (opens && (unsigned)p->depth + p->skip_depth >= YDOC_MAX_DEPTH) {
		yerr(p, file_line(p, ev->start_mark.line),
		    (unsigned)ev->start_mark.column + 1,
		    "nesting deeper than %d levels", YDOC_MAX_DEPTH);
		return -1;
	}
	if (p->skip_depth > 0) {
		if (opens)
			p->skip_depth++;
		else if (ev->type == YAML_SEQUENCE_END_EVENT ||
		    ev->type == YAML_MAPPING_END_EVENT)
			p->skip_depth--;
		return 0;
	}
	if (starts && filter_drops(p)) {
		if (opens)
			p->skip_depth = 1;
		return 0;
	}
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		return on_scalar(p, ev);
	case YAML_ALIAS_EVENT:
		return on_alias(p, ev);
	case YAML_SEQUENCE_START_EVENT:
		return open_collection(p, YN_SEQ, ev,
		    ev->data.sequence_start.anchor);
	case YAML_MAPPING_START_EVENT:
		return open_collection(p, YN_MAP, ev,
		    ev->data.mapping_start.anchor);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		return close_collection(p);
	case YAML_DOCUMENT_START_EVENT:
		anchor_reset(&p->anchors);
		return 0;
	default:
		return 0;
	}
}

/*
 * The line and column of byte off of buf, counted as libyaml counts
 * marks: characters, not bytes, from 1; a line ends at LF, CR, CRLF,
 * NEL, LS or PS.  UTF-16 input (by its byte order mark, the only way
 * libyaml detects it) is counted in 16-bit units.
 */
static void
offset_mark(const unsigned char *b, size_t len, size_t off, unsigned *line,
    unsigned *col)
{
	size_t	 i = 0;
	int	 be;

	*line = *col = 1;
	if (off > len)
		off = len;
	if (len >= 2 && ((b[0] == 0xff && b[1] == 0xfe) ||
	    (b[0] == 0xfe && b[1] == 0xff))) {
		be = b[0] == 0xfe;
		for (i = 2; i < off && i + 1 < len; i += 2) {
			unsigned u = be ? (unsigned)b[i] << 8 | b[i + 1] :
			    (unsigned)b[i + 1] << 8 | b[i];

			if (u == '\n' || u == 0x85 || u == 0x2028 ||
			    u == 0x2029 || (u == '\r' && !(i + 3 < len &&
			    (be ? b[i + 2] == 0 && b[i + 3] == '\n' :
			    b[i + 2] == '\n' && b[i + 3] == 0)))) {
				(*line)++;
				*col = 1;
			} else if (u < 0xdc00 || u > 0xdfff)
				(*col)++;	/* not a low surrogate */
		}
		return;
	}
	if (len >= 3 && b[0] == 0xef && b[1] == 0xbb && b[2] == 0xbf)
		i = 3;		/* the UTF-8 byte order mark is no column */
	for (; i < off; i++) {
		if (b[i] == '\n' || (b[i] == '\r' && (i + 1 >= len ||
		    b[i + 1] != '\n')) || (b[i] == 0xc2 && i + 1 < off &&
		    b[i + 1] == 0x85) || (b[i] == 0xe2 && i + 2 < off &&
		    b[i + 1] == 0x80 && (b[i + 2] == 0xa8 ||
		    b[i + 2] == 0xa9))) {
			(*line)++;
			*col = 0;	/* the break's bytes are skipped below */
			i += b[i] == 0xc2 ? 1 : b[i] == 0xe2 ? 2 : 0;
		} else if ((b[i] & 0xc0) == 0x80)
			continue;	/* inside a multi-byte character */
		(*col)++;
	}
}

/*
 * Report libyaml's error.  The reader, which decodes UTF-8 and rejects
 * NUL and other control characters, leaves no mark, only the byte
 * offset: turn it into a line and column, of the character the bad
 * byte belongs to, so a stray byte is found at 42:14, not 1:1.
 */
static void
parse_error(struct yparse *p, const yaml_parser_t *parser, const char *buf,
    size_t len)
{
	const unsigned char	*b = (const unsigned char *)buf;
	const char		*problem = parser->problem ? parser->problem :
				    "parse error";
	const char		*context = parser->context;
	char			 value[32] = "";
	unsigned		 line, col;
	size_t			 off, start;

	if (parser->error != YAML_READER_ERROR) {
		yerr(p, file_line(p, parser->problem_mark.line),
		    (unsigned)parser->problem_mark.column + 1, "%s%s%s",
		    problem, context ? " " : "", context ? context : "");
		return;
	}
	off = start = parser->problem_offset;
	/* A bad trailing byte: point at the character it was to end. */
	if (strstr(problem, "trailing") != NULL && off <= len)
		while (off > 0 && start - off < 3 &&
		    (b[--off] & 0xc0) == 0x80)
			;
	offset_mark(b, len, off, &line, &col);
	line = file_line(p, line - 1);
	if (parser->problem_value >= 0 && strstr(problem, "octet") != NULL)
		snprintf(value, sizeof(value), " (byte 0x%02X)",
		    (unsigned)parser->problem_value);
	else if (parser->problem_value >= 0)
		snprintf(value, sizeof(value), " (U+%04X)",
		    (unsigned)parser->problem_value);
	yerr(p, line, col, "%s%s", problem, value);
}

static void
yparse_cleanup(struct yparse *p)
{
	size_t i;

	for (i = 0; i < sizeof(p->stack) / sizeof(p->stack[0]); i++)
		free(p->stack[i].items);
	anchor_reset(&p->anchors);
	free(p->docs);
	free(p->intern.slots);
}

int
ydoc_parse(struct arena *a, const char *file, const char *buf, size_t len,
    const struct ydoc_filter *filter, struct ydoc *doc,
    struct diag_list *diags)
{
	return ydoc_parse_piece(a, file, buf, len, filter, NULL, doc, diags);
}

int
ydoc_parse_piece(struct arena *a, const char *file, const char *buf,
    size_t len, const struct ydoc_filter *filter, struct ydoc_piece *pc,
    struct ydoc *doc, struct diag_list *diags)
{
	yaml_parser_t	 parser;
	yaml_event_t	 ev;
	struct yparse	 p;
	size_t		 nerr = diags->nerr;
	int		 done = 0, rc = 0;

	memset(doc, 0, sizeof(*doc));
	memset(&p, 0, sizeof(p));
	p.a = a;
	p.filter = filter;
	p.file = file;
	p.diags = diags;
	if (pc != NULL) {
		p.head_lines = pc->head_lines;
		p.line_delta = pc->line_delta;
		p.nodes = pc->nodes;
		p.alias_nodes = pc->alias_nodes;
	}
	doc->file = arena_strdup(a, file);
	if (len > YDOC_MAX_FILE) {
		diag_add(diags, DIAG_ERROR, DIAG_SYNTAX, file, 0, 0, NULL,
		    NULL, NULL, NULL, NULL,
		    "file is %zu bytes, over the limit of %u", len,
		    YDOC_MAX_FILE);
		return -1;
	}
	if (!yaml_parser_initialize(&parser))
		return -1;
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	while (!done) {
		if (!yaml_parser_parse(&parser, &ev)) {
			parse_error(&p, &parser, buf, len);
			rc = -1;
			break;
		}
		if (on_event(&p, &ev) == -1)
			rc = -1;
		done = ev.type == YAML_STREAM_END_EVENT || rc == -1;
		yaml_event_delete(&ev);
	}
	if (pc != NULL) {
		pc->nodes = p.nodes;
		pc->alias_nodes = p.alias_nodes;
		pc->lines = parser.mark.line;
	}
	yaml_parser_delete(&parser);
	if (rc == 0 && diags->nerr > nerr)
		rc = -1;	/* duplicate keys */
	if (rc == 0 && p.ndocs > 0) {
		doc->docs = arena_calloc(a, p.ndocs, sizeof(*doc->docs));
		if (doc->docs == NULL)
			rc = -1;
		else {
			memcpy(doc->docs, p.docs, p.ndocs * sizeof(*p.docs));
			doc->ndocs = p.ndocs;
		}
	}
	yparse_cleanup(&p);
	return rc;
}

/*
 * Index of the pair whose key is key, or -1.  A large map is searched
 * through its key index: validation looks up every label of a map that
 * may have a hundred thousand, and a scan each made that quadratic.
 */
static long
map_find(const struct ynode *map, const char *key)
{
	const uint32_t	*index;
	size_t		 i, lo, hi, klen;

	if (map == NULL || map->kind != YN_MAP)
		return -1;
	klen = strlen(key);
	if (map->n > YDOC_INDEX_MIN) {
		index = (const uint32_t *)(map->items + 2 * map->n);
		for (lo = 0, hi = map->n; lo < hi;) {
			size_t	mid = lo + (hi - lo) / 2;
			int	c = key_order(map->items[2 * index[mid]],
				    YN_SCALAR, key, klen);

			if (c == 0)
				return (long)index[mid];
			if (c < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		return -1;
	}
	for (i = 0; i < map->n; i++) {
		const struct ynode *k = map->items[2 * i];

		if (k->kind == YN_SCALAR && k->len == klen &&
		    memcmp(k->str, key, klen) == 0)
			return (long)i;
	}
	return -1;
}

const struct ynode *
ydoc_key(const struct ynode *map, const char *key)
{
	long i = map_find(map, key);

	return i < 0 ? NULL : map->items[2 * i];
}

const struct ynode *
ydoc_get(const struct ynode *map, const char *key)
{
	long i = map_find(map, key);

	return i < 0 ? NULL : map->items[2 * i + 1];
}

const char *
ydoc_type_name(const struct ynode *n)
{
	if (n == NULL)
		return "nothing";
	switch (n->kind) {
	case YN_NULL:	return "null";
	case YN_MAP:	return "map";
	case YN_SEQ:	return "list";
	case YN_SCALAR:	break;
	}
	return n->plain ? "scalar" : "string";
}
