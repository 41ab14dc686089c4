# zerowg - a plain Makefile.  `make help` lists the targets.
#
#   make                    build build/zerowgd
#   make test               unit tests + network-namespace tests (needs root)
#   make SAN=address,undefined test    the same under sanitizers
#   make WERROR=1           warnings are errors (CI)

CC       ?= cc
PKGS     := libcrypto
O        ?= build
SAN      ?=
WERROR   ?=

CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wno-unused-parameter -Wformat=2 -Wvla -fno-strict-aliasing \
            -D_GNU_SOURCE -fstack-protector-strong -D_FORTIFY_SOURCE=2 -pthread \
            -Isrc/common -Isrc/dataplane $(shell pkg-config --cflags $(PKGS))
LDLIBS   += $(shell pkg-config --libs $(PKGS)) -pthread
ifneq ($(WERROR),)
CFLAGS   += -Werror
endif
ifneq ($(SAN),)
CFLAGS   += -fsanitize=$(SAN) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS  += -fsanitize=$(SAN)
endif

LIB_SRC  := $(wildcard src/common/*.c src/dataplane/*.c)
DAEMON_SRC := $(wildcard src/zerowgd/*.c)
UNIT_SRC := $(wildcard tests/unit/*_test.c)
FUZZ_SRC := $(wildcard tests/fuzz/*_fuzz.c)

# Production objects, and test objects built with -DZWG_TESTING (the
# time-scaling knob exists only there).
LIB_OBJ  := $(LIB_SRC:%.c=$(O)/obj/%.o)
DAEMON_OBJ := $(DAEMON_SRC:%.c=$(O)/obj/%.o)
TLIB_OBJ := $(LIB_SRC:%.c=$(O)/tobj/%.o)
TDAEMON_OBJ := $(DAEMON_SRC:%.c=$(O)/tobj/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(O)/tests/%)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(O)/fuzz/%)

.PHONY: all test unit netns run bench clean help fuzz install
all: $(O)/zerowgd

$(O)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<
$(O)/tobj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DZWG_TESTING -MMD -MP -c -o $@ $<

$(O)/libzerowg.a: $(LIB_OBJ)
	$(AR) rcs $@ $^
$(O)/libzerowg-test.a: $(TLIB_OBJ)
	$(AR) rcs $@ $^

$(O)/zerowgd: $(DAEMON_OBJ) $(O)/libzerowg.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
# The daemon the netns tests run: same code plus ZWG_TIME_SCALE.
$(O)/zerowgd-test: $(TDAEMON_OBJ) $(O)/libzerowg-test.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(O)/tests/%: tests/unit/%.c tests/unit/test.h $(O)/libzerowg-test.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DZWG_TESTING -Itests/unit $(LDFLAGS) -o $@ $< $(O)/libzerowg-test.a $(LDLIBS)

# Fuzz targets build as plain programs that replay a corpus (and with
# clang -fsanitize=fuzzer as real fuzzers: see tests/fuzz/README.md).
$(O)/fuzz/%: tests/fuzz/%.c tests/fuzz/fuzz_main.c $(O)/libzerowg-test.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DZWG_TESTING $(LDFLAGS) -o $@ $< tests/fuzz/fuzz_main.c $(O)/libzerowg-test.a $(LDLIBS)

unit: $(UNIT_BIN) $(FUZZ_BIN)
	@O=$(O) tests/run.sh unit

netns: $(O)/zerowgd $(O)/zerowgd-test
	@O=$(O) tests/run.sh netns

## test: build and run every test (unit, fuzz corpus replay, netns); ends "N passed, N failed"
test: $(O)/zerowgd $(O)/zerowgd-test $(UNIT_BIN) $(FUZZ_BIN)
	@O=$(O) tests/run.sh all

fuzz: $(FUZZ_BIN)

## run: build, then show the data plane at work in two throw-away namespaces
run: $(O)/zerowgd
	@O=$(O) tools/demo.sh

## bench: measure zerowgd against wireguard-go with ../shared/bench
bench: $(O)/zerowgd
	@O=$(O) bench/run.sh

install: $(O)/zerowgd
	install -D -m 0755 $(O)/zerowgd $(DESTDIR)/usr/local/bin/zerowgd

clean:
	rm -rf $(O)

help:
	@echo "zerowg make targets:"
	@echo "  all (default)  build $(O)/zerowgd"
	@echo "  run            build, then demo zerowgd in two temporary network namespaces (root)"
	@echo "  test           build and run every test: unit, fuzz corpora, netns (root for netns)"
	@echo "  unit           unit tests and fuzz corpus replay only (no root needed)"
	@echo "  netns          network-namespace integration tests only (root)"
	@echo "  bench          benchmark against wireguard-go (root; see bench/README.md)"
	@echo "  install        install zerowgd to /usr/local/bin"
	@echo "  clean          remove $(O)/"
	@echo "variables: SAN=address,undefined (sanitizers)  WERROR=1 (-Werror)  O=dir (build dir)"

-include $(shell find $(O) -name '*.d' 2>/dev/null)
