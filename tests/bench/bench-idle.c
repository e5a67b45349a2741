/* An idle daemon: how often it was scheduled onto a CPU over a period (the third field of
 * /proc/PID/task/TID/schedstat, summed over its threads: each run after a sleep is a wake-up),
 * the CPU time it used, and its resident memory and open fds at the end. tests/bench/run wraps
 * it in `perf stat` for the epoll_wait count when perf is there.
 *
 *     bench-idle --daemon-pid=PID [--seconds=10] [--label=TEXT] */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common.h"
#include "util.h"

int main(int argc, char *argv[]) {
        pid_t pid = (pid_t) bench_arg_u64(argc, argv, "--daemon-pid", 0);
        unsigned seconds = (unsigned) bench_arg_u64(argc, argv, "--seconds", 10);
        const char *label = bench_arg_str(argc, argv, "--label", "idle");
        uint64_t rss = 0, anon = 0;
        ProcCpu a, b;
        int fds;

        if (pid <= 0 || seconds == 0) {
                fprintf(stderr, "usage: bench-idle --daemon-pid=PID [--seconds=N] [--label=TEXT]\n");
                return EXIT_FAILURE;
        }
        if (proc_cpu_read(pid, &a) < 0) {
                fprintf(stderr, "bench-idle: cannot read /proc/%d\n", (int) pid);
                return EXIT_FAILURE;
        }
        sleep(seconds);
        if (proc_cpu_read(pid, &b) < 0 || proc_status_kib(pid, "VmRSS", &rss) < 0) {
                fprintf(stderr, "bench-idle: cannot read /proc/%d\n", (int) pid);
                return EXIT_FAILURE;
        }
        (void) proc_status_kib(pid, "RssAnon", &anon);
        fds = proc_count_fds(pid);

        printf("  %s, %u s: %" PRIu64 " wake-ups (schedstat runs; target 0), %.3f ms of CPU\n", label, seconds,
               b.runs - a.runs, (double) (b.run_ns - a.run_ns) / 1e6);
        printf("  %s: VmRSS %.2f MiB (target < 4 MiB; anonymous %.2f MiB), %d open fds\n", label,
               (double) rss / 1024, (double) anon / 1024, fds);
        return EXIT_SUCCESS;
}
