/* JPEG frames of Motion-JPEG cameras, with libjpeg-turbo: decoding into the NV12 the daemon
 * delivers (the camera's luma written in place, its chroma brought to 4:2:0 whatever the
 * camera's subsampling), and encoding NV12 pictures the way webcams send them (4:2:2), for the
 * synthetic cameras. Pure: no threads, no event loop; each coder is used by one thread at a time. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* The smallest a JPEG can be (SOI, a frame header, a scan, EOI): anything shorter is no frame. */
#define MJPEG_FRAME_MIN_SIZE 64

typedef struct MjpegDecoder MjpegDecoder;

int mjpeg_decoder_new(MjpegDecoder **ret);
MjpegDecoder *mjpeg_decoder_free(MjpegDecoder *d);
DEFINE_CLEANUP_FUNC(MjpegDecoder, mjpeg_decoder_free)

/* Decode one JPEG of exactly width x height (both even) into NV12 with stride = width in dst
 * (at least width * height * 3 / 2 bytes). Any subsampling (4:2:0, 4:2:2, 4:4:4, 4:4:0, 4:1:1)
 * and greyscale are taken. The values are the JPEG's own (JFIF's full range), as libv4l2's
 * decoder gave them too; synthetic cameras encode their limited-range picture as it is. A frame with damage the library can work around (a truncated
 * transfer) still decodes, the missing part grey: returns 1 then. -EBADMSG for data that is no
 * decodable JPEG or a JPEG of another size, -EINVAL for bad arguments, -ENOMEM. */
int mjpeg_decode_nv12(MjpegDecoder *d, const uint8_t *jpeg, size_t size, uint32_t width, uint32_t height,
                      uint8_t *dst, size_t dst_size);

typedef struct MjpegEncoder MjpegEncoder;

/* An encoder for width x height (both even) at quality 1 to 100. */
int mjpeg_encoder_new(uint32_t width, uint32_t height, int quality, MjpegEncoder **ret);
MjpegEncoder *mjpeg_encoder_free(MjpegEncoder *e);
DEFINE_CLEANUP_FUNC(MjpegEncoder, mjpeg_encoder_free)

/* Encode an NV12 picture (stride = width) as a 4:2:2 JPEG, as most webcams send them. The
 * result stays valid until the next call. */
int mjpeg_encode_nv12(MjpegEncoder *e, const uint8_t *nv12, const uint8_t **ret_jpeg, size_t *ret_size);
