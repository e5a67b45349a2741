/* The words of a refusal: what refused and what changes it, for Response's "message". */
#include "denial.h"

#include <stdio.h>

#include "util.h"

static const char *const denial_names[_DENIAL_MAX] = {
        [DENIAL_POLICY] = "policy",
        [DENIAL_POLICY_ERROR] = "policy-error",
        [DENIAL_POLKIT] = "polkit",
        [DENIAL_STORED] = "stored",
        [DENIAL_USER] = "user",
        [DENIAL_DISMISSED] = "dismissed",
        [DENIAL_NOTHING_CHOSEN] = "nothing-chosen",
        [DENIAL_NO_AGENT] = "no-agent",
        [DENIAL_AGENT_FAILED] = "agent-failed",
        [DENIAL_TIMEOUT] = "timeout",
        [DENIAL_BACKOFF] = "backoff",
        [DENIAL_NOT_IN_FRONT] = "not-in-front",
};

const char *denial_to_string(Denial d) {
        return d >= 0 && d < _DENIAL_MAX ? denial_names[d] : NULL;
}

Denial denial_from_string(const char *s) {
        for (Denial d = 0; s && d < _DENIAL_MAX; d++)
                if (streq(s, denial_names[d]))
                        return d;
        return _DENIAL_INVALID;
}

static const char *kind_name(DeviceKind k) {
        return k == DEVICE_KIND_VIDEO ? "camera" : "microphone";
}

/* s as one word of a POSIX shell: as it is when every character is plain, else in single
 * quotes (a quote inside becomes '\''). */
static void put_shell_word(FILE *f, const char *s) {
        if (!isempty(s) && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                                     "_-.,:/@%+=") == strlen(s)) {
                fputs(s, f);
                return;
        }
        fputc('\'', f);
        for (; s && *s; s++)
                if (*s == '\'')
                        fputs("'\\''", f);
                else
                        fputc(*s, f);
        fputc('\'', f);
}

/* " --app APP [--origin ORIGIN]" or " APP KIND [--origin ORIGIN]" for the commands below. */
static void put_app(FILE *f, const DenialContext *c, bool positional) {
        fputs(positional ? " " : " --app ", f);
        put_shell_word(f, c->app_id);
        if (positional)
                fprintf(f, " %s", kind_name(c->kind));
        else
                fprintf(f, " --kind %s", kind_name(c->kind));
        if (!isempty(c->origin)) {
                fputs(" --origin ", f);
                put_shell_word(f, c->origin);
        }
}

static void put_policy(FILE *f, const DenialContext *c) {
        fprintf(f, "The admin policy denies the %s", kind_name(c->kind));
        if (c->rule_file)
                fprintf(f, " (rule %s:%u)", c->rule_file, c->rule_line);
        fputs(". Why: mediactl policy check", f);
        put_app(f, c, false);
        fputs("; an admin changes the rule, then runs: mediactl policy reload", f);
}

static void put_sentence(FILE *f, Denial d, const DenialContext *c) {
        const char *kind = kind_name(c->kind);

        switch (d) {
        case DENIAL_POLICY:
                put_policy(f, c);
                break;
        case DENIAL_POLICY_ERROR:
                fputs("The admin policy could not be evaluated, which denies. See the problems with: "
                      "mediactl policy check", f);
                put_app(f, c, false);
                break;
        case DENIAL_POLKIT:
                fprintf(f, "polkit does not authorize this session to use the %s (action org.mediagate.%s; by "
                        "default only local, active sessions may). An admin can allow more with a polkit rule; "
                        "see: pkaction --verbose --action-id org.mediagate.%s", kind, kind, kind);
                break;
        case DENIAL_STORED:
                fprintf(f, "Permission denied: \"always deny\" is stored for the %s of this app. To be asked "
                        "again: mediactl grants revoke", kind);
                put_app(f, c, true);
                break;
        case DENIAL_USER:
                fputs("Permission denied by the user.", f);
                break;
        case DENIAL_DISMISSED:
                fputs("The prompt was dismissed. Nothing was stored; the next request asks again.", f);
                break;
        case DENIAL_NOTHING_CHOSEN:
                fprintf(f, "No %s was chosen in the prompt.", kind);
                break;
        case DENIAL_NO_AGENT:
                fprintf(f, "No consent agent is available to ask user %u. Start one with: systemctl --user start "
                        "mediagate-agent.service (or run: mediactl agent)", (unsigned) c->uid);
                break;
        case DENIAL_AGENT_FAILED:
                fputs("The consent agent failed to show or answer the prompt. See its log: journalctl --user -u "
                      "mediagate-agent", f);
                break;
        case DENIAL_TIMEOUT:
                fputs("Nobody answered the prompt in time (PromptTimeoutSec= of mediagated.conf).", f);
                break;
        case DENIAL_BACKOFF:
                fputs("Refused too often; the user is not asked again for a while (10 s after the third "
                      "refusal, doubling up to an hour).", f);
                break;
        case DENIAL_NOT_IN_FRONT:
                fputs("The session that asks is not in front (another user's session is active, or the screen "
                      "is locked); nobody is asked there. Ask again from the active session.", f);
                break;
        default:
                fputs("Permission denied.", f);
        }
}

char *denial_message(Denial d, const DenialContext *c) {
        char *s = NULL;
        size_t size = 0;
        FILE *f;

        f = open_memstream(&s, &size);
        if (!f)
                return NULL;
        put_sentence(f, d, c);
        if (fclose(f) != 0) {
                free(s);
                return NULL;
        }
        return s;
}
