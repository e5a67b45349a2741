/* libFuzzer harness for the frame code reader (the stamp of synthetic MJPEG cameras drawn as
 * cells, read back from decoded pictures by tests): the input is a picture geometry (format,
 * width, height, stride: 8 bytes) followed by picture bytes, read as they are and, padded to
 * the picture's size, after a code was drawn into them. Besides memory errors (the reader must
 * stay inside the picture, whatever the geometry claims) it checks what frame-code.h promises:
 * a code read back is a stamp with the magic whose CRC held; a drawn code reads back as drawn,
 * whatever was in the picture around it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/frame-code.h"
#include "fuzz.h"
#include "util.h"

/* Geometry up to 1024 x 1024: the code needs 256 x 192, more is only slower. */
#define MAX_SIDE 1024

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        FuzzReader r = { .data = data, .size = size };
        uint32_t fourcc = fuzz_u8(&r) & 1 ? PIXEL_FORMAT_NV12 : PIXEL_FORMAT_YUYV;
        uint32_t width = (fuzz_u8(&r) | (uint32_t) fuzz_u8(&r) << 8) % (MAX_SIDE + 1);
        uint32_t height = (fuzz_u8(&r) | (uint32_t) fuzz_u8(&r) << 8) % (MAX_SIDE + 1);
        uint32_t stride = (fuzz_u8(&r) | (uint32_t) fuzz_u8(&r) << 8) % (2 * MAX_SIDE + 64);
        const uint8_t *picture = data + MIN(r.pos, size);
        size_t picture_size = size - MIN(r.pos, size), need;
        uint8_t stamp[FRAME_STAMP_SIZE], back[FRAME_STAMP_SIZE];
        _cleanup_free_ uint8_t *copy = NULL;
        int k;

        (void) fuzz_u8(&r); /* a spare byte, so that the picture starts on an even offset */
        picture = data + MIN(r.pos, size);
        picture_size = size - MIN(r.pos, size);

        /* As the bytes are: exactly the promised outcomes, never a stamp without its CRC. */
        k = frame_code_read(fourcc, width, height, stride, picture, picture_size, stamp);
        if (k != 0 && k != -EINVAL && k != -ERANGE && k != -EBADMSG)
                abort();
        if (k == 0 && (memcmp(stamp, FRAME_STAMP_MAGIC, 8) != 0))
                abort();

        /* A copy of the picture, as large as the geometry needs, with a code drawn in. */
        need = fourcc == PIXEL_FORMAT_NV12 ? (size_t) stride * height + (size_t) stride * (height / 2)
                                           : (size_t) stride * height;
        if (need == 0 || need > (size_t) 8 * MAX_SIDE * MAX_SIDE)
                return 0;
        copy = calloc(1, need);
        if (!copy)
                abort();
        memcpy(copy, picture, MIN(need, picture_size));
        memset(stamp, 0, sizeof stamp);
        memcpy(stamp, FRAME_STAMP_MAGIC, 8);
        memcpy(stamp + 8, picture, MIN(picture_size, (size_t) 32));
        k = frame_code_draw(fourcc, width, height, stride, copy, need, stamp);
        if (k == 0) {
                if (frame_code_read(fourcc, width, height, stride, copy, need, back) != 0 ||
                    memcmp(back, stamp, sizeof stamp) != 0) {
                        fprintf(stderr, "a code drawn into a %ux%u picture (stride %u) does not read back\n", width,
                                height, stride);
                        abort();
                }
        } else if (k != -EINVAL && k != -ERANGE)
                abort();
        return 0;
}
