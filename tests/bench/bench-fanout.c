/* The floor under the daemon's per-client cost: what telling N clients of a frame costs on this
 * machine when nothing else is done. The daemon tells each client of each frame with one 64-byte
 * FRAME on the client's SOCK_SEQPACKET control socket and reads the clients' RELEASEs with one
 * recvmmsg() per client every other frame; here a sender does exactly that to N receiver
 * processes asleep in recv() (as clients are between frames), each answering with one 64-byte
 * message, at a steady rate, and counts its own CPU time per round (CLOCK_THREAD_CPUTIME_ID): the
 * median round, so that a round that happened to wake an idle CPU (an IPI, a VM exit) does not
 * stand for all.
 * No pool, no daemon, no D-Bus: whatever the daemon adds per client sits above this line.
 *
 *   bench-fanout [--rounds=N] [--hz=N]     prints RESULT fanout_<N>_cpu_per_round_us for N = 1, 8, 32 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define MESSAGE_SIZE 64 /* sizeof(MgWireMessage) */
#define DRAIN_BATCH 8

typedef struct Receiver {
        pid_t pid;
        int fd; /* the sender's end */
} Receiver;

/* A receiver: asleep in recv() until a message comes, then one answer; until EOF. */
static _Noreturn void receive_and_answer(int fd) {
        char buf[MESSAGE_SIZE];

        for (;;) {
                ssize_t n = recv(fd, buf, sizeof buf, 0);

                if (n <= 0)
                        _exit(n == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
                if (send(fd, buf, (size_t) n, MSG_NOSIGNAL) < 0)
                        _exit(EXIT_FAILURE);
        }
}

static int receivers_start(Receiver *r, unsigned n) {
        for (unsigned i = 0; i < n; i++) {
                int sv[2];

                if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                        return -errno;
                r[i].pid = fork();
                if (r[i].pid < 0)
                        return -errno;
                if (r[i].pid == 0) {
                        /* Only its own end: the senders' ends of the others must close at the end. */
                        close(sv[0]);
                        for (unsigned k = 0; k < i; k++)
                                close(r[k].fd);
                        receive_and_answer(sv[1]);
                }
                close(sv[1]);
                r[i].fd = sv[0];
        }
        return 0;
}

static void receivers_stop(Receiver *r, unsigned n) {
        for (unsigned i = 0; i < n; i++) {
                close(r[i].fd);
                (void) waitpid(r[i].pid, NULL, 0);
        }
}

/* Read what a receiver sent, as stream_drain() does: batches of recvmmsg() until none is left. */
static void drain(int fd) {
        char buf[DRAIN_BATCH][MESSAGE_SIZE + 1];
        struct iovec iov[DRAIN_BATCH];
        struct mmsghdr mm[DRAIN_BATCH];
        int n;

        do {
                for (int i = 0; i < DRAIN_BATCH; i++) {
                        iov[i] = (struct iovec) { .iov_base = buf[i], .iov_len = sizeof buf[i] };
                        mm[i] = (struct mmsghdr) { .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
                }
                n = recvmmsg(fd, mm, DRAIN_BATCH, MSG_DONTWAIT, NULL);
        } while (n == DRAIN_BATCH);
}

static uint64_t thread_cpu_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

/* The sender's median CPU time per round, in ns: per round one FRAME to each receiver, every other
 * round a drain of each. Rounds are paced so that the receivers are asleep when it comes. */
static int measure(unsigned n, unsigned rounds, unsigned hz, double *ret_ns) {
        Receiver r[32];
        char message[MESSAGE_SIZE] = { 1 };
        uint64_t period = 1000000000u / hz, next;
        Samples cpu = {};
        int e;

        e = receivers_start(r, n);
        if (e < 0)
                return e;
        next = bench_now_ns() + period;
        for (unsigned round = 0; round < rounds; round++) {
                struct timespec until = { .tv_sec = (time_t) (next / 1000000000u), .tv_nsec = (long) (next % 1000000000u) };
                uint64_t t0;

                while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR)
                        ;
                next += period;
                t0 = thread_cpu_ns();
                if (round % 2 == 0)
                        for (unsigned i = 0; i < n; i++)
                                drain(r[i].fd);
                for (unsigned i = 0; i < n; i++)
                        if (send(r[i].fd, message, sizeof message, MSG_DONTWAIT | MSG_NOSIGNAL) != sizeof message)
                                e = -errno;
                if (samples_add(&cpu, thread_cpu_ns() - t0) < 0)
                        e = -ENOMEM;
        }
        receivers_stop(r, n);
        if (e >= 0)
                *ret_ns = (double) samples_percentile(&cpu, 50);
        samples_done(&cpu);
        return e;
}

int main(int argc, char *argv[]) {
        static const unsigned counts[] = { 1, 8, 32 };
        unsigned rounds = (unsigned) bench_arg_u64(argc, argv, "rounds", 300);
        unsigned hz = (unsigned) bench_arg_u64(argc, argv, "hz", 100);
        double base = 0;

        if (rounds == 0 || hz == 0 || hz > 10000) {
                fprintf(stderr, "bench-fanout: --rounds must be positive and --hz 1 to 10000\n");
                return EXIT_FAILURE;
        }
        printf("FRAME fan-out floor: one 64-byte message to each of N receivers asleep in recv(), a\n"
               "recvmmsg() drain of each every other round; the sender's CPU per round, %u rounds at %u Hz\n",
               rounds, hz);
        for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
                double ns;
                int e = measure(counts[i], rounds, hz, &ns);

                if (e < 0) {
                        fprintf(stderr, "bench-fanout: %u receivers: %s\n", counts[i], strerror(-e));
                        return EXIT_FAILURE;
                }
                if (counts[i] == 1)
                        base = ns;
                printf("  %2u receiver(s): %7.1f us a round (median)", counts[i], ns / 1000);
                if (counts[i] > 1)
                        printf(", %.1f us for each receiver beyond the first", (ns - base) / 1000 / (counts[i] - 1));
                printf("\n");
                printf("RESULT fanout_%u_cpu_per_round_us=%.2f\n", counts[i], ns / 1000);
                fflush(stdout);
        }
        return EXIT_SUCCESS;
}
