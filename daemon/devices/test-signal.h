/* The sound of synthetic microphones: a sine tone, optionally sounding and pausing in a cadence
 * (as speech comes and goes), with optional white noise under it. Pure and deterministic, so
 * that tests and benchmarks can make the same signal. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* Ramps at each start and end of a tone burst, so that a cadence does not click. */
#define TEST_SIGNAL_RAMP_MS 5

typedef struct TestSignalParams {
        double tone_hz;         /* > 0 and below half the rate */
        double tone_amplitude;  /* peak, as a fraction of full scale (0.25: a quarter) */
        uint32_t cadence_on_ms; /* 0: the tone sounds all the time */
        uint32_t cadence_off_ms;
        double noise_rms;       /* white Gaussian noise, RMS as a fraction of full scale; 0: none */
        uint64_t noise_seed;
} TestSignalParams;

typedef struct TestSignal {
        TestSignalParams params;
        uint32_t rate;
        double phase; /* radians, in [0, 2 pi) */
        double step;
        uint64_t n;   /* samples made so far */
        uint64_t rng;
        bool have_spare;
        double spare;
} TestSignal;

void test_signal_init(TestSignal *s, const TestSignalParams *p, uint32_t rate);
/* The next sample, in full-scale units (1.0 is full scale; may exceed it with loud noise). The
 * plain tone is exactly sin(phase) * amplitude, the phase advancing by 2 pi f / rate a sample. */
double test_signal_next(TestSignal *s);
/* Whether the tone sounds at full strength at sample n (not in a pause or a ramp). */
bool test_signal_tone_on(const TestSignalParams *p, uint32_t rate, uint64_t n);
/* Whether sample n lies in a pause of the cadence, at least settle_ms after the tone stopped. */
bool test_signal_tone_off(const TestSignalParams *p, uint32_t rate, uint64_t n, uint32_t settle_ms);
