/* What every harness in tests/fuzz shares: the libFuzzer entry points (declared here so that
 * -Wmissing-prototypes holds) and a few helpers for turning fuzz bytes into calls. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional; the replay driver calls it too when a harness defines it. */
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A byte reader over the fuzz input for harnesses that take a script of operations. Reading past
 * the end gives zeros, so every input is a complete script. */
typedef struct FuzzReader {
        const uint8_t *data;
        size_t size;
        size_t pos;
} FuzzReader;

static inline uint8_t fuzz_u8(FuzzReader *r) {
        return r->pos < r->size ? r->data[r->pos++] : 0;
}

static inline uint32_t fuzz_u32(FuzzReader *r) {
        uint32_t v = 0;

        for (int i = 0; i < 4; i++)
                v |= (uint32_t) fuzz_u8(r) << (8 * i);
        return v;
}

static inline int fuzz_at_end(const FuzzReader *r) {
        return r->pos >= r->size;
}

/* FNV-1a over n bytes: how the wire harnesses tell whether a slot or a pool changed. */
static inline uint64_t fuzz_hash(const uint8_t *p, size_t n) {
        uint64_t h = 1469598103934665603ULL;

        for (size_t i = 0; i < n; i++)
                h = (h ^ p[i]) * 1099511628211ULL;
        return h;
}

/* Send size bytes on a SOCK_SEQPACKET socket without blocking or SIGPIPE, with n_fds (at most 4)
 * fds as SCM_RIGHTS. Whether it went whole, as sendmsg() says. */
static inline int fuzz_send_fds(int sock, const void *buf, size_t size, const int *fds, unsigned n_fds) {
        union {
                struct cmsghdr align;
                uint8_t space[CMSG_SPACE(sizeof(int) * 4)];
        } control = { 0 };
        struct iovec iov = { .iov_base = (void *) buf, .iov_len = size };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

        if (n_fds > 4)
                n_fds = 4;
        if (n_fds > 0) {
                struct cmsghdr *cm;

                mh.msg_control = &control;
                mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
                cm = CMSG_FIRSTHDR(&mh);
                cm->cmsg_level = SOL_SOCKET;
                cm->cmsg_type = SCM_RIGHTS;
                cm->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
                memcpy(CMSG_DATA(cm), fds, sizeof(int) * n_fds);
        }
        return sendmsg(sock, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t) size;
}
