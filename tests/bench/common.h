/* What the benchmark programs share: clocks, sample sets with percentiles, and what /proc says
 * about the daemon (CPU time, wake-ups, resident memory). Benchmarks measure, never assert. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* CLOCK_MONOTONIC in ns: the clock of FRAME.timestamp_ns. */
uint64_t bench_now_ns(void);

/* A growing set of samples (ns). */
typedef struct Samples {
        uint64_t *v;
        size_t n, allocated;
        bool sorted;
} Samples;

int samples_add(Samples *s, uint64_t value);
/* The nearest-rank percentile (0 < p <= 100) of the samples; 0 when there are none. */
uint64_t samples_percentile(Samples *s, double p);
uint64_t samples_max(Samples *s);
/* The highest tail percentile (99 or 90) the samples can carry, that is with at least 30 of them
 * beyond it (3000 samples for p99, 300 for p90); 0 when there are fewer than 300. */
unsigned samples_tail_percentile(const Samples *s);
/* "p50 X ms  pNN Y ms  max Z ms  (N samples)": the tail the samples carry, no more. */
void samples_print(Samples *s, const char *label);
void samples_done(Samples *s);

/* The daemon as /proc sees it, summed over its threads. Each returns 0 or a negative errno. */
typedef struct ProcCpu {
        uint64_t ticks;   /* utime + stime of /proc/PID/stat, in clock ticks */
        uint64_t run_ns;  /* time on a CPU, from /proc/PID/task/ANY/schedstat (first field) */
        uint64_t runs;    /* times scheduled onto a CPU (third field): the wake-ups */
} ProcCpu;
int proc_cpu_read(pid_t pid, ProcCpu *ret);
/* The size of a field of /proc/PID/status ("VmRSS", "RssAnon", "RssShmem") in KiB. */
int proc_status_kib(pid_t pid, const char *field, uint64_t *ret);
/* The number of open file descriptors of pid. */
int proc_count_fds(pid_t pid);

/* Parse "--name=value" style numbers from argv with a default; exits on a malformed value. */
uint64_t bench_arg_u64(int argc, char *argv[], const char *name, uint64_t def);
const char *bench_arg_str(int argc, char *argv[], const char *name, const char *def);

/* Milliseconds with three decimals, for printing ns. */
double ns_to_ms(uint64_t ns);

/* Every byte of a frame read once, as a consumer of it would: a sum the compiler cannot skip. */
uint64_t read_once(const void *data, size_t size);
