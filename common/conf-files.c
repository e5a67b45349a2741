/* Listing "*.conf" drop-ins over several directories, later directories masking earlier ones. */
#include "conf-files.h"

#include <dirent.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "util.h"

typedef struct ConfFile {
        char *name;
        char *path;     /* NULL when masked */
} ConfFile;

static bool is_conf_name(const char *name) {
        return name[0] != '.' && strlen(name) > strlen(".conf") && endswith(name, ".conf");
}

bool conf_file_is_masked(const char *path) {
        struct stat st;

        /* stat(), not lstat(): a symlink to /dev/null is the usual way to mask. */
        return stat(path, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3);
}

static int compare_files(const void *a, const void *b) {
        return strcmp(((const ConfFile *) a)->name, ((const ConfFile *) b)->name);
}

static void files_free(ConfFile *files, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(files[i].name);
                free(files[i].path);
        }
        free(files);
}

/* Add or replace the entry for name (a later directory replaces what an earlier one gave). */
static int files_put(ConfFile **files, size_t *n, const char *dir, const char *name) {
        _cleanup_free_ char *path = NULL;
        ConfFile *f = NULL;

        if (asprintf(&path, "%s/%s", dir, name) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < *n; i++)
                if (streq((*files)[i].name, name))
                        f = &(*files)[i];
        if (!f) {
                ConfFile *grown = realloc(*files, (*n + 1) * sizeof(ConfFile));

                if (!grown)
                        return -ENOMEM;
                *files = grown;
                f = &grown[*n];
                *f = (ConfFile){ .name = strdup(name) };
                if (!f->name)
                        return -ENOMEM;
                (*n)++;
        }
        free(f->path);
        f->path = conf_file_is_masked(path) ? NULL : TAKE_PTR(path);
        return 0;
}

static int list_dir(const char *dir, ConfFile **files, size_t *n) {
        DIR *d = opendir(dir);
        struct dirent *de;
        int r = 0;

        if (!d)
                return errno == ENOENT ? 0 : -errno;
        errno = 0;
        while (r >= 0 && (de = readdir(d))) {
                if (is_conf_name(de->d_name))
                        r = files_put(files, n, dir, de->d_name);
                errno = 0;
        }
        if (r >= 0 && errno > 0)
                r = -errno;
        closedir(d);
        return r;
}

int conf_files_list(const char *const *dirs, char ***ret, const char **ret_failed_dir) {
        ConfFile *files = NULL;
        _cleanup_strv_free_ char **paths = NULL;
        size_t n = 0;
        int r = 0;

        if (ret_failed_dir)
                *ret_failed_dir = NULL;
        for (const char *const *dir = dirs; *dir && r >= 0; dir++) {
                r = list_dir(*dir, &files, &n);
                if (r < 0 && r != -ENOMEM && ret_failed_dir)
                        *ret_failed_dir = *dir;
        }
        if (r >= 0) {
                if (n > 0)
                        qsort(files, n, sizeof(ConfFile), compare_files);
                paths = new0(char *, n + 1);
                if (!paths)
                        r = -ENOMEM;
                for (size_t i = 0, j = 0; r >= 0 && i < n; i++)
                        if (files[i].path)
                                paths[j++] = TAKE_PTR(files[i].path);
        }
        files_free(files, n);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(paths);
        return 0;
}
