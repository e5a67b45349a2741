/* Web origins: parsing and normalization to "scheme://host[:port]", the secure-context rule and
 * admin-policy origin patterns. Pure: no bus, no files. */
#include "origin.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <strings.h>

#include "util.h"

typedef struct Origin {
        char scheme[ORIGIN_MAX + 1];
        char host[ORIGIN_MAX + 1]; /* lower-case; an IPv6 address without its brackets */
        bool ipv4;
        bool ipv6;
        unsigned port; /* 0: the scheme's default port, or none */
} Origin;

static bool is_default_port(const char *scheme, unsigned port) {
        if (streq(scheme, "https") || streq(scheme, "wss"))
                return port == 443;
        if (streq(scheme, "http") || streq(scheme, "ws"))
                return port == 80;
        return false;
}

static int parse_scheme(const char *s, size_t len, Origin *o) {
        if (len == 0 || !isalpha((unsigned char) s[0]))
                return -EINVAL;
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char) s[i];

                if (!isalnum(c) && c != '+' && c != '-' && c != '.')
                        return -EINVAL;
                o->scheme[i] = (char) tolower(c);
        }
        o->scheme[len] = 0;
        return 0;
}

static int parse_port(const char *s, size_t len, unsigned *ret) {
        unsigned v = 0;

        /* Five digits at most, so that "000000443" and overflow never come up. */
        if (len == 0 || len > 5)
                return -EINVAL;
        for (size_t i = 0; i < len; i++) {
                if (!isdigit((unsigned char) s[i]))
                        return -EINVAL;
                v = v * 10 + (unsigned) (s[i] - '0');
        }
        if (v == 0 || v > 65535)
                return -EINVAL;
        *ret = v;
        return 0;
}

static bool label_is_number(const char *l, size_t len) {
        size_t i = 0;

        /* The URL standard reads a host whose last label is decimal or 0x-hex as IPv4. */
        if (len >= 2 && l[0] == '0' && (l[1] == 'x' || l[1] == 'X')) {
                for (i = 2; i < len; i++)
                        if (!isxdigit((unsigned char) l[i]))
                                return false;
                return true;
        }
        for (; i < len; i++)
                if (!isdigit((unsigned char) l[i]))
                        return false;
        return len > 0;
}

/* A plain dotted quad: four decimal numbers 0..255, no leading zeros. */
static bool is_dotted_quad(const char *h) {
        unsigned n_parts = 0;

        for (const char *p = h;;) {
                size_t len = strcspn(p, ".");
                unsigned v = 0;

                if (len == 0 || len > 3 || (len > 1 && p[0] == '0'))
                        return false;
                for (size_t i = 0; i < len; i++) {
                        if (!isdigit((unsigned char) p[i]))
                                return false;
                        v = v * 10 + (unsigned) (p[i] - '0');
                }
                if (v > 255)
                        return false;
                n_parts++;
                if (p[len] == 0)
                        break;
                p += len + 1;
        }
        return n_parts == 4;
}

static int parse_host(const char *s, size_t len, Origin *o) {
        const char *last_label;
        size_t label_len = 0;

        if (len == 0 || len > 253)
                return -EINVAL;
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char) s[i];

                if (c == '.') {
                        if (label_len == 0)
                                return -EINVAL; /* leading dot or ".." */
                        label_len = 0;
                } else if (isalnum(c) || c == '-' || c == '_') {
                        if (++label_len > 63)
                                return -EINVAL;
                } else
                        return -EINVAL;
                o->host[i] = (char) tolower(c);
        }
        if (label_len == 0)
                return -EINVAL; /* trailing dot: a different origin in browsers, refuse it */
        o->host[len] = 0;

        last_label = strrchr(o->host, '.');
        last_label = last_label ? last_label + 1 : o->host;
        if (label_is_number(last_label, strlen(last_label))) {
                if (!is_dotted_quad(o->host))
                        return -EINVAL;
                o->ipv4 = true;
        }
        return 0;
}

static int parse_ipv6(const char *s, size_t len, Origin *o) {
        char buf[INET6_ADDRSTRLEN + 1];
        struct in6_addr a;

        if (len == 0 || len >= sizeof buf)
                return -EINVAL;
        memcpy(buf, s, len);
        buf[len] = 0;
        if (inet_pton(AF_INET6, buf, &a) != 1)
                return -EINVAL;
        if (!inet_ntop(AF_INET6, &a, o->host, sizeof o->host))
                return -EINVAL;
        o->ipv6 = true;
        return 0;
}

static int origin_parse(const char *in, Origin *o) {
        const char *sep, *auth, *auth_end, *port = NULL;
        size_t len, auth_len;
        int r;

        *o = (Origin) {};
        if (!in)
                return -EINVAL;
        len = strlen(in);
        if (len == 0 || len > ORIGIN_MAX)
                return -EINVAL;
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char) in[i];

                /* Spaces, controls and non-ASCII (IDN must arrive as punycode); userinfo, query,
                 * fragment, percent-encoding and backslashes (a slash to browsers) never belong in
                 * an origin. */
                if (c <= ' ' || c >= 0x7f || strchr("@?#%\\", c))
                        return -EINVAL;
        }
        if (strcasecmp(in, "null") == 0)
                return -EINVAL; /* the opaque origin names nobody */

        sep = strstr(in, "://");
        if (!sep)
                return -EINVAL;
        r = parse_scheme(in, (size_t) (sep - in), o);
        if (r < 0)
                return r;

        auth = sep + 3;
        auth_end = strchr(auth, '/');
        if (auth_end && !streq(auth_end, "/"))
                return -EINVAL; /* a path */
        auth_len = auth_end ? (size_t) (auth_end - auth) : strlen(auth);

        if (streq(o->scheme, "file")) {
                /* file: has no host of its own; "localhost" means the same as none. */
                if (auth_len == 0 || (auth_len == 9 && strncasecmp(auth, "localhost", 9) == 0))
                        return 0;
                return -EINVAL;
        }

        if (auth_len == 0)
                return -EINVAL;
        if (auth[0] == '[') {
                const char *close = memchr(auth, ']', auth_len);

                if (!close)
                        return -EINVAL;
                r = parse_ipv6(auth + 1, (size_t) (close - auth - 1), o);
                if (r < 0)
                        return r;
                if (close + 1 < auth + auth_len) {
                        if (close[1] != ':')
                                return -EINVAL;
                        port = close + 2;
                }
        } else {
                const char *colon = memchr(auth, ':', auth_len);

                r = parse_host(auth, colon ? (size_t) (colon - auth) : auth_len, o);
                if (r < 0)
                        return r;
                if (colon)
                        port = colon + 1;
        }

        if (port) {
                r = parse_port(port, (size_t) (auth + auth_len - port), &o->port);
                if (r < 0)
                        return r;
                if (is_default_port(o->scheme, o->port))
                        o->port = 0;
        }
        return 0;
}

static int origin_format(const Origin *o, char **ret) {
        char port[16] = "";
        char *s;

        if (o->port > 0)
                snprintf(port, sizeof port, ":%u", o->port);
        if (asprintf(&s, "%s://%s%s%s%s", o->scheme, o->ipv6 ? "[" : "", o->host,
                     o->ipv6 ? "]" : "", port) < 0)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int origin_normalize(const char *in, char **ret) {
        Origin o;
        int r;

        r = origin_parse(in, &o);
        if (r < 0)
                return r;
        return origin_format(&o, ret);
}

static bool origin_parsed_is_secure(const Origin *o) {
        if (streq(o->scheme, "https") || streq(o->scheme, "wss"))
                return true;
        if (!streq(o->scheme, "http") && !streq(o->scheme, "ws"))
                return false;

        /* Loopback is a secure context: nothing leaves the machine. */
        if (o->ipv6)
                return streq(o->host, "::1");
        if (o->ipv4)
                return startswith(o->host, "127.");
        if (streq(o->host, "localhost"))
                return true;
        const char *dot = strrchr(o->host, '.');
        return dot && streq(dot, ".localhost");
}

bool origin_is_secure(const char *normalized) {
        Origin o;

        if (origin_parse(normalized, &o) < 0)
                return false;
        return origin_parsed_is_secure(&o);
}

int origin_check(const char *in, char **ret_normalized) {
        Origin o;
        int r;

        r = origin_parse(in, &o);
        if (r < 0)
                return r;
        if (!origin_parsed_is_secure(&o))
                return -EPERM;
        if (ret_normalized)
                return origin_format(&o, ret_normalized);
        return 0;
}

typedef enum PatternKind {
        PATTERN_ANY,        /* "*" */
        PATTERN_NONE,       /* "": no origin */
        PATTERN_EXACT,      /* one origin */
        PATTERN_SUBDOMAINS, /* a "*." in front of the host */
} PatternKind;

static int pattern_parse(const char *pattern, PatternKind *ret_kind, Origin *base) {
        const char *sep;
        int r;

        if (!pattern)
                return -EINVAL;
        if (streq(pattern, "")) {
                *ret_kind = PATTERN_NONE;
                return 0;
        }
        if (streq(pattern, "*")) {
                *ret_kind = PATTERN_ANY;
                return 0;
        }

        sep = strstr(pattern, "://");
        if (sep && startswith(sep + 3, "*.")) {
                char buf[ORIGIN_MAX + 1];
                size_t scheme_len = (size_t) (sep - pattern);

                if (strlen(pattern) > ORIGIN_MAX)
                        return -EINVAL;
                /* Parse "scheme://host[:port]" with the "*." taken out. */
                memcpy(buf, pattern, scheme_len + 3);
                strcpy(buf + scheme_len + 3, sep + 5);
                r = origin_parse(buf, base);
                if (r < 0)
                        return r;
                if (base->ipv4 || base->ipv6 || isempty(base->host))
                        return -EINVAL; /* addresses have no subdomains */
                *ret_kind = PATTERN_SUBDOMAINS;
                return 0;
        }

        r = origin_parse(pattern, base);
        if (r < 0)
                return r;
        *ret_kind = PATTERN_EXACT;
        return 0;
}

int origin_pattern_check(const char *pattern) {
        PatternKind kind;
        Origin base;

        return pattern_parse(pattern, &kind, &base);
}

bool origin_pattern_match(const char *pattern, const char *origin) {
        PatternKind kind;
        Origin base, o;
        size_t hlen, blen;

        if (pattern_parse(pattern, &kind, &base) < 0)
                return false;
        if (isempty(origin))
                return kind == PATTERN_NONE;
        if (kind == PATTERN_NONE)
                return false;
        if (origin_parse(origin, &o) < 0)
                return false;

        switch (kind) {
        case PATTERN_ANY:
                return true;
        case PATTERN_EXACT:
                return streq(o.scheme, base.scheme) && streq(o.host, base.host) &&
                       o.ipv6 == base.ipv6 && o.port == base.port;
        case PATTERN_SUBDOMAINS:
                if (!streq(o.scheme, base.scheme) || o.port != base.port || o.ipv4 || o.ipv6)
                        return false;
                hlen = strlen(o.host);
                blen = strlen(base.host);
                /* At least one whole label in front: "a.example.com", never "example.com" nor
                 * "badexample.com". */
                return hlen > blen + 1 && streq(o.host + hlen - blen, base.host) &&
                       o.host[hlen - blen - 1] == '.';
        default:
                return false;
        }
}
