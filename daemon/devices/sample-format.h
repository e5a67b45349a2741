/* Capture sample formats and their conversion to the S16_LE the daemon delivers: rounding to
 * the nearest 16-bit value with TPDF dither, never truncation. Pure: used by the ALSA backend
 * and by synthetic microphones that capture in the wider formats. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum SampleFormat {
        SAMPLE_FORMAT_S16_LE,  /* 2 bytes */
        SAMPLE_FORMAT_S24_LE,  /* 24 bits in the low 3 bytes of 4, sign-extended into the 4th */
        SAMPLE_FORMAT_S24_3LE, /* 3 bytes */
        SAMPLE_FORMAT_S32_LE,  /* 4 bytes */
        _SAMPLE_FORMAT_MAX,
        _SAMPLE_FORMAT_INVALID = -EINVAL,
} SampleFormat;

/* "S16_LE", "S24_LE", "S24_3LE", "S32_LE" (ALSA's names) and back. */
const char *sample_format_to_string(SampleFormat f);
SampleFormat sample_format_from_string(const char *s);

/* Bytes per sample; 0 for an invalid format. */
size_t sample_format_size(SampleFormat f);
/* Bits of the sample value (16, 24, 24, 32); 0 for an invalid format. */
unsigned sample_format_bits(SampleFormat f);

/* The state of the dither noise of one capture: a small PRNG, seeded so that a capture is
 * reproducible. */
typedef struct SampleDither {
        uint64_t state;
} SampleDither;

void sample_dither_init(SampleDither *d, uint64_t seed);

/* Read sample i of src (n_samples = frames times channels) as a signed value of
 * sample_format_bits() bits. */
int32_t sample_read(SampleFormat f, const uint8_t *src, size_t i);
/* Write v (sign-extended to sample_format_bits(), clamped) as sample i of dst. */
void sample_write(SampleFormat f, uint8_t *dst, size_t i, int64_t v);

/* Convert n_samples samples of format f in src to S16_LE in dst (2 bytes each; dst may be src
 * for S16_LE). Each sample is scaled to 16 bits, a triangular (TPDF) dither of +-1 LSB of the
 * output is added (dither NULL: none), then rounded to the nearest value (halves up) and
 * clamped to [-32768, 32767]. A period whose samples all have zero bits below the top 16 (a
 * 16-bit converter in a wider container, digital silence) has nothing to requantize: it is
 * copied exactly, without dither. Returns the number of samples dithered (0 or n_samples), or
 * -EINVAL for an invalid format or a NULL buffer with n_samples > 0. */
int sample_convert_to_s16(SampleFormat f, const uint8_t *src, size_t n_samples, uint8_t *dst, SampleDither *dither);
