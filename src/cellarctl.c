/*
 * cellarctl: the operator's command line.
 *
 *   cellarctl [--config DIR] init            master key 1 and the registry
 *   cellarctl [--config DIR] config check    validate, print the config
 *   cellarctl [--config DIR] tenants         list tenants (no secrets)
 *   cellarctl [--config DIR] tenant ping ID  signed call to its Jira
 *   cellarctl config example                 print the annotated example
 *   cellarctl version
 *
 * Exit status: 0 success, 1 the operation failed (the message says why),
 * 2 usage.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "app.h"
#include "db.h"
#include "jira.h"

static int
usage(void)
{
	fprintf(stderr,
	    "usage: cellarctl [--config DIR] init\n"
	    "       cellarctl [--config DIR] config check\n"
	    "       cellarctl [--config DIR] tenants\n"
	    "       cellarctl [--config DIR] tenant ping TENANT-ID\n"
	    "       cellarctl config example\n"
	    "       cellarctl version\n");
	return 2;
}

static int
cmd_config_check(const char *dir)
{
	struct conf	*cfg;
	char		 err[CONF_ERRLEN];

	if ((cfg = conf_load_cellar(dir, err)) == NULL) {
		fprintf(stderr, "cellarctl: %s\n", err);
		return 1;
	}
	conf_dump(cfg, stdout);
	conf_free(cfg);
	return ferror(stdout) ? 1 : 0;
}

/*
 * Creates master key version 1 (refusing to overwrite one, or to use a
 * directory others can read) and the encrypted registry.
 */
static int
cmd_init(const char *dir)
{
	struct conf	*cfg;
	struct keyring	*kr = NULL;
	struct registry	*reg = NULL;
	char		 err[CONF_ERRLEN];
	int		 rc = 1;

	if ((cfg = conf_load_cellar(dir, err)) == NULL) {
		fprintf(stderr, "cellarctl: %s\n", err);
		return 1;
	}
	if (db_selftest() == -1) {
		fprintf(stderr, "cellarctl: cipher self-test failed\n");
		goto out;
	}
	if (keys_init_dir(conf_str(cfg, C_KEYS_DIR), err, sizeof(err)) ==
	    -1 || (kr = keys_load(conf_str(cfg, C_KEYS_DIR), err,
	    sizeof(err))) == NULL || (reg = registry_open(conf_str(cfg,
	    C_SERVER_STATE_DIR), kr, 1, err, sizeof(err))) == NULL) {
		fprintf(stderr, "cellarctl: %s\n", err);
		goto out;
	}
	printf("created master key version %d in %s and the registry in %s\n",
	    keys_current(kr), conf_str(cfg, C_KEYS_DIR),
	    conf_str(cfg, C_SERVER_STATE_DIR));
	rc = 0;
out:
	registry_close(reg);
	keys_free(kr);
	conf_free(cfg);
	return rc;
}

/* Loads config, keys and the existing registry; 0 or -1 (reported). */
static int
open_registry(const char *dir, struct conf **cfg, struct keyring **kr,
    struct registry **reg)
{
	char	 err[CONF_ERRLEN];

	*kr = NULL;
	*reg = NULL;
	if ((*cfg = conf_load_cellar(dir, err)) == NULL ||
	    (*kr = keys_load(conf_str(*cfg, C_KEYS_DIR), err,
	    sizeof(err))) == NULL ||
	    (*reg = registry_open(conf_str(*cfg, C_SERVER_STATE_DIR), *kr, 0,
	    err, sizeof(err))) == NULL) {
		fprintf(stderr, "cellarctl: %s\n", err);
		return -1;
	}
	return 0;
}

static void
close_registry(struct conf *cfg, struct keyring *kr, struct registry *reg)
{
	registry_close(reg);
	keys_free(kr);
	conf_free(cfg);
}

static int
print_tenant(const struct tenant *t, void *arg)
{
	(void)arg;
	printf("%s\t%s\t%s\tinstalled=%lld\tdelete_after=%lld\t%s\n", t->id,
	    t->state == TENANT_INSTALLED ? "installed" : "departed",
	    t->enabled ? "enabled" : "disabled", t->installed_at,
	    t->delete_after, t->base_url);
	return 0;
}

static int
cmd_tenants(const char *dir)
{
	struct conf	*cfg = NULL;
	struct keyring	*kr;
	struct registry	*reg;
	int		 rc = 1;

	if (open_registry(dir, &cfg, &kr, &reg) == 0) {
		printf("# id\tstate\tenabled\tinstalled\tdelete_after\t"
		    "base_url\n");
		if (registry_each(reg, print_tenant, NULL) >= 0)
			rc = 0;
		else
			fprintf(stderr, "cellarctl: cannot read the "
			    "registry\n");
	}
	close_registry(cfg, kr, reg);
	return rc;
}

/*
 * Calls the tenant's Jira as the app (GET /rest/api/3/serverInfo): proves
 * its shared secret and base URL work, without reading customer data.
 */
static int
cmd_tenant_ping(const char *dir, const char *id)
{
	struct conf	*cfg = NULL;
	struct keyring	*kr;
	struct registry	*reg;
	struct tenant	 t;
	struct jira_reply jr;
	enum err	 e;
	int		 rc = 1;

	memset(&t, 0, sizeof(t));
	if (open_registry(dir, &cfg, &kr, &reg) == -1)
		goto out;
	if ((e = registry_get(reg, id, &t)) != ERR_OK) {
		fprintf(stderr, "cellarctl: %s: %s\n", id, e ==
		    ERR_NOT_FOUND ? "no such tenant" : "registry error");
		goto out;
	}
	if (jira_call(cfg, reg, &t, METHOD_GET, "/rest/api/3/serverInfo",
	    NULL, NULL, &jr) != ERR_OK) {
		fprintf(stderr, "cellarctl: %s: Jira did not answer\n", id);
		goto out;
	}
	printf("%s: Jira answered %ld\n", id, jr.status);
	rc = jr.status == 200 ? 0 : 1;
	jira_reply_free(&jr);
out:
	tenant_free(&t);
	close_registry(cfg, kr, reg);
	return rc;
}

static int
cmd_config_example(void)
{
	printf("# cellar configuration: %s/cellar.conf, then conf.d/*.conf in "
	    "lexical order,\n"
	    "# later files winning.  '#' or ';' at the start of a line "
	    "begins a comment.\n"
	    "# An unknown key or a bad value stops the program with "
	    "file:line: message.\n"
	    "# Generated by \"cellarctl config example\"; every key is "
	    "listed with its\n"
	    "# default, commented out.  Required keys are set to an "
	    "example value.\n", "/etc/cellar");
	conf_example(conf_schema, C__MAX, stdout);
	return ferror(stdout) ? 1 : 0;
}

int
main(int argc, char *argv[])
{
	const char	*dir;

	umask(077);
	if (sodium_init() < 0) {
		fprintf(stderr, "cellarctl: sodium_init failed\n");
		return 1;
	}
	if ((dir = conf_dir_from_args(&argc, argv)) == NULL)
		return usage();
	if (argc == 3 && strcmp(argv[1], "config") == 0 &&
	    strcmp(argv[2], "check") == 0)
		return cmd_config_check(dir);
	if (argc == 2 && strcmp(argv[1], "init") == 0)
		return cmd_init(dir);
	if (argc == 2 && strcmp(argv[1], "tenants") == 0)
		return cmd_tenants(dir);
	if (argc == 4 && strcmp(argv[1], "tenant") == 0 &&
	    strcmp(argv[2], "ping") == 0)
		return cmd_tenant_ping(dir, argv[3]);
	if (argc == 3 && strcmp(argv[1], "config") == 0 &&
	    strcmp(argv[2], "example") == 0)
		return cmd_config_example();
	if (argc == 2 && strcmp(argv[1], "version") == 0) {
		printf("cellarctl %s\n", CELLAR_VERSION);
		return 0;
	}
	return usage();
}
