/*
 * Connect lifecycle: /installed and /uninstalled (RS256 signed installs,
 * verified by the router before we run), /enabled and /disabled (HS256
 * page tokens).  The payload is validated field by field; only the
 * fields listed here are read, the rest is ignored.  A Connect app that
 * is also a Forge app (Connect on Forge) names its Forge installation
 * (installationId) and the site (cloudId): the registry links them to
 * the tenant, so that its Forge requests reach the same data.
 */
#include <stdlib.h>
#include <string.h>

#include "cellar/clock.h"
#include "cellar/fit.h"
#include "cellar/json.h"
#include "cellar/log.h"
#include "cellar/registry.h"
#include "cellar/util.h"
#include "fcgi.h"

/* Reads an optional printable string of at most max bytes. */
static int
opt_str(const cJSON *o, const char *key, size_t max, const char **out)
{
	enum json_status st = json_get_str(o, key, 0, max, out);

	if (st == JSON_MISSING) {
		*out = NULL;
		return 0;
	}
	if (st != JSON_OK || !util_printable(*out))
		return -1;
	if (**out == '\0')
		*out = NULL;
	return 0;
}

/* A URL field: checked and normalised into buf. */
static int
url_field(const cJSON *o, const char *key, int required, char *buf,
    size_t bufsz, const char **out)
{
	const char	*v;
	enum json_status st = json_get_str(o, key, 1, bufsz - 1, &v);

	*out = NULL;
	if (st == JSON_MISSING && !required)
		return 0;
	if (st != JSON_OK)
		return -1;
	memcpy(buf, v, strlen(v) + 1);
	if (util_url_check(buf) != NULL)
		return -1;
	*out = buf;
	return 0;
}

/* 1 if o has no member key, or null. */
static int
absent(const cJSON *o, const char *key)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, key);

	return v == NULL || cJSON_IsNull(v);
}

/* 1 if s is a cloud id: 1-64 of [A-Za-z0-9-]. */
static int
cloud_id_ok(const char *s)
{
	size_t	 n = strlen(s);

	return n >= 1 && n <= 64 && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

/*
 * Validates an install payload into in.  Returns NULL or the name of the
 * first bad field (for the log; never its value).
 */
static const char *
install_parse(const struct req *r, const char *event, struct install *in,
    char *base, char *display, size_t urlsz)
{
	const cJSON	*o = r->json;
	const char	*v;

	memset(in, 0, sizeof(*in));
	if (!cJSON_IsObject(o))
		return "body";
	if (json_get_str(o, "key", 1, 64, &v) != JSON_OK ||
	    strcmp(v, conf_str(r->app->cfg, C_APP_KEY)) != 0)
		return "key";
	if (json_get_str(o, "eventType", 1, 32, &v) != JSON_OK ||
	    strcmp(v, event) != 0)
		return "eventType";
	if (json_get_str(o, "clientKey", 1, 255, &in->client_key) !=
	    JSON_OK || !util_printable(in->client_key))
		return "clientKey";
	if (json_get_str(o, "sharedSecret", 32, SECRET_MAX,
	    &in->shared_secret) != JSON_OK ||
	    !util_printable(in->shared_secret))
		return "sharedSecret";
	if (url_field(o, "baseUrl", 1, base, urlsz, &in->base_url) == -1)
		return "baseUrl";
	if (url_field(o, "displayUrl", 0, display, urlsz,
	    &in->display_url) == -1)
		return "displayUrl";
	if (json_get_str(o, "productType", 1, 32, &in->product_type) !=
	    JSON_OK || !util_printable(in->product_type))
		return "productType";
	if (opt_str(o, "serverVersion", 64, &in->server_version) == -1)
		return "serverVersion";
	if (opt_str(o, "pluginsVersion", 64, &in->plugins_version) == -1)
		return "pluginsVersion";
	if (opt_str(o, "serviceEntitlementNumber", 64, &in->sen) == -1)
		return "serviceEntitlementNumber";
	if (opt_str(o, "oauthClientId", 128, &in->oauth_client_id) == -1)
		return "oauthClientId";
	/*
	 * Connect on Forge: both optional (absent or null), both exact;
	 * the installation id as a FIT names it (fit_installation_ok).
	 */
	if (json_get_str(o, "installationId", 1, 128, &v) == JSON_OK &&
	    fit_installation_ok(v))
		in->installation_id = v;
	else if (!absent(o, "installationId"))
		return "installationId";
	if (json_get_str(o, "cloudId", 1, 64, &v) == JSON_OK && cloud_id_ok(v))
		in->cloud_id = v;
	else if (!absent(o, "cloudId"))
		return "cloudId";
	in->grace_days = conf_int(r->app->cfg, C_REAPER_GRACE_DAYS);
	return NULL;
}

enum err
route_installed(struct req *r, struct reply *rep)
{
	struct install	 in;
	struct tenant	 t;
	char		 base[256], display[256];
	const char	*bad;
	enum err	 e;
	int		 created;

	if ((bad = install_parse(r, "installed", &in, base, display,
	    sizeof(base))) != NULL) {
		log_msg(LOGL_WARN, r->rid, "reason=install_invalid field=%s",
		    bad);
		return ERR_UNPROCESSABLE;
	}
	if ((e = registry_install(r->app->reg, &in, clock_now(), &t,
	    &created)) != ERR_OK)
		return e;
	log_msg(LOGL_INFO, r->rid, "event=%s tenant=%s%s",
	    created ? "install" : "reinstall", t.id,
	    in.installation_id != NULL ? " forge_linked=1" : "");
	registry_tenant_free(&t);
	rep->status = 204;
	return ERR_OK;
}

enum err
route_uninstalled(struct req *r, struct reply *rep)
{
	struct tenant	 t;
	const char	*ck;
	enum err	 e;

	if (json_get_str(r->json, "clientKey", 1, 255, &ck) != JSON_OK)
		return ERR_UNPROCESSABLE;
	e = registry_find(r->app->reg, ck, &t);
	if (e == ERR_NOT_FOUND) {
		/* Nothing of theirs is here: done already. */
		log_msg(LOGL_INFO, r->rid, "event=uninstall_unknown_tenant");
		rep->status = 204;
		return ERR_OK;
	}
	if (e != ERR_OK)
		return e;
	if (t.state == TENANT_INSTALLED)
		e = registry_uninstall(r->app->reg, t.id, clock_now(),
		    conf_int(r->app->cfg, C_REAPER_GRACE_DAYS));
	if (e == ERR_OK) {
		log_msg(LOGL_INFO, r->rid, "event=uninstall tenant=%s", t.id);
		rep->status = 204;
	}
	registry_tenant_free(&t);
	return e;
}

static enum err
set_enabled(struct req *r, struct reply *rep, int enabled)
{
	const char	*ck;
	enum err	 e;

	/* The body must speak for the tenant the token verified. */
	if (json_get_str(r->json, "clientKey", 1, 255, &ck) != JSON_OK ||
	    r->tenant->client_key == NULL ||
	    strcmp(ck, r->tenant->client_key) != 0)
		return ERR_UNPROCESSABLE;
	if ((e = registry_set_enabled(r->app->reg, r->tenant->id, enabled,
	    clock_now())) != ERR_OK)
		return e;
	log_msg(LOGL_INFO, r->rid, "event=%s tenant=%s",
	    enabled ? "enabled" : "disabled", r->tenant->id);
	rep->status = 204;
	return ERR_OK;
}

enum err
route_enabled(struct req *r, struct reply *rep)
{
	return set_enabled(r, rep, 1);
}

enum err
route_disabled(struct req *r, struct reply *rep)
{
	return set_enabled(r, rep, 0);
}
