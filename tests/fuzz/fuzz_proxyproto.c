/*
 * libFuzzer target: pp_parse on any bytes, with the accept side's bound
 * and a tight one.  Each result must be -1, 0, or a length within the
 * bytes given and the bound; a header read whole, built again, must
 * parse whole.
 * Built with ./configure --enable-fuzzing CC=clang.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxyproto.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pp_hdr	 h, h2;
	uint8_t		 buf[PP_HDR_MAX];
	size_t		 maxes[] = { PP_ACCEPT_MAX, 16 }, i, n;
	ssize_t		 r;

	for (i = 0; i < sizeof(maxes) / sizeof(maxes[0]); i++) {
		r = pp_parse(data, size, maxes[i], &h);
		if (r < -1 || r > (ssize_t)size || (r > 0 &&
		    (size_t)r > (maxes[i] > PP_V1_MAX ? maxes[i] : PP_V1_MAX)))
			abort();
		if (r <= 0 || h.local)
			continue;
		/* What was read is what the builder writes back. */
		n = pp_build(h.version == 1 ? PP_V1 : PP_V2, h.dgram,
		    &h.src.sa, &h.dst.sa, buf, sizeof(buf));
		if (n == 0 || pp_parse(buf, n, sizeof(buf), &h2) != (ssize_t)n ||
		    h2.local)
			abort();
	}
	return 0;
}
