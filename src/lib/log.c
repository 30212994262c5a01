/*
 * The app log.  One line per event, written with a single write(2) so
 * that lines from concurrent workers sharing the file never interleave.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cellar/clock.h"
#include "cellar/log.h"
#include "cellar/util.h"

static const char	*log_prog = "cellar";
static enum log_level	 log_min = LOGL_INFO;
static FILE		*log_stream;
static long		 log_pid;
/* The timestamp is formatted once per second, not once per line. */
static long long	 log_stamp_at = -1;
static char		 log_stamp[21];

static const char *const level_names[LOGL__MAX] = {
	[LOGL_DEBUG] = "debug",
	[LOGL_INFO] = "info",
	[LOGL_WARN] = "warn",
	[LOGL_ERR] = "error",
};

void
log_init(const char *prog, enum log_level min)
{
	log_prog = prog;
	log_min = min;
	log_pid = (long)getpid();
}

void
log_set_stream(FILE *f)
{
	log_stream = f;
}

int
log_level_parse(const char *s)
{
	int	 i;

	for (i = 0; i < LOGL__MAX; i++)
		if (strcmp(s, level_names[i]) == 0)
			return i;
	if (strcmp(s, "warning") == 0)
		return LOGL_WARN;
	return -1;
}

static void
log_vwrite(enum log_level lvl, const char *rid, const char *fmt, va_list ap)
{
	char		 line[1024];
	long long	 now;
	int		 n, m;

	if (lvl < log_min || lvl >= LOGL__MAX)
		return;
	now = clock_now();
	if (now != log_stamp_at) {
		util_iso8601(log_stamp, now);
		log_stamp_at = now;
	}
	if (log_pid == 0)
		log_pid = (long)getpid();
	n = snprintf(line, sizeof(line), "%s %s[%ld] %s rid=%s ", log_stamp,
	    log_prog, log_pid, level_names[lvl], rid != NULL ? rid : "-");
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	if (m < 0)
		return;
	n += m;
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (log_stream != NULL) {
		fwrite(line, 1, (size_t)n, log_stream);
		fflush(log_stream);
	} else if (write(STDERR_FILENO, line, (size_t)n) < 0) {
		/* Nowhere left to report a failing log. */
	}
}

void
log_msg(enum log_level lvl, const char *rid, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vwrite(lvl, rid, fmt, ap);
	va_end(ap);
}

void
log_request(const char *rid, const char *route, int status, long long usec)
{
	log_msg(LOGL_INFO, rid, "route=%s status=%d us=%lld",
	    route != NULL ? route : "-", status, usec);
}
