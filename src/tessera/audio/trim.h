// Leading and trailing silence removal with the semantics of
// librosa.effects.trim(y, top_db, ref=np.max, frame_length, hop_length):
// frames are centred (zero-padded by frame_length/2), a frame is non-silent
// when 10*log10(mean square) lies within top_db of the loudest frame, and
// the kept span runs from the first non-silent frame's sample to the end of
// the last one's hop.
#pragma once

#include <cstddef>
#include <utility>

#include "tessera/audio/audio_buffer.h"

namespace tessera::audio {

struct TrimOptions {
  double top_db = 60.0;
  int frame_length = 2048;
  int hop_length = 512;
  void validate() const;
};

// The [start, end) sample span that trim keeps; (0, 0) for all-silent input.
std::pair<std::size_t, std::size_t> nonsilent_span(const AudioBuffer& in, const TrimOptions& opt);
AudioBuffer trim_silence(const AudioBuffer& in, const TrimOptions& opt);

}  // namespace tessera::audio
