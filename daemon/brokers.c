/* The trusted-broker list: [Brokers] Apps= of the admin policy directory, read file by file so
 * that a broken file grants nothing while the others still count. */
#include "brokers.h"

#include <ctype.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "caller.h"
#include "ini.h"
#include "log.h"

struct Brokers {
        char **apps;
};

/* What one file contributes, kept apart until the whole file has parsed. */
typedef struct BrokersFile {
        char **apps;
        bool logged; /* the failure was already reported with its line */
} BrokersFile;

static void on_syntax_error(const char *filename, unsigned line, const char *message,
                            void *userdata) {
        BrokersFile *f = userdata;

        log_error("%s:%u: %s", filename, line, message);
        f->logged = true;
}

static int on_assignment(const char *filename, unsigned line, const char *section, const char *key,
                         const char *value, void *userdata) {
        BrokersFile *f = userdata;
        const char *p = value;
        int r;

        if (!key)
                return 0; /* a section header */
        if (!section) {
                log_error("%s:%u: \"%s=\" outside of any section.", filename, line, key);
                f->logged = true;
                return -EINVAL;
        }
        if (!streq(section, "Brokers"))
                return 0; /* [Rule] and others belong to the policy loader */
        if (!streq(key, "Apps")) {
                log_error("%s:%u: unknown key \"%s\" in [Brokers].", filename, line, key);
                f->logged = true;
                return -EINVAL;
        }

        for (;;) {
                _cleanup_free_ char *word = NULL;
                size_t len;

                while (isspace((unsigned char) *p))
                        p++;
                if (!*p)
                        break;
                for (len = 0; p[len] && !isspace((unsigned char) p[len]); len++)
                        ;
                word = strndup(p, len);
                if (!word)
                        return -ENOMEM;
                p += len;

                if (!app_id_is_valid(word)) {
                        log_error("%s:%u: \"%s\" is not an app id.", filename, line, word);
                        f->logged = true;
                        return -EINVAL;
                }
                if (strv_contains(f->apps, word))
                        continue;
                r = strv_extend(&f->apps, word);
                if (r < 0)
                        return r;
        }
        return 0;
}

static bool is_conf_file_name(const char *name) {
        size_t len = strlen(name);

        return name[0] != '.' && len > 5 && streq(name + len - 5, ".conf");
}

static int filter_conf(const struct dirent *de) {
        return is_conf_file_name(de->d_name);
}

static int compare_names(const struct dirent **a, const struct dirent **b) {
        return strcmp((*a)->d_name, (*b)->d_name); /* lexical, whatever the locale */
}

/* systemd's convention: a drop-in that is a symlink to /dev/null is masked, not broken. */
static bool is_masked(const char *path) {
        struct stat st;

        return stat(path, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3);
}

static int load_file(Brokers *b, const char *path) {
        BrokersFile f = {};
        int r;

        if (is_masked(path)) {
                log_debug("%s is masked.", path);
                return 0;
        }

        r = ini_parse_file(path, BROKERS_FILE_MAX, on_assignment, on_syntax_error, &f);
        if (r == -ENOMEM)
                goto finish;
        if (r < 0) {
                if (r == -EBADFD)
                        log_error("%s: not a regular file.", path);
                else if (!f.logged)
                        log_error_errno(r, "%s: cannot read: %m", path);
                log_warning("%s: ignoring the brokers of this file.", path);
                r = 0;
                goto finish;
        }

        for (char **i = f.apps; i && *i; i++) {
                if (strv_contains(b->apps, *i))
                        continue;
                r = strv_extend(&b->apps, *i);
                if (r < 0)
                        goto finish;
        }
        r = 0;
finish:
        strv_free(f.apps);
        return r;
}

int brokers_load_dir(const char *dir, Brokers **ret) {
        _cleanup_(brokers_freep) Brokers *b = NULL;
        struct dirent **entries = NULL;
        int n, r = 0;

        if (!dir || !ret)
                return -EINVAL;

        b = calloc(1, sizeof *b);
        if (!b)
                return -ENOMEM;

        n = scandir(dir, &entries, filter_conf, compare_names);
        if (n < 0) {
                if (errno == ENOENT) {
                        log_debug("%s does not exist: no trusted brokers.", dir);
                        *ret = TAKE_PTR(b);
                        return 0;
                }
                return log_error_errno(errno, "Cannot list %s: %m", dir);
        }

        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *path = NULL;

                if (r >= 0) {
                        if (asprintf(&path, "%s/%s", dir, entries[i]->d_name) < 0)
                                r = -ENOMEM;
                        else
                                r = load_file(b, path);
                }
                free(entries[i]);
        }
        free(entries);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(b);
        return 0;
}

bool brokers_contains(const Brokers *b, const char *app_id) {
        if (!b || !app_id)
                return false;
        return strv_contains(b->apps, app_id);
}

size_t brokers_count(const Brokers *b) {
        return b ? strv_length(b->apps) : 0;
}

char * const *brokers_list(const Brokers *b) {
        static char *const empty[] = { NULL };

        return b && b->apps ? b->apps : empty;
}

Brokers *brokers_free(Brokers *b) {
        if (!b)
                return NULL;
        strv_free(b->apps);
        free(b);
        return NULL;
}
