/* App ids: the four forms a caller's application is named by, and whether a string has one.
 * Pure; the daemon's identification and the admin policy (daemon and mediactl) use it. */
#include "app-id.h"

#include <ctype.h>
#include <limits.h>

#include "util.h"

static bool dotted_name_is_valid(const char *s, unsigned min_elements, bool flatpak_rules) {
        unsigned elements = 1;
        size_t len = 0;
        bool at_element_start = true, dash_seen = false;

        if (isempty(s) || strlen(s) > APP_ID_NAME_MAX)
                return false;
        for (const char *p = s; *p; p++, len++) {
                unsigned char c = (unsigned char) *p;

                if (c == '.') {
                        if (at_element_start)
                                return false; /* empty element */
                        /* Flatpak allows "-" only in the last element. */
                        if (flatpak_rules && dash_seen)
                                return false;
                        elements++;
                        at_element_start = true;
                        continue;
                }
                if (!isalnum(c) && c != '_' && c != '-')
                        return false;
                if (flatpak_rules && at_element_start && !isalpha(c) && c != '_')
                        return false;
                if (c == '-')
                        dash_seen = true;
                at_element_start = false;
        }
        if (at_element_start)
                return false; /* trailing dot */
        if (elements < min_elements)
                return false;
        /* "snap." belongs to snaps: a reverse-DNS id may not pretend to be one. */
        return !startswith(s, "snap.");
}

bool app_id_flatpak_name_is_valid(const char *s) {
        return dotted_name_is_valid(s, 3, true);
}

bool app_id_desktop_id_is_valid(const char *s) {
        return dotted_name_is_valid(s, 2, false);
}

bool app_id_snap_name_is_valid_n(const char *s, size_t len) {
        const char *underscore = memchr(s, '_', len);
        size_t name_len = underscore ? (size_t) (underscore - s) : len;
        bool letter = false;

        if (name_len == 0 || name_len > 40 || s[0] == '-' || s[name_len - 1] == '-')
                return false;
        for (size_t i = 0; i < name_len; i++) {
                char c = s[i];

                if (c >= 'a' && c <= 'z')
                        letter = true;
                else if (c == '-') {
                        if (s[i + 1] == '-')
                                return false;
                } else if (!(c >= '0' && c <= '9'))
                        return false;
        }
        if (!letter)
                return false;
        if (underscore) {
                size_t key_len = len - name_len - 1;

                if (key_len == 0 || key_len > 10)
                        return false;
                for (size_t i = name_len + 1; i < len; i++)
                        if (!(s[i] >= 'a' && s[i] <= 'z') && !(s[i] >= '0' && s[i] <= '9'))
                                return false;
        }
        return true;
}

bool app_id_is_valid(const char *s) {
        const char *rest;

        if (!s)
                return false;
        rest = startswith(s, "host:");
        if (rest) {
                if (rest[0] != '/' || strlen(rest) >= PATH_MAX)
                        return false;
                for (const char *p = rest; *p; p++)
                        if ((unsigned char) *p < ' ' || *p == 0x7f)
                                return false;
                return true;
        }
        rest = startswith(s, "snap.");
        if (rest)
                return app_id_snap_name_is_valid_n(rest, strlen(rest));
        return app_id_desktop_id_is_valid(s);
}
