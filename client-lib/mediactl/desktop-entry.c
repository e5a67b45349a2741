/* The app behind an app id as the desktop names it: Name= (in the user's language) and Icon= of
 * its .desktop file in $XDG_DATA_HOME and $XDG_DATA_DIRS. A Flatpak or app-scope id is its
 * desktop file id; a snap's files are "<snap>_*.desktop"; a host executable is matched to the
 * entry whose TryExec= or Exec= runs it. */
#include <dirent.h>
#include <limits.h>
#include <locale.h>
#include <stdlib.h>

#include "ini.h"
#include "mediactl.h"
#include "sanitize.h"

#define DESKTOP_FILE_MAX (256 * 1024)

static inline void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}

void app_info_done(AppInfo *info) {
        free(info->name);
        free(info->icon);
        free(info->desktop_id);
        *info = (AppInfo) {};
}

/* ---- the user's languages, as GLib's g_get_language_names() orders them ---- */

/* $LANGUAGE's list (when the messages locale is not C, as gettext has it), else the first of
 * LC_ALL, LC_MESSAGES, LANG; NULL when none names a language. */
static char **language_list(void) {
        const char *messages = setlocale(LC_MESSAGES, NULL), *language = getenv("LANGUAGE"), *single = NULL;
        _cleanup_strv_free_ char **l = NULL;

        if (!isempty(language) && !streq_ptr(messages, "C") && !streq_ptr(messages, "POSIX")) {
                _cleanup_free_ char *copy = strdup(language);
                char *save = NULL;

                if (!copy)
                        return NULL;
                for (char *w = strtok_r(copy, ":", &save); w; w = strtok_r(NULL, ":", &save))
                        if (strv_extend(&l, w) < 0)
                                return NULL;
                return TAKE_PTR(l);
        }
        for (char **var = STRV_MAKE("LC_ALL", "LC_MESSAGES", "LANG"); *var && isempty(single); var++)
                single = getenv(*var);
        if (isempty(single) || streq(single, "C") || streq(single, "POSIX"))
                return NULL;
        if (strv_extend(&l, single) < 0)
                return NULL;
        return TAKE_PTR(l);
}

/* How well a Name[locale] key's locale fits lang ("ko_KR.UTF-8@mod"), as the Desktop Entry
 * Specification ranks them: lang_COUNTRY@MODIFIER 4, lang_COUNTRY 3, lang@MODIFIER 2, lang 1;
 * 0 when it does not fit. */
static int locale_fit(const char *key_locale, const char *lang) {
        char language[64] = "", country[64] = "", modifier[64] = "", candidate[200];
        size_t n = strcspn(lang, "_.@");

        if (n == 0 || n >= sizeof language)
                return 0;
        memcpy(language, lang, n);
        if (lang[n] == '_') {
                size_t m = strcspn(lang + n + 1, ".@");

                if (m < sizeof country)
                        memcpy(country, lang + n + 1, m);
        }
        if (strchr(lang, '@'))
                snprintf(modifier, sizeof modifier, "%s", strchr(lang, '@') + 1);

        snprintf(candidate, sizeof candidate, "%s_%s@%s", language, country, modifier);
        if (*country && *modifier && streq(key_locale, candidate))
                return 4;
        snprintf(candidate, sizeof candidate, "%s_%s", language, country);
        if (*country && streq(key_locale, candidate))
                return 3;
        snprintf(candidate, sizeof candidate, "%s@%s", language, modifier);
        if (*modifier && streq(key_locale, candidate))
                return 2;
        return streq(key_locale, language) ? 1 : 0;
}

/* ---- one .desktop file ---- */

typedef struct DesktopEntry {
        char **languages;  /* the user's, best first */
        char *name;        /* the best Name= so far */
        int name_rank;     /* -1 none; 0 Name=; then languages' order and fit */
        char *icon, *exec, *try_exec;
        bool in_entry, hidden, application;
} DesktopEntry;

static void desktop_entry_done(DesktopEntry *e) {
        free(e->name);
        free(e->icon);
        free(e->exec);
        free(e->try_exec);
}

/* Name[xx]'s rank: languages earlier in the list beat later ones, a closer fit beats a looser one. */
static int name_rank(const DesktopEntry *e, const char *key_locale) {
        size_t n = strv_length(e->languages);

        for (size_t i = 0; i < n; i++) {
                int fit = locale_fit(key_locale, e->languages[i]);

                if (fit > 0)
                        return (int) ((n - i) * 8) + fit;
        }
        return -1;
}

static int on_desktop_key(const char *filename, unsigned line, const char *section, const char *key,
                          const char *value, void *userdata) {
        DesktopEntry *e = userdata;
        const char *locale;

        if (!key) {
                e->in_entry = streq_ptr(section, "Desktop Entry");
                return 0;
        }
        if (!e->in_entry)
                return 0;
        if (streq(key, "Name") && e->name_rank < 0) {
                e->name_rank = 0;
                return free_and_strdup(&e->name, value);
        }
        if ((locale = startswith(key, "Name[")) && endswith(locale, "]")) {
                _cleanup_free_ char *l = strndup(locale, strlen(locale) - 1);
                int rank = l ? name_rank(e, l) : -1;

                if (rank > e->name_rank) {
                        e->name_rank = rank;
                        return free_and_strdup(&e->name, value);
                }
                return 0;
        }
        if (streq(key, "Icon"))
                return free_and_strdup(&e->icon, value);
        if (streq(key, "Exec"))
                return free_and_strdup(&e->exec, value);
        if (streq(key, "TryExec"))
                return free_and_strdup(&e->try_exec, value);
        if (streq(key, "Hidden"))
                e->hidden = streq(value, "true");
        else if (streq(key, "Type"))
                e->application = streq(value, "Application");
        return 0;
}

static void ignore_syntax_error(const char *filename, unsigned line, const char *message, void *userdata) {
}

/* 0 and the entry; -ENOENT for a file that is no usable application entry. */
static int desktop_entry_load(const char *path, char **languages, DesktopEntry *ret) {
        DesktopEntry e = { .languages = languages, .name_rank = -1 };
        int r;

        r = ini_parse_file(path, DESKTOP_FILE_MAX, on_desktop_key, ignore_syntax_error, &e);
        if (r < 0 || e.hidden || !e.application || isempty(e.name)) {
                desktop_entry_done(&e);
                return r < 0 ? r : -ENOENT;
        }
        *ret = e;
        return 0;
}

/* ---- matching a host executable ---- */

/* The program of an Exec= line: its first word, unquoted, after an "env VAR=value ..." prefix. */
static char *exec_program(const char *exec) {
        _cleanup_free_ char *copy = strdup(strempty(exec));
        char *p = copy, *word;

        if (!copy)
                return NULL;
        for (;;) {
                p += strspn(p, " \t");
                if (*p == '"') {
                        word = ++p;
                        p += strcspn(p, "\"");
                } else {
                        word = p;
                        p += strcspn(p, " \t");
                }
                if (*p)
                        *p++ = '\0';
                if (streq(word, "env") || (strchr(word, '=') && word[0] != '/'))
                        continue;
                return isempty(word) ? NULL : strdup(word);
        }
}

/* Whether program (a path, or a name looked up in $PATH) is the executable path. */
static bool program_is(const char *program, const char *path) {
        _cleanup_free_ char *path_copy = NULL;
        char resolved[PATH_MAX], candidate[PATH_MAX];
        char *save = NULL;

        if (!program)
                return false;
        if (program[0] == '/')
                return realpath(program, resolved) && streq(resolved, path);
        path_copy = strdup(getenv("PATH") ?: "/usr/local/bin:/usr/bin:/bin");
        if (!path_copy)
                return false;
        for (char *dir = strtok_r(path_copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
                if ((size_t) snprintf(candidate, sizeof candidate, "%s/%s", dir, program) >= sizeof candidate)
                        continue;
                if (access(candidate, X_OK) == 0)
                        return realpath(candidate, resolved) && streq(resolved, path);
        }
        return false;
}

static bool entry_runs(const DesktopEntry *e, const char *path) {
        _cleanup_free_ char *program = exec_program(e->exec);

        return program_is(e->try_exec, path) || program_is(program, path);
}

/* ---- looking in the data directories ---- */

/* $XDG_DATA_HOME/applications, then each of $XDG_DATA_DIRS, as the specification orders them. */
static char **application_dirs(void) {
        const char *home = getenv("HOME"), *data_home = getenv("XDG_DATA_HOME"), *data_dirs = getenv("XDG_DATA_DIRS");
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *dirs = NULL, *first = NULL;
        char *save = NULL;

        if (!isempty(data_home) ? asprintf(&first, "%s/applications", data_home) < 0 :
            !isempty(home) ? asprintf(&first, "%s/.local/share/applications", home) < 0 : false)
                return NULL;
        if (first && strv_extend(&l, first) < 0)
                return NULL;
        dirs = strdup(isempty(data_dirs) ? "/usr/local/share:/usr/share" : data_dirs);
        if (!dirs)
                return NULL;
        for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
                _cleanup_free_ char *a = NULL;

                if (asprintf(&a, "%s/applications", d) < 0 || strv_extend(&l, a) < 0)
                        return NULL;
        }
        return TAKE_PTR(l);
}

typedef enum MatchHow {
        MATCH_FILE_ID,     /* the file is <id>.desktop */
        MATCH_FILE_PREFIX, /* the file starts with <prefix> (snaps) */
        MATCH_EXECUTABLE,  /* the entry runs <path> */
} MatchHow;

/* The first entry in dir that matches; 1 found, 0 not. */
static int find_in_dir(const char *dir, MatchHow how, const char *what, char **languages, DesktopEntry *ret,
                       char **ret_id) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;

        if (how == MATCH_FILE_ID) {
                _cleanup_free_ char *path = NULL, *id = NULL;

                if (asprintf(&path, "%s/%s.desktop", dir, what) < 0 || asprintf(&id, "%s.desktop", what) < 0)
                        return -ENOMEM;
                if (desktop_entry_load(path, languages, ret) < 0)
                        return 0;
                *ret_id = TAKE_PTR(id);
                return 1;
        }
        d = opendir(dir);
        if (!d)
                return 0;
        while ((de = readdir(d))) {
                _cleanup_free_ char *path = NULL;
                DesktopEntry e;

                if (de->d_name[0] == '.' || !endswith(de->d_name, ".desktop"))
                        continue;
                if (how == MATCH_FILE_PREFIX && !startswith(de->d_name, what))
                        continue;
                if (asprintf(&path, "%s/%s", dir, de->d_name) < 0)
                        return -ENOMEM;
                if (desktop_entry_load(path, languages, &e) < 0)
                        continue;
                if (how == MATCH_EXECUTABLE && !entry_runs(&e, what)) {
                        desktop_entry_done(&e);
                        continue;
                }
                *ret_id = strdup(de->d_name);
                if (!*ret_id) {
                        desktop_entry_done(&e);
                        return -ENOMEM;
                }
                *ret = e;
                return 1;
        }
        return 0;
}

/* How to look for app_id's entry: a host path, a snap name prefix, or a desktop file id. */
static int match_for(const char *app_id, MatchHow *ret_how, char **ret_what) {
        const char *rest;
        char *what;

        if ((rest = startswith(app_id, "host:"))) {
                *ret_how = MATCH_EXECUTABLE;
                what = strdup(rest);
        } else if ((rest = startswith(app_id, "snap."))) {
                *ret_how = MATCH_FILE_PREFIX;
                if (asprintf(&what, "%.*s_", (int) strcspn(rest, "_"), rest) < 0)
                        what = NULL;
        } else {
                *ret_how = MATCH_FILE_ID;
                what = strdup(app_id);
        }
        if (!what)
                return -ENOMEM;
        *ret_what = what;
        return 0;
}

/* When no entry names it: a host program by its file name, any other id as it is. */
static int app_info_fallback(const char *app_id, AppInfo *ret) {
        const char *path = startswith(app_id, "host:"), *slash = path ? strrchr(path, '/') : NULL;

        *ret = (AppInfo) { .name = sanitize_text(slash && slash[1] ? slash + 1 : app_id, SANITIZE_LABEL_MAX_CHARS) };
        return ret->name ? 0 : -ENOMEM;
}

int app_info_lookup(const char *app_id, AppInfo *ret) {
        _cleanup_strv_free_ char **dirs = NULL, **languages = NULL;
        _cleanup_free_ char *what = NULL, *id = NULL;
        DesktopEntry e = {};
        MatchHow how;
        int r = 0;

        if (isempty(app_id) || match_for(app_id, &how, &what) < 0)
                return app_info_fallback(strempty(app_id), ret);
        dirs = application_dirs();
        languages = language_list();
        for (char **d = dirs; d && *d && r == 0; d++)
                r = find_in_dir(*d, how, what, languages, &e, &id);
        if (r <= 0)
                return app_info_fallback(app_id, ret);

        /* What the file says is shown to a person deciding: it goes through the sanitizer too. */
        *ret = (AppInfo) {
                .name = sanitize_text(e.name, SANITIZE_LABEL_MAX_CHARS),
                .icon = e.icon ? sanitize_text(e.icon, SANITIZE_LABEL_MAX_CHARS) : NULL,
                .desktop_id = TAKE_PTR(id),
        };
        desktop_entry_done(&e);
        if (!ret->name || (e.icon && !ret->icon)) {
                app_info_done(ret);
                return -ENOMEM;
        }
        return 1;
}
