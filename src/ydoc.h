/*
 * ydoc: YAML text to a tree of nodes that remember where they were.
 *
 * libyaml's event parser feeds a node tree in an arena.  Limits keep
 * hostile input bounded: file size, nesting depth, total nodes, and the
 * nodes that aliases would expand to (a "billion laughs" document is an
 * error, not an out-of-memory).  Duplicate mapping keys are errors, as
 * in sigs.k8s.io/yaml's strict mode.  Parsing time is close to linear
 * in the input: the depth limit counts dropped subtrees too, anchors
 * are hashed, and a large map's keys are indexed for ydoc_get().
 */
#ifndef SVCPROXY_YDOC_H
#define SVCPROXY_YDOC_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "diag.h"

#define YDOC_MAX_FILE		(256u * 1024 * 1024)	/* bytes per file */
#define YDOC_MAX_DEPTH		64
#define YDOC_MAX_NODES		(16u * 1024 * 1024)	/* per file */
#define YDOC_MAX_ALIAS_NODES	(1u * 1024 * 1024)	/* expanded */
#define YDOC_INDEX_MIN		16	/* larger maps get a key index */

enum ynode_kind {
	YN_NULL,	/* ~, null, empty plain scalar */
	YN_SCALAR,
	YN_MAP,
	YN_SEQ,
};

/*
 * 24 bytes: a large config has millions of these (3.6 million for
 * 50,000 Pods), kept as long as the objects decoded from them.  A
 * scalar's text and a collection's items share a word, as do their
 * lengths: read str and len only of a YN_SCALAR or YN_NULL node, items
 * and n only of a YN_MAP or YN_SEQ.  A column fits in 29 bits: no line
 * is longer than YDOC_MAX_FILE.
 */
struct ynode {
	union {
		const char	 *str;		/* scalar text; arena (interned:
						   shared by equal scalars);
						   NUL-terminated */
		struct ynode	**items;	/* arena; seq: n items; map:
						   keys at 2i, values at 2i+1,
						   n pairs; a map of over
						   YDOC_INDEX_MIN pairs has,
						   after them, n uint32_t pair
						   numbers in key order */
	};
	union {
		uint32_t	  len;		/* scalar length (may hold
						   NULs) */
		uint32_t	  n;
	};
	uint32_t	  line;		/* 1-based */
	uint32_t	  col:29;	/* 1-based */
	uint32_t	  kind:2;	/* enum ynode_kind */
	uint32_t	  plain:1;	/* scalar was unquoted (1 vs "1") */
};

struct ydoc {
	const char	 *file;		/* arena */
	struct ynode	**docs;		/* arena; each document's root */
	size_t		  ndocs;
};

/*
 * A filter drops, while parsing, what no reader will look at: a Pod's
 * image, resources and managedFields cost nodes and memory for
 * nothing.  Each collection carries a context; for every node about to
 * be read, child() gets its parent's context (never NULL: a NULL
 * context keeps its whole subtree without asking), the parent's kind,
 * the parent map's pairs read so far (keys at 2i; for looking at
 * `kind`), and the node's key (NULL in a sequence).  It returns the
 * node's context, NULL to keep the subtree whole, or YDOC_SKIP to drop
 * the node and its key.  A map's scalar key without an anchor is asked
 * about before it is made a node, so that a dropped pair costs nothing:
 * key then points at a node on the parser's stack, valid during the
 * call only, and a dropped key is not counted in YDOC_MAX_NODES.
 * Dropped subtrees are not checked for duplicate keys and their anchors
 * cannot be referenced, but their nesting counts toward YDOC_MAX_DEPTH.
 */
extern const char ydoc_skip_marker;
#define YDOC_SKIP	((const void *)&ydoc_skip_marker)

struct ydoc_filter {
	const void	*(*child)(void *arg, const void *parent,
			    enum ynode_kind pkind, struct ynode *const *pairs,
			    size_t npairs, const struct ynode *key);
	void		 *arg;
	const void	 *root;		/* each document root's context */
};

/*
 * Parse buf (len bytes) named file into doc, allocating from a, keeping
 * what filter keeps (NULL: everything).  Returns 0, or -1 with errors in
 * diags (a syntax error stops the file).
 */
int	 ydoc_parse(struct arena *a, const char *file, const char *buf,
	    size_t len, const struct ydoc_filter *filter, struct ydoc *doc,
	    struct diag_list *diags);

/*
 * One piece of a file parsed on its own (ysplit.h): the text is a head
 * (the file's first head_lines lines, or nothing) followed by a piece of
 * the file that starts at line (head_lines + line_delta); lines past the
 * head are reported shifted by line_delta, so that every mark is the
 * file's.  nodes and alias_nodes start at what the file's earlier
 * pieces counted (the per-file limits) and are updated; lines is set to
 * the lines libyaml counted in the text.
 */
struct ydoc_piece {
	uint32_t	 head_lines;
	uint32_t	 line_delta;
	size_t		 nodes;		/* in/out */
	size_t		 alias_nodes;	/* in/out */
	size_t		 lines;		/* out */
};

/* ydoc_parse() of a piece; pc NULL: the whole file (ydoc_parse). */
int	 ydoc_parse_piece(struct arena *a, const char *file, const char *buf,
	    size_t len, const struct ydoc_filter *filter,
	    struct ydoc_piece *pc, struct ydoc *doc, struct diag_list *diags);

/* Mapping lookup by key; NULL when n is not a map or has no such key. */
const struct ynode *ydoc_get(const struct ynode *map, const char *key);
/* Mapping key node (for its mark); NULL when absent. */
const struct ynode *ydoc_key(const struct ynode *map, const char *key);
/* Human name of a node's type: "string", "integer", "map", ... */
const char *ydoc_type_name(const struct ynode *);

#endif
