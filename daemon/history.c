/* The access history: events appended to a bounded pair of files in the state directory
 * (format and rotation in history.h) and sent to the journal with a MESSAGE_ID each. */
#include "history.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <sys/stat.h>

#include "durable-write.h"
#include "grants-file.h"
#include "grants.h"
#include "log.h"
#include "mediagate-names.h"
#include "util.h"

/* Fixed fields before the KEY=VALUE pairs. */
#define HISTORY_FIELDS 8
/* A file is read whole; one much larger than the limit was not written by us. */
#define HISTORY_READ_MAX(h) ((h)->size_max * 2 + 1024 * 1024)

struct History {
        int dir_fd;
        int fd; /* history, O_APPEND */
        char *dir;
        uint64_t size;     /* of the current file, as far as we wrote it */
        uint64_t size_max;
        bool need_newline; /* the last write was cut short: start the next line fresh */
        bool no_journal;
};

static const char *const event_table[_HISTORY_EVENT_MAX] = {
        [HISTORY_PROMPTED] = "prompted",
        [HISTORY_GRANTED] = "granted",
        [HISTORY_DENIED] = "denied",
        [HISTORY_STARTED] = "started",
        [HISTORY_STOPPED] = "stopped",
        [HISTORY_REVOKED] = "revoked",
};

static const char *const message_ids[_HISTORY_EVENT_MAX] = {
        [HISTORY_PROMPTED] = MG_MESSAGE_ACCESS_PROMPTED,
        [HISTORY_GRANTED] = MG_MESSAGE_ACCESS_GRANTED,
        [HISTORY_DENIED] = MG_MESSAGE_ACCESS_DENIED,
        [HISTORY_STARTED] = MG_MESSAGE_ACCESS_STARTED,
        [HISTORY_STOPPED] = MG_MESSAGE_ACCESS_STOPPED,
        [HISTORY_REVOKED] = MG_MESSAGE_ACCESS_REVOKED,
};

const char *history_event_type_to_string(HistoryEventType t) {
        if (t < 0 || t >= _HISTORY_EVENT_MAX)
                return NULL;
        return event_table[t];
}

HistoryEventType history_event_type_from_string(const char *s) {
        for (HistoryEventType t = 0; t < _HISTORY_EVENT_MAX; t++)
                if (streq_ptr(s, event_table[t]))
                        return t;
        return _HISTORY_EVENT_INVALID;
}

static const char header[] = HISTORY_MAGIC " 1\n";

static int write_all(int fd, const char *p, size_t size, size_t *ret_written) {
        size_t done = 0;

        while (done < size) {
                ssize_t k = write(fd, p + done, size - done);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        *ret_written = done;
                        return -errno;
                }
                done += (size_t) k;
        }
        *ret_written = done;
        return 0;
}

static int open_append(History *h) {
        return openat(h->dir_fd, HISTORY_FILE, O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
}

/* Open (create) the current file and make it ready for the next line: a header when it is new,
 * a newline when it ends in the middle of one. 1 if the file is not ours (then rotated away). */
static int open_current(History *h) {
        _cleanup_close_ int fd = -1;
        char buf[sizeof header - 1], last;
        struct stat st;
        size_t written;
        ssize_t k;
        int r;

        fd = open_append(h);
        if (fd < 0 && errno == ENOENT) {
                /* A new file appears with its header, whole, or not at all (a full disk). */
                r = durable_write_at(h->dir_fd, HISTORY_FILE, header, sizeof header - 1, 0600,
                                     DURABLE_WRITE_NOREPLACE);
                if (r < 0 && r != -EEXIST)
                        return r;
                fd = open_append(h);
        }
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        if (st.st_size == 0) {
                r = write_all(fd, header, sizeof header - 1, &written);
                if (r < 0)
                        return r;
                h->size = written;
        } else {
                k = pread(fd, buf, sizeof buf, 0);
                if (k != (ssize_t) sizeof buf || memcmp(buf, header, sizeof buf) != 0)
                        return 1; /* another version or not ours at all */
                h->size = (uint64_t) st.st_size;
                k = pread(fd, &last, 1, st.st_size - 1);
                h->need_newline = k == 1 && last != '\n';
        }
        safe_close(h->fd);
        h->fd = TAKE_FD(fd);
        return 0;
}

/* The current file becomes history.1 (the older one goes) and a new one starts. */
static int rotate(History *h) {
        int r;

        /* ENOENT: someone removed the file; a new one starts all the same. */
        if (renameat(h->dir_fd, HISTORY_FILE, h->dir_fd, HISTORY_FILE_OLD) < 0 && errno != ENOENT)
                return -errno;
        h->fd = safe_close(h->fd);
        h->need_newline = false;
        r = open_current(h);
        return r > 0 ? -EBADMSG : r;
}

/* After a failure to open or rotate, try again with the next event. */
static int reopen(History *h) {
        int r = open_current(h);

        return r > 0 ? rotate(h) : r;
}

int history_open(const char *dir, const HistoryOptions *options, History **ret) {
        History *h;
        int r;

        h = calloc(1, sizeof(History));
        if (!h)
                return log_oom();
        h->fd = -1;
        h->size_max = options && options->size_max ? options->size_max : HISTORY_SIZE_MAX_DEFAULT;
        h->no_journal = options && options->no_journal;
        h->dir = strdup(dir);
        h->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (!h->dir || h->dir_fd < 0) {
                r = h->dir ? -errno : -ENOMEM;
                history_free(h);
                return log_error_errno(r, "Failed to open the history in %s: %m", dir);
        }
        (void) durable_write_remove_leftovers(h->dir_fd, HISTORY_FILE);
        r = open_current(h);
        if (r > 0) {
                log_warning("%s/%s is not a version %d history file, starting a new one.", dir, HISTORY_FILE,
                            HISTORY_VERSION);
                r = rotate(h);
        }
        if (r < 0) {
                history_free(h);
                return log_error_errno(r, "Failed to open %s/%s: %m", dir, HISTORY_FILE);
        }
        *ret = h;
        return 0;
}

History *history_free(History *h) {
        if (!h)
                return NULL;
        safe_close(h->fd);
        safe_close(h->dir_fd);
        free(h->dir);
        free(h);
        return NULL;
}

/* A field as it is written: empty counts as absent, long strings are cut. */
static int write_field(FILE *f, const char *s) {
        _cleanup_free_ char *cut = NULL;

        if (isempty(s))
                return text_field_write(f, NULL);
        if (strlen(s) > HISTORY_FIELD_MAX) {
                cut = strndup(s, HISTORY_FIELD_MAX);
                if (!cut)
                        return -ENOMEM;
                s = cut;
        }
        return text_field_write(f, s);
}

static int format_line(const HistoryEvent *e, uint64_t time_usec, char **ret, size_t *ret_size) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, n_pairs = 0;
        FILE *f;
        int r;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        fprintf(f, "%" PRIu64 " %s %u %s %" PRIu64 " ", time_usec, history_event_type_to_string(e->type),
                (unsigned) e->uid, device_kind_to_permission(e->kind), e->duration_usec);
        r = write_field(f, e->app_id);
        if (r >= 0)
                fputc(' ', f);
        if (r >= 0)
                r = write_field(f, e->origin);
        if (r >= 0)
                fputc(' ', f);
        if (r >= 0)
                r = write_field(f, e->device);
        for (char **p = e->extra; r >= 0 && p && p[0] && p[1] && n_pairs < HISTORY_EXTRA_MAX; p += 2, n_pairs++) {
                if (isempty(p[0]))
                        continue; /* a pair needs a key */
                fputc(' ', f);
                r = write_field(f, p[0]);
                if (r >= 0)
                        fputc('=', f);
                if (r >= 0)
                        r = write_field(f, p[1]);
        }
        fputc('\n', f);
        if (fclose(f) != 0 || !buf)
                return -ENOMEM;
        if (r < 0)
                return r;
        *ret = TAKE_PTR(buf);
        *ret_size = size;
        return 0;
}

static char *field_new(const char *format, ...) _printf_(1, 2);
static char *field_new(const char *format, ...) {
        va_list ap;
        char *s;
        int r;

        va_start(ap, format);
        r = vasprintf(&s, format, ap);
        va_end(ap);
        return r < 0 ? NULL : s;
}

static void log_event(const HistoryEvent *e) {
        static const char *const verbs[_HISTORY_EVENT_MAX] = {
                [HISTORY_PROMPTED] = "was asked about",
                [HISTORY_GRANTED] = "was granted",
                [HISTORY_DENIED] = "was denied",
                [HISTORY_STARTED] = "started using",
                [HISTORY_STOPPED] = "stopped using",
                [HISTORY_REVOKED] = "lost",
        };
        const char *kind = device_kind_to_permission(e->kind);
        char *fields[8] = {
                field_new("MEDIAGATE_EVENT=%s", history_event_type_to_string(e->type)),
                field_new("MEDIAGATE_UID=%u", (unsigned) e->uid),
                field_new("MEDIAGATE_APP_ID=%s", e->app_id),
                field_new("MEDIAGATE_ORIGIN=%s", strempty(e->origin)),
                field_new("MEDIAGATE_KIND=%s", kind),
                field_new("MEDIAGATE_DEVICE=%s", strempty(e->device)),
                e->type == HISTORY_STOPPED ? field_new("MEDIAGATE_DURATION_USEC=%" PRIu64, e->duration_usec) : NULL,
                NULL,
        };
        bool oom = e->type == HISTORY_STOPPED && !fields[6];

        for (size_t i = 0; i < 6; i++)
                oom = oom || !fields[i];
        if (oom)
                log_oom();
        else
                log_struct_internal(LOG_INFO, 0, message_ids[e->type], fields, "%s (uid %u) %s the %s%s%s%s%s%s.",
                                    e->app_id, (unsigned) e->uid, verbs[e->type], kind,
                                    isempty(e->device) ? "" : " \"", strempty(e->device),
                                    isempty(e->device) ? "" : "\"", isempty(e->origin) ? "" : " for ",
                                    strempty(e->origin));
        for (size_t i = 0; i < 7; i++)
                free(fields[i]);
}

int history_append(History *h, const HistoryEvent *e) {
        _cleanup_free_ char *line = NULL;
        size_t size, written;
        int r;

        if (e->type < 0 || e->type >= _HISTORY_EVENT_MAX || e->kind < 0 || e->kind >= _DEVICE_KIND_MAX ||
            isempty(e->app_id) || strv_length(e->extra) % 2 != 0)
                return -EINVAL;

        if (!h->no_journal)
                log_event(e);

        r = format_line(e, e->time_usec ?: now_usec(CLOCK_REALTIME), &line, &size);
        if (r < 0)
                return log_error_errno(r, "Failed to record an access event: %m");

        /* A file holding only its header is not rotated, whatever the size of the line: that
         * would throw history.1 away for nothing. */
        if (h->fd < 0 || (h->size > sizeof header - 1 && h->size + size + h->need_newline > h->size_max)) {
                r = h->fd < 0 ? reopen(h) : rotate(h);
                if (r < 0)
                        return log_warning_errno(r, "Failed to open a new %s/%s: %m", h->dir, HISTORY_FILE);
        }
        if (h->need_newline) {
                r = write_all(h->fd, "\n", 1, &written);
                if (r < 0)
                        return log_warning_errno(r, "Failed to write %s/%s: %m", h->dir, HISTORY_FILE);
                h->size++;
                h->need_newline = false;
        }
        /* One write: with O_APPEND the line lands whole after the previous one. */
        r = write_all(h->fd, line, size, &written);
        h->size += written;
        if (r < 0) {
                h->need_newline = written > 0;
                return log_warning_errno(r, "Failed to write %s/%s: %m", h->dir, HISTORY_FILE);
        }
        return 0;
}

static int read_file(History *h, const char *name, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = -1;

        fd = openat(h->dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        return read_full_fd(fd, HISTORY_READ_MAX(h), ret, ret_size);
}

/* A decimal number in canonical form. */
static int parse_u64(const char *p, size_t len, uint64_t *ret) {
        uint64_t v = 0;

        if (len == 0 || len > 20 || (p[0] == '0' && len > 1))
                return -EBADMSG;
        for (size_t i = 0; i < len; i++) {
                if (p[i] < '0' || p[i] > '9')
                        return -EBADMSG;
                if (v > (UINT64_MAX - (uint64_t) (p[i] - '0')) / 10)
                        return -EBADMSG;
                v = v * 10 + (uint64_t) (p[i] - '0');
        }
        *ret = v;
        return 0;
}

typedef struct ParsedEvent {
        HistoryEvent event;
        char *app_id, *origin, *device;
        char *extra[HISTORY_EXTRA_MAX * 2 + 1];
} ParsedEvent;

static void parsed_event_done(ParsedEvent *p) {
        free(p->app_id);
        free(p->origin);
        free(p->device);
        for (char **x = p->extra; *x; x++)
                free(*x);
        *p = (ParsedEvent){};
}

static int parse_token(const char *p, size_t len, char *buf, size_t size) {
        if (len == 0 || len >= size)
                return -EBADMSG;
        memcpy(buf, p, len);
        buf[len] = 0;
        return 0;
}

static int parse_line(const char *line, size_t len, ParsedEvent *ret) {
        _cleanup_(parsed_event_done) ParsedEvent p = {};
        struct {
                const char *p;
                size_t len;
        } f[HISTORY_FIELDS + HISTORY_EXTRA_MAX];
        size_t n = 0, start = 0, n_extra = 0;
        char word[16];
        uint64_t v;
        int r;

        for (size_t i = 0; i <= len; i++) {
                if (i < len && line[i] != ' ')
                        continue;
                if (i == start || n == ELEMENTSOF(f))
                        return -EBADMSG;
                f[n].p = line + start;
                f[n++].len = i - start;
                start = i + 1;
        }
        if (n < HISTORY_FIELDS)
                return -EBADMSG;

        if (parse_u64(f[0].p, f[0].len, &p.event.time_usec) < 0)
                return -EBADMSG;
        if (parse_token(f[1].p, f[1].len, word, sizeof word) < 0 ||
            (p.event.type = history_event_type_from_string(word)) < 0)
                return -EBADMSG;
        if (parse_u64(f[2].p, f[2].len, &v) < 0 || v >= (uint64_t) (uid_t) -1)
                return -EBADMSG;
        p.event.uid = (uid_t) v;
        if (parse_token(f[3].p, f[3].len, word, sizeof word) < 0 || (r = device_kind_from_permission(word)) < 0)
                return -EBADMSG;
        p.event.kind = (DeviceKind) r;
        if (parse_u64(f[4].p, f[4].len, &p.event.duration_usec) < 0)
                return -EBADMSG;
        if (text_field_parse(f[5].p, f[5].len, HISTORY_FIELD_MAX, &p.app_id) < 0 || !p.app_id ||
            text_field_parse(f[6].p, f[6].len, HISTORY_FIELD_MAX, &p.origin) < 0 ||
            text_field_parse(f[7].p, f[7].len, HISTORY_FIELD_MAX, &p.device) < 0)
                return -EBADMSG;
        for (size_t i = HISTORY_FIELDS; i < n; i++) {
                const char *eq = memchr(f[i].p, '=', f[i].len);
                char *key = NULL, *value = NULL;

                if (!eq)
                        return -EBADMSG;
                if (text_field_parse(f[i].p, (size_t) (eq - f[i].p), HISTORY_FIELD_MAX, &key) < 0 || !key)
                        return -EBADMSG;
                p.extra[n_extra++] = key;
                r = text_field_parse(eq + 1, f[i].len - (size_t) (eq - f[i].p) - 1, HISTORY_FIELD_MAX, &value);
                if (r >= 0 && !value)
                        value = strdup(""); /* "-": written for an empty value */
                if (r < 0 || !value)
                        return -EBADMSG;
                p.extra[n_extra++] = value;
        }
        p.event.app_id = p.app_id;
        p.event.origin = p.origin;
        p.event.device = p.device;
        *ret = p;
        ret->event.extra = n_extra ? ret->extra : NULL;
        p = (ParsedEvent){};
        return 0;
}

static bool filter_matches(const HistoryFilter *f, const HistoryEvent *e) {
        if (!f)
                return true;
        if (f->since_usec && e->time_usec < f->since_usec)
                return false;
        if (f->uid != (uid_t) -1 && f->uid != e->uid)
                return false;
        if (f->app_id && !streq(f->app_id, e->app_id))
                return false;
        if (f->kind >= 0 && (int) e->kind != f->kind)
                return false;
        return true;
}

static int query_file(History *h, const char *name, const HistoryFilter *filter, HistoryCallback cb,
                      void *userdata, int *count) {
        _cleanup_free_ char *text = NULL;
        size_t size = 0, pos;
        int r;

        r = read_file(h, name, &text, &size);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return log_warning_errno(r, "Failed to read %s/%s: %m", h->dir, name);
        if (size < sizeof header - 1 || memcmp(text, header, sizeof header - 1) != 0) {
                log_debug("%s/%s is not a version %d history file, skipped.", h->dir, name, HISTORY_VERSION);
                return 0;
        }
        for (pos = sizeof header - 1; pos < size;) {
                const char *line = text + pos, *nl = memchr(line, '\n', size - pos);
                _cleanup_(parsed_event_done) ParsedEvent p = {};

                if (!nl)
                        break; /* a line still being written, or cut */
                pos = (size_t) (nl - text) + 1;
                if (parse_line(line, (size_t) (nl - line), &p) < 0)
                        continue;
                if (!filter_matches(filter, &p.event))
                        continue;
                r = cb(&p.event, userdata);
                if (r < 0)
                        return r;
                (*count)++;
        }
        return 0;
}

int history_query(History *h, const HistoryFilter *filter, HistoryCallback cb, void *userdata) {
        int count = 0, r;

        r = query_file(h, HISTORY_FILE_OLD, filter, cb, userdata, &count);
        if (r >= 0)
                r = query_file(h, HISTORY_FILE, filter, cb, userdata, &count);
        return r < 0 ? r : count;
}
