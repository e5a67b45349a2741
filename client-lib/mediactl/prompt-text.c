/* The words of a consent prompt, in the user's language, for every front end: who asks (the app
 * by its desktop name, a web page by its origin), for what, why, and the answers there are; and
 * the one grammar of a typed answer. */
#include <inttypes.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>

#include "agent.h"

char *prompt_summary(const Prompt *p) {
        bool camera = strv_contains(p->kinds, "camera"), microphone = strv_contains(p->kinds, "microphone");
        const char *who = !isempty(p->origin) ? p->origin : p->app.name ?: p->app_id;
        char *s;

        if (asprintf(&s,
                     camera && microphone ? _("%s wants to use your camera and microphone") :
                     camera               ? _("%s wants to use your camera") :
                                            _("%s wants to use your microphone"),
                     strempty(who)) < 0)
                return NULL;
        return s;
}

const char *prompt_device_kind_name(const char *kind) {
        if (streq(kind, "videoinput"))
                return _("camera");
        if (streq(kind, "audioinput"))
                return _("microphone");
        return kind;
}

/* The body may carry the markup of the notification specification: what others say is text. */
static void put_text(FILE *f, const char *s, bool markup) {
        if (markup)
                fput_markup_escaped(f, s);
        else
                fputs(strempty(s), f);
}

static void put_line_start(FILE *f, const char *indent, const char *label, bool *first) {
        if (!*first)
                fputc('\n', f);
        *first = false;
        fprintf(f, "%s%s ", indent, label);
}

static void put_app(FILE *f, const Prompt *p, bool markup) {
        put_text(f, p->app.name ?: p->app_id, markup);
        if (p->app.name && !streq_ptr(p->app.name, p->app_id)) {
                fputs(" (", f);
                put_text(f, p->app_id, markup);
                fputc(')', f);
        }
}

static void put_process(FILE *f, const Prompt *p) {
        struct passwd *pw = p->have_uid ? getpwuid(p->uid) : NULL;
        _cleanup_free_ char *user = pw ? terminal_safe(pw->pw_name) : NULL;
        char uid[16];

        snprintf(uid, sizeof uid, "%" PRIu32, p->uid);
        if (p->have_pid)
                fprintf(f, _("pid %u, user %s"), (unsigned) p->pid, user ?: uid);
        else
                fprintf(f, _("user %s"), user ?: uid);
}

char *prompt_details(const Prompt *p, const char *indent, bool markup) {
        _cleanup_free_ char *s = NULL;
        bool first = true;
        size_t size = 0;
        FILE *f;

        f = open_memstream(&s, &size);
        if (!f)
                return NULL;
        put_line_start(f, indent, _("App:"), &first);
        put_app(f, p, markup);
        if (!isempty(p->origin)) {
                put_line_start(f, indent, _("Web site:"), &first);
                put_text(f, p->origin, markup);
        }
        if (!isempty(p->reason)) {
                put_line_start(f, indent, _("It says:"), &first);
                fputs("\xe2\x80\x9c", f);
                put_text(f, p->reason, markup);
                fputs("\xe2\x80\x9d", f);
        }
        if (p->have_uid || p->have_pid) {
                put_line_start(f, indent, _("Process:"), &first);
                put_process(f, p);
        }
        for (size_t i = 0; i < p->n_devices; i++) {
                put_line_start(f, indent, i == 0 ? _("Devices:") : "        ", &first);
                fprintf(f, "%zu. %s  ", i + 1, prompt_device_kind_name(p->devices[i].kind));
                put_text(f, p->devices[i].label, markup);
        }
        if (fclose(f) != 0)
                return NULL;
        return TAKE_PTR(s);
}

const char *prompt_choices_text(void) {
        return _("Allow? [o]nce, [a]lways, [t N] for N minutes, [d]eny, [n]ever (deny always).\n"
                 "Device numbers after the answer limit it to those devices (\"o 1\"): ");
}

static const char *answer_decision(const char *word) {
        static const struct {
                const char *words[3];
                const char *decision;
        } answers[] = {
                { { "o", "once", "allow-once" }, "allow-once" },
                { { "a", "always", "allow-always" }, "allow-always" },
                { { "t", "timed", "allow-timed" }, "allow-timed" },
                { { "d", "deny", "deny-once" }, "deny-once" },
                { { "n", "never", "deny-always" }, "deny-always" },
        };

        for (size_t i = 0; i < ELEMENTSOF(answers); i++)
                for (size_t j = 0; j < ELEMENTSOF(answers[i].words); j++)
                        if (streq(word, answers[i].words[j]))
                                return answers[i].decision;
        return NULL;
}

static int answer_error(char **ret_error, const char *format, ...) _printf_(2, 3);
static int answer_error(char **ret_error, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        if (vasprintf(ret_error, format, ap) < 0)
                *ret_error = NULL;
        va_end(ap);
        return -EINVAL;
}

int prompt_parse_answer(const Prompt *p, const char *line, const char **ret_decision, uint32_t *ret_seconds,
                        char ***ret_picked, char **ret_error) {
        _cleanup_free_ char *copy = strdup(line);
        _cleanup_free_ bool *matched = calloc(MAX(p->n_devices, 1u), sizeof(bool));
        const char *decision;
        uint32_t seconds = 0;
        char *word, *save = NULL;

        *ret_error = NULL;
        if (!copy || !matched)
                return -ENOMEM;
        word = strtok_r(copy, " \t\r\n", &save);
        if (!word)
                return answer_error(ret_error, "%s", _("Give an answer."));
        decision = answer_decision(word);
        if (!decision) {
                _cleanup_free_ char *safe = terminal_safe(word);

                return answer_error(ret_error, _("'%s' is not an answer."), strempty(safe));
        }
        if (streq(decision, "allow-timed")) {
                uint32_t minutes;

                word = strtok_r(NULL, " \t\r\n", &save);
                if (!word || safe_atou32(word, &minutes) < 0 || minutes == 0 || minutes > ALLOW_TIMED_MAX_SECONDS / 60)
                        return answer_error(ret_error, _("'t' needs a number of minutes, 1 to %u."),
                                            ALLOW_TIMED_MAX_SECONDS / 60);
                seconds = minutes * 60;
        }
        while ((word = strtok_r(NULL, " \t\r\n", &save))) {
                uint32_t n;

                if (safe_atou32(word, &n) < 0 || n < 1 || n > p->n_devices) {
                        _cleanup_free_ char *safe = terminal_safe(word);

                        return answer_error(ret_error, _("'%s' is not one of the device numbers."), strempty(safe));
                }
                matched[n - 1] = true;
        }
        *ret_decision = decision;
        *ret_seconds = seconds;
        return prompt_pick(p, matched, ret_picked);
}
