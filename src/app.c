/*
 * The worker's per-process state and the life of one request: parse,
 * route, reply, log.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "log.h"
#include "util.h"

struct app *
app_new(struct conf *cfg)
{
	struct app	*a;
	const char	*url, *p;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	a->cfg = cfg;
	a->started = (long long)time(NULL);
	/* The path of base_url (validated, no trailing slash) or "". */
	url = conf_str(cfg, C_APP_BASE_URL);
	p = strstr(url, "://");
	p = (p != NULL) ? strchr(p + 3, '/') : NULL;
	if ((a->base_path_buf = strdup(p != NULL ? p : "")) == NULL ||
	    (a->descriptor = app_descriptor(cfg, &a->descriptor_len)) ==
	    NULL) {
		free(a->base_path_buf);
		free(a);
		return NULL;
	}
	a->base_path = a->base_path_buf;
	return a;
}

void
app_free(struct app *a)
{
	if (a == NULL)
		return;
	conf_free(a->cfg);
	free(a->base_path_buf);
	free(a->descriptor);
	free(a);
}

void
app_serve(const struct app *a, const struct http_io *io)
{
	struct req	 r;
	struct reply	 rep;
	enum err	 e;

	memset(&rep, 0, sizeof(rep));
	if ((e = req_init(&r, io, a->base_path, a)) == ERR_OK)
		router_dispatch(routes, nroutes, NULL, &r, io, &rep);
	else {
		log_msg(LOG_WARN, r.rid, "reason=bad_request_line err=%s",
		    err_code(e));
		reply_error(&rep, e);
	}
	if (reply_send(&rep, io, r.rid) == -1)
		log_msg(LOG_WARN, r.rid, "reason=client_gone");
	log_request(r.rid, r.route != NULL ? r.route->name : "-",
	    rep.status, util_now_usec() - r.start_usec);
	reply_free(&rep);
	req_free(&r);
}
