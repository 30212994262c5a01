/*
 * The tenants, as an operator sees them: the list, one tenant with its
 * Forge installations, a signed call to a tenant's Jira, releasing a
 * held tenant, linking a Forge installation, and tenant files nobody
 * owns.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cellar/clock.h"
#include "cellar/conf.h"
#include "cellar/fit.h"
#include "cellar/jira.h"
#include "cellar/keys.h"
#include "cellar/registry.h"
#include "cellar/tenantdb.h"
#include "cellar/util.h"
#include "ctl.h"

/* Orphan files younger than this may be an install still running. */
#define ORPHAN_MIN_AGE	(10 * 60)

/* t as "YYYY-MM-DDTHH:MM:SSZ" into out, or "-" for none. */
static const char *
iso(char out[21], long long t)
{
	if (t <= 0)
		return "-";
	util_iso8601(out, t);
	return out;
}

static const char *
tenant_state(const struct tenant *t)
{
	if (t->quarantined_at != 0)
		return "quarantined";
	return t->state == TENANT_INSTALLED ? "installed" : "departed";
}

/* A tenant's Forge installations, summed up for the list. */
struct forge_sum {
	int		 n;
	long long	 last_seen;	/* the newest; 0: never heard from */
};

static int
sum_installation(const struct installation *in, void *arg)
{
	struct forge_sum *f = arg;

	f->n++;
	if (in->last_seen_at > f->last_seen)
		f->last_seen = in->last_seen_at;
	return 0;
}

/*
 * One line per tenant: kind says how it is installed ("connect": a
 * Connect clientKey; "forge": Forge installations only; "both": linked),
 * then how many Forge installations it has and when the last was heard
 * from (the reaper's silence job reads the same times).
 */
static const char *
tenant_kind(const struct tenant *t, const struct forge_sum *f)
{
	if (t->client_key == NULL)
		return "forge";
	return f->n > 0 ? "both" : "connect";
}

/* The fields of a tenant both listings show, in their order. */
#define TENANT_FIELDS	10
static const char *const tenant_field_names[TENANT_FIELDS] = {
	"id", "state", "enabled", "installed", "delete_after", "quarantined",
	"kind", "installations", "last_seen", "base_url",
};

/*
 * Prints t's fields (no secrets): as one tab-separated line (cellarctl
 * tenants), or as one "name<TAB>value" line each (tenant show).
 */
static void
print_fields(const struct tenant *t, const struct forge_sum *f, int named)
{
	char		 a[21], b[21], c[21], d[21], n[16];
	const char	*v[TENANT_FIELDS];
	size_t		 i;

	snprintf(n, sizeof(n), "%d", f->n);
	v[0] = t->id;
	v[1] = tenant_state(t);
	v[2] = t->enabled ? "enabled" : "disabled";
	v[3] = iso(a, t->installed_at);
	v[4] = iso(b, t->delete_after);
	v[5] = iso(c, t->quarantined_at);
	v[6] = tenant_kind(t, f);
	v[7] = n;
	v[8] = iso(d, f->last_seen);
	v[9] = t->base_url != NULL ? t->base_url : "-";
	for (i = 0; i < TENANT_FIELDS; i++)
		if (named)
			printf("%s\t%s\n", tenant_field_names[i], v[i]);
		else
			printf("%s%s", v[i], i + 1 < TENANT_FIELDS ? "\t" :
			    "\n");
}

static int
print_tenant(const struct tenant *t, void *arg)
{
	struct registry	*reg = arg;
	struct forge_sum f = { 0, 0 };

	if (registry_installations(reg, t->id, sum_installation, &f) == -1)
		return -1;
	print_fields(t, &f, 0);
	return 0;
}

int
cmd_tenants(const char *dir, char **args)
{
	struct conf	*cfg = NULL;
	struct keyring	*kr;
	struct registry	*reg;
	size_t		 i;
	int		 rc = 1;

	(void)args;
	if (open_registry(dir, &cfg, &kr, &reg) == 0) {
		for (i = 0; i < TENANT_FIELDS; i++)
			printf("%s%s", i == 0 ? "# " : "\t",
			    tenant_field_names[i]);
		printf("\n");
		if (registry_each(reg, print_tenant, reg) >= 0)
			rc = 0;
		else
			fprintf(stderr, "cellarctl: cannot read the "
			    "registry\n");
	}
	close_registry(cfg, kr, reg);
	return ferror(stdout) ? 1 : rc;
}

/* 1 if id has the form of a tenant id, else 0 (and says so). */
static int
tenant_id_ok(const char *id)
{
	if (strlen(id) == TENANT_ID_LEN &&
	    strspn(id, "0123456789abcdef") == TENANT_ID_LEN)
		return 1;
	fprintf(stderr, "cellarctl: %s is not a tenant id (32 lowercase hex "
	    "digits, as cellarctl tenants lists them)\n", id);
	return 0;
}

static int
print_installation(const struct installation *in, void *arg)
{
	char	 a[21], b[21], c[21];

	(void)arg;
	printf("%s\t%s\t%s\t%s\t%s\t%s\n", in->installation_id,
	    in->cloud_id != NULL ? in->cloud_id : "-", in->linked_by,
	    iso(a, in->linked_at), iso(b, in->last_seen_at),
	    iso(c, in->preuninstall_at));
	return 0;
}

/*
 * One tenant: the fields cellarctl tenants lists, one "name<TAB>value"
 * line each, then its Forge installations under a "# installation_id"
 * header, one a line (what cellarctl tenant link and the
 * forge_cloud_shared audit records are read with).  No secrets.
 */
int
cmd_tenant_show(const char *dir, char **args)
{
	struct conf	*cfg = NULL;
	struct keyring	*kr;
	struct registry	*reg;
	struct tenant	 t;
	struct forge_sum f = { 0, 0 };
	const char	*id = args[0];
	enum err	 e;
	int		 rc = 1;

	memset(&t, 0, sizeof(t));
	if (!tenant_id_ok(id))
		return 2;
	if (open_registry(dir, &cfg, &kr, &reg) == -1)
		goto out;
	if ((e = registry_get(reg, id, &t)) != ERR_OK) {
		fprintf(stderr, "cellarctl: %s: %s\n", id, e ==
		    ERR_NOT_FOUND ? "no such tenant" : "registry error");
		goto out;
	}
	if (registry_installations(reg, id, sum_installation, &f) == -1) {
		fprintf(stderr, "cellarctl: cannot read the registry\n");
		goto out;
	}
	print_fields(&t, &f, 1);
	printf("# installation_id\tcloud_id\tlinked_by\tlinked_at\t"
	    "last_seen\tpreuninstall_at\n");
	if (registry_installations(reg, id, print_installation, NULL) == -1) {
		fprintf(stderr, "cellarctl: cannot read the registry\n");
		goto out;
	}
	rc = 0;
out:
	registry_tenant_free(&t);
	close_registry(cfg, kr, reg);
	return ferror(stdout) ? 1 : rc;
}

/*
 * Calls the tenant's Jira as the app (GET /rest/api/3/serverInfo): proves
 * its shared secret and base URL work, without reading customer data.
 */
int
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
		fprintf(stderr, "cellarctl: %s: Jira did not answer (the app "
		    "log line above says why)\n", id);
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

/*
 * Lifts the hold of a quarantined tenant, but only once its file opens
 * under its own key, names it, and reads back whole: the operator has
 * restored it (or found it sound).  Refuses otherwise, changing nothing.
 */
int
cmd_tenant_release(const char *dir, char **args)
{
	struct conf	*cfg = NULL;
	struct keyring	*kr;
	struct registry	*reg;
	struct tenant	 t;
	const char	*id = args[0];
	int		 rc = 1;

	memset(&t, 0, sizeof(t));
	if (open_registry(dir, &cfg, &kr, &reg) == -1)
		goto out;
	if (registry_get(reg, id, &t) != ERR_OK) {
		fprintf(stderr, "cellarctl: %s: no such tenant\n", id);
		goto out;
	}
	if (t.quarantined_at == 0) {
		fprintf(stderr, "cellarctl: %s is not quarantined\n", id);
		goto out;
	}
	if (tenantdb_verify(reg, &t) == -1) {
		fprintf(stderr, "cellarctl: %s: its file is still damaged or "
		    "not its own; restore it first (cellarctl restore), or "
		    "move the .db and any -journal, -wal and -shm aside "
		    "together and put the backup's .db in place (the tenant "
		    "stays held)\n", id);
		goto out;
	}
	if (registry_release(reg, id, clock_now()) != ERR_OK) {
		fprintf(stderr, "cellarctl: %s: cannot update the registry\n",
		    id);
		goto out;
	}
	printf("%s: released; its file is intact\n", id);
	rc = 0;
out:
	registry_tenant_free(&t);
	close_registry(cfg, kr, reg);
	return rc;
}

/*
 * Links a Forge installation to a tenant: what an operator does when a
 * Connect tenant's site reinstalled the app under Forge (a new
 * installation id, first seen as a tenant of its own) and the customer
 * wants the data it had.  If the installation was another tenant's it
 * moves, and that tenant, left with nothing, departs with the usual
 * grace: the output names it and says so.  Audited ("forge_link").
 */
int
cmd_tenant_link(const char *dir, char **args)
{
	struct conf	*cfg = NULL;
	struct keyring	*kr;
	struct registry	*reg;
	struct forge_seen s = { args[1], NULL, NULL };
	struct tenant	 old;
	const char	*id = args[0];
	char		 from[TENANT_ID_LEN + 1], when[21];
	enum err	 e;
	int		 rc = 1, departed;

	memset(&old, 0, sizeof(old));
	if (!tenant_id_ok(id))
		return 2;
	if (!fit_installation_ok(args[1])) {
		fprintf(stderr, "cellarctl: not an installation id: expected "
		    "ari:cloud:ecosystem::installation/ and a lowercase "
		    "UUID\n");
		return 2;
	}
	if (open_registry(dir, &cfg, &kr, &reg) == -1)
		goto out;
	e = registry_forge_link(reg, id, &s, "operator", clock_now(),
	    conf_int(cfg, C_REAPER_GRACE_DAYS), from, &departed);
	if (e == ERR_NOT_FOUND) {
		fprintf(stderr, "cellarctl: %s: no such tenant\n", id);
		goto out;
	}
	if (e != ERR_OK) {
		fprintf(stderr, "cellarctl: %s: cannot update the registry "
		    "(try again)\n", id);
		goto out;
	}
	rc = 0;
	if (from[0] == '\0')
		printf("%s: installation linked\n", id);
	else if (!departed)
		printf("%s: installation linked; moved from tenant %s, which "
		    "stays as it was (a Connect install or other "
		    "installations, or departed already)\n", id, from);
	else if (registry_get(reg, from, &old) == ERR_OK)
		printf("%s: installation linked; moved from tenant %s, which "
		    "had nothing left and departed (deleted after %s unless "
		    "it is installed again)\n", id, from,
		    iso(when, old.delete_after));
	else
		printf("%s: installation linked; moved from tenant %s, which "
		    "had nothing left and departed\n", id, from);
out:
	registry_tenant_free(&old);
	close_registry(cfg, kr, reg);
	return ferror(stdout) ? 1 : rc;
}

struct orphans {
	int		 remove;
	long long	 now;
	int		 failed;
};

static int
orphan_one(const char *id, const char *path, long long mtime, void *arg)
{
	struct orphans	*o = arg;
	char		 when[21];
	int		 old = o->now - mtime >= ORPHAN_MIN_AGE;

	util_iso8601(when, mtime);
	if (o->remove && old) {
		/* The .db with its -wal, -shm and -journal, all or none. */
		registry_remove_files(path);
		if (access(path, F_OK) == 0) {
			fprintf(stderr, "cellarctl: %s: cannot remove\n", path);
			o->failed = 1;
			return 0;
		}
		printf("removed\t%s\t%s\t%s\n", id, when, path);
	} else
		printf("%s\t%s\t%s\t%s\n", o->remove ? "kept (recent)" :
		    "orphan", id, when, path);
	return 0;
}

/*
 * Tenant files without a registry row (an install killed half-way):
 * listed; with --remove, those older than ORPHAN_MIN_AGE are removed (a
 * younger one may belong to an install in progress).
 */
int
cmd_orphans(const char *dir, char **args)
{
	struct conf	*cfg = NULL;
	struct keyring	*kr;
	struct registry	*reg;
	struct orphans	 o = { 0, clock_now(), 0 };
	int		 rc = 1;

	if (args[0] != NULL) {
		if (strcmp(args[0], "--remove") != 0) {
			fprintf(stderr, "cellarctl: orphans takes --remove "
			    "only\n");
			return 2;
		}
		o.remove = 1;
	}
	if (open_registry(dir, &cfg, &kr, &reg) == 0) {
		printf("# what\tid\tmodified\tpath\n");
		if (registry_orphans(reg, orphan_one, &o) >= 0 && !o.failed)
			rc = 0;
		else if (!o.failed)
			fprintf(stderr, "cellarctl: cannot read the tenant "
			    "files\n");
	}
	close_registry(cfg, kr, reg);
	return rc;
}
