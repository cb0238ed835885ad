// Augmentation of the training views, on log-mel tiles as the tile store
// holds them: log(mel + log_floor), mel a filterbank of STFT magnitudes.
// Each view of a batch (anchor, neighbour, opposite) may get, in this order:
//   mix-back:  a tile of another recording of the same batch, added to the
//              view's mel magnitudes at a level drawn uniformly in dB from
//              [mixback_db_min, mixback_db_max] relative to the view's own
//              (rms over the tile); so the net cannot match two tiles by a
//              recording's fingerprint (Fonseca et al. 2021: mix-back;
//              Jansen et al. 2018: mixing);
//   gain:      the mel magnitudes scaled by a gain drawn uniformly in dB from
//              [-gain_db, gain_db];
//   a time mask and a frequency mask (SpecAugment): a band of up to a
//              fraction of the frames (or bins), set to the view's mean.
// Every draw comes from a stream seeded by (seed, epoch, the triplet's
// anchor recording and tile), and each triplet is unique within an epoch, so
// a run sees the same augmented views whatever its threads, batch order
// or resumption. Backgrounds are read from the batch as it was assembled,
// before any view of it was changed. Evaluation never augments.
//
//   TileAugmenter aug(options);
//   aug.apply(views, recordings, tile_floats, channels, frames, bins, stream_keys);
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tessera::augment {

struct AugmentOptions {
  double mixback_probability = 0;
  double mixback_db_min = -20, mixback_db_max = -10;
  double gain_probability = 0;
  double gain_db = 6;
  double time_mask_probability = 0;
  double time_mask_fraction = 0.1;  // the widest time mask, in frames of the tile
  double freq_mask_probability = 0;
  double freq_mask_fraction = 0.1;  // the widest frequency mask, in bins of the tile
  double log_floor = 1e-6;          // the features' log offset
  // Whether any augmentation can happen.
  bool enabled() const;
  // Whether mix-back or gain are on: both work on mel magnitudes, so the
  // features must be log-mel (not MFCC).
  bool needs_log_mel() const;
  // Throws std::invalid_argument naming the key and the rule it breaks.
  void validate() const;
};

// The shape of one view: channels x frames x bins floats.
struct TileShape {
  int channels = 1, frames = 0, bins = 0;
  std::size_t floats() const { return std::size_t(channels) * frames * bins; }
};

// What the augmenter did to one view (for tests and counters).
struct ViewAugmentation {
  int background = -1;    // the view whose tile was mixed in; -1: none
  double mixback_db = 0;  // its drawn level
  double gain_db = 0;     // 0 when no gain was drawn
  int time_mask_begin = 0, time_mask_width = 0;
  int freq_mask_begin = 0, freq_mask_width = 0;
};

class TileAugmenter {
 public:
  explicit TileAugmenter(const AugmentOptions& options);
  const AugmentOptions& options() const { return options_; }

  // Augments `views` (count x shape floats) in place. recordings[v] names the
  // recording of view v (a background never comes from the same one);
  // streams[v] seeds view v's draws (the caller derives it from the run's
  // seed, the epoch and the triplet). Returns what was done to each view.
  std::vector<ViewAugmentation> apply(float* views, std::size_t count, const TileShape& shape,
                                      const std::vector<std::uint32_t>& recordings,
                                      const std::vector<std::uint64_t>& streams) const;

 private:
  AugmentOptions options_;
};

}  // namespace tessera::augment
