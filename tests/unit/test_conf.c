/*
 * conf: the configuration parser.
 *
 * Golden files.  Each directory tests/unit/conf/NAME is one case: a config
 * directory (cellar.conf, optional conf.d/NAME.conf) loaded with cellar's
 * own schema, and NAME/expected holding exactly what an operator would
 * see: conf_dump's output when it loads, or the error message and a
 * newline when it does not.  Cases run in byte order of their names, and
 * directories are passed relative ("tests/unit/conf/NAME", the tests run
 * from the repository root) so the output names the same files on every
 * machine.
 *
 * To (re)write the expected files after an intended change:
 *
 *	CELLAR_UPDATE_GOLDEN=1 build/tests/test_conf
 *
 * then read every changed file under tests/unit/conf/ by eye (git diff)
 * before committing it: an expected file is a claim about behaviour,
 * not a recording of whatever the code does today.
 *
 * A new case is a new directory: no code to change here.  Cases named
 * ok-NAME must load and err-NAME must not (any other name fails); the
 * runner checks that even when updating, so a regenerated expected file
 * cannot silently turn a refusal into success.
 *
 * The other tests cover what a golden file cannot hold: secrets never
 * printed, inputs too large to keep in the repository, the argument
 * parsing of --config, and the shipped example config.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cellar/conf.h"
#include "fixture.h"

#define GOLDEN_DIR	"tests/unit/conf"

/* ------------------------------------------------------------ helpers */

/* The whole file in a malloc'd, NUL-terminated buffer, or NULL. */
static char *
slurp(const char *path, size_t *lenp)
{
	FILE	*f;
	char	*buf = NULL;
	size_t	 len = 0, cap = 0, n;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	for (;;) {
		if (cap - len < 4096) {
			char	*p = realloc(buf, cap + 65536);

			if (p == NULL) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = p;
			cap += 65536;
		}
		if ((n = fread(buf + len, 1, cap - len - 1, f)) == 0)
			break;
		len += n;
	}
	fclose(f);
	buf[len] = '\0';
	if (lenp != NULL)
		*lenp = len;
	return buf;
}

static void
spit(const char *path, const char *data, size_t len)
{
	FILE	*f;

	if ((f = fopen(path, "wb")) == NULL) {
		fail_msg("%s: %s", path, strerror(errno));
		return;
	}
	if (fwrite(data, 1, len, f) != len || fclose(f) != 0)
		fail_msg("%s: write failed", path);
}

/* What an operator sees for dir: the dump, or the error and "\n". */
static char *
load_output(const char *dir, const struct conf_key *schema, size_t nkeys,
    int *loaded)
{
	struct conf	*c;
	char		 err[CONF_ERRLEN], *out = NULL;
	size_t		 outlen = 0;
	FILE		*f;

	memset(err, 'Z', sizeof(err));
	c = schema != NULL ? conf_load(dir, schema, nkeys, err) :
	    conf_load_cellar(dir, err);
	*loaded = c != NULL;
	if ((f = open_memstream(&out, &outlen)) == NULL) {
		conf_free(c);
		fail_msg("open_memstream");
	}
	if (c != NULL)
		conf_dump(c, f);
	else if (memchr(err, '\0', sizeof(err)) == NULL)
		fprintf(f, "(error message not terminated)\n");
	else
		fprintf(f, "%s\n", err);
	fclose(f);
	conf_free(c);
	return out;
}

/*
 * A scratch config directory under /tmp, removed by tmp_rm, or by the
 * teardown when a test fails before it gets there.
 */
static char	 tmp_last[64];

static void
tmp_dir(char *dir, size_t dirsz)
{
	snprintf(dir, dirsz, "/tmp/cellar-test-conf.XXXXXX");
	if (mkdtemp(dir) == NULL)
		fail_msg("mkdtemp: %s", strerror(errno));
	snprintf(tmp_last, sizeof(tmp_last), "%s", dir);
}

static void
tmp_file(const char *dir, const char *name, const char *text)
{
	char	 path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	spit(path, text, strlen(text));
}

static void
tmp_rm(const char *dir)
{
	(void)fx_rmtree(dir);
	if (strcmp(dir, tmp_last) == 0)
		tmp_last[0] = '\0';
}

static int
tmp_teardown(void **state)
{
	(void)state;
	if (tmp_last[0] != '\0')
		tmp_rm(tmp_last);
	return 0;
}

/* Shows the first line where have and want differ. */
static void
show_diff(const char *what, const char *have, const char *want)
{
	const char	*h = have, *w = want;
	int		 line = 1;

	while (*h != '\0' && *h == *w) {
		if (*h == '\n') {
			line++;
			have = h + 1;
			want = w + 1;
		}
		h++;
		w++;
	}
	print_message("%s: first difference on line %d\n"
	    "  want: %.*s\n  have: %.*s\n", what, line,
	    (int)strcspn(want, "\n"), want, (int)strcspn(have, "\n"), have);
}

/* Fails unless have equals want. */
static void
expect_text(const char *what, const char *have, const char *want)
{
	if (strcmp(have, want) == 0)
		return;
	show_diff(what, have, want);
	fail_msg("%s: output differs", what);
}

/* ------------------------------------------------------------- golden */

static void
test_golden(void **state)
{
	const char	*dir = *state;
	const char	*name = strrchr(dir, '/') + 1;
	char		 path[512], tmp[520];
	char		*have, *want;
	int		 loaded, update;

	update = getenv("CELLAR_UPDATE_GOLDEN") != NULL &&
	    strcmp(getenv("CELLAR_UPDATE_GOLDEN"), "1") == 0;
	snprintf(path, sizeof(path), "%s/expected", dir);
	have = load_output(dir, NULL, 0, &loaded);
	assert_non_null(have);
	if (strncmp(name, "ok-", 3) != 0 && strncmp(name, "err-", 4) != 0) {
		free(have);
		fail_msg("%s: a case name starts with ok- or err-", name);
		return;
	}
	if ((strncmp(name, "ok-", 3) == 0) != loaded) {
		print_message("%s", have);
		free(have);
		fail_msg("%s: %s", name, loaded ? "loaded, but an err- case "
		    "must be refused" : "refused, but an ok- case must load");
		return;
	}
	if (update) {
		snprintf(tmp, sizeof(tmp), "%s.tmp", path);
		spit(tmp, have, strlen(have));
		if (rename(tmp, path) == -1)
			fail_msg("rename %s: %s", tmp, strerror(errno));
		print_message("wrote %s\n", path);
		free(have);
		return;
	}
	if ((want = slurp(path, NULL)) == NULL) {
		free(have);
		fail_msg("%s: %s (CELLAR_UPDATE_GOLDEN=1 creates it)", path,
		    strerror(errno));
		return;
	}
	if (strcmp(have, want) != 0) {
		show_diff(path, have, want);
		free(have);
		free(want);
		fail_msg("%s: output differs from %s", name, path);
		return;
	}
	free(have);
	free(want);
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One test per case directory, in byte order of the names. */
static size_t
golden_tests(struct CMUnitTest **testsp, char ***namesp)
{
	DIR		*d;
	struct dirent	*de;
	struct stat	 st;
	char		**names = NULL, **np, path[512];
	struct CMUnitTest *tests;
	size_t		 n = 0, i;

	*testsp = NULL;
	*namesp = NULL;
	if ((d = opendir(GOLDEN_DIR)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), GOLDEN_DIR "/%s", de->d_name);
		if (stat(path, &st) == -1 || !S_ISDIR(st.st_mode))
			continue;
		if ((np = realloc(names, (n + 1) * sizeof(*names))) == NULL)
			abort();
		names = np;
		if ((names[n++] = strdup(path)) == NULL)
			abort();
	}
	closedir(d);
	if (n == 0)
		return 0;
	qsort(names, n, sizeof(*names), name_cmp);
	if ((tests = calloc(n, sizeof(*tests))) == NULL)
		abort();
	for (i = 0; i < n; i++) {
		tests[i].name = strrchr(names[i], '/') + 1;
		tests[i].test_func = test_golden;
		tests[i].initial_state = names[i];
	}
	*testsp = tests;
	*namesp = names;
	return n;
}

/* ------------------------------------------------------------ secrets */

static const struct conf_key secret_schema[] = {
	{ "s", "name", CONF_STR, 0, "plain", 1, 64, NULL, "a name", NULL },
	{ "s", "token", CONF_STR, CONF_SECRET | CONF_REQUIRED, NULL, 1, 16,
	    NULL, "a shared secret", "x" },
	{ "s", "other", CONF_STR, CONF_SECRET, "built-in", 1, 64, NULL,
	    "a secret with a default", NULL },
};
#define NSECRET	(sizeof(secret_schema) / sizeof(secret_schema[0]))

static void
test_secret_redacted(void **state)
{
	struct conf	*c;
	char		 dir[64], err[CONF_ERRLEN], want[512], *out;
	int		 loaded;

	(void)state;
	tmp_dir(dir, sizeof(dir));
	tmp_file(dir, "cellar.conf", "[s]\nname = visible\n"
	    "token = hunter2-S3CRET\n");
	out = load_output(dir, secret_schema, NSECRET, &loaded);
	snprintf(want, sizeof(want), "# effective configuration of %s\n"
	    "\n[s]\n"
	    "name = visible\t# %s/cellar.conf:2\n"
	    "token = <redacted>\t# %s/cellar.conf:3\n"
	    "other = built-in\t# (default)\n", dir, dir, dir);
	assert_true(loaded);
	assert_null(strstr(out, "hunter2"));
	assert_null(strstr(out, "S3CRET"));
	expect_text("dump", out, want);
	free(out);

	/* The program itself still gets the value. */
	c = conf_load(dir, secret_schema, NSECRET, err);
	assert_non_null(c);
	assert_string_equal(conf_str(c, 1), "hunter2-S3CRET");
	conf_free(c);

	/* Overridden in a drop-in: still redacted. */
	assert_int_equal(mkdir(strcat(strcpy(want, dir), "/conf.d"), 0700),
	    0);
	tmp_file(dir, "conf.d/50-token.conf", "[s]\nother = hunter3\n");
	out = load_output(dir, secret_schema, NSECRET, &loaded);
	assert_true(loaded);
	assert_null(strstr(out, "hunter"));
	assert_non_null(strstr(out, "other = <redacted>\t# "));
	free(out);

	/* A refused secret is not repeated in the error either. */
	tmp_file(dir, "conf.d/50-token.conf",
	    "[s]\ntoken = hunter2-S3CRET-but-far-too-long\n");
	out = load_output(dir, secret_schema, NSECRET, &loaded);
	assert_false(loaded);
	assert_null(strstr(out, "hunter"));
	snprintf(want, sizeof(want), "%s/conf.d/50-token.conf:2: [s] token: "
	    "must be 1 to 16 characters long\n", dir);
	expect_text("error", out, want);
	free(out);
	tmp_rm(dir);
}

/* -------------------------------------------------- generic behaviour */

static void
test_typed_getters(void **state)
{
	struct conf	*c;
	char		 dir[64], err[CONF_ERRLEN];

	(void)state;
	tmp_dir(dir, sizeof(dir));
	tmp_file(dir, "cellar.conf", "[app]\nkey = k\n"
	    "base_url = https://h.example.com/jira/\nlicensing = YES\n"
	    "scopes = read,  Write ,delete\n[server]\nmax_requests = 7\n"
	    "idle_exit = 0\nlog_level = Warn\n");
	c = conf_load_cellar(dir, err);
	tmp_rm(dir);
	if (c == NULL)
		fail_msg("%s", err);
	assert_string_equal(conf_str(c, C_APP_KEY), "k");
	assert_string_equal(conf_str(c, C_APP_BASE_URL),
	    "https://h.example.com/jira");
	assert_int_equal(conf_bool(c, C_APP_LICENSING), 1);
	assert_string_equal(conf_str(c, C_APP_LICENSING), "true");
	assert_string_equal(conf_str(c, C_APP_SCOPES), "READ,WRITE,DELETE");
	assert_int_equal(conf_int(c, C_SERVER_MAX_REQUESTS), 7);
	assert_int_equal(conf_int(c, C_SERVER_IDLE_EXIT), 0);
	assert_string_equal(conf_str(c, C_SERVER_LOG_LEVEL), "warn");
	/* Defaults are typed too. */
	assert_int_equal(conf_int(c, C_SERVER_MIN_FREE_MB), 64);
	assert_string_equal(conf_str(c, C_SERVER_STATE_DIR),
	    "/var/lib/cellar");
	assert_string_equal(c->dir, dir);
	conf_free(c);
	conf_free(NULL);
}

static const struct conf_key short_schema[] = {
	{ "s", "code", CONF_STR, 0, "abcd", 3, 10, NULL, "a code", NULL },
};

static void
test_str_too_short(void **state)
{
	char	 dir[64], want[256], *out;
	int	 loaded;

	(void)state;
	tmp_dir(dir, sizeof(dir));
	tmp_file(dir, "cellar.conf", "[s]\ncode = ab\n");
	out = load_output(dir, short_schema, 1, &loaded);
	tmp_rm(dir);
	snprintf(want, sizeof(want), "%s/cellar.conf:2: [s] code: must be 3 "
	    "to 10 characters long\n", dir);
	expect_text("error", out, want);
	free(out);
}

/* A default that fails its own schema is reported, not used. */
static void
test_bad_builtin_default(void **state)
{
	static const struct conf_key bad_int[] = {
		{ "s", "ok", CONF_INT, 0, "5", 0, 10, NULL, "fine", NULL },
		{ "s", "n", CONF_INT, 0, "11", 0, 10, NULL, "broken", NULL },
	};
	static const struct conf_key bad_type[] = {
		{ "s", "t", CONF_TYPE__MAX, 0, "x", 0, 0, NULL, "broken",
		    NULL },
	};
	char	 dir[64], *out;
	int	 loaded;

	(void)state;
	tmp_dir(dir, sizeof(dir));
	tmp_file(dir, "cellar.conf", "[s]\n");
	out = load_output(dir, bad_int, 2, &loaded);
	expect_text("bad default", out, "(built-in defaults): [s] n: "
	    "expected an integer from 0 to 10\n");
	free(out);
	out = load_output(dir, bad_type, 1, &loaded);
	expect_text("bad type", out, "(built-in defaults): [s] t: "
	    "has an unknown type\n");
	free(out);
	tmp_rm(dir);
}

/* The 1 MiB file cap: too big to keep as a golden file. */
static void
test_file_too_large(void **state)
{
	char	 dir[64], path[128], line[101], want[256], *out;
	FILE	*f;
	int	 i, loaded;

	(void)state;
	tmp_dir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/cellar.conf", dir);
	memset(line, 'x', sizeof(line));
	line[0] = '#';
	line[99] = '\n';
	line[100] = '\0';
	assert_non_null(f = fopen(path, "w"));
	fputs("[app]\nkey = k\nbase_url = https://h.example.com\n", f);
	/* After the 47-byte head, 10485 lines of 100 bytes make 1048547. */
	for (i = 0; i < 10486; i++)
		fputs(line, f);
	fclose(f);
	out = load_output(dir, NULL, 0, &loaded);
	snprintf(want, sizeof(want), "%s/cellar.conf:%d: file is larger than "
	    "1048576 bytes\n", dir, 3 + 10486);
	expect_text("error", out, want);
	free(out);

	/* Just under the cap is fine. */
	assert_non_null(f = fopen(path, "w"));
	fputs("[app]\nkey = k\nbase_url = https://h.example.com\n", f);
	for (i = 0; i < 10485; i++)
		fputs(line, f);
	fclose(f);
	out = load_output(dir, NULL, 0, &loaded);
	if (!loaded)
		fail_msg("%s", out);
	free(out);
	tmp_rm(dir);
}

static void
test_too_many_dropins(void **state)
{
	char	 dir[64], name[128], want[256], *out;
	int	 i, loaded;

	(void)state;
	tmp_dir(dir, sizeof(dir));
	tmp_file(dir, "cellar.conf", "[app]\nkey = k\n"
	    "base_url = https://h.example.com\n");
	snprintf(name, sizeof(name), "%s/conf.d", dir);
	assert_int_equal(mkdir(name, 0700), 0);
	for (i = 0; i < 256; i++) {
		snprintf(name, sizeof(name), "conf.d/%03d.conf", i);
		tmp_file(dir, name, "[server]\nidle_exit = 1\n");
	}
	out = load_output(dir, NULL, 0, &loaded);
	/* 256 are fine; the last one sets the value. */
	if (!loaded)
		fail_msg("%s", out);
	assert_non_null(strstr(out, "/conf.d/255.conf:2\n"));
	free(out);
	tmp_file(dir, "conf.d/256.conf", "");
	out = load_output(dir, NULL, 0, &loaded);
	snprintf(want, sizeof(want), "%s/conf.d: more than 256 drop-ins\n",
	    dir);
	expect_text("error", out, want);
	free(out);
	tmp_rm(dir);
}

/*
 * CONF_MAX_LINE is 4096 and the message says "longer than 4096
 * characters": a line of exactly 4096 characters is within the limit
 * whether or not a newline ends it.
 */
static void
test_line_of_4096_is_fine(void **state)
{
	char	 dir[64], *text, *out;
	size_t	 hdr;
	int	 loaded;

	(void)state;
	tmp_dir(dir, sizeof(dir));
	hdr = strlen("[app]\nkey = k\nbase_url = https://h.example.com\n");
	assert_non_null(text = malloc(hdr + 4096 + 2));
	memcpy(text, "[app]\nkey = k\nbase_url = https://h.example.com\n",
	    hdr);
	memset(text + hdr, 'x', 4096);
	text[hdr] = '#';
	/* Without a newline at the end of the file. */
	text[hdr + 4096] = '\0';
	tmp_file(dir, "cellar.conf", text);
	out = load_output(dir, NULL, 0, &loaded);
	if (!loaded) {
		print_message("%s", out);
		free(out);
		free(text);
		tmp_rm(dir);
		fail_msg("4096 characters at the end of the file refused");
		return;
	}
	free(out);
	/* With one. */
	text[hdr + 4096] = '\n';
	text[hdr + 4097] = '\0';
	tmp_file(dir, "cellar.conf", text);
	free(text);
	out = load_output(dir, NULL, 0, &loaded);
	tmp_rm(dir);
	if (!loaded) {
		print_message("%s", out);
		free(out);
		fail_msg("4096 characters and a newline refused");
		return;
	}
	free(out);
}

/* ---------------------------------------------------- --config and env */

static void
test_dir_from_args(void **state)
{
	char		*argv[8];
	char		 a0[] = "cellarctl", a1[] = "--config";
	char		 a2[] = "/srv/c", a3[] = "config", a4[] = "check";
	char		 dd[] = "--";
	const char	*saved, *d;
	char		*keep = NULL;
	int		 argc;

	(void)state;
	if ((saved = getenv("CELLAR_CONFIG")) != NULL)
		assert_non_null(keep = strdup(saved));
	unsetenv("CELLAR_CONFIG");

	/* --config DIR is taken out of argv. */
	argv[0] = a0; argv[1] = a1; argv[2] = a2; argv[3] = a3;
	argv[4] = a4; argv[5] = NULL;
	argc = 5;
	d = conf_dir_from_args(&argc, argv);
	assert_non_null(d);
	assert_string_equal(d, "/srv/c");
	assert_int_equal(argc, 3);
	assert_string_equal(argv[0], "cellarctl");
	assert_string_equal(argv[1], "config");
	assert_string_equal(argv[2], "check");
	assert_null(argv[3]);

	/* ... wherever it is. */
	argv[0] = a0; argv[1] = a3; argv[2] = a4; argv[3] = a1;
	argv[4] = a2; argv[5] = NULL;
	argc = 5;
	assert_string_equal(conf_dir_from_args(&argc, argv), "/srv/c");
	assert_int_equal(argc, 3);
	assert_string_equal(argv[2], "check");
	assert_null(argv[3]);

	/* --config without its argument: NULL (usage). */
	argv[0] = a0; argv[1] = a3; argv[2] = a1; argv[3] = NULL;
	argc = 3;
	assert_null(conf_dir_from_args(&argc, argv));

	/* Nothing given: /etc/cellar, argv untouched. */
	argv[0] = a0; argv[1] = a3; argv[2] = a4; argv[3] = NULL;
	argc = 3;
	assert_string_equal(conf_dir_from_args(&argc, argv), "/etc/cellar");
	assert_int_equal(argc, 3);
	assert_string_equal(argv[1], "config");

	/* After "--" nothing is an option. */
	argv[0] = a0; argv[1] = dd; argv[2] = a1; argv[3] = a2;
	argv[4] = NULL;
	argc = 4;
	assert_string_equal(conf_dir_from_args(&argc, argv), "/etc/cellar");
	assert_int_equal(argc, 4);
	assert_string_equal(argv[2], "--config");

	/* $CELLAR_CONFIG when no --config; --config wins over it. */
	assert_int_equal(setenv("CELLAR_CONFIG", "/from/env", 1), 0);
	argv[0] = a0; argv[1] = a3; argv[2] = a4; argv[3] = NULL;
	argc = 3;
	assert_string_equal(conf_dir_from_args(&argc, argv), "/from/env");
	argv[0] = a0; argv[1] = a1; argv[2] = a2; argv[3] = NULL;
	argc = 3;
	assert_string_equal(conf_dir_from_args(&argc, argv), "/srv/c");
	assert_int_equal(argc, 1);
	/* An empty $CELLAR_CONFIG is no setting. */
	assert_int_equal(setenv("CELLAR_CONFIG", "", 1), 0);
	argv[0] = a0; argv[1] = NULL;
	argc = 1;
	assert_string_equal(conf_dir_from_args(&argc, argv), "/etc/cellar");

	if (keep != NULL) {
		setenv("CELLAR_CONFIG", keep, 1);
		free(keep);
	} else
		unsetenv("CELLAR_CONFIG");
}

/* ---------------------------------------------------- example config */

/*
 * conf/cellar.conf.example is what "cellarctl config example" prints: a
 * comment header, then conf_example() of the schema.  The file must end
 * with exactly the generated text (so a new key, default or help line
 * cannot be forgotten there), list every key, and load as it is.
 */
static void
test_example_config(void **state)
{
	char		*file, *gen = NULL, *p, *out, dir[64], pat[128];
	size_t		 flen, glen = 0, i;
	FILE		*f;
	int		 loaded;

	(void)state;
	file = slurp("conf/cellar.conf.example", &flen);
	if (file == NULL)
		fail_msg("conf/cellar.conf.example: %s", strerror(errno));
	assert_non_null(f = open_memstream(&gen, &glen));
	conf_example(conf_schema, C__MAX, f);
	fclose(f);
	if (flen < glen || strcmp(file + flen - glen, gen) != 0) {
		print_message("--- generated by conf_example:\n%s---\n", gen);
		free(gen);
		free(file);
		fail_msg("conf/cellar.conf.example is out of date: "
		    "regenerate it with \"cellarctl config example\"");
		return;
	}
	/* The header before it is comments only. */
	for (p = file; p < file + flen - glen; p = strchr(p, '\n') + 1)
		if (*p != '#')
			fail_msg("example header: not a comment: %.40s", p);
	free(gen);

	/* Every key is there, set or commented out. */
	for (i = 0; i < C__MAX; i++) {
		snprintf(pat, sizeof(pat), "\n%s = ", conf_schema[i].name);
		if (strstr(file, pat) != NULL)
			continue;
		snprintf(pat, sizeof(pat), "\n#%s = ", conf_schema[i].name);
		if (strstr(file, pat) == NULL)
			fail_msg("key %s missing from the example",
			    conf_schema[i].name);
	}

	/* It loads as shipped. */
	tmp_dir(dir, sizeof(dir));
	tmp_file(dir, "cellar.conf", file);
	free(file);
	out = load_output(dir, NULL, 0, &loaded);
	tmp_rm(dir);
	if (!loaded)
		fail_msg("the example config does not load: %s", out);
	free(out);
}

int
main(void)
{
#define TMP_TEST(f)	cmocka_unit_test_teardown(f, tmp_teardown)
	const struct CMUnitTest tests[] = {
		TMP_TEST(test_secret_redacted),
		TMP_TEST(test_typed_getters),
		TMP_TEST(test_str_too_short),
		TMP_TEST(test_bad_builtin_default),
		TMP_TEST(test_file_too_large),
		TMP_TEST(test_too_many_dropins),
		TMP_TEST(test_line_of_4096_is_fine),
		cmocka_unit_test(test_dir_from_args),
		TMP_TEST(test_example_config),
	};
	struct CMUnitTest	*golden;
	char			**names;
	size_t			 n, i;
	int			 failed;

	if ((n = golden_tests(&golden, &names)) == 0) {
		fprintf(stderr, "test_conf: no cases in " GOLDEN_DIR
		    " (run from the repository root)\n");
		return 1;
	}
	failed = _cmocka_run_group_tests("conf_golden", golden, n, NULL,
	    NULL);
	failed += cmocka_run_group_tests_name("conf", tests, NULL, NULL);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(golden);
	return failed;
}
