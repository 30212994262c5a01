/*
 * The app system tokens Forge sends with an invocation
 * (x-forge-oauth-system, when the endpoint asks for one): what cellar
 * calls Jira with for a Forge installation ("Authorization: Bearer",
 * against app.apiBaseUrl).  Kept in this worker's memory only, per
 * installation, until the token's own exp, so that a request that came
 * without one (or Forge's hourly trigger's, for later work) can still
 * call Jira.  Never on disk, never in a log.
 *
 * The exp is read from the token's payload without verifying it (it
 * is Atlassian's to verify; cellar only needs to know when to stop
 * using it): a token whose exp cannot be read, or has passed, is used
 * for its own request only and not kept.
 *
 * Memory: FORGETOKEN_SLOTS entries, each token in its own
 * sodium_malloc'd block (guarded, locked, wiped when freed); a full
 * table gives the least recently used entry's slot to a new
 * installation.  Entries are wiped on eviction and by forgetoken_clear
 * (worker exit).
 */
#ifndef CELLAR_FCGI_FORGETOKEN_H
#define CELLAR_FCGI_FORGETOKEN_H

#include <stddef.h>

/* Installations whose token a worker keeps at once. */
#define FORGETOKEN_SLOTS	64
/* Longest token kept, bytes (real ones are 1.5 to 3 KiB). */
#define FORGETOKEN_MAX		12288

/*
 * Keeps token (NUL-terminated) for installation_id until the exp in its
 * payload, replacing what was kept for it.  now is the wall clock.
 * Returns 1 kept, 0 not (no readable exp, expired, too long, no memory:
 * use it for this request only).
 */
int		 forgetoken_keep(const char *installation_id, const char *token,
		    long long now);

/*
 * The token kept for installation_id that is still good at now (at
 * least FORGETOKEN_MARGIN seconds before its exp), or NULL.  Valid until
 * the next forgetoken_keep or forgetoken_clear.
 */
#define FORGETOKEN_MARGIN	10
const char	*forgetoken_get(const char *installation_id, long long now);

/*
 * The exp of a token's payload (unverified), or -1 when there is none
 * to read.  For the tests and forgetoken_keep.
 */
long long	 forgetoken_exp(const char *token);

/* Wipes and frees every kept token. */
void		 forgetoken_clear(void);

#endif
