/* Unit tests for sanitize.c: what a consent agent is shown for hostile app ids, origins, reasons
 * and labels (reliability item 14). Expected outputs are written out byte by byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sanitize.h"
#include "util.h"

#define U_FFFD "\xef\xbf\xbd"
#define ELLIPSIS "\xe2\x80\xa6"
#define ALL SANITIZE_UNLIMITED

typedef struct Case {
        const char *name;
        const char *in;
        size_t max_chars, max_bytes;
        const char *expected;
} Case;

static const Case cases[] = {
        /* kept as they are */
        { "ascii", "Firefox", ALL, ALL, "Firefox" },
        { "empty", "", ALL, ALL, "" },
        { "NULL is empty", NULL, ALL, ALL, "" },
        { "latin", "caf\xc3\xa9 na\xc3\xafve", ALL, ALL, "caf\xc3\xa9 na\xc3\xafve" },
        { "cjk", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", ALL, ALL, "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e" },
        { "4-byte emoji", "\xf0\x9f\x98\x80!", ALL, ALL, "\xf0\x9f\x98\x80!" },
        { "highest code point", "\xf4\x8f\xbf\xbf", ALL, ALL, "\xf4\x8f\xbf\xbf" },
        { "combining acute kept", "e\xcc\x81", ALL, ALL, "e\xcc\x81" },
        { "stacked combining marks kept", "a\xcc\x80\xcc\x81\xcc\x82", ALL, ALL, "a\xcc\x80\xcc\x81\xcc\x82" },
        { "emoji with variation selector kept", "\xe2\x9d\xa4\xef\xb8\x8f", ALL, ALL, "\xe2\x9d\xa4\xef\xb8\x8f" },
        { "arabic text kept", "\xd9\x85\xd8\xb1\xd8\xad\xd8\xa8\xd8\xa7", ALL, ALL, "\xd9\x85\xd8\xb1\xd8\xad\xd8\xa8\xd8\xa7" },
        { "host app id", "host:/usr/bin/cheese", ALL, ALL, "host:/usr/bin/cheese" },

        /* terminal escapes: the ESC goes, the rest is harmless text */
        { "ansi colour", "\x1b[31mred\x1b[0m", ALL, ALL, "[31mred[0m" },
        { "osc title", "\x1b]0;owned\x07" "app", ALL, ALL, "]0;owned" "app" },
        { "backspace overwrite", "evil\b\b\b\bgood", ALL, ALL, "evilgood" },
        { "bell and nul-like controls", "a\x01\x02\x03\x7f" "b", ALL, ALL, "ab" },
        { "C1 CSI (U+009B)", "a\xc2\x9b" "31mb", ALL, ALL, "a31mb" },
        { "C1 range end (U+009F)", "a\xc2\x9f" "b", ALL, ALL, "ab" },
        { "U+00A0 is not C1", "a\xc2\xa0" "b", ALL, ALL, "a\xc2\xa0" "b" },

        /* line breaks and tabs become one space each */
        { "newline", "Meeting\nClick Allow", ALL, ALL, "Meeting Click Allow" },
        { "crlf", "a\r\nb", ALL, ALL, "a  b" },
        { "tab", "a\tb", ALL, ALL, "a b" },
        { "vertical tab and form feed", "a\x0b\x0c" "b", ALL, ALL, "a  b" },
        { "NEL (U+0085)", "a\xc2\x85" "b", ALL, ALL, "a b" },
        { "line separator U+2028", "a\xe2\x80\xa8" "b", ALL, ALL, "a b" },
        { "paragraph separator U+2029", "a\xe2\x80\xa9" "b", ALL, ALL, "a b" },

        /* bidi controls vanish */
        { "RLO file name trick", "photo\xe2\x80\xaegpj.exe", ALL, ALL, "photogpj.exe" },
        { "LRE RLE PDF LRO RLO", "\xe2\x80\xaa" "a\xe2\x80\xab" "b\xe2\x80\xac" "c\xe2\x80\xad" "d\xe2\x80\xae" "e",
          ALL, ALL, "abcde" },
        { "LRI RLI FSI PDI", "\xe2\x81\xa6" "a\xe2\x81\xa7" "b\xe2\x81\xa8" "c\xe2\x81\xa9", ALL, ALL, "abc" },
        { "LRM RLM", "a\xe2\x80\x8e" "b\xe2\x80\x8f" "c", ALL, ALL, "abc" },
        { "arabic letter mark U+061C", "a\xd8\x9c" "b", ALL, ALL, "ab" },
        { "neighbours of bidi ranges kept", "\xe2\x80\xa9\xe2\x80\xaf\xe2\x81\xa5", ALL, ALL,
          " \xe2\x80\xaf\xe2\x81\xa5" },
        { "origin with RLO", "https://\xe2\x80\xae" "moc.evil", ALL, ALL, "https://moc.evil" },

        /* every other invisible format character (Unicode Cf) vanishes too */
        { "zero width space U+200B", "Zo\xe2\x80\x8bom", ALL, ALL, "Zoom" },
        { "ZWNJ and ZWJ U+200C U+200D", "a\xe2\x80\x8c" "b\xe2\x80\x8d" "c", ALL, ALL, "abc" },
        { "zwj emoji sequence falls apart", "\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x92\xbb", ALL, ALL,
          "\xf0\x9f\x91\xa9\xf0\x9f\x92\xbb" },
        { "word joiner U+2060 and invisible operators to U+2064", "a\xe2\x81\xa0" "b\xe2\x81\xa4" "c", ALL, ALL, "abc" },
        { "deprecated format characters U+206A-U+206F", "a\xe2\x81\xaa" "b\xe2\x81\xaf" "c", ALL, ALL, "abc" },
        { "byte order mark U+FEFF", "\xef\xbb\xbf" "Firefox", ALL, ALL, "Firefox" },
        { "soft hyphen U+00AD", "Fire\xc2\xad" "fox", ALL, ALL, "Firefox" },
        { "mongolian vowel separator U+180E", "a\xe1\xa0\x8e" "b", ALL, ALL, "ab" },
        { "arabic number sign U+0600", "\xd8\x80" "1", ALL, ALL, "1" },
        { "interlinear annotation U+FFF9-U+FFFB", "a\xef\xbf\xb9" "b\xef\xbf\xbb" "c", ALL, ALL, "abc" },
        { "tag characters U+E0020-U+E007F", "ok\xf3\xa0\x80\xa0\xf3\xa0\x81\x81\xf3\xa0\x81\xbf", ALL, ALL, "ok" },
        { "language tag U+E0001", "a\xf3\xa0\x80\x81" "b", ALL, ALL, "ab" },
        { "shorthand format U+1BCA0", "a\xf0\x9b\xb2\xa0" "b", ALL, ALL, "ab" },
        { "musical beam U+1D173", "a\xf0\x9d\x85\xb3" "b", ALL, ALL, "ab" },
        { "egyptian format control U+1343F", "a\xf0\x93\x90\xbf" "b", ALL, ALL, "ab" },
        { "neighbours of format ranges kept", "\xe2\x80\x8a\xe2\x80\x90\xef\xbb\xbe\xf3\xa0\x84\x80", ALL, ALL,
          "\xe2\x80\x8a\xe2\x80\x90\xef\xbb\xbe\xf3\xa0\x84\x80" },
        { "hidden text in tags does not count toward the cap", "ab\xf3\xa0\x81\x81\xf3\xa0\x81\x81" "cd", 4, ALL, "abcd" },

        /* ill-formed UTF-8: one U+FFFD per maximal subpart */
        { "lone 0xff", "a\xff" "b", ALL, ALL, "a" U_FFFD "b" },
        { "lone 0xfe", "\xfe", ALL, ALL, U_FFFD },
        { "stray continuation", "a\x80" "b", ALL, ALL, "a" U_FFFD "b" },
        { "two stray continuations", "\x80\xbf", ALL, ALL, U_FFFD U_FFFD },
        { "overlong slash C0 AF", "\xc0\xaf", ALL, ALL, U_FFFD U_FFFD },
        { "overlong C1 BF", "\xc1\xbf", ALL, ALL, U_FFFD U_FFFD },
        { "overlong 3-byte E0 80 AF", "\xe0\x80\xaf", ALL, ALL, U_FFFD U_FFFD U_FFFD },
        { "overlong 4-byte F0 80 80 AF", "\xf0\x80\x80\xaf", ALL, ALL, U_FFFD U_FFFD U_FFFD U_FFFD },
        { "overlong NUL C0 80", "a\xc0\x80" "b", ALL, ALL, "a" U_FFFD U_FFFD "b" },
        { "high surrogate ED A0 80", "\xed\xa0\x80", ALL, ALL, U_FFFD U_FFFD U_FFFD },
        { "low surrogate ED BF BF", "\xed\xbf\xbf", ALL, ALL, U_FFFD U_FFFD U_FFFD },
        { "surrogate pair (CESU-8)", "\xed\xa0\xbd\xed\xb8\x80", ALL, ALL,
          U_FFFD U_FFFD U_FFFD U_FFFD U_FFFD U_FFFD },
        { "last before surrogates kept", "\xed\x9f\xbf", ALL, ALL, "\xed\x9f\xbf" },
        { "above U+10FFFF F4 90 80 80", "\xf4\x90\x80\x80", ALL, ALL, U_FFFD U_FFFD U_FFFD U_FFFD },
        { "F5 lead", "\xf5\x80\x80\x80", ALL, ALL, U_FFFD U_FFFD U_FFFD U_FFFD },
        { "truncated 3-byte then ascii", "\xe2\x82" "A", ALL, ALL, U_FFFD "A" },
        { "truncated 4-byte at end", "ok\xf0\x9f\x98", ALL, ALL, "ok" U_FFFD },
        { "truncated then valid", "\xe2\x82\xe2\x82\xac", ALL, ALL, U_FFFD "\xe2\x82\xac" },
        { "lead then lead", "\xc3\xc3\xa9", ALL, ALL, U_FFFD "\xc3\xa9" },

        /* caps: characters */
        { "exactly at the cap", "abcd", 4, ALL, "abcd" },
        { "one over the cap", "abcde", 4, ALL, "abc" ELLIPSIS },
        { "cap counts characters not bytes", "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 4, ALL, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9" },
        { "cut multi-byte by characters", "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 4, ALL,
          "\xc3\xa9\xc3\xa9\xc3\xa9" ELLIPSIS },
        { "cap of one", "ab", 1, ALL, ELLIPSIS },
        { "cap of zero", "ab", 0, ALL, "" },
        { "dropped characters do not count", "\x1b\x1b\x1b" "abc", 3, ALL, "abc" },
        { "replacements count", "\xff\xff\xff\xff", 3, ALL, U_FFFD U_FFFD ELLIPSIS },
        { "combining mark counts as a character", "e\xcc\x81" "e\xcc\x81", 3, ALL, "e\xcc\x81" ELLIPSIS },

        /* caps: bytes, cut on a character boundary */
        { "bytes exactly at the cap", "abcde", ALL, 5, "abcde" },
        { "bytes one over", "abcdef", ALL, 5, "ab" ELLIPSIS },
        { "bytes never split a character", "\xc3\xa9\xc3\xa9\xc3\xa9", ALL, 5, "\xc3\xa9" ELLIPSIS },
        { "bytes too small for the ellipsis", "abcdef", ALL, 2, "ab" },
        { "bytes room only for the ellipsis", "\xc3\xa9\xc3\xa9\xc3\xa9", ALL, 4, ELLIPSIS },
        { "bytes zero", "abc", ALL, 0, "" },
        { "both caps, bytes bind", "\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5", 10, 9,
          "\xe6\x97\xa5\xe6\x97\xa5" ELLIPSIS },
        { "both caps, characters bind", "abcdefgh", 4, 100, "abc" ELLIPSIS },
};

static void test_cases(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const Case *c = &cases[i];
                _cleanup_free_ char *out = sanitize_text_full(c->in, c->max_chars, c->max_bytes);

                assert_non_null(out);
                if (!streq(out, c->expected))
                        fail_msg("case \"%s\": got \"%s\", expected \"%s\"", c->name, out, c->expected);
        }
}

/* Properties every output must have, whatever went in. */
static void assert_clean(const char *s, size_t max_chars, size_t max_bytes) {
        size_t n_chars = 0, n = strlen(s);

        assert_true(n <= max_bytes);
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                if ((*p & 0xC0) != 0x80)
                        n_chars++;
                assert_true(*p >= 0x20 && *p != 0x7F);
        }
        assert_true(n_chars <= max_chars);
        /* U+2028..U+202E and U+2066..U+2069 have no place in the output. */
        assert_null(strstr(s, "\xe2\x80\xae"));
        assert_null(strstr(s, "\xe2\x81\xa6"));
        assert_null(strstr(s, "\xc2\x9b"));
}

typedef struct BigCase {
        const char *name;
        const char *unit; /* repeated to fill 64 KiB */
        size_t max_chars, max_bytes;
        const char *expected_unit; /* what each kept unit becomes */
        size_t expected_units;
        bool ellipsis;
} BigCase;

static const BigCase big_cases[] = {
        { "64 KiB ascii, reason cap", "x", SANITIZE_REASON_MAX_CHARS, ALL, "x", 255, true },
        { "64 KiB ascii, id cap", "x", ALL, SANITIZE_ID_MAX_BYTES, "x", 1021, true },
        { "64 KiB invalid bytes, reason cap", "\xff", SANITIZE_REASON_MAX_CHARS, ALL, U_FFFD, 255, true },
        { "64 KiB invalid bytes, id cap", "\xff", ALL, SANITIZE_ID_MAX_BYTES, U_FFFD, 340, true },
        { "64 KiB RLO only", "\xe2\x80\xae", SANITIZE_REASON_MAX_CHARS, ALL, "", 0, false },
        { "64 KiB escapes only", "\x1b", SANITIZE_LABEL_MAX_CHARS, ALL, "", 0, false },
        { "64 KiB tag characters only", "\xf3\xa0\x81\x81", SANITIZE_REASON_MAX_CHARS, ALL, "", 0, false },
        { "64 KiB zero width spaces only", "\xe2\x80\x8b", SANITIZE_REASON_MAX_CHARS, ALL, "", 0, false },
        { "64 KiB newlines", "\n", SANITIZE_LABEL_MAX_CHARS, ALL, " ", 255, true },
        { "64 KiB emoji, label cap", "\xf0\x9f\x98\x80", SANITIZE_LABEL_MAX_CHARS, ALL, "\xf0\x9f\x98\x80", 255, true },
        { "64 KiB mixed", "a\xe2\x80\xae\x1b\xc3\xa9\n", SANITIZE_REASON_MAX_CHARS, ALL, NULL, 0, true },
};

static void test_64k(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(big_cases); i++) {
                const BigCase *c = &big_cases[i];
                size_t unit = strlen(c->unit), n = 64 * 1024 / unit, size = 0;
                _cleanup_free_ char *in = malloc(n * unit + 1), *out = NULL, *expected = NULL;

                assert_non_null(in);
                for (size_t k = 0; k < n; k++)
                        memcpy(in + k * unit, c->unit, unit);
                in[n * unit] = '\0';

                out = sanitize_text_full(in, c->max_chars, c->max_bytes);
                assert_non_null(out);
                assert_clean(out, c->max_chars, c->max_bytes);
                if (c->ellipsis) {
                        size_t l = strlen(out);

                        if (l < 3 || !streq(out + l - 3, ELLIPSIS))
                                fail_msg("case \"%s\": no ellipsis at the end of a cut text", c->name);
                }
                if (!c->expected_unit)
                        continue;
                expected = calloc(c->expected_units * strlen(c->expected_unit) + 4, 1);
                assert_non_null(expected);
                for (size_t k = 0; k < c->expected_units; k++) {
                        memcpy(expected + size, c->expected_unit, strlen(c->expected_unit));
                        size += strlen(c->expected_unit);
                }
                if (c->ellipsis)
                        memcpy(expected + size, ELLIPSIS, 3);
                if (!streq(out, expected))
                        fail_msg("case \"%s\": got %zu bytes, expected %zu", c->name, strlen(out), strlen(expected));
        }
}

/* Every single byte after a valid prefix, and every two-byte pair after a lead byte: the
 * output is always clean and valid UTF-8 (checked by re-sanitizing: a clean text is a fixed
 * point). */
static void test_fixed_point(void **state) {
        char in[8];

        for (unsigned a = 1; a < 256; a++)
                for (unsigned b = 0; b < 256; b += (a >= 0xC0 ? 1 : 17)) {
                        _cleanup_free_ char *once = NULL, *twice = NULL;

                        snprintf(in, sizeof in, "x%c%c\xe2\x82", (char) a, (char) (b ?: 'y'));
                        once = sanitize_text(in, SANITIZE_UNLIMITED);
                        assert_non_null(once);
                        assert_clean(once, SIZE_MAX, SIZE_MAX);
                        twice = sanitize_text(once, SANITIZE_UNLIMITED);
                        assert_non_null(twice);
                        assert_string_equal(once, twice);
                }
}

typedef struct HelperCase {
        const char *name;
        char *(*func)(const char *);
        size_t in_repeat;
        size_t expected_chars; /* ellipsis included */
        size_t expected_bytes;
} HelperCase;

static const HelperCase helper_cases[] = {
        { "reason: 256 characters", sanitize_reason, 1000, 256, 255 * 2 + 3 },
        { "label: 256 characters", sanitize_label, 1000, 256, 255 * 2 + 3 },
        { "app id: 1024 bytes", sanitize_app_id, 1000, 510 + 1, 510 * 2 + 3 },
        { "origin: 1024 bytes", sanitize_origin, 1000, 510 + 1, 510 * 2 + 3 },
        { "reason under the cap", sanitize_reason, 256, 256, 512 },
        { "app id under the cap", sanitize_app_id, 512, 512, 1024 },
};

static void test_helpers(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(helper_cases); i++) {
                const HelperCase *c = &helper_cases[i];
                _cleanup_free_ char *in = malloc(c->in_repeat * 2 + 1), *out = NULL;
                size_t n_chars = 0;

                assert_non_null(in);
                for (size_t k = 0; k < c->in_repeat; k++)
                        memcpy(in + 2 * k, "\xc3\xa9", 2); /* é: two bytes, one character */
                in[c->in_repeat * 2] = '\0';
                out = c->func(in);
                assert_non_null(out);
                for (const unsigned char *p = (const unsigned char *) out; *p; p++)
                        if ((*p & 0xC0) != 0x80)
                                n_chars++;
                if (n_chars != c->expected_chars || strlen(out) != c->expected_bytes)
                        fail_msg("case \"%s\": %zu characters, %zu bytes; expected %zu, %zu", c->name, n_chars,
                                 strlen(out), c->expected_chars, c->expected_bytes);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_cases),
                cmocka_unit_test(test_64k),
                cmocka_unit_test(test_fixed_point),
                cmocka_unit_test(test_helpers),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
