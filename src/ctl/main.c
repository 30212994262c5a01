/*
 * cellarctl: the operator's command line.  The commands are the table
 * below (usage() prints it); each lives in the file ctl.h names.
 *
 * Exit status: 0 success, 1 the operation failed (the message says why
 * and what to do), 2 usage (also an argument of the wrong form).
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "cellar/conf.h"
#include "cellar/version.h"
#include "ctl.h"

static int
cmd_version(const char *dir, char **args)
{
	(void)dir;
	(void)args;
	printf("cellarctl %s\n", CELLAR_VERSION);
	return ferror(stdout) ? 1 : 0;
}

static int	 cmd_help(const char *dir, char **args);

/*
 * The commands: the words that name each, how many arguments may follow
 * them, what usage() shows for those, and what the command does.
 */
static const struct cmd {
	const char	*words[2];	/* second NULL: one word */
	int		 min_args, max_args;
	const char	*args;		/* for usage(); "" for none */
	int		 uses_config;	/* [--config DIR] applies */
	const char	*help;
	int		(*fn)(const char *dir, char **args);
} cmds[] = {
	{ { "init", NULL }, 0, 0, "", 1, "create the state directory, master "
	    "key 1 and the registry (completes an earlier run)", cmd_init },
	{ { "config", "check" }, 0, 0, "", 1, "check the configuration and "
	    "open what a worker opens; print the effective values",
	    cmd_config_check },
	{ { "tenants", NULL }, 0, 0, "", 1, "list the tenants (no secrets)",
	    cmd_tenants },
	{ { "tenant", "show" }, 1, 1, " TENANT-ID", 1, "one tenant as "
	    "tenants lists it, with its Forge installations (ids, cloud id, "
	    "link, last seen; no secrets)", cmd_tenant_show },
	{ { "tenant", "ping" }, 1, 1, " TENANT-ID", 1, "a signed call to the "
	    "tenant's Jira", cmd_tenant_ping },
	{ { "tenant", "release" }, 1, 1, " TENANT-ID", 1, "lift a "
	    "quarantine once the tenant's file reads back intact",
	    cmd_tenant_release },
	{ { "tenant", "link" }, 2, 2, " TENANT-ID INSTALLATION-ID", 1,
	    "link a Forge installation (ari:cloud:ecosystem::installation/"
	    "UUID) to a tenant; a tenant it leaves with nothing departs",
	    cmd_tenant_link },
	{ { "orphans", NULL }, 0, 1, " [--remove]", 1, "tenant files that "
	    "belong to no tenant; --remove deletes those older than 10 "
	    "minutes", cmd_orphans },
	{ { "backup", "list" }, 0, 0, "", 1, "the backup runs under "
	    "[backup] dir, with their size and offsite status",
	    cmd_backup_list },
	{ { "backup", "verify" }, 0, 1, " [RUN]", 1, "reopen every copy of a "
	    "run (default: the newest) under its key and compare it with "
	    "the manifest", cmd_backup_verify },
	{ { "restore", NULL }, 1, 3, " TENANT-ID [--from RUN]", 1, "put a "
	    "tenant's file back from a run (default: the newest), while "
	    "workers serve the others", cmd_restore },
	{ { "rotate", NULL }, 1, 1, " --status", 1, "each kind of key, its "
	    "version and age (cellar-reaper rotate replaces them)",
	    cmd_rotate_status },
	{ { "audit", NULL }, 0, 1, " [--json]", 1, "each data-protection "
	    "promise with its evidence: ok or BROKEN (exit 1)", cmd_audit },
	{ { "config", "example" }, 0, 0, "", 0, "print the annotated example "
	    "configuration", cmd_config_example },
	{ { "version", NULL }, 0, 0, "", 0, "print the version",
	    cmd_version },
	{ { "help", NULL }, 0, 0, "", 0, "this text", cmd_help },
};

#define NCMDS	(sizeof(cmds) / sizeof(cmds[0]))

static void
usage_to(FILE *f)
{
	size_t	 i;

	for (i = 0; i < NCMDS; i++)
		fprintf(f, "%s cellarctl %s%s%s%s%s\n",
		    i == 0 ? "usage:" : "      ",
		    cmds[i].uses_config ? "[--config DIR] " : "",
		    cmds[i].words[0], cmds[i].words[1] != NULL ? " " : "",
		    cmds[i].words[1] != NULL ? cmds[i].words[1] : "",
		    cmds[i].args);
}

static int
cmd_help(const char *dir, char **args)
{
	size_t	 i;

	(void)dir;
	(void)args;
	usage_to(stdout);
	printf("\n");
	for (i = 0; i < NCMDS; i++)
		printf("  %s%s%s\n      %s\n", cmds[i].words[0],
		    cmds[i].words[1] != NULL ? " " : "",
		    cmds[i].words[1] != NULL ? cmds[i].words[1] : "",
		    cmds[i].help);
	printf("\nThe configuration is read from DIR (--config), else "
	    "$CELLAR_CONFIG, else\n/etc/cellar: cellar.conf, then "
	    "conf.d/*.conf.\n");
	return ferror(stdout) ? 1 : 0;
}

static int
usage(void)
{
	usage_to(stderr);
	return 2;
}

/* The command argv[1..] names, or NULL. */
static const struct cmd *
cmd_find(int argc, char **argv, int *words)
{
	size_t	 i;
	int	 nw, nargs;

	for (i = 0; i < NCMDS; i++) {
		nw = cmds[i].words[1] != NULL ? 2 : 1;
		nargs = argc - 1 - nw;
		if (nargs < cmds[i].min_args || nargs > cmds[i].max_args ||
		    strcmp(argv[1], cmds[i].words[0]) != 0 ||
		    (nw == 2 && strcmp(argv[2], cmds[i].words[1]) != 0))
			continue;
		*words = nw;
		return &cmds[i];
	}
	return NULL;
}

int
main(int argc, char *argv[])
{
	const struct cmd *c;
	const char	*dir;
	int		 words;

	umask(077);
	if (sodium_init() < 0) {
		fprintf(stderr, "cellarctl: sodium_init failed\n");
		return 1;
	}
	if ((dir = conf_dir_from_args(&argc, argv)) == NULL || argc < 2)
		return usage();
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return cmd_help(dir, argv + 2);
	if ((c = cmd_find(argc, argv, &words)) == NULL) {
		for (words = 0; (size_t)words < NCMDS; words++)
			if (strcmp(argv[1], cmds[words].words[0]) == 0)
				break;
		fprintf(stderr, "cellarctl: %s '%s'\n", (size_t)words < NCMDS ?
		    "wrong arguments for" : "unknown command", argv[1]);
		return usage();
	}
	return c->fn(dir, argv + 1 + words);
}
