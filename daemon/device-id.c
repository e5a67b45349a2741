/* Per-caller device and group ids, derived with HMAC-SHA256 from a secret in the state
 * directory (nettle provides the HMAC). */
#include "device-id.h"

#include <fcntl.h>
#include <nettle/hmac.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "durable-write.h"
#include "log.h"
#include "util.h"

#define SECRET_FILE "device-id-secret"

static int read_secret(int dir_fd, DeviceIdSecret *ret) {
        _cleanup_close_ int fd = -1;
        struct stat st;
        ssize_t n;

        /* Not following a link, nor waiting on a FIFO put there. */
        fd = openat(dir_fd, SECRET_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode) || st.st_size != DEVICE_ID_SECRET_SIZE)
                return -EBADMSG;
        n = read(fd, ret->key, sizeof ret->key);
        if (n < 0)
                return -errno;
        return n == DEVICE_ID_SECRET_SIZE ? 0 : -EBADMSG;
}

static int create_secret(int dir_fd, DeviceIdSecret *ret) {
        DeviceIdSecret fresh;
        int r;

        if (getrandom(fresh.key, sizeof fresh.key, 0) != sizeof fresh.key)
                return -EIO;
        /* Never replace a secret that exists: ids would change under everyone's feet. */
        r = durable_write_at(dir_fd, SECRET_FILE, fresh.key, sizeof fresh.key, 0600, DURABLE_WRITE_NOREPLACE);
        if (r < 0)
                return r;
        *ret = fresh;
        return 0;
}

/* A secret that cannot serve (wrong size, not a regular file, unreadable) is kept aside for
 * inspection, as a damaged grants file is, and a new one takes its place: the device ids every
 * app knows change once, and the daemon serves on. */
static int replace_damaged(int dir_fd, const char *state_dir, int error, DeviceIdSecret *ret) {
        char name[sizeof SECRET_FILE + 64];
        int r;

        r = durable_set_aside(dir_fd, SECRET_FILE, now_usec(CLOCK_REALTIME), name, sizeof name);
        if (r < 0)
                return log_error_errno(r, "Failed to set the damaged %s/%s aside: %m", state_dir, SECRET_FILE);
        log_error_errno(error, "%s/%s is %s; it was kept as %s and a new one is made. Device ids change.",
                        state_dir, SECRET_FILE, error == -EBADMSG ? "damaged" : "unreadable", name);
        return create_secret(dir_fd, ret);
}

int device_id_secret_load(const char *state_dir, DeviceIdSecret *ret) {
        _cleanup_close_ int dir_fd = -1;
        int r;

        dir_fd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0)
                r = -errno;
        else {
                (void) durable_write_remove_leftovers(dir_fd, SECRET_FILE);
                r = read_secret(dir_fd, ret);
                if (r == -ENOENT) {
                        r = create_secret(dir_fd, ret);
                        if (r == -EEXIST) /* created meanwhile by someone else */
                                r = read_secret(dir_fd, ret);
                        if (r >= 0)
                                log_info("Created a new device-id secret in %s.", state_dir);
                } else if (r < 0)
                        r = replace_damaged(dir_fd, state_dir, r, ret);
        }
        if (r >= 0)
                return 0;

        /* Nowhere to keep one: ids for this run only, rather than no service. */
        log_error_errno(r, "Failed to keep a device-id secret in %s, device ids will change at the next start: %m",
                        state_dir);
        if (getrandom(ret->key, sizeof ret->key, 0) != sizeof ret->key)
                return log_error_errno(EIO, "Failed to make a device-id secret: %m");
        return 1;
}

static void compute(const DeviceIdSecret *secret, const char *domain, const char *app_id,
                    const char *origin, const char *hardware_id, char ret[static DEVICE_ID_LENGTH + 1]) {
        struct hmac_sha256_ctx ctx;
        uint8_t digest[SHA256_DIGEST_SIZE];
        /* Each field with its terminating NUL, so that ("ab","c") and ("a","bc") differ. An
         * absent origin is not the empty origin. */
        const char *fields[] = { domain, app_id, origin ? "origin" : "no-origin", strempty(origin),
                                 hardware_id };

        hmac_sha256_set_key(&ctx, sizeof secret->key, secret->key);
        for (size_t i = 0; i < ELEMENTSOF(fields); i++)
                hmac_sha256_update(&ctx, strlen(fields[i]) + 1, (const uint8_t *) fields[i]);
        hmac_sha256_digest(&ctx, sizeof digest, digest);

        for (size_t i = 0; i < DEVICE_ID_LENGTH / 2; i++)
                snprintf(ret + 2 * i, 3, "%02x", digest[i]);
        ret[DEVICE_ID_LENGTH] = 0;
}

void device_id_compute(const DeviceIdSecret *secret, const char *app_id, const char *origin,
                       const char *hardware_id, char ret[static DEVICE_ID_LENGTH + 1]) {
        compute(secret, "mediagate-device-id", app_id, origin, hardware_id, ret);
}

void group_id_compute(const DeviceIdSecret *secret, const char *app_id, const char *origin,
                      const char *group_hardware_id, char ret[static DEVICE_ID_LENGTH + 1]) {
        compute(secret, "mediagate-group-id", app_id, origin, group_hardware_id, ret);
}
