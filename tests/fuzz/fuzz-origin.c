/* libFuzzer harness for web origins and origin patterns: the input is an origin, optionally
 * followed by a newline and a pattern. Besides memory errors it checks what origin.h promises:
 * normalizing is idempotent and length-bounded, origin_check() agrees with origin_normalize() and
 * origin_is_secure(), and whether a pattern matches does not depend on how the origin is spelled. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "origin.h"
#include "util.h"

/* Patterns every origin is also tried against. */
static const char *const fixed_patterns[] = {
        "*", "", "https://example.com", "https://*.example.com", "http://localhost:8080", "https://[::1]",
        "file://",
};

static void check_origin(const char *in) {
        _cleanup_free_ char *normalized = NULL, *again = NULL, *checked = NULL;
        int r, r2;

        r = origin_normalize(in, &normalized);
        if (r < 0) {
                if (r != -EINVAL)
                        abort();
                if (origin_check(in, NULL) != -EINVAL || origin_is_secure(in))
                        abort();
                return;
        }
        if (!normalized || strlen(normalized) > ORIGIN_MAX)
                abort();

        r2 = origin_normalize(normalized, &again);
        if (r2 < 0 || !streq(again, normalized)) {
                fprintf(stderr, "\"%s\" normalizes to \"%s\", which normalizes to %s%s%s\n", in, normalized,
                        r2 < 0 ? strerror(-r2) : "\"", r2 < 0 ? "" : again, r2 < 0 ? "" : "\"");
                abort();
        }

        /* An origin written as a pattern stands for exactly itself. */
        if (origin_pattern_check(normalized) == 0 &&
            (!origin_pattern_match(normalized, in) || !origin_pattern_match(in, normalized))) {
                fprintf(stderr, "origin \"%s\" (\"%s\") as a pattern does not match itself\n", in, normalized);
                abort();
        }

        r2 = origin_check(in, &checked);
        if (origin_is_secure(normalized)) {
                if (r2 != 0 || !streq(checked, normalized))
                        abort();
        } else if (r2 != -EPERM)
                abort();
}

static void check_pattern(const char *pattern, const char *origin) {
        _cleanup_free_ char *normalized = NULL;
        bool valid = origin_pattern_check(pattern) == 0;
        bool match = origin_pattern_match(pattern, origin);

        if (match && !valid) {
                fprintf(stderr, "invalid pattern \"%s\" matches \"%s\"\n", pattern, origin);
                abort();
        }
        if (isempty(origin)) {
                if (match != (valid && *pattern == 0))
                        abort(); /* only "" stands for "no origin" */
                return;
        }
        if (origin_normalize(origin, &normalized) < 0) {
                if (match)
                        abort(); /* an origin that does not parse matches nothing */
                return;
        }
        if (origin_pattern_match(pattern, normalized) != match) {
                fprintf(stderr, "pattern \"%s\": \"%s\" and its normalized form \"%s\" disagree\n", pattern, origin,
                        normalized);
                abort();
        }
        if (streq(pattern, "*") && !match)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *text = NULL;
        const char *origin, *pattern = NULL;
        char *newline;

        /* Bus strings cannot hold NUL: the text ends at the first one. */
        text = strndup((const char *) data, size);
        if (!text)
                abort();
        newline = strchr(text, '\n');
        if (newline) {
                *newline = 0;
                pattern = newline + 1;
        }
        origin = text;

        check_origin(origin);
        check_pattern(origin, origin);
        for (size_t i = 0; i < ELEMENTSOF(fixed_patterns); i++)
                check_pattern(fixed_patterns[i], origin);
        if (pattern) {
                check_origin(pattern);
                check_pattern(pattern, origin);
                check_pattern(pattern, NULL);
                check_pattern(pattern, pattern);
        }
        return 0;
}
