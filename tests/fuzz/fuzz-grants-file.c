/* libFuzzer harness for the grants file: the input is parsed as a whole file, and once more with
 * a correct "end COUNT SHA256" line appended (the fuzzer cannot forge a checksum, and without
 * this only damaged files would ever be seen). What parses must serialize, parse back to the same
 * records and serialize to the same bytes: the daemon rewrites the file from what it read. */
#include <errno.h>
#include <inttypes.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "grants-file.h"
#include "util.h"

static bool debug; /* MEDIAGATE_FUZZ_DEBUG: say what became of each input */

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        debug = getenv("MEDIAGATE_FUZZ_DEBUG");
        return 0;
}

static bool strv_equal(char **a, char **b) {
        if (!a || !b)
                return a == b;
        for (; *a && *b; a++, b++)
                if (!streq(*a, *b))
                        return false;
        return !*a && !*b;
}

static bool record_equal(const GrantRecord *a, const GrantRecord *b) {
        return a->uid == b->uid && a->kind == b->kind && a->decision == b->decision &&
               a->expires_realtime_usec == b->expires_realtime_usec && streq(a->app_id, b->app_id) &&
               streq_ptr(a->origin, b->origin) && strv_equal(a->devices, b->devices);
}

static void check_record(const GrantRecord *g) {
        if (g->uid == (uid_t) -1 || (g->kind != DEVICE_KIND_AUDIO && g->kind != DEVICE_KIND_VIDEO) ||
            (g->decision != GRANT_ALLOW && g->decision != GRANT_DENY) || isempty(g->app_id) ||
            (g->origin && !*g->origin))
                abort();
        if (g->devices) {
                size_t n = strv_length(g->devices);

                if (n == 0 || n > GRANT_FILE_DEVICES_MAX)
                        abort();
                for (size_t i = 0; i < n; i++)
                        if (!*g->devices[i] || (i > 0 && strcmp(g->devices[i - 1], g->devices[i]) >= 0))
                                abort(); /* documented: sorted, unique, non-empty */
        }
}

static void check_parsed(const GrantFileHeader *header, GrantRecord *records, size_t n) {
        _cleanup_free_ char *text = NULL, *text2 = NULL;
        GrantFileHeader header2;
        GrantRecord *records2 = NULL;
        size_t size = 0, size2 = 0, n2 = 0;
        unsigned line = 0;
        int r;

        for (size_t i = 0; i < n; i++)
                check_record(&records[i]);

        r = grant_file_serialize(header, records, n, &text, &size);
        if (r < 0) {
                fprintf(stderr, "what was parsed does not serialize: %s\n", strerror(-r));
                abort();
        }
        r = grant_file_parse(text, size, &header2, &records2, &n2, &line);
        if (r < 0) {
                fprintf(stderr, "what was serialized does not parse: %s at line %u:\n%s\n", strerror(-r), line,
                        text);
                abort();
        }
        if (n2 != n || header2.saved_realtime_usec != header->saved_realtime_usec ||
            header2.saved_boottime_usec != header->saved_boottime_usec || !streq(header2.boot_id, header->boot_id))
                abort();
        for (size_t i = 0; i < n; i++)
                if (!record_equal(&records[i], &records2[i])) {
                        fprintf(stderr, "record %zu changed on the way through:\n%s\n", i, text);
                        abort();
                }
        r = grant_file_serialize(&header2, records2, n2, &text2, &size2);
        if (r < 0 || size2 != size || memcmp(text, text2, size) != 0)
                abort();
        grant_records_free(records2, n2);
}

static void parse_one(const char *data, size_t size, const char *what) {
        GrantFileHeader header;
        GrantRecord *records = NULL;
        size_t n = 0;
        unsigned line = 0;
        int r;

        r = grant_file_parse(data, size, &header, &records, &n, &line);
        if (debug)
                fprintf(stderr, "%s: %s, line %u, %zu records\n", what, r < 0 ? strerror(-r) : "parsed", line, n);
        if (r < 0) {
                if (r != -EBADMSG && r != -EPROTONOSUPPORT && r != -ENOMEM && r != -EFBIG)
                        abort();
                return;
        }
        check_parsed(&header, records, n);
        grant_records_free(records, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *sealed = NULL;
        uint8_t digest[SHA256_DIGEST_SIZE];
        struct sha256_ctx ctx;
        size_t count = 0, sealed_size = 0;
        FILE *f;

        parse_one((const char *) data, size, "as given");

        /* Count the lines that look like grants; a wrong count is refused like any damage. */
        for (size_t i = 0; i + 6 <= size; i++)
                if ((i == 0 || data[i - 1] == '\n') && memcmp(data + i, "grant ", 6) == 0)
                        count++;
        sha256_init(&ctx);
        sha256_update(&ctx, size, data);
        sha256_digest(&ctx, sizeof digest, digest);

        f = open_memstream(&sealed, &sealed_size);
        if (!f)
                abort();
        fwrite(data, 1, size, f);
        fprintf(f, "end %zu ", count);
        for (size_t i = 0; i < sizeof digest; i++)
                fprintf(f, "%02x", digest[i]);
        fputc('\n', f);
        if (fclose(f) != 0)
                abort();
        parse_one(sealed, sealed_size, "with an end line");
        return 0;
}
