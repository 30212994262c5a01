/*
 * silence: Forge has no uninstall event.  Its installations are heard
 * from by every FIT, every event and the hourly scheduled trigger
 * (POST /forge/cron), each recording "last seen"; a tenant reached
 * through Forge alone whose every installation has been silent for
 * [forge] silent_days is treated as uninstalled since its last word: it
 * departs as of its newest last seen, and the purge follows [reaper]
 * grace_days after that word (at once if that is past), so its data is
 * gone within grace_days of the site's last word, as for a Connect
 * uninstall (a FIT before the purge reinstates it, keeping its data).
 * A tenant that is also a Connect install is left to Connect's own
 * /uninstalled: its Connect traffic is not "heard from".
 *
 * One step per tenant, one registry transaction each
 * (registry_forge_silent_depart), which departs it only if it is still
 * silent then (a FIT may have come since the list was read) and audits
 * "forge_silent": a run killed at any instant leaves each tenant either
 * departed and audited or untouched, and the next run finishes the
 * rest.  An installation never heard from through Forge (linked by a
 * Connect payload or an operator only) is never silent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cellar/clock.h"
#include "cellar/conf.h"
#include "cellar/log.h"
#include "cellar/registry.h"
#include "cellar/util.h"
#include "reaper.h"

/* registry_installations's callback: the newest last seen, into arg. */
static int
newest(const struct installation *in, void *arg)
{
	long long	*last = arg;

	if (in->last_seen_at > *last)
		*last = in->last_seen_at;
	return 0;
}

/* The silent tenants' ids, collected before any is changed. */
struct silent {
	struct reaper	*r;
	char		(*ids)[TENANT_ID_LEN + 1];
	size_t		 n, cap;
};

static int
collect(const struct tenant *t, void *arg)
{
	struct silent	*s = arg;
	char		(*v)[TENANT_ID_LEN + 1];

	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		if ((v = reallocarray(s->ids, s->cap, sizeof(*v))) == NULL)
			return -1;
		s->ids = v;
	}
	memcpy(s->ids[s->n++], t->id, TENANT_ID_LEN + 1);
	return 0;
}

int
job_silence(struct reaper *r)
{
	struct silent	 s;
	long long	 days, cutoff, grace, last;
	size_t		 i, departed = 0, failed = 0;
	char		 when[21], seen[21], due[21];
	enum err	 e;

	memset(&s, 0, sizeof(s));
	s.r = r;
	days = conf_int(r->cfg, C_FORGE_SILENT_DAYS);
	cutoff = r->now - days * CLOCK_DAY;
	grace = conf_int(r->cfg, C_REAPER_GRACE_DAYS);
	if (registry_forge_silent(r->reg, cutoff, collect, &s) == -1) {
		log_msg(LOGL_ERR, NULL, "job=silence reason=registry_read");
		free(s.ids);
		return -1;
	}
	util_iso8601(when, cutoff);
	for (i = 0; i < s.n; i++) {
		if (r->dry_run) {
			last = 0;
			if (registry_installations(r->reg, s.ids[i], newest,
			    &last) == -1) {
				log_msg(LOGL_ERR, NULL, "job=silence tenant=%s "
				    "reason=registry_read", s.ids[i]);
				failed++;
				continue;
			}
			util_iso8601(seen, last);
			util_iso8601(due, last + grace * CLOCK_DAY);
			printf("silence: would depart tenant %s (last heard "
			    "from %s, before the cutoff %s; deletion due "
			    "%s)\n", s.ids[i], seen, when, due);
			continue;
		}
		e = registry_forge_silent_depart(r->reg, s.ids[i], cutoff,
		    r->now, grace);
		if (e == ERR_NOT_FOUND)
			continue;	/* heard from meanwhile */
		if (e != ERR_OK) {
			log_msg(LOGL_ERR, NULL, "job=silence tenant=%s "
			    "reason=depart_failed", s.ids[i]);
			failed++;
			continue;
		}
		log_msg(LOGL_INFO, NULL, "job=silence tenant=%s departed "
		    "silent_days=%lld", s.ids[i], days);
		departed++;
		reaper_step("silence.tenant_departed");
	}
	snprintf(r->detail, sizeof(r->detail), "%zu tenants silent for %lld "
	    "days, %zu departed, %zu failed%s", s.n, days, departed, failed,
	    r->dry_run ? " (nothing changed)" : "");
	free(s.ids);
	return failed > 0 ? -1 : 0;
}
