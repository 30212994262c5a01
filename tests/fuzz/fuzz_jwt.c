/* libFuzzer: token parsing and the time checks on whatever parses; the
 * signature check with a fixed key must never accept a fuzzed token. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cellar/token.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char key[] = "fuzz-secret-fuzz-secret-fuzz-se";
	struct token_claims c;
	const char	*reason;
	char		*tok;

	if ((tok = malloc(size + 1)) == NULL)
		return 0;
	memcpy(tok, data, size);
	tok[size] = '\0';
	if (token_parse(tok, TOKEN_HS256, &c, &reason) == 0) {
		(void)token_check_time(&c, 1000, 30, 3600, &reason);
		if (token_check_sig(tok, TOKEN_HS256, key, sizeof(key) - 1,
		    &reason) == 0)
			abort();	/* a fuzzer cannot forge HMAC-SHA256 */
		token_claims_free(&c);
	}
	free(tok);
	return 0;
}
