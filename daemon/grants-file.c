/* The grants file format (documented in grants-file.h): records to text and back, strictly,
 * so that anything damaged is refused as a whole. */
#include "grants-file.h"

#include <inttypes.h>
#include <nettle/sha2.h>

#include "hashmap.h"
#include "util.h"

static const char *const decision_table[] = {
        [GRANT_ALLOW] = "allow",
        [GRANT_DENY] = "deny",
};

const char *grant_decision_to_string(GrantDecision d) {
        if (d <= GRANT_NONE || d > GRANT_DENY)
                return NULL;
        return decision_table[d];
}

int grant_decision_from_string(const char *s) {
        for (GrantDecision d = GRANT_ALLOW; d <= GRANT_DENY; d++)
                if (streq_ptr(s, decision_table[d]))
                        return d;
        return -EINVAL;
}

void grant_record_done(GrantRecord *r) {
        free(r->app_id);
        free(r->origin);
        strv_free(r->devices);
        *r = (GrantRecord){};
}

void grant_records_free(GrantRecord *records, size_t n) {
        for (size_t i = 0; i < n; i++)
                grant_record_done(&records[i]);
        free(records);
}

static bool byte_is_plain(unsigned char c) {
        return c >= 0x21 && c <= 0x7e && c != '\\' && c != ',' && c != '=';
}

int text_field_write(FILE *f, const char *s) {
        if (!s)
                return fputc('-', f) == EOF ? -EIO : 0;
        if (streq(s, "-"))
                return fputs("\\x2d", f) == EOF ? -EIO : 0;
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (byte_is_plain(*p)) {
                        if (fputc(*p, f) == EOF)
                                return -EIO;
                } else if (fprintf(f, "\\x%02x", *p) < 0)
                        return -EIO;
        return 0;
}

static int unhex(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

int text_field_parse(const char *p, size_t len, size_t max_len, char **ret) {
        _cleanup_free_ char *s = NULL;
        size_t n = 0;

        if (len == 0)
                return -EBADMSG;
        if (len == 1 && p[0] == '-') {
                *ret = NULL;
                return 0;
        }
        /* Decoding never grows a field, so len bytes are enough. */
        s = malloc(len + 1);
        if (!s)
                return -ENOMEM;
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char) p[i];

                if (c == '\\') {
                        int hi, lo;

                        if (i + 3 >= len)
                                return -EBADMSG;
                        if (p[i + 1] != 'x')
                                return -EBADMSG;
                        hi = unhex(p[i + 2]);
                        lo = unhex(p[i + 3]);
                        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                                return -EBADMSG;
                        c = (unsigned char) (hi << 4 | lo);
                        i += 3;
                } else if (!byte_is_plain(c))
                        return -EBADMSG;
                if (n >= max_len)
                        return -EBADMSG;
                s[n++] = (char) c;
        }
        s[n] = 0;
        *ret = TAKE_PTR(s);
        return 0;
}

static int compare_strings(const void *a, const void *b) {
        return strcmp(*(char * const *) a, *(char * const *) b);
}

int grant_devices_normalize(char **devices) {
        size_t n = strv_length(devices);

        if (n == 0 || n > GRANT_FILE_DEVICES_MAX)
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                if (isempty(devices[i]) || strlen(devices[i]) > GRANT_FILE_FIELD_MAX)
                        return -EINVAL;
        qsort(devices, n, sizeof(char *), compare_strings);
        for (size_t i = 1; i < n; i++)
                if (streq(devices[i - 1], devices[i]))
                        return -EINVAL;
        return 0;
}

static bool devices_are_normal(char * const *devices) {
        size_t n = strv_length(devices);

        if (!devices)
                return true;
        if (n == 0 || n > GRANT_FILE_DEVICES_MAX)
                return false;
        for (size_t i = 0; i < n; i++) {
                if (isempty(devices[i]) || strlen(devices[i]) > GRANT_FILE_FIELD_MAX)
                        return false;
                if (i > 0 && strcmp(devices[i - 1], devices[i]) >= 0)
                        return false;
        }
        return true;
}

static bool record_is_valid(const GrantRecord *r) {
        return r->uid != GRANT_UID_INVALID && r->kind >= 0 && r->kind < _DEVICE_KIND_MAX &&
               (r->decision == GRANT_ALLOW || r->decision == GRANT_DENY) && !isempty(r->app_id) &&
               strlen(r->app_id) <= GRANT_FILE_FIELD_MAX &&
               (!r->origin || (*r->origin && strlen(r->origin) <= GRANT_FILE_FIELD_MAX)) &&
               devices_are_normal(r->devices);
}

static bool boot_id_is_valid(const char *s) {
        if (strlen(s) != 32)
                return false;
        for (; *s; s++)
                if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
                        return false;
        return true;
}

static void sha256_hex(const char *data, size_t size, char ret[SHA256_DIGEST_SIZE * 2 + 1]) {
        struct sha256_ctx ctx;
        uint8_t digest[SHA256_DIGEST_SIZE];

        sha256_init(&ctx);
        sha256_update(&ctx, size, (const uint8_t *) data);
        sha256_digest(&ctx, sizeof digest, digest);
        for (size_t i = 0; i < sizeof digest; i++)
                sprintf(ret + 2 * i, "%02x", digest[i]);
}

/* The end line: the count and the checksum of every byte before it. */
static int append_end_line(char **buf, size_t *size, size_t n) {
        char hex[SHA256_DIGEST_SIZE * 2 + 1], end[32 + sizeof hex], *grown;
        int m;

        sha256_hex(*buf, *size, hex);
        m = snprintf(end, sizeof end, "end %zu %s\n", n, hex);
        grown = realloc(*buf, *size + (size_t) m + 1);
        if (!grown)
                return -ENOMEM;
        memcpy(grown + *size, end, (size_t) m + 1);
        *buf = grown;
        *size += (size_t) m;
        return 0;
}

int grant_file_serialize(const GrantFileHeader *header, const GrantRecord *records, size_t n,
                         char **ret, size_t *ret_size) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        FILE *f;
        int r = 0;

        if (!isempty(header->boot_id) && !boot_id_is_valid(header->boot_id))
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                if (!record_is_valid(&records[i]))
                        return -EINVAL;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        fprintf(f, "%s %d\nsaved %" PRIu64 " %s %" PRIu64 "\n", GRANT_FILE_MAGIC, GRANT_FILE_VERSION,
                header->saved_realtime_usec, isempty(header->boot_id) ? "-" : header->boot_id,
                header->saved_boottime_usec);
        for (size_t i = 0; i < n && r >= 0; i++) {
                const GrantRecord *g = &records[i];

                fprintf(f, "grant %u %s %s ", (unsigned) g->uid, device_kind_to_permission(g->kind),
                        grant_decision_to_string(g->decision));
                if (g->expires_realtime_usec)
                        fprintf(f, "%" PRIu64 " ", g->expires_realtime_usec);
                else
                        fputs("- ", f);
                r = text_field_write(f, g->app_id);
                if (r >= 0 && fputc(' ', f) == EOF)
                        r = -EIO;
                if (r >= 0)
                        r = text_field_write(f, g->origin);
                if (r >= 0 && fputc(' ', f) == EOF)
                        r = -EIO;
                if (r >= 0 && !g->devices)
                        r = text_field_write(f, NULL);
                for (char **d = g->devices; r >= 0 && d && *d; d++) {
                        if (d != g->devices && fputc(',', f) == EOF)
                                r = -EIO;
                        if (r >= 0)
                                r = text_field_write(f, *d);
                }
                if (r >= 0 && fputc('\n', f) == EOF)
                        r = -EIO;
        }
        if (fclose(f) != 0 || r < 0 || !buf)
                return -ENOMEM;

        r = append_end_line(&buf, &size, n);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(buf);
        if (ret_size)
                *ret_size = size;
        return 0;
}

/* A cursor over the lines of the file. Every line must end in "\n". */
typedef struct Lines {
        const char *data;
        size_t size, pos;
        unsigned number;
} Lines;

static bool next_line(Lines *l, const char **ret, size_t *ret_len) {
        const char *nl;

        l->number++;
        if (l->pos >= l->size)
                return false;
        nl = memchr(l->data + l->pos, '\n', l->size - l->pos);
        if (!nl)
                return false;
        *ret = l->data + l->pos;
        *ret_len = (size_t) (nl - *ret);
        l->pos = (size_t) (nl - l->data) + 1;
        return true;
}

/* Split a line into exactly max fields at single spaces: an empty field (two spaces, a space at
 * either end) is an error. Returns the number of fields, or -EBADMSG if there are more. */
typedef struct Field {
        const char *p;
        size_t len;
} Field;

static int split_fields(const char *line, size_t len, Field *fields, size_t max) {
        size_t n = 0, start = 0;

        for (size_t i = 0; i <= len; i++) {
                if (i < len && line[i] != ' ')
                        continue;
                if (i == start || n == max)
                        return -EBADMSG;
                fields[n++] = (Field){ line + start, i - start };
                start = i + 1;
        }
        return (int) n;
}

static bool field_is(const Field *f, const char *s) {
        return f->len == strlen(s) && memcmp(f->p, s, f->len) == 0;
}

/* A decimal number in canonical form (no sign, no leading zeros) that fits max. */
static int field_to_u64(const Field *f, uint64_t max, uint64_t *ret) {
        uint64_t v = 0;

        if (f->len == 0 || f->len > 20 || (f->p[0] == '0' && f->len > 1))
                return -EBADMSG;
        for (size_t i = 0; i < f->len; i++) {
                unsigned d;

                if (f->p[i] < '0' || f->p[i] > '9')
                        return -EBADMSG;
                d = (unsigned) (f->p[i] - '0');
                if (v > (UINT64_MAX - d) / 10)
                        return -EBADMSG;
                v = v * 10 + d;
        }
        if (v > max)
                return -EBADMSG;
        *ret = v;
        return 0;
}

static int field_to_string(const Field *f, char *buf, size_t size) {
        if (f->len >= size)
                return -EBADMSG;
        memcpy(buf, f->p, f->len);
        buf[f->len] = 0;
        return 0;
}

static int parse_devices(const Field *f, char ***ret) {
        _cleanup_strv_free_ char **devices = NULL;
        size_t start = 0, n = 0;

        if (field_is(f, "-")) {
                *ret = NULL;
                return 0;
        }
        for (size_t i = 0; i <= f->len; i++) {
                char *d = NULL, **grown;
                int r;

                if (i < f->len && f->p[i] != ',')
                        continue;
                if (n >= GRANT_FILE_DEVICES_MAX)
                        return -EBADMSG;
                r = text_field_parse(f->p + start, i - start, GRANT_FILE_FIELD_MAX, &d);
                if (r < 0)
                        return r;
                if (!d) /* "-" inside a list */
                        return -EBADMSG;
                grown = realloc(devices, (n + 2) * sizeof(char *));
                if (!grown) {
                        free(d);
                        return -ENOMEM;
                }
                devices = grown;
                devices[n++] = d;
                devices[n] = NULL;
                start = i + 1;
        }
        /* The writer sorts; a list out of order or with a repeated id was not written by us. */
        if (!devices_are_normal(devices))
                return -EBADMSG;
        *ret = TAKE_PTR(devices);
        return 0;
}

static int parse_grant(const Field *fields, size_t n, GrantRecord *ret) {
        _cleanup_(grant_record_done) GrantRecord g = {};
        char word[16];
        uint64_t v;
        int r;

        if (n != 8 || !field_is(&fields[0], "grant"))
                return -EBADMSG;
        if (field_to_u64(&fields[1], (uint64_t) GRANT_UID_INVALID - 1, &v) < 0)
                return -EBADMSG;
        g.uid = (uid_t) v;
        if (field_to_string(&fields[2], word, sizeof word) < 0 || (r = device_kind_from_permission(word)) < 0)
                return -EBADMSG;
        g.kind = (DeviceKind) r;
        if (field_to_string(&fields[3], word, sizeof word) < 0 || (r = grant_decision_from_string(word)) < 0)
                return -EBADMSG;
        g.decision = (GrantDecision) r;
        if (!field_is(&fields[4], "-")) {
                if (field_to_u64(&fields[4], UINT64_MAX, &g.expires_realtime_usec) < 0 ||
                    g.expires_realtime_usec == 0)
                        return -EBADMSG;
        }
        r = text_field_parse(fields[5].p, fields[5].len, GRANT_FILE_FIELD_MAX, &g.app_id);
        if (r < 0)
                return r;
        if (!g.app_id)
                return -EBADMSG;
        r = text_field_parse(fields[6].p, fields[6].len, GRANT_FILE_FIELD_MAX, &g.origin);
        if (r < 0)
                return r;
        r = parse_devices(&fields[7], &g.devices);
        if (r < 0)
                return r;
        *ret = g;
        g = (GrantRecord){};
        return 0;
}

/* The identity of a record, for finding duplicates: every field escaped, so no two identities
 * can collide. */
static char *record_key(const GrantRecord *g) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        FILE *f;

        f = open_memstream(&buf, &size);
        if (!f)
                return NULL;
        fprintf(f, "%u %d ", (unsigned) g->uid, (int) g->kind);
        text_field_write(f, g->app_id);
        fputc(' ', f);
        text_field_write(f, g->origin);
        fputc(' ', f);
        if (!g->devices)
                fputc('-', f);
        for (char **d = g->devices; d && *d; d++) {
                text_field_write(f, *d);
                fputc(',', f);
        }
        if (fclose(f) != 0)
                return NULL;
        return TAKE_PTR(buf);
}

static void free_keys(Hashmap *keys) {
        HashmapIter it = {};
        char *k;

        while (hashmap_iterate(keys, &it, (void **) &k, NULL))
                free(k);
        hashmap_free(keys);
}

/* The magic line and the saved line. Another version is told apart from damage. */
static int parse_head(Lines *lines, GrantFileHeader *ret) {
        GrantFileHeader header = {};
        const char *line;
        Field fields[4];
        size_t len;
        uint64_t v;
        int k;

        if (!next_line(lines, &line, &len))
                return -EBADMSG;
        k = split_fields(line, len, fields, 2);
        if (k != 2 || !field_is(&fields[0], GRANT_FILE_MAGIC))
                return -EBADMSG;
        if (!field_is(&fields[1], "1"))
                /* A number that is not ours is another version; anything else is damage. */
                return field_to_u64(&fields[1], UINT64_MAX, &v) >= 0 ? -EPROTONOSUPPORT : -EBADMSG;

        if (!next_line(lines, &line, &len))
                return -EBADMSG;
        k = split_fields(line, len, fields, 4);
        if (k != 4 || !field_is(&fields[0], "saved") ||
            field_to_u64(&fields[1], UINT64_MAX, &header.saved_realtime_usec) < 0 ||
            field_to_u64(&fields[3], UINT64_MAX, &header.saved_boottime_usec) < 0)
                return -EBADMSG;
        if (!field_is(&fields[2], "-") &&
            (field_to_string(&fields[2], header.boot_id, sizeof header.boot_id) < 0 ||
             !boot_id_is_valid(header.boot_id)))
                return -EBADMSG;
        *ret = header;
        return 0;
}

/* The end line: the count of grant lines and the checksum of every byte before it (the line
 * began at start). */
static int check_end(const Lines *lines, const Field *fields, int k, size_t start, size_t n) {
        char hex[SHA256_DIGEST_SIZE * 2 + 1];
        uint64_t v;

        if (k != 3 || field_to_u64(&fields[1], SIZE_MAX, &v) < 0 || v != n ||
            fields[2].len != SHA256_DIGEST_SIZE * 2)
                return -EBADMSG;
        sha256_hex(lines->data, start, hex);
        return memcmp(hex, fields[2].p, fields[2].len) == 0 ? 0 : -EBADMSG;
}

typedef struct RecordList {
        GrantRecord *records;
        size_t n, alloc;
        Hashmap *keys; /* record_key() of each, to refuse a key given twice */
} RecordList;

static void record_list_done(RecordList *l) {
        if (l->keys)
                free_keys(l->keys);
        grant_records_free(l->records, l->n);
        *l = (RecordList){};
}

/* Take g over (it is freed on failure): -EBADMSG when its key was given before, -ENOMEM. */
static int record_list_add(RecordList *l, GrantRecord *g) {
        _cleanup_free_ char *key = NULL;
        int r;

        key = record_key(g);
        if (!key || (!l->keys && !(l->keys = hashmap_new()))) {
                grant_record_done(g);
                return -ENOMEM;
        }
        r = hashmap_put(l->keys, key, key);
        if (r < 0) {
                grant_record_done(g);
                return r == -EEXIST ? -EBADMSG : r;
        }
        TAKE_PTR(key);
        if (l->n == l->alloc) {
                size_t want = MAX(l->alloc * 2, 16u);
                GrantRecord *grown = realloc(l->records, want * sizeof(GrantRecord));

                if (!grown) {
                        grant_record_done(g);
                        return -ENOMEM;
                }
                l->records = grown;
                l->alloc = want;
        }
        l->records[l->n++] = *g;
        return 0;
}

int grant_file_parse(const char *data, size_t size, GrantFileHeader *ret_header, GrantRecord **ret_records,
                     size_t *ret_n, unsigned *ret_line) {
        Lines lines = { .data = data, .size = size };
        GrantFileHeader header;
        RecordList list = {};
        Field fields[9];
        int k, r;

        if (size > GRANT_FILE_SIZE_MAX)
                return -EFBIG;
        r = parse_head(&lines, &header);
        while (r >= 0) {
                size_t start = lines.pos, len;
                const char *line;
                GrantRecord g;

                if (!next_line(&lines, &line, &len)) {
                        r = -EBADMSG; /* no end line: truncated */
                        break;
                }
                k = split_fields(line, len, fields, ELEMENTSOF(fields));
                if (k < 0)
                        r = -EBADMSG;
                else if (field_is(&fields[0], "end")) {
                        r = check_end(&lines, fields, k, start, list.n);
                        if (r >= 0 && lines.pos != size) {
                                lines.number++; /* anything after the end line */
                                r = -EBADMSG;
                        }
                        break;
                } else {
                        r = parse_grant(fields, (size_t) k, &g);
                        if (r >= 0)
                                r = record_list_add(&list, &g);
                }
        }
        if (ret_line)
                *ret_line = r < 0 ? lines.number : 0;
        if (r < 0) {
                record_list_done(&list);
                return r;
        }

        if (ret_header)
                *ret_header = header;
        if (ret_n)
                *ret_n = list.n;
        if (ret_records)
                *ret_records = TAKE_PTR(list.records);
        list.n = 0;
        record_list_done(&list);
        return 0;
}
