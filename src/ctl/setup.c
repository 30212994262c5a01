/*
 * Setting cellar up: init, and the checks a worker would fail on, told
 * before it does.
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cellar/conf.h"
#include "cellar/db.h"
#include "cellar/keys.h"
#include "cellar/registry.h"
#include "cellar/util.h"
#include "ctl.h"

/* Creates dir and any missing parent, new ones mode 0700; 0 or -1. */
static int
mkdir_p(const char *dir)
{
	char	*p, *s;
	int	 rc = 0;

	if ((s = strdup(dir)) == NULL)
		return -1;
	for (p = s + 1; rc == 0 && *p != '\0'; p++)
		if (*p == '/') {
			*p = '\0';
			if (mkdir(s, 0700) == -1 && errno != EEXIST)
				rc = -1;
			*p = '/';
		}
	if (rc == 0 && mkdir(s, 0700) == -1 && errno != EEXIST)
		rc = -1;
	free(s);
	return rc;
}

/* 1 if state holds a registry, 0 if not, -1 on no memory. */
static int
registry_exists(const char *state)
{
	char	*path;
	int	 yes;

	if ((path = util_path_join(state, "registry.db")) == NULL)
		return -1;
	yes = access(path, F_OK) == 0;
	free(path);
	return yes;
}

/* Reports a registry that would not open; says what to do if it can. */
static void
wrong_key_hint(const char *err, const char *keys, const char *state)
{
	if (strstr(err, db_status_code(DB_WRONG_KEY)) != NULL)
		fprintf(stderr, "cellarctl: the master keys in %s do not open "
		    "%s/registry.db: restore the key files it was made with "
		    "(%s)\n", keys, state, err);
	else
		fprintf(stderr, "cellarctl: %s\n", err);
}

/*
 * Creates what a worker needs and is missing: the state directory, the
 * key directory with master key version 1, the encrypted registry.  Each
 * step checks what is there first, so a run that failed half-way is
 * completed by the next one; nothing that exists is replaced.
 */
int
cmd_init(const char *dir, char **args)
{
	struct conf	*cfg;
	struct keyring	*kr = NULL;
	struct registry	*reg = NULL;
	char		 err[CONF_ERRLEN], *path = NULL;
	const char	*state, *keys;
	int		 rc = 1, made_key = 0, had_registry;

	(void)args;
	if ((cfg = conf_load_cellar(dir, err)) == NULL) {
		fprintf(stderr, "cellarctl: %s\n", err);
		return 1;
	}
	state = conf_str(cfg, C_SERVER_STATE_DIR);
	keys = conf_str(cfg, C_KEYS_DIR);
	if (db_selftest() == -1) {
		fprintf(stderr, "cellarctl: cipher self-test failed\n");
		goto out;
	}
	if (mkdir_p(state) == -1) {
		fprintf(stderr, "cellarctl: %s: %s\n", state, strerror(errno));
		goto out;
	}
	if ((path = util_path_join(state, "registry.db")) == NULL)
		goto out;
	had_registry = access(path, F_OK) == 0;
	/* A new key could never open an existing registry. */
	if (had_registry && !keys_present(keys)) {
		fprintf(stderr, "cellarctl: %s exists but %s holds no master "
		    "key: restore the key files; a new key cannot open it\n",
		    path, keys);
		goto out;
	}
	if (!keys_present(keys)) {
		if (keys_init_dir(keys, err, sizeof(err)) == -1) {
			fprintf(stderr, "cellarctl: %s\n", err);
			goto out;
		}
		made_key = 1;
	}
	if ((kr = keys_load(keys, err, sizeof(err))) == NULL) {
		fprintf(stderr, "cellarctl: %s\n", err);
		goto out;
	}
	if ((reg = registry_open(state, kr, 1, err, sizeof(err))) == NULL) {
		wrong_key_hint(err, keys, state);
		goto out;
	}
	if (!made_key && had_registry)
		printf("cellar is already initialised: master key version %d "
		    "in %s, registry in %s; nothing changed\n",
		    keys_current(kr), keys, state);
	else
		printf("%s master key version %d in %s and %s the registry "
		    "in %s\n", made_key ? "created" : "kept",
		    keys_current(kr), keys, had_registry ? "kept" :
		    "created", state);
	rc = 0;
out:
	free(path);
	registry_close(reg);
	keys_free(kr);
	conf_free(cfg);
	return rc;
}

/*
 * As root, a file the workers' user owns is theirs to open: say which
 * user to run as instead of failing on modes.  0 if fine, -1 (reported).
 */
static int
owner_hint(const char *what, const char *path)
{
	struct stat	 st;
	struct passwd	*pw;

	if (geteuid() != 0 || stat(path, &st) == -1 || st.st_uid == 0)
		return 0;
	pw = getpwuid(st.st_uid);
	fprintf(stderr, "cellarctl: %s %s belongs to another user: run as "
	    "user %s (sudo -u %s cellarctl ...)\n", what, path,
	    pw != NULL ? pw->pw_name : "(unknown)",
	    pw != NULL ? pw->pw_name : "USER");
	return -1;
}

/* The state directory as a worker needs it: ours, 0700.  0 or -1. */
static int
state_ok(const char *dir)
{
	struct stat	 st;

	if (stat(dir, &st) == -1) {
		fprintf(stderr, "cellarctl: state directory %s: %s (run "
		    "cellarctl init)\n", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "cellarctl: state directory %s is not a "
		    "directory\n", dir);
		return -1;
	}
	if (st.st_uid != geteuid()) {
		fprintf(stderr, "cellarctl: state directory %s is not owned "
		    "by this user\n", dir);
		return -1;
	}
	if ((st.st_mode & 0077) != 0) {
		fprintf(stderr, "cellarctl: state directory %s is open to "
		    "group or others (mode %03o): chmod 700 %s\n", dir,
		    (unsigned)(st.st_mode & 0777), dir);
		return -1;
	}
	return 0;
}

/*
 * What a worker opens at start, opened the same way: the configuration,
 * the state directory, the master keys, the registry.  Prints the
 * effective configuration on stdout; each problem, with what to do, on
 * stderr.
 */
int
cmd_config_check(const char *dir, char **args)
{
	struct conf	*cfg;
	struct keyring	*kr = NULL;
	struct registry	*reg = NULL;
	char		 err[CONF_ERRLEN];
	const char	*state, *keys;
	int		 rc = 1, had_registry;

	(void)args;
	if ((cfg = conf_load_cellar(dir, err)) == NULL) {
		fprintf(stderr, "cellarctl: %s\n", err);
		return 1;
	}
	conf_dump(cfg, stdout);
	fflush(stdout);
	state = conf_str(cfg, C_SERVER_STATE_DIR);
	keys = conf_str(cfg, C_KEYS_DIR);
	if (owner_hint("state directory", state) == -1 ||
	    owner_hint("key directory", keys) == -1 || state_ok(state) == -1)
		goto out;
	if ((had_registry = registry_exists(state)) == -1)
		goto out;
	/* No key: init makes one, unless a registry needs the old one. */
	if (access(keys, F_OK) == -1 || !keys_present(keys)) {
		if (had_registry)
			fprintf(stderr, "cellarctl: %s holds no master key, but "
			    "%s/registry.db exists: restore the key files it "
			    "was made with (a new key cannot open it)\n", keys,
			    state);
		else
			fprintf(stderr, "cellarctl: key directory %s holds no "
			    "master key (run cellarctl init)\n", keys);
		goto out;
	}
	if ((kr = keys_load(keys, err, sizeof(err))) == NULL) {
		fprintf(stderr, "cellarctl: %s\n", err);
		goto out;
	}
	if (!had_registry) {
		fprintf(stderr, "cellarctl: %s/registry.db does not exist (run "
		    "cellarctl init)\n", state);
		goto out;
	}
	if ((reg = registry_open(state, kr, 0, err, sizeof(err))) == NULL) {
		wrong_key_hint(err, keys, state);
		goto out;
	}
	rc = ferror(stdout) ? 1 : 0;
out:
	registry_close(reg);
	keys_free(kr);
	conf_free(cfg);
	return rc;
}

int
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

int
open_registry(const char *dir, struct conf **cfg, struct keyring **kr,
    struct registry **reg)
{
	char	 err[CONF_ERRLEN];

	*kr = NULL;
	*reg = NULL;
	if ((*cfg = conf_load_cellar(dir, err)) == NULL) {
		fprintf(stderr, "cellarctl: %s\n", err);
		return -1;
	}
	/* As root on the service user's files: say whom to run as. */
	if (owner_hint("state directory", conf_str(*cfg,
	    C_SERVER_STATE_DIR)) == -1 || owner_hint("key directory",
	    conf_str(*cfg, C_KEYS_DIR)) == -1)
		return -1;
	if ((*kr = keys_load(conf_str(*cfg, C_KEYS_DIR), err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "cellarctl: %s\n", err);
		return -1;
	}
	if ((*reg = registry_open(conf_str(*cfg, C_SERVER_STATE_DIR), *kr, 0,
	    err, sizeof(err))) == NULL) {
		wrong_key_hint(err, conf_str(*cfg, C_KEYS_DIR),
		    conf_str(*cfg, C_SERVER_STATE_DIR));
		return -1;
	}
	return 0;
}

void
close_registry(struct conf *cfg, struct keyring *kr, struct registry *reg)
{
	registry_close(reg);
	keys_free(kr);
	conf_free(cfg);
}
