/*
 * render: template variables filled in one pass.  Every known variable,
 * fallbacks (with blanks around them), unknown names and broken braces
 * copied as they stand, values never expanded again, and the RENDER_MAX
 * bound on the output.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "render.h"

#define TODAY	"2026-11-23"

/* An object of string values from NULL-terminated name, value pairs. */
static cJSON *
vals(const char *name, ...)
{
	cJSON		*o = cJSON_CreateObject();
	const char	*n, *v;
	va_list		 ap;

	assert_non_null(o);
	va_start(ap, name);
	for (n = name; n != NULL; n = va_arg(ap, const char *)) {
		v = va_arg(ap, const char *);
		assert_non_null(cJSON_AddStringToObject(o, n, v));
	}
	va_end(ap);
	return o;
}

/* render(body, values, TODAY) must give want. */
static void
expect(const char *body, const cJSON *values, const char *want)
{
	char	*got = render(body, values, TODAY);

	if (got == NULL)
		fail_msg("render(\"%s\") failed", body);
	if (strcmp(got, want) != 0) {
		fail_msg("render(\"%s\")\n  got  \"%s\"\n  want \"%s\"", body,
		    got, want);
	}
	free(got);
}

static void
test_every_variable(void **state)
{
	cJSON	*v = vals("issue.key", "SUP-42", "issue.summary",
	    "Printer on fire", "reporter.displayName", "Ada",
	    "assignee.displayName", "Grace", "currentUser.displayName",
	    "\xc3\x89mile", (const char *)NULL);

	(void)state;
	expect("{{issue.key}}", v, "SUP-42");
	expect("{{issue.summary}}", v, "Printer on fire");
	expect("{{reporter.displayName}}", v, "Ada");
	expect("{{assignee.displayName}}", v, "Grace");
	expect("{{currentUser.displayName}}", v, "\xc3\x89mile");
	expect("{{today}}", v, TODAY);
	expect("Hi {{reporter.displayName}}, {{issue.key}} "
	    "({{issue.summary}}) is with {{assignee.displayName}}. -- "
	    "{{currentUser.displayName}}, {{today}}", v,
	    "Hi Ada, SUP-42 (Printer on fire) is with Grace. -- "
	    "\xc3\x89mile, " TODAY);
	/* Blanks around the name; the same variable twice, back to back. */
	expect("{{ issue.key }}|{{\tissue.key\t}}", v, "SUP-42|SUP-42");
	expect("{{issue.key}}{{issue.key}}", v, "SUP-42SUP-42");
	/* Text without variables, and the empty body. */
	expect("plain text, { single } braces", v,
	    "plain text, { single } braces");
	expect("", v, "");
	cJSON_Delete(v);
}

static void
test_known_names(void **state)
{
	(void)state;
	assert_true(render_known("issue.key", 9));
	assert_true(render_known("issue.summary", 13));
	assert_true(render_known("reporter.displayName", 20));
	assert_true(render_known("assignee.displayName", 20));
	assert_true(render_known("currentUser.displayName", 23));
	assert_true(render_known("today", 5));
	/* By exact length and case. */
	assert_false(render_known("issue.key", 5));
	assert_false(render_known("issue.keyy", 10));
	assert_false(render_known("Issue.Key", 9));
	assert_false(render_known("", 0));
	assert_false(render_known("issue", 5));
}

static void
test_missing_values(void **state)
{
	cJSON	*empty = cJSON_CreateObject();

	(void)state;
	/* No values at all: known variables vanish, today stays. */
	expect("[{{issue.key}}][{{assignee.displayName}}][{{today}}]", NULL,
	    "[][][" TODAY "]");
	expect("[{{issue.key}}][{{today}}]", empty, "[][" TODAY "]");
	cJSON_Delete(empty);
}

static void
test_fallbacks(void **state)
{
	cJSON	*none = vals("other", "x", (const char *)NULL);
	cJSON	*blank = vals("assignee.displayName", "", (const char *)NULL);
	cJSON	*set = vals("assignee.displayName", "Kim", (const char *)NULL);
	cJSON	*num = cJSON_CreateObject();

	(void)state;
	expect("{{assignee.displayName|nobody}}", none, "nobody");
	expect("{{ assignee.displayName | nobody yet }}", none, "nobody yet");
	expect("{{\tassignee.displayName\t|\t  not  set \t}}", none,
	    "not  set");
	expect("{{assignee.displayName |}}", none, "");
	expect("{{assignee.displayName|   }}", none, "");
	expect("{{issue.key | caf\xc3\xa9}}", none, "caf\xc3\xa9");
	/* Only the first bar splits: the rest is fallback text. */
	expect("{{issue.key | a | b}}", none, "a | b");
	/* An empty value takes the fallback, or nothing without one. */
	expect("{{assignee.displayName | nobody}}", blank, "nobody");
	expect("[{{assignee.displayName}}]", blank, "[]");
	/* A value wins over the fallback. */
	expect("{{assignee.displayName | nobody}}", set, "Kim");
	/* A value that is no string is no value (the route refuses it). */
	assert_non_null(cJSON_AddNumberToObject(num, "issue.key", 5));
	expect("{{issue.key | none}}", num, "none");
	/* today has a fallback that never shows. */
	expect("{{ today | never }}", none, TODAY);
	cJSON_Delete(none);
	cJSON_Delete(blank);
	cJSON_Delete(set);
	cJSON_Delete(num);
}

static void
test_unknown_names_stay_literal(void **state)
{
	cJSON	*v = vals("issue.key", "K-1", "foo", "no", "issue.keyy", "no",
	    (const char *)NULL);
	char	 big[1100];

	(void)state;
	expect("{{foo}}", v, "{{foo}}");
	expect("{{ foo | bar }}", v, "{{ foo | bar }}");
	expect("{{issue.keyy}}", v, "{{issue.keyy}}");
	expect("{{Issue.Key}}", v, "{{Issue.Key}}");
	expect("{{issue. key}}", v, "{{issue. key}}");
	expect("{{}} {{ }} {{|x}} {{ | }}", v, "{{}} {{ }} {{|x}} {{ | }}");
	/* An unknown one does not swallow a known one after it. */
	expect("{{foo}} {{issue.key}}", v, "{{foo}} K-1");
	expect("{{foo {{issue.key}}", v, "{{foo K-1");
	/* A name far longer than any known one. */
	memset(big, 'a', sizeof(big));
	memcpy(big, "{{", 2);
	memcpy(big + sizeof(big) - 3, "}}", 3);
	expect(big, v, big);
	cJSON_Delete(v);
}

static void
test_broken_braces(void **state)
{
	cJSON	*v = vals("issue.key", "K-1", (const char *)NULL);

	(void)state;
	/* Unterminated "{{": copied as it stands. */
	expect("{{issue.key", v, "{{issue.key");
	expect("a {{issue.key}} b {{issue.key", v, "a K-1 b {{issue.key");
	expect("{{issue.key}", v, "{{issue.key}");
	expect("{{", v, "{{");
	expect("x {{", v, "x {{");
	expect("{", v, "{");
	/* Stray closers. */
	expect("}} {{issue.key}} }}", v, "}} K-1 }}");
	expect("{issue.key}}", v, "{issue.key}}");
	/* Nested: the first "}}" closes, the name is unknown, the inner
	 * variable is filled. */
	expect("{{issue.key {{issue.key}}}}", v, "{{issue.key K-1}}");
	cJSON_Delete(v);
}

/*
 * A placeholder beside literal braces renders, and the extra braces stay
 * literal: the innermost well-formed "{{...}}" is the placeholder, and
 * the scan goes on correctly after any "{{" that starts none.
 */
static void
test_placeholder_beside_literal_braces(void **state)
{
	cJSON	*v = vals("issue.key", "OPS-42", (const char *)NULL);

	(void)state;
	expect("{{{issue.key}}}", v, "{OPS-42}");
	expect("{{{ issue.key }}}", v, "{OPS-42}");
	expect("{{{issue.key}}", v, "{OPS-42");
	expect("{ {{issue.key}} }", v, "{ OPS-42 }");
	expect("{{ {{issue.key}} }}", v, "{{ OPS-42 }}");
	expect("{{{{issue.key}}}}", v, "{{OPS-42}}");
	expect("{{unknown}} {{issue.key}}", v, "{{unknown}} OPS-42");
	expect("{{{issue.key | none}}}", v, "{OPS-42}");
	expect("{{{nothing}}} {{{issue.key}}}", v, "{{{nothing}}} {OPS-42}");
	expect("{{ {{ {{issue.key}}", v, "{{ {{ OPS-42");
	expect("{{{{{{", v, "{{{{{{");
	cJSON_Delete(v);
}

static void
test_values_are_not_expanded_again(void **state)
{
	cJSON	*v = vals("issue.key", "}} {{issue.summary}} {{today}}",
	    "issue.summary", "{{issue.key}}", "reporter.displayName",
	    "{{x}}", "assignee.displayName", "{{", (const char *)NULL);

	(void)state;
	expect("{{issue.key}}", v, "}} {{issue.summary}} {{today}}");
	expect("{{issue.summary}}", v, "{{issue.key}}");
	expect("{{reporter.displayName}}", v, "{{x}}");
	/* A value's "{{" does not pair with the body's "}}". */
	expect("{{assignee.displayName}}issue.key}}", v, "{{issue.key}}");
	expect("{{issue.key}}{{issue.summary}}", v,
	    "}} {{issue.summary}} {{today}}{{issue.key}}");
	/* A value's "}}" does not close the body's next variable. */
	expect("{{issue.key}} and {{issue.summary | fb}}", v,
	    "}} {{issue.summary}} {{today}} and {{issue.key}}");
	cJSON_Delete(v);
}

static void
test_output_limit(void **state)
{
	char	*val, *body, *got;
	cJSON	*v;

	(void)state;
	/* A value of exactly RENDER_MAX bytes fits. */
	assert_non_null(val = malloc(RENDER_MAX + 2));
	memset(val, 'v', RENDER_MAX + 1);
	val[RENDER_MAX] = '\0';
	v = vals("issue.key", val, (const char *)NULL);
	got = render("{{issue.key}}", v, TODAY);
	assert_non_null(got);
	assert_int_equal(strlen(got), RENDER_MAX);
	free(got);
	/* One byte more, in the body or in a value: NULL. */
	assert_null(render("x{{issue.key}}", v, TODAY));
	assert_null(render("{{issue.key}}x", v, TODAY));
	assert_null(render("{{issue.key}}{{today}}", v, TODAY));
	cJSON_Delete(v);
	val[RENDER_MAX / 2 + 1] = '\0';
	v = vals("issue.key", val, (const char *)NULL);
	assert_null(render("{{issue.key}}{{issue.key}}", v, TODAY));
	/* Many small repeats past the limit. */
	cJSON_Delete(v);
	val[1000] = '\0';
	v = vals("issue.key", val, (const char *)NULL);
	assert_non_null(body = malloc(13 * 300 + 1));
	body[0] = '\0';
	for (int i = 0; i < 300; i++)
		strcat(body, "{{issue.key}}");
	assert_null(render(body, v, TODAY));
	/* 262 repeats of 1000 bytes fit. */
	body[13 * 262] = '\0';
	got = render(body, v, TODAY);
	assert_non_null(got);
	assert_int_equal(strlen(got), 262000);
	free(got);
	cJSON_Delete(v);
	/* A body longer than RENDER_MAX without any variable. */
	memset(val, 'v', RENDER_MAX + 1);
	val[RENDER_MAX + 1] = '\0';
	assert_null(render(val, NULL, TODAY));
	val[RENDER_MAX] = '\0';
	got = render(val, NULL, TODAY);
	assert_non_null(got);
	assert_string_equal(got, val);
	free(got);
	free(body);
	free(val);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_variable),
		cmocka_unit_test(test_known_names),
		cmocka_unit_test(test_missing_values),
		cmocka_unit_test(test_fallbacks),
		cmocka_unit_test(test_unknown_names_stay_literal),
		cmocka_unit_test(test_broken_braces),
		cmocka_unit_test(test_placeholder_beside_literal_braces),
		cmocka_unit_test(test_values_are_not_expanded_again),
		cmocka_unit_test(test_output_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
