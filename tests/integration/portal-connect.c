/* What the desktop portal does for a sandboxed app's OpenPipeWireRemote, for the bridge's tests:
 * own org.freedesktop.portal.Desktop (PipeWire's portal module then marks this process's
 * connections pipewire.access=portal), wait until PipeWire knows this pid as the portal's, open a
 * PipeWire connection carrying the app's id and media roles, and hand it to a program as an fd:
 *
 *     portal-connect APP_ID PROGRAM ARG...    (each "{fd}" in ARG becomes the fd's number)
 *
 * PipeWire (module-portal) asks the bus for the name's owner when it appears; the connection is
 * opened only once PipeWire has logged that it knows the pid, which the test passes as
 * $PORTAL_READY_FILE (PipeWire's log) to poll. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <pipewire/pipewire.h>
#include <systemd/sd-bus.h>

#define READY_TEXT "Got portal pid"
#define WAIT_SECONDS 10

static int wait_for_text(const char *path, const char *text) {
        for (int i = 0; i < WAIT_SECONDS * 20; i++) {
                char buf[65536];
                FILE *f = fopen(path, "re");
                size_t n = 0;

                if (f) {
                        n = fread(buf, 1, sizeof(buf) - 1, f);
                        fclose(f);
                }
                buf[n] = 0;
                if (strstr(buf, text))
                        return 0;
                nanosleep(&(struct timespec) { .tv_nsec = 50 * 1000 * 1000 }, NULL);
        }
        return -ETIMEDOUT;
}

int main(int argc, char *argv[]) {
        const char *ready = getenv("PORTAL_READY_FILE");
        sd_bus *bus = NULL;
        struct pw_main_loop *loop;
        struct pw_context *context;
        struct pw_core *core;
        char fd_text[16];
        int fd, r;

        if (argc < 3 || !ready) {
                fprintf(stderr, "usage: PORTAL_READY_FILE=LOG portal-connect APP_ID PROGRAM ARG...\n");
                return 2;
        }
        r = sd_bus_open_user(&bus);
        if (r >= 0)
                r = sd_bus_request_name(bus, "org.freedesktop.portal.Desktop", 0);
        if (r < 0) {
                fprintf(stderr, "portal-connect: cannot own the portal's name: %s\n", strerror(-r));
                return 1;
        }
        if (wait_for_text(ready, READY_TEXT) < 0) {
                fprintf(stderr, "portal-connect: PipeWire did not learn the portal's pid\n");
                return 1;
        }

        pw_init(&argc, &argv);
        loop = pw_main_loop_new(NULL);
        context = pw_context_new(pw_main_loop_get_loop(loop), NULL, 0);
        core = pw_context_connect(context,
                                  pw_properties_new("pipewire.access.portal.app_id", argv[1],
                                                    "pipewire.access.portal.media_roles", "Camera", NULL), 0);
        if (!core) {
                fprintf(stderr, "portal-connect: cannot connect to PipeWire: %m\n");
                return 1;
        }
        /* The properties go out with the connection's first messages: let them. */
        pw_loop_iterate(pw_main_loop_get_loop(loop), 100);
        fd = pw_core_steal_fd(core);
        if (fd < 0 || fcntl(fd, F_SETFD, 0) < 0) {
                fprintf(stderr, "portal-connect: cannot take the connection's fd\n");
                return 1;
        }
        snprintf(fd_text, sizeof fd_text, "%d", fd);
        for (int i = 2; i < argc; i++) {
                char *at = strstr(argv[i], "{fd}");

                if (at && asprintf(&argv[i], "%.*s%s%s", (int) (at - argv[i]), argv[i], fd_text, at + 4) < 0)
                        return 1;
        }
        sd_bus_flush_close_unref(bus);
        execvp(argv[2], argv + 2);
        fprintf(stderr, "portal-connect: cannot run %s: %m\n", argv[2]);
        return 127;
}
