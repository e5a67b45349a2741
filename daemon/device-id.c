/* Per-caller device and group ids, derived with HMAC-SHA256 from a secret in the state
 * directory (nettle provides the HMAC). */
#include "device-id.h"

#include <fcntl.h>
#include <nettle/hmac.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "log.h"
#include "util.h"

#define SECRET_FILE "device-id-secret"

static int read_secret(int dir_fd, DeviceIdSecret *ret) {
        _cleanup_close_ int fd = -1;
        struct stat st;
        ssize_t n;

        fd = openat(dir_fd, SECRET_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
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
        char tmp[] = SECRET_FILE ".tmpXXXXXX";
        _cleanup_close_ int fd = -1;
        int r;

        if (getrandom(ret->key, sizeof ret->key, 0) != sizeof ret->key)
                return -EIO;

        /* mkstemp needs a path; the directory fd keeps us in the state directory. */
        for (int attempt = 0; attempt < 16 && fd < 0; attempt++) {
                uint8_t rnd[6];

                if (getrandom(rnd, sizeof rnd, 0) != sizeof rnd)
                        return -EIO;
                for (size_t i = 0; i < 6; i++)
                        tmp[sizeof tmp - 7 + i] = "abcdefghijklmnopqrstuvwxyz0123456789"[rnd[i] % 36];
                fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
                if (fd < 0 && errno != EEXIST)
                        return -errno;
        }
        if (fd < 0)
                return -EEXIST;
        if (write(fd, ret->key, sizeof ret->key) != (ssize_t) sizeof ret->key || fsync(fd) < 0) {
                r = -errno ?: -EIO;
                (void) unlinkat(dir_fd, tmp, 0);
                return r;
        }
        /* Never replace a secret that exists: ids would change under everyone's feet. */
        if (renameat2(dir_fd, tmp, dir_fd, SECRET_FILE, RENAME_NOREPLACE) < 0) {
                r = -errno;
                (void) unlinkat(dir_fd, tmp, 0);
                return r;
        }
        (void) fsync(dir_fd);
        return 0;
}

int device_id_secret_load(const char *state_dir, DeviceIdSecret *ret) {
        _cleanup_close_ int dir_fd = -1;
        int r;

        dir_fd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0)
                return log_error_errno(errno, "Failed to open the state directory %s: %m", state_dir);

        r = read_secret(dir_fd, ret);
        if (r == -ENOENT) {
                r = create_secret(dir_fd, ret);
                if (r == -EEXIST) /* created meanwhile by someone else */
                        r = read_secret(dir_fd, ret);
                if (r >= 0)
                        log_info("Created a new device-id secret in %s.", state_dir);
        }
        if (r < 0)
                return log_error_errno(r, "Failed to load %s/%s: %m", state_dir, SECRET_FILE);
        return 0;
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
