/* A main() for the harnesses without libFuzzer: feeds every file named on the command line (or
 * found in a directory named there) to LLVMFuzzerTestOneInput, each in its own child process so
 * that one crashing input is reported and the others still run. Used by `make check` to replay the
 * committed corpora with any compiler.
 *
 *   fuzz-foo.replay [-v] [-t SECONDS] FILE|DIR...
 *
 * Prints "ok: FILE" or "FAILED: FILE (...)" per input, then "N passed, N failed"; exits 1 when any
 * input failed. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fuzz.h"

#pragma weak LLVMFuzzerInitialize

static unsigned timeout_sec = 60;
static bool verbose;
static unsigned n_passed, n_failed;

static int read_file(const char *path, uint8_t **ret, size_t *ret_size) {
        uint8_t *buf = NULL;
        size_t size = 0, allocated = 0;
        FILE *f;

        f = fopen(path, "re");
        if (!f)
                return -errno;
        for (;;) {
                size_t n;

                if (size == allocated) {
                        uint8_t *grown;

                        allocated = allocated ? allocated * 2 : 4096;
                        grown = realloc(buf, allocated);
                        if (!grown) {
                                free(buf);
                                fclose(f);
                                return -ENOMEM;
                        }
                        buf = grown;
                }
                n = fread(buf + size, 1, allocated - size, f);
                size += n;
                if (n == 0)
                        break;
        }
        if (ferror(f)) {
                free(buf);
                fclose(f);
                return -EIO;
        }
        fclose(f);
        *ret = buf;
        *ret_size = size;
        return 0;
}

static void run_one(const char *path) {
        uint8_t *data;
        size_t size;
        pid_t pid;
        int r, status;

        r = read_file(path, &data, &size);
        if (r < 0) {
                printf("FAILED: %s (cannot read: %s)\n", path, strerror(-r));
                n_failed++;
                return;
        }

        fflush(stdout);
        fflush(stderr);
        pid = fork();
        if (pid < 0) {
                perror("fork");
                exit(2);
        }
        if (pid == 0) {
                /* The harness sees a private copy of the input, as libFuzzer gives it, so that
                 * a read one byte past the end is caught by the sanitizers. */
                uint8_t *copy = malloc(size ? size : 1);

                if (!copy)
                        _exit(3);
                memcpy(copy, data, size);
                free(data);
                alarm(timeout_sec);
                (void) LLVMFuzzerTestOneInput(copy, size);
                free(copy);
                exit(0); /* exit(), not _exit(): LeakSanitizer checks at exit */
        }
        free(data);

        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR) {
                        perror("waitpid");
                        exit(2);
                }
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
                if (verbose)
                        printf("ok: %s\n", path);
                n_passed++;
                return;
        }
        if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
                printf("FAILED: %s (timeout after %us)\n", path, timeout_sec);
        else if (WIFSIGNALED(status))
                printf("FAILED: %s (signal %s)\n", path, strsignal(WTERMSIG(status)));
        else
                printf("FAILED: %s (exit status %d)\n", path, WEXITSTATUS(status));
        n_failed++;
}

static int compare_strings(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Every regular file below dir, in name order, so that the output is stable. */
static void run_dir(const char *dir) {
        struct dirent **entries = NULL;
        char **paths = NULL;
        size_t n = 0;
        int count;

        count = scandir(dir, &entries, NULL, alphasort);
        if (count < 0) {
                printf("FAILED: %s (cannot list: %s)\n", dir, strerror(errno));
                n_failed++;
                return;
        }
        paths = calloc((size_t) count + 1, sizeof(char *));
        if (!paths)
                exit(2);
        for (int i = 0; i < count; i++) {
                if (entries[i]->d_name[0] != '.' && asprintf(&paths[n], "%s/%s", dir, entries[i]->d_name) >= 0)
                        n++;
                free(entries[i]);
        }
        free(entries);
        qsort(paths, n, sizeof(char *), compare_strings);

        for (size_t i = 0; i < n; i++) {
                struct stat st;

                if (stat(paths[i], &st) >= 0 && S_ISDIR(st.st_mode))
                        run_dir(paths[i]);
                else if (stat(paths[i], &st) >= 0 && S_ISREG(st.st_mode))
                        run_one(paths[i]);
                free(paths[i]);
        }
        free(paths);
}

int main(int argc, char *argv[]) {
        int c;

        while ((c = getopt(argc, argv, "vt:")) >= 0)
                switch (c) {
                case 'v':
                        verbose = true;
                        break;
                case 't':
                        timeout_sec = (unsigned) strtoul(optarg, NULL, 10);
                        break;
                default:
                        fprintf(stderr, "usage: %s [-v] [-t SECONDS] FILE|DIR...\n", argv[0]);
                        return 2;
                }

        if (LLVMFuzzerInitialize)
                LLVMFuzzerInitialize(&argc, &argv);

        for (int i = optind; i < argc; i++) {
                struct stat st;

                if (stat(argv[i], &st) < 0) {
                        printf("FAILED: %s (%s)\n", argv[i], strerror(errno));
                        n_failed++;
                } else if (S_ISDIR(st.st_mode))
                        run_dir(argv[i]);
                else
                        run_one(argv[i]);
        }
        printf("%u passed, %u failed\n", n_passed, n_failed);
        return n_failed > 0 ? 1 : 0;
}
