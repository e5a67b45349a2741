/* Making untrusted text safe to show a person: app ids, origins, reasons and device labels go
 * through here before a consent agent displays them (reliability item 14), in the daemon and
 * again in mediactl's agents and listings. Pure: no bus. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* The caps of docs/dbus-api.md: a reason and a device label are counted in characters, an app id and an
 * origin in bytes (they are identifiers, and their storage is what is bounded). */
#define SANITIZE_REASON_MAX_CHARS 256
#define SANITIZE_LABEL_MAX_CHARS 256
#define SANITIZE_ID_MAX_BYTES 1024

#define SANITIZE_UNLIMITED SIZE_MAX

/* Return a newly allocated copy of `in` that
 *   - is valid UTF-8: each ill-formed sequence (stray or overlong bytes, surrogates, code points
 *     above U+10FFFF, truncated sequences) becomes one U+FFFD, as the Unicode standard's
 *     "maximal subpart" practice says;
 *   - holds no control characters: tab, newline, vertical tab, form feed, carriage return and
 *     the line and paragraph separators U+2028/U+2029 become a space; every other C0 control,
 *     DEL and C1 control (U+0080-U+009F) is dropped;
 *   - holds no format characters (Unicode's General_Category Cf): not the bidirectional
 *     controls (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069), which could make the
 *     text read differently from what it is, nor the invisible ones (zero-width spaces and
 *     joiners U+200B-U+200D, the word joiner U+2060, the byte order mark U+FEFF, the tag
 *     characters U+E0020-U+E007F, the soft hyphen ...), which hide that two texts differ;
 *   - has at most max_chars code points and at most max_bytes bytes (SANITIZE_UNLIMITED for no
 *     limit). Text that was cut ends in "…" (U+2026), counted within both caps, so that the
 *     person sees that something is missing (unless a cap is too small to hold it).
 * Everything else (combining marks, emoji, any script) is kept as it is.
 * NULL input gives "". Returns NULL only when out of memory. */
char *sanitize_text_full(const char *in, size_t max_chars, size_t max_bytes);

static inline char *sanitize_text(const char *in, size_t max_chars) {
        return sanitize_text_full(in, max_chars, SANITIZE_UNLIMITED);
}

/* What a consent agent is shown for each field of a prompt; a caller that keeps a decision
 * alongside such a field uses the same function, so that what is stored is what was shown. */
static inline char *sanitize_app_id(const char *s) {
        return sanitize_text_full(s, SANITIZE_UNLIMITED, SANITIZE_ID_MAX_BYTES);
}
static inline char *sanitize_origin(const char *s) {
        return sanitize_text_full(s, SANITIZE_UNLIMITED, SANITIZE_ID_MAX_BYTES);
}
static inline char *sanitize_reason(const char *s) {
        return sanitize_text(s, SANITIZE_REASON_MAX_CHARS);
}
static inline char *sanitize_label(const char *s) {
        return sanitize_text(s, SANITIZE_LABEL_MAX_CHARS);
}
