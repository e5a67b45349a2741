/* A frame pool: one sealed memfd of equal slots, the daemon's only writable mapping of it, the
 * read-only fd clients get, and how many streams hold each slot. Pure memory and fds: no bus. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bounds that keep one client from making the daemon map absurd amounts of memory. */
#define POOL_SLOTS_MAX 64u
#define POOL_SIZE_MAX ((size_t) 512 * 1024 * 1024)

typedef struct Pool {
        uint64_t serial;     /* unique for the daemon's life: tells pools apart after munmap */
        int fd;              /* read-only: what clients get (each a dup through the bus or SCM_RIGHTS) */
        uint8_t *map;        /* writable; NULL once retired */
        size_t size;
        size_t slot_size;
        unsigned n_slots;
        size_t touched;      /* bytes at the start of each slot that frames use (and that were pre-faulted) */
        uint16_t refs[POOL_SLOTS_MAX];     /* streams holding the slot */
        uint64_t content[POOL_SLOTS_MAX];  /* what the capture last rendered there (0: unknown) */
        uint64_t reserved;   /* bit i: a capture is writing slot i */
} Pool;

/* A pool of n_slots slots of slot_size bytes, sealed (F_SEAL_SHRINK, F_SEAL_GROW,
 * F_SEAL_FUTURE_WRITE, F_SEAL_SEAL) after the daemon mapped it writable. With prefault, the
 * first touched bytes of each slot are faulted in now, so that writing frames later costs no
 * page fault. -EINVAL, -E2BIG (more than POOL_SIZE_MAX), -EMFILE/-ENFILE/-ENOMEM. */
int pool_new(unsigned n_slots, size_t slot_size, size_t touched, bool prefault, Pool **ret);
/* Unmaps and closes the daemon's side; clients keep what they mapped. Accepts NULL. */
Pool *pool_free(Pool *p);
static inline void pool_freep(Pool **p) {
        if (*p)
                pool_free(*p);
}

static inline uint8_t *pool_slot(const Pool *p, unsigned slot) {
        return p->map + (size_t) slot * p->slot_size;
}

/* A slot nobody holds and no capture writes, starting the search at *next (round robin,
 * advanced past the slot found). -ENOBUFS when there is none. */
int pool_find_free_slot(const Pool *p, unsigned *next);

/* The memory the pool keeps resident: the touched part of every slot, whole pages. */
size_t pool_resident_bytes(const Pool *p);
