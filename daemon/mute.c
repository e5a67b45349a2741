/* The global privacy switches: their file, and what flipping one does to live tracks. */
#include "mute.h"

#include <fcntl.h>

#include "durable-write.h"
#include "ini.h"
#include "log.h"
#include "mediagate-names.h"
#include "track.h"
#include "util.h"

#define SWITCH_FILE "privacy-switches"

static const char *const switch_keys[] = {
        [DEVICE_KIND_AUDIO] = "MicrophoneMuted",
        [DEVICE_KIND_VIDEO] = "CameraMuted",
};

typedef struct LoadState {
        bool muted[_DEVICE_KIND_MAX];
        bool bad;
} LoadState;

static int on_assignment(const char *file, unsigned line, const char *section, const char *key,
                         const char *value, void *userdata) {
        LoadState *st = userdata;

        if (!key)
                return 0;
        for (DeviceKind k = 0; k < _DEVICE_KIND_MAX; k++)
                if (streq(key, switch_keys[k])) {
                        int b = parse_boolean(value);

                        if (b < 0) {
                                log_warning("%s:%u: %s= wants yes or no.", file, line, key);
                                st->bad = true;
                        } else
                                st->muted[k] = b;
                        return 0;
                }
        log_warning("%s:%u: unknown key %s=.", file, line, key);
        st->bad = true;
        return 0;
}

static void on_syntax_error(const char *file, unsigned line, const char *message, void *userdata) {
        LoadState *st = userdata;

        log_warning("%s:%u: %s", file, line, message);
        st->bad = true;
}

/* The file as it is: 0 read (or absent: both off), 1 damaged, < 0 unreadable. */
static int read_switches(Manager *m, bool ret[_DEVICE_KIND_MAX]) {
        _cleanup_free_ char *path = NULL;
        LoadState st = {};
        int r;

        if (asprintf(&path, "%s/" SWITCH_FILE, m->state_dir) < 0)
                return -ENOMEM;
        r = ini_parse_file(path, 4096, on_assignment, on_syntax_error, &st);
        if (r == -ENOENT)
                r = 0;
        else if (r == -EINVAL || r == -EFBIG || st.bad)
                return 1;
        if (r < 0)
                return r;
        for (DeviceKind k = 0; k < _DEVICE_KIND_MAX; k++)
                ret[k] = st.muted[k];
        return 0;
}

int mute_load(Manager *m) {
        bool muted[_DEVICE_KIND_MAX];
        int r;

        r = read_switches(m, muted);
        if (r == -ENOMEM)
                return log_oom();
        if (r != 0) {
                if (r < 0)
                        log_error_errno(r, "Failed to read %s/" SWITCH_FILE ": %m", m->state_dir);
                log_error("%s/" SWITCH_FILE " is unreadable or damaged; muting camera and microphone until an admin sets the switches.",
                          m->state_dir);
                for (DeviceKind k = 0; k < _DEVICE_KIND_MAX; k++)
                        m->muted[k] = true;
                return 0;
        }
        for (DeviceKind k = 0; k < _DEVICE_KIND_MAX; k++)
                m->muted[k] = muted[k];
        return 0;
}

static int save(Manager *m, const bool muted[_DEVICE_KIND_MAX]) {
        _cleanup_close_ int dir_fd = -1;
        bool current[_DEVICE_KIND_MAX];
        char text[128];
        int n, r;

        /* A file that cannot be read is not written over (a damaged one is: that is how an
         * admin mends it). */
        r = read_switches(m, current);
        if (r < 0)
                return log_error_errno(r == -ENOMEM ? r : -EIO, "Not saving the privacy switches: %s/" SWITCH_FILE " could not be read.",
                                       m->state_dir);
        n = snprintf(text, sizeof text, "[Switches]\n%s=%s\n%s=%s\n", switch_keys[DEVICE_KIND_VIDEO],
                     muted[DEVICE_KIND_VIDEO] ? "yes" : "no", switch_keys[DEVICE_KIND_AUDIO],
                     muted[DEVICE_KIND_AUDIO] ? "yes" : "no");
        dir_fd = open(m->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0)
                return log_error_errno(errno, "Failed to save the privacy switches in %s: %m", m->state_dir);
        r = durable_write_at(dir_fd, SWITCH_FILE, text, (size_t) n, 0644, 0);
        if (r < 0)
                return log_error_errno(r, "Failed to save the privacy switches in %s: %m", m->state_dir);
        return 0;
}

/* The live tracks of a kind, referenced: collected before anything changes, so that once the
 * switch is saved nothing can keep it from reaching them. */
static int collect_tracks(Manager *m, DeviceKind kind, Track ***ret, size_t *ret_n) {
        HashmapIter it = {};
        Track *t, **list;
        size_t n = 0;

        list = calloc(hashmap_size(m->tracks) + 1, sizeof(Track *));
        if (!list)
                return -ENOMEM;
        while (hashmap_iterate(m->tracks, &it, (void **) &t, NULL))
                if (t->kind == kind)
                        list[n++] = track_ref(t);
        *ret = list;
        *ret_n = n;
        return 0;
}

static void announce(Manager *m, DeviceKind kind, bool muted) {
        int r;

        log_struct_internal(LOG_NOTICE, 0, MG_MESSAGE_PRIVACY_SWITCH, NULL, "%s %s by the privacy switch.",
                            kind == DEVICE_KIND_VIDEO ? "Cameras" : "Microphones", muted ? "muted" : "unmuted");
        r = sd_bus_emit_properties_changed(m->bus, MG_OBJECT_PATH, MG_IFACE_MANAGER, switch_keys[kind], NULL);
        if (r < 0)
                log_debug_errno(r, "Failed to announce the privacy switch: %m");
}

int mute_set(Manager *m, DeviceKind kind, bool muted) {
        _cleanup_free_ Track **list = NULL;
        bool want[_DEVICE_KIND_MAX];
        size_t n = 0;
        int r;

        if (m->muted[kind] == muted)
                return 0;
        r = collect_tracks(m, kind, &list, &n);
        if (r < 0)
                return r;
        memcpy(want, m->muted, sizeof want);
        want[kind] = muted;
        r = save(m, want);
        if (r < 0) {
                /* Nothing changed, in memory or on disk. */
                for (size_t i = 0; i < n; i++)
                        track_unref(list[i]);
                return r;
        }

        /* Fail closed: "muted" is told only once no track of the kind gets anything more, and
         * "unmuted" before any track gets anything again. */
        m->muted[kind] = muted;
        if (!muted)
                announce(m, kind, muted);
        for (size_t i = 0; i < n; i++) {
                track_set_muted(list[i], muted);
                track_unref(list[i]);
        }
        if (muted)
                announce(m, kind, muted);
        manager_tracks_changed(m);
        return 0;
}
