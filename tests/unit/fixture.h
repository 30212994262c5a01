/*
 * Helpers shared by the unit tests (linked into every test binary):
 * scratch directories removed with nftw(3), a real state directory with
 * master keys, an encrypted registry and one installed tenant, the app
 * log captured in memory, and Atlassian's qsh vectors.
 */
#ifndef CELLAR_TEST_FIXTURE_H
#define CELLAR_TEST_FIXTURE_H

#include <stddef.h>
#include <stdio.h>

#include "cellar/keys.h"
#include "cellar/registry.h"
#include "cellar/tenantdb.h"
#include "cellar/tpl.h"

/* Template limits for tests: the site's shared one, a roomy personal one. */
extern const struct tpl_limits fx_limits;

/* A fixed "now" for tests: 2026-11-18T11:06:40Z. */
#define FX_NOW		1795000000LL

/* Creates a fresh mode-0700 directory under /tmp into dir; 0 or -1. */
int	 fx_tmpdir(char *dir, size_t dirsz);

/* Removes dir and everything under it (nftw, no shell); 0 or -1. */
int	 fx_rmtree(const char *dir);

/*
 * A state directory with master key version 1 in DIR/keys, an encrypted
 * registry and one tenant installed at FX_NOW with client key ck, its
 * file open as tdb.
 */
struct fx_tenant {
	char		 dir[64];
	char		 keys[96];
	struct keyring	*kr;
	struct registry	*reg;
	struct tenant	 t;
	struct tenantdb	*tdb;
};

/* Sets f up (failing the test on any error); ck may be NULL. */
void	 fx_tenant_setup(struct fx_tenant *f, const char *ck);
/* Closes and removes all of it. */
void	 fx_tenant_teardown(struct fx_tenant *f);

/*
 * The same as cmocka setup and teardown functions: *state is a
 * malloc'd struct fx_tenant of client key "client-key-ut".
 */
int	 fx_tenant_state_setup(void **state);
int	 fx_tenant_state_teardown(void **state);

/* A cmocka test run on a fresh fx_tenant. */
#define FX_TENANT_TEST(fn)	cmocka_unit_test_setup_teardown(fn, \
				    fx_tenant_state_setup, \
				    fx_tenant_state_teardown)

/*
 * Captures the app log in memory from now on; fx_log_text() is what was
 * written since, fx_log_stop() restores stderr.
 */
void		 fx_log_start(void);
const char	*fx_log_text(void);
void		 fx_log_stop(void);

/* One official qsh vector (tests/data/qsh-vectors.tsv). */
struct fx_vector {
	const char	*name;
	const char	*method;
	const char	*path;
	const char	*query;
	const char	*canonical;
	const char	*qsh;
	const char	*url;		/* the signed URL, with ?jwt= */
};

/*
 * Calls fn for every vector, from the repository root; returns how many
 * there were (the test fails on a malformed line).
 */
int	 fx_qsh_vectors(void (*fn)(const struct fx_vector *, void *),
	    void *arg);

#endif
