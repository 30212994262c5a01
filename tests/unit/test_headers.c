/*
 * headers: no cellar header shadows or collides with a system header a
 * program may want beside it (<err.h>'s warnx, <syslog.h>'s LOG_*): this
 * file includes them all together, and it compiling is most of the
 * test.  The library's headers live in include/cellar/ for that reason.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <err.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include <cmocka.h>

#include "cellar/accounts.h"
#include "cellar/buf.h"
#include "cellar/clock.h"
#include "cellar/conf.h"
#include "cellar/db.h"
#include "cellar/err.h"
#include "cellar/fit.h"
#include "cellar/http.h"
#include "cellar/jira.h"
#include "cellar/json.h"
#include "cellar/jwks.h"
#include "cellar/keys.h"
#include "cellar/log.h"
#include "cellar/outbound.h"
#include "cellar/qsh.h"
#include "cellar/registry.h"
#include "cellar/tenantdb.h"
#include "cellar/token.h"
#include "cellar/tpl.h"
#include "cellar/tpl_import.h"
#include "cellar/util.h"
#include "cellar/version.h"

static void
test_system_names_keep_their_meaning(void **state)
{
	void	(*w)(const char *, ...) = warnx;

	(void)state;
	/* <syslog.h>'s levels and ours are different names. */
	assert_int_equal(LOG_ERR, 3);
	assert_int_equal(LOG_INFO, 6);
	assert_int_equal(LOGL_ERR, LOGL__MAX - 1);
	assert_non_null(w);
	assert_string_equal(err_code(ERR_NOT_FOUND), "not_found");
	assert_true(strlen(CELLAR_VERSION) > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_system_names_keep_their_meaning),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
