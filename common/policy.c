/* The admin policy: one parse of each file of the policy directory into [Rule]s and [Brokers],
 * one rule for broken files (they grant nothing), and the evaluation of a request. */
#include "policy.h"

#include <ctype.h>
#include <dirent.h>
#include <fnmatch.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "app-id.h"
#include "ini.h"
#include "log.h"
#include "origin.h"

/* The conditions of a rule, also the bits of PolicyRule.dropped. */
typedef enum RuleKey {
        KEY_APPS,
        KEY_ORIGINS,
        KEY_USERS,
        KEY_GROUPS,
        KEY_KINDS,
        KEY_DEVICES,
        _KEY_MAX,
} RuleKey;

static const char *const key_names[_KEY_MAX] = {
        [KEY_APPS] = "Apps",       [KEY_ORIGINS] = "Origins", [KEY_USERS] = "Users",
        [KEY_GROUPS] = "Groups",   [KEY_KINDS] = "Kinds",     [KEY_DEVICES] = "Devices",
};

typedef struct PolicyRule {
        const char *file; /* owned by Policy.files */
        unsigned line;    /* of the [Rule] header, or of the error for a file that denies everything */

        /* Words as written (NULL: the condition is left out, it matches everything). Origins
         * holds "" for "none"; users and groups are resolved into uids and gids alongside. */
        char **words[_KEY_MAX];
        uid_t *uids;
        gid_t *gids;
        unsigned kinds; /* 1 << DeviceKind */

        PolicyDecision decision; /* what it decides */
        bool locked;
        PolicyDecision written; /* Decision= as written; POLICY_NONE when missing or bad */
        bool lock_written;
        char *broken;    /* its file's first error when the file is broken; the rule then denies */
        bool everything; /* the file could not be read or split into sections: denies every request */

        /* Parsing state. */
        unsigned dropped; /* 1 << RuleKey: conditions with an error, left out */
        bool decision_given, lock_given;
} PolicyRule;

struct Policy {
        PolicyRule *rules;
        size_t n_rules;
        char **brokers;
        char **files;  /* the path of every file read, in order */
        char **errors; /* "FILE:LINE: message" */
        PolicyResolver resolver;
};

const char *policy_decision_to_string(PolicyDecision d) {
        static const char *const names[_POLICY_DECISION_MAX] = {
                [POLICY_NONE] = "none",
                [POLICY_ALLOW] = "allow",
                [POLICY_DENY] = "deny",
                [POLICY_PROMPT] = "prompt",
        };

        return d >= 0 && d < _POLICY_DECISION_MAX ? names[d] : NULL;
}

static PolicyDecision policy_decision_from_string(const char *s) {
        if (streq(s, "allow"))
                return POLICY_ALLOW;
        if (streq(s, "deny"))
                return POLICY_DENY;
        if (streq(s, "prompt"))
                return POLICY_PROMPT;
        return POLICY_NONE;
}

/* uid_t and gid_t values that never name a user or group: -1 and the 16-bit -1. */
static bool id_is_valid(uint32_t id) {
        return id != UINT32_MAX && id != UINT16_MAX;
}

/* ---- the NSS resolver ---- */

/* glibc answers "not found" with 0 and a NULL result; other libcs (and NSS modules) with these. */
static bool errno_is_not_found(int e) {
        return e == 0 || e == ENOENT || e == ESRCH;
}

static size_t nss_buffer_size(int name) {
        long n = sysconf(name);

        return n > 0 ? (size_t) n : 4096;
}

#define NSS_BUFFER_MAX (4U * 1024U * 1024U)

/* The uid of a user name or the gid of a group name from NSS: 1 and the id, 0 when there is none. */
static int nss_id_by_name(const char *name, bool group, uint32_t *ret) {
        for (size_t size = nss_buffer_size(group ? _SC_GETGR_R_SIZE_MAX : _SC_GETPW_R_SIZE_MAX);
             size <= NSS_BUFFER_MAX; size *= 2) {
                _cleanup_free_ char *buf = malloc(size);
                struct passwd pw, *pw_result = NULL;
                struct group gr, *gr_result = NULL;
                int e;

                if (!buf)
                        return -ENOMEM;
                e = group ? getgrnam_r(name, &gr, buf, size, &gr_result) : getpwnam_r(name, &pw, buf, size, &pw_result);
                if (e == ERANGE)
                        continue;
                if (pw_result || gr_result) {
                        *ret = group ? (uint32_t) gr.gr_gid : (uint32_t) pw.pw_uid;
                        return 1;
                }
                return errno_is_not_found(e) ? 0 : -e;
        }
        return -ERANGE;
}

static int nss_user_by_name(const char *name, uid_t *ret, void *userdata) {
        uint32_t id;
        int r;

        r = nss_id_by_name(name, false, &id);
        if (r > 0)
                *ret = (uid_t) id;
        return r;
}

static int nss_group_by_name(const char *name, gid_t *ret, void *userdata) {
        uint32_t id;
        int r;

        r = nss_id_by_name(name, true, &id);
        if (r > 0)
                *ret = (gid_t) id;
        return r;
}

static int nss_groups_of_uid(uid_t uid, gid_t **ret, size_t *ret_n, void *userdata) {
        _cleanup_free_ char *name = NULL;
        gid_t primary = 0;
        int n = 64;

        for (size_t size = nss_buffer_size(_SC_GETPW_R_SIZE_MAX); !name; size *= 2) {
                _cleanup_free_ char *buf = NULL;
                struct passwd pw, *result = NULL;
                int e;

                if (size > NSS_BUFFER_MAX)
                        return -ERANGE;
                buf = malloc(size);
                if (!buf)
                        return -ENOMEM;
                e = getpwuid_r(uid, &pw, buf, size, &result);
                if (e == ERANGE)
                        continue;
                if (!result) {
                        if (!errno_is_not_found(e))
                                return -e;
                        *ret = NULL; /* no user entry: in no group at all */
                        *ret_n = 0;
                        return 0;
                }
                name = strdup(pw.pw_name);
                if (!name)
                        return -ENOMEM;
                primary = pw.pw_gid;
        }

        for (;;) {
                _cleanup_free_ gid_t *gids = calloc((size_t) n, sizeof(gid_t));
                int k = n;

                if (!gids)
                        return -ENOMEM;
                if (getgrouplist(name, primary, gids, &k) >= 0) {
                        *ret = TAKE_PTR(gids);
                        *ret_n = (size_t) k;
                        return 1;
                }
                /* Too small: k is the size needed (some versions leave it; grow anyway). */
                if (n >= 65536)
                        return -ERANGE;
                n = MAX(k, n * 2);
        }
}

const PolicyResolver policy_resolver_nss = {
        .user_by_name = nss_user_by_name,
        .group_by_name = nss_group_by_name,
        .groups_of_uid = nss_groups_of_uid,
};

/* ---- rules ---- */

static void rule_clear_key(PolicyRule *rule, RuleKey k) {
        strv_free(rule->words[k]);
        rule->words[k] = NULL;
        if (k == KEY_USERS) {
                free(rule->uids);
                rule->uids = NULL;
        }
        if (k == KEY_GROUPS) {
                free(rule->gids);
                rule->gids = NULL;
        }
        if (k == KEY_KINDS)
                rule->kinds = 0;
}

static void rule_done(PolicyRule *rule) {
        for (RuleKey k = 0; k < _KEY_MAX; k++)
                rule_clear_key(rule, k);
        free(rule->broken);
}

static void rules_free(PolicyRule *rules, size_t n) {
        for (size_t i = 0; i < n; i++)
                rule_done(&rules[i]);
        free(rules);
}

static int rules_append(PolicyRule **rules, size_t *n, const PolicyRule *rule) {
        PolicyRule *grown = reallocarray(*rules, *n + 1, sizeof(PolicyRule));

        if (!grown)
                return -ENOMEM;
        grown[(*n)++] = *rule;
        *rules = grown;
        return 0;
}

/* The rule as it reads in a policy file, on one line, its conditions in a fixed order. */
static int rule_to_text(const PolicyRule *rule, char **ret) {
        _cleanup_free_ char *s = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        size_t size = 0;

        f = open_memstream(&s, &size);
        if (!f)
                return -ENOMEM;
        fputs("[Rule]", f);
        for (RuleKey k = 0; k < _KEY_MAX; k++) {
                if (k == KEY_KINDS) {
                        if (rule->kinds)
                                fprintf(f, " Kinds=%s%s%s",
                                        rule->kinds & (1U << DEVICE_KIND_VIDEO) ?
                                                device_kind_to_permission(DEVICE_KIND_VIDEO) : "",
                                        rule->kinds == ((1U << DEVICE_KIND_VIDEO) | (1U << DEVICE_KIND_AUDIO)) ? " " : "",
                                        rule->kinds & (1U << DEVICE_KIND_AUDIO) ?
                                                device_kind_to_permission(DEVICE_KIND_AUDIO) : "");
                        continue;
                }
                if (!rule->words[k])
                        continue;
                fprintf(f, " %s=", key_names[k]);
                for (char **w = rule->words[k]; *w; w++)
                        fprintf(f, "%s%s", w == rule->words[k] ? "" : " ",
                                k == KEY_ORIGINS && isempty(*w) ? "none" : *w);
        }
        if (rule->written != POLICY_NONE)
                fprintf(f, " Decision=%s", policy_decision_to_string(rule->written));
        if (rule->lock_written)
                fputs(" Lock=yes", f);
        if (fflush(f) != 0 || ferror(f))
                return -ENOMEM;
        fclose(TAKE_PTR(f)); /* s is complete only now */
        *ret = TAKE_PTR(s);
        return 0;
}

/* What the verdict shows in parentheses after "deny by FILE:LINE". quote_error: say the error
 * that broke the file, else point to the errors listed after the rules (policy_dump()), so that
 * each problem is printed once. */
static int rule_describe(const PolicyRule *rule, bool quote_error, char **ret) {
        _cleanup_free_ char *text = NULL;
        char *s;
        int r;

        if (rule->everything && !quote_error)
                r = asprintf(&s, "the file cannot be read or parsed and denies every request until it is fixed "
                             "(see the errors)");
        else if (rule->everything)
                r = asprintf(&s, "the file cannot be read or parsed and denies every request until it is fixed: %s",
                             rule->broken);
        else {
                r = rule_to_text(rule, &text);
                if (r < 0)
                        return r;
                if (rule->broken && !quote_error)
                        r = asprintf(&s, "%s, which denies because its file is broken (see the errors)", text);
                else if (rule->broken)
                        r = asprintf(&s, "%s, which denies because its file is broken: %s", text, rule->broken);
                else
                        s = TAKE_PTR(text);
        }
        if (r < 0)
                return -ENOMEM;
        *ret = s;
        return 0;
}

/* ---- parsing one file ---- */

typedef enum SectionKind {
        SECTION_NONE,
        SECTION_RULE,
        SECTION_BROKERS,
        SECTION_UNKNOWN,
} SectionKind;

typedef struct FileParse {
        Policy *policy;
        const char *path;
        const PolicyResolver *resolver;

        SectionKind section;
        PolicyRule rule; /* the [Rule] being read, when section == SECTION_RULE */
        PolicyRule *rules;
        size_t n_rules;
        char **brokers;

        char *first_error;   /* the file is broken: it grants nothing */
        char *fatal_error;   /* what it covers cannot be known: it denies everything */
        unsigned fatal_line;
} FileParse;

static void file_parse_done(FileParse *fp) {
        rule_done(&fp->rule);
        rules_free(fp->rules, fp->n_rules);
        strv_free(fp->brokers);
        free(fp->first_error);
        free(fp->fatal_error);
}

/* Report "FILE:LINE: message" (line 0: "FILE: message"), once in the log and once in
 * policy_errors(). fatal: what the file covers cannot be known. */
static int file_error(FileParse *fp, unsigned line, bool fatal, const char *format, ...) _printf_(4, 5);
static int file_error(FileParse *fp, unsigned line, bool fatal, const char *format, ...) {
        _cleanup_free_ char *message = NULL, *full = NULL;
        va_list ap;
        int r;

        va_start(ap, format);
        r = vasprintf(&message, format, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        if (line > 0)
                r = asprintf(&full, "%s:%u: %s", fp->path, line, message);
        else
                r = asprintf(&full, "%s: %s", fp->path, message);
        if (r < 0)
                return -ENOMEM;

        log_error("%s", full);
        r = strv_extend(&fp->policy->errors, full);
        if (r < 0)
                return r;
        if (!fp->first_error) {
                fp->first_error = strdup(full);
                if (!fp->first_error)
                        return -ENOMEM;
        }
        if (fatal && !fp->fatal_error) {
                fp->fatal_error = strdup(full);
                if (!fp->fatal_error)
                        return -ENOMEM;
                fp->fatal_line = line;
        }
        return 0;
}

/* Split value at whitespace into *ret (NULL when there is no word). */
static int split_words(const char *value, char ***ret) {
        _cleanup_strv_free_ char **words = NULL;
        const char *p = value;
        int r;

        for (;;) {
                _cleanup_free_ char *word = NULL;
                size_t len;

                while (isspace((unsigned char) *p))
                        p++;
                if (!*p)
                        break;
                for (len = 0; p[len] && !isspace((unsigned char) p[len]); len++)
                        ;
                word = strndup(p, len);
                if (!word)
                        return -ENOMEM;
                p += len;
                r = strv_extend(&words, word);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(words);
        return 0;
}

static bool is_printable_ascii(const char *s) {
        for (; *s; s++)
                if ((unsigned char) *s <= ' ' || (unsigned char) *s >= 0x7f)
                        return false;
        return true;
}

static bool is_decimal(const char *s) {
        if (!*s)
                return false;
        for (; *s; s++)
                if (!isdigit((unsigned char) *s))
                        return false;
        return true;
}

/* A user or group word: a decimal id, or a name resolved now. 0 with *ret set; 1 when the word
 * was reported as an error; -ENOMEM. */
static int resolve_id(FileParse *fp, unsigned line, bool group, const char *word, uint32_t *ret) {
        const char *what = group ? "group" : "user";
        uint32_t id;
        int r;

        if (is_decimal(word)) {
                r = safe_atou32(word, &id);
                if (r < 0 || !id_is_valid(id)) {
                        r = file_error(fp, line, false, "\"%s\" is not a valid %s id.", word, what);
                        return r < 0 ? r : 1;
                }
                *ret = id;
                return 0;
        }

        if (group) {
                gid_t gid = 0;

                r = fp->resolver->group_by_name(word, &gid, fp->resolver->userdata);
                id = (uint32_t) gid;
        } else {
                uid_t uid = 0;

                r = fp->resolver->user_by_name(word, &uid, fp->resolver->userdata);
                id = (uint32_t) uid;
        }
        if (r == -ENOMEM)
                return r;
        if (r == 0)
                r = file_error(fp, line, false, "unknown %s \"%s\".", what, word);
        else if (r < 0)
                r = file_error(fp, line, false, "cannot look up %s \"%s\": %s.", what, word, strerror(-r));
        else if (!id_is_valid(id))
                r = file_error(fp, line, false, "%s \"%s\" has the invalid id %" PRIu32 ".", what, word, id);
        else {
                *ret = id;
                return 0;
        }
        return r < 0 ? r : 1;
}

/* Check one word of a condition and add it to the rule. 0 added; 1 reported as an error; -ENOMEM. */
static int rule_add_word(FileParse *fp, PolicyRule *rule, unsigned line, RuleKey k, const char *word) {
        const char *stored = word;
        uint32_t id = 0;
        size_t n;
        int r;

        switch (k) {
        case KEY_APPS:
                /* A plain id must be one (catches "firefox" for "org.mozilla.firefox"); a glob
                 * cannot be checked that way, only for what no app id contains. */
                if (strpbrk(word, "*?[") ? !is_printable_ascii(word) : !app_id_is_valid(word)) {
                        r = file_error(fp, line, false, "\"%s\" is not an app id or glob.", word);
                        return r < 0 ? r : 1;
                }
                break;
        case KEY_ORIGINS:
                if (streq(word, "none"))
                        stored = "";
                else if (origin_pattern_check(word) < 0) {
                        r = file_error(fp, line, false,
                                       "\"%s\" is not an origin pattern (\"https://example.com\", "
                                       "\"https://*.example.com\", \"*\" or \"none\").", word);
                        return r < 0 ? r : 1;
                }
                break;
        case KEY_USERS:
        case KEY_GROUPS:
                r = resolve_id(fp, line, k == KEY_GROUPS, word, &id);
                if (r != 0)
                        return r;
                break;
        case KEY_KINDS:
                r = device_kind_from_permission(word);
                if (r < 0) {
                        r = file_error(fp, line, false, "unknown kind \"%s\" (camera or microphone).", word);
                        return r < 0 ? r : 1;
                }
                rule->kinds |= 1U << r;
                return 0;
        case KEY_DEVICES:
                if (!is_printable_ascii(word)) {
                        r = file_error(fp, line, false, "\"%s\" is not a device hardware id or glob.", word);
                        return r < 0 ? r : 1;
                }
                break;
        default:
                return -EINVAL;
        }

        /* The ids stay parallel to the words. */
        n = strv_length(rule->words[k]);
        if (k == KEY_USERS) {
                uid_t *grown = reallocarray(rule->uids, n + 1, sizeof(uid_t));

                if (!grown)
                        return -ENOMEM;
                grown[n] = (uid_t) id;
                rule->uids = grown;
        } else if (k == KEY_GROUPS) {
                gid_t *grown = reallocarray(rule->gids, n + 1, sizeof(gid_t));

                if (!grown)
                        return -ENOMEM;
                grown[n] = (gid_t) id;
                rule->gids = grown;
        }
        return strv_extend(&rule->words[k], stored);
}

static int rule_assign(FileParse *fp, unsigned line, const char *key, const char *value) {
        PolicyRule *rule = &fp->rule;
        _cleanup_strv_free_ char **words = NULL;
        RuleKey k;
        int r;

        if (streq(key, "Decision")) {
                if (rule->decision_given)
                        return file_error(fp, line, false, "Decision= given twice in one [Rule].");
                rule->decision_given = true;
                rule->written = policy_decision_from_string(value);
                if (rule->written == POLICY_NONE)
                        return file_error(fp, line, false, "unknown decision \"%s\" (allow, deny or prompt).",
                                          value);
                return 0;
        }
        if (streq(key, "Lock")) {
                if (rule->lock_given)
                        return file_error(fp, line, false, "Lock= given twice in one [Rule].");
                rule->lock_given = true;
                r = parse_boolean(value);
                if (r < 0)
                        return file_error(fp, line, false, "Lock= takes yes or no, not \"%s\".", value);
                rule->lock_written = r;
                return 0;
        }

        for (k = 0; k < _KEY_MAX; k++)
                if (streq(key, key_names[k]))
                        break;
        if (k == _KEY_MAX)
                return file_error(fp, line, false, "unknown key \"%s\" in [Rule].", key);

        r = split_words(value, &words);
        if (r < 0)
                return r;
        if (!words) {
                rule->dropped |= 1U << k;
                return file_error(fp, line, false, "%s= is empty; leave it out to match everything.", key);
        }
        for (char **w = words; *w; w++) {
                r = rule_add_word(fp, rule, line, k, *w);
                if (r < 0)
                        return r;
                if (r > 0)
                        rule->dropped |= 1U << k;
        }
        return 0;
}

static int brokers_assign(FileParse *fp, unsigned line, const char *key, const char *value) {
        _cleanup_strv_free_ char **words = NULL;
        int r;

        if (!streq(key, "Apps"))
                return file_error(fp, line, false, "unknown key \"%s\" in [Brokers].", key);

        r = split_words(value, &words);
        if (r < 0)
                return r;
        for (char **w = words; w && *w; w++) {
                if (!app_id_is_valid(*w)) {
                        r = file_error(fp, line, false, "\"%s\" is not an app id.", *w);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (strv_contains(fp->brokers, *w))
                        continue;
                r = strv_extend(&fp->brokers, *w);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The [Rule] being read is complete: check it, leave out the conditions with errors, keep it. */
static int finish_rule(FileParse *fp) {
        PolicyRule *rule = &fp->rule;
        int r;

        if (fp->section != SECTION_RULE)
                return 0;
        fp->section = SECTION_NONE;

        if (!rule->decision_given) {
                r = file_error(fp, rule->line, false, "[Rule] without Decision= (allow, deny or prompt).");
                if (r < 0)
                        return r;
        }
        for (RuleKey k = 0; k < _KEY_MAX; k++)
                if (rule->dropped & (1U << k))
                        rule_clear_key(rule, k);
        rule->decision = rule->written;
        rule->locked = rule->lock_written;

        r = rules_append(&fp->rules, &fp->n_rules, rule);
        if (r < 0)
                return r;
        *rule = (PolicyRule){};
        return 0;
}

static int on_assignment(const char *filename, unsigned line, const char *section, const char *key,
                         const char *value, void *userdata) {
        FileParse *fp = userdata;
        int r;

        if (!key) {
                r = finish_rule(fp);
                if (r < 0)
                        return r;
                if (streq(section, "Rule")) {
                        fp->section = SECTION_RULE;
                        fp->rule = (PolicyRule){ .line = line };
                } else if (streq(section, "Brokers"))
                        fp->section = SECTION_BROKERS;
                else {
                        /* "[Rules]" may well hold rules: what it meant to cover is unknown. */
                        fp->section = SECTION_UNKNOWN;
                        return file_error(fp, line, true, "unknown section [%s] ([Rule] or [Brokers]).", section);
                }
                return 0;
        }

        switch (fp->section) {
        case SECTION_NONE:
                return file_error(fp, line, true, "\"%s=\" outside of any section.", key);
        case SECTION_RULE:
                return rule_assign(fp, line, key, value);
        case SECTION_BROKERS:
                return brokers_assign(fp, line, key, value);
        case SECTION_UNKNOWN:
                return 0; /* already reported with the section */
        }
        return 0;
}

static void on_syntax_error(const char *filename, unsigned line, const char *message, void *userdata) {
        FileParse *fp = userdata;

        /* Out of memory here leaves the error unrecorded; the parse still fails, and the
         * file still denies everything through the catch-all below. */
        (void) file_error(fp, line, true, "%s.", message);
}

/* Hand what one file gave over to the policy, under the rule for broken files. */
static int file_commit(FileParse *fp) {
        Policy *p = fp->policy;
        int r;

        r = strv_extend(&p->files, fp->path);
        if (r < 0)
                return r;
        fp->path = p->files[strv_length(p->files) - 1];

        if (fp->fatal_error) {
                PolicyRule everything = {
                        .file = fp->path,
                        .line = fp->fatal_line,
                        .decision = POLICY_DENY,
                        .locked = true,
                        .everything = true,
                        .broken = TAKE_PTR(fp->fatal_error),
                };

                r = rules_append(&p->rules, &p->n_rules, &everything);
                if (r < 0)
                        rule_done(&everything);
                return r;
        }

        for (size_t i = 0; i < fp->n_rules; i++) {
                PolicyRule *rule = &fp->rules[i];

                rule->file = fp->path;
                if (fp->first_error) {
                        rule->decision = POLICY_DENY;
                        rule->locked = true;
                        rule->broken = strdup(fp->first_error);
                        if (!rule->broken)
                                return -ENOMEM;
                }
                r = rules_append(&p->rules, &p->n_rules, rule);
                if (r < 0)
                        return r;
                *rule = (PolicyRule){}; /* the policy owns it now */
        }

        if (fp->first_error) {
                if (fp->brokers)
                        log_warning("%s: ignoring the brokers of this broken file.", fp->path);
                return 0;
        }
        for (char **i = fp->brokers; i && *i; i++) {
                if (strv_contains(p->brokers, *i))
                        continue;
                r = strv_extend(&p->brokers, *i);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int load_text(Policy *p, const char *path, const char *text, size_t size, int read_error) {
        _cleanup_(file_parse_done) FileParse fp = {
                .policy = p,
                .path = path,
                .resolver = &p->resolver,
        };
        int r;

        if (read_error == -ENOMEM)
                return read_error;
        if (read_error == -EBADFD)
                r = file_error(&fp, 0, true, "not a regular file.");
        else if (read_error == -EFBIG)
                r = file_error(&fp, 0, true, "larger than %u bytes.", POLICY_FILE_MAX);
        else if (read_error < 0)
                r = file_error(&fp, 0, true, "cannot read: %s.", strerror(-read_error));
        else {
                r = ini_parse_text(text, size, path, on_assignment, on_syntax_error, &fp);
                if (r == -ENOMEM)
                        return r;
                if (r < 0 && !fp.fatal_error) /* the out-of-memory case of on_syntax_error() */
                        return -ENOMEM;
                /* After a syntax error the rule being read is cut short: the file denies
                 * everything anyway, and "no Decision=" would only be noise. */
                r = r < 0 ? 0 : finish_rule(&fp);
        }
        if (r < 0)
                return r;
        return file_commit(&fp);
}

/* systemd's convention: a drop-in that is a symlink to /dev/null is masked, not broken. */
static bool is_masked(const char *path) {
        struct stat st;

        return stat(path, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3);
}

static int load_file(Policy *p, const char *path) {
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        struct stat st;
        int r;

        if (is_masked(path)) {
                log_debug("%s is masked.", path);
                return 0;
        }
        r = read_full_file(path, POLICY_FILE_MAX, &text, &size);
        /* Removed since the directory was listed: gone, not broken. A dangling symlink is
         * broken: it may be a policy on a file system that is not mounted yet. */
        if (r == -ENOENT && lstat(path, &st) < 0 && errno == ENOENT) {
                log_debug("%s disappeared while the policy was read.", path);
                return 0;
        }
        return load_text(p, path, text, size, r);
}

static int policy_new(const PolicyResolver *resolver, Policy **ret) {
        Policy *p = calloc(1, sizeof(Policy));

        if (!p)
                return -ENOMEM;
        p->resolver = resolver ? *resolver : policy_resolver_nss;
        *ret = p;
        return 0;
}

static bool is_conf_file_name(const char *name) {
        size_t len = strlen(name);

        return name[0] != '.' && len > 5 && streq(name + len - 5, ".conf");
}

static int filter_conf(const struct dirent *de) {
        return is_conf_file_name(de->d_name);
}

static int compare_names(const struct dirent **a, const struct dirent **b) {
        return strcmp((*a)->d_name, (*b)->d_name); /* lexical, whatever the locale */
}

int policy_load_dir(const char *dir, const PolicyResolver *resolver, Policy **ret) {
        _cleanup_(policy_freep) Policy *p = NULL;
        struct dirent **entries = NULL;
        int n, r;

        if (!dir || !ret)
                return -EINVAL;

        r = policy_new(resolver, &p);
        if (r < 0)
                return r;

        n = scandir(dir, &entries, filter_conf, compare_names);
        if (n < 0) {
                if (errno == ENOENT) {
                        log_debug("%s does not exist: no admin policy.", dir);
                        *ret = TAKE_PTR(p);
                        return 0;
                }
                return log_error_errno(errno, "Cannot list the policy directory %s: %m", dir);
        }

        r = 0;
        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *path = NULL;

                if (r >= 0) {
                        if (asprintf(&path, "%s/%s", dir, entries[i]->d_name) < 0)
                                r = -ENOMEM;
                        else
                                r = load_file(p, path);
                }
                free(entries[i]);
        }
        free(entries);
        if (r < 0)
                return r;

        log_debug("Admin policy from %s: %zu rule(s), %zu broker(s), %zu error(s).", dir, p->n_rules,
                  strv_length(p->brokers), strv_length(p->errors));
        *ret = TAKE_PTR(p);
        return 0;
}

int policy_load_text(const char *text, size_t size, const char *filename, const PolicyResolver *resolver,
                     Policy **ret) {
        _cleanup_(policy_freep) Policy *p = NULL;
        int r;

        if (!text || !filename || !ret)
                return -EINVAL;

        r = policy_new(resolver, &p);
        if (r < 0)
                return r;
        r = load_text(p, filename, text, size, 0);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(p);
        return 0;
}

Policy *policy_free(Policy *p) {
        if (!p)
                return NULL;
        rules_free(p->rules, p->n_rules);
        strv_free(p->brokers);
        strv_free(p->files);
        strv_free(p->errors);
        free(p);
        return NULL;
}

/* ---- evaluation ---- */

/* The groups of the query's uid, looked up once per evaluation and only if a rule needs them. */
typedef struct Membership {
        bool looked_up;
        int error; /* < 0: unknown */
        gid_t *gids;
        size_t n_gids;
} Membership;

static bool rule_matches_groups(const Policy *p, const PolicyRule *rule, uid_t uid, Membership *m) {
        char **words = rule->words[KEY_GROUPS];

        if (!m->looked_up) {
                m->looked_up = true;
                m->error = p->resolver.groups_of_uid(uid, &m->gids, &m->n_gids, p->resolver.userdata);
                if (m->error == 0) /* no user entry: in no group at all */
                        m->n_gids = 0;
                if (m->error > 0)
                        m->error = 0;
                if (m->error < 0)
                        log_warning_errno(m->error, "Cannot look up the groups of uid %" PRIu32 ": %m",
                                          (uint32_t) uid);
        }
        /* Unknown: the answer that cannot widen access. Counting the uid in makes a deny or a
         * locked prompt apply; counting it out keeps an allow from applying. */
        if (m->error < 0)
                return rule->decision != POLICY_ALLOW;

        for (size_t i = 0; words && words[i]; i++)
                for (size_t j = 0; j < m->n_gids; j++)
                        if (rule->gids[i] == m->gids[j])
                                return true;
        return false;
}

static bool any_glob_matches(char **globs, const char *s) {
        for (char **g = globs; *g; g++)
                if (fnmatch(*g, s, 0) == 0)
                        return true;
        return false;
}

static bool rule_matches(const Policy *p, const PolicyRule *rule, const PolicyQuery *q, Membership *m) {
        char **w;
        size_t i;

        if (rule->everything)
                return true;
        if (rule->kinds && !(rule->kinds & (1U << q->kind)))
                return false;
        if (rule->words[KEY_USERS]) {
                for (i = 0; rule->words[KEY_USERS][i]; i++)
                        if (rule->uids[i] == q->uid)
                                break;
                if (!rule->words[KEY_USERS][i])
                        return false;
        }
        if (rule->words[KEY_APPS] && !any_glob_matches(rule->words[KEY_APPS], q->app_id))
                return false;
        if (rule->words[KEY_ORIGINS]) {
                for (w = rule->words[KEY_ORIGINS]; *w; w++)
                        if (origin_pattern_match(*w, q->origin))
                                break;
                if (!*w)
                        return false;
        }
        if (rule->words[KEY_DEVICES] && (!q->hardware_id || !any_glob_matches(rule->words[KEY_DEVICES], q->hardware_id)))
                return false;
        if (rule->words[KEY_GROUPS] && !rule_matches_groups(p, rule, q->uid, m))
                return false;
        return true;
}

int policy_evaluate(const Policy *p, const PolicyQuery *q, PolicyVerdict *ret) {
        /* Per decision: the first matching rule, and the first locked one. */
        const PolicyRule *first[_POLICY_DECISION_MAX] = {}, *first_locked[_POLICY_DECISION_MAX] = {};
        Membership m = {};
        const PolicyRule *deciding = NULL;
        PolicyDecision winner = POLICY_NONE;
        _cleanup_free_ char *description = NULL;
        char *explanation;
        int r;

        if (!q || !ret || !q->app_id || !id_is_valid((uint32_t) q->uid) || (unsigned) q->kind >= _DEVICE_KIND_MAX)
                return -EINVAL;

        for (size_t i = 0; p && i < p->n_rules; i++) {
                const PolicyRule *rule = &p->rules[i];

                if (!rule_matches(p, rule, q, &m))
                        continue;
                if (!first[rule->decision])
                        first[rule->decision] = rule;
                if (rule->locked && !first_locked[rule->decision])
                        first_locked[rule->decision] = rule;
        }
        free(m.gids);

        if (first[POLICY_DENY])
                winner = POLICY_DENY;
        else if (first[POLICY_ALLOW])
                winner = POLICY_ALLOW;
        else if (first[POLICY_PROMPT])
                winner = POLICY_PROMPT;

        if (winner == POLICY_NONE) {
                explanation = strdup("no rule matches: the user's stored decisions and prompts decide");
                if (!explanation)
                        return -ENOMEM;
                *ret = (PolicyVerdict){ .decision = POLICY_NONE, .explanation = explanation };
                return 0;
        }

        /* A deny is absolute either way; for allow and prompt, the rule that locks is the one
         * that explains why the user's own decision does not count. */
        deciding = winner != POLICY_DENY && first_locked[winner] ? first_locked[winner] : first[winner];
        r = rule_describe(deciding, true, &description);
        if (r < 0)
                return r;
        if (deciding->line > 0)
                r = asprintf(&explanation, "%s by %s:%u (%s)", policy_decision_to_string(winner), deciding->file,
                             deciding->line, description);
        else
                r = asprintf(&explanation, "%s by %s (%s)", policy_decision_to_string(winner), deciding->file,
                             description);
        if (r < 0)
                return -ENOMEM;
        if (m.error < 0 && deciding->words[KEY_GROUPS]) {
                char *longer;

                r = asprintf(&longer, "%s; the groups of uid %" PRIu32 " could not be looked up (%s), so it counts as a member",
                             explanation, (uint32_t) q->uid, strerror(-m.error));
                free(explanation);
                if (r < 0)
                        return -ENOMEM;
                explanation = longer;
        }

        *ret = (PolicyVerdict){
                .decision = winner,
                /* A deny can never be overridden, locked or not. */
                .locked = winner == POLICY_DENY || first_locked[winner],
                .file = deciding->file,
                .line = deciding->line,
                .explanation = explanation,
        };
        return 0;
}

void policy_verdict_done(PolicyVerdict *v) {
        if (!v)
                return;
        free(v->explanation);
        *v = (PolicyVerdict){};
}

PolicyDecision policy_resolve(const PolicyVerdict *v, bool polkit_allowed, PolicyDecision stored) {
        PolicyDecision d = v ? v->decision : POLICY_NONE;
        bool locked = v && v->locked;

        if (d == POLICY_DENY)
                return POLICY_DENY;
        if (!polkit_allowed)
                return POLICY_DENY;
        if (d == POLICY_ALLOW)
                return locked || stored != POLICY_DENY ? POLICY_ALLOW : POLICY_DENY;
        /* From here on the user's own decision counts, except that a locked prompt does not let a
         * stored allow skip the question. */
        if (stored == POLICY_DENY)
                return POLICY_DENY;
        if (d == POLICY_PROMPT && locked)
                return POLICY_PROMPT;
        if (stored == POLICY_ALLOW)
                return POLICY_ALLOW;
        return POLICY_PROMPT;
}

/* ---- brokers and inspection ---- */

bool policy_is_broker(const Policy *p, const char *app_id) {
        if (!p || !app_id)
                return false;
        return strv_contains(p->brokers, app_id);
}

static char *const empty_strv[] = { NULL };

char *const *policy_brokers(const Policy *p) {
        return p && p->brokers ? p->brokers : empty_strv;
}

char *const *policy_errors(const Policy *p) {
        return p && p->errors ? p->errors : empty_strv;
}

size_t policy_n_rules(const Policy *p) {
        return p ? p->n_rules : 0;
}

static int dump(const Policy *p, bool quote_errors, FILE *f) {
        fputs("[Brokers] Apps=", f);
        for (char *const *b = policy_brokers(p); *b; b++)
                fprintf(f, "%s%s", b == policy_brokers(p) ? "" : " ", *b);
        fputc('\n', f);

        for (size_t i = 0; i < policy_n_rules(p); i++) {
                const PolicyRule *rule = &p->rules[i];
                _cleanup_free_ char *description = NULL;
                int r;

                r = rule_describe(rule, quote_errors, &description);
                if (r < 0)
                        return r;
                if (rule->line > 0)
                        fprintf(f, "%s:%u: %s: %s\n", rule->file, rule->line,
                                policy_decision_to_string(rule->decision), description);
                else
                        fprintf(f, "%s: %s: %s\n", rule->file, policy_decision_to_string(rule->decision),
                                description);
        }

        for (char *const *e = policy_errors(p); *e; e++)
                fprintf(f, "error: %s\n", *e);
        return ferror(f) ? -EIO : 0;
}

int policy_dump(const Policy *p, FILE *f) {
        return dump(p, true, f);
}

int policy_dump_once(const Policy *p, FILE *f) {
        return dump(p, false, f);
}
