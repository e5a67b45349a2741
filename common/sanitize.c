/* Sanitizing untrusted text for display: UTF-8 repair, control and format characters, caps.
 * A consent prompt is a security decision; what the person reads must be what the app is. */
#include "sanitize.h"

#include <stdbool.h>

#include "util.h"

#define REPLACEMENT_CHARACTER 0xFFFDu
#define INVALID_SEQUENCE UINT32_MAX

/* "…", U+2026 */
static const char ellipsis[] = "\xe2\x80\xa6";
#define ELLIPSIS_BYTES (sizeof(ellipsis) - 1)

/* Decode one code point at s, which is NUL-terminated. Returns the number of bytes consumed
 * (at least 1) and sets *ret to the code point or to INVALID_SEQUENCE. An ill-formed sequence
 * consumes its maximal subpart: the lead byte and the continuation bytes that were still
 * valid, so that one broken character costs one U+FFFD and the next good one is kept. The
 * terminating NUL never passes as a continuation byte, so nothing is read past it. */
static size_t utf8_decode(const uint8_t *s, uint32_t *ret) {
        uint8_t c = s[0], lo = 0x80, hi = 0xBF;
        size_t len;
        uint32_t cp;

        if (c < 0x80) {
                *ret = c;
                return 1;
        }
        if (c < 0xC2 || c > 0xF4) {
                /* a stray continuation byte, an overlong two-byte lead (C0, C1) or a lead
                 * byte for values above U+10FFFF */
                *ret = INVALID_SEQUENCE;
                return 1;
        }
        if (c < 0xE0) {
                len = 2;
                cp = c & 0x1F;
        } else if (c < 0xF0) {
                len = 3;
                cp = c & 0x0F;
                if (c == 0xE0)
                        lo = 0xA0; /* overlong */
                else if (c == 0xED)
                        hi = 0x9F; /* surrogates U+D800-U+DFFF */
        } else {
                len = 4;
                cp = c & 0x07;
                if (c == 0xF0)
                        lo = 0x90; /* overlong */
                else if (c == 0xF4)
                        hi = 0x8F; /* above U+10FFFF */
        }

        for (size_t i = 1; i < len; i++) {
                if (s[i] < lo || s[i] > hi) {
                        *ret = INVALID_SEQUENCE;
                        return i;
                }
                cp = (cp << 6) | (s[i] & 0x3F);
                lo = 0x80;
                hi = 0xBF;
        }
        *ret = cp;
        return len;
}

static size_t utf8_encode(uint32_t cp, char *out) {
        if (cp < 0x80) {
                out[0] = (char) cp;
                return 1;
        }
        if (cp < 0x800) {
                out[0] = (char) (0xC0 | (cp >> 6));
                out[1] = (char) (0x80 | (cp & 0x3F));
                return 2;
        }
        if (cp < 0x10000) {
                out[0] = (char) (0xE0 | (cp >> 12));
                out[1] = (char) (0x80 | ((cp >> 6) & 0x3F));
                out[2] = (char) (0x80 | (cp & 0x3F));
                return 3;
        }
        out[0] = (char) (0xF0 | (cp >> 18));
        out[1] = (char) (0x80 | ((cp >> 12) & 0x3F));
        out[2] = (char) (0x80 | ((cp >> 6) & 0x3F));
        out[3] = (char) (0x80 | (cp & 0x3F));
        return 4;
}

/* Unicode's format characters (General_Category=Cf, Unicode 15): invisible, yet they change what
 * text looks like or hide that two texts differ. The bidirectional controls (U+061C, U+200E,
 * U+200F, U+202A-U+202E, U+2066-U+2069) are among them, and so are zero-width spaces and joiners,
 * the word joiner, the byte order mark and the tag characters. */
static const struct {
        uint32_t first, last;
} format_characters[] = {
        { 0x00AD, 0x00AD },   /* SOFT HYPHEN */
        { 0x0600, 0x0605 },   /* ARABIC NUMBER SIGN ... ARABIC NUMBER MARK ABOVE */
        { 0x061C, 0x061C },   /* ARABIC LETTER MARK */
        { 0x06DD, 0x06DD },   /* ARABIC END OF AYAH */
        { 0x070F, 0x070F },   /* SYRIAC ABBREVIATION MARK */
        { 0x0890, 0x0891 },   /* ARABIC POUND MARK ABOVE, PIASTRE MARK ABOVE */
        { 0x08E2, 0x08E2 },   /* ARABIC DISPUTED END OF AYAH */
        { 0x180E, 0x180E },   /* MONGOLIAN VOWEL SEPARATOR */
        { 0x200B, 0x200F },   /* ZERO WIDTH SPACE, ZWNJ, ZWJ, LRM, RLM */
        { 0x202A, 0x202E },   /* LRE, RLE, PDF, LRO, RLO */
        { 0x2060, 0x2064 },   /* WORD JOINER, invisible operators */
        { 0x2066, 0x206F },   /* LRI, RLI, FSI, PDI, deprecated format characters */
        { 0xFEFF, 0xFEFF },   /* ZERO WIDTH NO-BREAK SPACE (byte order mark) */
        { 0xFFF9, 0xFFFB },   /* INTERLINEAR ANNOTATION ANCHOR ... TERMINATOR */
        { 0x110BD, 0x110BD }, /* KAITHI NUMBER SIGN */
        { 0x110CD, 0x110CD }, /* KAITHI NUMBER SIGN ABOVE */
        { 0x13430, 0x1343F }, /* EGYPTIAN HIEROGLYPH format controls */
        { 0x1BCA0, 0x1BCA3 }, /* SHORTHAND FORMAT LETTER OVERLAP ... STEP */
        { 0x1D173, 0x1D17A }, /* MUSICAL SYMBOL BEGIN BEAM ... END PHRASE */
        { 0xE0001, 0xE0001 }, /* LANGUAGE TAG */
        { 0xE0020, 0xE007F }, /* TAG SPACE ... CANCEL TAG */
};

static bool is_format_character(uint32_t c) {
        for (size_t i = 0; i < ELEMENTSOF(format_characters) && c >= format_characters[i].first; i++)
                if (c <= format_characters[i].last)
                        return true;
        return false;
}

/* Characters that break a line or move the cursor: shown as a space, so that words on either
 * side stay apart but the text cannot fake a second line in the prompt. */
static bool is_line_space(uint32_t c) {
        return (c >= 0x09 && c <= 0x0D) || c == 0x85 || c == 0x2028 || c == 0x2029;
}

static bool is_control(uint32_t c) {
        return c < 0x20 || (c >= 0x7F && c <= 0x9F);
}

/* What c is shown as: itself, a replacement, or nothing (UINT32_MAX). */
static uint32_t sanitize_code_point(uint32_t c) {
        if (c == INVALID_SEQUENCE)
                return REPLACEMENT_CHARACTER;
        if (is_line_space(c))
                return ' ';
        if (is_control(c) || is_format_character(c))
                return UINT32_MAX;
        return c;
}

char *sanitize_text_full(const char *in, size_t max_chars, size_t max_bytes) {
        const uint8_t *p = (const uint8_t *) strempty(in);
        size_t len = strlen((const char *) p), size, n = 0, n_chars = 0;
        bool cut = false;
        char *buf;

        /* Each input byte yields at most 3 output bytes (a lone byte becomes U+FFFD), and each
         * kept character at most 4; the ellipsis may need 3 more. */
        size = len > SIZE_MAX / 4 ? SIZE_MAX / 4 : len * 3;
        size = MIN(size, max_bytes);
        if (max_chars < SIZE_MAX / 8)
                size = MIN(size, max_chars * 4);
        buf = malloc(size + ELLIPSIS_BYTES + 1);
        if (!buf)
                return NULL;

        while (*p) {
                char enc[4];
                uint32_t c;
                size_t l;

                p += utf8_decode(p, &c);
                c = sanitize_code_point(c);
                if (c == UINT32_MAX)
                        continue;
                l = utf8_encode(c, enc);
                if (n_chars >= max_chars || l > max_bytes - n) {
                        cut = true;
                        break;
                }
                memcpy(buf + n, enc, l);
                n += l;
                n_chars++;
        }

        if (cut && max_chars >= 1 && max_bytes >= ELLIPSIS_BYTES) {
                /* Drop whole characters until the ellipsis fits within both caps. (Caps too
                 * small for it just cut.) */
                while (n > 0 && (n_chars + 1 > max_chars || n + ELLIPSIS_BYTES > max_bytes)) {
                        do
                                n--;
                        while (n > 0 && ((uint8_t) buf[n] & 0xC0) == 0x80);
                        n_chars--;
                }
                memcpy(buf + n, ellipsis, ELLIPSIS_BYTES);
                n += ELLIPSIS_BYTES;
        }
        buf[n] = '\0';
        return buf;
}
