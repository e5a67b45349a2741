/* What every harness in tests/fuzz shares: the libFuzzer entry points (declared here so that
 * -Wmissing-prototypes holds) and a few helpers for turning fuzz bytes into calls. */
#pragma once

#include <stddef.h>
#include <stdint.h>

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
