/* Colour bars and a moving block, painted from one template row. */
#include "test-pattern.h"

#include <errno.h>

#include "device.h"

struct TestPattern {
        uint32_t id; /* tells its frames from other patterns' in a buffer's content tag */
        uint32_t fourcc, width, height;
        uint8_t *buffer;
        uint64_t buffer_content;
        size_t size;
        /* The bars of one row (YUYV; or the NV12 Y row followed by its UV row), from which the
         * spot the block leaves is restored, and one row of the block. */
        uint8_t *template_row;
        uint8_t *block_row;
        uint32_t block_width, block_height;
};

static uint32_t last_id;

/* 100% colour bars, BT.601 limited range: white, yellow, cyan, green, magenta, red, blue, black */
static const struct {
        uint8_t y, u, v;
} bar_colours[] = {
        { 235, 128, 128 }, { 210, 16, 146 }, { 170, 166, 16 }, { 145, 54, 34 },
        { 106, 202, 222 }, { 81, 90, 240 },  { 41, 240, 110 }, { 16, 128, 128 },
};

/* Position of the moving block: a triangle wave over [0, range], even (chroma pairs). */
static uint32_t bounce(uint64_t travelled, uint32_t range) {
        uint64_t p;

        if (range == 0)
                return 0;
        p = travelled % (2 * (uint64_t) range);
        if (p > range)
                p = 2 * (uint64_t) range - p;
        return (uint32_t) p & ~1u;
}

TestPattern *test_pattern_free(TestPattern *p) {
        if (!p)
                return NULL;
        free(p->buffer);
        free(p->template_row);
        free(p->block_row);
        free(p);
        return NULL;
}

int test_pattern_new(uint32_t fourcc, uint32_t width, uint32_t height, TestPattern **ret) {
        _cleanup_(test_pattern_freep) TestPattern *p = NULL;
        uint32_t w = width, h = height;

        if (!ret || w == 0 || h == 0 || w % 2 != 0 || (fourcc != PIXEL_FORMAT_YUYV && fourcc != PIXEL_FORMAT_NV12) ||
            (fourcc == PIXEL_FORMAT_NV12 && h % 2 != 0))
                return -EINVAL;

        p = calloc(1, sizeof(TestPattern));
        if (!p)
                return -ENOMEM;
        p->fourcc = fourcc;
        p->width = w;
        p->height = h;
        p->size = fourcc == PIXEL_FORMAT_YUYV ? (size_t) w * h * 2 : (size_t) w * h + (size_t) w * h / 2;
        p->buffer = malloc(p->size);
        p->template_row = malloc((size_t) w * 2); /* a YUYV row, or an NV12 Y row and UV row */
        p->block_row = malloc((size_t) w * 2);
        if (!p->buffer || !p->template_row || !p->block_row)
                return -ENOMEM;

        for (uint32_t x = 0; x < w; x += 2) {
                unsigned bar = (unsigned) ((uint64_t) x * ELEMENTSOF(bar_colours) / w);

                if (fourcc == PIXEL_FORMAT_YUYV) {
                        uint8_t *q = p->template_row + (size_t) x * 2;

                        q[0] = bar_colours[bar].y;
                        q[1] = bar_colours[bar].u;
                        q[2] = bar_colours[bar].y;
                        q[3] = bar_colours[bar].v;
                } else {
                        uint8_t *y = p->template_row, *uv = p->template_row + w;

                        y[x] = y[x + 1] = bar_colours[bar].y;
                        uv[x] = bar_colours[bar].u;
                        uv[x + 1] = bar_colours[bar].v;
                }
        }

        p->block_width = MIN(MAX((w / 8) & ~1u, 2u), w);
        p->block_height = MIN(MAX((h / 8) & ~1u, 2u), h);
        p->id = ++last_id ?: ++last_id; /* never 0: content 0 means unknown */
        *ret = TAKE_PTR(p);
        return 0;
}

/* The bars over the whole picture. */
static void paint_bars(TestPattern *p, uint8_t *buf) {
        uint32_t w = p->width, h = p->height;

        if (p->fourcc == PIXEL_FORMAT_YUYV)
                for (uint32_t y = 0; y < h; y++)
                        memcpy(buf + (size_t) y * w * 2, p->template_row, (size_t) w * 2);
        else {
                for (uint32_t y = 0; y < h; y++)
                        memcpy(buf + (size_t) y * w, p->template_row, w);
                for (uint32_t y = 0; y < h / 2; y++)
                        memcpy(buf + (size_t) w * h + (size_t) y * w, p->template_row + w, w);
        }
}

/* Copy a rectangle of rows from a one-row source (the bars, or the block) into buf. */
static void paint_rect(TestPattern *p, uint8_t *buf, uint32_t x, uint32_t y, const uint8_t *yuyv_or_y_row,
                       const uint8_t *uv_row) {
        uint32_t w = p->width, h = p->height, bw = p->block_width, bh = p->block_height;

        if (p->fourcc == PIXEL_FORMAT_YUYV) {
                for (uint32_t r = y; r < y + bh; r++)
                        memcpy(buf + (size_t) r * w * 2 + (size_t) x * 2, yuyv_or_y_row, (size_t) bw * 2);
                return;
        }
        for (uint32_t r = y; r < y + bh; r++)
                memcpy(buf + (size_t) r * w + x, yuyv_or_y_row, bw);
        for (uint32_t r = y / 2; r < (y + bh) / 2; r++)
                memcpy(buf + (size_t) w * h + (size_t) r * w + x, uv_row, bw);
}

/* Where the block is in frame `sequence`. */
static void block_position(TestPattern *p, uint64_t sequence, uint32_t *ret_x, uint32_t *ret_y) {
        *ret_x = bounce(sequence * MAX((p->width / 64) & ~1u, 2u), p->width - p->block_width);
        *ret_y = bounce(sequence * MAX((p->height / 64) & ~1u, 2u), p->height - p->block_height);
}

static uint64_t content_of(TestPattern *p, uint64_t sequence) {
        return ((uint64_t) p->id << 32) | ((sequence & 0xffffffffu) + 1);
}

void test_pattern_draw_into(TestPattern *p, uint8_t *buf, uint64_t *content, uint64_t sequence) {
        uint32_t bw = p->block_width, x, y;
        uint8_t luma = (uint8_t) (16 + (sequence * 8) % 220);

        /* Put the bars back where the block was (or everywhere, for a buffer of unknown content),
         * then draw it where this frame has it, in a grey that changes every frame: each frame
         * differs, at a cost of w*h/64 pixels. */
        if (*content >> 32 == p->id) {
                block_position(p, (*content & 0xffffffffu) - 1, &x, &y);
                if (p->fourcc == PIXEL_FORMAT_YUYV)
                        paint_rect(p, buf, x, y, p->template_row + (size_t) x * 2, NULL);
                else
                        paint_rect(p, buf, x, y, p->template_row + x, p->template_row + p->width + x);
        } else
                paint_bars(p, buf);

        block_position(p, sequence, &x, &y);
        if (p->fourcc == PIXEL_FORMAT_YUYV) {
                for (uint32_t i = 0; i < bw * 2; i += 2) {
                        p->block_row[i] = luma;
                        p->block_row[i + 1] = 128;
                }
                paint_rect(p, buf, x, y, p->block_row, NULL);
        } else {
                memset(p->block_row, luma, bw);
                memset(p->block_row + bw, 128, bw);
                paint_rect(p, buf, x, y, p->block_row, p->block_row + bw);
        }
        *content = content_of(p, sequence);
}

uint8_t *test_pattern_draw(TestPattern *p, uint64_t sequence) {
        test_pattern_draw_into(p, p->buffer, &p->buffer_content, sequence);
        return p->buffer;
}

size_t test_pattern_size(const TestPattern *p) {
        return p->size;
}

uint32_t test_pattern_stride(const TestPattern *p) {
        return p->fourcc == PIXEL_FORMAT_YUYV ? p->width * 2 : p->width;
}
