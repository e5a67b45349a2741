/* Tests of the synthetic cameras' picture: whatever a buffer held before (nothing known, an
 * earlier frame of this pattern, another pattern's frame), drawing frame n into it gives the
 * same picture, and consecutive frames differ. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "devices/device.h"
#include "devices/test-pattern.h"
#include "util.h"

static void test_any_buffer_gives_the_same_frame(void **state) {
        static const uint32_t fourccs[] = { PIXEL_FORMAT_YUYV, PIXEL_FORMAT_NV12 };

        for (size_t f = 0; f < ELEMENTSOF(fourccs); f++) {
                _cleanup_(test_pattern_freep) TestPattern *p = NULL, *other = NULL;
                _cleanup_free_ uint8_t *fresh = NULL, *lagging = NULL, *foreign = NULL;
                uint64_t fresh_content = 0, lagging_content = 0, foreign_content = 0;
                size_t size;

                assert_int_equal(test_pattern_new(fourccs[f], 320, 240, &p), 0);
                assert_int_equal(test_pattern_new(fourccs[f], 320, 240, &other), 0);
                size = test_pattern_size(p);
                fresh = malloc(size);
                lagging = malloc(size);
                foreign = malloc(size);
                assert_non_null(fresh);
                assert_non_null(lagging);
                assert_non_null(foreign);
                test_pattern_draw_into(other, foreign, &foreign_content, 7);

                for (uint64_t n = 0; n < 40; n++) {
                        const uint8_t *own = test_pattern_draw(p, n);

                        /* A buffer of unknown content, one that holds frame n - 3, another
                         * pattern's frame: all come out as the pattern's own buffer. */
                        memset(fresh, (int) n, size);
                        fresh_content = 0;
                        test_pattern_draw_into(p, fresh, &fresh_content, n);
                        assert_memory_equal(fresh, own, size);
                        if (n % 3 == 0) {
                                test_pattern_draw_into(p, lagging, &lagging_content, n);
                                assert_memory_equal(lagging, own, size);
                        }
                        test_pattern_draw_into(p, foreign, &foreign_content, n);
                        assert_memory_equal(foreign, own, size);
                        if (n > 0)
                                assert_memory_not_equal(fresh, test_pattern_draw(other, n - 1), size);
                }
                assert_int_equal(test_pattern_stride(p), fourccs[f] == PIXEL_FORMAT_YUYV ? 640 : 320);
        }
}

static void test_refusals(void **state) {
        TestPattern *p = NULL;

        assert_int_equal(test_pattern_new(PIXEL_FORMAT_YUYV, 321, 240, &p), -EINVAL);
        assert_int_equal(test_pattern_new(PIXEL_FORMAT_NV12, 320, 241, &p), -EINVAL);
        assert_int_equal(test_pattern_new(PIXEL_FORMAT_MJPEG, 320, 240, &p), -EINVAL);
        assert_int_equal(test_pattern_new(PIXEL_FORMAT_YUYV, 0, 240, &p), -EINVAL);
        assert_null(p);
        assert_null(test_pattern_free(NULL));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_any_buffer_gives_the_same_frame),
                cmocka_unit_test(test_refusals),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
