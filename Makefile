# mediagate: plain GNU make with pkg-config.
#
#   make            daemon (build/mediagated), client library, mediactl
#   make demo       the whole flow on synthetic devices, on a private bus
#   make check      every test tier (make check-structure: the layout checks alone)
#   make fuzz       run each libFuzzer harness for FUZZ_SECONDS (tests/fuzz/run)
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
localedir ?= $(datadir)/locale

CC ?= cc
PKG_CONFIG ?= pkg-config
BUILD ?= build

PKGS := libsystemd libv4l2 alsa nettle speexdsp libturbojpeg
CLIENT_PKGS := libsystemd json-c libpng
# mediactl's tables
MEDIACTL_PKGS := smartcols

# make fuzz: seconds per harness.
FUZZ_SECONDS ?= 60

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

COMMON_CFLAGS := $(BASE_CFLAGS) -Icommon $(call pc_cflags,libsystemd) $(CFLAGS)
DAEMON_CFLAGS := $(BASE_CFLAGS) -Icommon -Idaemon $(call pc_cflags,$(PKGS)) $(CFLAGS)
DAEMON_LIBS := $(call pc_libs,$(PKGS)) -lm -pthread
CLIENT_CFLAGS := $(BASE_CFLAGS) -Icommon -Iclient-lib $(call pc_cflags,$(CLIENT_PKGS)) $(CFLAGS)
CLIENT_LIBS := $(call pc_libs,$(CLIENT_PKGS)) -lm

# common/: what the daemon, the library and mediactl all use. It includes nothing of theirs.
COMMON_SRCS := $(wildcard common/*.c)
COMMON_OBJS := $(COMMON_SRCS:%.c=$(BUILD)/%.o)
# Everything of the daemon but main.c goes into a static library the unit tests link.
DAEMON_SRCS := $(filter-out daemon/main.c,$(wildcard daemon/*.c daemon/devices/*.c))
DAEMON_OBJS := $(DAEMON_SRCS:%.c=$(BUILD)/%.o) $(COMMON_OBJS)
# The library carries the common objects too; its version script keeps everything but mg_* private.
CLIENT_LIB_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(wildcard client-lib/lib/*.c)) $(COMMON_OBJS)
MEDIACTL_SRCS := $(wildcard client-lib/mediactl/*.c)
MEDIACTL_OBJS := $(MEDIACTL_SRCS:%.c=$(BUILD)/%.o)
# mediactl links the common objects too (the policy and configuration readers of `mediactl policy`).
MEDIACTL_OBJS += $(COMMON_OBJS)
EXAMPLE_SRCS := $(wildcard client-lib/examples/*.c)
EXAMPLES := $(EXAMPLE_SRCS:client-lib/examples/%.c=$(BUILD)/examples/%)
UNIT_SRCS := $(wildcard tests/unit/test-*.c)
UNIT_TESTS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

LIBMEDIAGATE := $(BUILD)/libmediagate.so.$(VERSION)
# Translations: po/LANG.po, built where an uninstalled mediactl finds them (see below).
PO_LANGUAGES := $(basename $(notdir $(wildcard po/*.po)))
MO_FILES := $(PO_LANGUAGES:%=$(BUILD)/locale/%/LC_MESSAGES/mediagate.mo)
# The tray's XDG autostart entry, its Name= and Comment= translated from po/.
INDICATOR_DESKTOP := $(BUILD)/mediagate-indicator.desktop

# mediagate-pipewire (bridge/): on libmediagate and libpipewire-0.3, with the daemon's caller
# identification (the consumers' app ids). PipeWire's headers are system headers: their inline
# code is not ours to warn about.
BRIDGE_PKGS := libpipewire-0.3 libsystemd
BRIDGE_CFLAGS := $(BASE_CFLAGS) -Icommon -Iclient-lib -Idaemon \
	$(patsubst -I%,-isystem %,$(call pc_cflags,$(BRIDGE_PKGS))) $(CFLAGS)
BRIDGE_LIBS := $(call pc_libs,$(BRIDGE_PKGS)) -lm
BRIDGE_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(filter-out bridge/main.c,$(wildcard bridge/*.c)))
BRIDGE_LINK_OBJS := $(BRIDGE_OBJS) $(BUILD)/daemon/caller.o $(BUILD)/daemon/app-id-parse.o $(COMMON_OBJS)

.PHONY: all deps demo check check-sanitized check-unit check-integration check-vm check-structure fuzz install uninstall clean
all: $(BUILD)/mediagated $(LIBMEDIAGATE) $(BUILD)/mediactl $(EXAMPLES) $(BUILD)/mediagate.pc $(MO_FILES) \
	$(INDICATOR_DESKTOP) $(BUILD)/mediagate-pipewire $(BUILD)/tests/portal-connect

deps:
	@tools/install-deps

$(BUILD)/common/%.o: common/%.c $(wildcard common/*.h) | $(BUILD)/common
	$(CC) $(COMMON_CFLAGS) -c $< -o $@

$(BUILD)/daemon/%.o: daemon/%.c $(wildcard common/*.h daemon/*.h daemon/devices/*.h) | $(BUILD)/daemon/devices
	$(CC) $(DAEMON_CFLAGS) -c $< -o $@

$(BUILD)/client-lib/%.o: client-lib/%.c $(wildcard common/*.h client-lib/*.h client-lib/*/*.h) | $(BUILD)/client-lib/lib $(BUILD)/client-lib/mediactl
	$(CC) $(CLIENT_CFLAGS) -c $< -o $@

# mediactl's tables come from libsmartcols; its translations from $(localedir).
$(BUILD)/client-lib/mediactl/%.o: client-lib/mediactl/%.c $(wildcard common/*.h client-lib/*.h client-lib/*/*.h) | $(BUILD)/client-lib/mediactl
	$(CC) $(CLIENT_CFLAGS) $(call pc_cflags,$(MEDIACTL_PKGS)) -DLOCALEDIR='"$(localedir)"' -c $< -o $@

# Translations (po/): each po/LANG.po becomes $(BUILD)/locale/LANG/LC_MESSAGES/mediagate.mo, where an
# uninstalled mediactl finds it (beside itself). `make update-po` extracts the strings again (po/mediagate.pot)
# and merges them into each translation.
POT_SOURCES = $(shell cat po/POTFILES)

$(BUILD)/locale/%/LC_MESSAGES/mediagate.mo: po/%.po
	@mkdir -p $(dir $@)
	msgfmt --check --output-file=$@ $<

$(INDICATOR_DESKTOP): desktop/mediagate-indicator.desktop $(wildcard po/*.po) po/LINGUAS
	msgfmt --desktop --template=$< -d po --output-file=$@

po/mediagate.pot: $(POT_SOURCES) po/POTFILES
	xgettext --language=C --from-code=UTF-8 --keyword=_ --keyword=N_ --keyword=ngettext:1,2 \
		--add-comments=TRANSLATORS: --package-name=mediagate --package-version=$(VERSION) \
		--msgid-bugs-address= --sort-by-file --output=$@ $(filter %.c,$(POT_SOURCES))
	xgettext --language=Desktop --join-existing --sort-by-file --output=$@ $(filter %.desktop,$(POT_SOURCES))

.PHONY: update-po
update-po: po/mediagate.pot
	for po in po/*.po; do msgmerge --update --backup=none --no-fuzzy-matching $$po po/mediagate.pot; done

$(BUILD)/common $(BUILD)/daemon/devices $(BUILD)/client-lib/lib $(BUILD)/client-lib/mediactl $(BUILD)/tests $(BUILD)/examples:
	mkdir -p $@

$(BUILD)/bridge:
	mkdir -p $@

$(BUILD)/bridge/%.o: bridge/%.c $(wildcard bridge/*.h common/*.h client-lib/*.h daemon/caller.h daemon/app-id-parse.h) | $(BUILD)/bridge
	$(CC) $(BRIDGE_CFLAGS) -c $< -o $@

$(BUILD)/mediagate-pipewire: $(BUILD)/bridge/main.o $(BRIDGE_LINK_OBJS) $(LIBMEDIAGATE)
	$(CC) $(SAN_FLAGS) $(LDFLAGS) -o $@ $(BUILD)/bridge/main.o $(BRIDGE_LINK_OBJS) -L$(BUILD) -lmediagate \
		-Wl,-rpath,'$$ORIGIN' $(BRIDGE_LIBS)

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
		-Wl,-rpath,'$$ORIGIN' $(CLIENT_LIBS) $(call pc_libs,$(MEDIACTL_PKGS))

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

# The bridge's integration tests play the desktop portal with this (tests/integration/portal-connect.c).
$(BUILD)/tests/portal-connect: tests/integration/portal-connect.c | $(BUILD)/tests
	$(CC) $(BASE_CFLAGS) $(patsubst -I%,-isystem %,$(call pc_cflags,$(BRIDGE_PKGS))) $(CFLAGS) -o $@ $< \
		$(BRIDGE_LIBS)

# The bridge's tests (test-bridge-*.c) link its pure parts and the library.
$(BUILD)/tests/test-bridge-%: tests/unit/test-bridge-%.c $(BRIDGE_LINK_OBJS) $(LIBMEDIAGATE) | $(BUILD)/tests
	$(CC) $(BRIDGE_CFLAGS) -Ibridge -Itests/unit -o $@ $< $(BRIDGE_LINK_OBJS) -L$(BUILD) -lmediagate \
		-Wl,-rpath,'$$ORIGIN/..' $(BRIDGE_LIBS) $(call pc_libs,cmocka)

# Benchmarks (tests/bench): each tests/bench/bench-*.c is a program on libmediagate or plain
# sd-bus; `make bench` builds them and prints the table (tests/bench/run). Measured, not asserted.
BENCH_SRCS := $(wildcard tests/bench/bench-*.c)
BENCH_PROGS := $(BENCH_SRCS:tests/bench/%.c=$(BUILD)/bench/%)

.PHONY: bench
$(BUILD)/bench:
	mkdir -p $@

$(BUILD)/bench/%: tests/bench/%.c tests/bench/common.c tests/bench/common.h $(LIBMEDIAGATE) \
		$(BUILD)/common/util.o | $(BUILD)/bench
	$(CC) $(CLIENT_CFLAGS) -Itests/bench -o $@ $< tests/bench/common.c $(BUILD)/common/util.o \
		-L$(BUILD) -lmediagate -Wl,-rpath,'$$ORIGIN/..' $(CLIENT_LIBS) -lpthread

# The daemon-side benchmark of tests/bench/media-processing.c (MJPEG decoding, audio processing)
# runs the daemon's own modules in-process: it links the daemon's archive, not the library;
# tests/bench/run-media-processing prints its rows.
MEDIA_BENCH := $(BUILD)/bench/media-processing
$(MEDIA_BENCH): tests/bench/media-processing.c tests/bench/common.c tests/bench/common.h $(BUILD)/libmediagated.a \
		| $(BUILD)/bench
	$(CC) $(DAEMON_CFLAGS) -Itests/bench -o $@ $< tests/bench/common.c $(BUILD)/libmediagated.a \
		$(DAEMON_LIBS) $(call pc_libs,libv4lconvert)

# bench-bridge is a PipeWire consumer too.
$(BUILD)/bench/bench-bridge: tests/bench/bench-bridge.c tests/bench/common.c tests/bench/common.h \
		$(BUILD)/common/util.o | $(BUILD)/bench
	$(CC) $(CLIENT_CFLAGS) $(patsubst -I%,-isystem %,$(call pc_cflags,libpipewire-0.3)) -Itests/bench -o $@ $< \
		tests/bench/common.c $(BUILD)/common/util.o $(CLIENT_LIBS) $(call pc_libs,libpipewire-0.3)

bench: deps
	@$(MAKE) --no-print-directory all $(BENCH_PROGS) $(MEDIA_BENCH)
	@tests/bench/run

demo: deps
	@$(MAKE) --no-print-directory all
	@tools/demo

# Beside the plain build, `make check` builds a second tree with ASan and UBSan in
# $(BUILD)/sanitize and runs the unit and integration tiers on it too (unless SANITIZE= is
# given, which makes the one tree sanitized).
check: deps
	@$(MAKE) --no-print-directory all $(UNIT_TESTS)
	@tools/check $(UNIT_TESTS)

check-sanitized:
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/sanitize SANITIZE=address,undefined \
		all $(UNIT_TESTS:$(BUILD)/%=$(BUILD)/sanitize/%)

check-unit: all $(UNIT_TESTS)
	@tools/check --unit-only $(UNIT_TESTS)

check-integration: all
	@tools/check --integration-only

check-vm: all
	@tools/check --vm-only

# The layout: include cycles and layering, long functions (tests/structure); no build needed.
check-structure:
	@tools/check --structure-only

# Where the system looks for each kind of file, as its pkg-config file says, or a fallback below
# $(prefix) where that .pc is not installed; each can be overridden on the command line. What
# pkg-config names is the system's own directory, not one below $(prefix): systemd, udevd,
# dbus-daemon and polkitd read only theirs. Programs, library, headers and docs follow $(prefix).
pc_var = $(shell $(PKG_CONFIG) --variable=$(2) $(1) 2>/dev/null)
ifeq ($(origin systemdsystemunitdir),undefined)
systemdsystemunitdir := $(or $(call pc_var,systemd,systemdsystemunitdir),$(prefix)/lib/systemd/system)
endif
ifeq ($(origin systemduserunitdir),undefined)
systemduserunitdir := $(or $(call pc_var,systemd,systemduserunitdir),$(prefix)/lib/systemd/user)
endif
ifeq ($(origin sysusersdir),undefined)
sysusersdir := $(or $(call pc_var,systemd,sysusersdir),$(prefix)/lib/sysusers.d)
endif
ifeq ($(origin tmpfilesdir),undefined)
tmpfilesdir := $(or $(call pc_var,systemd,tmpfilesdir),$(prefix)/lib/tmpfiles.d)
endif
ifeq ($(origin udevrulesdir),undefined)
udevrulesdir := $(or $(call pc_var,udev,udevdir),$(prefix)/lib/udev)/rules.d
endif
ifeq ($(origin dbussystemservicesdir),undefined)
dbussystemservicesdir := $(or $(call pc_var,dbus-1,system_bus_services_dir),$(datadir)/dbus-1/system-services)
endif
ifeq ($(origin dbussystempolicydir),undefined)
dbussystempolicydir := $(or $(call pc_var,dbus-1,datadir),$(datadir))/dbus-1/system.d
endif
ifeq ($(origin polkitactiondir),undefined)
polkitactiondir := $(or $(call pc_var,polkit-gobject-1,actiondir),$(datadir)/polkit-1/actions)
endif
dbusinterfacesdir ?= $(datadir)/dbus-1/interfaces
# XDG autostart entries are read from $XDG_CONFIG_DIRS/autostart.
xdgautostartdir ?= $(sysconfdir)/xdg/autostart
docdir ?= $(datadir)/doc/mediagate

# The unit files and mediagate.pc name installed paths: @sbindir@ and friends are filled in at
# install time, so that they always match this install's prefix (not the one of the last build).
subst_dirs = sed -e 's|@prefix@|$(prefix)|g' -e 's|@sbindir@|$(sbindir)|g' -e 's|@bindir@|$(bindir)|g' \
	-e 's|@libdir@|$(libdir)|g' -e 's|@includedir@|$(includedir)|g' \
	-e 's|@localstatedir@|$(localstatedir)|g' -e 's|@VERSION@|$(VERSION)|g'

fuzz:
	@FUZZ_SECONDS=$(FUZZ_SECONDS) BUILD=$(BUILD) tests/fuzz/run

install: all
	install -d $(DESTDIR)$(sbindir) $(DESTDIR)$(bindir) $(DESTDIR)$(libdir)/pkgconfig \
		$(DESTDIR)$(includedir) $(DESTDIR)$(dbusinterfacesdir) \
		$(DESTDIR)$(sysconfdir)/mediagate/policy.d \
		$(DESTDIR)$(systemdsystemunitdir) $(DESTDIR)$(systemduserunitdir) \
		$(DESTDIR)$(sysusersdir) $(DESTDIR)$(tmpfilesdir) $(DESTDIR)$(udevrulesdir) \
		$(DESTDIR)$(dbussystemservicesdir) $(DESTDIR)$(dbussystempolicydir) \
		$(DESTDIR)$(polkitactiondir) $(DESTDIR)$(docdir) $(DESTDIR)$(xdgautostartdir)
	install -m 755 $(BUILD)/mediagated $(DESTDIR)$(sbindir)/mediagated
	install -m 755 $(BUILD)/mediactl $(DESTDIR)$(bindir)/mediactl
	install -m 755 $(BUILD)/mediagate-pipewire $(DESTDIR)$(bindir)/mediagate-pipewire
	install -m 755 $(LIBMEDIAGATE) $(DESTDIR)$(libdir)/
	ln -sf libmediagate.so.$(VERSION) $(DESTDIR)$(libdir)/libmediagate.so.$(SONAME_MAJOR)
	ln -sf libmediagate.so.$(SONAME_MAJOR) $(DESTDIR)$(libdir)/libmediagate.so
	install -m 644 client-lib/mediagate.h $(DESTDIR)$(includedir)/mediagate.h
	install -m 644 common/mediagate-wire.h $(DESTDIR)$(includedir)/mediagate-wire.h
	$(subst_dirs) client-lib/mediagate.pc.in > $(DESTDIR)$(libdir)/pkgconfig/mediagate.pc
	install -m 644 dbus/org.mediagate.MediaGate1.*.xml $(DESTDIR)$(dbusinterfacesdir)/
	$(subst_dirs) systemd/mediagated.service.in > $(DESTDIR)$(systemdsystemunitdir)/mediagated.service
	$(subst_dirs) systemd/mediagate-agent.service.in > $(DESTDIR)$(systemduserunitdir)/mediagate-agent.service
	$(subst_dirs) $(INDICATOR_DESKTOP) > $(DESTDIR)$(xdgautostartdir)/mediagate-indicator.desktop
	$(subst_dirs) systemd/mediagate-pipewire.service.in > $(DESTDIR)$(systemduserunitdir)/mediagate-pipewire.service
	test -e $(DESTDIR)$(sysconfdir)/mediagate/policy.d/50-pipewire-bridge.conf || \
		$(subst_dirs) policy/50-pipewire-bridge.conf.in > $(DESTDIR)$(sysconfdir)/mediagate/policy.d/50-pipewire-bridge.conf
	$(subst_dirs) systemd/mediagate.tmpfiles.in > $(DESTDIR)$(tmpfilesdir)/mediagate.conf
	$(subst_dirs) dbus/org.mediagate.MediaGate1.service.in > \
		$(DESTDIR)$(dbussystemservicesdir)/org.mediagate.MediaGate1.service
	chmod 644 $(DESTDIR)$(libdir)/pkgconfig/mediagate.pc \
		$(DESTDIR)$(systemdsystemunitdir)/mediagated.service \
		$(DESTDIR)$(systemduserunitdir)/mediagate-agent.service \
		$(DESTDIR)$(xdgautostartdir)/mediagate-indicator.desktop \
		$(DESTDIR)$(systemduserunitdir)/mediagate-pipewire.service \
		$(DESTDIR)$(tmpfilesdir)/mediagate.conf \
		$(DESTDIR)$(dbussystemservicesdir)/org.mediagate.MediaGate1.service
	install -m 644 systemd/mediagate.sysusers $(DESTDIR)$(sysusersdir)/mediagate.conf
	install -m 644 systemd/72-mediagate.rules $(DESTDIR)$(udevrulesdir)/72-mediagate.rules
	install -m 644 dbus/org.mediagate.MediaGate1.conf $(DESTDIR)$(dbussystempolicydir)/
	install -m 644 policy/org.mediagate.policy $(DESTDIR)$(polkitactiondir)/
	install -m 644 policy/README policy/50-mediagate.rules.example policy/example-rules.conf \
		$(DESTDIR)$(docdir)/
	for lang in $(PO_LANGUAGES); do \
		install -d $(DESTDIR)$(localedir)/$$lang/LC_MESSAGES && \
		install -m 644 $(BUILD)/locale/$$lang/LC_MESSAGES/mediagate.mo \
			$(DESTDIR)$(localedir)/$$lang/LC_MESSAGES/mediagate.mo || exit 1; \
	done
	test -e $(DESTDIR)$(sysconfdir)/mediagate/mediagated.conf || \
		install -m 644 examples/mediagated.conf $(DESTDIR)$(sysconfdir)/mediagate/mediagated.conf
	@if [ -z "$(DESTDIR)" ]; then \
		echo "Next, as root: systemd-sysusers mediagate.conf && systemctl daemon-reload &&"; \
		echo "systemctl enable --now mediagated.service; the udev rule, which takes cameras and"; \
		echo "microphones away from users, applies to present devices after a reboot (README)."; \
	fi

uninstall:
	rm -f $(DESTDIR)$(sbindir)/mediagated $(DESTDIR)$(bindir)/mediactl $(DESTDIR)$(bindir)/mediagate-pipewire \
		$(DESTDIR)$(systemduserunitdir)/mediagate-pipewire.service \
		$(DESTDIR)$(libdir)/libmediagate.so* $(DESTDIR)$(includedir)/mediagate.h \
		$(DESTDIR)$(includedir)/mediagate-wire.h \
		$(DESTDIR)$(libdir)/pkgconfig/mediagate.pc \
		$(DESTDIR)$(dbusinterfacesdir)/org.mediagate.MediaGate1.*.xml \
		$(DESTDIR)$(systemdsystemunitdir)/mediagated.service \
		$(DESTDIR)$(systemduserunitdir)/mediagate-agent.service \
		$(DESTDIR)$(xdgautostartdir)/mediagate-indicator.desktop \
		$(DESTDIR)$(sysusersdir)/mediagate.conf $(DESTDIR)$(tmpfilesdir)/mediagate.conf \
		$(DESTDIR)$(udevrulesdir)/72-mediagate.rules \
		$(DESTDIR)$(dbussystemservicesdir)/org.mediagate.MediaGate1.service \
		$(DESTDIR)$(dbussystempolicydir)/org.mediagate.MediaGate1.conf \
		$(DESTDIR)$(polkitactiondir)/org.mediagate.policy
	rm -rf $(DESTDIR)$(docdir)
	for lang in $(PO_LANGUAGES); do rm -f $(DESTDIR)$(localedir)/$$lang/LC_MESSAGES/mediagate.mo; done
	@# /etc/mediagate (configuration, policy) and /var/lib/mediagate (grants) are the admin's.

clean:
	rm -rf $(BUILD) demo-out
