/* The processors of one capture, indexed by their combination of settings. */
#include "audio-processing-set.h"

#include <errno.h>
#include <stdlib.h>

#include "log.h"
#include "util.h"

/* The processors take host-order int16_t; the samples are S16_LE. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "audio processing reads S16_LE as int16_t");

/* Index 0 is "nothing asked": never a processor. */
#define COMBINATIONS 4

typedef struct Combination {
        unsigned users;
        AudioProcessor *processor;
        bool failed;   /* could not be made for the current format: its users get nothing */
        bool have_out; /* out holds this period's processed samples */
        Frame out;
} Combination;

struct AudioProcessingSet {
        Combination combinations[COMBINATIONS];
};

static unsigned combination_of(const AudioProcessingSettings *s) {
        return (s && s->noise_suppression ? 1u : 0u) | (s && s->auto_gain_control ? 2u : 0u);
}

static AudioProcessingSettings settings_of(unsigned index) {
        return (AudioProcessingSettings) { .noise_suppression = index & 1, .auto_gain_control = index & 2 };
}

int audio_processing_set_new(AudioProcessingSet **ret) {
        if (!ret)
                return -EINVAL;
        *ret = calloc(1, sizeof(AudioProcessingSet));
        return *ret ? 0 : -ENOMEM;
}

AudioProcessingSet *audio_processing_set_free(AudioProcessingSet *set) {
        if (!set)
                return NULL;
        for (unsigned i = 0; i < COMBINATIONS; i++)
                audio_processor_free(set->combinations[i].processor);
        free(set);
        return NULL;
}

void audio_processing_set_add_user(AudioProcessingSet *set, const AudioProcessingSettings *s) {
        if (set)
                set->combinations[combination_of(s)].users++;
}

void audio_processing_set_remove_user(AudioProcessingSet *set, const AudioProcessingSettings *s) {
        Combination *c;

        if (!set)
                return;
        c = &set->combinations[combination_of(s)];
        if (c->users == 0)
                return;
        if (--c->users == 0) {
                c->processor = audio_processor_free(c->processor);
                c->failed = false;
                c->have_out = false;
        }
}

static void process_one(Combination *c, unsigned index, const Frame *f, uint32_t rate, uint32_t channels) {
        AudioProcessingSettings s = settings_of(index);
        const int16_t *out;
        uint32_t n_out, delay;
        int r;

        c->have_out = false;
        if (c->processor && (audio_processor_rate(c->processor) != rate || audio_processor_channels(c->processor) != channels)) {
                /* The capture restarted in another format: start afresh. */
                c->processor = audio_processor_free(c->processor);
                c->failed = false;
        }
        if (!c->processor && !c->failed) {
                r = audio_processor_new(rate, channels, &s, &c->processor);
                if (r < 0) {
                        log_error_errno(r, "Failed to set up %s%s%s for %u Hz, %u channels: %m",
                                        s.noise_suppression ? "noise suppression" : "",
                                        s.noise_suppression && s.auto_gain_control ? " and " : "",
                                        s.auto_gain_control ? "gain control" : "", rate, channels);
                        c->failed = true;
                }
        }
        if (!c->processor)
                return;

        r = audio_processor_process(c->processor, (const int16_t *) f->data, f->n_frames, &out, &n_out, &delay);
        if (r < 0) {
                log_debug_errno(r, "Audio processing dropped a period of %u frames: %m", f->n_frames);
                return;
        }
        if (n_out == 0)
                return;
        c->out = *f;
        c->out.data = (const uint8_t *) out;
        c->out.n_frames = n_out;
        c->out.size = (size_t) n_out * channels * sizeof(int16_t);
        c->out.timestamp_ns = f->timestamp_ns - MIN(f->timestamp_ns, (uint64_t) delay * 1000000000ULL / rate);
        c->have_out = true;
}

void audio_processing_set_process(AudioProcessingSet *set, const Frame *f, uint32_t rate, uint32_t channels) {
        if (!set || !f || channels == 0 || f->size < (size_t) f->n_frames * channels * sizeof(int16_t))
                return;
        for (unsigned i = 1; i < COMBINATIONS; i++)
                if (set->combinations[i].users > 0)
                        process_one(&set->combinations[i], i, f, rate, channels);
}

const Frame *audio_processing_set_output(AudioProcessingSet *set, const AudioProcessingSettings *s, const Frame *f) {
        unsigned index = combination_of(s);

        if (index == 0)
                return f;
        if (!set || !set->combinations[index].have_out)
                return NULL;
        return &set->combinations[index].out;
}
