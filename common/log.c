/* The daemon's log target: the journal under systemd, stderr otherwise. */
#include "log.h"

#include <stdarg.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>

static int max_level = LOG_INFO;
static bool use_journal = false;

static bool stderr_is_journal(void) {
        const char *e = getenv("JOURNAL_STREAM");
        struct stat st;
        unsigned long long dev, ino;

        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
                return false;
        if (fstat(STDERR_FILENO, &st) < 0)
                return false;
        return st.st_dev == (dev_t) dev && st.st_ino == (ino_t) ino;
}

void log_open(void) {
        const char *e = getenv("MEDIAGATE_LOG_LEVEL");

        use_journal = stderr_is_journal();
        if (e) {
                if (streq(e, "debug"))
                        max_level = LOG_DEBUG;
                else if (streq(e, "info"))
                        max_level = LOG_INFO;
                else if (streq(e, "warning"))
                        max_level = LOG_WARNING;
                else if (streq(e, "err") || streq(e, "error"))
                        max_level = LOG_ERR;
        }
}

void log_set_max_level(int level) {
        max_level = level;
}

int log_get_max_level(void) {
        return max_level;
}

static void log_emit(int level, int errnum, const char *message_id, char **fields,
                     const char *file, int line, const char *func, const char *text) {
        if (use_journal) {
                /* Up to a handful of fields; anything beyond is dropped rather than failing. */
                struct iovec iov[16];
                char buf_prio[32], buf_errno[32], buf_file[256], buf_line[32], buf_func[128],
                        buf_mid[64];
                _cleanup_free_ char *msg = NULL;
                size_t n = 0;

                if (asprintf(&msg, "MESSAGE=%s", text) < 0)
                        return;
                iov[n++] = (struct iovec){ msg, strlen(msg) };
                snprintf(buf_prio, sizeof buf_prio, "PRIORITY=%i", level);
                iov[n++] = (struct iovec){ buf_prio, strlen(buf_prio) };
                if (errnum) {
                        snprintf(buf_errno, sizeof buf_errno, "ERRNO=%i", errnum);
                        iov[n++] = (struct iovec){ buf_errno, strlen(buf_errno) };
                }
                if (file) {
                        snprintf(buf_file, sizeof buf_file, "CODE_FILE=%s", file);
                        snprintf(buf_line, sizeof buf_line, "CODE_LINE=%i", line);
                        snprintf(buf_func, sizeof buf_func, "CODE_FUNC=%s", func);
                        iov[n++] = (struct iovec){ buf_file, strlen(buf_file) };
                        iov[n++] = (struct iovec){ buf_line, strlen(buf_line) };
                        iov[n++] = (struct iovec){ buf_func, strlen(buf_func) };
                }
                if (message_id) {
                        snprintf(buf_mid, sizeof buf_mid, "MESSAGE_ID=%s", message_id);
                        iov[n++] = (struct iovec){ buf_mid, strlen(buf_mid) };
                }
                for (char **f = fields; f && *f && n < ELEMENTSOF(iov); f++)
                        iov[n++] = (struct iovec){ *f, strlen(*f) };
                sd_journal_sendv(iov, (int) n);
                return;
        }

        fprintf(stderr, "%s: %s\n", program_invocation_short_name, text);
}

static int log_format_and_emit(int level, int errnum, const char *message_id, char **fields,
                               const char *file, int line, const char *func,
                               const char *format, va_list ap) {
        char text[2048];

        if (errnum < 0)
                errnum = -errnum;
        if (level > max_level)
                return -errnum;
        errno = errnum; /* for %m */
        vsnprintf(text, sizeof text, format, ap);
        log_emit(level, errnum, message_id, fields, file, line, func, text);
        return -errnum;
}

int log_internal(int level, int errnum, const char *file, int line, const char *func,
                 const char *format, ...) {
        va_list ap;
        int r;

        va_start(ap, format);
        r = log_format_and_emit(level, errnum, NULL, NULL, file, line, func, format, ap);
        va_end(ap);
        return r;
}

int log_struct_internal(int level, int errnum, const char *message_id, char **fields,
                        const char *format, ...) {
        va_list ap;
        int r;

        va_start(ap, format);
        r = log_format_and_emit(level, errnum, message_id, fields, NULL, 0, NULL, format, ap);
        va_end(ap);
        return r;
}
