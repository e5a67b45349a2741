/* The event loop of a command that runs until it is told to stop (agent, indicator, monitor,
 * record): SIGINT and SIGTERM arrive as events, not as signals that cut a write in half. */
#include <signal.h>

#include "mediactl.h"

int event_loop_new(MgClient *client, sd_event_signal_handler_t on_signal, void *userdata, sd_event **ret) {
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        sigset_t mask;
        int r;

        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0) {
                r = -errno;
                return print_errno(r, "Failed to block signals"), r;
        }
        r = sd_event_new(&event);
        if (r >= 0)
                r = sd_event_add_signal(event, NULL, SIGINT, on_signal, userdata);
        if (r >= 0)
                r = sd_event_add_signal(event, NULL, SIGTERM, on_signal, userdata);
        if (r >= 0)
                r = mg_client_attach_event(client, event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return print_errno(r, "Failed to set up the event loop"), r;
        *ret = TAKE_PTR(event);
        return 0;
}
