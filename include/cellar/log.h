/*
 * The app log: one line per request plus warnings with reasons, on
 * stderr (the supervisor or the test stack sends it to a file or the
 * journal).  Callers pass fixed reason codes and numbers only: never a
 * query string, body, header value, token or secret.
 */
#ifndef CELLAR_LOG_H
#define CELLAR_LOG_H

#include <stdio.h>

/* LOGL_, not LOG_: <syslog.h> defines LOG_DEBUG, LOG_INFO and LOG_ERR. */
enum log_level {
	LOGL_DEBUG = 0,
	LOGL_INFO,
	LOGL_WARN,
	LOGL_ERR,
	LOGL__MAX
};

/* Sets the program name and the lowest level that is written. */
void	log_init(const char *prog, enum log_level);
/* Redirects the log (tests); NULL restores stderr. */
void	log_set_stream(FILE *);
/* Parses "debug", "info", "warn", "error"; -1 if unknown. */
int	log_level_parse(const char *);

/*
 * Writes "TS prog[pid] LEVEL rid=RID MSG" (TS: the clock's UTC time,
 * "YYYY-MM-DDTHH:MM:SSZ").  rid may be NULL.  fmt must be
 * a literal in our code and its arguments must be codes or numbers.
 */
void	log_msg(enum log_level, const char *rid, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/* The per-request line: route name, status and microseconds. */
void	log_request(const char *rid, const char *route, int status,
	    long long usec);

#endif
