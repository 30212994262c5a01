/*
 * libFuzzer: key sets through jwks_parse (every kept key must have a
 * safe kid, be found by it, and be a NUL-ended PEM public key; a
 * refused set must be empty), and the same bytes as a Cache-Control
 * value through jwks_max_age, whose answer stays within its bounds.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cellar/jwks.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define PEM_HEAD	"-----BEGIN PUBLIC KEY-----\n"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jwks	 set;
	const char	*reason;
	char		*s;
	size_t		 i;
	long long	 age;

	if (jwks_parse((const char *)data, size, &set, &reason) == 0) {
		if (set.n == 0 || set.n > JWKS_MAX_KEYS)
			abort();
		for (i = 0; i < set.n; i++) {
			if (!jwks_kid_ok(set.keys[i].kid) ||
			    jwks_find(&set, set.keys[i].kid) != &set.keys[i] ||
			    set.keys[i].pem == NULL ||
			    strlen(set.keys[i].pem) != set.keys[i].pem_len ||
			    strncmp(set.keys[i].pem, PEM_HEAD,
			    strlen(PEM_HEAD)) != 0)
				abort();
		}
	} else if (set.n != 0)
		abort();
	jwks_free(&set);

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	age = jwks_max_age(s, 300, 86400, 3600);
	if (age < 300 || age > 86400)
		abort();
	(void)jwks_kid_ok(s);
	free(s);
	return 0;
}
