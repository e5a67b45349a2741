/* The agent's terminal front end: one question at a time on the terminal (app, web site, reason,
 * process, devices), answered with a line on standard input: once, always, for N minutes, deny,
 * never, and device numbers. */
#include <stdlib.h>

#include "agent.h"

typedef struct Terminal {
        sd_event_source *input_source;
        char input[4096];
        size_t n_input;
        Prompt *on_screen; /* the question asked; the others wait in the agent's queue */
} Terminal;

static Terminal *terminal_of(Agent *a) {
        return a->frontend_state;
}

static void print_question(Agent *a, const Prompt *p) {
        _cleanup_free_ char *summary = prompt_summary(p), *details = prompt_details(p, "  ", false);

        fprintf(a->out, "\nmediactl agent: %s.\n%s\n%s", strempty(summary), strempty(details), prompt_choices_text());
        fflush(a->out);
}

/* Ask the oldest prompt but skip, unless one is on screen already. */
static void ask_next(Agent *a, const Prompt *skip) {
        Terminal *t = terminal_of(a);

        if (t->on_screen)
                return;
        for (Prompt *p = a->queue; p; p = p->next)
                if (p != skip) {
                        t->on_screen = p;
                        print_question(a, p);
                        return;
                }
}

static void terminal_ask(Agent *a, Prompt *p) {
        ask_next(a, NULL);
}

static void terminal_withdraw(Agent *a, Prompt *p, PromptEnd how) {
        Terminal *t = terminal_of(a);
        bool on_screen = t->on_screen == p;
        const char *who = !isempty(p->origin) ? p->origin : p->app.name;

        if (on_screen)
                t->on_screen = NULL;
        if (how == PROMPT_END_WITHDRAWN) {
                fprintf(a->out, on_screen ? _("\nmediactl agent: withdrawn: %s no longer asks.\n") :
                                            _("mediactl agent: withdrawn before it was asked: %s no longer asks.\n"),
                        strempty(who));
                fflush(a->out);
        }
        if (on_screen && how != PROMPT_END_LEAVING)
                ask_next(a, p);
}

/* One line the user typed. Returns false when it is no answer (the question is asked again). */
static bool handle_answer_line(Agent *a, const char *line) {
        Terminal *t = terminal_of(a);
        Prompt *p = t->on_screen;
        _cleanup_strv_free_ char **picked = NULL;
        _cleanup_free_ char *error = NULL;
        const char *decision;
        uint32_t seconds;
        int r;

        r = prompt_parse_answer(p, line, &decision, &seconds, &picked, &error);
        if (r == -EINVAL) {
                fprintf(a->out, "mediactl agent: %s\n", strempty(error));
                return false;
        }
        if (r >= 0 && !picked)
                r = agent_pick_from_arguments(a, p, &picked);
        if (r < 0)
                return false;
        t->on_screen = NULL;
        agent_answer(a, p, decision, seconds, picked);
        ask_next(a, NULL);
        return true;
}

static int on_input(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Agent *a = userdata;
        Terminal *t = terminal_of(a);
        ssize_t n;
        char *nl;

        n = read(fd, t->input + t->n_input, sizeof(t->input) - 1 - t->n_input);
        if (n < 0) {
                if (errno == EAGAIN || errno == EINTR)
                        return 0;
                fprintf(stderr, "mediactl agent: failed to read the answer: %m\n");
                agent_quit(a, EXIT_FAILURE);
                return 0;
        }
        if (n == 0) {
                fputs(_("\nmediactl agent: end of input, nobody is left to ask; unregistering.\n"), a->out);
                agent_quit(a, EXIT_SUCCESS);
                return 0;
        }
        t->n_input += (size_t) n;
        t->input[t->n_input] = '\0';

        while ((nl = strchr(t->input, '\n'))) {
                *nl = '\0';
                if (!t->on_screen)
                        fputs(_("mediactl agent: no question is open; ignoring the input.\n"), a->out);
                else if (!handle_answer_line(a, t->input))
                        fputs(prompt_choices_text(), a->out);
                fflush(a->out);
                memmove(t->input, nl + 1, t->n_input - (size_t) (nl + 1 - t->input) + 1);
                t->n_input -= (size_t) (nl + 1 - t->input);
        }
        if (t->n_input == sizeof(t->input) - 1) {
                fputs(_("mediactl agent: that line is too long; ignoring it.\n"), a->out);
                t->n_input = 0;
        }
        return 0;
}

static int terminal_start(Agent *a) {
        Terminal *t;
        int r;

        t = calloc(1, sizeof(Terminal));
        if (!t)
                return print_errno(-ENOMEM, "Failed to set up the terminal"), -ENOMEM;
        a->frontend_state = t;
        r = sd_event_add_io(a->event, &t->input_source, STDIN_FILENO, EPOLLIN, on_input, a);
        if (r == -EPERM) {
                fprintf(stderr, "mediactl: the agent asks on standard input, which must be a terminal or a pipe; use "
                        "--auto to answer without asking, or --notifications.\n");
                return r;
        }
        if (r < 0)
                return print_errno(r, "Failed to watch standard input"), r;
        return 0;
}

static void terminal_stop(Agent *a) {
        Terminal *t = terminal_of(a);

        if (!t)
                return;
        sd_event_source_disable_unref(t->input_source);
        free(t);
        a->frontend_state = NULL;
}

static void terminal_print_ready(Agent *a) {
        fputs(_("mediactl agent: ready; questions will appear here. Ctrl-C to stop.\n"), stdout);
}

const AgentFrontend agent_frontend_terminal = {
        .mode = "interactive",
        .start = terminal_start,
        .ask = terminal_ask,
        .withdraw = terminal_withdraw,
        .stop = terminal_stop,
        .print_ready = terminal_print_ready,
};
