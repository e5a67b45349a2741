/* A sine tone with cadence and white noise, made one sample at a time. */
#include "test-signal.h"

#include <math.h>
#include <string.h>

void test_signal_init(TestSignal *s, const TestSignalParams *p, uint32_t rate) {
        *s = (TestSignal) {
                .params = *p,
                .rate = rate,
                .step = rate > 0 ? 2 * M_PI * p->tone_hz / (double) rate : 0,
                .rng = p->noise_seed ^ 0x9e3779b97f4a7c15ULL,
        };
}

static uint64_t rng_next(TestSignal *s) {
        /* splitmix64 */
        uint64_t z = (s->rng += 0x9e3779b97f4a7c15ULL);

        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
}

/* A standard normal value (Box-Muller, both values used). */
static double gaussian(TestSignal *s) {
        double u1, u2, radius;

        if (s->have_spare) {
                s->have_spare = false;
                return s->spare;
        }
        u1 = ((double) (rng_next(s) >> 11) + 1.0) / 9007199254740993.0; /* (0, 1] */
        u2 = (double) (rng_next(s) >> 11) / 9007199254740992.0;           /* [0, 1) */
        radius = sqrt(-2.0 * log(u1));
        s->spare = radius * sin(2 * M_PI * u2);
        s->have_spare = true;
        return radius * cos(2 * M_PI * u2);
}

/* Position in the cadence, in samples; the period; the burst and ramp lengths. */
static bool cadence(const TestSignalParams *p, uint32_t rate, uint64_t n, uint64_t *pos, uint64_t *on,
                    uint64_t *ramp) {
        uint64_t period;

        if (p->cadence_on_ms == 0)
                return false;
        *on = (uint64_t) p->cadence_on_ms * rate / 1000;
        period = *on + (uint64_t) p->cadence_off_ms * rate / 1000;
        *ramp = (uint64_t) TEST_SIGNAL_RAMP_MS * rate / 1000;
        if (*ramp * 2 > *on)
                *ramp = *on / 2;
        *pos = period > 0 ? n % period : 0;
        return true;
}

static double envelope(const TestSignalParams *p, uint32_t rate, uint64_t n) {
        uint64_t pos, on, ramp;

        if (!cadence(p, rate, n, &pos, &on, &ramp))
                return 1.0;
        if (pos >= on)
                return 0.0;
        if (pos < ramp)
                return 0.5 - 0.5 * cos(M_PI * (double) pos / (double) ramp);
        if (pos >= on - ramp)
                return 0.5 - 0.5 * cos(M_PI * (double) (on - pos) / (double) ramp);
        return 1.0;
}

bool test_signal_tone_on(const TestSignalParams *p, uint32_t rate, uint64_t n) {
        uint64_t pos, on, ramp;

        if (!cadence(p, rate, n, &pos, &on, &ramp))
                return true;
        return pos >= ramp && pos + ramp < on;
}

bool test_signal_tone_off(const TestSignalParams *p, uint32_t rate, uint64_t n, uint32_t settle_ms) {
        uint64_t pos, on, ramp;

        if (!cadence(p, rate, n, &pos, &on, &ramp))
                return false;
        return pos >= on + (uint64_t) settle_ms * rate / 1000;
}

double test_signal_next(TestSignal *s) {
        double v = sin(s->phase) * s->params.tone_amplitude;

        if (s->params.cadence_on_ms > 0)
                v *= envelope(&s->params, s->rate, s->n);
        if (s->params.noise_rms > 0)
                v += gaussian(s) * s->params.noise_rms;

        s->phase += s->step;
        if (s->phase >= 2 * M_PI)
                s->phase -= 2 * M_PI;
        s->n++;
        return v;
}
