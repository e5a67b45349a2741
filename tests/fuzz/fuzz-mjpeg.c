/* libFuzzer harness for the Motion-JPEG decoder, which reads what a USB camera sends (untrusted
 * hardware): the input is one JPEG frame. It is decoded at the size its header claims (when that
 * is a size a camera mode can have, up to 512 x 512) and at a size it does not have. Besides
 * memory errors (the chroma of every subsampling brought to 4:2:0 must stay inside the planes),
 * it checks what mjpeg.h promises: only the documented outcomes, a wrong size always refused, the
 * picture written only within its NV12 size. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "devices/mjpeg.h"
#include "fuzz.h"
#include "util.h"

#define MAX_SIDE 512
#define GUARD 64

static MjpegDecoder *decoder;
static tjhandle header_reader;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        if (mjpeg_decoder_new(&decoder) < 0 || !(header_reader = tjInitDecompress()))
                abort();
        return 0;
}

static void decode_at(const uint8_t *data, size_t size, uint32_t width, uint32_t height, bool right_size) {
        size_t picture = (size_t) width * height * 3 / 2;
        _cleanup_free_ uint8_t *out = malloc(picture + GUARD);
        int r;

        if (!out)
                abort();
        memset(out + picture, 0xa5, GUARD);
        r = mjpeg_decode_nv12(decoder, data, size, width, height, out, picture);
        if (r != 0 && r != 1 && r != -EBADMSG && r != -ENOMEM)
                abort();
        if (!right_size && r >= 0)
                abort(); /* a frame of another size is never taken */
        for (size_t i = 0; i < GUARD; i++)
                if (out[picture + i] != 0xa5)
                        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        int w = 0, h = 0, subsamp = 0, colorspace = 0;

        if (tjDecompressHeader3(header_reader, data, (unsigned long) size, &w, &h, &subsamp, &colorspace) == 0 &&
            w > 0 && h > 0 && w <= MAX_SIDE && h <= MAX_SIDE && w % 2 == 0 && h % 2 == 0) {
                decode_at(data, size, (uint32_t) w, (uint32_t) h, true);
                decode_at(data, size, (uint32_t) w + 2, (uint32_t) h, false);
        } else
                decode_at(data, size, 64, 48, w == 64 && h == 48);
        return 0;
}
