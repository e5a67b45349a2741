/* One speexdsp preprocessor per channel, fed in 10 ms blocks (the granularity it is built for),
 * with the periods of the capture cut into blocks and put together again. */
#include "audio-processing.h"

#include <errno.h>
#include <speex/speex_preprocess.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define AUDIO_PROCESSING_RATE_MIN 8000
#define AUDIO_PROCESSING_RATE_MAX 384000
#define AUDIO_PROCESSING_CHANNELS_MAX 32
/* A period longer than a second is no capture the daemon makes. */
#define AUDIO_PROCESSING_INPUT_MAX_SECONDS 1

struct AudioProcessor {
        uint32_t rate, channels;
        uint32_t block; /* frames per block */
        AudioProcessingSettings settings;
        SpeexPreprocessState **states; /* one per channel */

        int16_t *pending; /* less than a block of input, interleaved */
        uint32_t n_pending;
        int16_t *out;     /* what the last call processed, interleaved */
        uint32_t out_capacity; /* frames */
        spx_int16_t *channel;  /* one block of one channel */
};

bool audio_processing_settings_any(const AudioProcessingSettings *s) {
        return s && (s->noise_suppression || s->auto_gain_control);
}

AudioProcessor *audio_processor_free(AudioProcessor *p) {
        if (!p)
                return NULL;
        for (uint32_t c = 0; p->states && c < p->channels; c++)
                if (p->states[c])
                        speex_preprocess_state_destroy(p->states[c]);
        free(p->states);
        free(p->pending);
        free(p->out);
        free(p->channel);
        free(p);
        return NULL;
}

static int configure(SpeexPreprocessState *st, const AudioProcessingSettings *s) {
        int denoise = s->noise_suppression, agc = s->auto_gain_control, off = 0;
        int suppress = AUDIO_PROCESSING_NOISE_SUPPRESS_DB;

        /* Every request is checked: a library built without a feature (speexdsp's fixed-point
         * build has no gain control) refuses it, and a setting must never claim what is not done. */
        if (speex_preprocess_ctl(st, SPEEX_PREPROCESS_SET_DENOISE, &denoise) < 0 ||
            speex_preprocess_ctl(st, SPEEX_PREPROCESS_SET_AGC, &agc) < 0 ||
            speex_preprocess_ctl(st, SPEEX_PREPROCESS_SET_DEREVERB, &off) < 0 ||
            speex_preprocess_ctl(st, SPEEX_PREPROCESS_SET_NOISE_SUPPRESS, &suppress) < 0)
                return -EOPNOTSUPP;
        return 0;
}

static int ensure_out(AudioProcessor *p, uint32_t frames) {
        int16_t *grown;

        if (frames <= p->out_capacity)
                return 0;
        grown = reallocarray(p->out, (size_t) frames * p->channels, sizeof(int16_t));
        if (!grown)
                return -ENOMEM;
        p->out = grown;
        p->out_capacity = frames;
        return 0;
}

int audio_processor_new(uint32_t rate, uint32_t channels, const AudioProcessingSettings *s, AudioProcessor **ret) {
        _cleanup_(audio_processor_freep) AudioProcessor *p = NULL;
        int r;

        if (!ret || !audio_processing_settings_any(s) || rate < AUDIO_PROCESSING_RATE_MIN ||
            rate > AUDIO_PROCESSING_RATE_MAX || channels == 0 || channels > AUDIO_PROCESSING_CHANNELS_MAX)
                return -EINVAL;

        p = calloc(1, sizeof(AudioProcessor));
        if (!p)
                return -ENOMEM;
        p->rate = rate;
        p->channels = channels;
        p->settings = *s;
        p->block = rate / AUDIO_PROCESSING_BLOCKS_PER_SECOND;
        p->states = calloc(channels, sizeof(SpeexPreprocessState *));
        p->pending = calloc((size_t) p->block * channels, sizeof(int16_t));
        p->channel = calloc(p->block, sizeof(spx_int16_t));
        if (!p->states || !p->pending || !p->channel || ensure_out(p, p->block) < 0)
                return -ENOMEM;

        for (uint32_t c = 0; c < channels; c++) {
                p->states[c] = speex_preprocess_state_init((int) p->block, (int) rate);
                if (!p->states[c])
                        return -ENOMEM;
                r = configure(p->states[c], s);
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(p);
        return 0;
}

/* Each channel of one block (in place, interleaved) through its own preprocessor. */
static void process_block(AudioProcessor *p, int16_t *block) {
        for (uint32_t c = 0; c < p->channels; c++) {
                for (uint32_t i = 0; i < p->block; i++)
                        p->channel[i] = block[(size_t) i * p->channels + c];
                (void) speex_preprocess_run(p->states[c], p->channel);
                for (uint32_t i = 0; i < p->block; i++)
                        block[(size_t) i * p->channels + c] = p->channel[i];
        }
}

int audio_processor_process(AudioProcessor *p, const int16_t *in, uint32_t n_frames, const int16_t **ret_out,
                            uint32_t *ret_n_out, uint32_t *ret_delay_frames) {
        size_t ch;
        uint32_t total, n_out, from_input;
        int r;

        if (!p || (!in && n_frames > 0) || !ret_out || !ret_n_out ||
            n_frames > p->rate * AUDIO_PROCESSING_INPUT_MAX_SECONDS)
                return -EINVAL;
        ch = p->channels;
        total = p->n_pending + n_frames;
        n_out = total - total % p->block;

        if (ret_delay_frames)
                *ret_delay_frames = p->n_pending;
        if (n_out == 0) {
                if (n_frames > 0)
                        memcpy(p->pending + p->n_pending * ch, in, (size_t) n_frames * ch * sizeof(int16_t));
                p->n_pending = total;
                *ret_out = p->out;
                *ret_n_out = 0;
                return 0;
        }

        r = ensure_out(p, n_out);
        if (r < 0)
                return r;
        from_input = n_out - p->n_pending;
        memcpy(p->out, p->pending, (size_t) p->n_pending * ch * sizeof(int16_t));
        memcpy(p->out + p->n_pending * ch, in, (size_t) from_input * ch * sizeof(int16_t));
        p->n_pending = n_frames - from_input;
        memcpy(p->pending, in + (size_t) from_input * ch, (size_t) p->n_pending * ch * sizeof(int16_t));

        for (uint32_t b = 0; b < n_out; b += p->block)
                process_block(p, p->out + (size_t) b * ch);

        *ret_out = p->out;
        *ret_n_out = n_out;
        return 0;
}

uint32_t audio_processor_rate(const AudioProcessor *p) {
        return p ? p->rate : 0;
}

uint32_t audio_processor_channels(const AudioProcessor *p) {
        return p ? p->channels : 0;
}
