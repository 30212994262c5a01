/*
 * Routes about the service itself: the Connect descriptor and the health
 * check.  Neither touches tenant data.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "cellar/clock.h"
#include "cellar/json.h"
#include "cellar/log.h"
#include "cellar/version.h"
#include "fcgi.h"
#include "panoramas.h"

/*
 * The panoramas' modules: the global permission every panorama route
 * asks for (granted to every user by default: a site admin narrows it
 * in Jira), and the webhook that removes a deleted issue's nodes.
 * 0, or -1 on no memory.
 */
static int
descriptor_panoramas(cJSON *modules)
{
	cJSON	*a, *m, *o;

	if ((a = cJSON_AddArrayToObject(modules,
	    "jiraGlobalPermissions")) == NULL ||
	    (m = cJSON_CreateObject()) == NULL)
		return -1;
	cJSON_AddItemToArray(a, m);
	if (cJSON_AddStringToObject(m, "key", PANORAMAS_PERMISSION) == NULL ||
	    (o = cJSON_AddObjectToObject(m, "name")) == NULL ||
	    cJSON_AddStringToObject(o, "value", "Use panoramas") == NULL ||
	    (o = cJSON_AddObjectToObject(m, "description")) == NULL ||
	    cJSON_AddStringToObject(o, "value", "View, create and change "
	    "panoramas: trees of issues across projects") == NULL ||
	    cJSON_AddBoolToObject(m, "anonymousAllowed", 0) == NULL ||
	    (o = cJSON_AddArrayToObject(m, "defaultGrants")) == NULL ||
	    !cJSON_AddItemToArray(o, cJSON_CreateString("all")))
		return -1;
	if ((a = cJSON_AddArrayToObject(modules, "webhooks")) == NULL ||
	    (m = cJSON_CreateObject()) == NULL)
		return -1;
	cJSON_AddItemToArray(a, m);
	if (cJSON_AddStringToObject(m, "event", "jira:issue_deleted") ==
	    NULL ||
	    cJSON_AddStringToObject(m, "url", "/webhooks/issue-deleted") ==
	    NULL)
		return -1;
	return 0;
}

/*
 * The context parameters an issue's modules pass to their page; Jira
 * substitutes them.  Ids and the key only: the page fetches the rest in
 * the browser, as the user.
 */
#define UI_ISSUE_QUERY	"?issueId={issue.id}&issueKey={issue.key}" \
			"&projectId={project.id}"
#define UI_ICON_CANNED	"/ui/icons/canned-responses.svg"
#define UI_ICON_PANO	"/ui/icons/panoramas.svg"

/* {"value": text} under name in o; the object, or NULL on no memory. */
static cJSON *
descriptor_i18n(cJSON *o, const char *name, const char *text)
{
	cJSON	*v;

	if ((v = cJSON_AddObjectToObject(o, name)) == NULL ||
	    cJSON_AddStringToObject(v, "value", text) == NULL)
		return NULL;
	return v;
}

/* {"width": 24, "height": 24, "url": url} as o's icon; 0 or -1. */
static int
descriptor_icon(cJSON *o, const char *url)
{
	cJSON	*v;

	if ((v = cJSON_AddObjectToObject(o, "icon")) == NULL ||
	    cJSON_AddNumberToObject(v, "width", 24) == NULL ||
	    cJSON_AddNumberToObject(v, "height", 24) == NULL ||
	    cJSON_AddStringToObject(v, "url", url) == NULL)
		return -1;
	return 0;
}

/*
 * A module object {"key": key, "name": {"value": name}} appended to the
 * array arr_name of modules (created when missing).  The module, or
 * NULL on no memory.
 */
static cJSON *
descriptor_module(cJSON *modules, const char *arr_name, const char *key,
    const char *name)
{
	cJSON	*a, *m;

	if ((a = cJSON_GetObjectItemCaseSensitive(modules, arr_name)) ==
	    NULL && (a = cJSON_AddArrayToObject(modules, arr_name)) == NULL)
		return NULL;
	if ((m = cJSON_CreateObject()) == NULL)
		return NULL;
	if (!cJSON_AddItemToArray(a, m)) {
		cJSON_Delete(m);
		return NULL;
	}
	if (cJSON_AddStringToObject(m, "key", key) == NULL ||
	    descriptor_i18n(m, "name", name) == NULL)
		return NULL;
	return m;
}

/*
 * The pages (src/ui, served by nginx; src/fcgi/route_ui.c is their gate),
 * each at a URL route_ui's table and nginx's page location know:
 *   generalPages       /ui/templates (canned responses), /ui/panoramas
 *   jiraIssueContents  /ui/picker: the issue view's canned-responses
 *                      button, opening the picker in a panel
 *   jiraIssueContexts  /ui/issue-panoramas: the panoramas holding the
 *                      issue, in the issue's context area
 *   adminPages, configurePage  /ui/admin: what cellar stores for the site
 * 0, or -1 on no memory.
 */
static int
descriptor_pages(const struct conf *cfg, cJSON *modules)
{
	cJSON	*m, *o;

	if ((m = descriptor_module(modules, "generalPages",
	    "canned-responses-manager", "Canned responses")) == NULL ||
	    cJSON_AddStringToObject(m, "url", "/ui/templates") == NULL ||
	    descriptor_icon(m, UI_ICON_CANNED) == -1)
		return -1;
	if ((m = descriptor_module(modules, "generalPages", "panoramas",
	    "Panoramas")) == NULL ||
	    cJSON_AddStringToObject(m, "url", "/ui/panoramas") == NULL ||
	    descriptor_icon(m, UI_ICON_PANO) == -1)
		return -1;
	if ((m = descriptor_module(modules, "jiraIssueContents",
	    "canned-responses", "Canned responses")) == NULL ||
	    descriptor_i18n(m, "tooltip", "Insert a canned response") ==
	    NULL ||
	    descriptor_icon(m, UI_ICON_CANNED) == -1 ||
	    (o = cJSON_AddObjectToObject(m, "target")) == NULL ||
	    cJSON_AddStringToObject(o, "type", "web_panel") == NULL ||
	    cJSON_AddStringToObject(o, "url", "/ui/picker" UI_ISSUE_QUERY) ==
	    NULL)
		return -1;
	if ((m = descriptor_module(modules, "jiraIssueContexts",
	    "issue-panoramas", "Panoramas")) == NULL ||
	    descriptor_icon(m, UI_ICON_PANO) == -1 ||
	    (o = cJSON_AddObjectToObject(m, "content")) == NULL ||
	    cJSON_AddStringToObject(o, "type", "label") == NULL ||
	    descriptor_i18n(o, "label", "Panoramas") == NULL ||
	    (o = cJSON_AddObjectToObject(m, "target")) == NULL ||
	    cJSON_AddStringToObject(o, "type", "web_panel") == NULL ||
	    cJSON_AddStringToObject(o, "url",
	    "/ui/issue-panoramas" UI_ISSUE_QUERY) == NULL)
		return -1;
	if ((m = descriptor_module(modules, "adminPages", "cellar-admin",
	    conf_str(cfg, C_APP_NAME))) == NULL ||
	    cJSON_AddStringToObject(m, "url", "/ui/admin") == NULL)
		return -1;
	if ((m = cJSON_AddObjectToObject(modules, "configurePage")) == NULL ||
	    cJSON_AddStringToObject(m, "key", "cellar-configure") == NULL ||
	    descriptor_i18n(m, "name", conf_str(cfg, C_APP_NAME)) == NULL ||
	    cJSON_AddStringToObject(m, "url", "/ui/admin") == NULL)
		return -1;
	return 0;
}

/*
 * Builds atlassian-connect.json from the configuration alone, so the
 * descriptor Jira sees is exactly what the operator configured and
 * nothing in the code adds scopes or modules behind their back.
 */
char *
app_descriptor(const struct conf *cfg, size_t *len)
{
	cJSON		*d, *o, *a;
	char		*out = NULL, *scopes = NULL, *p, *comma;
	char		 self[512];

	if ((d = cJSON_CreateObject()) == NULL)
		return NULL;
	snprintf(self, sizeof(self), "%s/atlassian-connect.json",
	    conf_str(cfg, C_APP_BASE_URL));
	if (cJSON_AddStringToObject(d, "key", conf_str(cfg, C_APP_KEY)) ==
	    NULL ||
	    cJSON_AddStringToObject(d, "name", conf_str(cfg, C_APP_NAME)) ==
	    NULL ||
	    cJSON_AddStringToObject(d, "description",
	    conf_str(cfg, C_APP_DESCRIPTION)) == NULL ||
	    cJSON_AddStringToObject(d, "baseUrl",
	    conf_str(cfg, C_APP_BASE_URL)) == NULL)
		goto out;
	if ((o = cJSON_AddObjectToObject(d, "vendor")) == NULL ||
	    cJSON_AddStringToObject(o, "name",
	    conf_str(cfg, C_APP_VENDOR_NAME)) == NULL ||
	    cJSON_AddStringToObject(o, "url",
	    conf_str(cfg, C_APP_VENDOR_URL)) == NULL)
		goto out;
	if ((o = cJSON_AddObjectToObject(d, "authentication")) == NULL ||
	    cJSON_AddStringToObject(o, "type", "jwt") == NULL)
		goto out;
	if ((o = cJSON_AddObjectToObject(d, "lifecycle")) == NULL ||
	    cJSON_AddStringToObject(o, "installed", "/installed") == NULL ||
	    cJSON_AddStringToObject(o, "uninstalled", "/uninstalled") ==
	    NULL ||
	    cJSON_AddStringToObject(o, "enabled", "/enabled") == NULL ||
	    cJSON_AddStringToObject(o, "disabled", "/disabled") == NULL)
		goto out;
	if ((o = cJSON_AddObjectToObject(d, "apiMigrations")) == NULL ||
	    cJSON_AddTrueToObject(o, "signed-install") == NULL ||
	    cJSON_AddTrueToObject(o, "context-qsh") == NULL)
		goto out;
	if (cJSON_AddBoolToObject(d, "enableLicensing",
	    conf_bool(cfg, C_APP_LICENSING)) == NULL)
		goto out;
	if ((a = cJSON_AddArrayToObject(d, "scopes")) == NULL ||
	    (scopes = strdup(conf_str(cfg, C_APP_SCOPES))) == NULL)
		goto out;
	for (p = scopes; p != NULL; p = comma) {
		if ((comma = strchr(p, ',')) != NULL)
			*comma++ = '\0';
		if (*p != '\0' && !cJSON_AddItemToArray(a,
		    cJSON_CreateString(p)))
			goto out;
	}
	if ((o = cJSON_AddObjectToObject(d, "links")) == NULL ||
	    cJSON_AddStringToObject(o, "self", self) == NULL)
		goto out;
	/* Modules: only what the app serves. */
	if ((o = cJSON_AddObjectToObject(d, "modules")) == NULL ||
	    descriptor_panoramas(o) == -1 || descriptor_pages(cfg, o) == -1)
		goto out;
	if ((out = cJSON_PrintUnformatted(d)) != NULL)
		*len = strlen(out);
out:
	free(scopes);
	cJSON_Delete(d);
	return out;
}

enum err
route_descriptor(struct req *r, struct reply *rep)
{
	if ((rep->body = strdup(r->app->descriptor)) == NULL)
		return ERR_INTERNAL;
	rep->len = r->app->descriptor_len;
	rep->status = 200;
	return ERR_OK;
}

/*
 * The state directory must be a directory we can write, owned by us and
 * closed to others, with room to grow.
 */
static const char *
healthz_state_dir(const struct conf *cfg, const char **disk)
{
	const char	*dir = conf_str(cfg, C_SERVER_STATE_DIR);
	struct stat	 st;
	struct statvfs	 vfs;
	unsigned long long free_mb;

	*disk = "unknown";
	if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode))
		return "missing";
	if (access(dir, R_OK | W_OK | X_OK) == -1)
		return "not_writable";
	if (st.st_uid != geteuid() || (st.st_mode & 0077) != 0)
		return "unsafe_permissions";
	if (statvfs(dir, &vfs) == -1)
		return "ok";
	free_mb = (unsigned long long)vfs.f_bavail * vfs.f_frsize /
	    (1024 * 1024);
	*disk = free_mb >= (unsigned long long)conf_int(cfg,
	    C_SERVER_MIN_FREE_MB) ? "ok" : "low";
	return "ok";
}

enum err
route_healthz(struct req *r, struct reply *rep)
{
	cJSON		*o, *c;
	const char	*state, *disk;
	int		 ok, rc;

	state = healthz_state_dir(r->app->cfg, &disk);
	ok = strcmp(state, "ok") == 0 && strcmp(disk, "low") != 0;
	if (!ok)
		log_msg(LOGL_WARN, r->rid, "reason=health state_dir=%s disk=%s",
		    state, disk);
	if ((o = cJSON_CreateObject()) == NULL)
		return ERR_INTERNAL;
	rc = -1;
	if (!ok && (cJSON_AddStringToObject(o, "error",
	    err_code(ERR_UNAVAILABLE)) == NULL ||
	    cJSON_AddStringToObject(o, "message", "a health check failed") ==
	    NULL))
		goto out;
	if (cJSON_AddStringToObject(o, "status", ok ? "ok" : "fail") == NULL ||
	    cJSON_AddStringToObject(o, "version", CELLAR_VERSION) == NULL ||
	    json_add_int(o, "uptime_s", clock_now() - r->app->started) ==
	    NULL ||
	    (c = cJSON_AddObjectToObject(o, "checks")) == NULL ||
	    cJSON_AddStringToObject(c, "process", "ok") == NULL ||
	    cJSON_AddStringToObject(c, "config", "ok") == NULL ||
	    cJSON_AddStringToObject(c, "state_dir", state) == NULL ||
	    cJSON_AddStringToObject(c, "disk", disk) == NULL)
		goto out;
	rc = reply_json(rep, ok ? 200 : err_status(ERR_UNAVAILABLE), o);
out:
	cJSON_Delete(o);
	return rc == 0 ? ERR_OK : ERR_INTERNAL;
}
