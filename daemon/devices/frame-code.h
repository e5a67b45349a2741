/* The frame stamp of synthetic cameras drawn into the picture, for formats that do not keep
 * bytes as they are (a JPEG-compressed camera): 32 x 11 cells of black (bit 0) or white (bit 1),
 * 16 rows high and a multiple of 8 pixels wide, aligned to the JPEG blocks, holding the 40-byte
 * stamp and its CRC-32. The code band starts at row 16: the byte stamp the streams write over
 * the first bytes of row 0 does not touch it. Pure, for the synthetic backend, the tests and
 * the fuzzers. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "device.h"

#define FRAME_CODE_COLUMNS 32
#define FRAME_CODE_ROWS 11
#define FRAME_CODE_CELL_HEIGHT 16
#define FRAME_CODE_TOP 16
#define FRAME_CODE_BYTES (FRAME_STAMP_SIZE + 4) /* the stamp, then its CRC-32 (little-endian) */
#define FRAME_CODE_BLACK 16
#define FRAME_CODE_WHITE 235
/* The smallest picture the code fits in: cells at least 8 pixels wide. */
#define FRAME_CODE_MIN_WIDTH (FRAME_CODE_COLUMNS * 8)
#define FRAME_CODE_MIN_HEIGHT (FRAME_CODE_TOP + FRAME_CODE_ROWS * FRAME_CODE_CELL_HEIGHT)

/* The width of a cell in a picture this wide: the largest multiple of 8 that lets 32 cells fit.
 * -ERANGE when the picture is smaller than FRAME_CODE_MIN_WIDTH x FRAME_CODE_MIN_HEIGHT. */
int frame_code_cell_width(uint32_t width, uint32_t height);

/* The CRC-32 (IEEE 802.3, as zlib's crc32()) of n bytes. */
uint32_t frame_code_crc32(const uint8_t *p, size_t n);

/* Draw the code of stamp into a YUYV or NV12 picture of stride bytes per (luma) row, its chroma
 * neutral under the code. -EINVAL for another format, a stride too short or size too small for
 * the picture; -ERANGE when the picture is too small for the code. */
int frame_code_draw(uint32_t fourcc, uint32_t width, uint32_t height, uint32_t stride, uint8_t *data, size_t size,
                    const uint8_t stamp[FRAME_STAMP_SIZE]);

/* Read the code back: each cell's middle half is averaged and compared with the middle of black
 * and white, then the magic and the CRC are checked. 0 and the stamp in ret_stamp; -EBADMSG
 * when there is no valid code (another picture, or one damaged beyond reading); -EINVAL and
 * -ERANGE as frame_code_draw(). Reads nothing outside the picture. */
int frame_code_read(uint32_t fourcc, uint32_t width, uint32_t height, uint32_t stride, const uint8_t *data,
                    size_t size, uint8_t ret_stamp[FRAME_STAMP_SIZE]);
