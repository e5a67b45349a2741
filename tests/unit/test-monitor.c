/* Table tests for the hotplug monitor's pure parts (the kernel uevent parser that feeds it when
 * udevd is not running, and the "at or below this sysfs path" rule of removals), and starting
 * and stopping it on a loop. Real devices come and go in the VM tier. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <systemd/sd-event.h>

#include "config.h"
#include "devices/device.h"
#include "devices/monitor.h"
#include "util.h"

/* A uevent as the kernel sends it: NUL-separated strings, the last one NUL-terminated too. */
#define UE(s) s, sizeof(s)

static void test_parse_uevent(void **state) {
        static const struct {
                const char *name;
                const char *buf;
                size_t len;
                int r;
                const char *action, *devpath, *subsystem, *devname;
                uint64_t seqnum;
        } rows[] = {
                { "a camera plugged in",
                  UE("add@/devices/platform/vivid.0/video4linux/video0\0ACTION=add\0"
                     "DEVPATH=/devices/platform/vivid.0/video4linux/video0\0SUBSYSTEM=video4linux\0"
                     "MAJOR=81\0MINOR=0\0DEVNAME=video0\0SEQNUM=2291"),
                  0, "add", "/devices/platform/vivid.0/video4linux/video0", "video4linux", "video0", 2291 },
                { "a card removed, no DEVNAME",
                  UE("remove@/devices/platform/snd_dummy.0/sound/card1\0ACTION=remove\0"
                     "DEVPATH=/devices/platform/snd_dummy.0/sound/card1\0SUBSYSTEM=sound\0SEQNUM=7"),
                  0, "remove", "/devices/platform/snd_dummy.0/sound/card1", "sound", NULL, 7 },
                { "keys in any order, unknown keys ignored",
                  UE("change@/devices/x\0SEQNUM=1\0FOO=bar\0SUBSYSTEM=sound\0DEVPATH=/devices/x\0ACTION=change"),
                  0, "change", "/devices/x", "sound", NULL, 1 },
                { "udev's own message format", UE("libudev\0\xfe\xed\xca\xfe"), -EBADMSG },
                { "header and body disagree on the path",
                  UE("add@/devices/a\0ACTION=add\0DEVPATH=/devices/b\0SUBSYSTEM=sound\0SEQNUM=1"), -EBADMSG },
                { "header and body disagree on the action",
                  UE("add@/devices/a\0ACTION=remove\0DEVPATH=/devices/a\0SUBSYSTEM=sound\0SEQNUM=1"), -EBADMSG },
                { "a path leaving /sys",
                  UE("add@/devices/../../etc\0ACTION=add\0DEVPATH=/devices/../../etc\0SUBSYSTEM=sound\0SEQNUM=1"),
                  -EBADMSG },
                { "a trailing ..",
                  UE("add@/devices/..\0ACTION=add\0DEVPATH=/devices/..\0SUBSYSTEM=sound\0SEQNUM=1"), -EBADMSG },
                { "dots inside a name are fine",
                  UE("add@/devices/a..b/.x\0ACTION=add\0DEVPATH=/devices/a..b/.x\0SUBSYSTEM=sound\0SEQNUM=1"),
                  0, "add", "/devices/a..b/.x", "sound", NULL, 1 },
                { "a relative path",
                  UE("add@devices/a\0ACTION=add\0DEVPATH=devices/a\0SUBSYSTEM=sound\0SEQNUM=1"), -EBADMSG },
                { "no subsystem", UE("add@/devices/a\0ACTION=add\0DEVPATH=/devices/a\0SEQNUM=1"), -EBADMSG },
                { "no sequence number",
                  UE("add@/devices/a\0ACTION=add\0DEVPATH=/devices/a\0SUBSYSTEM=sound"), -EBADMSG },
                { "a bad sequence number",
                  UE("add@/devices/a\0ACTION=add\0DEVPATH=/devices/a\0SUBSYSTEM=sound\0SEQNUM=12x"), -EBADMSG },
                { "not NUL-terminated", "add@/devices/a\0ACTION=add", 24, -EBADMSG },
                { "no header", UE("ACTION=add\0DEVPATH=/devices/a\0SUBSYSTEM=sound\0SEQNUM=1"), -EBADMSG },
                { "empty", "", 0, -EBADMSG },
        };

        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                UEvent u = {};

                print_message("uevent: %s\n", rows[i].name);
                assert_int_equal(monitor_parse_uevent(rows[i].buf, rows[i].len, &u), rows[i].r);
                if (rows[i].r < 0)
                        continue;
                assert_string_equal(u.action, rows[i].action);
                assert_string_equal(u.devpath, rows[i].devpath);
                assert_string_equal(u.subsystem, rows[i].subsystem);
                if (rows[i].devname)
                        assert_string_equal(u.devname, rows[i].devname);
                else
                        assert_null(u.devname);
                assert_int_equal(u.seqnum, rows[i].seqnum);
        }
}

static void test_path_is_under(void **state) {
        static const struct {
                const char *path, *prefix;
                bool under;
        } rows[] = {
                { "/sys/devices/usb1/1-1/1-1:1.0/video4linux/video0", "/sys/devices/usb1/1-1", true },
                { "/sys/devices/usb1/1-1", "/sys/devices/usb1/1-1", true },
                { "/sys/devices/usb1/1-10/sound/card1/pcmC1D0c", "/sys/devices/usb1/1-1", false },
                { "/sys/devices/a/b", "/sys/devices/a/", true },
                { "/sys/devices/a", "/sys/devices/a/b", false },
                { "/sys/devices/a", "", false },
                { NULL, "/sys", false },
                { "/sys", NULL, false },
        };

        for (size_t i = 0; i < ELEMENTSOF(rows); i++)
                assert_int_equal(monitor_path_is_under(rows[i].path, rows[i].prefix), rows[i].under);
}

/* On a machine without cameras or sound cards (the unit tests' build machine), the monitor
 * starts, listens, finds nothing and stops; with no real backend asked for it touches nothing. */
static void test_start_stop(void **state) {
        static const unsigned backends[] = {
                BACKEND_V4L2 | BACKEND_ALSA,
                BACKEND_V4L2,
                BACKEND_ALSA,
                BACKEND_SYNTHETIC,
                0,
        };
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(device_registry_freep) DeviceRegistry *r = NULL;

        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(device_registry_new(e, &r), 0);

        for (size_t i = 0; i < ELEMENTSOF(backends); i++) {
                DeviceMonitor *m = NULL;

                if (access("/sys/class/video4linux", F_OK) >= 0 || access("/sys/class/sound", F_OK) >= 0)
                        skip();
                assert_int_equal(device_monitor_start(r, backends[i], &m), 0);
                assert_non_null(m);
                assert_int_equal(device_monitor_count(m, DEVICE_KIND_VIDEO), 0);
                assert_int_equal(device_monitor_count(m, DEVICE_KIND_AUDIO), 0);
                assert_true(sd_event_run(e, 1000) >= 0);
                assert_int_equal(device_registry_count(r), 0);
                assert_null(device_monitor_free(m));
        }
        assert_int_equal(device_monitor_start(NULL, BACKEND_V4L2, NULL), -EINVAL);
        assert_null(device_monitor_free(NULL));
        assert_int_equal(device_monitor_count(NULL, DEVICE_KIND_VIDEO), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_uevent),
                cmocka_unit_test(test_path_is_under),
                cmocka_unit_test(test_start_stop),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
