# cellar: build, test, run and benchmark.
#
#   make                  cgi-bin/cellar.fcgi and build/cellarctl
#   make test             everything under ASan/UBSan with -Werror: unit
#                         tests (cmocka), then integration tests against the
#                         real stack (nginx + spawn-fcgi + multiwatch)
#   make run              the stack in the foreground on 127.0.0.1:$(PORT)
#   make bench            throughput and latency against a hello-world
#                         FastCGI program behind the same nginx
#   make lint             cppcheck
#   make fuzz             libFuzzer targets for the parsers (FUZZ_SECONDS)
#
# Variables: SANITIZE=address,undefined  WERROR=1  PORT=8080  CC=...

CC	?= cc
PKGS	 = fcgi sqlcipher libsodium libcjson libjwt libcurl
PORT	?= 8080
STATE	?= $(CURDIR)/.state
SANITIZE ?=
WERROR	?=
TEST_SANITIZE ?= address,undefined

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN	 = -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes \
	   -Wmissing-prototypes -Wpointer-arith -Wwrite-strings -Wvla \
	   -Wcast-qual -Wundef -Wnull-dereference -Wimplicit-fallthrough
CFLAGS	?= -O2 -g
CFLAGS	+= -std=c11 -D_GNU_SOURCE -DSQLITE_HAS_CODEC -Iinclude \
	   -fstack-protector-strong -fPIE $(WARN) $(PKG_CFLAGS)
LDFLAGS	+= -pie -Wl,-z,relro,-z,now
LDLIBS	+= $(PKG_LIBS) -lm

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

# Modules shared by every binary; each binary adds its main.
LIB_SRCS = src/conf.c src/conf_schema.c src/err.c src/http.c src/json.c \
	   src/log.c src/qsh.c src/router.c src/util.c \
	   src/keys.c src/db.c src/registry.c src/jwt_check.c src/auth.c src/jira.c
APP_SRCS = src/app.c src/routes.c src/route_meta.c src/route_lifecycle.c \
	   src/route_tenant.c src/route_templates.c src/templates.c \
	   src/render.c src/perm.c
LIB_OBJS = $(LIB_SRCS:src/%.c=build/obj/%.o) build/obj/migrations.o
APP_OBJS = $(APP_SRCS:src/%.c=build/obj/%.o)

UNIT_TESTS = conf router json http util qsh jwt render templates
UNIT_BINS  = $(UNIT_TESTS:%=build/tests/test_%)

all: cgi-bin/cellar.fcgi build/cellarctl

# Rebuild everything when the flags change (plain build vs. sanitizers).
build/.flags: FORCE
	@mkdir -p build
	@echo '$(CC) $(CFLAGS) $(LDFLAGS) $(LDLIBS)' | cmp -s - $@ || \
	    echo '$(CC) $(CFLAGS) $(LDFLAGS) $(LDLIBS)' > $@

build/obj/%.o: src/%.c build/.flags
	@mkdir -p build/obj
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

# The schema migrations, embedded so a worker needs no files but its own.
build/gen/migrations.c: sql/embed.sh $(wildcard sql/*/[0-9]*.sql)
	@mkdir -p build/gen
	sh sql/embed.sh > $@.tmp && mv $@.tmp $@

build/obj/migrations.o: build/gen/migrations.c build/.flags
	$(CC) $(CFLAGS) -c -o $@ $<

cgi-bin/cellar.fcgi: build/obj/worker.o $(APP_OBJS) $(LIB_OBJS)
	@mkdir -p cgi-bin
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

build/cellarctl: build/obj/cellarctl.o $(APP_OBJS) $(LIB_OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

build/tests/test_%: tests/unit/test_%.c $(APP_OBJS) $(LIB_OBJS) build/.flags
	@mkdir -p build/tests
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(APP_OBJS) $(LIB_OBJS) \
	    $(LDLIBS) $(shell pkg-config --libs cmocka)

build/hello.fcgi: tests/bench/hello.c build/.flags
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LDLIBS)

# The README's test command: sanitizers, -Werror, every runner.
test:
	@$(MAKE) --no-print-directory SANITIZE=$(TEST_SANITIZE) WERROR=1 check

check: all $(UNIT_BINS)
	@$(MAKE) --no-print-directory lint
	@tests/run-unit $(UNIT_BINS)
	@tests/run-integration
	@FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run

# libFuzzer targets for every parser (clang); longer: make fuzz FUZZ_SECONDS=300
FUZZ_SECONDS ?= 5
fuzz:
	@FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run

unit: all $(UNIT_BINS)
	@tests/run-unit $(UNIT_BINS)

run: all
	@tests/stack run $(STATE) $(PORT)

bench:
	@$(MAKE) --no-print-directory SANITIZE= all build/hello.fcgi
	@tests/bench/run

lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability \
	    --std=c11 --inline-suppr -Iinclude src tests/unit tests/fuzz

clean:
	rm -rf build cgi-bin/cellar.fcgi

-include $(wildcard build/obj/*.d)

.PHONY: all test check unit run bench lint fuzz clean FORCE
