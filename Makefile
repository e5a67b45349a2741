# mediagate: plain GNU make with pkg-config.
#
#   make                    daemon (build/mediagated), client library, mediactl, man pages
#   make demo               the whole flow on synthetic devices, on a private bus
#   make check              every test tier; prints each tier's summary and time
#   make check-structure    the layout checks alone (include cycles, layering, long functions)
#   make check-unit         the cmocka unit tests only (a minute)
#   make check-integration  the daemon on a private bus, driven through its API (a few minutes)
#   make check-package      dpkg-buildpackage and lintian (a few minutes; cached while the
#                           sources do not change)
#   make check-vm           the VM tier: real drivers under qemu, then the Debian packages
#                           installed, upgraded and purged with systemd as PID 1 (several
#                           minutes under TCG)
#   make fuzz               run each libFuzzer harness for FUZZ_SECONDS (tests/fuzz/run)
#   make bench              the benchmarks (measured, never asserted)
#   make install            DESTDIR=... prefix=... (every directory can be overridden)
#   make dbus-doc           docs/dbus-api.md again from the interface XML in dbus/
#   make clean
#
# `make demo` and the check targets first check for the Debian packages they need
# (tools/install-deps): nothing happens when all are there; as root the missing ones are
# installed (with a message), as another user they are named and the target stops.
# MEDIAGATE_SKIP_VM=1, MEDIAGATE_SKIP_SANITIZED=1 and MEDIAGATE_SKIP_PACKAGE=1 leave tiers out
# of `make check`.
#
# CPPFLAGS, CFLAGS and LDFLAGS from the command line or the environment reach every compile
# and link (a distribution's `dpkg-buildflags` output, for one); the project's own flags
# (language, warnings, defines) come first and cannot be lost that way.

VERSION := 0.1.0
SONAME_MAJOR := 1

CC ?= cc
prefix ?= /usr/local
bindir ?= $(prefix)/bin
sbindir ?= $(prefix)/sbin
# The multiarch library directory (lib/x86_64-linux-gnu) where the compiler knows one.
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)
libdir ?= $(prefix)/lib$(if $(MULTIARCH),/$(MULTIARCH))
includedir ?= $(prefix)/include
# The vendor's configuration (the defaults a package ships; the admin's is in $(sysconfdir)).
# Like sysconfdir it does not follow prefix: the daemon is built to read this one place, and
# `make` followed by `make install prefix=/usr` must agree on it.
vendorconfdir ?= /usr/lib/mediagate
# The headers go into a directory of their own; mediagate.pc's Cflags name it.
pkgincludedir ?= $(includedir)/mediagate
datadir ?= $(prefix)/share
sysconfdir ?= /etc
localstatedir ?= /var
localedir ?= $(datadir)/locale

PKG_CONFIG ?= pkg-config
BUILD ?= build

PKGS := libsystemd libv4l2 alsa nettle
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
# The project's flags: always there, whatever CFLAGS says. CFLAGS (optimization, debug info,
# hardening) and CPPFLAGS come after them, so that a packager's choice wins where both speak.
BASE_CFLAGS := -std=gnu11 -D_GNU_SOURCE -fPIC $(WARNINGS) $(SAN_FLAGS) \
	-DMEDIAGATE_VERSION='"$(VERSION)"' -DSYSCONFDIR='"$(sysconfdir)"' \
	-DLOCALSTATEDIR='"$(localstatedir)"' -DVENDORCONFDIR='"$(vendorconfdir)"'
CFLAGS ?= -g -O2
CPPFLAGS ?=
LDFLAGS ?=
# Every link: the sanitizers, CFLAGS (-flto, -fstack-protector and the like act at link time
# too) and LDFLAGS.
LINK_FLAGS = $(SAN_FLAGS) $(CFLAGS) $(LDFLAGS)

pc_cflags = $(shell $(PKG_CONFIG) --cflags $(1) 2>/dev/null)
pc_libs = $(shell $(PKG_CONFIG) --libs $(1) 2>/dev/null)

COMMON_CFLAGS = $(BASE_CFLAGS) -Icommon $(call pc_cflags,libsystemd) $(CPPFLAGS) $(CFLAGS)
DAEMON_CFLAGS = $(BASE_CFLAGS) -Icommon -Idaemon $(call pc_cflags,$(PKGS)) $(CPPFLAGS) $(CFLAGS)
DAEMON_LIBS := $(call pc_libs,$(PKGS)) -lm
CLIENT_CFLAGS = $(BASE_CFLAGS) -Icommon -Iclient-lib $(call pc_cflags,$(CLIENT_PKGS)) $(CPPFLAGS) $(CFLAGS)
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

# Manual pages, written in scdoc (docs/man/NAME.SECTION.scd; a component may keep its own page
# beside its code, as bridge/ does). Any message from scdoc fails the build.
SCDOC ?= scdoc
MAN_SRCS := $(wildcard docs/man/*.scd bridge/*.scd)
MAN_PAGES := $(patsubst %.scd,$(BUILD)/man/%,$(notdir $(MAN_SRCS)))

# mediagate-pipewire (bridge/): on libmediagate and libpipewire-0.3, with the daemon's caller
# identification (the consumers' app ids). PipeWire's headers are system headers: their inline
# code is not ours to warn about.
BRIDGE_PKGS := libpipewire-0.3 libsystemd
BRIDGE_CFLAGS = $(BASE_CFLAGS) -Icommon -Iclient-lib -Idaemon \
	$(patsubst -I%,-isystem %,$(call pc_cflags,$(BRIDGE_PKGS))) $(CPPFLAGS) $(CFLAGS)
BRIDGE_LIBS := $(call pc_libs,$(BRIDGE_PKGS)) -lm
BRIDGE_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(filter-out bridge/main.c,$(wildcard bridge/*.c)))
BRIDGE_LINK_OBJS := $(BRIDGE_OBJS) $(BUILD)/daemon/caller.o $(BUILD)/daemon/app-id-parse.o $(COMMON_OBJS)

.PHONY: all man dbus-doc deps demo check check-sanitized check-unit check-integration check-package check-vm check-structure fuzz install uninstall clean
all: $(BUILD)/mediagated $(LIBMEDIAGATE) $(BUILD)/mediactl $(EXAMPLES) $(BUILD)/mediagate.pc $(MO_FILES) \
	$(INDICATOR_DESKTOP) $(BUILD)/mediagate-pipewire $(BUILD)/tests/portal-connect man

man: $(MAN_PAGES)

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

define scdoc_rule
$(BUILD)/man/%: $(1)/%.scd | $(BUILD)/man
	@$(SCDOC) < $$< > $$@.tmp 2> $$@.err; rc=$$$$?; cat $$@.err >&2; \
	if [ $$$$rc -ne 0 ] || [ -s $$@.err ]; then \
		echo "$$<: scdoc failed (exit status $$$$rc)" >&2; rm -f $$@.tmp $$@.err; exit 1; \
	fi; rm -f $$@.err; mv $$@.tmp $$@
endef
$(foreach dir,docs/man bridge,$(eval $(call scdoc_rule,$(dir))))

$(BUILD)/man $(BUILD)/common $(BUILD)/daemon/devices $(BUILD)/client-lib/lib $(BUILD)/client-lib/mediactl $(BUILD)/tests $(BUILD)/examples:
	mkdir -p $@

$(BUILD)/bridge:
	mkdir -p $@

$(BUILD)/bridge/%.o: bridge/%.c $(wildcard bridge/*.h common/*.h client-lib/*.h daemon/caller.h daemon/app-id-parse.h) | $(BUILD)/bridge
	$(CC) $(BRIDGE_CFLAGS) -c $< -o $@

$(BUILD)/mediagate-pipewire: $(BUILD)/bridge/main.o $(BRIDGE_LINK_OBJS) $(LIBMEDIAGATE)
	$(CC) $(LINK_FLAGS) -o $@ $(BUILD)/bridge/main.o $(BRIDGE_LINK_OBJS) -L$(BUILD) -lmediagate \
		-Wl,-rpath,'$$ORIGIN' $(BRIDGE_LIBS)

$(BUILD)/libmediagated.a: $(DAEMON_OBJS)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/mediagated: $(BUILD)/daemon/main.o $(BUILD)/libmediagated.a
	$(CC) $(LINK_FLAGS) -o $@ $^ $(DAEMON_LIBS)

$(LIBMEDIAGATE): $(CLIENT_LIB_OBJS)
	$(CC) $(LINK_FLAGS) -shared -Wl,-soname,libmediagate.so.$(SONAME_MAJOR) \
		-Wl,--version-script=client-lib/libmediagate.sym -o $@ $^ $(CLIENT_LIBS)
	ln -sf libmediagate.so.$(VERSION) $(BUILD)/libmediagate.so.$(SONAME_MAJOR)
	ln -sf libmediagate.so.$(SONAME_MAJOR) $(BUILD)/libmediagate.so

$(BUILD)/mediactl: $(MEDIACTL_OBJS) $(LIBMEDIAGATE)
	$(CC) $(LINK_FLAGS) -o $@ $(MEDIACTL_OBJS) -L$(BUILD) -lmediagate \
		-Wl,-rpath,'$$ORIGIN' $(CLIENT_LIBS) $(call pc_libs,$(MEDIACTL_PKGS))

$(BUILD)/examples/%: client-lib/examples/%.c $(LIBMEDIAGATE) | $(BUILD)/examples
	$(CC) $(CLIENT_CFLAGS) $(LDFLAGS) -o $@ $< -L$(BUILD) -lmediagate -Wl,-rpath,'$$ORIGIN/..' $(CLIENT_LIBS)

$(BUILD)/mediagate.pc: client-lib/mediagate.pc.in Makefile
	sed -e 's|@prefix@|$(prefix)|' -e 's|@libdir@|$(libdir)|' \
	    -e 's|@includedir@|$(includedir)|' -e 's|@VERSION@|$(VERSION)|' $< > $@

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libmediagated.a | $(BUILD)/tests
	$(CC) $(DAEMON_CFLAGS) $(LDFLAGS) -Itests/unit -o $@ $< $(BUILD)/libmediagated.a \
		$(DAEMON_LIBS) $(call pc_libs,cmocka)

# Client-library tests (test-client-*.c) call the library's internal functions, so they link its
# objects instead of the daemon's archive (the more specific pattern wins).
$(BUILD)/tests/test-client-%: tests/unit/test-client-%.c $(CLIENT_LIB_OBJS) | $(BUILD)/tests
	$(CC) $(CLIENT_CFLAGS) $(LDFLAGS) -Iclient-lib/lib -Itests/unit -o $@ $< $(CLIENT_LIB_OBJS) \
		$(CLIENT_LIBS) $(call pc_libs,cmocka)

# The bridge's integration tests play the desktop portal with this (tests/integration/portal-connect.c).
$(BUILD)/tests/portal-connect: tests/integration/portal-connect.c | $(BUILD)/tests
	$(CC) $(BASE_CFLAGS) $(patsubst -I%,-isystem %,$(call pc_cflags,$(BRIDGE_PKGS))) $(CPPFLAGS) $(CFLAGS) \
		$(LDFLAGS) -o $@ $< $(BRIDGE_LIBS)

# The bridge's tests (test-bridge-*.c) link its pure parts and the library.
$(BUILD)/tests/test-bridge-%: tests/unit/test-bridge-%.c $(BRIDGE_LINK_OBJS) $(LIBMEDIAGATE) | $(BUILD)/tests
	$(CC) $(BRIDGE_CFLAGS) $(LDFLAGS) -Ibridge -Itests/unit -o $@ $< $(BRIDGE_LINK_OBJS) -L$(BUILD) -lmediagate \
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
	$(CC) $(CLIENT_CFLAGS) $(LDFLAGS) -Itests/bench -o $@ $< tests/bench/common.c $(BUILD)/common/util.o \
		-L$(BUILD) -lmediagate -Wl,-rpath,'$$ORIGIN/..' $(CLIENT_LIBS) -lpthread

# bench-bridge is a PipeWire consumer too.
$(BUILD)/bench/bench-bridge: tests/bench/bench-bridge.c tests/bench/common.c tests/bench/common.h \
		$(BUILD)/common/util.o | $(BUILD)/bench
	$(CC) $(CLIENT_CFLAGS) $(patsubst -I%,-isystem %,$(call pc_cflags,libpipewire-0.3)) $(LDFLAGS) -Itests/bench -o $@ $< \
		tests/bench/common.c $(BUILD)/common/util.o $(CLIENT_LIBS) $(call pc_libs,libpipewire-0.3)

bench: deps
	@$(MAKE) --no-print-directory all $(BENCH_PROGS)
	@tests/bench/run

demo:
	@tools/install-deps integration
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

check-unit:
	@tools/install-deps unit
	@$(MAKE) --no-print-directory all $(UNIT_TESTS)
	@tools/check --unit-only $(UNIT_TESTS)

check-integration:
	@tools/install-deps integration
	@$(MAKE) --no-print-directory all
	@tools/check --integration-only

check-package:
	@tools/install-deps package
	@tools/check --package-only

check-vm:
	@tools/install-deps vm
	@$(MAKE) --no-print-directory all
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
ifeq ($(origin catalogdir),undefined)
catalogdir := $(or $(call pc_var,systemd,catalogdir),$(prefix)/lib/systemd/catalog)
endif
ifeq ($(origin bashcompletiondir),undefined)
bashcompletiondir := $(or $(call pc_var,bash-completion,completionsdir),$(datadir)/bash-completion/completions)
endif
# zsh has no .pc file: the directory of its own $fpath below $(datadir) (Debian's zsh reads
# vendor-completions), else site-functions there.
ifeq ($(origin zshcompletiondir),undefined)
zshcompletiondir := $(or $(firstword $(filter $(datadir)/zsh/site-functions $(datadir)/zsh/vendor-completions,\
	$(shell zsh -fc 'print -l $$fpath' 2>/dev/null))),$(datadir)/zsh/site-functions)
endif
dbusinterfacesdir ?= $(datadir)/dbus-1/interfaces
# XDG autostart entries are read from $XDG_CONFIG_DIRS/autostart.
xdgautostartdir ?= $(sysconfdir)/xdg/autostart
mandir ?= $(datadir)/man
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
		$(DESTDIR)$(pkgincludedir) $(DESTDIR)$(dbusinterfacesdir) \
		$(DESTDIR)$(sysconfdir)/mediagate/policy.d \
		$(DESTDIR)$(systemdsystemunitdir) $(DESTDIR)$(systemduserunitdir) \
		$(DESTDIR)$(sysusersdir) $(DESTDIR)$(tmpfilesdir) $(DESTDIR)$(udevrulesdir) \
		$(DESTDIR)$(dbussystemservicesdir) $(DESTDIR)$(dbussystempolicydir) \
		$(DESTDIR)$(polkitactiondir) $(DESTDIR)$(docdir) $(DESTDIR)$(vendorconfdir) \
		$(DESTDIR)$(catalogdir) $(DESTDIR)$(xdgautostartdir)
	install -m 755 $(BUILD)/mediagated $(DESTDIR)$(sbindir)/mediagated
	install -m 755 $(BUILD)/mediactl $(DESTDIR)$(bindir)/mediactl
	install -m 755 $(BUILD)/mediagate-pipewire $(DESTDIR)$(bindir)/mediagate-pipewire
	install -m 755 $(LIBMEDIAGATE) $(DESTDIR)$(libdir)/
	ln -sf libmediagate.so.$(VERSION) $(DESTDIR)$(libdir)/libmediagate.so.$(SONAME_MAJOR)
	ln -sf libmediagate.so.$(SONAME_MAJOR) $(DESTDIR)$(libdir)/libmediagate.so
	@# mediagate.h includes "mediagate-wire.h": the two stay side by side.
	install -m 644 client-lib/mediagate.h common/mediagate-wire.h $(DESTDIR)$(pkgincludedir)/
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
	install -m 644 systemd/mediagate.catalog $(DESTDIR)$(catalogdir)/mediagate.catalog
	install -m 644 dbus/org.mediagate.MediaGate1.conf $(DESTDIR)$(dbussystempolicydir)/
	install -m 644 policy/org.mediagate.policy $(DESTDIR)$(polkitactiondir)/
	install -m 644 policy/README policy/50-mediagate.rules.example policy/example-rules.conf \
		examples/synthetic-devices.conf $(DESTDIR)$(docdir)/
	for lang in $(PO_LANGUAGES); do \
		install -d $(DESTDIR)$(localedir)/$$lang/LC_MESSAGES && \
		install -m 644 $(BUILD)/locale/$$lang/LC_MESSAGES/mediagate.mo \
			$(DESTDIR)$(localedir)/$$lang/LC_MESSAGES/mediagate.mo || exit 1; \
	done
	install -d $(DESTDIR)$(bashcompletiondir) $(DESTDIR)$(zshcompletiondir)
	install -m 644 shell-completion/bash/mediactl $(DESTDIR)$(bashcompletiondir)/mediactl
	install -m 644 shell-completion/zsh/_mediactl $(DESTDIR)$(zshcompletiondir)/_mediactl
	@for page in $(MAN_PAGES); do \
		section=$${page##*.}; \
		install -d $(DESTDIR)$(mandir)/man$$section && \
		install -m 644 $$page $(DESTDIR)$(mandir)/man$$section/ || exit 1; \
	done
	@# The vendor's settings; the admin's go to $(sysconfdir)/mediagate (mediagated.conf(5)).
	install -m 644 daemon/mediagated.conf $(DESTDIR)$(vendorconfdir)/mediagated.conf
	@if [ -z "$(DESTDIR)" ]; then \
		echo "Next, as root: systemd-sysusers mediagate.conf && systemctl daemon-reload &&"; \
		echo "systemctl enable --now mediagated.service; the udev rule, which takes cameras and"; \
		echo "microphones away from users, applies to present devices after a reboot (README);"; \
		echo "journalctl --update-catalog makes journalctl -x explain mediagated's entries."; \
	fi

uninstall:
	rm -f $(DESTDIR)$(sbindir)/mediagated $(DESTDIR)$(bindir)/mediactl $(DESTDIR)$(bindir)/mediagate-pipewire \
		$(DESTDIR)$(systemduserunitdir)/mediagate-pipewire.service \
		$(DESTDIR)$(libdir)/libmediagate.so* $(DESTDIR)$(pkgincludedir)/mediagate.h \
		$(DESTDIR)$(pkgincludedir)/mediagate-wire.h \
		$(DESTDIR)$(libdir)/pkgconfig/mediagate.pc \
		$(DESTDIR)$(dbusinterfacesdir)/org.mediagate.MediaGate1.*.xml \
		$(DESTDIR)$(systemdsystemunitdir)/mediagated.service \
		$(DESTDIR)$(systemduserunitdir)/mediagate-agent.service \
		$(DESTDIR)$(xdgautostartdir)/mediagate-indicator.desktop \
		$(DESTDIR)$(sysusersdir)/mediagate.conf $(DESTDIR)$(tmpfilesdir)/mediagate.conf \
		$(DESTDIR)$(udevrulesdir)/72-mediagate.rules $(DESTDIR)$(catalogdir)/mediagate.catalog \
		$(DESTDIR)$(dbussystemservicesdir)/org.mediagate.MediaGate1.service \
		$(DESTDIR)$(dbussystempolicydir)/org.mediagate.MediaGate1.conf \
		$(DESTDIR)$(polkitactiondir)/org.mediagate.policy \
		$(DESTDIR)$(vendorconfdir)/mediagated.conf \
		$(DESTDIR)$(bashcompletiondir)/mediactl $(DESTDIR)$(zshcompletiondir)/_mediactl
	rm -rf $(DESTDIR)$(docdir)
	for lang in $(PO_LANGUAGES); do rm -f $(DESTDIR)$(localedir)/$$lang/LC_MESSAGES/mediagate.mo; done
	@for page in $(notdir $(MAN_PAGES)); do rm -f $(DESTDIR)$(mandir)/man$${page##*.}/$$page; done
	@for d in $(DESTDIR)$(vendorconfdir) $(DESTDIR)$(pkgincludedir); do rmdir "$$d" 2>/dev/null || true; done
	@# /etc/mediagate (configuration, policy) and /var/lib/mediagate (grants) are the admin's.

# docs/dbus-api.md from the interface XML in dbus/ (make check fails while the two differ).
dbus-doc:
	@tools/dbus-doc --write

# `make print-VARIABLE`: the value make computed (the tests ask where files go).
print-%:
	@echo '$($*)'

clean:
	rm -rf $(BUILD) demo-out
