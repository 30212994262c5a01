/*
 * libFuzzer: Forge Invocation Tokens through fit_parse, the time check
 * and fit_read (on unverified claims: the reader must hold up against
 * anything the parser lets through), and the signature check the
 * worker makes (fit_check_sig) against a public key whose private half
 * was thrown away: a fuzzer cannot forge RS256, so an accepted
 * signature is a bug.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cellar/fit.h"
#include "cellar/jwks.h"
#include "cellar/token.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* pem, parsed once (as a worker holds its keys). */
static struct jwks_key key;

static const char pem[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAv9MKpZHdbg/uM0HMdqSM\n"
    "K6QWH8w/imhUsczbNc+I58GsKok3fVbbQw4yM3Xl2Sas56d4FXNHkJGm3Zh08xHL\n"
    "UfbZZkL82LHM8xxTENBilJb0fViWrTmEqSBYX8sy8EDX1SRRpshw8W/qzm7VTxgE\n"
    "dQicT1Xc1FbkLTTKTpwl84eOPWuEmvJ9jTJMGw3lLaK0Ahy7+EFN0Z4r1+1DbjHg\n"
    "UiI8xdQIztOQI/azpaIRWX29NfAnGzxl0jqUupd5HtgACqCBy1tvgPE1qVltNpmt\n"
    "biwIUfU2jOwHDTcC609EgmBFwr9D+1JLuSNA2wCXBZRnTPY8W/3D2lpKOip0/k4S\n"
    "NQIDAQAB\n"
    "-----END PUBLIC KEY-----\n";

#define APP_ID	"ari:cloud:ecosystem::app/8db3f0b2-2b5b-4d8a-9c8f-0f1a2b3c4d5e"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct token_claims c;
	struct fit	 f;
	const char	*reason;
	char		*tok;

	if (key.pkey == NULL && jwks_key_from_pem("fuzz", pem,
	    sizeof(pem) - 1, &key, &reason) == -1)
		abort();
	if ((tok = malloc(size + 1)) == NULL)
		return 0;
	memcpy(tok, data, size);
	tok[size] = '\0';
	if (fit_parse(tok, &c, &reason) == 0) {
		if (c.kid == NULL || !jwks_kid_ok(c.kid) || c.jti == NULL ||
		    c.iss == NULL || c.qsh != NULL)
			abort();
		(void)token_check_time(&c, 1700175150, 10, 300, &reason);
		if (fit_read(&c, APP_ID, &f, &reason) == 0) {
			if (!fit_installation_ok(f.installation_id) ||
			    f.api_base_url == NULL || f.jti == NULL ||
			    strlen(f.project_id) > 19 ||
			    strlen(f.issue_id) > 19 ||
			    strspn(f.issue_id, "0123456789") !=
			    strlen(f.issue_id))
				abort();
		} else if (f.installation_id != NULL)
			abort();	/* out is zeroed on failure */
		if (fit_check_sig(tok, &key, &reason) == 0)
			abort();
		token_claims_free(&c);
	}
	free(tok);
	return 0;
}
