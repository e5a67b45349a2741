/* The grant store's file in the state directory: reading it at start, writing it (on the worker
 * thread) after each change, and setting a damaged one aside.
 *
 * Timed grants and the wall clock. In memory a deadline is on CLOCK_BOOTTIME, which counts
 * suspend and ignores changes of the wall clock, so while the daemon runs a five-minute grant
 * lasts five minutes of real time, whatever the clock does. CLOCK_BOOTTIME starts again at each
 * boot, so the file holds CLOCK_REALTIME deadlines plus, in its "saved" line, the realtime and
 * boottime of the moment it was written and the boot id. When the file is read again:
 *
 *     left     = deadline_realtime - saved_realtime        (time the grant had when written)
 *     elapsed  = max(0, now_realtime - saved_realtime,
 *                    now_boottime - saved_boottime if the boot id is the same)
 *     deadline = now_boottime + (left - elapsed), or expired if elapsed >= left
 *
 * so a loaded deadline is never later than the realtime deadline implies (elapsed counts at least
 * the wall clock), and never later than what was left when the file was written: a wall clock
 * set back a year while the daemon was down does not give a grant another year. In the same boot
 * the boottime elapsed is exact even when the wall clock jumped. Across a reboot with a clock
 * set back, the time the machine was off cannot be known, and the grant gets at most what it
 * had left when written. A clock set forward while the daemon was down ends grants early:
 * failing towards a new prompt, never towards access. */
#include "grants.h"

#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>

#include "durable-write.h"
#include "grants-file.h"
#include "grants-table.h"
#include "log.h"
#include "util.h"

static int compare_records(const void *x, const void *y) {
        const GrantRecord *a = x, *b = y;
        int c;

        if (a->uid != b->uid)
                return a->uid < b->uid ? -1 : 1;
        c = strcmp(a->app_id, b->app_id);
        if (c)
                return c;
        c = strcmp(strempty(a->origin), strempty(b->origin));
        if (c)
                return c;
        if (!a->origin != !b->origin)
                return a->origin ? 1 : -1;
        if (a->kind != b->kind)
                return a->kind < b->kind ? -1 : 1;
        if (!a->devices || !b->devices)
                return (a->devices ? 1 : 0) - (b->devices ? 1 : 0);
        for (size_t i = 0;; i++) {
                if (!a->devices[i] || !b->devices[i])
                        return (a->devices[i] ? 1 : 0) - (b->devices[i] ? 1 : 0);
                c = strcmp(a->devices[i], b->devices[i]);
                if (c)
                        return c;
        }
}

/* The persistent, unexpired grants as file records (borrowing the store's strings), sorted so
 * that the same store always gives the same file. */
static int collect_records(GrantStore *s, uint64_t now_rt, uint64_t now_boot, GrantRecord **ret, size_t *ret_n) {
        _cleanup_free_ GrantRecord *records = NULL;
        HashmapIter it = {};
        GrantBucket *b;
        size_t n = 0;

        records = calloc(MAX(s->n_grants, 1u), sizeof(GrantRecord));
        if (!records)
                return -ENOMEM;
        while (hashmap_iterate(s->buckets, &it, (void **) &b, NULL))
                for (Grant *g = b->grants; g; g = g->next) {
                        if (g->owner || grant_expired(g, now_boot))
                                continue;
                        records[n++] = (GrantRecord){
                                .uid = b->uid,
                                .kind = b->kind,
                                .decision = g->decision,
                                .expires_realtime_usec = g->expires ? grant_add_sat(now_rt, g->expires - now_boot) : 0,
                                .app_id = b->app_id,
                                .origin = b->origin,
                                .devices = g->devices,
                        };
                }
        qsort(records, n, sizeof(GrantRecord), compare_records);
        *ret = TAKE_PTR(records);
        *ret_n = n;
        return 0;
}

int grant_store_write_file(GrantStore *s, GrantStore *content, uint64_t now_realtime, uint64_t now_boottime) {
        _cleanup_free_ GrantRecord *records = NULL;
        _cleanup_free_ char *text = NULL;
        GrantFileHeader header = {
                .saved_realtime_usec = now_realtime,
                .saved_boottime_usec = now_boottime,
        };
        size_t n, size;
        int r;

        if (s->dir_fd < 0)
                return -EBADF;
        memcpy(header.boot_id, s->boot_id, sizeof header.boot_id);
        r = collect_records(content, now_realtime, now_boottime, &records, &n);
        if (r < 0)
                return r;
        r = grant_file_serialize(&header, records, n, &text, &size);
        if (r < 0)
                return r;
        r = durable_write_at(s->dir_fd, GRANTS_FILE, text, size, 0600, 0);
        /* -EDQUOT from the store means the per-uid limit; a disk quota is a full disk to us. */
        return r == -EDQUOT ? -ENOSPC : r;
}

int grant_store_save(GrantStore *s) {
        int r;

        if (!s->dir)
                return 0;
        if (s->batch)
                return -EBUSY; /* the worker thread writes the file */
        if (s->load_error < 0)
                return log_error_errno(EIO, "Not writing %s/%s: it could not be read.", s->dir, GRANTS_FILE);
        r = grant_store_write_file(s, s, grant_store_now(s, CLOCK_REALTIME), grant_store_now(s, CLOCK_BOOTTIME));
        if (r < 0)
                return log_error_errno(r, "Failed to write %s/%s: %m", s->dir, GRANTS_FILE);
        return 0;
}

/* The boottime deadline of a loaded timed grant, by the rule at the top of this file; 0 when
 * it has expired. */
static uint64_t loaded_deadline(const GrantFileHeader *h, const char *boot_id, uint64_t expires_rt,
                                uint64_t now_rt, uint64_t now_boot) {
        uint64_t left, elapsed = 0;

        if (expires_rt <= h->saved_realtime_usec)
                return 0;
        left = expires_rt - h->saved_realtime_usec;
        if (now_rt > h->saved_realtime_usec)
                elapsed = now_rt - h->saved_realtime_usec;
        if (!isempty(h->boot_id) && streq(h->boot_id, boot_id) && now_boot >= h->saved_boottime_usec)
                elapsed = MAX(elapsed, now_boot - h->saved_boottime_usec);
        if (elapsed >= left)
                return 0;
        return grant_add_sat(now_boot, left - elapsed) ?: 1;
}

static bool is_damage(int r) {
        return r == -EBADMSG || r == -EPROTONOSUPPORT || r == -EFBIG;
}

static int read_grants_file(int dir_fd, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = -1;
        struct stat st;

        fd = openat(dir_fd, GRANTS_FILE, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK);
        if (fd < 0)
                return errno == ELOOP ? -EBADMSG : -errno; /* a symlink there is not our file */
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADMSG;
        return read_full_fd(fd, GRANT_FILE_SIZE_MAX, ret, ret_size);
}

/* Keep a damaged file for inspection; the store starts empty and the next change writes a new
 * file. */
static int set_aside(GrantStore *s, int error, unsigned line) {
        char name[sizeof GRANTS_FILE + 64];
        int r;

        r = durable_set_aside(s->dir_fd, GRANTS_FILE, grant_store_now(s, CLOCK_REALTIME), name, sizeof name);
        if (r < 0)
                log_error_errno(r, "Failed to set the damaged %s/%s aside: %m", s->dir, GRANTS_FILE);
        log_error_errno(error, "The grants file %s/%s is %s (line %u): no grants are in force. %s%s%s", s->dir,
                        GRANTS_FILE, error == -EPROTONOSUPPORT ? "of another version" : "damaged or truncated", line,
                        r < 0 ? "" : "It was kept as ", r < 0 ? "" : name, r < 0 ? "" : ".");
        return 1;
}

/* Store what was read, all or nothing. */
static int load_records(GrantStore *s, const GrantFileHeader *header, GrantRecord *records, size_t n) {
        uint64_t now_rt = grant_store_now(s, CLOCK_REALTIME), now_boot = grant_store_now(s, CLOCK_BOOTTIME);
        size_t loaded = 0;
        int r;

        for (size_t i = 0; i < n; i++) {
                GrantRecord *g = &records[i];
                uint64_t expires = 0;
                Grant *added;

                if (g->expires_realtime_usec) {
                        expires = loaded_deadline(header, s->boot_id, g->expires_realtime_usec, now_rt, now_boot);
                        if (expires == 0)
                                continue; /* ran out while we were away */
                }
                r = grant_store_put(s, g->uid, g->app_id, g->origin, g->kind, g->devices, g->decision, expires, NULL,
                                    0, &added);
                if (r < 0) {
                        grant_store_drop_persistent(s);
                        return r;
                }
                loaded++;
        }
        log_debug("Loaded %zu grant(s) from %s/%s.", loaded, s->dir, GRANTS_FILE);
        return 0;
}

int grant_store_load(GrantStore *s, const char *dir) {
        if (s->batch || s->queued)
                return -EBUSY;
        if (free_and_strdup(&s->dir, dir) < 0)
                return log_oom();
        return grant_store_read_file(s);
}

int grant_store_read_file(GrantStore *s) {
        _cleanup_free_ char *text = NULL;
        GrantRecord *records = NULL;
        GrantFileHeader header;
        const char *dir = s->dir;
        size_t size = 0, n = 0;
        unsigned line = 0;
        int r;

        /* Whatever happens below, the old persistent grants are gone: the file is the truth. */
        grant_store_drop_persistent(s);
        s->shadow = grant_store_free(s->shadow);
        s->dir_fd = safe_close(s->dir_fd);
        s->load_error = 0;

        s->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s->dir_fd < 0) {
                s->load_error = -errno;
                return log_error_errno(s->load_error, "Failed to open the state directory %s: %m", dir);
        }
        (void) durable_write_remove_leftovers(s->dir_fd, GRANTS_FILE);
        r = read_grants_file(s->dir_fd, &text, &size);
        if (r == -ENOENT) {
                log_debug("No %s/%s yet: no grants stored.", dir, GRANTS_FILE);
                return 0;
        }
        if (r >= 0)
                r = grant_file_parse(text, size, &header, &records, &n, &line);
        if (is_damage(r))
                return set_aside(s, r, line);
        if (r >= 0) {
                r = load_records(s, &header, records, n);
                grant_records_free(records, n);
        }
        if (r < 0) {
                s->load_error = r;
                return log_error_errno(r, "Failed to read %s/%s, no grants are in force: %m", dir, GRANTS_FILE);
        }
        return 0;
}
