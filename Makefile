# zerowg - a plain Makefile.  `make help` lists the targets.
#
#   make                    build build/zerowgd
#   make test               unit tests + network-namespace tests (needs root)
#   make SAN=address,undefined test    the same under sanitizers
#   make WERROR=1           warnings are errors (CI)

CC       ?= cc
.DEFAULT_GOAL := all
PKGS     := libcrypto jansson libmicrohttpd libcurl libqrencode libmnl libsystemd libnftables libseccomp libargon2
O        ?= build
SAN      ?=
WERROR   ?=

CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wno-unused-parameter -Wformat=2 -Wvla -fno-strict-aliasing \
            -D_GNU_SOURCE -fstack-protector-strong -D_FORTIFY_SOURCE=2 -pthread \
            -Isrc/common -Isrc/dataplane -Isrc/store -Isrc/control -Isrc/server -Isrc/api \
            $(shell pkg-config --cflags $(PKGS))
LDLIBS   += $(shell pkg-config --libs $(PKGS)) -pthread
DP_LDLIBS := $(shell pkg-config --libs libcrypto libseccomp libsystemd) -pthread
LDFLAGS  += -Wl,--as-needed
ifneq ($(WERROR),)
CFLAGS   += -Werror
endif
ifneq ($(SAN),)
CFLAGS   += -fsanitize=$(SAN) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS  += -fsanitize=$(SAN)
endif

# The data plane (zerowgd links only this) and the server layers on top.
# wipefree.c (free() that wipes) stays out of the archives: there it would
# be pulled into every program that calls free.  WIPE_OBJ links it into the
# binaries that hold keys in heap memory (zerowg, zerowg-server).
DP_SRC   := $(filter-out src/common/wipefree.c,$(wildcard src/common/*.c src/dataplane/*.c))
SRV_SRC  := $(wildcard src/store/*.c src/control/*.c src/server/*.c src/api/*.c)
LIB_SRC  := $(DP_SRC) $(SRV_SRC)
DAEMON_SRC := $(wildcard src/zerowgd/*.c)
CLI_SRC  := $(wildcard src/cli/*.c)
UNIT_SRC := $(wildcard tests/unit/*_test.c)
FUZZ_SRC := $(wildcard tests/fuzz/*_fuzz.c)

# Production objects, and test objects built with -DZWG_TESTING (the
# time-scaling knob exists only there).
DP_OBJ   := $(DP_SRC:%.c=$(O)/obj/%.o)
TDP_OBJ  := $(DP_SRC:%.c=$(O)/tobj/%.o)
LIB_OBJ  := $(LIB_SRC:%.c=$(O)/obj/%.o)
DAEMON_OBJ := $(DAEMON_SRC:%.c=$(O)/obj/%.o)
TLIB_OBJ := $(LIB_SRC:%.c=$(O)/tobj/%.o)
TDAEMON_OBJ := $(DAEMON_SRC:%.c=$(O)/tobj/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(O)/obj/%.o)
TCLI_OBJ := $(CLI_SRC:%.c=$(O)/tobj/%.o)
# zerowg is the CLI without the server (its `up` runs zerowg-server, which
# is every verb: src/cli/upexec.c), so that no other verb loads the
# server's libraries.  The archive and --as-needed leave them out.
SLIM_CLI_OBJ  := $(filter-out %/cli/up.o %/cli/main.o,$(CLI_OBJ)) $(O)/obj/src/cli/main-slim.o
TSLIM_CLI_OBJ := $(filter-out %/cli/up.o %/cli/main.o,$(TCLI_OBJ)) $(O)/tobj/src/cli/main-slim.o
WIPE_OBJ := $(O)/obj/src/common/wipefree.o
TWIPE_OBJ := $(O)/tobj/src/common/wipefree.o
# zerowg and zerowg-server exist once src/cli has its main.
BINS     := $(O)/zerowgd $(if $(CLI_SRC),$(O)/zerowg $(O)/zerowg-server)
TBINS    := $(O)/zerowgd-test $(if $(CLI_SRC),$(O)/zerowg-test $(O)/zerowg-server-test)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(O)/tests/%)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(O)/fuzz/%)
# The web UI (web/*) built into the library: tools/embed.c writes
# $(O)/gen/web_assets.c, the table src/api/web_assets.h declares.
WEB_FILES := $(sort $(wildcard web/*))
WEB_OBJ  := $(O)/obj/$(O)/gen/web_assets.o
TWEB_OBJ := $(O)/tobj/$(O)/gen/web_assets.o
LIB_OBJ  += $(WEB_OBJ)
TLIB_OBJ += $(TWEB_OBJ)
$(O)/host/embed: tools/embed.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(shell pkg-config --libs libcrypto)
$(O)/gen/web_assets.c: $(WEB_FILES) $(O)/host/embed
	@mkdir -p $(dir $@)
	$(O)/host/embed $@ $(WEB_FILES)

# Helper programs the netns tests run (tests/tools/).
TOOL_BIN := $(O)/tools/udpgso_send $(O)/tools/tunfd_exec

.PHONY: all test unit netns run demo bench bench-web clean help fuzz install
all: $(BINS)

$(O)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<
$(O)/tobj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DZWG_TESTING -MMD -MP -c -o $@ $<

$(O)/libzerowg-dp.a: $(DP_OBJ)
	$(AR) rcs $@ $^
$(O)/libzerowg-dp-test.a: $(TDP_OBJ)
	$(AR) rcs $@ $^
$(O)/libzerowg.a: $(LIB_OBJ)
	$(AR) rcs $@ $^
$(O)/libzerowg-test.a: $(TLIB_OBJ)
	$(AR) rcs $@ $^

$(O)/zerowgd: $(DAEMON_OBJ) $(O)/libzerowg-dp.a
	$(CC) $(LDFLAGS) -o $@ $^ $(DP_LDLIBS)
# The daemon the netns tests run: same code plus ZWG_TIME_SCALE.
$(O)/zerowgd-test: $(TDAEMON_OBJ) $(O)/libzerowg-dp-test.a
	$(CC) $(LDFLAGS) -o $@ $^ $(DP_LDLIBS)
$(O)/obj/src/cli/main-slim.o: src/cli/main.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DZWG_CLI_EXEC_UP -MMD -MP -c -o $@ $<
$(O)/tobj/src/cli/main-slim.o: src/cli/main.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DZWG_TESTING -DZWG_CLI_EXEC_UP -MMD -MP -c -o $@ $<
$(O)/zerowg: $(SLIM_CLI_OBJ) $(WIPE_OBJ) $(O)/libzerowg.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(O)/zerowg-test: $(TSLIM_CLI_OBJ) $(TWIPE_OBJ) $(O)/libzerowg-test.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(O)/zerowg-server: $(CLI_OBJ) $(WIPE_OBJ) $(O)/libzerowg.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(O)/zerowg-server-test: $(TCLI_OBJ) $(TWIPE_OBJ) $(O)/libzerowg-test.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(O)/tests/%: tests/unit/%.c tests/unit/test.h $(O)/libzerowg-test.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DZWG_TESTING -Itests/unit -MMD -MP $(LDFLAGS) -o $@ $< $(O)/libzerowg-test.a $(LDLIBS)
# wipefree_test checks the real interposition: it links the object too.
$(O)/tests/wipefree_test: $(TWIPE_OBJ)
$(O)/tests/wipefree_test: LDLIBS := $(TWIPE_OBJ) $(LDLIBS)

# Fuzz targets build as plain programs that replay a corpus (and with
# clang -fsanitize=fuzzer as real fuzzers: see tests/fuzz/README.md).
$(O)/fuzz/%: tests/fuzz/%.c tests/fuzz/fuzz_main.c $(O)/libzerowg-test.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DZWG_TESTING $(LDFLAGS) -o $@ $< tests/fuzz/fuzz_main.c $(O)/libzerowg-test.a $(LDLIBS)

$(O)/tools/%: tests/tools/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $<

unit: $(UNIT_BIN) $(FUZZ_BIN)
	@O=$(O) tests/run.sh unit

netns: $(BINS) $(TBINS) $(TOOL_BIN)
	@O=$(O) tests/run.sh netns

## test: build and run every test (unit, fuzz corpus replay, netns); ends "N passed, N failed"
test: $(BINS) $(TBINS) $(UNIT_BIN) $(FUZZ_BIN) $(TOOL_BIN)
	@O=$(O) tests/run.sh all

fuzz: $(FUZZ_BIN)

## run: build, then start the zerowg server on its embedded defaults
run: $(BINS)
	@O=$(O) tools/zerowg-run.sh

## demo: the bare data plane at work in two throw-away namespaces
demo: $(O)/zerowgd
	@O=$(O) tools/demo.sh

## bench: measure zerowgd against wireguard-go with ../shared/bench
bench: $(O)/zerowgd $(if $(CLI_SRC),$(O)/zerowg)
	@O=$(O) bench/run.sh

## bench-web: the web API (wrk), sign-in, the peer page in chromium, server memory
bench-web: $(O)/zerowg $(O)/zerowg-server
	@O=$(O) bench/web_bench.sh

install: $(BINS)
	install -D -m 0755 $(O)/zerowgd $(DESTDIR)/usr/local/bin/zerowgd
	$(if $(CLI_SRC),install -D -m 0755 $(O)/zerowg $(DESTDIR)/usr/local/bin/zerowg)
	$(if $(CLI_SRC),install -D -m 0755 $(O)/zerowg-server $(DESTDIR)/usr/local/bin/zerowg-server)

clean:
	rm -rf $(O)

help:
	@echo "zerowg make targets:"
	@echo "  all (default)  build $(O)/zerowgd, $(O)/zerowg (the CLI) and $(O)/zerowg-server (zerowg up runs it)"
	@echo "  run            build, then start the zerowg server on its defaults (root; see README)"
	@echo "  demo           build, then show zerowgd at work in two temporary network namespaces (root)"
	@echo "  test           build and run every test: unit, fuzz corpora, netns (root for netns)"
	@echo "  unit           unit tests and fuzz corpus replay only (no root needed)"
	@echo "  netns          network-namespace integration tests only (root)"
	@echo "  bench          benchmark against wireguard-go (root; see bench/README.md)"
	@echo "  bench-web      benchmark the web API, sign-in and UI (root, wrk, chromium; bench/README.md)"
	@echo "  install        install zerowgd to /usr/local/bin"
	@echo "  clean          remove $(O)/"
	@echo "variables: SAN=address,undefined (sanitizers)  WERROR=1 (-Werror)  O=dir (build dir)"
	@echo "           ZWG_TEST_JOBS=N (tests run at once; default: CPUs for unit, 3 for netns; 1: one by one)"

-include $(shell find $(O) -name '*.d' 2>/dev/null)
