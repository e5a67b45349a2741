/* Long listings on a terminal go through a pager, as systemctl's do: $MEDIACTL_PAGER, else
 * $PAGER, else less (with LESS=FRSXMK unless set: quit when it fits one screen, keep colours,
 * chop long lines); "" or "cat" turns it off, and so do --no-pager and output that is no
 * terminal. */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "mediactl.h"

static pid_t pager_pid;

static void pager_close(void) {
        if (pager_pid <= 0)
                return;
        /* The pager reads until our end of the pipe closes; then it is waited for, so that the
         * shell prompt comes back after it. */
        (void) fflush(stdout);
        (void) fclose(stdout);
        (void) close(STDOUT_FILENO);
        while (waitpid(pager_pid, NULL, 0) < 0 && errno == EINTR)
                ;
        pager_pid = 0;
}

/* Without any pager to run, the child passes the text through, so that nothing is lost. */
static _noreturn_ void copy_through(void) {
        char buf[4096];
        ssize_t n;

        while ((n = read(STDIN_FILENO, buf, sizeof buf)) > 0)
                if (write(STDOUT_FILENO, buf, (size_t) n) != n)
                        break;
        _exit(EXIT_SUCCESS);
}

static _noreturn_ void run_pager(const char *pager) {
        if (setenv("LESS", "FRSXMK", 0) < 0 || setenv("LESSCHARSET", "utf-8", 0) < 0)
                _exit(EXIT_FAILURE);
        if (pager)
                execl("/bin/sh", "sh", "-c", pager, (char *) NULL);
        else {
                execlp("less", "less", (char *) NULL);
                execlp("more", "more", (char *) NULL);
        }
        copy_through();
}

void pager_open(void) {
        const char *pager;
        int fds[2];
        pid_t pid;

        if (!output_settings.pager || pager_pid > 0 || !isatty(STDOUT_FILENO))
                return;
        pager = getenv("MEDIACTL_PAGER") ?: getenv("PAGER");
        if (pager && (isempty(pager) || streq(pager, "cat")))
                return;

        if (pipe2(fds, O_CLOEXEC) < 0)
                return; /* then without one */
        (void) fflush(stdout);
        pid = fork();
        if (pid < 0) {
                close(fds[0]);
                close(fds[1]);
                return;
        }
        if (pid == 0) {
                if (dup2(fds[0], STDIN_FILENO) < 0)
                        _exit(EXIT_FAILURE);
                close(fds[0]);
                close(fds[1]);
                /* Ctrl-C is the pager's to handle (less ignores it while paging). */
                (void) signal(SIGINT, SIG_DFL);
                run_pager(pager);
        }
        if (dup2(fds[1], STDOUT_FILENO) < 0) {
                close(fds[0]);
                close(fds[1]);
                (void) kill(pid, SIGTERM);
                (void) waitpid(pid, NULL, 0);
                return;
        }
        close(fds[0]);
        close(fds[1]);
        pager_pid = pid;
        (void) atexit(pager_close);
}
