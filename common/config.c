/* mediagated.conf: the daemon's settings, strictly validated, errors with file and line. */
#include "config.h"

#include <stdarg.h>

#include "conf-files.h"
#include "ini.h"
#include "log.h"
#include "util.h"

void config_init(Config *c) {
        *c = (Config){
                .backends = BACKEND_V4L2 | BACKEND_ALSA,
                .reveal_constraint_name = REVEAL_CONSTRAINT_EXPOSED,
                .max_pending_per_connection = 16,
                .max_pending_per_uid = 64,
                .max_tracks_per_connection = 16,
                .max_tracks_per_uid = 64,
                /* Far below the daemon's fd and memory limits: 16 streams are 16 fds, and
                 * 256 MiB holds five 1080p formats at once (streams of one format share). */
                .max_streams_per_connection = 16,
                .max_pool_mib_per_user = 256,
        };
}

void config_done(Config *c) {
        free(c->synthetic_devices);
        free(c->policy_dir);
        free(c->state_dir);
        strv_free(c->indicator_leds);
        *c = (Config){};
}

int config_parse_backends(const char *s, unsigned *ret) {
        _cleanup_free_ char *copy = strdup(s);
        unsigned bits = 0;
        char *save = NULL;

        if (!copy)
                return -ENOMEM;
        for (char *w = strtok_r(copy, " \t,", &save); w; w = strtok_r(NULL, " \t,", &save)) {
                if (streq(w, "v4l2"))
                        bits |= BACKEND_V4L2;
                else if (streq(w, "alsa"))
                        bits |= BACKEND_ALSA;
                else if (streq(w, "synthetic"))
                        bits |= BACKEND_SYNTHETIC;
                else
                        return -EINVAL;
        }
        *ret = bits;
        return 0;
}

typedef struct ParseState {
        Config *config;
        char **error;
} ParseState;

_printf_(4, 5) static int set_error(ParseState *st, const char *file, unsigned line, const char *fmt, ...) {
        char text[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(text, sizeof text, fmt, ap);
        va_end(ap);
        free(*st->error);
        if (asprintf(st->error, "%s:%u: %s", file, line, text) < 0)
                *st->error = NULL;
        return -EINVAL;
}

static void on_syntax_error(const char *file, unsigned line, const char *message, void *userdata) {
        set_error(userdata, file, line, "%s", message);
}

static int parse_unsigned_in(ParseState *st, const char *file, unsigned line, const char *key,
                             const char *value, unsigned lo, unsigned hi, unsigned *ret) {
        uint32_t v;

        if (safe_atou32(value, &v) < 0 || v < lo || v > hi)
                return set_error(st, file, line, "%s= wants a whole number from %u to %u, got '%s'",
                                 key, lo, hi, value);
        *ret = v;
        return 0;
}

static int on_assignment(const char *file, unsigned line, const char *section, const char *key,
                         const char *value, void *userdata) {
        ParseState *st = userdata;
        Config *c = st->config;
        int r = 0;

        if (!key) {
                if (!streq(section, "Daemon"))
                        log_warning("%s:%u: unknown section [%s], ignoring.", file, line, section);
                return 0;
        }
        if (!section)
                return set_error(st, file, line, "assignment outside of a section");
        if (!streq(section, "Daemon"))
                return 0; /* warned at the header */

        if (streq(key, "Backends")) {
                r = config_parse_backends(value, &c->backends);
                if (r < 0)
                        return set_error(st, file, line,
                                         "Backends= takes v4l2, alsa and synthetic, got '%s'", value);
                c->backends_set = true;
        } else if (streq(key, "SyntheticDevices")) {
                r = free_and_strdup(&c->synthetic_devices, isempty(value) ? NULL : value);
        } else if (streq(key, "PromptTimeoutSec")) {
                unsigned sec = 0;

                r = parse_unsigned_in(st, file, line, key, value, 0, 86400, &sec);
                if (r < 0)
                        return r;
                c->prompt_timeout_usec = (uint64_t) sec * 1000000ULL;
        } else if (streq(key, "RevealConstraintName")) {
                if (streq(value, "exposed"))
                        c->reveal_constraint_name = REVEAL_CONSTRAINT_EXPOSED;
                else if (streq(value, "always"))
                        c->reveal_constraint_name = REVEAL_CONSTRAINT_ALWAYS;
                else
                        return set_error(st, file, line,
                                         "RevealConstraintName= takes 'exposed' or 'always', got '%s'",
                                         value);
        } else if (streq(key, "PolicyDirectory")) {
                if (value[0] != '/')
                        return set_error(st, file, line, "PolicyDirectory= needs an absolute path");
                r = free_and_strdup(&c->policy_dir, value);
        } else if (streq(key, "StateDirectory")) {
                if (value[0] != '/')
                        return set_error(st, file, line, "StateDirectory= needs an absolute path");
                r = free_and_strdup(&c->state_dir, value);
        } else if (streq(key, "IndicatorLed")) {
                if (isempty(value)) {
                        strv_free(c->indicator_leds);
                        c->indicator_leds = NULL;
                        return 0;
                }
                r = strv_extend(&c->indicator_leds, value);
        } else if (streq(key, "MaxPendingRequestsPerConnection")) {
                return parse_unsigned_in(st, file, line, key, value, 1, 1024,
                                         &c->max_pending_per_connection);
        } else if (streq(key, "MaxPendingRequestsPerUser")) {
                return parse_unsigned_in(st, file, line, key, value, 1, 65536, &c->max_pending_per_uid);
        } else if (streq(key, "MaxTracksPerConnection")) {
                return parse_unsigned_in(st, file, line, key, value, 1, 1024, &c->max_tracks_per_connection);
        } else if (streq(key, "MaxTracksPerUser")) {
                return parse_unsigned_in(st, file, line, key, value, 1, 65536, &c->max_tracks_per_uid);
        } else if (streq(key, "MaxStreamsPerConnection")) {
                return parse_unsigned_in(st, file, line, key, value, 1, 4096, &c->max_streams_per_connection);
        } else if (streq(key, "MaxPoolMiBPerUser")) {
                return parse_unsigned_in(st, file, line, key, value, 16, 1048576, &c->max_pool_mib_per_user);
        } else {
                log_warning("%s:%u: unknown key %s=, ignoring.", file, line, key);
                return 0;
        }
        return r < 0 ? log_oom() : 0;
}

int config_load_text(Config *c, const char *text, size_t size, const char *filename, char **ret_error) {
        ParseState st = { .config = c, .error = ret_error };

        *ret_error = NULL;
        return ini_parse_text(text, size, filename, on_assignment, on_syntax_error, &st);
}

int config_load_file(Config *c, const char *path, char **ret_error) {
        _cleanup_free_ char *text = NULL;
        size_t size;
        int r;

        *ret_error = NULL;
        r = read_full_file(path, 1024 * 1024, &text, &size);
        if (r == -ENOENT)
                return r;
        if (r < 0) {
                if (asprintf(ret_error, "%s: %s", path,
                             r == -EBADFD ? "not a regular file" : strerror(-r)) < 0)
                        *ret_error = NULL;
                return r;
        }
        return config_load_text(c, text, size, path, ret_error);
}

int config_files_list(const char *const *dirs, char ***ret, char **ret_error) {
        _cleanup_strv_free_ char **files = NULL, **dropin_dirs = NULL, **dropins = NULL;
        const char *failed = NULL;
        int r;

        *ret_error = NULL;
        for (const char *const *dir = dirs; *dir; dir++) {
                _cleanup_free_ char *main_file = NULL, *dropin_dir = NULL;

                if (asprintf(&main_file, "%s/" CONFIG_FILE_NAME, *dir) < 0 ||
                    asprintf(&dropin_dir, "%s/" CONFIG_FILE_NAME ".d", *dir) < 0)
                        return -ENOMEM;
                if (access(main_file, F_OK) == 0 && !conf_file_is_masked(main_file) &&
                    strv_extend(&files, main_file) < 0)
                        return -ENOMEM;
                if (strv_extend(&dropin_dirs, dropin_dir) < 0)
                        return -ENOMEM;
        }
        if (dropin_dirs) {
                r = conf_files_list((const char *const *) dropin_dirs, &dropins, &failed);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        if (asprintf(ret_error, "%s: %s", failed ?: "?", strerror(-r)) < 0)
                                *ret_error = NULL;
                        return r;
                }
                for (char **d = dropins; *d; d++)
                        if (strv_extend(&files, *d) < 0)
                                return -ENOMEM;
        }
        if (!files && !(files = new0(char *, 1)))
                return -ENOMEM;
        *ret = TAKE_PTR(files);
        return 0;
}

int config_load_dirs(Config *c, const char *const *dirs, char **ret_error) {
        _cleanup_strv_free_ char **files = NULL;
        int r;

        r = config_files_list(dirs, &files, ret_error);
        if (r < 0)
                return r;
        for (char **f = files; *f; f++) {
                r = config_load_file(c, *f, ret_error);
                /* Gone between the listing and now: as if it had never been there. */
                if (r == -ENOENT)
                        continue;
                if (r < 0)
                        return r;
                log_debug("Read the settings in %s.", *f);
        }
        return 0;
}

int config_load(Config *c, const char *path, char **ret_error) {
        if (path)
                return config_load_file(c, path, ret_error);
        return config_load_dirs(c, (const char *const[]){ VENDOR_CONFIG_DIR, ADMIN_CONFIG_DIR, NULL },
                                ret_error);
}
