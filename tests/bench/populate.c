/*
 * Fills a stack's registry with tenants for the reaper benchmark
 * (tests/bench/reaper): each installed through the library (random id,
 * data key, encrypted file, registry row, as a signed install would),
 * then given TEMPLATES templates over 20 projects in one import.
 *
 *	build/bench-populate CONFIG_DIR TENANTS TEMPLATES [SECRETS]
 *
 * Prints how long it took.  SECRETS, if given, receives one line per
 * tenant, "clientKey sharedSecret" (mode 0600), so that a benchmark can
 * sign tokens for them (tests/bench/scale).  Not part of any program.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "cellar/clock.h"
#include "cellar/conf.h"
#include "cellar/db.h"
#include "cellar/keys.h"
#include "cellar/registry.h"
#include "cellar/tenantdb.h"
#include "cellar/tpl.h"

static int
fill(struct registry *reg, const struct tenant *t, int ntpl)
{
	static const struct tpl_limits lim = { 2000, 2000 };
	struct tenantdb	*tdb = NULL;
	struct tpl	*ts;
	char		**names, buf[64];
	char		 body[] = "Hello {{issue.reporter}}, {{issue.key}} is "
	    "being looked at; we will come back to you within a day.";
	char		 owner[] = "557058:bench-owner";
	int		 i, rc = -1;

	ts = calloc((size_t)ntpl, sizeof(*ts));
	names = calloc((size_t)ntpl, sizeof(*names));
	if (ts == NULL || names == NULL ||
	    tenantdb_open(reg, t, NULL, &tdb) != ERR_OK)
		goto out;
	for (i = 0; i < ntpl; i++) {
		snprintf(buf, sizeof(buf), "Reply %d", i);
		ts[i].name = strdup(buf);
		ts[i].body = body;
		ts[i].owner = owner;
		ts[i].scope = SCOPE_PROJECTS;
		ts[i].active = 1;
		ts[i].targets = calloc(1, sizeof(char *));
		snprintf(buf, sizeof(buf), "%d", 10000 + i % 20);
		ts[i].targets[0] = strdup(buf);
		ts[i].ntargets = 1;
	}
	rc = tpl_import_all(tdb, ts, (size_t)ntpl, clock_now(), &lim,
	    names) == ERR_OK ? 0 : -1;
out:
	for (i = 0; ts != NULL && names != NULL && i < ntpl; i++) {
		free(ts[i].name);
		if (ts[i].targets != NULL)
			free(ts[i].targets[0]);
		free(ts[i].targets);
		free(names[i]);
	}
	free(ts);
	free(names);
	tenantdb_close(tdb);
	return rc;
}

int
main(int argc, char *argv[])
{
	struct conf	*cfg;
	struct keyring	*kr;
	struct registry	*reg;
	struct tenant	 t;
	struct install	 in;
	char		 err[CONF_ERRLEN], ck[64], secret[80];
	unsigned char	 rnd[16];
	long long	 t0;
	FILE		*secrets = NULL;
	int		 n, ntpl, i, created;

	umask(077);
	if ((argc != 4 && argc != 5) || (n = atoi(argv[2])) <= 0 ||
	    (ntpl = atoi(argv[3])) < 0) {
		fprintf(stderr, "usage: bench-populate CONFIG_DIR TENANTS "
		    "TEMPLATES [SECRETS]\n");
		return 2;
	}
	if (sodium_init() < 0 || db_selftest() == -1 ||
	    (cfg = conf_load_cellar(argv[1], err)) == NULL ||
	    (kr = keys_load(conf_str(cfg, C_KEYS_DIR), err,
	    sizeof(err))) == NULL ||
	    (reg = registry_open(conf_str(cfg, C_SERVER_STATE_DIR), kr, 0,
	    err, sizeof(err))) == NULL) {
		fprintf(stderr, "bench-populate: set-up failed\n");
		return 1;
	}
	if (argc == 5 && (secrets = fopen(argv[4], "w")) == NULL) {
		fprintf(stderr, "bench-populate: %s: cannot write\n", argv[4]);
		return 1;
	}
	t0 = clock_mono_usec();
	for (i = 0; i < n; i++) {
		randombytes_buf(rnd, sizeof(rnd));
		snprintf(ck, sizeof(ck), "bench-%d-%02x%02x%02x%02x", i,
		    rnd[0], rnd[1], rnd[2], rnd[3]);
		snprintf(secret, sizeof(secret), "bench-secret-%02x%02x%02x%02x"
		    "-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", rnd[4], rnd[5], rnd[6],
		    rnd[7]);
		memset(&in, 0, sizeof(in));
		in.client_key = ck;
		in.shared_secret = secret;
		in.base_url = "https://bench.example.net";
		in.product_type = "jira";
		if (registry_install(reg, &in, clock_now(), &t, &created) !=
		    ERR_OK || (ntpl > 0 && fill(reg, &t, ntpl) == -1)) {
			fprintf(stderr, "bench-populate: tenant %d failed\n", i);
			return 1;
		}
		registry_tenant_free(&t);
		if (secrets != NULL)
			fprintf(secrets, "%s %s\n", ck, secret);
	}
	if (secrets != NULL && fclose(secrets) != 0) {
		fprintf(stderr, "bench-populate: %s: write failed\n", argv[4]);
		return 1;
	}
	printf("populated %d tenants x %d templates in %.1f s\n", n, ntpl,
	    (double)(clock_mono_usec() - t0) / 1e6);
	registry_close(reg);
	keys_free(kr);
	conf_free(cfg);
	return 0;
}
