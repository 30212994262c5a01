/*
 * cellarctl's commands, one file per group: setup.c (init, config check,
 * config example), tenants.c (tenants, tenant show/ping/release/link,
 * orphans), backups.c (backup list/verify, restore), audit.c (audit),
 * keys.c (rotate --status).
 * main.c holds the command table.  Private to src/ctl.
 *
 * Every command: dir is the configuration directory, args what follows
 * the command's words on the command line (their count checked by the
 * table).  Returns the exit status: 0 success, 1 the operation failed
 * (the message on stderr says why and what to do), 2 an argument of
 * the wrong form.
 */
#ifndef CELLAR_CTL_H
#define CELLAR_CTL_H

struct conf;
struct keyring;
struct registry;

int	 cmd_init(const char *dir, char **args);
int	 cmd_config_check(const char *dir, char **args);
int	 cmd_config_example(const char *dir, char **args);
int	 cmd_tenants(const char *dir, char **args);
int	 cmd_tenant_show(const char *dir, char **args);
int	 cmd_tenant_ping(const char *dir, char **args);
int	 cmd_tenant_release(const char *dir, char **args);
int	 cmd_tenant_link(const char *dir, char **args);
int	 cmd_orphans(const char *dir, char **args);
int	 cmd_backup_list(const char *dir, char **args);
int	 cmd_backup_verify(const char *dir, char **args);
int	 cmd_restore(const char *dir, char **args);
int	 cmd_audit(const char *dir, char **args);
int	 cmd_rotate_status(const char *dir, char **args);

/*
 * Loads config, keys and the existing registry; 0, or -1 with the
 * problem and what to do on stderr.  close_registry frees what it made.
 */
int	 open_registry(const char *dir, struct conf **, struct keyring **,
	    struct registry **);
void	 close_registry(struct conf *, struct keyring *, struct registry *);

#endif
