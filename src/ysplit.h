/*
 * ysplit: where one large YAML file can be cut into pieces that parse on
 * their own to exactly what the whole file parses to, so that the pieces
 * can be parsed on several threads (load.c).  Pure: text in, offsets out.
 *
 * Two forms are cut:
 *
 *  - YSPLIT_DOCS: documents separated by `---` lines.  A piece starts at
 *    a line that is `---` at column 0 followed by a blank or the end of
 *    the line; to libyaml such a line always starts a document (inside a
 *    quoted scalar or a flow collection it is an error, and the piece
 *    before it then fails to parse: the caller parses serially from
 *    there).  Block scalars cannot hold a column-0 line.
 *
 *  - YSPLIT_LIST: one `kind: List` document as `kubectl get -A -o yaml`
 *    prints it: a head that ends with the root key line `items:`, the
 *    items as a block sequence at column 0, and a tail (`kind: List`,
 *    `metadata:`) after the last item.  Each piece is a run of whole
 *    items, parsed after a copy of the head, so that it nests exactly as
 *    it does in the file; the last piece (the last item and the tail)
 *    holds the root's other keys.
 *
 * Anything that could make a piece mean something else alone is refused
 * (ysplit_scan() says so and the caller parses the file serially): a
 * UTF-16 or UTF-32 byte order mark, a directive (`%` at column 0), a
 * line break other than LF and CRLF (libyaml counts CR, NEL, LS and PS
 * as line ends too, and the pieces' line numbers are counted here), and
 * in a List an alias (`*`) or anchor in the head, an alias anywhere
 * after it (an anchor in one item may be named in the next), or any
 * column-0 line between the items but `- `, a comment or a blank line.
 * Refusing costs only time: what is left is parsed serially.
 */
#ifndef SVCPROXY_YSPLIT_H
#define SVCPROXY_YSPLIT_H

#include <stddef.h>

#define YSPLIT_MAX_PIECES	256

enum ysplit_form {
	YSPLIT_NONE,		/* one piece: parse the file whole */
	YSPLIT_DOCS,
	YSPLIT_LIST,
};

struct ysplit_piece {
	size_t		 off;		/* in the file */
	size_t		 len;
	size_t		 line;		/* 0-based line of off (ysplit_lines) */
	size_t		 nlines;	/* LFs in the piece (ysplit_scan) */
};

struct ysplit {
	enum ysplit_form	 form;
	size_t			 head_len;	/* LIST: bytes [0, head_len)
						   go before every piece */
	size_t			 head_lines;	/* LFs in the head */
	struct ysplit_piece	*pieces;	/* malloc, owned; in file
						   order, they cover [head_len,
						   len) */
	size_t			 npieces;
};

/*
 * Find the pieces of buf (len bytes), each about piece_size bytes, at
 * most max_pieces (<= YSPLIT_MAX_PIECES).  Cheap: looks at the text only
 * near each cut.  Returns the form; YSPLIT_NONE (no pieces) when the
 * file is not one of the two forms, is too small for two pieces, or -1
 * on allocation failure.  The pieces are not known safe until every one
 * has passed ysplit_scan().
 */
int	 ysplit_find(const char *buf, size_t len, size_t piece_size,
	    size_t max_pieces, struct ysplit *);

/*
 * Check piece i (any thread; pieces are independent) and count its
 * lines into pieces[i].nlines.  Returns 0, or -1 when the file must not
 * be cut (see above).  For the head of a List, call with i == SIZE_MAX.
 */
int	 ysplit_scan(const struct ysplit *, size_t i, const char *buf,
	    size_t len);

/* After every ysplit_scan(): each piece's first line. */
void	 ysplit_lines(struct ysplit *);

void	 ysplit_free(struct ysplit *);

#endif
