/* Web origins as trusted brokers pass them in the `origin` option: parsing, normalization to
 * "scheme://host[:port]", the secure-context rule, and the origin patterns of admin policy. Pure. */
#pragma once

#include <stdbool.h>

/* Longest origin accepted, in bytes, before normalization. */
#define ORIGIN_MAX 1024

/* Normalize an origin to "scheme://host[:port]":
 *   - scheme and host are lower-cased; the scheme is [a-z][a-z0-9+.-]*;
 *   - the default port is dropped (443 for https and wss, 80 for http and ws); other ports
 *     are kept as a decimal number 1..65535 without leading zeros;
 *   - an IPv6 literal stays in brackets, canonicalized the RFC 5952 way ("[::1]");
 *   - an IPv4 address must be a plain dotted quad ("127.1", "0x7f.0.0.1", "010.0.0.1" are
 *     refused rather than guessed at); a host whose last label is a number is an IPv4 address;
 *   - a single trailing "/" is accepted and dropped.
 * Malformed, -EINVAL: NULL or empty, over ORIGIN_MAX bytes, no "scheme://", userinfo ("@"), a path,
 * query or fragment, "\", "%", spaces, control characters or any non-ASCII byte (IDN hosts must
 * come as punycode), an empty, bad or zero port, the opaque origin "null", a host with characters
 * outside [A-Za-z0-9._-], empty labels (including a trailing dot), labels over 63 or hosts over
 * 253 bytes.
 * file: origins: browsers give file pages an opaque origin; the only file origin accepted is
 * "file://" (also written "file:///" or "file://localhost"); "file:///x" has a path and is
 * malformed. "file://" is well-formed but never secure. */
int origin_normalize(const char *in, char **ret);

/* Whether a (normalized) origin is a secure context: https and wss always; http and ws only for
 * localhost, *.localhost, 127.0.0.0/8 and [::1]; file: and every other scheme never. Input that
 * does not parse as an origin is not secure. */
bool origin_is_secure(const char *normalized);

/* Normalize and require a secure context. -EINVAL malformed, -EPERM insecure (the daemon turns
 * both into SecurityError); on success *ret_normalized (if not NULL) gets the normalized form. */
int origin_check(const char *in, char **ret_normalized);

/* Origin patterns for admin policy:
 *   "*"                         any origin (but not "no origin")
 *   ""                          no origin: a caller that passed none (origin NULL or "")
 *   "https://example.com:8443"  exactly that origin (normalized before comparing, so
 *                               "HTTPS://Example.com:443" is the same as "https://example.com")
 *   "https://" "*.example.com"  (one string; split here only because C comments cannot hold it)
 *                               any host one or more labels below example.com with that scheme
 *                               and port; never example.com itself (write that separately)
 * A "*" anywhere else (a port, the middle of a host, a scheme) is not a pattern.
 * origin_pattern_check() returns 0 for a valid pattern, -EINVAL otherwise. */
int origin_pattern_check(const char *pattern);

/* Whether origin (normalized or not; NULL or "" meaning "no origin") matches pattern. An invalid
 * pattern or an origin that does not parse matches nothing. */
bool origin_pattern_match(const char *pattern, const char *origin);
