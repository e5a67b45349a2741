/* mediactl's translations: the "mediagate" gettext domain, from the installed catalogs or, for a
 * mediactl run from its build directory, from the "locale" directory beside it. */
#include <limits.h>
#include <locale.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "mediactl.h"

#ifndef LOCALEDIR
#define LOCALEDIR "/usr/share/locale"
#endif

void i18n_init(void) {
        char exe[PATH_MAX], beside[PATH_MAX + 16];
        const char *dir = LOCALEDIR;
        struct stat st;
        ssize_t n;

        n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n > 0) {
                char *slash;

                exe[n] = '\0';
                slash = strrchr(exe, '/');
                if (slash) {
                        *slash = '\0';
                        snprintf(beside, sizeof beside, "%s/locale", exe);
                        if (stat(beside, &st) >= 0 && S_ISDIR(st.st_mode))
                                dir = beside;
                }
        }
        (void) bindtextdomain(GETTEXT_DOMAIN, dir);
        (void) bind_textdomain_codeset(GETTEXT_DOMAIN, "UTF-8");
        (void) textdomain(GETTEXT_DOMAIN);
}
