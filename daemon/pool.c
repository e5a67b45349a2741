/* Frame pools: a sealed memfd mapped writable once by the daemon, handed to clients read-only. */
#include "pool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

static uint64_t pool_serial_next = 1;

static size_t page_size(void) {
        long v = sysconf(_SC_PAGESIZE);

        return v > 0 ? (size_t) v : 4096;
}

static size_t round_up_page(size_t v) {
        size_t ps = page_size();

        return (v + ps - 1) / ps * ps;
}

/* Fault in what frames will touch, so that the frame path never takes a page fault in a fresh
 * pool. MADV_POPULATE_WRITE does it in one call per slot; older kernels get one write a page. */
static void prefault(Pool *p) {
        size_t ps = page_size();

        for (unsigned i = 0; i < p->n_slots; i++) {
                uint8_t *start = pool_slot(p, i), *aligned = (uint8_t *) ((uintptr_t) start / ps * ps);
                size_t len = (size_t) (start - aligned) + p->touched;

                if (madvise(aligned, len, MADV_POPULATE_WRITE) == 0)
                        continue;
                for (size_t off = 0; off < p->touched; off += ps)
                        ((volatile uint8_t *) start)[off] = 0;
        }
}

int pool_new(unsigned n_slots, size_t slot_size, size_t touched, bool prefault_now, Pool **ret) {
        _cleanup_(pool_freep) Pool *p = NULL;
        _cleanup_close_ int memfd = -1;
        char path[64];
        void *map;

        if (!ret || n_slots == 0 || n_slots > POOL_SLOTS_MAX || slot_size == 0 || touched > slot_size)
                return -EINVAL;
        /* slot_size and the pool size travel as u32 in the format dictionary. */
        if (slot_size > UINT32_MAX || slot_size > POOL_SIZE_MAX / n_slots)
                return -E2BIG;

        p = calloc(1, sizeof(Pool));
        if (!p)
                return -ENOMEM;
        p->fd = -1;
        p->serial = pool_serial_next++;
        p->n_slots = n_slots;
        p->slot_size = slot_size;
        p->size = slot_size * n_slots;
        p->touched = touched;

        memfd = memfd_create("mediagate-pool", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (memfd < 0)
                return -errno;
        if (ftruncate(memfd, (off_t) p->size) < 0)
                return -errno;

        /* Mapped writable before the seals, so that this is the only writable mapping there will
         * ever be: F_SEAL_FUTURE_WRITE refuses every later write, writable mmap and mprotect. */
        map = mmap(NULL, p->size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
        if (map == MAP_FAILED)
                return -errno;
        p->map = map;

        if (fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL) < 0)
                return -errno;

        /* Clients get a read-only fd, so even the fd itself cannot write; the read-write one goes. */
        snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
        p->fd = open(path, O_RDONLY | O_CLOEXEC);
        if (p->fd < 0)
                return -errno;

        if (prefault_now)
                prefault(p);
        *ret = TAKE_PTR(p);
        return 0;
}

Pool *pool_free(Pool *p) {
        if (!p)
                return NULL;
        if (p->map)
                munmap(p->map, p->size);
        safe_close(p->fd);
        free(p);
        return NULL;
}

int pool_find_free_slot(const Pool *p, unsigned *next) {
        for (unsigned i = 0; i < p->n_slots; i++) {
                unsigned k = (*next + i) % p->n_slots;

                if (p->refs[k] == 0 && !(p->reserved & (UINT64_C(1) << k))) {
                        *next = (k + 1) % p->n_slots;
                        return (int) k;
                }
        }
        return -ENOBUFS;
}

size_t pool_resident_bytes(const Pool *p) {
        return p ? (size_t) p->n_slots * round_up_page(p->touched) : 0;
}
