/* Durable replacement of a file: temporary file, fsync, rename, fsync of the directory, with the
 * old version kept as a second link until the new one is known to be on disk. Damaged files are
 * renamed aside, never replaced. */
#include "durable-write.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "util.h"

/* ".NAME.tmp-XXXXXXXXXXXX" while written, ".NAME.old-XXXXXXXXXXXX" for the old version. */
#define RANDOM_CHARS 12
#define TEMP_NAME_MAX (NAME_MAX + 1)

static int random_name(const char *name, const char *what, char ret[static TEMP_NAME_MAX]) {
        static const char letters[] = "abcdefghijklmnopqrstuvwxyz0123456789";
        uint8_t rnd[RANDOM_CHARS];
        char suffix[RANDOM_CHARS + 1];
        int n;

        if (getrandom(rnd, sizeof rnd, 0) != (ssize_t) sizeof rnd)
                return errno > 0 ? -errno : -EIO;
        for (size_t i = 0; i < sizeof rnd; i++)
                suffix[i] = letters[rnd[i] % (sizeof letters - 1)];
        suffix[RANDOM_CHARS] = 0;
        n = snprintf(ret, TEMP_NAME_MAX, ".%s.%s-%s", name, what, suffix);
        return n < 0 || n >= TEMP_NAME_MAX ? -ENAMETOOLONG : 0;
}

static int write_all(int fd, const uint8_t *p, size_t size) {
        while (size > 0) {
                ssize_t k = write(fd, p, size);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        return -EIO;
                p += k;
                size -= (size_t) k;
        }
        return 0;
}

/* The new content, whole and synced, under a temporary name. */
static int write_temporary(int dir_fd, const char *name, const void *data, size_t size, mode_t mode,
                           char tmp[static TEMP_NAME_MAX]) {
        _cleanup_close_ int fd = -1;
        int r;

        for (int attempt = 0; fd < 0; attempt++) {
                r = random_name(name, "tmp", tmp);
                if (r < 0)
                        return r;
                fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, mode);
                if (fd < 0 && (errno != EEXIST || attempt >= 16))
                        return -errno;
        }
        r = write_all(fd, data, size);
        if (r >= 0 && fsync(fd) < 0)
                r = -errno;
        /* close() can report a delayed write error on some file systems. */
        if (r >= 0 && close(TAKE_FD(fd)) < 0)
                r = -errno;
        if (r < 0)
                (void) unlinkat(dir_fd, tmp, 0);
        return r;
}

/* A second link to the current file, so that it can be put back; "" when there is none. */
static int link_old_version(int dir_fd, const char *name, char old[static TEMP_NAME_MAX]) {
        for (int attempt = 0;; attempt++) {
                int r = random_name(name, "old", old);

                if (r < 0)
                        return r;
                if (linkat(dir_fd, name, dir_fd, old, 0) >= 0)
                        return 0;
                if (errno == ENOENT) {
                        old[0] = 0;
                        return 0;
                }
                if (errno != EEXIST || attempt >= 16)
                        return -errno;
        }
}

int durable_write_at(int dir_fd, const char *name, const void *data, size_t size, mode_t mode,
                     DurableWriteFlags flags) {
        char tmp[TEMP_NAME_MAX], old[TEMP_NAME_MAX] = "";
        int r;

        if (dir_fd < 0 || isempty(name) || strchr(name, '/') || (size > 0 && !data))
                return -EINVAL;

        r = write_temporary(dir_fd, name, data, size, mode, tmp);
        if (r < 0)
                return r;

        if (flags & DURABLE_WRITE_NOREPLACE)
                r = renameat2(dir_fd, tmp, dir_fd, name, RENAME_NOREPLACE) < 0 ? -errno : 0;
        else {
                r = link_old_version(dir_fd, name, old);
                /* The rename is the moment the new version replaces the old one, whole. */
                if (r >= 0 && renameat(dir_fd, tmp, dir_fd, name) < 0)
                        r = -errno;
        }
        if (r < 0) {
                (void) unlinkat(dir_fd, tmp, 0);
                if (old[0])
                        (void) unlinkat(dir_fd, old, 0);
                return r;
        }

        /* Make the rename itself durable. If that fails nobody can say which version a crash
         * would leave: put the old one back, so that what is visible is what the caller keeps. */
        if (fsync(dir_fd) < 0) {
                r = -errno;
                if (old[0])
                        (void) renameat(dir_fd, old, dir_fd, name);
                else
                        (void) unlinkat(dir_fd, name, 0);
                (void) fsync(dir_fd);
                return r;
        }
        if (old[0])
                (void) unlinkat(dir_fd, old, 0);
        return 0;
}

static bool is_leftover(const char *entry, const char *name) {
        const char *p, *random;

        if (entry[0] != '.' || !(p = startswith(entry + 1, name)) || *p != '.')
                return false;
        random = startswith(p + 1, "tmp-") ?: startswith(p + 1, "old-");
        return random && strlen(random) == RANDOM_CHARS;
}

int durable_write_remove_leftovers(int dir_fd, const char *name) {
        _cleanup_close_ int fd = -1;
        struct dirent *de;
        DIR *d;
        int n = 0;

        fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        d = fdopendir(fd);
        if (!d)
                return -errno;
        TAKE_FD(fd);
        while ((de = readdir(d)))
                if (is_leftover(de->d_name, name) && unlinkat(dir_fd, de->d_name, 0) >= 0)
                        n++;
        closedir(d);
        return n;
}

int durable_set_aside(int dir_fd, const char *name, uint64_t now_realtime_usec, char *ret_name, size_t size) {
        time_t t = (time_t) (now_realtime_usec / 1000000u);
        char stamp[32];
        struct tm tm;

        if (!gmtime_r(&t, &tm) || strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm) == 0)
                snprintf(stamp, sizeof stamp, "%" PRIu64, (uint64_t) t);
        for (unsigned i = 0; i < 1000; i++) {
                int n = i == 0 ? snprintf(ret_name, size, "%s.corrupt-%s", name, stamp)
                               : snprintf(ret_name, size, "%s.corrupt-%s-%u", name, stamp, i);

                if (n < 0 || (size_t) n >= size)
                        return -ENAMETOOLONG;
                if (renameat2(dir_fd, name, dir_fd, ret_name, RENAME_NOREPLACE) >= 0) {
                        (void) fsync(dir_fd);
                        return 0;
                }
                if (errno != EEXIST)
                        return -errno;
        }
        return -EEXIST;
}
