/*
 * The configuration parser.  It reads DIR/cellar.conf and then every
 * DIR/conf.d/NAME.conf in lexical (byte) order; a later file overrides an
 * earlier one key by key.  Errors stop loading at the first one found and
 * name the file and line.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "cellar/conf.h"
#include "cellar/util.h"

/* Bounds on what we read: no config line or file needs more. */
#define CONF_MAX_LINE	4096
#define CONF_MAX_FILE	(1024 * 1024)
#define CONF_MAX_DROPINS 256

static const char *const type_names[CONF_TYPE__MAX] = {
	"text", "integer", "boolean", "URL", "absolute path", "word", "list",
	"URL list",
};

static void
conf_err(char err[CONF_ERRLEN], const char *file, int line, const char *fmt,
    ...) __attribute__((format(printf, 4, 5)));

static void
conf_err(char err[CONF_ERRLEN], const char *file, int line, const char *fmt,
    ...)
{
	va_list	 ap;
	int	 n;

	if (line > 0)
		n = snprintf(err, CONF_ERRLEN, "%s:%d: ", file, line);
	else
		n = snprintf(err, CONF_ERRLEN, "%s: ", file);
	if (n < 0 || n >= CONF_ERRLEN)
		return;
	va_start(ap, fmt);
	vsnprintf(err + n, CONF_ERRLEN - (size_t)n, fmt, ap);
	va_end(ap);
}

/* 1 if word appears in the '|'-separated list, compared case-insensitively. */
static int
choice_ok(const char *choices, const char *word, size_t wlen)
{
	const char	*p = choices, *bar;
	size_t		 n;

	while (*p != '\0') {
		bar = strchr(p, '|');
		n = bar != NULL ? (size_t)(bar - p) : strlen(p);
		if (n == wlen && strncasecmp(p, word, n) == 0)
			return 1;
		if (bar == NULL)
			break;
		p = bar + 1;
	}
	return 0;
}

/*
 * Normalises "u1, u2/" to "u1,u2" in place, each an http(s) URL as
 * util_url_check wants it.  NULL, or what is wrong (in msg).
 */
static const char *
urls_normalise(char *v, char *msg, size_t msgsz)
{
	char		*p, *q, *out = v, one[256];
	const char	*why;
	size_t		 n;

	for (p = v; ; p = q) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		for (q = p; *q != '\0' && *q != ',' && *q != ' ' &&
		    *q != '\t'; q++)
			continue;
		if ((n = (size_t)(q - p)) >= sizeof(one)) {
			snprintf(msg, msgsz, "expected URLs: one is longer "
			    "than 255 characters");
			return msg;
		}
		memcpy(one, p, n);
		one[n] = '\0';
		if ((why = util_url_check(one)) != NULL) {
			snprintf(msg, msgsz, "expected URLs: one %s", why);
			return msg;
		}
		if (out != v)
			*out++ = ',';
		n = strlen(one);
		memmove(out, one, n);
		out += n;
	}
	*out = '\0';
	return NULL;
}

/*
 * Validates and normalises text for key k; on success stores it in val.
 * Returns NULL or a message naming what is expected.
 */
static const char *
value_set(const struct conf_key *k, const char *text, struct conf_val *val,
    char *msg, size_t msgsz)
{
	char		*v, *p, *q, *out;
	const char	*why;
	size_t		 len = strlen(text), wl;
	long long	 num = 0;

	if (!util_printable(text) || !util_utf8_valid(text, len))
		return "contains control characters or invalid UTF-8";
	if ((v = strdup(text)) == NULL)
		return "out of memory";
	switch (k->type) {
	case CONF_STR:
		if ((long long)len < k->min || (long long)len > k->max) {
			snprintf(msg, msgsz, "must be %lld to %lld characters "
			    "long", k->min, k->max);
			free(v);
			return msg;
		}
		break;
	case CONF_INT:
		if (util_strtonum(v, k->min, k->max, &num) == -1) {
			snprintf(msg, msgsz, "expected an integer from %lld "
			    "to %lld", k->min, k->max);
			free(v);
			return msg;
		}
		break;
	case CONF_BOOL:
		if (choice_ok("true|yes|on|1", v, len))
			num = 1;
		else if (choice_ok("false|no|off|0", v, len))
			num = 0;
		else {
			free(v);
			return "expected true or false";
		}
		free(v);
		if ((v = strdup(num ? "true" : "false")) == NULL)
			return "out of memory";
		break;
	case CONF_URL:
		if (len > 255 || (why = util_url_check(v)) != NULL) {
			snprintf(msg, msgsz, "expected a URL: %s",
			    len > 255 ? "longer than 255 characters" : why);
			free(v);
			return msg;
		}
		break;
	case CONF_PATH:
		if (v[0] != '/' || len >= 4096) {
			free(v);
			return "expected an absolute path";
		}
		while (len > 1 && v[len - 1] == '/')
			v[--len] = '\0';
		break;
	case CONF_ENUM:
		if (!choice_ok(k->choices, v, len)) {
			snprintf(msg, msgsz, "expected one of: %s", k->choices);
			free(v);
			return msg;
		}
		for (p = v; *p != '\0'; p++)
			*p = (char)tolower((unsigned char)*p);
		break;
	case CONF_LIST:
		/* Normalise "a, b,c" to "A,B,C", each word checked. */
		out = v;
		for (p = v; ; ) {
			while (*p == ' ' || *p == '\t' || *p == ',')
				p++;
			if (*p == '\0')
				break;
			q = p;
			while (*q != '\0' && *q != ',' && *q != ' ' &&
			    *q != '\t')
				q++;
			wl = (size_t)(q - p);
			if (k->choices != NULL && !choice_ok(k->choices, p, wl)) {
				snprintf(msg, msgsz, "expected words from: %s",
				    k->choices);
				free(v);
				return msg;
			}
			if (out != v)
				*out++ = ',';
			while (p < q)
				*out++ = (char)toupper((unsigned char)*p++);
		}
		*out = '\0';
		if ((long long)strlen(v) < k->min) {
			free(v);
			return "must not be empty";
		}
		break;
	case CONF_URLS:
		if ((why = urls_normalise(v, msg, msgsz)) != NULL) {
			free(v);
			return why;
		}
		break;
	default:
		free(v);
		return "has an unknown type";
	}
	free(val->text);
	val->text = v;
	val->num = num;
	return NULL;
}

static char *
trim(char *s)
{
	char	*e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
	    e[-1] == '\n'))
		*--e = '\0';
	return s;
}

static int
section_known(const struct conf *c, const char *s)
{
	size_t	 i;

	for (i = 0; i < c->nkeys; i++)
		if (strcmp(c->schema[i].section, s) == 0)
			return 1;
	return 0;
}

/*
 * Reads one file into c.  Returns 0, or -1 with err set.  seen[] marks the
 * keys this file has set already (a key twice in one file is an error).
 */
static int
conf_file(struct conf *c, const char *path, char err[CONF_ERRLEN],
    unsigned char *seen)
{
	FILE		*f;
	char		 section[64] = "", msg[256];
	char		*buf = NULL, *line, *eq, *key, *val, *end;
	const char	*why;
	size_t		 i, cap = 0, total = 0;
	ssize_t		 len;
	int		 lineno = 0, rc = -1;

	if ((f = fopen(path, "re")) == NULL) {
		conf_err(err, path, 0, "cannot open: %s", strerror(errno));
		return -1;
	}
	memset(seen, 0, c->nkeys);
	while ((len = getline(&buf, &cap, f)) != -1) {
		lineno++;
		total += (size_t)len;
		if (total > CONF_MAX_FILE) {
			conf_err(err, path, lineno, "file is larger than "
			    "%d bytes", CONF_MAX_FILE);
			goto out;
		}
		if (len - (buf[len - 1] == '\n') > CONF_MAX_LINE) {
			conf_err(err, path, lineno, "line is longer than %d "
			    "characters", CONF_MAX_LINE);
			goto out;
		}
		if (memchr(buf, '\0', (size_t)len) != NULL) {
			conf_err(err, path, lineno, "contains a NUL byte");
			goto out;
		}
		line = trim(buf);
		if (*line == '\0' || *line == '#' || *line == ';')
			continue;
		if (*line == '[') {
			end = strchr(line, ']');
			if (end == NULL || end[1] != '\0' || end == line + 1 ||
			    (size_t)(end - line) >= sizeof(section)) {
				conf_err(err, path, lineno, "expected "
				    "\"[section]\"");
				goto out;
			}
			*end = '\0';
			line = trim(line + 1);
			if (!section_known(c, line)) {
				conf_err(err, path, lineno, "unknown section "
				    "[%.40s]", util_printable(line) ? line :
				    "?");
				goto out;
			}
			snprintf(section, sizeof(section), "%s", line);
			continue;
		}
		if ((eq = strchr(line, '=')) == NULL) {
			conf_err(err, path, lineno, "expected \"key = "
			    "value\"");
			goto out;
		}
		*eq = '\0';
		key = trim(line);
		val = trim(eq + 1);
		if (section[0] == '\0') {
			conf_err(err, path, lineno, "key outside a "
			    "[section]");
			goto out;
		}
		for (i = 0; i < c->nkeys; i++)
			if (strcmp(c->schema[i].section, section) == 0 &&
			    strcmp(c->schema[i].name, key) == 0)
				break;
		if (i == c->nkeys) {
			conf_err(err, path, lineno, "unknown key \"%.40s\" "
			    "in [%s]", util_printable(key) ? key : "?",
			    section);
			goto out;
		}
		if (seen[i]) {
			conf_err(err, path, lineno, "[%s] %s is set twice in "
			    "this file", section, key);
			goto out;
		}
		seen[i] = 1;
		if (*val == '\0') {
			conf_err(err, path, lineno, "[%s] %s: empty value",
			    section, key);
			goto out;
		}
		if ((why = value_set(&c->schema[i], val, &c->vals[i], msg,
		    sizeof(msg))) != NULL) {
			conf_err(err, path, lineno, "[%s] %s: %s", section,
			    key, why);
			goto out;
		}
		free(c->vals[i].file);
		if ((c->vals[i].file = strdup(path)) == NULL) {
			conf_err(err, path, lineno, "out of memory");
			goto out;
		}
		c->vals[i].line = lineno;
	}
	if (ferror(f)) {
		conf_err(err, path, 0, "read error");
		goto out;
	}
	rc = 0;
out:
	free(buf);
	fclose(f);
	return rc;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads conf.d/NAME.conf in byte order; a missing conf.d is fine. */
static int
conf_dropins(struct conf *c, char err[CONF_ERRLEN], unsigned char *seen)
{
	DIR		*d;
	struct dirent	*de;
	char		*dpath, *names[CONF_MAX_DROPINS], *p;
	size_t		 n = 0, i, len;
	int		 rc = -1;

	if ((dpath = util_path_join(c->dir, "conf.d")) == NULL) {
		conf_err(err, c->dir, 0, "out of memory");
		return -1;
	}
	if ((d = opendir(dpath)) == NULL) {
		if (errno == ENOENT) {
			free(dpath);
			return 0;
		}
		conf_err(err, dpath, 0, "cannot open: %s", strerror(errno));
		free(dpath);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len < 6 ||
		    strcmp(de->d_name + len - 5, ".conf") != 0)
			continue;
		if (n == CONF_MAX_DROPINS) {
			conf_err(err, dpath, 0, "more than %d drop-ins",
			    CONF_MAX_DROPINS);
			goto out;
		}
		if ((names[n] = strdup(de->d_name)) == NULL) {
			conf_err(err, dpath, 0, "out of memory");
			goto out;
		}
		n++;
	}
	qsort(names, n, sizeof(names[0]), name_cmp);
	for (i = 0; i < n; i++) {
		if ((p = util_path_join(dpath, names[i])) == NULL) {
			conf_err(err, dpath, 0, "out of memory");
			goto out;
		}
		if (conf_file(c, p, err, seen) == -1) {
			free(p);
			goto out;
		}
		free(p);
	}
	rc = 0;
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	closedir(d);
	free(dpath);
	return rc;
}

struct conf *
conf_load(const char *dir, const struct conf_key *schema, size_t nkeys,
    char err[CONF_ERRLEN])
{
	struct conf	*c;
	unsigned char	*seen = NULL;
	char		*main_path = NULL, msg[256];
	const char	*why;
	size_t		 i;
	int		 ok = 0;

	err[0] = '\0';
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->vals = calloc(nkeys, sizeof(*c->vals))) == NULL ||
	    (c->dir = strdup(dir)) == NULL ||
	    (seen = calloc(nkeys ? nkeys : 1, 1)) == NULL ||
	    (main_path = util_path_join(dir, "cellar.conf")) == NULL) {
		conf_err(err, dir, 0, "out of memory");
		goto out;
	}
	c->schema = schema;
	c->nkeys = nkeys;
	for (i = 0; i < nkeys; i++) {
		if (schema[i].def == NULL)
			continue;
		if ((why = value_set(&schema[i], schema[i].def, &c->vals[i],
		    msg, sizeof(msg))) != NULL) {
			conf_err(err, "(built-in defaults)", 0, "[%s] %s: %s",
			    schema[i].section, schema[i].name, why);
			goto out;
		}
	}
	if (conf_file(c, main_path, err, seen) == -1 ||
	    conf_dropins(c, err, seen) == -1)
		goto out;
	for (i = 0; i < nkeys; i++) {
		if (c->vals[i].text == NULL) {
			conf_err(err, main_path, 0, "[%s] %s is required but "
			    "not set", schema[i].section, schema[i].name);
			goto out;
		}
	}
	ok = 1;
out:
	free(seen);
	free(main_path);
	if (!ok) {
		conf_free(c);
		return NULL;
	}
	return c;
}

void
conf_free(struct conf *c)
{
	size_t	 i;

	if (c == NULL)
		return;
	if (c->vals != NULL) {
		for (i = 0; i < c->nkeys; i++) {
			free(c->vals[i].text);
			free(c->vals[i].file);
		}
		free(c->vals);
	}
	free(c->dir);
	free(c);
}

const char *
conf_str(const struct conf *c, size_t i)
{
	return c->vals[i].text;
}

long long
conf_int(const struct conf *c, size_t i)
{
	return c->vals[i].num;
}

int
conf_bool(const struct conf *c, size_t i)
{
	return c->vals[i].num != 0;
}

void
conf_dump(const struct conf *c, FILE *f)
{
	const char	*sect = NULL, *v;
	char		 where[4096 + 16];
	size_t		 i;

	fprintf(f, "# effective configuration of %s\n", c->dir);
	for (i = 0; i < c->nkeys; i++) {
		if (sect == NULL || strcmp(sect, c->schema[i].section) != 0) {
			sect = c->schema[i].section;
			fprintf(f, "\n[%s]\n", sect);
		}
		v = c->vals[i].text;
		if ((c->schema[i].flags & CONF_SECRET) && c->vals[i].file)
			v = "<redacted>";
		if (c->vals[i].file != NULL)
			snprintf(where, sizeof(where), "%s:%d",
			    c->vals[i].file, c->vals[i].line);
		else
			snprintf(where, sizeof(where), "(default)");
		fprintf(f, "%s = %s\t# %s\n", c->schema[i].name, v, where);
	}
}

void
conf_example(const struct conf_key *schema, size_t nkeys, FILE *f)
{
	const char	*sect = NULL;
	size_t		 i;

	for (i = 0; i < nkeys; i++) {
		if (sect == NULL || strcmp(sect, schema[i].section) != 0) {
			sect = schema[i].section;
			fprintf(f, "\n[%s]\n", sect);
		}
		fprintf(f, "# %s (%s%s)\n", schema[i].help,
		    type_names[schema[i].type],
		    (schema[i].flags & CONF_REQUIRED) ? ", required" : "");
		if (schema[i].def != NULL)
			fprintf(f, "#%s = %s\n", schema[i].name,
			    schema[i].def);
		else
			fprintf(f, "%s = %s\n", schema[i].name,
			    schema[i].example != NULL ? schema[i].example : "");
	}
}

const char *
conf_dir_from_args(int *argc, char **argv)
{
	const char	*dir = NULL, *env;
	int		 i, j;

	for (i = 1; i < *argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--config") != 0)
			continue;
		if (i + 1 >= *argc)
			return NULL;
		dir = argv[i + 1];
		for (j = i; j + 2 <= *argc; j++)
			argv[j] = argv[j + 2];
		*argc -= 2;
		break;
	}
	if (dir == NULL && (env = getenv("CELLAR_CONFIG")) != NULL &&
	    *env != '\0')
		dir = env;
	return dir != NULL ? dir : "/etc/cellar";
}
