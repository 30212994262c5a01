/*
 * Configuration: DIR/cellar.conf, then each DIR/conf.d/NAME.conf in
 * lexical order, later files winning.  "[section]" headers and
 * "key = value" lines; '#'
 * or ';' at the start of a line begins a comment.  Every key is declared in
 * a schema (type, bounds, default); an unknown section or key, a bad value,
 * a key repeated within one file or a missing required key stops the
 * program with "file:line: message".
 *
 * The parser is generic over a schema so that it can be tested on its own;
 * cellar's schema is conf_schema[], indexed by enum conf_id.
 */
#ifndef CELLAR_CONF_H
#define CELLAR_CONF_H

#include <stddef.h>
#include <stdio.h>

enum conf_type {
	CONF_STR,	/* printable text, length within [min, max] */
	CONF_INT,	/* decimal integer within [min, max] */
	CONF_BOOL,	/* true/false, yes/no, on/off, 1/0 */
	CONF_URL,	/* http(s) URL: https unless the host is loopback */
	CONF_PATH,	/* absolute path */
	CONF_ENUM,	/* one of the '|'-separated words in choices */
	CONF_LIST,	/* comma-separated words, each one of choices
			   (case-insensitive, stored uppercase) */
	CONF_URLS,	/* comma-separated URLs, each as CONF_URL (stored
			   "u1,u2"); "" is an empty list */
	CONF_TYPE__MAX
};

#define CONF_REQUIRED	0x01	/* no default: must be set */
#define CONF_SECRET	0x02	/* redacted by conf_dump */

struct conf_key {
	const char	*section;
	const char	*name;
	enum conf_type	 type;
	int		 flags;
	const char	*def;		/* default text; NULL if required */
	long long	 min;		/* CONF_INT range, CONF_STR length */
	long long	 max;
	const char	*choices;	/* CONF_ENUM / CONF_LIST words */
	const char	*help;		/* one line for the example config */
	const char	*example;	/* example value of a required key */
};

struct conf_val {
	char		*text;		/* effective value (normalised) */
	long long	 num;		/* CONF_INT and CONF_BOOL */
	char		*file;		/* where it was set; NULL: default */
	int		 line;
};

struct conf {
	const struct conf_key	*schema;
	size_t			 nkeys;
	struct conf_val		*vals;
	char			*dir;
};

/* The longest error message conf_load writes. */
#define CONF_ERRLEN	512

/*
 * Loads the configuration in dir against schema[0..nkeys).  Returns a
 * conf to be freed with conf_free, or NULL with "file:line: message" (or
 * "file: message") in err.
 */
struct conf	*conf_load(const char *dir, const struct conf_key *schema,
		    size_t nkeys, char err[CONF_ERRLEN]);
void		 conf_free(struct conf *);

/* Effective value of key i.  The schema guarantees its type. */
const char	*conf_str(const struct conf *, size_t i);
long long	 conf_int(const struct conf *, size_t i);
int		 conf_bool(const struct conf *, size_t i);

/*
 * Writes the effective configuration, one "key = value" per line grouped
 * by section, each followed by the file and line that set it or
 * "(default)".  Secrets print as "<redacted>" when set.
 */
void		 conf_dump(const struct conf *, FILE *);

/*
 * Writes an example config: every key with its help line, optional keys
 * commented out with their default, required keys set to their example.
 */
void		 conf_example(const struct conf_key *, size_t nkeys, FILE *);

/*
 * The config directory: --config DIR from argv (removed from argv), else
 * $CELLAR_CONFIG, else /etc/cellar.  Returns NULL with a message on a
 * --config without an argument.
 */
const char	*conf_dir_from_args(int *argc, char **argv);

/* cellar's own keys. */
enum conf_id {
	C_APP_KEY,
	C_APP_NAME,
	C_APP_DESCRIPTION,
	C_APP_VENDOR_NAME,
	C_APP_VENDOR_URL,
	C_APP_BASE_URL,
	C_APP_FORMER_BASE_URLS,
	C_APP_SCOPES,
	C_APP_LICENSING,
	C_SERVER_STATE_DIR,
	C_SERVER_MAX_REQUESTS,
	C_SERVER_IDLE_EXIT,
	C_SERVER_LOG_LEVEL,
	C_SERVER_MIN_FREE_MB,
	C_KEYS_DIR,
	C_AUTH_LEEWAY,
	C_AUTH_MAX_LIFETIME,
	C_AUTH_INSTALL_KEYS_URL,
	C_AUTH_INSTALL_KEY_DIR,
	C_AUTH_FETCH_TIMEOUT_MS,
	C_AUTH_FETCH_INTERVAL,
	C_AUTH_UNKNOWN_KID_SECONDS,
	C_AUTH_UNKNOWN_KID_BUDGET,
	C_JIRA_CACHE_SECONDS,
	C_JIRA_CONNECT_TIMEOUT_MS,
	C_JIRA_TIMEOUT_MS,
	C_JIRA_DOWN_SECONDS,
	C_TEMPLATES_PERSONAL_MAX,
	C_PANORAMAS_NODES_MAX,
	C_PANORAMAS_PER_TENANT_MAX,
	C_PANORAMAS_RECONCILE_MAX_PERCENT,
	C_UI_ALL_JS_URL,
	C_FORGE_APP_ID,
	C_FORGE_JWKS_URL,
	C_FORGE_KEY_DIR,
	C_FORGE_LEEWAY,
	C_FORGE_FETCH_TIMEOUT_MS,
	C_FORGE_SILENT_DAYS,
	C_FORGE_REPORT_URL,
	C_REAPER_GRACE_DAYS,
	C_REAPER_ROTATE_DAYS,
	C_BACKUP_DIR,
	C_BACKUP_KEEP_DAYS,
	C_BACKUP_OFFSITE_COMMAND,
	C_BACKUP_OFFSITE_TIMEOUT,
	C_LOGS_ACCESS_LOG_DIR,
	C_LOGS_APP_LOG,
	C__MAX
};

extern const struct conf_key conf_schema[C__MAX];

/*
 * Loads cellar's configuration from dir (see conf_load), then checks
 * what a key's type alone cannot: [ui] all_js_url goes into pages'
 * HTML and headers, so it must hold no quote, '<', '>', '&', space or
 * backslash besides being a URL.
 */
struct conf	*conf_load_cellar(const char *dir, char err[CONF_ERRLEN]);

#endif
