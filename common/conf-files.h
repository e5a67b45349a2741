/* The configuration files of a program spread over several directories, found the way systemd's
 * tools find theirs: a vendor directory, then the admin's, with same-named files masking. */
#pragma once

#include <stdbool.h>

/* The paths of the "*.conf" files in dirs (NULL-terminated, lowest precedence first), sorted by
 * file name whatever directory they are in. A file in a later directory hides the file of the
 * same name in an earlier one; a file that is a symlink to /dev/null (or /dev/null itself) hides
 * it and is not listed. Names starting with "." are skipped. A directory that does not exist
 * adds nothing; any other failure to list one is returned as a negative errno, and
 * *ret_failed_dir then names that directory. *ret may be an empty list. */
int conf_files_list(const char *const *dirs, char ***ret, const char **ret_failed_dir);

/* Whether path is /dev/null or a symlink to it: the way to mask a file of a lower directory. */
bool conf_file_is_masked(const char *path);
