/*
 * The worker's long-lived state (configuration and what is derived from
 * it once per process) and the route handlers.
 */
#ifndef CELLAR_APP_H
#define CELLAR_APP_H

#include <stddef.h>

#include "conf.h"
#include "keys.h"
#include "registry.h"
#include "http.h"
#include "router.h"

#define CELLAR_VERSION	"0.1.0"

struct app {
	struct conf	*cfg;
	struct keyring	*kr;		/* master keys, sodium_malloc'd */
	struct registry	*reg;		/* registry.db, open for the worker */
	const char	*base_path;	/* path of base_url, "" for none */
	char		*base_path_buf;
	char		*descriptor;	/* atlassian-connect.json, built once */
	size_t		 descriptor_len;
	long long	 started;	/* wall clock seconds */
};

/*
 * Builds the app state from a loaded configuration (taking ownership of
 * cfg): loads the master keys, runs the cipher self-test and opens (or
 * creates) the registry.  Returns NULL with a message in err.
 */
struct app	*app_new(struct conf *cfg, char *err, size_t errsz);
void		 app_free(struct app *);

/* Builds the Connect descriptor for cfg into a malloc'd JSON text. */
char		*app_descriptor(const struct conf *cfg, size_t *len);

/* Serves one request through io: parse, route, reply, log. */
void		 app_serve(const struct app *, const struct http_io *);

/* The route table (routes.c). */
extern const struct route	routes[];
extern const size_t		nroutes;

/* Handlers. */
enum err	 route_healthz(struct req *, struct reply *);
enum err	 route_descriptor(struct req *, struct reply *);
enum err	 route_installed(struct req *, struct reply *);
enum err	 route_uninstalled(struct req *, struct reply *);
enum err	 route_enabled(struct req *, struct reply *);
enum err	 route_disabled(struct req *, struct reply *);
enum err	 route_tenant(struct req *, struct reply *);
enum err	 route_templates_list(struct req *, struct reply *);
enum err	 route_templates_create(struct req *, struct reply *);
enum err	 route_templates_get(struct req *, struct reply *);
enum err	 route_templates_put(struct req *, struct reply *);
enum err	 route_templates_delete(struct req *, struct reply *);
enum err	 route_templates_render(struct req *, struct reply *);
enum err	 route_templates_uses(struct req *, struct reply *);
enum err	 route_templates_export(struct req *, struct reply *);
enum err	 route_templates_import(struct req *, struct reply *);

#endif
