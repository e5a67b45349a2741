/* The audio processing of one capture: one processor per distinct combination of settings some
 * sink asked for (noise suppression, gain control, both), run once per captured period and
 * shared by every sink with that combination. Sinks that ask for none get the capture as it
 * is, bit for bit. Lives beside the capture fan-out, which tells it who uses what. */
#pragma once

#include "audio-processing.h"
#include "devices/device.h"

typedef struct AudioProcessingSet AudioProcessingSet;

int audio_processing_set_new(AudioProcessingSet **ret);
AudioProcessingSet *audio_processing_set_free(AudioProcessingSet *set);

/* A sink with these settings comes or goes. The processor of a combination is made when its
 * first period arrives and freed with its last user, so that a new user starts afresh. */
void audio_processing_set_add_user(AudioProcessingSet *set, const AudioProcessingSettings *s);
void audio_processing_set_remove_user(AudioProcessingSet *set, const AudioProcessingSettings *s);

/* Run every processor in use over one captured period (S16_LE interleaved at rate with
 * channels). A processor made for another format is made anew. */
void audio_processing_set_process(AudioProcessingSet *set, const Frame *f, uint32_t rate, uint32_t channels);

/* The period for sinks with settings s, after audio_processing_set_process(f): f itself when s
 * asks for nothing, else the processed one (its timestamp moved back by what the processor
 * held over from earlier periods); NULL when the processor had nothing to give this time (a
 * period shorter than its 10 ms block) or could not be made. */
const Frame *audio_processing_set_output(AudioProcessingSet *set, const AudioProcessingSettings *s, const Frame *f);
