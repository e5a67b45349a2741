/* Failures to reach mediagated in plain words, with the next step: which bus, who is not
 * running, what to start. The raw names (ServiceUnknown, System.Error.ENOMEDIUM) say little
 * to a person; the other errors keep their names, which do. */
#include <stdlib.h>

#include "mediactl.h"

/* The bus of this run's connection, for the words and the commands. */
static bool session_bus;

void explain_set_bus(bool session) {
        session_bus = session;
}

int print_connect_error(int r) {
        const char *what = session_bus ? "the session bus" : "the system bus";

        if (r == -ENOMEDIUM && session_bus)
                fprintf(stderr, "mediactl: there is no session bus here (neither DBUS_SESSION_BUS_ADDRESS nor\n"
                        "XDG_RUNTIME_DIR is set).\n"
                        "Run mediactl inside a desktop session or under dbus-run-session, or without --session\n"
                        "(and MEDIAGATE_BUS=session) to talk to the system's mediagated.\n");
        else if (r == -ENOENT || r == -ECONNREFUSED || r == -ENOMEDIUM)
                fprintf(stderr, "mediactl: cannot connect to %s: nothing listens at its address (%s).\n"
                        "Is D-Bus running? Check with: %s\n",
                        what, strerror(-r), session_bus ? "systemctl --user status dbus.socket" : "systemctl status dbus.service");
        else if (r == -EACCES || r == -EPERM)
                fprintf(stderr, "mediactl: cannot connect to %s: permission denied.\n", what);
        else
                fprintf(stderr, "mediactl: cannot connect to %s: %s.\n", what, strerror(-r));
        return EXIT_FAILURE;
}

bool explain_error(const char *name, const char *message) {
        if (!name)
                return false;
        if (streq(name, "org.freedesktop.DBus.Error.ServiceUnknown") ||
            streq(name, "org.freedesktop.DBus.Error.NameHasNoOwner")) {
                if (session_bus)
                        fprintf(stderr, "mediactl: mediagated is not running on the session bus (there it runs only when\n"
                                "started by hand, for development and tests).\n"
                                "Start it with: mediagated --session; or leave out --session (and MEDIAGATE_BUS=session)\n"
                                "to talk to the system's mediagated.\n");
                else
                        fprintf(stderr, "mediactl: mediagated is not running (nobody on the system bus answers to\n"
                                "org.mediagate.MediaGate1).\n"
                                "Start it with: systemctl start mediagated.service; why it stopped: journalctl -u mediagated\n");
                return true;
        }
        if (streq(name, "org.freedesktop.DBus.Error.NoReply") || streq(name, "org.freedesktop.DBus.Error.Timeout") ||
            streq(name, "System.Error.ETIMEDOUT")) {
                fprintf(stderr, "mediactl: mediagated did not answer in time; it may be overloaded or stuck.\n"
                        "%s\n", session_bus ? "Look at its output, or start it again." : "See: journalctl -u mediagated");
                return true;
        }
        if (streq(name, "org.freedesktop.DBus.Error.Disconnected") || streq(name, "System.Error.ECONNRESET") ||
            streq(name, "System.Error.ENOTCONN")) {
                fprintf(stderr, "mediactl: the connection to the %s bus was lost.\n", session_bus ? "session" : "system");
                return true;
        }
        if (streq(name, "org.freedesktop.DBus.Error.UnknownMethod") ||
            streq(name, "org.freedesktop.DBus.Error.UnknownInterface") ||
            streq(name, "org.freedesktop.DBus.Error.UnknownObject") ||
            streq(name, "org.freedesktop.DBus.Error.UnknownProperty")) {
                _cleanup_free_ char *safe = terminal_safe(message);

                fprintf(stderr, "mediactl: the running mediagated does not know this call; it is probably older than\n"
                        "mediactl (%s). Restart it after an upgrade.\n", strempty(safe));
                return true;
        }
        return false;
}
