/*
 * cellar's configuration keys.  This table is the single source of the
 * example config (cellarctl config example > conf/cellar.conf.example;
 * a test keeps the two identical), of defaults and of bounds.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "cellar/conf.h"

#define SCOPES	"READ|WRITE|DELETE|PROJECT_ADMIN|ADMIN|ACT_AS_USER|" \
		"ACCESS_EMAIL_ADDRESSES"

const struct conf_key conf_schema[C__MAX] = {
	[C_APP_KEY] = { "app", "key", CONF_STR, CONF_REQUIRED, NULL, 1, 64,
	    NULL, "Connect app key, unique on the Marketplace",
	    "com.example.cellar" },
	[C_APP_NAME] = { "app", "name", CONF_STR, 0, "Cellar", 1, 80, NULL,
	    "app name shown in Jira", NULL },
	[C_APP_DESCRIPTION] = { "app", "description", CONF_STR, 0,
	    "Panoramas and canned responses for Jira", 1, 200, NULL,
	    "one-line description shown in Jira", NULL },
	[C_APP_VENDOR_NAME] = { "app", "vendor_name", CONF_STR, 0, "Cellar",
	    1, 80, NULL, "vendor name in the descriptor", NULL },
	[C_APP_VENDOR_URL] = { "app", "vendor_url", CONF_URL, 0,
	    "https://cellar.example.com", 0, 0, NULL,
	    "vendor web site in the descriptor", NULL },
	[C_APP_BASE_URL] = { "app", "base_url", CONF_URL, CONF_REQUIRED, NULL,
	    0, 0, NULL, "public URL Jira calls (https; http only on "
	    "loopback); its path is stripped from every request",
	    "https://cellar.example.com" },
	[C_APP_FORMER_BASE_URLS] = { "app", "former_base_urls", CONF_URLS, 0,
	    "", 0, 0, NULL, "base URLs the app had before, comma-separated: "
	    "signed installs and uninstalls may still name them while Jira "
	    "catches up with a move (the descriptor shows base_url only)",
	    NULL },
	[C_APP_SCOPES] = { "app", "scopes", CONF_LIST, 0, "READ,WRITE", 1, 0,
	    SCOPES, "Connect scopes the app asks for, comma-separated; Jira "
	    "holds the pages' AP.request calls to them: READ for issues, "
	    "projects and groups, WRITE for the picker's Post as comment "
	    "(POST /rest/api/3/issue/{id}/comment)", NULL },
	[C_APP_LICENSING] = { "app", "licensing", CONF_BOOL, 0, "false", 0, 0,
	    NULL, "enableLicensing in the descriptor (paid Marketplace app)",
	    NULL },
	[C_SERVER_STATE_DIR] = { "server", "state_dir", CONF_PATH, 0,
	    "/var/lib/cellar", 0, 0, NULL,
	    "directory holding registry.db, tenants/ and backups/", NULL },
	[C_SERVER_MAX_REQUESTS] = { "server", "max_requests", CONF_INT, 0,
	    "5000", 1, 10000000, NULL,
	    "a worker exits after this many requests", NULL },
	[C_SERVER_IDLE_EXIT] = { "server", "idle_exit", CONF_INT, 0, "300",
	    0, 86400, NULL,
	    "a worker exits after this many idle seconds (0: never)", NULL },
	[C_SERVER_LOG_LEVEL] = { "server", "log_level", CONF_ENUM, 0, "info",
	    0, 0, "debug|info|warn|error", "lowest app log level written",
	    NULL },
	[C_SERVER_MIN_FREE_MB] = { "server", "min_free_mb", CONF_INT, 0,
	    "64", 0, 1048576, NULL,
	    "/healthz fails when the state directory has less free space "
	    "(MiB)", NULL },
	[C_KEYS_DIR] = { "keys", "dir", CONF_PATH, 0, "/etc/cellar/keys", 0,
	    0, NULL, "master keys (mode 0700; \"cellarctl init\" creates "
	    "the first)", NULL },
	[C_AUTH_LEEWAY] = { "auth", "leeway", CONF_INT, 0, "30", 0, 300,
	    NULL, "clock skew allowed on exp, iat and nbf (seconds)", NULL },
	[C_AUTH_MAX_LIFETIME] = { "auth", "max_lifetime", CONF_INT, 0, "3600",
	    60, 86400, NULL, "longest token lifetime (exp - iat) accepted "
	    "(seconds); Jira's tokens live minutes", NULL },
	[C_AUTH_INSTALL_KEYS_URL] = { "auth", "install_keys_url", CONF_URL,
	    0, "https://connect-install-keys.atlassian.com", 0, 0, NULL,
	    "where signed-install public keys are fetched by kid", NULL },
	[C_AUTH_INSTALL_KEY_DIR] = { "auth", "install_key_dir", CONF_PATH, 0,
	    "/var/lib/cellar/install-keys", 0, 0, NULL,
	    "install public keys: KID.pem dropped in by an admin or cached "
	    "after a fetch", NULL },
	[C_AUTH_FETCH_TIMEOUT_MS] = { "auth", "fetch_timeout_ms", CONF_INT,
	    0, "3000", 100, 30000, NULL,
	    "timeout for fetching an install key (milliseconds)", NULL },
	[C_AUTH_FETCH_INTERVAL] = { "auth", "fetch_interval", CONF_INT, 0,
	    "5", 0, 3600, NULL, "a worker fetches an install key at most once "
	    "per this many seconds (kids are unauthenticated input)", NULL },
	[C_AUTH_UNKNOWN_KID_SECONDS] = { "auth", "unknown_kid_seconds",
	    CONF_INT, 0, "300", 0, 86400, NULL, "a kid the key service did "
	    "not know is not asked for again for this many seconds", NULL },
	[C_AUTH_UNKNOWN_KID_BUDGET] = { "auth", "unknown_kid_budget",
	    CONF_INT, 0, "3", 0, 1000, NULL, "a client (IPv4 address, IPv6 "
	    "/48) whose kids the key service did not know more often than "
	    "this in unknown_kid_seconds gets no further fetches until then "
	    "(others are never held up)", NULL },
	[C_JIRA_CACHE_SECONDS] = { "jira", "cache_seconds", CONF_INT, 0,
	    "60", 0, 3600, NULL, "how long a worker trusts Jira's answer on "
	    "a user's admin rights, project permissions and groups", NULL },
	[C_JIRA_CONNECT_TIMEOUT_MS] = { "jira", "connect_timeout_ms",
	    CONF_INT, 0, "2000", 100, 30000, NULL, "timeout for connecting to "
	    "a tenant's Jira (milliseconds)", NULL },
	[C_JIRA_TIMEOUT_MS] = { "jira", "timeout_ms", CONF_INT, 0, "5000",
	    100, 60000, NULL, "timeout for a whole call to a tenant's Jira "
	    "(milliseconds)", NULL },
	[C_JIRA_DOWN_SECONDS] = { "jira", "down_seconds", CONF_INT, 0, "5", 0,
	    3600, NULL, "after a call to a tenant's Jira failed, its calls "
	    "fail at once for this many seconds instead of each waiting for "
	    "a timeout", NULL },
	[C_TEMPLATES_PERSONAL_MAX] = { "templates", "personal_max", CONF_INT,
	    0, "100", 1, 2000, NULL, "personal templates one person may hold "
	    "(shared templates: 2000 per site, whatever personal ones exist)",
	    NULL },
	[C_PANORAMAS_NODES_MAX] = { "panoramas", "nodes_max", CONF_INT, 0,
	    "10000", 1, 30000, NULL, "nodes (issues and folders) one "
	    "panorama may hold; past 10000, reading a whole tree costs "
	    "proportionally more", NULL },
	[C_PANORAMAS_PER_TENANT_MAX] = { "panoramas", "per_tenant_max",
	    CONF_INT, 0, "200", 1, 10000, NULL, "panoramas one site may "
	    "hold", NULL },
	[C_PANORAMAS_RECONCILE_MAX_PERCENT] = { "panoramas",
	    "reconcile_max_percent", CONF_INT, 0, "50", 1, 100, NULL,
	    "the nightly reconcile removes nothing for a site when more than "
	    "this share of its panoramas' issues (and more than 10) look "
	    "deleted at once: an app user who lost Browse rights looks the "
	    "same to it; the reaper reports it instead", NULL },
	[C_UI_ALL_JS_URL] = { "ui", "all_js_url", CONF_URL, 0,
	    "https://connect-cdn.atl-paas.net/all.js", 0, 0, NULL,
	    "Atlassian's all.js, which every page loads (its origin is the "
	    "only one the pages' Content-Security-Policy lets scripts come "
	    "from besides cellar's own); no quote, '<', '>', '&', space or "
	    "backslash", NULL },
	[C_FORGE_APP_ID] = { "forge", "app_id", CONF_STR, 0, "", 0, 100,
	    NULL, "the Forge app id (ari:cloud:ecosystem::app/UUID) every "
	    "Forge Invocation Token must name as its audience; empty: Forge "
	    "Remote is off and every /forge/ route answers a JSON 404", NULL },
	[C_FORGE_JWKS_URL] = { "forge", "jwks_url", CONF_URL, 0,
	    "https://forge.cdn.prod.atlassian-dev.net/.well-known/jwks.json",
	    0, 0, NULL, "Atlassian's key set (JWKS) that signs Forge "
	    "Invocation Tokens; kept for its max-age (5 min to 24 h), fetched "
	    "again at most every 30 s for an unknown kid", NULL },
	[C_FORGE_KEY_DIR] = { "forge", "key_dir", CONF_PATH, 0,
	    "/var/lib/cellar/forge-keys", 0, 0, NULL, "Forge token keys an "
	    "admin drops in as KID.pem (Atlassian's kids hold '/': "
	    "forge/invocation-token/wf-UUID.pem, in subdirectories; used "
	    "besides the key set), and the fetched key set's cache "
	    "jwks.json", NULL },
	[C_FORGE_LEEWAY] = { "forge", "leeway", CONF_INT, 0, "10", 0, 30,
	    NULL, "clock skew allowed on a Forge token's exp, iat and nbf "
	    "(seconds); Forge's tokens live 25 s: keep the clock in sync",
	    NULL },
	[C_FORGE_FETCH_TIMEOUT_MS] = { "forge", "fetch_timeout_ms", CONF_INT,
	    0, "3000", 100, 5000, NULL,
	    "timeout for fetching the key set (milliseconds)", NULL },
	[C_FORGE_SILENT_DAYS] = { "forge", "silent_days", CONF_INT, 0, "14",
	    1, 30, NULL, "Forge sends no uninstall event: a tenant reached "
	    "through Forge alone whose installations sent nothing (no token, "
	    "no hourly trigger) for this many days is treated as uninstalled "
	    "since its last word, and deleted [reaper] grace_days after that "
	    "word (or at once, if that is past): within 30 days of it either "
	    "way", NULL },
	[C_FORGE_REPORT_URL] = { "forge", "report_url", CONF_URL, 0,
	    "https://api.atlassian.com/app/report-accounts/", 0, 0, NULL,
	    "Atlassian's personal-data reporting API for a tenant reached "
	    "through Forge alone (app system token)", NULL },
	[C_REAPER_GRACE_DAYS] = { "reaper", "grace_days", CONF_INT, 0, "21", 0,
	    30, NULL, "a departed tenant is deleted (keys, files, backup "
	    "copies) by the first reaper run this many days after uninstall; "
	    "a reinstall before then keeps its data", NULL },
	[C_REAPER_ROTATE_DAYS] = { "reaper", "rotate_days", CONF_INT, 0,
	    "90", 1, 90, NULL, "the reaper's rotate job replaces the master "
	    "key, the registry's key and every tenant's data key once they "
	    "are this many days old (cellarctl audit checks it)", NULL },
	[C_BACKUP_DIR] = { "backup", "dir", CONF_PATH, 0,
	    "/var/lib/cellar/backups", 0, 0, NULL, "where the reaper writes "
	    "its daily backup runs (runs/RUN/: registry.db, tenants/, "
	    "manifest.json)", NULL },
	[C_BACKUP_KEEP_DAYS] = { "backup", "keep_days", CONF_INT, 0, "30", 1,
	    30, NULL, "backup runs older than this are deleted (the newest "
	    "verified run is always kept)", NULL },
	[C_BACKUP_OFFSITE_COMMAND] = { "backup", "offsite_command", CONF_STR,
	    0, "", 0, 1024, NULL, "shell command run after every verified "
	    "run and after a purge changed runs, with the run directory as "
	    "$1; it must mirror deletions (e.g. rclone sync); empty: no "
	    "offsite copy (cellarctl audit reports it)", NULL },
	[C_BACKUP_OFFSITE_TIMEOUT] = { "backup", "offsite_timeout", CONF_INT,
	    0, "3600", 10, 86400, NULL, "seconds the offsite command may "
	    "run before it is killed and counted as failed", NULL },
	[C_LOGS_ACCESS_LOG_DIR] = { "logs", "access_log_dir", CONF_PATH, 0,
	    "/var/log/nginx/cellar", 0, 0, NULL, "nginx's access logs of "
	    "the site, which cellarctl audit checks for age (7 days) and "
	    "query strings", NULL },
	[C_LOGS_APP_LOG] = { "logs", "app_log", CONF_STR, 0, "", 0, 4096,
	    NULL, "the workers' log file, which cellarctl audit checks for "
	    "age and tokens; empty: the journal (journald's retention)",
	    NULL },
};

/*
 * Characters a URL the pages carry must not hold: the HTML attribute it
 * is substituted into (nginx's sub_filter), and headers.  util_url_check
 * already refuses most; '&' and '\'' it allows in a path.
 */
#define UI_URL_REFUSED	"\"'<>& \\"

struct conf *
conf_load_cellar(const char *dir, char err[CONF_ERRLEN])
{
	struct conf		*c;
	const struct conf_val	*v;

	if ((c = conf_load(dir, conf_schema, C__MAX, err)) == NULL)
		return NULL;
	v = &c->vals[C_UI_ALL_JS_URL];
	if (strpbrk(v->text, UI_URL_REFUSED) != NULL) {
		if (v->file != NULL)
			snprintf(err, CONF_ERRLEN, "%s:%d: [ui] all_js_url: "
			    "must not hold a quote, '<', '>', '&', space or "
			    "backslash", v->file, v->line);
		else
			snprintf(err, CONF_ERRLEN, "[ui] all_js_url: must not "
			    "hold a quote, '<', '>', '&', space or backslash");
		conf_free(c);
		return NULL;
	}
	return c;
}
