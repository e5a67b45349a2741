// The measurement behind the choice of audio-processing library (daemon/audio-processing.h):
// libspeexdsp's preprocessor against webrtc-audio-processing, both from Debian, on 48 kHz mono in
// 10 ms blocks, on the signals of the unit tests (daemon/devices/test-signal.c). Not part of the
// build; run by hand:
//
//   gcc -O2 -c -Idaemon -o /tmp/test-signal.o daemon/devices/test-signal.c
//   g++ -O2 -Idaemon -o /tmp/compare-audio-processing tools/compare-audio-processing.cc /tmp/test-signal.o \
//       $(pkg-config --cflags --libs speexdsp webrtc-audio-processing) -lm
//   /tmp/compare-audio-processing
//
// Noise suppression: a 440 Hz tone (peak 0.1 of full scale) sounding 300 ms and pausing 300 ms,
// as speech comes and goes, in white Gaussian noise (RMS 0.03), 20 s; over the last 15 s the
// tone is fitted where it sounds and the noise measured in the pauses (from 50 ms in). A tone
// that never pauses is taken for hum and removed by both libraries, as it should. Gain
// control: the same tone at peak 0.01 (-40 dBFS) without noise, its level after 5 and 15 s.
// CPU: the thread's CPU time per 10 ms block, averaged over the run.
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <speex/speex_preprocess.h>
#include <webrtc/modules/audio_processing/include/audio_processing.h>
#include <webrtc/modules/interface/module_common_types.h>

extern "C" {
#include "devices/test-signal.h"
}

static const int kRate = 48000, kBlock = 480, kSeconds = 20, kSettleMs = 50;

static double cpu_ns() {
        struct timespec ts;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static TestSignalParams params(double amplitude, double noise) {
        TestSignalParams p = {};
        p.tone_hz = 440;
        p.tone_amplitude = amplitude;
        p.cadence_on_ms = 300;
        p.cadence_off_ms = 300;
        p.noise_rms = noise;
        p.noise_seed = 1;
        return p;
}

static void make_signal(const TestSignalParams &p, int16_t *out, size_t n) {
        TestSignal s;
        test_signal_init(&s, &p, kRate);
        for (size_t i = 0; i < n; i++)
                out[i] = (int16_t) lrint(fmax(-32768, fmin(test_signal_next(&s) * 32768, 32767)));
}

// Tone amplitude (fraction of full scale, fitted where it sounds) and the RMS in its pauses.
static void analyse(const TestSignalParams &p, const int16_t *x, size_t from, size_t n, double *tone, double *rest) {
        double ss = 0, sc = 0, s2 = 0, c2 = 0, e = 0;
        size_t k = 0;
        for (size_t i = from; i < n; i++) {
                double v = x[i] / 32768.0, s = sin(2 * M_PI * 440.0 * i / kRate), c = cos(2 * M_PI * 440.0 * i / kRate);
                if (test_signal_tone_off(&p, kRate, i, kSettleMs)) {
                        e += v * v;
                        k++;
                }
                if (!test_signal_tone_on(&p, kRate, i))
                        continue;
                ss += v * s; sc += v * c; s2 += s * s; c2 += c * c;
        }
        *tone = sqrt((ss / s2) * (ss / s2) + (sc / c2) * (sc / c2));
        *rest = sqrt(e / k);
}

static double tone_dbfs(const TestSignalParams &p, const int16_t *x, size_t from, size_t n) {
        double e = 0;
        size_t k = 0;
        for (size_t i = from; i < n; i++)
                if (test_signal_tone_on(&p, kRate, i)) {
                        e += (x[i] / 32768.0) * (x[i] / 32768.0);
                        k++;
                }
        return 10 * log10(e / k + 1e-20);
}

typedef double (*run_fn)(int16_t *x, size_t n, bool ns, bool agc, int level);

static double run_speex(int16_t *x, size_t n, bool ns, bool agc, int level) {
        SpeexPreprocessState *st = speex_preprocess_state_init(kBlock, kRate);
        int on = 1, off = 0;
        speex_preprocess_ctl(st, SPEEX_PREPROCESS_SET_DENOISE, ns ? &on : &off);
        speex_preprocess_ctl(st, SPEEX_PREPROCESS_SET_AGC, agc ? &on : &off);
        if (level)
                speex_preprocess_ctl(st, SPEEX_PREPROCESS_SET_NOISE_SUPPRESS, &level);
        double t0 = cpu_ns();
        for (size_t i = 0; i + kBlock <= n; i += kBlock)
                speex_preprocess_run(st, x + i);
        double per = (cpu_ns() - t0) / (n / kBlock);
        speex_preprocess_state_destroy(st);
        return per;
}

static double run_webrtc(int16_t *x, size_t n, bool ns, bool agc, int level) {
        webrtc::AudioProcessing *apm = webrtc::AudioProcessing::Create();
        apm->Initialize(kRate, kRate, kRate, webrtc::AudioProcessing::kMono, webrtc::AudioProcessing::kMono,
                        webrtc::AudioProcessing::kMono);
        apm->noise_suppression()->set_level((webrtc::NoiseSuppression::Level) level);
        apm->noise_suppression()->Enable(ns);
        apm->gain_control()->set_mode(webrtc::GainControl::kAdaptiveDigital);
        apm->gain_control()->Enable(agc);
        apm->high_pass_filter()->Enable(false);
        webrtc::AudioFrame f;
        double t0 = cpu_ns();
        for (size_t i = 0; i + kBlock <= n; i += kBlock) {
                f.sample_rate_hz_ = kRate;
                f.num_channels_ = 1;
                f.samples_per_channel_ = kBlock;
                memcpy(f.data_, x + i, kBlock * 2);
                apm->ProcessStream(&f);
                memcpy(x + i, f.data_, kBlock * 2);
        }
        double per = (cpu_ns() - t0) / (n / kBlock);
        delete apm;
        return per;
}

static void measure(const char *name, run_fn run, int level) {
        size_t n = (size_t) kRate * kSeconds, from = (size_t) kRate * 5;
        int16_t *in = (int16_t *) malloc(n * 2), *x = (int16_t *) malloc(n * 2);
        double tin, rin, tout, rout;
        TestSignalParams noisy = params(0.1, 0.03), quiet = params(0.01, 0);

        make_signal(noisy, in, n);
        memcpy(x, in, n * 2);
        double cpu_ns_ns = run(x, n, true, false, level);
        analyse(noisy, in, from, n, &tin, &rin);
        analyse(noisy, x, from, n, &tout, &rout);
        printf("%-26s NS:   %5.1f us CPU / 10 ms; noise %+6.1f dB, tone %+5.2f dB\n", name, cpu_ns_ns / 1000,
               20 * log10(rout / rin), 20 * log10(tout / tin));

        make_signal(quiet, in, n);
        memcpy(x, in, n * 2);
        double cpu_agc = run(x, n, false, true, level);
        printf("%-26s AGC:  %5.1f us CPU / 10 ms; %.1f dBFS tone: %.1f dBFS at 4-5 s, %.1f dBFS at 15-20 s\n", name,
               cpu_agc / 1000, tone_dbfs(quiet, in, 0, n), tone_dbfs(quiet, x, (size_t) kRate * 4, (size_t) kRate * 5),
               tone_dbfs(quiet, x, (size_t) kRate * 15, n));
        memcpy(x, in, n * 2);
        double cpu_both = run(x, n, true, true, level);
        printf("%-26s both: %5.1f us CPU / 10 ms\n", name, cpu_both / 1000);
        free(in);
        free(x);
}

int main() {
        measure("speexdsp (default -15 dB)", run_speex, 0);
        measure("speexdsp (-30 dB)", run_speex, -30);
        measure("webrtc 0.3 (kHigh)", run_webrtc, webrtc::NoiseSuppression::kHigh);
        measure("webrtc 0.3 (kVeryHigh)", run_webrtc, webrtc::NoiseSuppression::kVeryHigh);
        return 0;
}
