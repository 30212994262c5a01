/*
 * Shared unit-test helpers; see fixture.h.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "cellar/log.h"
#include "fixture.h"

const struct tpl_limits fx_limits = { TPL_MAX_PER_TENANT, 2000 };

int
fx_tmpdir(char *dir, size_t dirsz)
{
	if ((size_t)snprintf(dir, dirsz, "/tmp/cellar-ut.XXXXXX") >= dirsz)
		return -1;
	return mkdtemp(dir) != NULL ? 0 : -1;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return (flag == FTW_DP ? rmdir(path) : unlink(path)) == 0 ? 0 : -1;
}

int
fx_rmtree(const char *dir)
{
	return nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void
fx_tenant_setup(struct fx_tenant *f, const char *ck)
{
	struct install	 in = { ck != NULL ? ck : "client-key-ut",
	    "s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t", "https://unit.example.net",
	    NULL, "jira", NULL, NULL, NULL, NULL, NULL, NULL, 0 };
	char		 err[256];
	int		 created;

	memset(f, 0, sizeof(*f));
	assert_int_not_equal(sodium_init(), -1);
	assert_int_equal(fx_tmpdir(f->dir, sizeof(f->dir)), 0);
	snprintf(f->keys, sizeof(f->keys), "%s/keys", f->dir);
	assert_int_equal(keys_init_dir(f->keys, err, sizeof(err)), 0);
	assert_non_null(f->kr = keys_load(f->keys, err, sizeof(err)));
	assert_non_null(f->reg = registry_open(f->dir, f->kr, 1, err,
	    sizeof(err)));
	assert_int_equal(registry_install(f->reg, &in, FX_NOW, &f->t,
	    &created), ERR_OK);
	assert_int_equal(created, 1);
	assert_int_equal(tenantdb_open(f->reg, &f->t, NULL, &f->tdb), ERR_OK);
}

void
fx_tenant_teardown(struct fx_tenant *f)
{
	tenantdb_close(f->tdb);
	registry_tenant_free(&f->t);
	registry_close(f->reg);
	keys_free(f->kr);
	assert_int_equal(fx_rmtree(f->dir), 0);
	memset(f, 0, sizeof(*f));
}

int
fx_tenant_state_setup(void **state)
{
	struct fx_tenant *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	fx_tenant_setup(f, NULL);
	*state = f;
	return 0;
}

int
fx_tenant_state_teardown(void **state)
{
	struct fx_tenant *f = *state;

	fx_tenant_teardown(f);
	free(f);
	return 0;
}

static char	*log_buf;
static size_t	 log_len;
static FILE	*log_f;

void
fx_log_start(void)
{
	fx_log_stop();
	assert_non_null(log_f = open_memstream(&log_buf, &log_len));
	log_set_stream(log_f);
}

const char *
fx_log_text(void)
{
	if (log_f == NULL)
		return "";
	fflush(log_f);
	return log_buf != NULL ? log_buf : "";
}

void
fx_log_stop(void)
{
	log_set_stream(NULL);
	if (log_f != NULL)
		fclose(log_f);
	free(log_buf);
	log_f = NULL;
	log_buf = NULL;
	log_len = 0;
}

int
fx_qsh_vectors(void (*fn)(const struct fx_vector *, void *), void *arg)
{
	struct fx_vector v;
	FILE		*f;
	char		*line = NULL, *fld[7], *p, *t;
	size_t		 cap = 0;
	int		 n, cases = 0;

	assert_non_null(f = fopen("tests/data/qsh-vectors.tsv", "r"));
	while (getline(&line, &cap, f) != -1) {
		if (line[0] == '#' || strncmp(line, "name\t", 5) == 0)
			continue;
		line[strcspn(line, "\n")] = '\0';
		for (n = 0, p = line; n < 7; n++) {
			fld[n] = p;
			if ((t = strchr(p, '\t')) == NULL)
				break;
			*t = '\0';
			p = t + 1;
		}
		if (n != 6)
			fail_msg("qsh-vectors.tsv: a line of %d fields", n + 1);
		v.name = fld[0];
		v.method = fld[1];
		v.path = fld[2];
		v.query = fld[3];
		v.canonical = fld[4];
		v.qsh = fld[5];
		v.url = fld[6];
		fn(&v, arg);
		cases++;
	}
	free(line);
	fclose(f);
	return cases;
}
