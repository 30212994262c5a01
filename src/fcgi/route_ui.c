/*
 * GET /ui/{page}: the gate of the pages Jira frames.  The worker serves
 * no page: nginx serves each one's HTML from the installed www tree,
 * after asking this route (auth_request) whether to, with the original
 * request line (REQUEST_URI, the page JWT in ?jwt=).  The router has
 * then verified that token at AUTH_PAGE: HS256 under the tenant's
 * shared secret, qsh computed from the URI.  This route answers 204
 * with what nginx copies onto the page:
 *
 *   Content-Security-Policy  scripts from our origin and all.js's only,
 *                            no inline code, framing by the tenant's
 *                            site alone: the origin of the base URL it
 *                            installed with, never the xdm_e parameter
 *                            Jira adds to the URL (anyone can write a
 *                            URL; the base URL came signed).
 *   X-Cellar-All-Js          [ui] all_js_url, which nginx substitutes
 *                            for @CELLAR_ALL_JS@ in the page.
 *
 * A page name not in ui_pages: 404 (nginx sends only those names here;
 * another path below /ui/ is its own JSON 404).  A tenant without a
 * Connect base URL (reached through Forge alone: it has no shared
 * secret either, so its token cannot verify here) or with one that is
 * not a usable origin: 403, and nginx shows its "open this page from
 * Jira" page.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cellar/log.h"
#include "cellar/util.h"
#include "fcgi.h"

/* The pages: the descriptor's module URLs and nginx's location name them. */
static const char *const ui_pages[] = {
	"picker",
	"templates",
	"panoramas",
	"issue-panoramas",
	"admin",
};

/* "https://" + a host of 253 + ":65535", with room to spare. */
#define UI_ORIGIN_MAX	320

/* The fixed part of every page's policy; %s: all.js's origin, the site's. */
#define UI_CSP	"default-src 'none'; script-src 'self' %s; " \
		"style-src 'self'; img-src 'self' data:; connect-src 'self'; " \
		"font-src 'self'; base-uri 'none'; form-action 'none'; " \
		"frame-ancestors %s"

int
route_ui_page_known(const char *name)
{
	size_t	 i;

	for (i = 0; i < sizeof(ui_pages) / sizeof(ui_pages[0]); i++)
		if (strcmp(name, ui_pages[i]) == 0)
			return 1;
	return 0;
}

/*
 * The origin (scheme://host[:port]) of url into out: url must pass
 * util_url_check (https, or http on loopback; no user info, query or
 * fragment).  0, or -1 when it does not or the origin does not fit.
 */
static int
ui_origin(const char *url, char *out, size_t outsz)
{
	char	*copy, *host, *slash;
	int	 rc = -1;

	if ((copy = strdup(url)) == NULL)
		return -1;
	if (util_url_check(copy) != NULL)
		goto out;
	host = strstr(copy, "://") + 3;
	if ((slash = strchr(host, '/')) != NULL)
		*slash = '\0';
	if (strlen(copy) >= outsz)
		goto out;
	memcpy(out, copy, strlen(copy) + 1);
	rc = 0;
out:
	free(copy);
	return rc;
}

enum err
route_ui(struct req *r, struct reply *rep)
{
	const char	*all_js;
	char		 site[UI_ORIGIN_MAX], js[UI_ORIGIN_MAX];
	char		*csp;

	if (!route_ui_page_known(r->params[0]))
		return ERR_NOT_FOUND;
	all_js = conf_str(r->app->cfg, C_UI_ALL_JS_URL);
	if (r->tenant == NULL || r->tenant->base_url == NULL ||
	    ui_origin(r->tenant->base_url, site, sizeof(site)) == -1) {
		log_msg(LOGL_WARN, r->rid, "reason=ui_no_site_origin tenant=%s",
		    r->tenant != NULL ? r->tenant->id : "-");
		return ERR_FORBIDDEN;
	}
	/* The configuration passed the same check at load. */
	if (ui_origin(all_js, js, sizeof(js)) == -1)
		return ERR_INTERNAL;
	if (asprintf(&csp, UI_CSP, js, site) == -1)
		return ERR_INTERNAL;
	return reply_page(rep, csp, all_js);
}
