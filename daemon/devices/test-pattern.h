/* The picture of synthetic cameras: 100% colour bars with a grey block that moves and changes
 * its shade every frame, in YUYV or NV12. Drawn incrementally (only the block's old and new
 * place change), so a frame costs w * h / 64 pixels. Pure, for the synthetic backend. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "util.h"

typedef struct TestPattern TestPattern;

/* -EINVAL unless fourcc is YUYV (even width) or NV12 (even width and height). */
int test_pattern_new(uint32_t fourcc, uint32_t width, uint32_t height, TestPattern **ret);
TestPattern *test_pattern_free(TestPattern *p);
DEFINE_CLEANUP_FUNC(TestPattern, test_pattern_free)

/* The picture of frame number `sequence` (stride: width * 2 for YUYV, width for NV12). The
 * buffer is the pattern's own and is changed by the next call; a caller may draw on it (the
 * pattern restores only what its block covered). */
uint8_t *test_pattern_draw(TestPattern *p, uint64_t sequence);
size_t test_pattern_size(const TestPattern *p);
uint32_t test_pattern_stride(const TestPattern *p);
