/*
 * cellarctl rotate --status: every kind of key, its version and age, as
 * the registry and the key directory say (the reaper's rotate job
 * replaces them; README, "The reaper").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cellar/clock.h"
#include "cellar/conf.h"
#include "cellar/keys.h"
#include "cellar/registry.h"
#include "ctl.h"

struct status {
	struct registry	*reg;
	long long	 now;
	size_t		 tenants, pending, old_secrets;
	long long	 oldest_dek;	/* seconds */
	long long	 master_made;	/* registry's record, 0: none */
	int		 min_v, max_v, current_master;
	char		 destroyed[128];
};

static int
tenant_one(const struct tenant *t, void *arg)
{
	struct status	*s = arg;
	unsigned char	 probe[KEY_BYTES];
	int		 v;

	s->tenants++;
	if (s->now - t->dek_created > s->oldest_dek)
		s->oldest_dek = s->now - t->dek_created;
	if (s->min_v == 0 || t->dek_version < s->min_v)
		s->min_v = t->dek_version;
	if (t->dek_version > s->max_v)
		s->max_v = t->dek_version;
	/* A tenant reached through Forge alone has no secret. */
	s->old_secrets += t->secret_sealed != NULL &&
	    t->secret_master != s->current_master;
	if (registry_dek_pending(s->reg, t->id, probe, &v) == 0)
		s->pending++;
	sodium_memzero(probe, sizeof(probe));
	return 0;
}

static int
retired_one(const char *id, int version, long long at, void *arg)
{
	(void)id;
	(void)version;
	(void)at;
	(*(size_t *)arg)++;
	return 0;
}

static int
master_one(int version, long long created, long long destroyed, void *arg)
{
	struct status	*s = arg;
	size_t		 len = strlen(s->destroyed);

	if (version == s->current_master)
		s->master_made = created;
	if (destroyed != 0 && len + 8 < sizeof(s->destroyed))
		snprintf(s->destroyed + len, sizeof(s->destroyed) - len,
		    "%s%d", len ? ", " : "", version);
	return 0;
}

int
cmd_rotate_status(const char *dir, char **args)
{
	struct status	 s;
	struct conf	*cfg = NULL;
	struct keyring	*kr;
	struct registry	*reg;
	long long	 made, days;
	size_t		 retired = 0;
	int		 rc = 1;

	if (args[0] == NULL || strcmp(args[0], "--status") != 0) {
		fprintf(stderr, "usage: cellarctl rotate --status (the "
		    "reaper rotates: cellar-reaper rotate)\n");
		return 2;
	}
	if (open_registry(dir, &cfg, &kr, &reg) == -1)
		goto out;
	memset(&s, 0, sizeof(s));
	s.reg = reg;
	s.now = clock_now();
	s.current_master = keys_current(kr);
	days = conf_int(cfg, C_REAPER_ROTATE_DAYS);
	if (registry_each(reg, tenant_one, &s) == -1 ||
	    registry_retired_keys(reg, retired_one, &retired) == -1 ||
	    registry_masters(reg, master_one, &s) == -1) {
		fprintf(stderr, "cellarctl: cannot read the registry\n");
		goto out;
	}
	made = s.master_made ? s.master_made : keys_created(kr,
	    s.current_master);
	printf("# kind\tversion\tage_days\tdetail (rotate_days = %lld)\n",
	    days);
	printf("master\t%d\t%lld\tdestroyed: %s\n", s.current_master,
	    made < 0 ? -1 : (s.now - made) / CLOCK_DAY,
	    s.destroyed[0] ? s.destroyed : "none");
	printf("registry\t%d\t-\tthe registry file is keyed from master %d\n",
	    registry_master(reg), registry_master(reg));
	printf("data_keys\t%d-%d\t%lld\t%zu tenants; oldest key %lld days; "
	    "%zu pending, %zu retired kept for old files or backups\n",
	    s.min_v, s.max_v, s.oldest_dek / CLOCK_DAY, s.tenants,
	    s.oldest_dek / CLOCK_DAY, s.pending, retired);
	printf("secrets\t%d\t-\t%zu of %zu shared secrets sealed under an "
	    "older master\n", s.current_master, s.old_secrets, s.tenants);
	rc = 0;
out:
	close_registry(cfg, kr, reg);
	return ferror(stdout) ? 1 : rc;
}
