/* Sample formats of capture devices and their conversion to S16_LE: rounding with TPDF dither,
 * so that what lies below the 16th bit survives as noise-like detail instead of being cut off
 * (truncation adds a DC offset of half a step and turns quiet signals into distortion). */
#include "sample-format.h"

#include <string.h>

#include "util.h"

static const struct {
        const char *name;
        size_t size;
        unsigned bits;
} format_table[_SAMPLE_FORMAT_MAX] = {
        [SAMPLE_FORMAT_S16_LE] = { "S16_LE", 2, 16 },
        [SAMPLE_FORMAT_S24_LE] = { "S24_LE", 4, 24 },
        [SAMPLE_FORMAT_S24_3LE] = { "S24_3LE", 3, 24 },
        [SAMPLE_FORMAT_S32_LE] = { "S32_LE", 4, 32 },
};

static bool format_valid(SampleFormat f) {
        return f >= 0 && f < _SAMPLE_FORMAT_MAX;
}

const char *sample_format_to_string(SampleFormat f) {
        return format_valid(f) ? format_table[f].name : NULL;
}

SampleFormat sample_format_from_string(const char *s) {
        if (!s)
                return _SAMPLE_FORMAT_INVALID;
        for (SampleFormat f = 0; f < _SAMPLE_FORMAT_MAX; f++)
                if (streq(s, format_table[f].name))
                        return f;
        return _SAMPLE_FORMAT_INVALID;
}

size_t sample_format_size(SampleFormat f) {
        return format_valid(f) ? format_table[f].size : 0;
}

unsigned sample_format_bits(SampleFormat f) {
        return format_valid(f) ? format_table[f].bits : 0;
}

void sample_dither_init(SampleDither *d, uint64_t seed) {
        /* splitmix64 of the seed: any seed, 0 included, gives a well-mixed state. */
        seed += 0x9e3779b97f4a7c15ULL;
        seed = (seed ^ (seed >> 30)) * 0xbf58476d1ce4e5b9ULL;
        seed = (seed ^ (seed >> 27)) * 0x94d049bb133111ebULL;
        d->state = (seed ^ (seed >> 31)) | 1;
}

/* xorshift64*: fast, and far more than random enough for dither. */
static uint64_t dither_next(SampleDither *d) {
        d->state ^= d->state >> 12;
        d->state ^= d->state << 25;
        d->state ^= d->state >> 27;
        return d->state * 0x2545f4914f6cdd1dULL;
}

int32_t sample_read(SampleFormat f, const uint8_t *src, size_t i) {
        const uint8_t *p;

        switch (f) {
        case SAMPLE_FORMAT_S16_LE:
                p = src + 2 * i;
                return (int16_t) (uint16_t) (p[0] | (p[1] << 8));
        case SAMPLE_FORMAT_S24_LE:
                /* The 4th byte should repeat the sign; drivers do not all fill it, so the value
                 * is taken from the low three bytes alone. */
                p = src + 4 * i;
                return (int32_t) ((uint32_t) p[0] << 8 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 24) >> 8;
        case SAMPLE_FORMAT_S24_3LE:
                p = src + 3 * i;
                return (int32_t) ((uint32_t) p[0] << 8 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 24) >> 8;
        case SAMPLE_FORMAT_S32_LE:
                p = src + 4 * i;
                return (int32_t) ((uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 |
                                  (uint32_t) p[3] << 24);
        default:
                return 0;
        }
}

void sample_write(SampleFormat f, uint8_t *dst, size_t i, int64_t v) {
        unsigned bits = sample_format_bits(f);
        int64_t max, min;
        uint32_t u;

        if (bits == 0)
                return;
        max = ((int64_t) 1 << (bits - 1)) - 1;
        min = -max - 1;
        u = (uint32_t) (int32_t) CLAMP(v, min, max);

        switch (f) {
        case SAMPLE_FORMAT_S16_LE:
                dst[2 * i] = (uint8_t) u;
                dst[2 * i + 1] = (uint8_t) (u >> 8);
                break;
        case SAMPLE_FORMAT_S24_3LE:
                dst[3 * i] = (uint8_t) u;
                dst[3 * i + 1] = (uint8_t) (u >> 8);
                dst[3 * i + 2] = (uint8_t) (u >> 16);
                break;
        case SAMPLE_FORMAT_S24_LE:
        case SAMPLE_FORMAT_S32_LE:
                for (unsigned b = 0; b < 4; b++)
                        dst[4 * i + b] = (uint8_t) (u >> (8 * b));
                break;
        default:
                break;
        }
}

static void write_s16(uint8_t *dst, size_t i, int64_t v) {
        uint16_t u = (uint16_t) (int16_t) CLAMP(v, INT16_MIN, INT16_MAX);

        dst[2 * i] = (uint8_t) u;
        dst[2 * i + 1] = (uint8_t) (u >> 8);
}

int sample_convert_to_s16(SampleFormat f, const uint8_t *src, size_t n_samples, uint8_t *dst, SampleDither *dither) {
        unsigned shift;
        int64_t half, mask;
        bool exact = true;

        if (!format_valid(f) || ((!src || !dst) && n_samples > 0))
                return -EINVAL;

        if (f == SAMPLE_FORMAT_S16_LE) {
                memmove(dst, src, n_samples * 2);
                return 0;
        }

        /* The bits below the 16 we keep: 8 for S24, 16 for S32. */
        shift = sample_format_bits(f) - 16;
        half = (int64_t) 1 << (shift - 1);
        mask = ((int64_t) 1 << shift) - 1;

        for (size_t i = 0; i < n_samples && exact; i++)
                exact = (sample_read(f, src, i) & mask) == 0;
        if (exact || !dither) {
                /* Nothing below the 16th bit (copied as it is), or plain rounding. dst may
                 * overlap src only for S16_LE, so reading ahead of the writes is safe. */
                for (size_t i = 0; i < n_samples; i++)
                        write_s16(dst, i, ((int64_t) sample_read(f, src, i) + half) >> shift);
                return 0;
        }

        for (size_t i = 0; i < n_samples; i++) {
                uint64_t r = dither_next(dither);
                /* Two independent uniform values of `shift` bits each, summed: a triangular
                 * distribution over (-1, +1) output steps, centred on 0. */
                int64_t a = (int64_t) (r >> (64 - shift)), b = (int64_t) ((r >> 16) & (uint64_t) mask);
                int64_t tpdf = a + b - mask;

                write_s16(dst, i, ((int64_t) sample_read(f, src, i) + tpdf + half) >> shift);
        }
        return (int) MIN(n_samples, (size_t) INT32_MAX);
}
