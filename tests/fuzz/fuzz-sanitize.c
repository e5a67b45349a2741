/* libFuzzer harness for the sanitizer of what people are shown: the first two bytes pick the caps
 * (in characters and in bytes), the rest is the text. Besides memory errors it checks what
 * sanitize.h promises: the caps hold, no byte is a C0 control or DEL, and sanitizing again changes
 * nothing (so the output is valid UTF-8 without control or format characters, which a second
 * pass would replace or drop). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "sanitize.h"
#include "util.h"

static size_t count_chars(const char *s) {
        size_t n = 0;

        for (; *s; s++)
                n += ((uint8_t) *s & 0xC0) != 0x80;
        return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        FuzzReader r = { data, size, 0 };
        uint8_t chars_cap = fuzz_u8(&r), bytes_cap = fuzz_u8(&r);
        size_t max_chars = chars_cap == 0 ? SANITIZE_UNLIMITED : chars_cap;
        size_t max_bytes = bytes_cap == 0 ? SANITIZE_UNLIMITED : bytes_cap;
        _cleanup_free_ char *text = NULL, *out = NULL, *again = NULL;

        /* Bus strings cannot hold NUL: the text ends at the first one. */
        text = strndup((const char *) data + r.pos, size - r.pos);
        if (!text)
                abort();
        out = sanitize_text_full(text, max_chars, max_bytes);
        if (!out)
                abort();
        if (strlen(out) > max_bytes || count_chars(out) > max_chars) {
                fprintf(stderr, "caps %zu chars, %zu bytes broken: %zu chars, %zu bytes\n", max_chars, max_bytes,
                        count_chars(out), strlen(out));
                abort();
        }
        for (const uint8_t *p = (const uint8_t *) out; *p; p++)
                if (*p < 0x20 || *p == 0x7F)
                        abort();
        again = sanitize_text_full(out, SANITIZE_UNLIMITED, SANITIZE_UNLIMITED);
        if (!again || !streq(again, out)) {
                fprintf(stderr, "sanitizing again changed \"%s\" into \"%s\"\n", out, strempty(again));
                abort();
        }
        return 0;
}
