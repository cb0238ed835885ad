// The synthetic dataset's class sound models: what each DCASE activity and
// each music "genre" sounds like, and the class-independent interference
// laid over DCASE sessions. Built from the primitives of synth_dsp.h.
#pragma once

#include <cstddef>

#include "tessera/data/synth_dsp.h"

namespace tessera::data::synth {

// Adds activity `label` (0-8, DCASE's order) to the whole of s.
void dcase_source(Signal& s, int label, Rng& rng, double rate);

// Adds music class `label` to samples [from, to) of s: tempo, register,
// timbre and drum pattern per class.
void music_source(Signal& s, int label, Rng& rng, double rate, std::size_t from, std::size_t to);

// Class-independent interference over a session: stretches of 1-4 s, each
// busy with probability `busy`, hold a sound of a random kind with random
// parameters, at -9 to 0 dB of the activity's level `fg_rms`, faded in and
// out over 20 ms so no click marks the boundary.
void add_interference(Signal& s, Rng& rng, double rate, double busy, double fg_rms);

}  // namespace tessera::data::synth
