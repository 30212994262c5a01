/*
 * forgekey: the keys that verify Forge Invocation Tokens, without a
 * network (the fetch is the test's, counting its calls) and with the
 * library clock fixed by the test.  What users rely on: an operator's
 * key is used without asking anyone; Atlassian's set is fetched once
 * and then read from memory or the workers' shared cache file for its
 * max-age (clamped); an unknown kid costs at most one fetch per 30 s,
 * in a worker and across workers; a rotated key is found by that
 * fetch; a failed fetch keeps the keys held; keys come back parsed,
 * an operator's parsed once and still obeyed the moment its file
 * changes or goes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <sodium.h>

#include "cellar/clock.h"
#include "cellar/conf.h"
#include "cellar/json.h"
#include "cellar/jwks.h"
#include "cellar/log.h"
#include "fixture.h"
#include "forgekey.h"

#define KID1	"forge/invocation-token/wf-d49b147a-c4be-4f73-9541-b4a31f991d71"
#define KID3	"forge/invocation-token/wf-b3078724-87d4-45fd-95d1-acd90c895259"
#define KID_NEW	"forge/invocation-token/wf-00000000-0000-4000-8000-000000000001"
#define T0	FX_NOW

struct kfx {
	char		 dir[64];
	char		 keys[128];
	struct conf	*cfg;
};

/* What the fake key service answers, and how often it was asked. */
static struct {
	int		 calls;
	int		 fail;		/* no answer at all */
	long		 status;
	const char	*cc;		/* Cache-Control, or NULL */
	char		*body;
} svc;

static char	*set_json, *key1_pem;

static int
fake_fetch(const char *url, long timeout_ms, struct buf *body, char *cc,
    size_t ccsz, long *status)
{
	(void)url;
	assert_true(timeout_ms >= 100 && timeout_ms <= 5000);
	svc.calls++;
	cc[0] = '\0';
	if (svc.fail)
		return -1;
	*status = svc.status;
	if (svc.cc != NULL)
		snprintf(cc, ccsz, "%s", svc.cc);
	if (svc.body != NULL)
		buf_adds(body, svc.body);
	return 0;
}

static char *
slurp(const char *path)
{
	FILE	*fp;
	char	*s;
	long	 n;

	assert_non_null(fp = fopen(path, "r"));
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	rewind(fp);
	assert_non_null(s = calloc(1, (size_t)n + 1));
	assert_int_equal(fread(s, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	return s;
}

/* set.json with the first key's kid replaced: a rotated set. */
static char *
rotated_set(void)
{
	char	*s, *p;

	assert_non_null(s = strdup(set_json));
	assert_non_null(p = strstr(s, KID1));
	memcpy(p, KID_NEW, strlen(KID_NEW));
	return s;
}

static int
group_setup(void **state)
{
	(void)state;
	log_init("test_forgekey", LOGL_DEBUG);
	set_json = slurp("tests/data/jwks/set.json");
	key1_pem = slurp("tests/data/jwks/key1.pem");
	return sodium_init() < 0 ? -1 : 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	free(set_json);
	free(key1_pem);
	return 0;
}

/* Writes and loads the configuration, with jwks_url url. */
static void
config_load(struct kfx *k, const char *url)
{
	char		 etc[128], path[160], err[CONF_ERRLEN];
	FILE		*fp;

	conf_free(k->cfg);
	snprintf(etc, sizeof(etc), "%s/etc", k->dir);
	snprintf(path, sizeof(path), "%s/cellar.conf", etc);
	assert_non_null(fp = fopen(path, "w"));
	fprintf(fp, "[app]\nkey = com.example.unit\n"
	    "base_url = http://127.0.0.1:1\n[server]\nstate_dir = %s\n"
	    "[keys]\ndir = %s/keys\n[forge]\n"
	    "app_id = ari:cloud:ecosystem::app/"
	    "11111111-2222-4333-8444-555555555555\n"
	    "jwks_url = %s\nkey_dir = %s\n", k->dir, k->dir, url, k->keys);
	fclose(fp);
	assert_non_null(k->cfg = conf_load_cellar(etc, err));
}

static int
setup(void **state)
{
	struct kfx	*k = calloc(1, sizeof(*k));
	char		 etc[128];

	assert_non_null(k);
	assert_int_equal(fx_tmpdir(k->dir, sizeof(k->dir)), 0);
	snprintf(etc, sizeof(etc), "%s/etc", k->dir);
	snprintf(k->keys, sizeof(k->keys), "%s/forge-keys", k->dir);
	assert_int_equal(mkdir(etc, 0700), 0);
	config_load(k, "https://forge.example.com/.well-known/jwks.json");
	memset(&svc, 0, sizeof(svc));
	svc.status = 200;
	svc.cc = "public, max-age=600";
	assert_non_null(svc.body = strdup(set_json));
	forgekey_forget();
	forgekey_fetch_set(fake_fetch);
	fx_log_start();
	clock_fake(T0);
	*state = k;
	return 0;
}

static int
teardown(void **state)
{
	struct kfx	*k = *state;

	fx_log_stop();
	clock_fake(0);
	forgekey_forget();
	forgekey_fetch_set(NULL);
	free(svc.body);
	conf_free(k->cfg);
	fx_rmtree(k->dir);
	free(k);
	return 0;
}

/* forgekey_get at t: 1 with the key, 0 with reason (want). */
static int
get_at(struct kfx *k, long long t, const char *kid, const char *want)
{
	const struct jwks_key *key;
	const char	*reason = NULL;

	clock_fake(t);
	key = forgekey_get(k->cfg, kid, "rid", &reason);
	if (key == NULL) {
		if (want == NULL)
			fail_msg("%s at +%lld: %s", kid, t - T0, reason);
		assert_string_equal(reason, want);
		return 0;
	}
	assert_string_equal(key->kid, kid);
	assert_non_null(key->pkey);
	assert_int_equal(key->pem_len, strlen(key->pem));
	assert_non_null(strstr(key->pem, "-----BEGIN PUBLIC KEY-----"));
	if (want != NULL)
		fail_msg("%s at +%lld: a key, want %s", kid, t - T0, want);
	return 1;
}

/* key_dir/KID.pem holding text (NULL: removed), its directories made. */
static void
operator_file(struct kfx *k, const char *kid, const char *text)
{
	char		 path[512];
	const char	*p;
	FILE		*fp;

	(void)mkdir(k->keys, 0700);
	for (p = kid; (p = strchr(p, '/')) != NULL; p++) {
		snprintf(path, sizeof(path), "%s/%.*s", k->keys,
		    (int)(p - kid), kid);
		(void)mkdir(path, 0700);
	}
	snprintf(path, sizeof(path), "%s/%s.pem", k->keys, kid);
	if (text == NULL) {
		assert_int_equal(unlink(path), 0);
		return;
	}
	/* A new file, as an operator's editor or cp would leave it. */
	(void)unlink(path);
	assert_non_null(fp = fopen(path, "w"));
	fputs(text, fp);
	fclose(fp);
}

/* The cache file's fetchedAt and maxAge. */
static void
cache_times(struct kfx *k, long long *fetched, long long *age)
{
	char	 path[256], *s;
	cJSON	*w;

	snprintf(path, sizeof(path), "%s/%s", k->keys, FORGEKEY_CACHE);
	s = slurp(path);
	assert_int_equal(json_parse(s, strlen(s), &w), JSON_OK);
	assert_int_equal(json_get_int(w, "fetchedAt", 0, 1LL << 40, fetched),
	    JSON_OK);
	assert_int_equal(json_get_int(w, "maxAge", 0, 1LL << 40, age),
	    JSON_OK);
	cJSON_Delete(w);
	free(s);
}

static void
test_operator_key_used_without_a_fetch(void **state)
{
	struct kfx	*k = *state;
	const struct jwks_key *a, *b;
	const char	*reason = NULL;
	char		*key2_pem = slurp("tests/data/jwks/key2.pem");

	/* A kid's parts are directories under key_dir. */
	operator_file(k, KID_NEW, key1_pem);
	assert_non_null(a = forgekey_get(k->cfg, KID_NEW, "rid", &reason));
	assert_string_equal(a->pem, key1_pem);
	assert_non_null(a->pkey);
	/* Held parsed: the same key object again, not a new parse. */
	assert_non_null(b = forgekey_get(k->cfg, KID_NEW, "rid", &reason));
	assert_ptr_equal(b, a);
	assert_ptr_equal(b->pkey, a->pkey);
	/* Replaced: the new key at once. */
	operator_file(k, KID_NEW, key2_pem);
	assert_non_null(b = forgekey_get(k->cfg, KID_NEW, "rid", &reason));
	assert_string_equal(b->pem, key2_pem);
	assert_int_equal(svc.calls, 0);
	/* Removed: no longer the operator's, so the set is asked. */
	operator_file(k, KID_NEW, NULL);
	assert_false(get_at(k, T0, KID_NEW, "fit_kid_unknown"));
	assert_int_equal(svc.calls, 1);
	free(key2_pem);
}

/*
 * An operator's file that is a public key but not one we take is
 * refused, not passed over for the set: what the operator put there
 * for a kid is what that kid means.
 */
static void
test_operator_key_unusable(void **state)
{
	struct kfx	*k = *state;
	EVP_PKEY	*weak;
	BIO		*bio;
	char		*pem, *text;
	long		 n;

	assert_non_null(weak = EVP_RSA_gen(1024));
	assert_non_null(bio = BIO_new(BIO_s_mem()));
	assert_int_equal(PEM_write_bio_PUBKEY(bio, weak), 1);
	n = BIO_get_mem_data(bio, &pem);
	assert_non_null(text = strndup(pem, (size_t)n));
	BIO_free(bio);
	EVP_PKEY_free(weak);
	operator_file(k, KID1, text);
	assert_false(get_at(k, T0, KID1, "fit_operator_key_unusable"));
	operator_file(k, KID1, "-----BEGIN PUBLIC KEY-----\nAAAA\n"
	    "-----END PUBLIC KEY-----\n");
	assert_false(get_at(k, T0, KID1, "fit_operator_key_unusable"));
	assert_int_equal(svc.calls, 0);
	/* Made good: taken at once. */
	operator_file(k, KID1, key1_pem);
	assert_true(get_at(k, T0, KID1, NULL));
	assert_int_equal(svc.calls, 0);
	free(text);
}

/*
 * More operators' kids than are held parsed: each kid still gets its
 * own key, whichever was dropped to make room.
 */
static void
test_operator_keys_past_the_cache(void **state)
{
	struct kfx	*k = *state;
	const struct jwks_key *key;
	const char	*reason = NULL;
	char		*pems[3], kid[64];
	int		 i, j, n = FORGEKEY_OPERATOR_KEYS + 3, round;

	for (i = 0; i < 3; i++) {
		snprintf(kid, sizeof(kid), "tests/data/jwks/key%d.pem", i + 1);
		pems[i] = slurp(kid);
	}
	for (i = 0; i < n; i++) {
		snprintf(kid, sizeof(kid), "operator/k%d", i);
		operator_file(k, kid, pems[i % 3]);
	}
	/* Forwards, backwards, then every other one (n is odd). */
	for (round = 0; round < 3; round++)
		for (i = 0; i < n; i++) {
			j = round == 1 ? n - 1 - i : round == 2 ? 2 * i % n : i;
			snprintf(kid, sizeof(kid), "operator/k%d", j);
			assert_non_null(key = forgekey_get(k->cfg, kid, "rid",
			    &reason));
			assert_string_equal(key->kid, kid);
			assert_string_equal(key->pem, pems[j % 3]);
		}
	assert_int_equal(svc.calls, 0);
	for (i = 0; i < 3; i++)
		free(pems[i]);
}

static void
test_set_fetched_once_then_held(void **state)
{
	struct kfx	*k = *state;
	long long	 fetched, age;

	assert_true(get_at(k, T0, KID1, NULL));
	assert_true(get_at(k, T0 + 1, KID3, NULL));
	assert_true(get_at(k, T0 + 599, KID1, NULL));
	assert_int_equal(svc.calls, 1);
	cache_times(k, &fetched, &age);
	assert_int_equal(fetched, T0);
	assert_int_equal(age, 600);
	assert_non_null(strstr(fx_log_text(), "event=forge_jwks_fetched"));
	/* Its max-age over: fetched again. */
	assert_true(get_at(k, T0 + 600, KID1, NULL));
	assert_int_equal(svc.calls, 2);
}

static void
test_max_age_clamped(void **state)
{
	static const struct {
		const char	*cc;
		long long	 age;
	} cases[] = {
		{ "max-age=10", FORGEKEY_AGE_MIN },
		{ "public, max-age=999999", FORGEKEY_AGE_MAX },
		{ NULL, FORGEKEY_AGE_DEFAULT },
		{ "no-store", FORGEKEY_AGE_MIN },
		{ "max-age=7200", 7200 },
	};
	struct kfx	*k = *state;
	long long	 fetched, age;
	size_t		 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		forgekey_forget();
		svc.cc = cases[i].cc;
		/* Far apart: each finds the last one's set stale. */
		assert_true(get_at(k, T0 + (long long)i * 100000, KID1, NULL));
		cache_times(k, &fetched, &age);
		assert_int_equal(fetched, T0 + (long long)i * 100000);
		assert_int_equal(age, cases[i].age);
	}
}

static void
test_unknown_kid_fetches_at_most_every_30_s(void **state)
{
	struct kfx	*k = *state;

	assert_true(get_at(k, T0, KID1, NULL));
	assert_int_equal(svc.calls, 1);
	/* Within 30 s of the fetch: refused without asking. */
	assert_false(get_at(k, T0 + 1, KID_NEW, "fit_kid_unknown_recently"));
	assert_false(get_at(k, T0 + 29, KID_NEW, "fit_kid_unknown_recently"));
	assert_int_equal(svc.calls, 1);
	/* Then one fetch, which does not know it either. */
	assert_false(get_at(k, T0 + 30, KID_NEW, "fit_kid_unknown"));
	assert_int_equal(svc.calls, 2);
	assert_false(get_at(k, T0 + 31, KID_NEW, "fit_kid_unknown_recently"));
	assert_false(get_at(k, T0 + 45, "forge/other",
	    "fit_kid_unknown_recently"));
	assert_int_equal(svc.calls, 2);
	/* Known kids meanwhile never wait. */
	assert_true(get_at(k, T0 + 46, KID3, NULL));
	/* Atlassian rotated: the next fetch finds the new key. */
	free(svc.body);
	svc.body = rotated_set();
	assert_true(get_at(k, T0 + 60, KID_NEW, NULL));
	assert_int_equal(svc.calls, 3);
	/* And the set held is the new one: the old kid is gone. */
	assert_false(get_at(k, T0 + 61, KID1, "fit_kid_unknown_recently"));
}

static void
test_other_workers_share_the_cache_file(void **state)
{
	struct kfx	*k = *state;

	assert_true(get_at(k, T0, KID1, NULL));
	assert_int_equal(svc.calls, 1);
	/* Another worker: nothing in memory, the file is fresh. */
	forgekey_forget();
	forgekey_fetch_set(fake_fetch);
	assert_true(get_at(k, T0 + 5, KID3, NULL));
	assert_int_equal(svc.calls, 1);
	/*
	 * A third worker, with an unknown kid 10 s after the first fetched:
	 * no fetch of its own until the file is 30 s old.
	 */
	forgekey_forget();
	assert_false(get_at(k, T0 + 10, KID_NEW, "fit_kid_unknown_recently"));
	assert_int_equal(svc.calls, 1);
	free(svc.body);
	svc.body = rotated_set();
	assert_true(get_at(k, T0 + 40, KID_NEW, NULL));
	assert_int_equal(svc.calls, 2);
	/* The first worker's set is older: the file has the new key. */
	forgekey_forget();
	assert_true(get_at(k, T0 + 41, KID_NEW, NULL));
	assert_int_equal(svc.calls, 2);
}

static void
test_failed_fetch_keeps_the_set(void **state)
{
	struct kfx	*k = *state;

	assert_true(get_at(k, T0, KID1, NULL));
	svc.fail = 1;
	/* Stale: fetched again, which fails; the keys held still verify. */
	assert_true(get_at(k, T0 + 700, KID1, NULL));
	assert_int_equal(svc.calls, 2);
	assert_non_null(strstr(fx_log_text(),
	    "reason=forge_jwks_fetch_failed"));
	/* Not again within 30 s; an unknown kid fails closed. */
	assert_true(get_at(k, T0 + 701, KID3, NULL));
	assert_false(get_at(k, T0 + 702, KID_NEW, "fit_kid_unknown_recently"));
	assert_int_equal(svc.calls, 2);
	/* Service errors and bodies that are no key set count as failures. */
	svc.fail = 0;
	svc.status = 500;
	assert_true(get_at(k, T0 + 731, KID1, NULL));
	svc.status = 200;
	free(svc.body);
	assert_non_null(svc.body = strdup("{\"keys\":[]}"));
	assert_true(get_at(k, T0 + 762, KID1, NULL));
	assert_int_equal(svc.calls, 4);
}

static void
test_no_set_at_all_fails_closed(void **state)
{
	struct kfx	*k = *state;
	char		 path[256];
	FILE		*fp;

	svc.fail = 1;
	assert_false(get_at(k, T0, KID1, "fit_jwks_unavailable"));
	/* A malformed cache file is no set either. */
	(void)mkdir(k->keys, 0700);	/* the attempt's record made it */
	snprintf(path, sizeof(path), "%s/%s", k->keys, FORGEKEY_CACHE);
	assert_non_null(fp = fopen(path, "w"));
	fputs("{\"fetchedAt\": 1, \"maxAge\": 600, \"jwks\": \"{}\"}", fp);
	fclose(fp);
	forgekey_forget();
	assert_false(get_at(k, T0 + 100, KID1, "fit_jwks_unavailable"));
	assert_int_equal(svc.calls, 2);
	/* Neither a bad kid nor an insecure key service is asked. */
	assert_false(get_at(k, T0 + 200, "../etc/passwd", "fit_kid_invalid"));
	assert_int_equal(svc.calls, 2);
}

/*
 * jwks_url changed (the operator moved to another key service): the set
 * held and the cache file fetched from the old URL are as if absent, in
 * a worker that reads the new configuration and in one that starts
 * after it: a valid token of the new set is not refused as "unknown
 * recently", an old key never verifies again, and the file is the new
 * URL's from then on.
 */
static void
test_cache_of_another_url_is_no_cache(void **state)
{
	struct kfx	*k = *state;
	char		 path[256], *s;

	assert_true(get_at(k, T0, KID1, NULL));
	assert_int_equal(svc.calls, 1);
	free(svc.body);
	svc.body = rotated_set();
	/* The same worker, the new configuration: fetched at once. */
	config_load(k, "https://forge-new.example.com/jwks.json");
	assert_true(get_at(k, T0 + 5, KID_NEW, NULL));
	assert_int_equal(svc.calls, 2);
	assert_false(get_at(k, T0 + 6, KID1, "fit_kid_unknown_recently"));
	snprintf(path, sizeof(path), "%s/%s", k->keys, FORGEKEY_CACHE);
	s = slurp(path);
	assert_non_null(strstr(s, "\"url\":\"https://forge-new.example.com/"
	    "jwks.json\""));
	free(s);
	/*
	 * A restart on a third URL: the cache file (the second's, 5 s
	 * old) neither verifies its keys nor delays the fetch.
	 */
	config_load(k, "https://forge-third.example.com/jwks.json");
	forgekey_forget();
	free(svc.body);
	assert_non_null(svc.body = strdup(set_json));
	assert_true(get_at(k, T0 + 7, KID1, NULL));
	assert_int_equal(svc.calls, 3);
	assert_false(get_at(k, T0 + 8, KID_NEW, "fit_kid_unknown_recently"));
	assert_int_equal(svc.calls, 3);
	/*
	 * Back to the second URL: the cache file is the third's (no set),
	 * and a fetch is allowed: the record is the third URL's.  Within
	 * 30 s of that attempt, no other.
	 */
	config_load(k, "https://forge-new.example.com/jwks.json");
	forgekey_forget();
	svc.fail = 1;
	assert_false(get_at(k, T0 + 20, KID1, "fit_jwks_unavailable"));
	assert_int_equal(svc.calls, 4);
	forgekey_forget();
	assert_false(get_at(k, T0 + 21, KID1, "fit_jwks_unavailable"));
	assert_int_equal(svc.calls, 4);
}

/*
 * The throttle outlives the worker and failed fetches: a key service
 * answering 500 is asked at most once per 30 s however many workers
 * start and ask meanwhile (the record is in key_dir, the cache file
 * untouched by the failures).
 */
static void
test_failed_fetches_throttled_across_restarts(void **state)
{
	struct kfx	*k = *state;
	char		 path[256];
	long long	 t;
	struct stat	 st;

	svc.status = 500;
	assert_false(get_at(k, T0, KID1, "fit_jwks_unavailable"));
	assert_int_equal(svc.calls, 1);
	for (t = T0 + 1; t < T0 + 30; t += 2) {
		forgekey_forget();	/* a worker restarted, or another */
		assert_false(get_at(k, t, KID1, "fit_jwks_unavailable"));
	}
	assert_int_equal(svc.calls, 1);
	snprintf(path, sizeof(path), "%s/%s", k->keys, FORGEKEY_CACHE);
	assert_int_equal(stat(path, &st), -1);
	forgekey_forget();
	assert_false(get_at(k, T0 + 30, KID1, "fit_jwks_unavailable"));
	assert_int_equal(svc.calls, 2);
	/* A record from a clock that was ahead does not block. */
	forgekey_forget();
	assert_false(get_at(k, T0 + 10, KID1, "fit_jwks_unavailable"));
	assert_int_equal(svc.calls, 3);
	/* The service is back: the next slot fetches, all workers share it. */
	svc.status = 200;
	forgekey_forget();
	assert_true(get_at(k, T0 + 40, KID1, NULL));
	assert_int_equal(svc.calls, 4);
	forgekey_forget();
	assert_true(get_at(k, T0 + 41, KID3, NULL));
	assert_int_equal(svc.calls, 4);
}

/*
 * The worker's own fetch, from a loopback address nothing listens on:
 * no set, and the reason in the log.  (The configuration refuses a
 * jwks_url that is neither https nor loopback http.)
 */
static void
test_unreachable_key_service(void **state)
{
	struct kfx	*k = *state;

	forgekey_fetch_set(NULL);
	config_load(k, "http://127.0.0.1:1/jwks.json");
	assert_false(get_at(k, T0, KID1, "fit_jwks_unavailable"));
	assert_non_null(strstr(fx_log_text(),
	    "reason=forge_jwks_fetch_failed"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_operator_key_used_without_a_fetch, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_operator_key_unusable, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_operator_keys_past_the_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_set_fetched_once_then_held, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_age_clamped, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_unknown_kid_fetches_at_most_every_30_s, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_other_workers_share_the_cache_file, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_failed_fetch_keeps_the_set, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_no_set_at_all_fails_closed, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_cache_of_another_url_is_no_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_failed_fetches_throttled_across_restarts, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_unreachable_key_service, setup, teardown),
	};

	return cmocka_run_group_tests_name("forgekey", tests, group_setup,
	    group_teardown);
}
