/* libFuzzer: canonical requests from any path and query. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cellar/qsh.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*buf, *q, *c;

	if ((buf = malloc(size + 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	q = strchr(buf, '?');
	if (q != NULL)
		*q++ = '\0';
	if ((c = qsh_canonical("GET", buf, q)) != NULL) {
		if (strncmp(c, "GET&/", 5) != 0)
			abort();
		free(c);
	}
	free(buf);
	return 0;
}
