/* The daemon's settings: defaults, the mediagated.conf files (INI, section [Daemon]) and the
 * command line, in that order of precedence (later wins). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum RevealConstraintName {
        REVEAL_CONSTRAINT_EXPOSED, /* only to callers with exposure (the spec's privacy rule) */
        REVEAL_CONSTRAINT_ALWAYS,  /* browser-compatible test suites */
} RevealConstraintName;

/* Backends=, as a bit set. */
enum {
        BACKEND_V4L2 = 1u << 0,
        BACKEND_ALSA = 1u << 1,
        BACKEND_SYNTHETIC = 1u << 2,
};

typedef struct Config {
        unsigned backends;         /* BACKEND_* */
        bool backends_set;         /* Backends= given: synthetic only when listed */
        char *synthetic_devices;   /* file, NULL = built-in defaults */
        uint64_t prompt_timeout_usec; /* 0 = wait until answered */
        RevealConstraintName reveal_constraint_name;
        char *policy_dir;
        char *state_dir;
        char **indicator_leds;     /* "camera:/sys/.../brightness" or a path for both kinds */
        unsigned max_pending_per_connection;
        unsigned max_pending_per_uid;
        unsigned max_tracks_per_connection; /* live tracks */
        unsigned max_tracks_per_uid;
        unsigned max_streams_per_connection; /* open streams (Track.Open/OpenStream) */
        unsigned max_pool_mib_per_user;      /* frame pools the streams of one uid hold */
} Config;

/* Where the settings live: the vendor's defaults (the package's, never edited) and the admin's.
 * VENDORCONFDIR is /usr/lib/mediagate unless the build says otherwise (vendorconfdir=). */
#define VENDOR_CONFIG_DIR VENDORCONFDIR
#define ADMIN_CONFIG_DIR SYSCONFDIR "/mediagate"
#define CONFIG_FILE_NAME "mediagated.conf"
#define DEFAULT_POLICY_DIR SYSCONFDIR "/mediagate/policy.d"
#define DEFAULT_STATE_DIR LOCALSTATEDIR "/lib/mediagate"

void config_init(Config *c);
void config_done(Config *c);

/* The daemon's configuration: exactly the file `path` when one is given (--config; -ENOENT when
 * it does not exist), else config_load_dirs() of VENDOR_CONFIG_DIR and ADMIN_CONFIG_DIR. */
int config_load(Config *c, const char *path, char **ret_error);

/* The configuration spread over dirs (NULL-terminated, lowest precedence first), read in this
 * order, each later assignment overriding an earlier one: DIR/mediagated.conf of each directory,
 * then the drop-ins DIR/mediagated.conf.d/NAME.conf of all of them sorted by NAME, where a
 * drop-in in a later directory masks the one of the same NAME in an earlier directory (and one
 * linked to /dev/null masks it without replacing it). Missing files and directories are fine. */
int config_load_dirs(Config *c, const char *const *dirs, char **ret_error);
/* The files config_load_dirs() reads, in order (for logging and `mediactl`). */
int config_files_list(const char *const *dirs, char ***ret, char **ret_error);

/* Parse a configuration file into c. Unknown keys and sections are warned about; a bad
 * value is an error "FILE:LINE: ..." (returned in *ret_error). -ENOENT when the file does
 * not exist (the caller decides whether that matters). */
int config_load_file(Config *c, const char *path, char **ret_error);
int config_load_text(Config *c, const char *text, size_t size, const char *filename, char **ret_error);

/* "v4l2 alsa synthetic" → bits. */
int config_parse_backends(const char *s, unsigned *ret);
