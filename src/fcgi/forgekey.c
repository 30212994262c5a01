/*
 * Forge token keys; see forgekey.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cellar/clock.h"
#include "cellar/file.h"
#include "cellar/json.h"
#include "cellar/jwks.h"
#include "cellar/log.h"
#include "cellar/outbound.h"
#include "cellar/util.h"
#include "forgekey.h"
#include "installkey.h"

/*
 * The cache file: {"url": U, "fetchedAt": T, "maxAge": S, "jwks": "<the
 * set as fetched>"}.  The set is kept as the text that came, a JSON
 * string, so that what a worker reads back is exactly what was fetched
 * (jwks_parse checks it again).  Escaping at most doubles it, plus
 * \u00XX for control bytes a valid set never holds.  U is the jwks_url
 * it was fetched from: a file of another URL (jwks_url changed) is no
 * set at all, its keys never verify and its time throttles nothing.
 */
#define CACHE_MAX	(2 * JWKS_MAX_BYTES + 1024)
/* Longest jwks_url kept (the configuration's own limit is lower). */
#define URL_MAX		4096
/*
 * The last fetch attempt of any worker, FORGEKEY_TRIED in key_dir:
 * {"url": U, "triedAt": T}, read and rewritten under an exclusive
 * flock, so the throttle holds across workers and their restarts
 * whether the fetch succeeded or not.
 */
#define TRIED_MAX	(URL_MAX + 256)
/* Longest Cache-Control value read. */
#define CC_MAX		256

static int	 fetch_outbound(const char *, long, struct buf *, char *,
		    size_t, long *);

static forgekey_fetch_fn fetch_fn = fetch_outbound;

/* Operators' keys as last parsed (kid[0] == '\0': a free slot). */
static struct operator_key {
	struct jwks_key	 key;
	unsigned long	 used;
} operators[FORGEKEY_OPERATOR_KEYS];
static unsigned long operator_clock;

/* The set this worker holds, and what it knows of the cache file. */
static struct {
	struct jwks	 set;		/* n == 0: none */
	long long	 fetched;	/* when fetched (by any worker) */
	long long	 max_age;
	long long	 tried;		/* this worker's last fetch; 0: never */
	char		*url;		/* the set's jwks_url (malloc'd) */
	/* The cache file as last read: read again only once it changed. */
	dev_t		 dev;
	ino_t		 ino;
	off_t		 size;
	struct timespec	 mtime;
	int		 file_seen;
} held;

void
forgekey_fetch_set(forgekey_fetch_fn fn)
{
	fetch_fn = fn != NULL ? fn : fetch_outbound;
}

void
forgekey_forget(void)
{
	size_t	i;

	jwks_free(&held.set);
	free(held.url);
	memset(&held, 0, sizeof(held));
	for (i = 0; i < FORGEKEY_OPERATOR_KEYS; i++)
		jwks_key_free(&operators[i].key);
	memset(operators, 0, sizeof(operators));
	operator_clock = 0;
}

/* 1 if t (a past time) is at least age seconds before now, or ahead. */
static int
long_ago(long long t, long long now, long long age)
{
	return t == 0 || t > now || now - t >= age;
}

/* Header lines of the fetch: the Cache-Control value. */
static void
on_header(void *arg, const char *line, size_t len)
{
	char	*cc = arg;

	if (outbound_header_value(line, len, "Cache-Control", cc, CC_MAX) ==
	    -1)
		cc[0] = '\0';
}

/* https, or http to a loopback address (a test's fake, a local proxy). */
static const char *
url_protocols(const char *url)
{
	static const char *const loopback[] = { "http://127.", "http://[::1]",
	    "http://localhost:", "http://localhost/" };
	size_t	 i;

	if (strncmp(url, "https://", 8) == 0)
		return "https";
	for (i = 0; i < sizeof(loopback) / sizeof(loopback[0]); i++)
		if (strncmp(url, loopback[i], strlen(loopback[i])) == 0)
			return "http";
	return NULL;
}

static int
fetch_outbound(const char *url, long timeout_ms, struct buf *body, char *cc,
    size_t ccsz, long *status)
{
	struct outbound	 o;
	char		 hv[CC_MAX];
	int		 curl_code;

	hv[0] = '\0';
	cc[0] = '\0';
	memset(&o, 0, sizeof(o));
	o.url = url;
	o.method = METHOD_GET;
	if ((o.protocols = url_protocols(url)) == NULL)
		return -1;
	o.connect_ms = o.total_ms = timeout_ms;
	o.on_header = on_header;
	o.header_arg = hv;
	if (outbound_call(&o, status, body, &curl_code) == -1)
		return -1;
	snprintf(cc, ccsz, "%s", hv);
	return 0;
}

/*
 * Takes set, fetched from url, as the one held (fetched at fetched, for
 * max_age).  With no memory for the url, nothing is held (fail closed).
 */
static void
held_take(struct jwks *set, const char *url, long long fetched,
    long long max_age)
{
	char	*u;

	if ((u = strdup(url)) == NULL)
		return;
	jwks_free(&held.set);
	free(held.url);
	held.url = u;
	held.set = *set;
	memset(set, 0, sizeof(*set));
	held.fetched = fetched;
	held.max_age = max_age;
}

/*
 * Drops the set held when it came from another url than the one
 * configured: no key of it verifies, and its fetch time throttles
 * nothing.  The cache file is read again (it may be url's).
 */
static void
held_check_url(const char *url)
{
	if (held.set.n == 0 || (held.url != NULL &&
	    strcmp(held.url, url) == 0))
		return;
	jwks_free(&held.set);
	free(held.url);
	held.url = NULL;
	held.fetched = held.max_age = held.tried = 0;
	held.file_seen = 0;
}

/*
 * Reads the cache file if it changed since last read and takes its set
 * if it was fetched after the one held.  A missing, unreadable or
 * malformed file is no set (a fetch makes a new one).
 */
static void
cache_read(const char *dir, const char *url)
{
	struct stat	 st;
	struct jwks	 set;
	cJSON		*w = NULL;
	const char	*text, *why, *from;
	char		 path[4096], *buf = NULL;
	long long	 fetched, age;
	size_t		 got = 0;
	ssize_t		 n = 0;
	int		 fd;

	memset(&set, 0, sizeof(set));
	if (file_pathf(path, sizeof(path), "%s/%s", dir, FORGEKEY_CACHE) ==
	    -1)
		return;
	/* O_NONBLOCK: a FIFO put there must not hang the worker. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK)) == -1)
		return;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (held.file_seen && st.st_dev == held.dev &&
	    st.st_ino == held.ino && st.st_size == held.size &&
	    st.st_mtim.tv_sec == held.mtime.tv_sec &&
	    st.st_mtim.tv_nsec == held.mtime.tv_nsec))
		goto out;
	held.file_seen = 1;
	held.dev = st.st_dev;
	held.ino = st.st_ino;
	held.size = st.st_size;
	held.mtime = st.st_mtim;
	if (st.st_size <= 0 || st.st_size > CACHE_MAX ||
	    (buf = malloc((size_t)st.st_size + 1)) == NULL)
		goto out;
	for (; got < (size_t)st.st_size; got += (size_t)n)
		if ((n = read(fd, buf + got, (size_t)st.st_size - got)) <= 0)
			break;
	if (got != (size_t)st.st_size || json_parse(buf, got, &w) != JSON_OK ||
	    json_get_str(w, "url", 1, URL_MAX, &from) != JSON_OK ||
	    strcmp(from, url) != 0 ||
	    json_get_int(w, "fetchedAt", 1, 1LL << 40, &fetched) != JSON_OK ||
	    json_get_int(w, "maxAge", FORGEKEY_AGE_MIN, FORGEKEY_AGE_MAX,
	    &age) != JSON_OK ||
	    json_get_str(w, "jwks", 2, JWKS_MAX_BYTES, &text) != JSON_OK ||
	    jwks_parse(text, strlen(text), &set, &why) == -1)
		goto out;
	if (held.set.n == 0 || fetched > held.fetched)
		held_take(&set, url, fetched, age);
out:
	jwks_free(&set);
	cJSON_Delete(w);
	free(buf);
	close(fd);
}

/*
 * Writes the cache file whole: a name of this process's own (two
 * workers fetching at once never write into one file), synced, then
 * renamed over the cache file.  A failure is logged; the set is held
 * all the same.
 */
static void
cache_write(const char *dir, const char *url, const char *text, size_t len,
    long long fetched, long long age, const char *rid)
{
	struct stat	 st;
	cJSON		*w;
	char		 path[4096], tmp[4096], *out = NULL;

	if ((w = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(w, "url", url) == NULL ||
	    json_add_int(w, "fetchedAt", fetched) == NULL ||
	    json_add_int(w, "maxAge", age) == NULL ||
	    cJSON_AddStringToObject(w, "jwks", text) == NULL ||
	    (out = cJSON_PrintUnformatted(w)) == NULL || strlen(text) != len)
		goto fail;
	if (file_pathf(path, sizeof(path), "%s/%s", dir, FORGEKEY_CACHE) ==
	    -1 || file_pathf(tmp, sizeof(tmp), "%s/.%s.%ld", dir,
	    FORGEKEY_CACHE, (long)getpid()) == -1)
		goto fail;
	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		goto fail;
	if (file_write_whole(tmp, out, strlen(out)) == -1)
		goto fail;
	if (rename(tmp, path) == -1 || file_fsync_parent(path) == -1) {
		unlink(tmp);
		goto fail;
	}
	/* This worker wrote it: no need to read it back. */
	if (stat(path, &st) == 0) {
		held.file_seen = 1;
		held.dev = st.st_dev;
		held.ino = st.st_ino;
		held.size = st.st_size;
		held.mtime = st.st_mtim;
	}
	goto out;
fail:
	log_msg(LOGL_WARN, rid, "reason=forge_jwks_cache_failed");
out:
	free(out);
	cJSON_Delete(w);
}

/*
 * Whether a fetch of url may start at now, as far as other workers (and
 * this one before a restart) are concerned: 1 when key_dir's record of
 * the last attempt is of another url, malformed, absent or at least
 * FORGEKEY_REFETCH old (or ahead: the clock stepped back), and then now
 * is recorded as the last attempt, under the same lock (two workers
 * never both take one slot); else 0.  Without a usable record (key_dir
 * not writable, not a regular file) only this worker's memory
 * throttles: 1, logged.
 */
static int
attempt_take(const char *dir, const char *url, long long now,
    const char *rid)
{
	struct stat	 st;
	cJSON		*w = NULL, *o = NULL;
	const char	*from;
	char		 path[4096], buf[TRIED_MAX + 1], *out = NULL;
	long long	 tried;
	ssize_t		 n;
	size_t		 len;
	int		 fd = -1, ok = 1;

	if (file_pathf(path, sizeof(path), "%s/%s", dir, FORGEKEY_TRIED) ==
	    -1)
		goto fail;
	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		goto fail;
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK, 0600)) == -1 || fstat(fd, &st) == -1 ||
	    !S_ISREG(st.st_mode) || flock(fd, LOCK_EX) == -1)
		goto fail;
	if ((n = pread(fd, buf, TRIED_MAX, 0)) > 0) {
		buf[n] = '\0';
		if (json_parse(buf, (size_t)n, &w) == JSON_OK &&
		    json_get_str(w, "url", 1, URL_MAX, &from) == JSON_OK &&
		    strcmp(from, url) == 0 &&
		    json_get_int(w, "triedAt", 1, 1LL << 40, &tried) ==
		    JSON_OK && !long_ago(tried, now, FORGEKEY_REFETCH)) {
			ok = 0;
			goto out;
		}
	}
	if ((o = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(o, "url", url) == NULL ||
	    json_add_int(o, "triedAt", now) == NULL ||
	    (out = cJSON_PrintUnformatted(o)) == NULL)
		goto fail;
	len = strlen(out);
	if (ftruncate(fd, 0) == -1 || pwrite(fd, out, len, 0) != (ssize_t)len)
		goto fail;
	goto out;
fail:
	log_msg(LOGL_WARN, rid, "reason=forge_jwks_tried_unrecorded");
out:
	if (fd != -1)
		close(fd);		/* and the lock with it */
	free(out);
	cJSON_Delete(o);
	cJSON_Delete(w);
	return ok;
}

/*
 * Fetches the set; a good one (200, parsed, one key at least) becomes
 * the one held and the cache file.  Failures are logged and leave what
 * is held as it is.
 */
static void
fetch(const struct conf *cfg, long long now, const char *rid)
{
	struct buf	 body = BUF_INIT(JWKS_MAX_BYTES);
	struct jwks	 set;
	const char	*url = conf_str(cfg, C_FORGE_JWKS_URL), *why;
	char		 cc[CC_MAX];
	long long	 age;
	long		 status = 0;

	memset(&set, 0, sizeof(set));
	held.tried = now;
	if (url_protocols(url) == NULL) {
		log_msg(LOGL_ERR, rid, "reason=forge_jwks_url_insecure");
		goto out;
	}
	if (fetch_fn(url, (long)conf_int(cfg, C_FORGE_FETCH_TIMEOUT_MS), &body,
	    cc, sizeof(cc), &status) == -1) {
		log_msg(LOGL_WARN, rid, "reason=forge_jwks_fetch_failed");
		goto out;
	}
	if (status != 200 || body.failed || body.p == NULL) {
		log_msg(LOGL_WARN, rid, "reason=forge_jwks_fetch_failed "
		    "status=%ld", status);
		goto out;
	}
	if (jwks_parse(body.p, body.len, &set, &why) == -1) {
		log_msg(LOGL_WARN, rid, "reason=%s", why);
		goto out;
	}
	age = jwks_max_age(cc[0] != '\0' ? cc : NULL, FORGEKEY_AGE_MIN,
	    FORGEKEY_AGE_MAX, FORGEKEY_AGE_DEFAULT);
	log_msg(LOGL_INFO, rid, "event=forge_jwks_fetched keys=%zu "
	    "max_age=%lld", set.n, age);
	cache_write(conf_str(cfg, C_FORGE_KEY_DIR), url, body.p, body.len, now,
	    age, rid);
	held_take(&set, url, now, age);
out:
	jwks_free(&set);
	buf_free(&body);
}

/* The slot holding kid's operator key, or NULL. */
static struct operator_key *
operator_find(const char *kid)
{
	size_t	i;

	for (i = 0; i < FORGEKEY_OPERATOR_KEYS; i++)
		if (operators[i].key.kid[0] != '\0' &&
		    strcmp(operators[i].key.kid, kid) == 0)
			return &operators[i];
	return NULL;
}

/*
 * The operator's key dir/KID.pem, parsed: *found 0 when there is no
 * such file (installkey_pem_read's rules), else 1 with the key, or with
 * NULL and *reason when it is not a key we take.  A kid whose file went
 * away loses its slot.
 */
static const struct jwks_key *
operator_get(const char *dir, const char *kid, int *found,
    const char **reason)
{
	struct operator_key *o;
	struct jwks_key	 k;
	const char	*why;
	char		*pem;
	size_t		 len = 0, i;

	o = operator_find(kid);
	pem = installkey_pem_read(dir, kid, &len);
	*found = pem != NULL;
	if (pem == NULL) {
		if (o != NULL)
			jwks_key_free(&o->key);
		return NULL;
	}
	/* The bytes parsed last time: the key parsed then. */
	if (o != NULL && o->key.pem_len == len &&
	    memcmp(o->key.pem, pem, len) == 0) {
		free(pem);
		o->used = ++operator_clock;
		return &o->key;
	}
	if (jwks_key_from_pem(kid, pem, len, &k, &why) == -1) {
		free(pem);
		if (o != NULL)
			jwks_key_free(&o->key);
		*reason = strcmp(why, "no_memory") == 0 ? "no_memory" :
		    "fit_operator_key_unusable";
		return NULL;
	}
	free(pem);
	/* Its own slot, else a free one, else the least recently used. */
	for (i = 0; o == NULL && i < FORGEKEY_OPERATOR_KEYS; i++)
		if (operators[i].key.kid[0] == '\0')
			o = &operators[i];
	if (o == NULL) {
		o = &operators[0];
		for (i = 1; i < FORGEKEY_OPERATOR_KEYS; i++)
			if (operators[i].used < o->used)
				o = &operators[i];
	}
	jwks_key_free(&o->key);
	o->key = k;
	o->used = ++operator_clock;
	return &o->key;
}

const struct jwks_key *
forgekey_get(const struct conf *cfg, const char *kid, const char *rid,
    const char **reason)
{
	const struct jwks_key *k;
	const char	*dir = conf_str(cfg, C_FORGE_KEY_DIR);
	const char	*url = conf_str(cfg, C_FORGE_JWKS_URL);
	long long	 now = clock_now();
	int		 stale, fetched = 0, found;

	if (!jwks_kid_ok(kid)) {
		*reason = "fit_kid_invalid";
		return NULL;
	}
	if ((k = operator_get(dir, kid, &found, reason)) != NULL || found)
		return k;
	held_check_url(url);
	stale = held.set.n == 0 || long_ago(held.fetched, now, held.max_age);
	if (stale || jwks_find(&held.set, kid) == NULL) {
		/* What another worker fetched meanwhile, if anything. */
		cache_read(dir, url);
		stale = held.set.n == 0 ||
		    long_ago(held.fetched, now, held.max_age);
		/*
		 * A stale set is fetched again, an unknown kid makes a
		 * fetch: either at most once per FORGEKEY_REFETCH, and the
		 * latter not while the set held is younger than that.
		 */
		if ((stale || jwks_find(&held.set, kid) == NULL) &&
		    long_ago(held.tried, now, FORGEKEY_REFETCH) &&
		    (stale || long_ago(held.fetched, now, FORGEKEY_REFETCH)) &&
		    attempt_take(dir, url, now, rid)) {
			fetch(cfg, now, rid);
			fetched = 1;
		}
	}
	if (held.set.n == 0) {
		*reason = "fit_jwks_unavailable";
		return NULL;
	}
	if ((k = jwks_find(&held.set, kid)) == NULL)
		*reason = fetched ? "fit_kid_unknown" :
		    "fit_kid_unknown_recently";
	return k;
}
