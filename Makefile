# mediagate: plain GNU make with pkg-config.
#
#   make            daemon (build/mediagated), client library, mediactl
#   make demo       the whole flow on synthetic devices, on a private bus
#   make check      every test tier
#   make install    DESTDIR=... prefix=...
#   make clean
#
# `make demo` and `make check` first install missing Debian packages (tools/install-deps).

VERSION := 0.1.0
SONAME_MAJOR := 1

prefix ?= /usr/local
bindir ?= $(prefix)/bin
sbindir ?= $(prefix)/sbin
libdir ?= $(prefix)/lib
includedir ?= $(prefix)/include
datadir ?= $(prefix)/share
sysconfdir ?= /etc
localstatedir ?= /var

CC ?= cc
PKG_CONFIG ?= pkg-config
BUILD ?= build

PKGS := libsystemd libv4l2 alsa nettle
CLIENT_PKGS := libsystemd json-c libpng

# SANITIZE=address,undefined builds everything with those sanitizers.
SANITIZE ?=
SAN_FLAGS := $(if $(SANITIZE),-fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all)

WARNINGS := -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers \
	-Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes -Wvla
BASE_CFLAGS := -std=gnu11 -g -O2 -D_GNU_SOURCE -fPIC $(WARNINGS) $(SAN_FLAGS) \
	-DMEDIAGATE_VERSION='"$(VERSION)"' -DSYSCONFDIR='"$(sysconfdir)"' \
	-DLOCALSTATEDIR='"$(localstatedir)"'
CFLAGS ?=
LDFLAGS ?=

pc_cflags = $(shell $(PKG_CONFIG) --cflags $(1) 2>/dev/null)
pc_libs = $(shell $(PKG_CONFIG) --libs $(1) 2>/dev/null)

DAEMON_CFLAGS := $(BASE_CFLAGS) -Idaemon -Iclient-lib $(call pc_cflags,$(PKGS)) $(CFLAGS)
DAEMON_LIBS := $(call pc_libs,$(PKGS)) -lm
CLIENT_CFLAGS := $(BASE_CFLAGS) -Iclient-lib -Idaemon $(call pc_cflags,$(CLIENT_PKGS)) $(CFLAGS)
CLIENT_LIBS := $(call pc_libs,$(CLIENT_PKGS)) -lm

# Everything of the daemon but main.c goes into a static library the unit tests link.
DAEMON_SRCS := $(filter-out daemon/main.c,$(wildcard daemon/*.c daemon/devices/*.c))
DAEMON_OBJS := $(DAEMON_SRCS:%.c=$(BUILD)/%.o)
CLIENT_LIB_SRCS := $(wildcard client-lib/lib/*.c) daemon/bus-errors.c
CLIENT_LIB_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(wildcard client-lib/lib/*.c)) $(BUILD)/daemon/bus-errors.client.o
MEDIACTL_SRCS := $(wildcard client-lib/mediactl/*.c)
MEDIACTL_OBJS := $(MEDIACTL_SRCS:%.c=$(BUILD)/%.o)
# mediactl is a program of this tree: it links the daemon's small helpers (util.h) too.
MEDIACTL_OBJS += $(BUILD)/daemon/util.o
EXAMPLE_SRCS := $(wildcard client-lib/examples/*.c)
EXAMPLES := $(EXAMPLE_SRCS:client-lib/examples/%.c=$(BUILD)/examples/%)
UNIT_SRCS := $(wildcard tests/unit/test-*.c)
UNIT_TESTS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

LIBMEDIAGATE := $(BUILD)/libmediagate.so.$(VERSION)

.PHONY: all deps demo check check-unit check-integration install uninstall clean
all: $(BUILD)/mediagated $(LIBMEDIAGATE) $(BUILD)/mediactl $(EXAMPLES) $(BUILD)/mediagate.pc

deps:
	@tools/install-deps

$(BUILD)/daemon/%.o: daemon/%.c $(wildcard daemon/*.h daemon/devices/*.h) | $(BUILD)/daemon/devices
	$(CC) $(DAEMON_CFLAGS) -c $< -o $@

$(BUILD)/daemon/bus-errors.client.o: daemon/bus-errors.c daemon/bus-errors.h | $(BUILD)/daemon/devices
	$(CC) $(CLIENT_CFLAGS) -c $< -o $@

$(BUILD)/client-lib/%.o: client-lib/%.c $(wildcard client-lib/*.h client-lib/*/*.h daemon/*.h) | $(BUILD)/client-lib/lib $(BUILD)/client-lib/mediactl
	$(CC) $(CLIENT_CFLAGS) -c $< -o $@

$(BUILD)/daemon/devices $(BUILD)/client-lib/lib $(BUILD)/client-lib/mediactl $(BUILD)/tests $(BUILD)/examples:
	mkdir -p $@

$(BUILD)/libmediagated.a: $(DAEMON_OBJS)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/mediagated: $(BUILD)/daemon/main.o $(BUILD)/libmediagated.a
	$(CC) $(SAN_FLAGS) $(LDFLAGS) -o $@ $^ $(DAEMON_LIBS)

$(LIBMEDIAGATE): $(CLIENT_LIB_OBJS)
	$(CC) $(SAN_FLAGS) $(LDFLAGS) -shared -Wl,-soname,libmediagate.so.$(SONAME_MAJOR) \
		-Wl,--version-script=client-lib/libmediagate.sym -o $@ $^ $(CLIENT_LIBS)
	ln -sf libmediagate.so.$(VERSION) $(BUILD)/libmediagate.so.$(SONAME_MAJOR)
	ln -sf libmediagate.so.$(SONAME_MAJOR) $(BUILD)/libmediagate.so

$(BUILD)/mediactl: $(MEDIACTL_OBJS) $(LIBMEDIAGATE)
	$(CC) $(SAN_FLAGS) $(LDFLAGS) -o $@ $(MEDIACTL_OBJS) -L$(BUILD) -lmediagate \
		-Wl,-rpath,'$$ORIGIN' $(CLIENT_LIBS)

$(BUILD)/examples/%: client-lib/examples/%.c $(LIBMEDIAGATE) | $(BUILD)/examples
	$(CC) $(CLIENT_CFLAGS) -o $@ $< -L$(BUILD) -lmediagate -Wl,-rpath,'$$ORIGIN/..' $(CLIENT_LIBS)

$(BUILD)/mediagate.pc: client-lib/mediagate.pc.in Makefile
	sed -e 's|@prefix@|$(prefix)|' -e 's|@libdir@|$(libdir)|' \
	    -e 's|@includedir@|$(includedir)|' -e 's|@VERSION@|$(VERSION)|' $< > $@

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libmediagated.a | $(BUILD)/tests
	$(CC) $(DAEMON_CFLAGS) -Itests/unit -o $@ $< $(BUILD)/libmediagated.a \
		$(DAEMON_LIBS) $(call pc_libs,cmocka)

# Client-library tests (test-client-*.c) call the library's internal functions, so they link its
# objects instead of the daemon's archive (the more specific pattern wins).
$(BUILD)/tests/test-client-%: tests/unit/test-client-%.c $(CLIENT_LIB_OBJS) | $(BUILD)/tests
	$(CC) $(CLIENT_CFLAGS) -Iclient-lib/lib -Itests/unit -o $@ $< $(CLIENT_LIB_OBJS) \
		$(CLIENT_LIBS) $(call pc_libs,cmocka)

# Benchmarks (tests/bench): each tests/bench/bench-*.c is a program on libmediagate or plain
# sd-bus; `make bench` builds them and prints the table (tests/bench/run). Measured, not asserted.
BENCH_SRCS := $(wildcard tests/bench/bench-*.c)
BENCH_PROGS := $(BENCH_SRCS:tests/bench/%.c=$(BUILD)/bench/%)

.PHONY: bench
$(BUILD)/bench:
	mkdir -p $@

$(BUILD)/bench/%: tests/bench/%.c tests/bench/common.c tests/bench/common.h $(LIBMEDIAGATE) \
		$(BUILD)/daemon/util.o | $(BUILD)/bench
	$(CC) $(CLIENT_CFLAGS) -Itests/bench -o $@ $< tests/bench/common.c $(BUILD)/daemon/util.o \
		-L$(BUILD) -lmediagate -Wl,-rpath,'$$ORIGIN/..' $(CLIENT_LIBS) -lpthread

bench: deps
	@$(MAKE) --no-print-directory all $(BENCH_PROGS)
	@tests/bench/run

demo: deps
	@$(MAKE) --no-print-directory all
	@tools/demo

check: deps
	@$(MAKE) --no-print-directory all $(UNIT_TESTS)
	@tools/check $(UNIT_TESTS)

check-unit: all $(UNIT_TESTS)
	@tools/check --unit-only $(UNIT_TESTS)

check-integration: all
	@tools/check --integration-only

install: all
	install -d $(DESTDIR)$(sbindir) $(DESTDIR)$(bindir) $(DESTDIR)$(libdir)/pkgconfig \
		$(DESTDIR)$(includedir) $(DESTDIR)$(datadir)/dbus-1/interfaces \
		$(DESTDIR)$(sysconfdir)/mediagate/policy.d
	install -m 755 $(BUILD)/mediagated $(DESTDIR)$(sbindir)/mediagated
	install -m 755 $(BUILD)/mediactl $(DESTDIR)$(bindir)/mediactl
	install -m 755 $(LIBMEDIAGATE) $(DESTDIR)$(libdir)/
	ln -sf libmediagate.so.$(VERSION) $(DESTDIR)$(libdir)/libmediagate.so.$(SONAME_MAJOR)
	ln -sf libmediagate.so.$(SONAME_MAJOR) $(DESTDIR)$(libdir)/libmediagate.so
	install -m 644 client-lib/mediagate.h $(DESTDIR)$(includedir)/mediagate.h
	install -m 644 client-lib/mediagate-wire.h $(DESTDIR)$(includedir)/mediagate-wire.h
	install -m 644 $(BUILD)/mediagate.pc $(DESTDIR)$(libdir)/pkgconfig/mediagate.pc
	install -m 644 dbus/org.mediagate.MediaGate1.*.xml $(DESTDIR)$(datadir)/dbus-1/interfaces/
	test -e $(DESTDIR)$(sysconfdir)/mediagate/mediagated.conf || \
		install -m 644 examples/mediagated.conf $(DESTDIR)$(sysconfdir)/mediagate/mediagated.conf

uninstall:
	rm -f $(DESTDIR)$(sbindir)/mediagated $(DESTDIR)$(bindir)/mediactl \
		$(DESTDIR)$(libdir)/libmediagate.so* $(DESTDIR)$(includedir)/mediagate.h \
		$(DESTDIR)$(includedir)/mediagate-wire.h \
		$(DESTDIR)$(libdir)/pkgconfig/mediagate.pc \
		$(DESTDIR)$(datadir)/dbus-1/interfaces/org.mediagate.MediaGate1.*.xml

clean:
	rm -rf $(BUILD) demo-out
