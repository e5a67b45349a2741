/* The picture of synthetic cameras: 100% colour bars with a grey block that moves and changes
 * its shade every frame, in YUYV or NV12. The block's place is a function of the frame number, so
 * that any buffer that holds an earlier frame (the pattern's own, or a stream's pool slot lent to
 * the camera) is brought up to date by painting two rectangles: a frame costs w * h / 64 pixels.
 * Pure, for the synthetic backend. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "util.h"

typedef struct TestPattern TestPattern;

/* -EINVAL unless fourcc is YUYV (even width) or NV12 (even width and height). */
int test_pattern_new(uint32_t fourcc, uint32_t width, uint32_t height, TestPattern **ret);
TestPattern *test_pattern_free(TestPattern *p);
DEFINE_CLEANUP_FUNC(TestPattern, test_pattern_free)

/* Draw frame number `sequence` into buf (test_pattern_size() bytes; stride: width * 2 for YUYV,
 * width for NV12). *content says what buf holds: a frame this pattern drew into it before (then
 * only the block's old and new places are painted), or anything else, 0 for unknown (then the
 * whole picture is). On return *content names what buf holds now. A caller that draws over the
 * picture elsewhere than the block (a frame code) must draw that again on every frame. */
void test_pattern_draw_into(TestPattern *p, uint8_t *buf, uint64_t *content, uint64_t sequence);
/* The same into the pattern's own buffer, which is returned (and changed by the next call). */
uint8_t *test_pattern_draw(TestPattern *p, uint64_t sequence);
size_t test_pattern_size(const TestPattern *p);
uint32_t test_pattern_stride(const TestPattern *p);
