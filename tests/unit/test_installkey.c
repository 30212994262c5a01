/*
 * installkey: fetching signed-install keys by kid, which is
 * unauthenticated input.  What users rely on: a made-up kid costs one
 * fetch and is then remembered; a client (an IPv4 address, an IPv6 /48)
 * that sent more unknown kids than its budget gets no more fetches, while
 * another client's new key is still fetched at once, however many
 * clients have struck out; and a real key is fetched once, even when
 * the request that named it first carried a bad signature.  The key
 * service is a local HTTP server that knows the kids starting with
 * "real-" and counts what it is asked.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cellar/conf.h"
#include "cellar/log.h"
#include "installkey.h"
#include "fixture.h"

/* A key service that answers 404 to everything, counting requests. */
struct keysvc {
	int		 fd;
	int		 port;
	pthread_t	 thread;
	volatile int	 hits;
};

static void *
keysvc_run(void *arg)
{
	static const char reply[] = "HTTP/1.1 404 Not Found\r\n"
	    "Content-Length: 0\r\nConnection: close\r\n\r\n";
	static const char key[] = "HTTP/1.1 200 OK\r\nContent-Length: 57\r\n"
	    "Connection: close\r\n\r\n"
	    "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";
	struct keysvc	*k = arg;
	char		 buf[4096];
	int		 c;

	while ((c = accept(k->fd, NULL, NULL)) != -1) {
		/* One request: its head ends with an empty line. */
		size_t	 n = 0;
		ssize_t	 r;

		while (n < sizeof(buf) - 1 &&
		    (r = read(c, buf + n, sizeof(buf) - 1 - n)) > 0) {
			n += (size_t)r;
			buf[n] = '\0';
			if (strstr(buf, "\r\n\r\n") != NULL)
				break;
		}
		__atomic_add_fetch(&k->hits, 1, __ATOMIC_SEQ_CST);
		if (strncmp(buf, "GET /real-", 10) == 0) {
			if (write(c, key, sizeof(key) - 1) < 0)
				(void)0;
		} else if (write(c, reply, sizeof(reply) - 1) < 0)
			(void)0;
		close(c);
	}
	return NULL;
}

static void
keysvc_start(struct keysvc *k)
{
	struct sockaddr_in sa;
	socklen_t	 len = sizeof(sa);

	memset(k, 0, sizeof(*k));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true((k->fd = socket(AF_INET, SOCK_STREAM, 0)) != -1);
	assert_int_equal(bind(k->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(k->fd, 64), 0);
	assert_int_equal(getsockname(k->fd, (struct sockaddr *)&sa, &len), 0);
	k->port = ntohs(sa.sin_port);
	assert_int_equal(pthread_create(&k->thread, NULL, keysvc_run, k), 0);
}

static void
keysvc_stop(struct keysvc *k)
{
	shutdown(k->fd, SHUT_RDWR);
	close(k->fd);
	pthread_join(k->thread, NULL);
}

struct ifx {
	char		 dir[64];
	struct keysvc	 svc;
	struct conf	*cfg;
};

/* A worker's configuration: the key service above, budget and window. */
static struct ifx *
ifx_new(int budget, int seconds)
{
	struct ifx	*f = calloc(1, sizeof(*f));
	char		 path[160], err[CONF_ERRLEN];
	FILE		*fp;

	assert_non_null(f);
	assert_int_equal(fx_tmpdir(f->dir, sizeof(f->dir)), 0);
	keysvc_start(&f->svc);
	snprintf(path, sizeof(path), "%s/cellar.conf", f->dir);
	assert_non_null(fp = fopen(path, "w"));
	fprintf(fp, "[app]\nkey = com.example.unit\n"
	    "base_url = http://127.0.0.1:1\n[server]\nstate_dir = %s\n"
	    "[auth]\ninstall_keys_url = http://127.0.0.1:%d\n"
	    "install_key_dir = %s/keys\nunknown_kid_budget = %d\n"
	    "unknown_kid_seconds = %d\n", f->dir, f->svc.port, f->dir, budget,
	    seconds);
	fclose(fp);
	assert_non_null(f->cfg = conf_load_cellar(f->dir, err));
	installkey_forget();
	return f;
}

static void
ifx_free(struct ifx *f)
{
	keysvc_stop(&f->svc);
	conf_free(f->cfg);
	assert_int_equal(fx_rmtree(f->dir), 0);
	free(f);
}

/* The reason an install signed with a new kid from addr gets. */
static const char *
try_kid(struct ifx *f, const char *addr)
{
	static int	 serial;
	const char	*reason = NULL;
	char		 kid[64], *pem;
	size_t		 len;
	int		 fetched;

	snprintf(kid, sizeof(kid), "made-up-%d", ++serial);
	pem = installkey_get(f->cfg, kid, addr, &len, &fetched, &reason);
	assert_null(pem);
	assert_non_null(reason);
	return reason;
}

static void
test_clients_are_ipv4_addresses_and_ipv6_slash_48s(void **state)
{
	static const char *const cases[][2] = {
		{ "192.0.2.7", "192.0.2.7" },
		{ "2001:db8:1:2:3:4:5:6", "2001:db8:1::/48" },
		{ "2001:db8:1:ffff::9", "2001:db8:1::/48" },
		{ "2001:db8:2::1", "2001:db8:2::/48" },
		{ "::ffff:192.0.2.7", "192.0.2.7" },
		{ "::1", "::/48" },
		{ "-", "-" },
		{ "not:an:address", "not:an:address" },
	};
	char	 out[64];
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		installkey_client(cases[i][0], out, sizeof(out));
		assert_string_equal(out, cases[i][1]);
	}
}

static void
test_unknown_kids_are_budgeted_per_client(void **state)
{
	struct ifx	*f = ifx_new(3, 300);
	int		 i;

	(void)state;
	/* More than the budget (3): the fourth is the last fetched. */
	for (i = 0; i < 4; i++)
		assert_string_equal(try_kid(f, "2001:db8:1:2::1"),
		    "install_key_not_found");
	assert_int_equal(f->svc.hits, 4);
	/* Another address of the same /48 is the same client. */
	assert_string_equal(try_kid(f, "2001:db8:1:ffff::9"),
	    "install_key_fetch_throttled");
	assert_int_equal(f->svc.hits, 4);
	/* Other clients' new kids are fetched at once. */
	assert_string_equal(try_kid(f, "2001:db8:2::1"),
	    "install_key_not_found");
	assert_string_equal(try_kid(f, "192.0.2.1"), "install_key_not_found");
	assert_int_equal(f->svc.hits, 6);
	ifx_free(f);
}

static void
test_strikes_expire_with_their_window(void **state)
{
	struct ifx	*f = ifx_new(0, 1);

	(void)state;
	assert_string_equal(try_kid(f, "192.0.2.1"), "install_key_not_found");
	assert_string_equal(try_kid(f, "192.0.2.1"),
	    "install_key_fetch_throttled");
	usleep(2100 * 1000);
	assert_string_equal(try_kid(f, "192.0.2.1"), "install_key_not_found");
	assert_int_equal(f->svc.hits, 2);
	ifx_free(f);
}

/*
 * Many addresses, one unknown kid each: more struck clients than the
 * table holds.  None of that stops a new client's fetch (a cap the
 * attacker could fill would stop genuine installs), and the most recent
 * struck clients are still held.
 */
static void
test_a_full_strike_table_never_refuses_a_new_client(void **state)
{
	struct ifx	*f = ifx_new(0, 300);
	char		 addr[32];
	int		 i;

	(void)state;
	for (i = 0; i < 1100; i++) {
		snprintf(addr, sizeof(addr), "10.0.%d.%d", i / 250, i % 250);
		assert_string_equal(try_kid(f, addr), "install_key_not_found");
	}
	assert_int_equal(f->svc.hits, 1100);
	assert_string_equal(try_kid(f, "192.0.2.200"), "install_key_not_found");
	assert_string_equal(try_kid(f, "10.0.4.99"),
	    "install_key_fetch_throttled");
	assert_int_equal(f->svc.hits, 1101);
	ifx_free(f);
}

/*
 * A real kid named first by a request whose signature then fails: the
 * key stays in memory, so the genuine install right behind it needs no
 * fetch and is not throttled by the kid's fetch_interval.
 */
static void
test_a_fetched_key_is_kept_whatever_the_signature(void **state)
{
	struct ifx	*f = ifx_new(3, 300);
	const char	*reason = NULL;
	char		*pem;
	size_t		 len;
	int		 fetched, i;

	(void)state;
	for (i = 0; i < 3; i++) {
		pem = installkey_get(f->cfg, "real-key-1", i ? "192.0.2.9" :
		    "203.0.113.66", &len, &fetched, &reason);
		assert_non_null(pem);
		assert_true(fetched);
		assert_non_null(strstr(pem, "BEGIN PUBLIC KEY"));
		free(pem);
	}
	assert_int_equal(f->svc.hits, 1);
	ifx_free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_clients_are_ipv4_addresses_and_ipv6_slash_48s),
		cmocka_unit_test(test_unknown_kids_are_budgeted_per_client),
		cmocka_unit_test(test_strikes_expire_with_their_window),
		cmocka_unit_test(
		    test_a_full_strike_table_never_refuses_a_new_client),
		cmocka_unit_test(test_a_fetched_key_is_kept_whatever_the_signature),
	};

	log_init("test_installkey", LOGL_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
