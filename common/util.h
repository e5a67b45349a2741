/* Small helpers shared by the daemon and the tests: cleanup attributes, ownership
 * transfer, string and number helpers. Nothing here knows about the bus or devices. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _noreturn_ __attribute__((noreturn))
#define _fallthrough_ __attribute__((fallthrough))

#define new0(t, n) ((t *) calloc((n), sizeof(t)))
#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define CLAMP(x, lo, hi) ((x) < (lo) ? (lo) : (x) > (hi) ? (hi) : (x))

/* Take a pointer (or fd) out of a cleanup variable so that it is not freed on return. */
#define TAKE_PTR(p)                         \
        ({                                  \
                __typeof__(p) _p_ = (p);    \
                (p) = NULL;                 \
                _p_;                        \
        })
#define TAKE_FD(fd)                 \
        ({                          \
                int _fd_ = (fd);    \
                (fd) = -1;          \
                _fd_;               \
        })

static inline void freep(void *p) {
        free(*(void **) p);
}
static inline void closep(int *fd) {
        if (*fd >= 0) {
                int saved = errno;
                close(*fd);
                errno = saved;
        }
}
static inline void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}
static inline void strv_free(char **l) {
        if (!l)
                return;
        for (char **i = l; *i; i++)
                free(*i);
        free(l);
}
static inline void strv_freep(char ***l) {
        strv_free(*l);
}
static inline int safe_close(int fd) {
        if (fd >= 0)
                close(fd);
        return -1;
}

#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)
#define _cleanup_strv_free_ _cleanup_(strv_freep)

/* Define a cleanup function for a type with a NULL-accepting destructor. */
#define DEFINE_CLEANUP_FUNC(type, func)                 \
        static inline void func##p(type **p) {          \
                if (*p)                                 \
                        func(*p);                       \
        }

static inline bool streq(const char *a, const char *b) {
        return strcmp(a, b) == 0;
}
static inline bool streq_ptr(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        return streq(a, b);
}
static inline bool isempty(const char *s) {
        return !s || !*s;
}
static inline const char *strempty(const char *s) {
        return s ?: "";
}
static inline bool endswith(const char *s, const char *suffix) {
        size_t a = strlen(s), b = strlen(suffix);
        return a >= b && strcmp(s + a - b, suffix) == 0;
}
static inline const char *startswith(const char *s, const char *prefix) {
        size_t l = strlen(prefix);
        return strncmp(s, prefix, l) == 0 ? s + l : NULL;
}

/* A NULL-terminated string list on the stack. */
#define STRV_MAKE(...) ((char *[]){ __VA_ARGS__, NULL })

/* Replace *p with a copy of s (NULL allowed). */
int free_and_strdup(char **p, const char *s);

/* Number of entries in a NULL-terminated string list. */
size_t strv_length(char * const *l);
/* Append a copy of s; returns -ENOMEM on failure, leaving *l intact. */
int strv_extend(char ***l, const char *s);
bool strv_contains(char * const *l, const char *s);

/* Strict parsers: the whole string must be a number in range. */
int safe_atou32(const char *s, uint32_t *ret);
int safe_atou64(const char *s, uint64_t *ret);
int safe_atod(const char *s, double *ret);
int parse_boolean(const char *s); /* 1, 0, or -EINVAL */

/* Strip leading and trailing whitespace in place; returns s. */
char *strstrip(char *s);

uint64_t now_usec(int clock_id);

/* Read fd to its end into a NUL-terminated buffer; -EFBIG past max_size bytes. */
int read_full_fd(int fd, size_t max_size, char **ret, size_t *ret_size);

/* mkdir -p; existing directories are fine. Returns 0 or -1 with errno set. */
int mkdir_parents_and_self(const char *path, mode_t mode);
