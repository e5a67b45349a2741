/* Clocks, percentiles and the /proc readers of the benchmark programs. */
#include "common.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

uint64_t bench_now_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

int samples_add(Samples *s, uint64_t value) {
        if (s->n == s->allocated) {
                size_t n = s->allocated ? s->allocated * 2 : 1024;
                uint64_t *v = realloc(s->v, n * sizeof(uint64_t));

                if (!v)
                        return -ENOMEM;
                s->v = v;
                s->allocated = n;
        }
        s->v[s->n++] = value;
        s->sorted = false;
        return 0;
}

static int compare_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

        return x < y ? -1 : x > y;
}

uint64_t samples_percentile(Samples *s, double p) {
        size_t rank;

        if (s->n == 0)
                return 0;
        if (!s->sorted) {
                qsort(s->v, s->n, sizeof(uint64_t), compare_u64);
                s->sorted = true;
        }
        /* Nearest rank: the smallest value with at least p% of the samples at or below it. */
        rank = (size_t) ((p / 100.0) * (double) s->n + 0.999999);
        rank = CLAMP(rank, (size_t) 1, s->n);
        return s->v[rank - 1];
}

uint64_t samples_max(Samples *s) {
        return samples_percentile(s, 100);
}

unsigned samples_tail_percentile(const Samples *s) {
        static const unsigned tails[] = { 99, 90 };

        for (size_t i = 0; i < sizeof(tails) / sizeof(tails[0]); i++)
                if (s->n * (100 - tails[i]) >= 30 * 100)
                        return tails[i];
        return 0;
}

void samples_print(Samples *s, const char *label) {
        unsigned tail = samples_tail_percentile(s);

        printf("  %-32s p50 %8.3f ms  ", label, ns_to_ms(samples_percentile(s, 50)));
        if (tail > 0)
                printf("p%u %8.3f ms  ", tail, ns_to_ms(samples_percentile(s, tail)));
        printf("max %8.3f ms  (%zu samples)\n", ns_to_ms(samples_max(s)), s->n);
}

void samples_done(Samples *s) {
        free(s->v);
        *s = (Samples) {};
}

/* utime and stime are fields 14 and 15; the command name (field 2) may hold spaces and
 * parentheses, so parsing starts after its last ')'. */
static int read_stat_ticks(pid_t pid, uint64_t *ret) {
        char path[64], buf[2048];
        unsigned long long utime, stime;
        _cleanup_fclose_ FILE *f = NULL;
        const char *p;
        size_t n;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
        f = fopen(path, "re");
        if (!f)
                return -errno;
        n = fread(buf, 1, sizeof(buf) - 1, f);
        buf[n] = 0;
        p = strrchr(buf, ')');
        if (!p)
                return -EBADMSG;
        /* After ')': state (3), ppid, pgrp, session, tty_nr, tpgid, flags, minflt, cminflt,
         * majflt, cmajflt (13), utime (14), stime (15). */
        if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
                return -EBADMSG;
        *ret = utime + stime;
        return 0;
}

int proc_cpu_read(pid_t pid, ProcCpu *ret) {
        char path[64];
        DIR *d;
        struct dirent *de;
        ProcCpu c = {};
        int r;

        r = read_stat_ticks(pid, &c.ticks);
        if (r < 0)
                return r;

        snprintf(path, sizeof(path), "/proc/%d/task", (int) pid);
        d = opendir(path);
        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                char p[320];
                unsigned long long run, wait, count;
                FILE *f;

                if (de->d_name[0] == '.')
                        continue;
                snprintf(p, sizeof(p), "/proc/%d/task/%s/schedstat", (int) pid, de->d_name);
                f = fopen(p, "re");
                if (!f)
                        continue; /* the thread just left */
                if (fscanf(f, "%llu %llu %llu", &run, &wait, &count) == 3) {
                        c.run_ns += run;
                        c.runs += count;
                }
                fclose(f);
        }
        closedir(d);
        *ret = c;
        return 0;
}

int proc_status_kib(pid_t pid, const char *field, uint64_t *ret) {
        char path[64], line[256];
        _cleanup_fclose_ FILE *f = NULL;
        size_t len = strlen(field);

        snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
        f = fopen(path, "re");
        if (!f)
                return -errno;
        while (fgets(line, sizeof(line), f)) {
                unsigned long long v;

                if (strncmp(line, field, len) != 0 || line[len] != ':')
                        continue;
                if (sscanf(line + len + 1, "%llu", &v) != 1)
                        return -EBADMSG;
                *ret = v;
                return 0;
        }
        return -ENOENT;
}

int proc_count_fds(pid_t pid) {
        char path[64];
        DIR *d;
        struct dirent *de;
        int n = 0;

        snprintf(path, sizeof(path), "/proc/%d/fd", (int) pid);
        d = opendir(path);
        if (!d)
                return -errno;
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        n++;
        closedir(d);
        return n;
}

static const char *find_arg(int argc, char *argv[], const char *name) {
        size_t len = strlen(name);

        for (int i = 1; i < argc; i++)
                if (strncmp(argv[i], name, len) == 0 && argv[i][len] == '=')
                        return argv[i] + len + 1;
        return NULL;
}

uint64_t bench_arg_u64(int argc, char *argv[], const char *name, uint64_t def) {
        const char *v = find_arg(argc, argv, name);
        uint64_t u;

        if (!v)
                return def;
        if (safe_atou64(v, &u) < 0) {
                fprintf(stderr, "%s: bad value '%s'\n", name, v);
                exit(EXIT_FAILURE);
        }
        return u;
}

const char *bench_arg_str(int argc, char *argv[], const char *name, const char *def) {
        return find_arg(argc, argv, name) ?: def;
}

double ns_to_ms(uint64_t ns) {
        return (double) ns / 1e6;
}

/* Every byte of the frame, read once (a sum of 64-bit words, so the compiler cannot skip it). */
uint64_t read_once(const void *data, size_t size) {
        const uint8_t *p = data;
        uint64_t sum = 0, w;

        for (size_t i = 0; i + sizeof(w) <= size; i += sizeof(w)) {
                memcpy(&w, p + i, sizeof(w));
                sum += w;
        }
        return sum;
}
