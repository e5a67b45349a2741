/* Drawing and reading the frame stamp as black and white cells of luma. */
#include "frame-code.h"

#include <errno.h>
#include <string.h>

#include "util.h"

int frame_code_cell_width(uint32_t width, uint32_t height) {
        if (width < FRAME_CODE_MIN_WIDTH || height < FRAME_CODE_MIN_HEIGHT)
                return -ERANGE;
        return (int) ((width / FRAME_CODE_COLUMNS) & ~7u);
}

uint32_t frame_code_crc32(const uint8_t *p, size_t n) {
        uint32_t crc = 0xffffffffu;

        for (size_t i = 0; i < n; i++) {
                crc ^= p[i];
                for (unsigned b = 0; b < 8; b++)
                        crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
        }
        return ~crc;
}

/* The layout of a picture: where luma sample (x, y) is, and whether the buffer holds it all. */
typedef struct Layout {
        uint32_t fourcc, width, height, stride;
        size_t y_step; /* bytes from one luma sample to the next in a row */
} Layout;

static int layout_check(Layout *l, uint32_t fourcc, uint32_t width, uint32_t height, uint32_t stride, size_t size,
                        const void *data) {
        size_t need;

        if (!data)
                return -EINVAL;
        *l = (Layout) { .fourcc = fourcc, .width = width, .height = height, .stride = stride };
        if (fourcc == PIXEL_FORMAT_YUYV) {
                l->y_step = 2;
                if (width % 2 != 0 || stride / 2 < width)
                        return -EINVAL;
                need = (size_t) stride * height;
        } else if (fourcc == PIXEL_FORMAT_NV12) {
                l->y_step = 1;
                if (width % 2 != 0 || height % 2 != 0 || stride < width)
                        return -EINVAL;
                need = (size_t) stride * height + (size_t) stride * (height / 2);
        } else
                return -EINVAL;
        if (size < need)
                return -EINVAL;
        return frame_code_cell_width(width, height) < 0 ? -ERANGE : 0;
}

static size_t luma_offset(const Layout *l, uint32_t x, uint32_t y) {
        return (size_t) y * l->stride + (size_t) x * l->y_step;
}

static void cell_origin(unsigned bit, uint32_t cell_width, uint32_t *x, uint32_t *y) {
        *x = (bit % FRAME_CODE_COLUMNS) * cell_width;
        *y = FRAME_CODE_TOP + (bit / FRAME_CODE_COLUMNS) * FRAME_CODE_CELL_HEIGHT;
}

int frame_code_draw(uint32_t fourcc, uint32_t width, uint32_t height, uint32_t stride, uint8_t *data, size_t size,
                    const uint8_t stamp[FRAME_STAMP_SIZE]) {
        uint8_t bytes[FRAME_CODE_BYTES];
        uint32_t cw, crc, band_end = FRAME_CODE_TOP + FRAME_CODE_ROWS * FRAME_CODE_CELL_HEIGHT;
        Layout l;
        int r;

        if (!stamp)
                return -EINVAL;
        r = layout_check(&l, fourcc, width, height, stride, size, data);
        if (r < 0)
                return r;
        cw = (uint32_t) frame_code_cell_width(width, height);

        memcpy(bytes, stamp, FRAME_STAMP_SIZE);
        crc = frame_code_crc32(stamp, FRAME_STAMP_SIZE);
        for (unsigned i = 0; i < 4; i++)
                bytes[FRAME_STAMP_SIZE + i] = (uint8_t) (crc >> (8 * i));

        /* Neutral chroma under the whole band, so that the cells are plain grey levels. */
        if (fourcc == PIXEL_FORMAT_YUYV)
                for (uint32_t y = FRAME_CODE_TOP; y < band_end; y++)
                        for (uint32_t x = 0; x < cw * FRAME_CODE_COLUMNS; x++)
                                data[luma_offset(&l, x, y) + 1] = 128;
        else
                for (uint32_t y = FRAME_CODE_TOP / 2; y < band_end / 2; y++)
                        memset(data + (size_t) stride * height + (size_t) y * stride, 128, cw * FRAME_CODE_COLUMNS);

        for (unsigned bit = 0; bit < FRAME_CODE_BYTES * 8; bit++) {
                uint8_t level = (bytes[bit / 8] >> (bit % 8)) & 1 ? FRAME_CODE_WHITE : FRAME_CODE_BLACK;
                uint32_t x0, y0;

                cell_origin(bit, cw, &x0, &y0);
                for (uint32_t y = y0; y < y0 + FRAME_CODE_CELL_HEIGHT; y++) {
                        if (l.y_step == 1) {
                                memset(data + luma_offset(&l, x0, y), level, cw);
                                continue;
                        }
                        for (uint32_t x = x0; x < x0 + cw; x++)
                                data[luma_offset(&l, x, y)] = level;
                }
        }
        return 0;
}

int frame_code_read(uint32_t fourcc, uint32_t width, uint32_t height, uint32_t stride, const uint8_t *data,
                    size_t size, uint8_t ret_stamp[FRAME_STAMP_SIZE]) {
        uint8_t bytes[FRAME_CODE_BYTES] = {};
        uint32_t cw, crc;
        Layout l;
        int r;

        if (!ret_stamp)
                return -EINVAL;
        r = layout_check(&l, fourcc, width, height, stride, size, data);
        if (r < 0)
                return r;
        cw = (uint32_t) frame_code_cell_width(width, height);

        for (unsigned bit = 0; bit < FRAME_CODE_BYTES * 8; bit++) {
                uint32_t x0, y0, sum = 0, n = 0;

                /* The middle half of the cell, away from the ringing of its edges. */
                cell_origin(bit, cw, &x0, &y0);
                for (uint32_t y = y0 + FRAME_CODE_CELL_HEIGHT / 4; y < y0 + FRAME_CODE_CELL_HEIGHT * 3 / 4; y++)
                        for (uint32_t x = x0 + cw / 4; x < x0 + cw * 3 / 4; x++, n++)
                                sum += data[luma_offset(&l, x, y)];
                if (sum > n * ((FRAME_CODE_BLACK + FRAME_CODE_WHITE) / 2))
                        bytes[bit / 8] |= (uint8_t) (1u << (bit % 8));
        }

        crc = (uint32_t) bytes[FRAME_STAMP_SIZE] | (uint32_t) bytes[FRAME_STAMP_SIZE + 1] << 8 |
              (uint32_t) bytes[FRAME_STAMP_SIZE + 2] << 16 | (uint32_t) bytes[FRAME_STAMP_SIZE + 3] << 24;
        if (memcmp(bytes, FRAME_STAMP_MAGIC, 8) != 0 || frame_code_crc32(bytes, FRAME_STAMP_SIZE) != crc)
                return -EBADMSG;
        memcpy(ret_stamp, bytes, FRAME_STAMP_SIZE);
        return 0;
}
