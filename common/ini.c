/* The INI-style parser shared by the configuration, synthetic device and policy files. */
#include "ini.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "util.h"

static int syntax_error(ini_error_t on_error, void *userdata, const char *filename, unsigned line,
                        const char *message) {
        if (on_error)
                on_error(filename, line, message, userdata);
        return -EINVAL;
}

int ini_parse_text(const char *text, size_t size, const char *filename, ini_handler_t handler,
                   ini_error_t on_error, void *userdata) {
        _cleanup_free_ char *section = NULL;
        char buf[INI_LINE_MAX + 1];
        unsigned line = 0;
        size_t pos = 0;
        int r;

        while (pos < size) {
                const char *nl = memchr(text + pos, '\n', size - pos);
                size_t len = nl ? (size_t) (nl - (text + pos)) : size - pos;
                char *l, *eq, *key, *value;

                line++;
                if (len > INI_LINE_MAX)
                        return syntax_error(on_error, userdata, filename, line, "line too long");
                if (memchr(text + pos, 0, len))
                        return syntax_error(on_error, userdata, filename, line, "NUL byte in line");
                memcpy(buf, text + pos, len);
                buf[len] = 0;
                pos += len + (nl ? 1 : 0);

                l = strstrip(buf);
                if (*l == 0 || *l == '#' || *l == ';')
                        continue;

                if (*l == '[') {
                        size_t n = strlen(l);

                        if (n < 3 || l[n - 1] != ']')
                                return syntax_error(on_error, userdata, filename, line,
                                                    "malformed section header");
                        l[n - 1] = 0;
                        l = strstrip(l + 1);
                        if (*l == 0 || strpbrk(l, "[]"))
                                return syntax_error(on_error, userdata, filename, line,
                                                    "malformed section header");
                        r = free_and_strdup(&section, l);
                        if (r < 0)
                                return r;
                        r = handler(filename, line, section, NULL, NULL, userdata);
                        if (r < 0)
                                return r;
                        continue;
                }

                eq = strchr(l, '=');
                if (!eq)
                        return syntax_error(on_error, userdata, filename, line,
                                            "expected Key=Value or [Section]");
                *eq = 0;
                key = strstrip(l);
                value = strstrip(eq + 1);
                if (*key == 0)
                        return syntax_error(on_error, userdata, filename, line, "empty key");
                r = handler(filename, line, section, key, value, userdata);
                if (r < 0)
                        return r;
        }
        return 0;
}

int read_full_file(const char *path, size_t max_size, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = -1;
        struct stat st;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        return read_full_fd(fd, max_size, ret, ret_size);
}

int ini_parse_file(const char *path, size_t max_size, ini_handler_t handler, ini_error_t on_error,
                   void *userdata) {
        _cleanup_free_ char *text = NULL;
        size_t size;
        int r;

        r = read_full_file(path, max_size, &text, &size);
        if (r < 0)
                return r;
        return ini_parse_text(text, size, path, handler, on_error, userdata);
}
