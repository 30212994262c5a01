/*
 * cellar.fcgi: the FastCGI worker.  Started by spawn-fcgi/multiwatch or
 * systemd socket activation with the listening socket on fd 0; when fd 0
 * is not a socket it answers one request as plain CGI.  It exits after
 * max_requests requests, after idle_exit idle seconds and on SIGTERM,
 * SIGINT, SIGHUP or SIGUSR1 (after finishing the request in hand); the
 * supervisor starts a fresh one.  Nothing but caches lives here.
 *
 * libfcgi 2.4.2 as Debian 12 ships it, and what this file does about it:
 * - Debian carries only half of the CVE-2025-23016 fix: a crafted record
 *   can still abort a worker.  The socket is reachable only by nginx (a
 *   unix socket, mode 0660) and a supervisor restarts workers.
 * - After SIGTERM, FCGX_Accept_r returns < 0 forever: the loop leaves on
 *   any negative return and the worker exits.
 * - CONTENT_LENGTH is not enforced: req_body_read reads exactly that
 *   many bytes (bounded by the route) or answers 400.
 * - Parameter pointers die at the next accept: req_init copies them.
 *
 * Work a handler deferred (fcgi.h, struct after) runs after
 * FCGX_Finish_r, which ends the request for nginx (and so for the
 * client); as CGI, after standard output is closed.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sysexits.h>
#include <unistd.h>

#include <fastcgi.h>
#include <fcgiapp.h>
#include <sodium.h>

#include "cellar/log.h"
#include "cellar/memlock.h"
#include "fcgi.h"
#include "pool.h"

/* Most bytes handed to libfcgi per call (its lengths are ints). */
#define FCGI_CHUNK	65536

static volatile sig_atomic_t	 stop_signal;

static void
on_stop(int sig)
{
	stop_signal = sig;
	/* Makes a blocked FCGX_Accept_r return instead of retrying. */
	FCGX_ShutdownPending();
}

static void
signals_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_stop;
	/* No SA_RESTART: accept(2) must return EINTR. */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

/* FastCGI transport. */

static const char *
fcgi_param(void *ctx, const char *name)
{
	return FCGX_GetParam(name, ((FCGX_Request *)ctx)->envp);
}

static long
fcgi_read(void *ctx, char *buf, size_t n)
{
	int	 want = n > FCGI_CHUNK ? FCGI_CHUNK : (int)n;

	return FCGX_GetStr(buf, want, ((FCGX_Request *)ctx)->in);
}

static int
fcgi_write(void *ctx, const char *buf, size_t n)
{
	FCGX_Stream	*out = ((FCGX_Request *)ctx)->out;
	int		 chunk;

	while (n > 0) {
		chunk = n > FCGI_CHUNK ? FCGI_CHUNK : (int)n;
		if (FCGX_PutStr(buf, chunk, out) != chunk)
			return -1;
		buf += chunk;
		n -= (size_t)chunk;
	}
	return 0;
}

/* Plain CGI transport. */

static const char *
cgi_param(void *ctx, const char *name)
{
	(void)ctx;
	return getenv(name);
}

static long
cgi_read(void *ctx, char *buf, size_t n)
{
	ssize_t	 r;

	(void)ctx;
	do {
		r = read(STDIN_FILENO, buf, n);
	} while (r == -1 && errno == EINTR);
	return (long)r;
}

static int
cgi_write(void *ctx, const char *buf, size_t n)
{
	ssize_t	 w;

	(void)ctx;
	while (n > 0) {
		w = write(STDOUT_FILENO, buf, n);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
serve_fcgi(const struct app *a)
{
	FCGX_Request	 req;
	struct http_io	 io = { &req, fcgi_param, fcgi_read, fcgi_write };
	struct after	 after = { NULL, NULL, NULL };
	long long	 max = conf_int(a->cfg, C_SERVER_MAX_REQUESTS);
	long long	 idle = conf_int(a->cfg, C_SERVER_IDLE_EXIT), served = 0;
	const char	*why = "max_requests";
	int		 use_alarm = 0, rc;

	if (FCGX_Init() != 0 || FCGX_InitRequest(&req, 0, 0) != 0) {
		log_msg(LOGL_ERR, NULL, "reason=fcgi_init_failed");
		return 1;
	}
	signals_install();
	/*
	 * Idle exit: a receive timeout on the listening socket makes
	 * accept(2) give up after idle seconds, with no timer to arm and
	 * disarm around every request.  Every worker on the socket sets the
	 * same value.  Where the socket refuses it, alarm(2) does the job.
	 */
	if (idle > 0) {
		struct timeval tv = { (time_t)idle, 0 };

		use_alarm = setsockopt(FCGI_LISTENSOCK_FILENO, SOL_SOCKET,
		    SO_RCVTIMEO, &tv, sizeof(tv)) == -1;
	}
	log_msg(LOGL_INFO, NULL, "event=worker_start max_requests=%lld "
	    "idle_exit=%lld memlock=%s", max, idle,
	    memlock_active() ? "all" : "buffers");
	while (served < max) {
		if (stop_signal) {
			why = "signal";
			break;
		}
		if (use_alarm)
			alarm((unsigned int)idle);
		rc = FCGX_Accept_r(&req);
		if (use_alarm)
			alarm(0);
		if (rc < 0) {
			why = stop_signal == SIGALRM || rc == -EAGAIN ||
			    rc == -EWOULDBLOCK ? "idle" :
			    stop_signal ? "signal" : "accept_failed";
			break;
		}
		app_serve(a, &io, &after);
		FCGX_Finish_r(&req);
		app_after(a, &after);
		served++;
		if (pool_exit_wanted()) {
			why = "quarantine";
			break;
		}
	}
	FCGX_Free(&req, 1);
	log_msg(LOGL_INFO, NULL, "event=worker_exit reason=%s served=%lld",
	    why, served);
	return 0;
}

/*
 * Ends a CGI reply: the server sees the end of standard output (which
 * then points at /dev/null, so that no later write lands elsewhere).
 */
static void
cgi_finish(void)
{
	int	 fd;

	fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (fd == -1 || (fd != STDOUT_FILENO &&
	    dup2(fd, STDOUT_FILENO) == -1))
		(void)close(STDOUT_FILENO);
	if (fd > STDOUT_FILENO)
		(void)close(fd);
}

static int
serve_cgi(const struct app *a)
{
	struct http_io	 io = { NULL, cgi_param, cgi_read, cgi_write };
	struct after	 after = { NULL, NULL, NULL };

	app_serve(a, &io, &after);
	if (after.run != NULL) {
		cgi_finish();
		app_after(a, &after);
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	struct conf	*cfg;
	struct app	*a;
	const char	*dir;
	char		 err[CONF_ERRLEN];
	int		 rc, lvl;

	log_init("cellar.fcgi", LOGL_INFO);
	if ((dir = conf_dir_from_args(&argc, argv)) == NULL || argc > 1) {
		fprintf(stderr, "usage: cellar.fcgi [--config DIR]\n");
		return 2;
	}
	/* Before any key is in memory; refused: the libraries lock theirs. */
	(void)memlock_all();
	if (sodium_init() < 0) {
		log_msg(LOGL_ERR, NULL, "reason=sodium_init_failed");
		return 1;
	}
	if ((cfg = conf_load_cellar(dir, err)) == NULL) {
		fprintf(stderr, "cellar.fcgi: %s\n", err);
		return EX_CONFIG;
	}
	if ((lvl = log_level_parse(conf_str(cfg, C_SERVER_LOG_LEVEL))) >= 0)
		log_init("cellar.fcgi", (enum log_level)lvl);
	/* Every file we create (databases, cached keys) is ours alone. */
	umask(077);
	if ((a = app_new(cfg, err, sizeof(err))) == NULL) {
		conf_free(cfg);
		fprintf(stderr, "cellar.fcgi: %s\n", err);
		return 1;
	}
	rc = FCGX_IsCGI() ? serve_cgi(a) : serve_fcgi(a);
	app_free(a);
	return rc;
}
