/* The text format of the grants file in the state directory, and the escaped-field
 * convention it shares with the access history: serialize and parse, pure, no I/O.
 *
 * The grants file, version 1 (`$STATE_DIRECTORY/grants`):
 *
 *     mediagate-grants 1
 *     saved 1767225600000000 23d4d973a19d4312b8a93ae58a9d4421 86400000000
 *     grant 1000 camera allow 1767225900000000 org.example.Meet https://meet.example -
 *     grant 1000 microphone deny - host:/usr/bin/arecord - -
 *     grant 1001 camera allow - org.example.App - platform-vivid.0,usb-0000:00:14.0-1
 *     end 3 4c1f...(64 hex digits)
 *
 * One record a line, fields separated by one space, every line ends in "\n", nothing else
 * (no comments, no blank lines, no "\r"). The file is ASCII.
 *
 *   - `mediagate-grants 1`: the magic and the version. Any other first line is not ours.
 *   - `saved REALTIME BOOT_ID BOOTTIME`: when the file was written, in µs on CLOCK_REALTIME
 *     and CLOCK_BOOTTIME, and the kernel's boot id (32 hex digits, `-` when unknown). These
 *     let a timed grant be carried over a restart without ever being extended (grants-disk.c).
 *   - `grant UID KIND DECISION EXPIRES APP_ID ORIGIN DEVICES`:
 *       UID       decimal, 0..4294967294
 *       KIND      `camera` or `microphone`
 *       DECISION  `allow` or `deny`
 *       EXPIRES   deadline in µs on CLOCK_REALTIME, or `-` for "until revoked"
 *       APP_ID    escaped, never empty
 *       ORIGIN    escaped, `-` when the grant is for no web origin
 *       DEVICES   `-` for every device of the kind, else hardware ids, escaped, joined by
 *                 "," (a set: sorted, no duplicates, at most GRANT_FILE_DEVICES_MAX)
 *     Two lines with the same (UID, KIND, APP_ID, ORIGIN, DEVICES) make the file corrupt.
 *   - `end COUNT SHA256`: the number of grant lines and the SHA-256 (lowercase hex) of every
 *     byte of the file before this line. It must be the last line.
 *
 * Timed grants over a restart (grants-disk.c has the reasoning): with left = EXPIRES - saved
 * REALTIME and elapsed = the larger of (now - saved) on CLOCK_REALTIME and, when BOOT_ID is
 * the running kernel's, on CLOCK_BOOTTIME, a grant comes back with left - elapsed to run, or not
 * at all. It never gets more than the file's realtime deadline implies nor more than it had
 * when the file was written, so a wall clock set back (even a year) cannot stretch it.
 *
 * The end line makes a truncated file (at any byte) detectable, and the checksum makes any
 * other damage detectable; either means the whole file is refused, never half of it. The
 * daemon writes the file; admins read it (and change grants through mediactl or the Admin
 * interface: a hand-edited file fails its checksum and is set aside).
 *
 * Escaped fields: bytes 0x21..0x7e are written as they are, except `\`, `,` and `=`; every
 * other byte, and those three, as `\xHH` (two lowercase hex digits); a field that is exactly
 * `-` is written `\x2d`, so that `-` alone always means "absent". Parsers accept only `\xHH`
 * escapes (either case), and never one that decodes to NUL. Empty strings cannot be written. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "device-kind.h"

#define GRANT_UID_INVALID ((uid_t) -1) /* no uid: never in a file, never a grant's */

typedef enum GrantDecision {
        GRANT_NONE,  /* nothing stored applies */
        GRANT_ALLOW,
        GRANT_DENY,
} GrantDecision;

/* "allow" / "deny" (NULL for GRANT_NONE), and back (-EINVAL for anything else): the words of the
 * file and of the Admin interface. */
const char *grant_decision_to_string(GrantDecision d);
int grant_decision_from_string(const char *s);

#define GRANT_FILE_MAGIC "mediagate-grants"
#define GRANT_FILE_VERSION 1
/* Limits that keep a hostile or damaged file from costing unbounded memory; the store refuses
 * to store anything that could not be written back within them. */
#define GRANT_FILE_FIELD_MAX 8192u   /* bytes of one string, unescaped */
#define GRANT_FILE_DEVICES_MAX 64u   /* hardware ids in one device set */
#define GRANT_FILE_SIZE_MAX (512u * 1024u * 1024u)

typedef struct GrantFileHeader {
        uint64_t saved_realtime_usec;
        uint64_t saved_boottime_usec;
        char boot_id[33]; /* 32 lowercase hex digits, "" when unknown */
} GrantFileHeader;

/* One line of the file. */
typedef struct GrantRecord {
        uid_t uid;
        DeviceKind kind;
        GrantDecision decision;         /* GRANT_ALLOW or GRANT_DENY */
        uint64_t expires_realtime_usec; /* 0: until revoked */
        char *app_id;
        char *origin;  /* NULL: no origin */
        char **devices; /* NULL: every device of the kind; else sorted, unique, non-empty */
} GrantRecord;

void grant_record_done(GrantRecord *r);
void grant_records_free(GrantRecord *records, size_t n);

/* Write the whole file into a new buffer (NUL-terminated, *ret_size without the NUL).
 * Records must be valid as described above (-EINVAL otherwise); their order is kept. */
int grant_file_serialize(const GrantFileHeader *header, const GrantRecord *records, size_t n,
                         char **ret, size_t *ret_size);

/* Parse a whole file. On success the records are returned in file order. On failure nothing
 * is returned: -EBADMSG for any damage (with *ret_line, when given, the 1-based line that was
 * refused, or the line the end marker was expected on), -EPROTONOSUPPORT for a file of another
 * version, -EFBIG past GRANT_FILE_SIZE_MAX, -ENOMEM. data need not be NUL-terminated. */
int grant_file_parse(const char *data, size_t size, GrantFileHeader *ret_header, GrantRecord **ret_records,
                     size_t *ret_n, unsigned *ret_line);

/* Sort a device list in place and check it is a valid set (non-empty, unique, non-empty ids
 * within the limits): 0 or -EINVAL. */
int grant_devices_normalize(char **devices);

/* Escaped fields, shared with history.c. Append the escaped form of s (NULL: "-") to f. */
int text_field_write(FILE *f, const char *s);
/* Decode one field (len bytes at p, no spaces in it). "-" gives NULL with 0. -EBADMSG for a bad
 * escape, a raw byte outside 0x21..0x7e, an empty field or more than max_len decoded bytes. */
int text_field_parse(const char *p, size_t len, size_t max_len, char **ret);
