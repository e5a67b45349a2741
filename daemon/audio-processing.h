/* Noise suppression and automatic gain control of microphone streams (the noiseSuppression and
 * autoGainControl constraints), with libspeexdsp's preprocessor, for one capture format and one
 * combination of settings. Pure: S16 samples in, processed samples out; no bus, no devices.
 *
 * Why speexdsp and not webrtc-audio-processing (both in Debian), measured on 48 kHz mono in 10 ms
 * blocks (tools/compare-audio-processing.cc, on the signals of the unit tests): both cost about
 * the same, 30 to 35 us of CPU per block on a 2-CPU Xeon VM; speexdsp at a -30 dB setting pulls
 * white noise under a speech-like tone down by 20 dB (webrtc at kVeryHigh by 15.5 dB), both keep
 * the tone (-0.3 and -0.7 dB); speexdsp's gain control raises a -43 dBFS tone to -26 dBFS,
 * webrtc's adaptive digital one to -36 dBFS. speexdsp also takes any sample rate (webrtc 0.3
 * only 8, 16, 32 and 48 kHz: no 44.1 kHz microphone) and is a C library (webrtc's API is C++,
 * and Debian 12 carries a 2016 snapshot of it).
 *
 * Echo cancellation is not offered: it needs the sound being played (the far end) as a
 * reference, and the daemon sits below the sound server, which owns playback. Speex has the
 * canceller (speex_echo_state_init(), attached to the preprocessor with
 * SPEEX_PREPROCESS_SET_ECHO_STATE); the place for it is this processor, fed with the playback
 * signal by whoever can provide it (the PipeWire bridge), at which point the microphones it
 * serves may report echoCancellation as a capability. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* How far noise is pulled down at most, in dB (speexdsp's default is -15; measured on white
 * noise under a speech-like tone: -15 gives 13 dB less noise, -30 gives 20 dB). */
#define AUDIO_PROCESSING_NOISE_SUPPRESS_DB (-30)

/* Processing works in blocks of this many per second (10 ms). */
#define AUDIO_PROCESSING_BLOCKS_PER_SECOND 100

typedef struct AudioProcessingSettings {
        bool noise_suppression;
        bool auto_gain_control;
} AudioProcessingSettings;

/* Whether s asks for any processing at all; without, samples pass untouched. */
bool audio_processing_settings_any(const AudioProcessingSettings *s);

typedef struct AudioProcessor AudioProcessor;

/* A processor for interleaved S16 at rate (8000 to 384000 Hz) with channels (1 to 32), each
 * channel processed on its own. -EINVAL for a format out of range or settings that ask for
 * nothing, -ENOMEM. */
int audio_processor_new(uint32_t rate, uint32_t channels, const AudioProcessingSettings *s, AudioProcessor **ret);
AudioProcessor *audio_processor_free(AudioProcessor *p);
static inline void audio_processor_freep(AudioProcessor **p) {
        if (*p)
                audio_processor_free(*p);
}

/* Feed n_frames sample frames; the processor works in blocks of rate / 100 frames, so input
 * that does not fill a block waits for the next call (none waits when the periods are 10 ms).
 * On return *ret_out points at the frames processed by this call (valid until the next call),
 * *ret_n_out is their number, and *ret_delay_frames says how many frames before the first
 * frame of this input the first output frame was captured. Returns 0, or -EINVAL. */
int audio_processor_process(AudioProcessor *p, const int16_t *in, uint32_t n_frames, const int16_t **ret_out,
                            uint32_t *ret_n_out, uint32_t *ret_delay_frames);

uint32_t audio_processor_rate(const AudioProcessor *p);
uint32_t audio_processor_channels(const AudioProcessor *p);
