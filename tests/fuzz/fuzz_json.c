/* libFuzzer: the strict JSON parser and its getters never crash, leak or
 * accept what they promise to refuse. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cellar/json.h"
#include "cellar/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON		*v = NULL;
	const char	*s;
	long long	 n;
	int		 b;
	size_t		 len;
	char		*out;

	if (json_parse((const char *)data, size, &v) != JSON_OK) {
		if (v != NULL)
			abort();	/* no tree on failure */
		return 0;
	}
	/* What we accepted is valid UTF-8 without NUL bytes. */
	if (memchr(data, 0, size) != NULL ||
	    !util_utf8_valid((const char *)data, size))
		abort();
	(void)json_get_str(v, "a", 0, 100, &s);
	(void)json_get_int(v, "a", -5, 5, &n);
	(void)json_get_bool(v, "a", &b);
	if ((out = json_print(v, &len)) != NULL)
		free(out);
	cJSON_Delete(v);
	return 0;
}
