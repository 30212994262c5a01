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

#include "cellar/conf.h"
#include "cellar/db.h"
#include "cellar/jira.h"
#include "cellar/keys.h"
#include "cellar/registry.h"
#include "cellar/version.h"

static int
cmd_config_check(const char *dir, char **args)
{
	struct conf	*cfg;
	char		 err[CONF_ERRLEN];

	(void)args;
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
cmd_init(const char *dir, char **args)
{
	struct conf	*cfg;
	struct keyring	*kr = NULL;
	struct registry	*reg = NULL;
	char		 err[CONF_ERRLEN];
	int		 rc = 1;

	(void)args;
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
cmd_tenants(const char *dir, char **args)
{
	struct conf	*cfg = NULL;
	struct keyring	*kr;
	struct registry	*reg;
	int		 rc = 1;

	(void)args;
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
cmd_tenant_ping(const char *dir, char **args)
{
	struct conf	*cfg = NULL;
	struct keyring	*kr;
	struct registry	*reg;
	struct tenant	 t;
	struct jira_reply jr;
	const char	*id = args[0];
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
	registry_tenant_free(&t);
	close_registry(cfg, kr, reg);
	return rc;
}

static int
cmd_config_example(const char *dir, char **args)
{
	(void)dir;
	(void)args;
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

static int
cmd_version(const char *dir, char **args)
{
	(void)dir;
	(void)args;
	printf("cellarctl %s\n", CELLAR_VERSION);
	return ferror(stdout) ? 1 : 0;
}

/*
 * The commands: the words that name each, how many arguments follow
 * them, and what usage() shows for the arguments.
 */
static const struct cmd {
	const char	*words[2];	/* second NULL: one word */
	int		 nargs;
	const char	*args;		/* for usage(); "" for none */
	int		 uses_config;	/* [--config DIR] applies */
	int		(*fn)(const char *dir, char **args);
} cmds[] = {
	{ { "init", NULL }, 0, "", 1, cmd_init },
	{ { "config", "check" }, 0, "", 1, cmd_config_check },
	{ { "tenants", NULL }, 0, "", 1, cmd_tenants },
	{ { "tenant", "ping" }, 1, " TENANT-ID", 1, cmd_tenant_ping },
	{ { "config", "example" }, 0, "", 0, cmd_config_example },
	{ { "version", NULL }, 0, "", 0, cmd_version },
};

#define NCMDS	(sizeof(cmds) / sizeof(cmds[0]))

static int
usage(void)
{
	size_t	 i;

	for (i = 0; i < NCMDS; i++)
		fprintf(stderr, "%s cellarctl %s%s%s%s%s\n",
		    i == 0 ? "usage:" : "      ",
		    cmds[i].uses_config ? "[--config DIR] " : "",
		    cmds[i].words[0], cmds[i].words[1] != NULL ? " " : "",
		    cmds[i].words[1] != NULL ? cmds[i].words[1] : "",
		    cmds[i].args);
	return 2;
}

/* The command argv[1..] names, or NULL. */
static const struct cmd *
cmd_find(int argc, char **argv)
{
	size_t	 i;
	int	 nw;

	for (i = 0; i < NCMDS; i++) {
		nw = cmds[i].words[1] != NULL ? 2 : 1;
		if (argc != 1 + nw + cmds[i].nargs ||
		    strcmp(argv[1], cmds[i].words[0]) != 0 ||
		    (nw == 2 && strcmp(argv[2], cmds[i].words[1]) != 0))
			continue;
		return &cmds[i];
	}
	return NULL;
}

int
main(int argc, char *argv[])
{
	const struct cmd *c;
	const char	*dir;

	umask(077);
	if (sodium_init() < 0) {
		fprintf(stderr, "cellarctl: sodium_init failed\n");
		return 1;
	}
	if ((dir = conf_dir_from_args(&argc, argv)) == NULL || argc < 2 ||
	    (c = cmd_find(argc, argv)) == NULL)
		return usage();
	return c->fn(dir, argv + 1 + (c->words[1] != NULL ? 2 : 1));
}
