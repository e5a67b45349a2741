/* The global privacy switches: their file, and what flipping one does to live tracks. */
#include "mute.h"

#include <fcntl.h>

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

int mute_load(Manager *m) {
        _cleanup_free_ char *path = NULL;
        LoadState st = {};
        int r;

        if (asprintf(&path, "%s/" SWITCH_FILE, m->state_dir) < 0)
                return log_oom();
        r = ini_parse_file(path, 4096, on_assignment, on_syntax_error, &st);
        if (r == -ENOENT)
                return 0;
        if (r < 0 || st.bad) {
                log_error("%s is unreadable or damaged; muting camera and microphone until an admin sets the switches.",
                          path);
                for (DeviceKind k = 0; k < _DEVICE_KIND_MAX; k++)
                        m->muted[k] = true;
                return 0;
        }
        for (DeviceKind k = 0; k < _DEVICE_KIND_MAX; k++)
                m->muted[k] = st.muted[k];
        return 0;
}

/* Temporary file, fsync, rename, fsync of the directory: the switch survives a crash. */
static int save(Manager *m) {
        _cleanup_free_ char *path = NULL, *tmp = NULL;
        _cleanup_close_ int fd = -1, dir_fd = -1;
        char text[128];
        int n;

        if (asprintf(&path, "%s/" SWITCH_FILE, m->state_dir) < 0 ||
            asprintf(&tmp, "%s/." SWITCH_FILE ".tmp", m->state_dir) < 0)
                return -ENOMEM;
        n = snprintf(text, sizeof text, "[Switches]\n%s=%s\n%s=%s\n", switch_keys[DEVICE_KIND_VIDEO],
                     m->muted[DEVICE_KIND_VIDEO] ? "yes" : "no", switch_keys[DEVICE_KIND_AUDIO],
                     m->muted[DEVICE_KIND_AUDIO] ? "yes" : "no");
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return -errno;
        if (write(fd, text, (size_t) n) != n || fsync(fd) < 0) {
                int r = -errno ?: -EIO;

                (void) unlink(tmp);
                return r;
        }
        if (rename(tmp, path) < 0)
                return -errno;
        dir_fd = open(m->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd >= 0)
                (void) fsync(dir_fd);
        return 0;
}

int mute_set(Manager *m, DeviceKind kind, bool muted) {
        HashmapIter it = {};
        Track *t, **list = NULL;
        size_t n = 0;
        int r;

        if (m->muted[kind] == muted)
                return 0;
        m->muted[kind] = muted;
        r = save(m);
        if (r < 0)
                log_warning_errno(r, "Failed to save the privacy switches in %s: %m", m->state_dir);
        log_struct_internal(LOG_NOTICE, 0, MG_MESSAGE_PRIVACY_SWITCH, NULL, "%s %s by the privacy switch.",
                            kind == DEVICE_KIND_VIDEO ? "Cameras" : "Microphones", muted ? "muted" : "unmuted");
        r = sd_bus_emit_properties_changed(m->bus, MG_OBJECT_PATH, MG_IFACE_MANAGER, switch_keys[kind], NULL);
        if (r < 0)
                log_debug_errno(r, "Failed to announce the privacy switch: %m");

        list = calloc(hashmap_size(m->tracks) + 1, sizeof(Track *));
        if (!list)
                return -ENOMEM;
        while (hashmap_iterate(m->tracks, &it, (void **) &t, NULL))
                if (t->kind == kind)
                        list[n++] = track_ref(t);
        for (size_t i = 0; i < n; i++) {
                track_set_muted(list[i], muted);
                track_unref(list[i]);
        }
        free(list);
        manager_tracks_changed(m);
        return 0;
}
