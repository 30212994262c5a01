# cellar: build, test, run and benchmark.
#
#   make                  cgi-bin/cellar.fcgi, build/cellarctl,
#                         build/cellar-reaper and build/www (the pages'
#                         static files, content-hashed: src/ui/build-assets)
#   make test             everything under ASan/UBSan with -Werror: the
#                         layout check, lint, unit tests (cmocka),
#                         integration tests against the real stack (nginx +
#                         spawn-fcgi + multiwatch), the pages in headless
#                         Chromium against that stack (tests/run-ui) and a
#                         short fuzz run
#   make run              the stack in the foreground on 127.0.0.1:$(PORT),
#                         nginx serving build/www
#   make bench            throughput and latency against a hello-world
#                         FastCGI program behind the same nginx, then
#                         the scaling table (1,000 tenants, 1 to 1,000
#                         of them active)
#   make bench-reaper     backup time for N tenants, and the workers'
#                         p99 while it runs
#   make bench-scale      requests spread over K of R tenants
#   make lint             cppcheck
#   make fuzz             libFuzzer targets for the parsers (FUZZ_SECONDS)
#   make install          the programs, units, nginx and logrotate files
#                         and the pages' files (www, older hashed files
#                         kept) under $(DESTDIR)$(PREFIX) (README, "Deploy")
#
# Variables: SANITIZE=address,undefined  WERROR=1  PORT=8080  CC=...
#            PREFIX=/usr/local  DESTDIR=
#
# One library, one folder per program (README, "Code map"):
#
#   src/lib/   -> build/libcellar.a    headers in include/cellar/; built
#                                      with -Iinclude only, so it cannot
#                                      see a program's private header
#   src/fcgi/  -> cgi-bin/cellar.fcgi  the FastCGI worker
#   src/ctl/   -> build/cellarctl      the operator's command line
#   src/reaper/ -> build/cellar-reaper purge, backup, prune (daily)
#   src/ui/    -> build/www/ui         the pages Jira frames: HTML, ES
#                                      modules, CSS and icons, which nginx
#                                      serves (the worker serves none)
#
# Each program links its own objects and the library archive, from which
# the linker takes only the objects it uses; tests/check-layout fails the
# build when a program holds another program's code.

CC	?= cc
AR	?= ar
PORT	?= 8080
# Where objects and programs go, and where the worker goes: the plain
# build in build/ and cgi-bin/ (make, make run, the systemd units), the
# test build apart in build/test/, so make test never replaces the
# binary a running stack serves.
B	?= build
WORKER	?= cgi-bin/cellar.fcgi
STATE	?= $(CURDIR)/.state
SANITIZE ?=
WERROR	?=
TEST_SANITIZE ?= address,undefined

# What the library needs, and what each program adds.
LIB_PKGS  = sqlcipher libsodium libcjson libjwt libcurl libcrypto icu-i18n icu-uc
FCGI_PKGS = fcgi $(LIB_PKGS)
CTL_PKGS  = $(LIB_PKGS)

PKG_CFLAGS := $(shell pkg-config --cflags $(FCGI_PKGS) 2>/dev/null)
LIB_LIBS   := $(shell pkg-config --libs $(LIB_PKGS) 2>/dev/null) -lm
FCGI_LIBS  := $(shell pkg-config --libs $(FCGI_PKGS) 2>/dev/null) -lm
CTL_LIBS   := $(LIB_LIBS)
TEST_LIBS  := $(shell pkg-config --libs cmocka 2>/dev/null)

WARN	 = -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes \
	   -Wmissing-prototypes -Wmissing-declarations -Wpointer-arith \
	   -Wwrite-strings -Wvla -Wcast-qual -Wundef -Wnull-dereference \
	   -Wimplicit-fallthrough
CFLAGS	?= -O2 -g
CFLAGS	+= -std=c11 -D_GNU_SOURCE -DSQLITE_HAS_CODEC \
	   -fstack-protector-strong -fPIE $(WARN) $(PKG_CFLAGS)
LDFLAGS	+= -pie -Wl,-z,relro,-z,now

ifneq ($(WERROR),)
CFLAGS	+= -Werror
endif
ifneq ($(SANITIZE),)
CFLAGS	+= -fsanitize=$(SANITIZE) -fno-omit-frame-pointer \
	   -fno-sanitize-recover=undefined
LDFLAGS	+= -fsanitize=$(SANITIZE)
else
CFLAGS	+= -D_FORTIFY_SOURCE=2
endif

# The library: shared by every program.
LIB_SRCS = src/lib/accounts.c src/lib/backup.c src/lib/buf.c src/lib/clock.c src/lib/collate.c src/lib/conf.c \
	   src/lib/conf_schema.c src/lib/db.c src/lib/err.c src/lib/file.c src/lib/fit.c src/lib/http.c \
	   src/lib/jira.c src/lib/json.c src/lib/jwks.c src/lib/keys.c src/lib/log.c src/lib/memlock.c \
	   src/lib/outbound.c src/lib/pano.c src/lib/qsh.c src/lib/registry.c \
	   src/lib/tenantdb.c src/lib/token.c src/lib/tpl.c \
	   src/lib/tpl_import.c src/lib/util.c
# The worker: request/reply, router, authentication, handlers.
FCGI_SRCS = src/fcgi/api.c src/fcgi/app.c src/fcgi/auth.c \
	   src/fcgi/forgekey.c src/fcgi/forgetoken.c src/fcgi/route_forge.c \
	   src/fcgi/installkey.c src/fcgi/pano_json.c src/fcgi/perm.c \
	   src/fcgi/pool.c src/fcgi/route_panoramas.c \
	   src/fcgi/route_panoramas_tree.c \
	   src/fcgi/render.c src/fcgi/reply.c src/fcgi/req.c \
	   src/fcgi/route_lifecycle.c src/fcgi/route_meta.c \
	   src/fcgi/route_templates.c src/fcgi/route_templates_io.c \
	   src/fcgi/route_templates_list.c src/fcgi/route_tenant.c \
	   src/fcgi/route_ui.c src/fcgi/router.c src/fcgi/routes.c src/fcgi/tpl_json.c \
	   src/fcgi/tree_cache.c
FCGI_MAIN = src/fcgi/main.c
# cellarctl.
CTL_SRCS = src/ctl/audit.c src/ctl/backups.c src/ctl/keys.c src/ctl/main.c \
	   src/ctl/setup.c src/ctl/tenants.c
# cellar-reaper.
REAPER_SRCS = src/reaper/job_backup.c src/reaper/job_prune.c \
	   src/reaper/job_purge.c src/reaper/job_reconcile.c \
	   src/reaper/job_report.c src/reaper/job_silence.c \
	   src/reaper/job_rotate.c src/reaper/main.c \
	   src/reaper/reaper.c

LIB_OBJS  = $(LIB_SRCS:src/%.c=$(B)/obj/%.o) $(B)/obj/gen/migrations.o
FCGI_OBJS = $(FCGI_SRCS:src/%.c=$(B)/obj/%.o)
CTL_OBJS  = $(CTL_SRCS:src/%.c=$(B)/obj/%.o)
REAPER_OBJS = $(REAPER_SRCS:src/%.c=$(B)/obj/%.o)

# Unit tests, by what they link: the library alone, or the worker's
# objects too.  Each is tests/unit/test_NAME.c plus the shared fixture.
LIB_TESTS  = accounts backup buf clock collate conf db file fit headers json jwks keys memlock outbound pano \
	     qsh registry \
	     tenantdb token tpl tpl_import util
FCGI_TESTS = auth forgekey installkey pano_json render req router
UNIT_BINS  = $(LIB_TESTS:%=$(B)/tests/test_%) $(FCGI_TESTS:%=$(B)/tests/test_%) \
	     $(B)/tests/test_memlock_plain

PROGRAMS = $(WORKER) $(B)/cellarctl $(B)/cellar-reaper

# The pages' static files (src/ui/build-assets): $(B)/www/ui, rebuilt
# when any file below src/ui changes (or is added or removed: the
# directories are prerequisites too).  The stamp lies outside www, so
# nginx never serves it.
WWW	 = $(B)/www
UI_SRCS	:= $(wildcard src/ui/* src/ui/*/* src/ui/*/*/*)

all: $(PROGRAMS) $(B)/www.stamp

$(B)/www.stamp: $(UI_SRCS)
	@mkdir -p $(B)
	src/ui/build-assets src/ui $(WWW)
	@touch $@

# Rebuild everything when the flags change.
$(B)/.flags: FORCE
	@mkdir -p $(B)
	@echo '$(CC) $(CFLAGS) $(LDFLAGS)' | cmp -s - $@ || \
	    echo '$(CC) $(CFLAGS) $(LDFLAGS)' > $@

# Each folder compiles with the include paths it may use, no more.
$(B)/obj/lib/%.o: src/lib/%.c $(B)/.flags
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Iinclude -MMD -MP -c -o $@ $<

$(B)/obj/fcgi/%.o: src/fcgi/%.c $(B)/.flags
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Iinclude -Isrc/fcgi -MMD -MP -c -o $@ $<

$(B)/obj/ctl/%.o: src/ctl/%.c $(B)/.flags
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Iinclude -Isrc/ctl -MMD -MP -c -o $@ $<

$(B)/obj/reaper/%.o: src/reaper/%.c $(B)/.flags
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Iinclude -Isrc/reaper -MMD -MP -c -o $@ $<

# The schema migrations, embedded so a program needs no files but its own.
$(B)/gen/migrations.c: sql/embed.sh $(wildcard sql/*/[0-9]*.sql)
	@mkdir -p $(@D)
	sh sql/embed.sh > $@.tmp && mv $@.tmp $@

$(B)/obj/gen/migrations.o: $(B)/gen/migrations.c $(B)/.flags
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Iinclude -c -o $@ $<

$(B)/libcellar.a: $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

# The worker's objects but its main, for the worker and its unit tests.
$(B)/worker.a: $(FCGI_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(WORKER): $(B)/obj/fcgi/main.o $(B)/worker.a $(B)/libcellar.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(FCGI_LIBS)

$(B)/cellarctl: $(CTL_OBJS) $(B)/libcellar.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(CTL_LIBS)

$(B)/cellar-reaper: $(REAPER_OBJS) $(B)/libcellar.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(CTL_LIBS)

$(B)/tests/fixture.o: tests/unit/fixture.c tests/unit/fixture.h $(B)/.flags
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Iinclude -MMD -MP -c -o $@ $<

$(B)/tests/fakeio.o: tests/unit/fakeio.c tests/unit/fakeio.h $(B)/.flags
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Iinclude -Isrc/fcgi -MMD -MP -c -o $@ $<

$(LIB_TESTS:%=$(B)/tests/test_%): $(B)/tests/test_%: tests/unit/test_%.c \
    $(B)/tests/fixture.o $(B)/libcellar.a tests/unit/fixture.h $(B)/.flags
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Iinclude -Itests/unit -MMD -MP $(LDFLAGS) -o $@ $< \
	    $(B)/tests/fixture.o $(B)/libcellar.a $(LIB_LIBS) $(TEST_LIBS)

$(FCGI_TESTS:%=$(B)/tests/test_%): $(B)/tests/test_%: tests/unit/test_%.c \
    $(B)/tests/fixture.o $(B)/tests/fakeio.o $(B)/worker.a \
    $(B)/libcellar.a tests/unit/fixture.h tests/unit/fakeio.h $(B)/.flags
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Iinclude -Isrc/fcgi -Itests/unit -MMD -MP $(LDFLAGS) \
	    -o $@ $< $(B)/tests/fixture.o $(B)/tests/fakeio.o $(B)/worker.a \
	    $(B)/libcellar.a $(FCGI_LIBS) $(TEST_LIBS)

# memlock's production path (the whole process locked) never runs in a
# sanitizer build: this copy of its test is built without sanitizers.
$(B)/tests/test_memlock_plain: tests/unit/test_memlock.c src/lib/memlock.c \
    include/cellar/memlock.h
	@mkdir -p $(@D)
	$(CC) -O2 -std=c11 -D_GNU_SOURCE $(WARN) -Iinclude -o $@ \
	    tests/unit/test_memlock.c src/lib/memlock.c $(TEST_LIBS)

$(B)/hello.fcgi: tests/bench/hello.c $(B)/.flags
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(FCGI_LIBS)

$(B)/bench-populate: tests/bench/populate.c $(B)/libcellar.a $(B)/.flags
	$(CC) $(CFLAGS) -Iinclude $(LDFLAGS) -o $@ $< $(B)/libcellar.a \
	    $(LIB_LIBS)

# The README's test command: sanitizers, -Werror, every runner, built
# apart from the plain build (B, WORKER).
test:
	@$(MAKE) --no-print-directory B=build/test WORKER=build/test/cellar.fcgi \
	    SANITIZE=$(TEST_SANITIZE) WERROR=1 check

# What the tests run: the binaries of this build.
RUN_ENV = CELLAR_BUILD=$(B) CELLAR_FCGI=$(CURDIR)/$(WORKER) \
	  CELLAR_CTL=$(CURDIR)/$(B)/cellarctl \
	  CELLAR_REAPER=$(CURDIR)/$(B)/cellar-reaper \
	  CELLAR_STACK_FCGI=$(CURDIR)/$(WORKER) \
	  CELLAR_STACK_CTL=$(CURDIR)/$(B)/cellarctl \
	  CELLAR_STACK_WWW=$(CURDIR)/$(WWW)

check: all $(UNIT_BINS)
	@$(RUN_ENV) tests/check-layout
	@$(MAKE) --no-print-directory lint
	@tests/run-unit $(UNIT_BINS)
	@$(RUN_ENV) tests/run-integration
	@$(RUN_ENV) tests/run-ui
	@FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run

# libFuzzer targets for every parser (clang); longer: make fuzz FUZZ_SECONDS=300
FUZZ_SECONDS ?= 5
fuzz:
	@FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run

unit: all $(UNIT_BINS)
	@tests/run-unit $(UNIT_BINS)

layout: all
	@$(RUN_ENV) tests/check-layout

run: all
	@$(RUN_ENV) tests/stack run $(STATE) $(PORT)

bench:
	@$(MAKE) --no-print-directory SANITIZE= all build/hello.fcgi \
	    build/bench-populate
	@tests/bench/run
	@SCALE_REGISTRY="$${SCALE_REGISTRY:-1000}" tests/bench/scale

# The reaper: backup time and the list's p99 meanwhile, for N tenants
# (REAPER_BENCH_N="100 1000 10000").
bench-reaper:
	@$(MAKE) --no-print-directory SANITIZE= all build/bench-populate
	@tests/bench/reaper

# Registry size and active tenants: GET /api/tenant spread over K of R
# tenants (SCALE_REGISTRY="10 1000 10000 100000", SCALE_ACTIVE=...).
bench-scale:
	@$(MAKE) --no-print-directory SANITIZE= all build/bench-populate \
	    build/hello.fcgi
	@tests/bench/scale

lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability \
	    --std=c11 --inline-suppr -Iinclude -Isrc/fcgi -Itests/unit \
	    src tests/unit tests/fuzz

# Where make install puts things; the units name $(PREFIX)/lib/cellar.
PREFIX	?= /usr/local
LIBEXEC	 = $(PREFIX)/lib/cellar
SHARE	 = $(PREFIX)/share/cellar
DOCDIR	 = $(PREFIX)/share/doc/cellar
UNITDIR	?= /lib/systemd/system
LOGROTATEDIR ?= /etc/logrotate.d

install: all
	install -d -m 0755 $(DESTDIR)$(LIBEXEC) $(DESTDIR)$(SHARE)/nginx \
	    $(DESTDIR)$(DOCDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(LOGROTATEDIR)
	install -m 0755 $(WORKER) $(DESTDIR)$(LIBEXEC)/cellar.fcgi
	install -m 0755 $(B)/cellarctl $(DESTDIR)$(LIBEXEC)/cellarctl
	install -m 0755 $(B)/cellar-reaper $(DESTDIR)$(LIBEXEC)/cellar-reaper
	install -m 0644 conf/systemd/journald-cellar.conf $(DESTDIR)$(DOCDIR)/
	install -m 0644 conf/cellar.conf.example $(DESTDIR)$(DOCDIR)/
	install -m 0644 conf/packages/runtime $(DESTDIR)$(DOCDIR)/packages
	install -m 0644 conf/nginx/cellar-http.conf \
	    conf/nginx/cellar-server.conf $(DESTDIR)$(SHARE)/nginx/
	sed 's|/usr/share/cellar/www|$(SHARE)/www|g' conf/nginx/cellar.conf \
	    >$(DESTDIR)$(SHARE)/nginx/cellar.conf.tmp && \
	    chmod 0644 $(DESTDIR)$(SHARE)/nginx/cellar.conf.tmp && \
	    mv $(DESTDIR)$(SHARE)/nginx/cellar.conf.tmp \
	    $(DESTDIR)$(SHARE)/nginx/cellar.conf
	# The pages' files.  Hashed files are added, never removed: a
	# browser holding an older page still loads that page's modules.
	# Then icons and pages, each renamed into place, so that a page
	# never names a file not there yet.
	install -d -m 0755 $(DESTDIR)$(SHARE)/www/ui/static \
	    $(DESTDIR)$(SHARE)/www/ui/icons $(DESTDIR)$(SHARE)/www/ui/pages
	cp -R $(WWW)/ui/static/. $(DESTDIR)$(SHARE)/www/ui/static/
	for f in $(WWW)/ui/icons/* $(WWW)/ui/pages/*; do \
		[ -f "$$f" ] || continue; \
		d=$(DESTDIR)$(SHARE)/www/ui/$$(basename $$(dirname $$f)); \
		install -m 0644 $$f $$d/.install.tmp && \
		mv $$d/.install.tmp $$d/$$(basename $$f) || exit 1; \
	done
	for u in cellar.service cellar.socket cellar-reaper.service \
	    cellar-reaper.timer; do \
		sed 's|/usr/lib/cellar/|$(LIBEXEC)/|g' conf/systemd/$$u \
		    >$(DESTDIR)$(UNITDIR)/$$u.tmp && \
		chmod 0644 $(DESTDIR)$(UNITDIR)/$$u.tmp && \
		mv $(DESTDIR)$(UNITDIR)/$$u.tmp $(DESTDIR)$(UNITDIR)/$$u; \
	done
	install -m 0644 conf/logrotate/cellar-nginx $(DESTDIR)$(LOGROTATEDIR)/

clean:
	rm -rf build cgi-bin/cellar.fcgi

# Header dependencies of every object and test (-MMD).
-include $(wildcard $(B)/obj/*/*.d $(B)/tests/*.d)

.PHONY: all test check unit layout run bench bench-reaper bench-scale lint fuzz install clean FORCE
