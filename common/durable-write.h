/* Replacing a small file so that a full disk, a crash or a power cut leaves either the old or the
 * new version, never a mix and never nothing: the one way every store of the daemon writes; and
 * setting a damaged one aside. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef enum DurableWriteFlags {
        /* Never replace: -EEXIST when the name exists (a secret that others derive ids from). */
        DURABLE_WRITE_NOREPLACE = 1 << 0,
} DurableWriteFlags;

/* Make dir_fd/name hold exactly size bytes of data: a temporary file in the same directory,
 * write, fsync, rename over name, fsync of the directory. mode is that of a new file (the umask
 * applies). Returns 0 once the new content is in place and on disk. On failure a negative errno
 * (-ENOSPC, -EIO, -EDQUOT, -EEXIST with NOREPLACE, ...) and name is as it was before the call:
 * the old content or, without one, no file; the temporary file is gone. That holds also when
 * only the last step, the sync of the directory, fails: the old version, kept as a second link
 * until then, is put back. Blocking (fsync): a caller on an event loop that must not stall runs
 * it on a thread. Thread-safe. */
int durable_write_at(int dir_fd, const char *name, const void *data, size_t size, mode_t mode,
                     DurableWriteFlags flags);

/* Remove what an interrupted durable_write_at() of name left in dir_fd (its temporary files and
 * the second link of the old version); they were never the file. Returns how many were removed,
 * or a negative errno when the directory cannot be read. */
int durable_write_remove_leftovers(int dir_fd, const char *name);

/* Keep a damaged file for inspection instead of reading or replacing it: rename dir_fd/name to
 * "<name>.corrupt-<UTC time of now_realtime_usec>" (with "-N" added when that exists; nothing is
 * ever replaced) and sync the directory. The new name goes to ret_name (size bytes). */
int durable_set_aside(int dir_fd, const char *name, uint64_t now_realtime_usec, char *ret_name, size_t size);
