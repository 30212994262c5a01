/*
 * Install keys; see installkey.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cellar/buf.h"
#include "cellar/clock.h"
#include "cellar/log.h"
#include "cellar/outbound.h"
#include "cellar/util.h"
#include "installkey.h"

#define PEM_MAX		INSTALLKEY_PEM_MAX

int
installkey_kid_ok(const char *kid)
{
	size_t	 n = 0;

	if (kid == NULL || kid[0] == '.')
		return 0;
	for (; *kid != '\0'; kid++, n++)
		if (!((*kid >= 'A' && *kid <= 'Z') ||
		    (*kid >= 'a' && *kid <= 'z') ||
		    (*kid >= '0' && *kid <= '9') || *kid == '.' ||
		    *kid == '_' || *kid == '-'))
			return 0;
	return n >= 1 && n <= 128;
}

/* 1 if buf looks like one PEM public key and nothing else. */
static int
pem_ok(const char *buf, size_t len)
{
	static const char begin[] = "-----BEGIN PUBLIC KEY-----";

	return len > sizeof(begin) && len < PEM_MAX &&
	    strncmp(buf, begin, sizeof(begin) - 1) == 0 &&
	    memchr(buf, '\0', len) == NULL &&
	    strstr(buf, "-----END PUBLIC KEY-----") != NULL;
}

char *
installkey_pem_read(const char *dir, const char *kid, size_t *len)
{
	char		 name[160], *path, *buf = NULL;
	struct stat	 st;
	ssize_t		 n = 0;
	size_t		 got;
	int		 fd;

	snprintf(name, sizeof(name), "%s.pem", kid);
	if ((path = util_path_join(dir, name)) == NULL)
		return NULL;
	/* O_NONBLOCK: a FIFO put there must not hang the worker. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	free(path);
	if (fd == -1)
		return NULL;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size <= 0 || st.st_size > PEM_MAX ||
	    (buf = malloc(PEM_MAX + 1)) == NULL) {
		close(fd);
		return NULL;
	}
	for (got = 0; got < (size_t)st.st_size; got += (size_t)n)
		if ((n = read(fd, buf + got, (size_t)st.st_size - got)) <= 0)
			break;
	close(fd);
	buf[got] = '\0';
	*len = got;
	if (got != (size_t)st.st_size || !pem_ok(buf, *len)) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* Fetches url/KID with a short timeout; only a 200 with a PEM counts. */
static char *
pem_fetch(const struct conf *cfg, const char *kid, size_t *len,
    const char **reason)
{
	struct buf	 b = BUF_INIT(PEM_MAX), url = BUF_INIT(0);
	struct outbound	 o;
	char		*pem = NULL;
	long		 code;
	int		 curl_code;

	buf_addf(&url, "%s/%s", conf_str(cfg, C_AUTH_INSTALL_KEYS_URL), kid);
	if (url.failed) {
		*reason = "no_memory";
		goto out;
	}
	memset(&o, 0, sizeof(o));
	o.url = url.p;
	o.method = METHOD_GET;
	o.protocols = "https,http";
	o.connect_ms = o.total_ms =
	    (long)conf_int(cfg, C_AUTH_FETCH_TIMEOUT_MS);
	if (outbound_call(&o, &code, &b, &curl_code) == -1) {
		*reason = "install_key_fetch_failed";
		goto out;
	}
	if (code != 200) {
		*reason = "install_key_not_found";
		goto out;
	}
	if (b.p == NULL || !pem_ok(b.p, b.len)) {
		*reason = "install_key_invalid";
		goto out;
	}
	pem = buf_finish(&b, len);
out:
	buf_free(&b);
	buf_free(&url);
	return pem;
}

/*
 * Fetching a key costs a worker up to fetch_timeout_ms, and anyone can
 * ask for one with a made-up kid before any signature is checked.  So:
 *
 * - each kid is fetched at most once per [auth] fetch_interval, and a kid
 *   the key service did not know is not asked for again for
 *   unknown_kid_seconds;
 * - a client whose kids turned out unknown more than unknown_kid_budget
 *   times within unknown_kid_seconds gets no further fetches until that
 *   time has passed.  A client is an IPv4 address or an IPv6 /48 (one
 *   site's allocation: an attacker with a /48 or a /56 cycles through
 *   addresses for free, not through /48s);
 * - a key the service gave is kept in memory (KIDS kids) whether or not
 *   the token it came with verified: a request with a real kid and a
 *   bad signature costs one fetch, not the kid's fetch_interval for the
 *   genuine install behind it.  (It goes to install_key_dir only once it
 *   verified a token.)
 *
 * Strike records are kept for ADDRS clients; a full table gives the
 * least recently seen client's slot to a new one, live strikes or not.
 * There is no cap across clients: any cap that a sender without a valid
 * signature can fill (a table of refused clients, a count of all
 * fetches) lets that sender stop a genuine new key from being fetched,
 * which is worse than the fetches it saves; an attacker's unknown kids
 * cost it an address (an IPv4 address, an IPv6 /48) per budget + 1 of
 * them per unknown_kid_seconds.  All times are monotonic seconds.
 */
#define KIDS		64
#define ADDRS		1024
#define ADDR_MAX	64

static struct kid_entry {
	char		 kid[129];
	long long	 fetched;	/* last fetch; 0: never */
	long long	 unknown_until;	/* 0: not known to be unknown */
	long long	 used;
	char		*pem;		/* what the key service gave, or NULL */
	size_t		 len;
} kids[KIDS];

static struct addr_entry {
	char		 addr[ADDR_MAX];
	int		 strikes;	/* unknown kids since since */
	long long	 since;
	long long	 used;
} addrs[ADDRS];

/* Sets out to the entry of tab whose field is key, else the oldest. */
#define TABLE_FIND(tab, n, field, key, out) do {			\
	size_t	 i_;							\
	(out) = &(tab)[0];						\
	for (i_ = 0; i_ < (n); i_++) {					\
		if (strcmp((tab)[i_].field, (key)) == 0) {		\
			(out) = &(tab)[i_];				\
			break;						\
		}							\
		if ((tab)[i_].used < (out)->used)			\
			(out) = &(tab)[i_];				\
	}								\
} while (0)

static struct kid_entry *
kid_entry(const char *kid)
{
	struct kid_entry *e;

	TABLE_FIND(kids, KIDS, kid, kid, e);
	if (strcmp(e->kid, kid) != 0) {
		free(e->pem);
		memset(e, 0, sizeof(*e));
		snprintf(e->kid, sizeof(e->kid), "%s", kid);
	}
	e->used = clock_mono_usec();
	return e;
}

/*
 * The client an address counts as: an IPv4 address as it is, an IPv6
 * address as its /48 ("2001:db8:1::/48"), an IPv4-mapped one as IPv4.
 * Anything else (no address, a unix socket) as it is.
 */
void
installkey_client(const char *addr, char *out, size_t outsz)
{
	unsigned char	 a6[16];
	char		 txt[INET6_ADDRSTRLEN];

	if (strchr(addr, ':') == NULL || inet_pton(AF_INET6, addr, a6) != 1) {
		snprintf(out, outsz, "%s", addr);
		return;
	}
	if (memcmp(a6, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0) {
		inet_ntop(AF_INET, a6 + 12, txt, sizeof(txt));
		snprintf(out, outsz, "%s", txt);
		return;
	}
	memset(a6 + 6, 0, sizeof(a6) - 6);
	inet_ntop(AF_INET6, a6, txt, sizeof(txt));
	snprintf(out, outsz, "%s/48", txt);
}

/*
 * The strike record of client addr: its own, else a slot with nothing
 * live (never used, window over, no strikes), else the least recently
 * seen client's.
 */
static struct addr_entry *
addr_entry(const char *addr, long long now, long long window)
{
	struct addr_entry *e = NULL, *old = &addrs[0];
	char		 client[ADDR_MAX];
	size_t		 i;

	installkey_client(addr, client, sizeof(client));
	for (i = 0; i < ADDRS; i++) {
		if (strcmp(addrs[i].addr, client) == 0) {
			e = &addrs[i];
			break;
		}
		if ((addrs[i].strikes == 0 || now - addrs[i].since >= window) &&
		    (e == NULL || addrs[i].used < e->used))
			e = &addrs[i];
		if (addrs[i].used < old->used)
			old = &addrs[i];
	}
	if (e == NULL)
		e = old;
	if (strcmp(e->addr, client) != 0 || now - e->since >= window) {
		memset(e, 0, sizeof(*e));
		snprintf(e->addr, sizeof(e->addr), "%s", client);
		e->since = now;
	}
	e->used = clock_mono_usec();
	return e;
}

static int
fetch_allowed(const struct conf *cfg, const char *kid, const char *addr,
    const char **reason)
{
	long long	 now = clock_mono();
	struct kid_entry *k = kid_entry(kid);
	struct addr_entry *a;

	if (k->unknown_until > now) {
		*reason = "install_key_unknown_recently";
		return 0;
	}
	a = addr_entry(addr, now, conf_int(cfg, C_AUTH_UNKNOWN_KID_SECONDS));
	if (a->strikes > conf_int(cfg, C_AUTH_UNKNOWN_KID_BUDGET)) {
		*reason = "install_key_fetch_throttled";
		return 0;
	}
	if (k->fetched != 0 &&
	    now - k->fetched < conf_int(cfg, C_AUTH_FETCH_INTERVAL)) {
		*reason = "install_key_fetch_throttled";
		return 0;
	}
	k->fetched = now;
	return 1;
}

/* The key service did not know kid: remember it, and who asked. */
static void
fetch_unknown(const struct conf *cfg, const char *kid, const char *addr)
{
	long long	 now = clock_mono();
	long long	 window = conf_int(cfg, C_AUTH_UNKNOWN_KID_SECONDS);
	struct addr_entry *a;

	kid_entry(kid)->unknown_until = now + window;
	a = addr_entry(addr, now, window);
	a->strikes++;
}

/* Caches a verified key as dir/KID.pem: temp file, fsync, rename. */
static void
pem_cache(const char *dir, const char *kid, const char *pem, size_t len,
    const char *rid)
{
	char	 name[160], tmpname[200], *path = NULL, *tmp = NULL;
	int	 fd = -1;

	snprintf(name, sizeof(name), "%s.pem", kid);
	snprintf(tmpname, sizeof(tmpname), ".%s.%ld.tmp", kid, (long)getpid());
	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		goto fail;
	if ((path = util_path_join(dir, name)) == NULL ||
	    (tmp = util_path_join(dir, tmpname)) == NULL)
		goto fail;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) == -1)
		goto fail;
	if (write(fd, pem, len) != (ssize_t)len || fsync(fd) == -1 ||
	    close(fd) == -1) {
		fd = -1;
		unlink(tmp);
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) == -1) {
		unlink(tmp);
		goto fail;
	}
	free(path);
	free(tmp);
	return;
fail:
	if (fd != -1)
		close(fd);
	log_msg(LOGL_WARN, rid, "reason=install_key_cache_failed");
	free(path);
	free(tmp);
}

char *
installkey_get(const struct conf *cfg, const char *kid, const char *addr,
    size_t *len, int *fetched, const char **reason)
{
	struct kid_entry *k;
	char	*pem;

	*fetched = 0;
	if ((pem = installkey_pem_read(conf_str(cfg, C_AUTH_INSTALL_KEY_DIR),
	    kid, len)) != NULL)
		return pem;
	/* Fetched before (by a request that may not have verified). */
	k = kid_entry(kid);
	if (k->pem != NULL) {
		if ((pem = malloc(k->len + 1)) == NULL) {
			*reason = "install_key_fetch_failed";
			return NULL;
		}
		memcpy(pem, k->pem, k->len + 1);
		*len = k->len;
		*fetched = 1;
		return pem;
	}
	if (!fetch_allowed(cfg, kid, addr != NULL ? addr : "-", reason))
		return NULL;
	if ((pem = pem_fetch(cfg, kid, len, reason)) == NULL) {
		/* A key service that could not be reached knows nothing. */
		if (strcmp(*reason, "install_key_fetch_failed") != 0)
			fetch_unknown(cfg, kid, addr != NULL ? addr : "-");
		return NULL;
	}
	k = kid_entry(kid);
	free(k->pem);
	if ((k->pem = malloc(*len + 1)) != NULL) {
		memcpy(k->pem, pem, *len + 1);
		k->len = *len;
	}
	*fetched = 1;
	return pem;
}

void
installkey_keep(const struct conf *cfg, const char *kid, const char *pem,
    size_t len, const char *rid)
{
	pem_cache(conf_str(cfg, C_AUTH_INSTALL_KEY_DIR), kid, pem, len, rid);
}

void
installkey_forget(void)
{
	size_t	 i;

	for (i = 0; i < KIDS; i++)
		free(kids[i].pem);
	memset(kids, 0, sizeof(kids));
	memset(addrs, 0, sizeof(addrs));
}
