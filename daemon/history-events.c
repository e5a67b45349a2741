/* Recording access events: the History takes them, each named by uid, app id and origin. */
#include "history-events.h"

#include <string.h>

#include "caller.h"
#include "log.h"
#include "util.h"

void history_record_key(Manager *m, HistoryEventType type, uid_t uid, const char *app_id, const char *origin,
                        DeviceKind kind, const char *device, uint64_t duration_usec, char **extra) {
        HistoryEvent e = {
                .type = type,
                .uid = uid,
                .kind = kind,
                .duration_usec = duration_usec,
                .app_id = app_id,
                .origin = origin,
                .device = device,
                .extra = extra,
        };
        int r;

        if (!m->history)
                return;
        r = history_append(m->history, &e);
        if (r < 0)
                log_warning_errno(r, "Failed to record a %s event: %m", history_event_type_to_string(type));
}

void history_record(Manager *m, HistoryEventType type, const Caller *caller, const char *origin, DeviceKind kind,
                    const char *device, uint64_t duration_usec, char **extra) {
        _cleanup_free_ char **with_broker = NULL;
        size_t n = strv_length(extra);

        /* A broker's subject: the event is the app's, and names the broker that asked for it. */
        if (caller->broker) {
                with_broker = new0(char *, n + 3);
                if (with_broker) {
                        if (n > 0) /* extra may be NULL: memcpy() from NULL is undefined even for 0 bytes */
                                memcpy(with_broker, extra, n * sizeof(char *));
                        with_broker[n] = (char *) "broker";
                        with_broker[n + 1] = caller->broker;
                        extra = with_broker;
                }
        }
        history_record_key(m, type, caller->uid, caller->app_id, origin, kind, device, duration_usec, extra);
}
