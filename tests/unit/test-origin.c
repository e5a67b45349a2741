/* Table tests for origin.c: normalization, the secure-context rule, origin_check and the
 * admin-policy origin patterns. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "origin.h"
#include "util.h"

static const char *show(const char *s) {
        return s ? s : "(null)";
}

static void test_normalize(void **state) {
        static const struct {
                const char *in;
                int r;
                const char *out;
        } table[] = {
                /* well-formed */
                { "https://example.com", 0, "https://example.com" },
                { "https://EXAMPLE.com:443/", 0, "https://example.com" },
                { "HTTPS://Example.COM", 0, "https://example.com" },
                { "https://example.com/", 0, "https://example.com" },
                { "http://example.com:80", 0, "http://example.com" },
                { "http://example.com:443", 0, "http://example.com:443" },
                { "https://example.com:80", 0, "https://example.com:80" },
                { "wss://chat.example.com:443", 0, "wss://chat.example.com" },
                { "ws://localhost:80/", 0, "ws://localhost" },
                { "https://example.com:8443", 0, "https://example.com:8443" },
                { "https://example.com:08443", 0, "https://example.com:8443" },
                { "https://example.com:65535", 0, "https://example.com:65535" },
                { "http://127.1.2.3:8080", 0, "http://127.1.2.3:8080" },
                { "http://0.0.0.0", 0, "http://0.0.0.0" },
                { "http://[::1]", 0, "http://[::1]" },
                { "http://[0:0:0:0:0:0:0:1]:8080", 0, "http://[::1]:8080" },
                { "https://[2001:DB8::1]/", 0, "https://[2001:db8::1]" },
                { "https://[2001:db8::1]:443", 0, "https://[2001:db8::1]" },
                { "https://xn--bcher-kva.example", 0, "https://xn--bcher-kva.example" },
                { "https://my_host.example", 0, "https://my_host.example" },
                { "https://1.example.com", 0, "https://1.example.com" },
                { "https://localhost", 0, "https://localhost" },
                { "chrome-extension://abcdefgh", 0, "chrome-extension://abcdefgh" },
                { "Web+App://x.example:1", 0, "web+app://x.example:1" },
                { "file://", 0, "file://" },
                { "file:///", 0, "file://" },
                { "file://LOCALHOST", 0, "file://" },

                /* malformed */
                { NULL, -EINVAL, NULL },
                { "", -EINVAL, NULL },
                { "null", -EINVAL, NULL },
                { "NULL", -EINVAL, NULL },
                { "example.com", -EINVAL, NULL },
                { "https:example.com", -EINVAL, NULL },
                { "https//example.com", -EINVAL, NULL },
                { "://example.com", -EINVAL, NULL },
                { "1http://example.com", -EINVAL, NULL },
                { "ht_tp://example.com", -EINVAL, NULL },
                { "https://", -EINVAL, NULL },
                { "https:///", -EINVAL, NULL },
                { "https://a@b.com", -EINVAL, NULL },
                { "https://user:pass@example.com", -EINVAL, NULL },
                { "https://@example.com", -EINVAL, NULL },
                { "https://example.com/path", -EINVAL, NULL },
                { "https://example.com//", -EINVAL, NULL },
                { "https://example.com/?q", -EINVAL, NULL },
                { "https://example.com?q=1", -EINVAL, NULL },
                { "https://example.com#frag", -EINVAL, NULL },
                { "https://example.com\\evil.com", -EINVAL, NULL },
                { "https://exa mple.com", -EINVAL, NULL },
                { " https://example.com", -EINVAL, NULL },
                { "https://example.com ", -EINVAL, NULL },
                { "https://example.com\n", -EINVAL, NULL },
                { "https://exam\tple.com", -EINVAL, NULL },
                { "https://example.com\x7f", -EINVAL, NULL },
                { "https://b\xc3\xbc" "cher.example", -EINVAL, NULL },
                { "https://example.com:", -EINVAL, NULL },
                { "https://example.com:0", -EINVAL, NULL },
                { "https://example.com:65536", -EINVAL, NULL },
                { "https://example.com:123456", -EINVAL, NULL },
                { "https://example.com:-1", -EINVAL, NULL },
                { "https://example.com:+80", -EINVAL, NULL },
                { "https://example.com:8a", -EINVAL, NULL },
                { "https://example.com:443:443", -EINVAL, NULL },
                { "https://:443", -EINVAL, NULL },
                { "https://example..com", -EINVAL, NULL },
                { "https://.example.com", -EINVAL, NULL },
                { "https://example.com.", -EINVAL, NULL },
                { "https://exa*mple.com", -EINVAL, NULL },
                { "https://*.example.com", -EINVAL, NULL },
                { "https://ex%41mple.com", -EINVAL, NULL },
                { "https://exa!mple.com", -EINVAL, NULL },
                { "https://127.1", -EINVAL, NULL },
                { "https://0x7f.0.0.1", -EINVAL, NULL },
                { "https://1.2.3.0x4", -EINVAL, NULL },
                { "https://127.0.0.01", -EINVAL, NULL },
                { "https://256.0.0.1", -EINVAL, NULL },
                { "https://1.2.3.4.5", -EINVAL, NULL },
                { "https://2130706433", -EINVAL, NULL },
                { "https://example.123", -EINVAL, NULL },
                { "https://[::1", -EINVAL, NULL },
                { "https://[::1]x", -EINVAL, NULL },
                { "https://[::1]:", -EINVAL, NULL },
                { "https://[::g]", -EINVAL, NULL },
                { "https://[]", -EINVAL, NULL },
                { "https://[127.0.0.1]", -EINVAL, NULL },
                { "https://::1", -EINVAL, NULL },
                { "file:///x", -EINVAL, NULL },
                { "file:///home/user/page.html", -EINVAL, NULL },
                { "file://host", -EINVAL, NULL },
                { "file://localhost:80", -EINVAL, NULL },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                _cleanup_free_ char *out = NULL;
                int r = origin_normalize(table[i].in, &out);

                if (r != table[i].r)
                        fail_msg("row %zu \"%s\": got %d, want %d", i, show(table[i].in), r,
                                 table[i].r);
                if (r == 0 && !streq(out, table[i].out))
                        fail_msg("row %zu \"%s\": got \"%s\", want \"%s\"", i, table[i].in, out,
                                 table[i].out);
        }
}

/* Lengths at and just past each limit, built at run time: "<scheme>://<host>". */
static void test_normalize_limits(void **state) {
        static const struct {
                const char *what;
                size_t scheme_len; /* 0: "https", else this many 'x' */
                size_t label_len;  /* one label of this many 'a' */
                size_t labels;     /* repeated, joined with '.' */
                int r;
        } table[] = {
                { "label of 63", 0, 63, 1, 0 },
                { "label of 64", 0, 64, 1, -EINVAL },
                { "host of 251 (4 x 62 + 3 dots)", 0, 62, 4, 0 },
                { "host of 253 (2 x 63 + 2 x 62 + 3 dots)", 0, 0, 0, 0 },
                { "host of 255 (4 x 63 + 3 dots)", 0, 63, 4, -EINVAL },
                { "input of exactly ORIGIN_MAX", ORIGIN_MAX - 4, 1, 1, 0 },
                { "input of ORIGIN_MAX + 1", ORIGIN_MAX - 3, 1, 1, -EINVAL },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                char buf[2 * ORIGIN_MAX];
                _cleanup_free_ char *out = NULL;
                size_t n = 0;
                int r;

                if (table[i].scheme_len == 0)
                        n = (size_t) sprintf(buf, "https");
                else {
                        memset(buf, 'x', table[i].scheme_len);
                        n = table[i].scheme_len;
                }
                n += (size_t) sprintf(buf + n, "://");
                if (table[i].labels == 0)
                        /* 253 exactly: labels of 63, 63, 62, 62 */
                        for (size_t l = 0; l < 4; l++) {
                                if (l > 0)
                                        buf[n++] = '.';
                                memset(buf + n, 'a', l < 2 ? 63 : 62);
                                n += l < 2 ? 63 : 62;
                        }
                for (size_t l = 0; l < table[i].labels; l++) {
                        if (l > 0)
                                buf[n++] = '.';
                        memset(buf + n, 'a', table[i].label_len);
                        n += table[i].label_len;
                }
                buf[n] = 0;
                r = origin_normalize(buf, &out);
                if (r != table[i].r)
                        fail_msg("row %zu (%s): got %d, want %d", i, table[i].what, r, table[i].r);
                if (r == 0)
                        assert_string_equal(out, buf);
        }
}

static void test_is_secure(void **state) {
        static const struct {
                const char *origin;
                bool secure;
        } table[] = {
                { "https://example.com", true },
                { "https://example.com:8443", true },
                { "wss://chat.example.com", true },
                { "https://[2001:db8::1]", true },
                { "http://example.com", false },
                { "ws://example.com", false },
                { "http://localhost", true },
                { "http://localhost:8080", true },
                { "ws://localhost", true },
                { "http://app.localhost", true },
                { "http://a.b.localhost:3000", true },
                { "http://localhost.evil.com", false },
                { "http://notlocalhost", false },
                { "http://localhost.", false },
                { "http://127.0.0.1", true },
                { "http://127.1.2.3:8080", true },
                { "http://127.255.255.255", true },
                { "http://128.0.0.1", false },
                { "http://10.0.0.1", false },
                { "http://0.0.0.0", false },
                { "http://127.example.com", false },
                { "http://[::1]", true },
                { "http://[::1]:8080", true },
                { "http://[::2]", false },
                { "http://[::ffff:127.0.0.1]", false },
                { "file://", false },
                { "chrome-extension://abcdefgh", false },
                { "ftp://localhost", false },
                { "ftps://example.com", false },
                { "garbage", false },
                { "null", false },
                { "", false },
                { NULL, false },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (origin_is_secure(table[i].origin) != table[i].secure)
                        fail_msg("row %zu \"%s\": want %s", i, show(table[i].origin),
                                 table[i].secure ? "secure" : "insecure");
}

static void test_check(void **state) {
        static const struct {
                const char *in;
                int r;
                const char *out;
        } table[] = {
                { "https://EXAMPLE.com:443/", 0, "https://example.com" },
                { "http://127.1.2.3:8080", 0, "http://127.1.2.3:8080" },
                { "http://[::1]", 0, "http://[::1]" },
                { "http://LOCALHOST:8080/", 0, "http://localhost:8080" },
                { "http://example.com", -EPERM, NULL },
                { "http://localhost.evil.com", -EPERM, NULL },
                { "file://", -EPERM, NULL },
                { "chrome-extension://abcdefgh", -EPERM, NULL },
                { "https://a@b.com", -EINVAL, NULL },
                { "https://example.com/path", -EINVAL, NULL },
                { "file:///x", -EINVAL, NULL },
                { "null", -EINVAL, NULL },
                { "", -EINVAL, NULL },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                _cleanup_free_ char *out = NULL;
                int r = origin_check(table[i].in, &out);

                if (r != table[i].r)
                        fail_msg("row %zu \"%s\": got %d, want %d", i, table[i].in, r, table[i].r);
                if (r == 0 && !streq(out, table[i].out))
                        fail_msg("row %zu \"%s\": got \"%s\", want \"%s\"", i, table[i].in, out,
                                 table[i].out);
                if (r < 0 && out)
                        fail_msg("row %zu: output set on failure", i);
                /* The result does not depend on whether the caller wants the string. */
                assert_int_equal(origin_check(table[i].in, NULL), table[i].r);
        }
}

static void test_pattern_match(void **state) {
        static const struct {
                const char *pattern;
                const char *origin;
                bool match;
        } table[] = {
                { "*", "https://example.com", true },
                { "*", "http://localhost:8080", true },
                { "*", NULL, false },
                { "*", "", false },
                { "*", "not an origin", false },
                { "", NULL, true },
                { "", "", true },
                { "", "https://example.com", false },

                { "https://example.com", "https://example.com", true },
                { "https://example.com", "https://EXAMPLE.com:443/", true },
                { "HTTPS://Example.com:443", "https://example.com", true },
                { "https://example.com/", "https://example.com", true },
                { "https://example.com", "https://example.com:8443", false },
                { "https://example.com:8443", "https://example.com:8443", true },
                { "https://example.com:8443", "https://example.com", false },
                { "https://example.com", "http://example.com", false },
                { "https://example.com", "https://a.example.com", false },
                { "https://example.com", "https://example.com.evil.org", false },
                { "https://example.com", NULL, false },
                { "http://[::1]", "http://[0::1]", true },
                { "http://127.0.0.1:8080", "http://127.0.0.1:8080", true },

                { "https://*.example.com", "https://a.example.com", true },
                { "https://*.example.com", "https://a.b.example.com", true },
                { "https://*.EXAMPLE.com", "https://A.example.COM/", true },
                { "https://*.example.com", "https://example.com", false },
                { "https://*.example.com", "https://badexample.com", false },
                { "https://*.example.com", "https://a.badexample.com", false },
                { "https://*.example.com", "https://a.example.com.evil.org", false },
                { "https://*.example.com", "http://a.example.com", false },
                { "https://*.example.com", "https://a.example.com:8443", false },
                { "https://*.example.com:443", "https://a.example.com", true },
                { "https://*.example.com:8443", "https://a.example.com:8443", true },
                { "https://*.example.com:8443", "https://a.example.com", false },
                { "https://*.example.com", NULL, false },
                { "https://*.com", "https://example.com", true },

                /* not patterns: match nothing */
                { "https://a.*.com", "https://a.b.com", false },
                { "https://*example.com", "https://aexample.com", false },
                { "*.example.com", "https://a.example.com", false },
                { "https://*", "https://example.com", false },
                { "https://*.", "https://example.com", false },
                { "https://*.*.example.com", "https://a.b.example.com", false },
                { "https://*.127.0.0.1", "https://1.127.0.0.1", false },
                { "https://*.[::1]", "https://[::1]", false },
                { "https://example.com:*", "https://example.com:8443", false },
                { "*://example.com", "https://example.com", false },
                { "**", "https://example.com", false },
                { " *", "https://example.com", false },
                { NULL, "https://example.com", false },
                { NULL, NULL, false },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (origin_pattern_match(table[i].pattern, table[i].origin) != table[i].match)
                        fail_msg("row %zu \"%s\" vs \"%s\": want %s", i, show(table[i].pattern),
                                 show(table[i].origin), table[i].match ? "match" : "no match");
}

static void test_pattern_check(void **state) {
        static const struct {
                const char *pattern;
                int r;
        } table[] = {
                { "*", 0 },
                { "", 0 },
                { "https://example.com", 0 },
                { "https://example.com:8443", 0 },
                { "https://*.example.com", 0 },
                { "http://*.localhost:3000", 0 },
                { "http://[::1]", 0 },
                { "file://", 0 },
                { NULL, -EINVAL },
                { "**", -EINVAL },
                { "https://*", -EINVAL },
                { "https://a.*.com", -EINVAL },
                { "https://*.127.0.0.1", -EINVAL },
                { "https://example.com:*", -EINVAL },
                { "https://example.com/path", -EINVAL },
                { "file://*.x", -EINVAL },
                { "example.com", -EINVAL },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                int r = origin_pattern_check(table[i].pattern);

                if (r != table[i].r)
                        fail_msg("row %zu \"%s\": got %d, want %d", i, show(table[i].pattern), r,
                                 table[i].r);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_normalize),
                cmocka_unit_test(test_normalize_limits),
                cmocka_unit_test(test_is_secure),
                cmocka_unit_test(test_check),
                cmocka_unit_test(test_pattern_match),
                cmocka_unit_test(test_pattern_check),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
