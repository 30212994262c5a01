/*
 * App system tokens of Forge installations; see forgetoken.h.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cellar/fit.h"
#include "cellar/json.h"
#include "forgetoken.h"

/* The largest exp read: 2^40 seconds, as token.c. */
#define EXP_MAX		(1LL << 40)

static struct forge_slot {
	char		 installation[FIT_INSTALLATION_MAX + 1];
	char		*token;		/* sodium_malloc'd, NUL-ended */
	size_t		 size;		/* bytes allocated */
	long long	 exp;
	unsigned long	 used;
} slots[FORGETOKEN_SLOTS];
static unsigned long slot_clock;

long long
forgetoken_exp(const char *token)
{
	const char	*p, *q;
	unsigned char	*bin = NULL;
	size_t		 len, binlen;
	cJSON		*v = NULL;
	long long	 exp = -1;

	if ((p = strchr(token, '.')) == NULL ||
	    (q = strchr(p + 1, '.')) == NULL)
		return -1;
	p++;
	len = (size_t)(q - p);
	if (len == 0 || len > FORGETOKEN_MAX || (bin = malloc(len)) == NULL)
		return -1;
	/* The payload may name the installation and user: wiped after. */
	if (sodium_base642bin(bin, len, p, len, NULL, &binlen, NULL,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    json_parse((const char *)bin, binlen, &v) != JSON_OK ||
	    json_get_int(v, "exp", 1, EXP_MAX, &exp) != JSON_OK)
		exp = -1;
	cJSON_Delete(v);
	sodium_memzero(bin, len);
	free(bin);
	return exp;
}

static void
slot_wipe(struct forge_slot *s)
{
	if (s->token != NULL)
		sodium_free(s->token);	/* wipes it */
	memset(s, 0, sizeof(*s));
}

int
forgetoken_keep(const char *installation_id, const char *token, long long now)
{
	struct forge_slot *s, *pick = NULL;
	long long	 exp;
	size_t		 i, len;

	len = strnlen(token, FORGETOKEN_MAX + 1);
	if (len == 0 || len > FORGETOKEN_MAX ||
	    strlen(installation_id) > FIT_INSTALLATION_MAX ||
	    (exp = forgetoken_exp(token)) <= now + FORGETOKEN_MARGIN)
		return 0;
	for (i = 0; i < FORGETOKEN_SLOTS; i++) {
		s = &slots[i];
		if (s->token != NULL &&
		    strcmp(s->installation, installation_id) == 0) {
			pick = s;
			break;
		}
		if (pick == NULL || s->token == NULL ||
		    (pick->token != NULL && s->used < pick->used))
			pick = s;
	}
	s = pick;
	/* The same token again: nothing to copy. */
	if (s->token != NULL && s->size == len + 1 &&
	    strcmp(s->installation, installation_id) == 0 &&
	    sodium_memcmp(s->token, token, len + 1) == 0) {
		s->used = ++slot_clock;
		return 1;
	}
	slot_wipe(s);
	if ((s->token = sodium_malloc(len + 1)) == NULL)
		return 0;
	memcpy(s->token, token, len + 1);
	s->size = len + 1;
	memcpy(s->installation, installation_id, strlen(installation_id) + 1);
	s->exp = exp;
	s->used = ++slot_clock;
	return 1;
}

const char *
forgetoken_get(const char *installation_id, long long now)
{
	struct forge_slot *s;
	size_t		 i;

	for (i = 0; i < FORGETOKEN_SLOTS; i++) {
		s = &slots[i];
		if (s->token == NULL ||
		    strcmp(s->installation, installation_id) != 0)
			continue;
		if (s->exp <= now + FORGETOKEN_MARGIN) {
			slot_wipe(s);
			return NULL;
		}
		s->used = ++slot_clock;
		return s->token;
	}
	return NULL;
}

void
forgetoken_clear(void)
{
	size_t	 i;

	for (i = 0; i < FORGETOKEN_SLOTS; i++)
		slot_wipe(&slots[i]);
}
