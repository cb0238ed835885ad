#include "tessera/data/synth.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>

#include "tessera/audio/encode.h"
#include "tessera/common/atomic_file.h"
#include "tessera/common/rng.h"
#include "tessera/data/dcase_reader.h"
#include "tessera/data/synth_sources.h"

namespace tessera::data {
namespace fs = std::filesystem;
namespace {

std::string padded(int v, int width) {
  std::string s = std::to_string(v);
  return std::string(std::max(0, width - int(s.size())), '0') + s;
}

}  // namespace

void SynthOptions::validate() const {
  if (output_dir.empty()) throw std::invalid_argument("synth: output directory is empty");
  if (classes < 2) throw std::invalid_argument("synth: classes must be >= 2");
  if (clips_per_class < 2) throw std::invalid_argument("synth: clips_per_class must be >= 2");
  if (clips_per_session < 1) throw std::invalid_argument("synth: clips_per_session must be >= 1");
  if (!(eval_fraction > 0 && eval_fraction < 1))
    throw std::invalid_argument("synth: eval_fraction must lie in (0, 1)");
  if (threads < 1) throw std::invalid_argument("synth: threads must be >= 1");
  if (!(interference >= 0 && interference <= 1))
    throw std::invalid_argument("synth: interference must lie in [0, 1]");
  if (interference > 0 && layout != SynthLayout::kDcase)
    throw std::invalid_argument("synth: interference is for the DCASE layout only");
}

std::vector<std::string> synth_labels(SynthLayout layout, int classes) {
  static const std::vector<std::string> kGenres = {
      "blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock"};
  std::vector<std::string> out;
  for (int c = 0; c < classes; ++c) {
    if (layout == SynthLayout::kDcase) {
      out.push_back(c < 9 ? dcase_labels()[c] : "activity_" + padded(c, 2));
    } else {
      out.push_back(c < 10 ? kGenres[c] : "genre_" + padded(c, 2));
    }
  }
  return out;
}

audio::AudioBuffer synth_session(SynthLayout layout, int label, int clips, std::uint64_t seed,
                                 double interference) {
  synth::Rng rng(seed);
  audio::AudioBuffer out;
  if (layout == SynthLayout::kDcase) {
    const double rate = 16000;
    const std::size_t n = std::size_t(clips * 10 * rate);
    synth::Signal s(n, 0.0f);
    synth::dcase_source(s, label, rng, rate);
    // Loudness varies per recording; absence stays near silence.
    const double level_db = (label % 9 == 0) ? rng.uniform(-62, -52) : rng.uniform(-32, -16);
    synth::normalise_to(s, std::pow(10.0, level_db / 20));
    if (interference > 0) {
      // Its own stream, so the activity and the room stay what they were.
      synth::Rng busy(common::derive_seed({seed, 0x696e7466ULL}));
      synth::add_interference(s, busy, rate, interference, std::pow(10.0, level_db / 20));
      for (auto& v : s) v = std::clamp(v, -0.99f, 0.99f);
    }
    synth::Signal room(n, 0.0f);
    synth::add_room_noise(room, rng, rate, std::pow(10.0, rng.uniform(-70, -58) / 20));
    // Four "microphones": a delay of up to 12 samples, +-1.5 dB, own noise.
    out.sample_rate_hz = int(rate);
    out.channels = 4;
    out.samples.assign(4 * n, 0.0f);
    int delay[4];
    double gain[4];
    for (int c = 0; c < 4; ++c) {
      delay[c] = rng.integer(0, 12);
      gain[c] = std::pow(10.0, rng.uniform(-1.5, 1.5) / 20);
    }
    std::uint64_t noise_state = common::mix64(seed ^ 0x6d1c5ULL);
    for (std::size_t i = 0; i < n; ++i) {
      // One 64-bit draw gives the four microphones' own noise (16 bits each).
      noise_state = common::mix64(noise_state);
      for (int c = 0; c < 4; ++c) {
        const float src = i >= std::size_t(delay[c]) ? s[i - delay[c]] : 0.0f;
        const double own =
            (double((noise_state >> (16 * c)) & 0xffff) - 32767.5) * (1e-4 / 18918.0);
        out.channel(c)[i] = float(std::clamp(gain[c] * src + room[i] + own, -0.99, 0.99));
      }
    }
    return out;
  }
  if (clips != 1) throw std::invalid_argument("synth: music sessions hold one clip");
  const double rate = 22050;
  const double body_s = rng.uniform(8, 20);
  const double lead_s = rng.uniform(0.2, 1.0), tail_s = rng.uniform(0.2, 1.0);
  const std::size_t lead = std::size_t(lead_s * rate), body = std::size_t(body_s * rate);
  synth::Signal s(lead + body + std::size_t(tail_s * rate), 0.0f);
  synth::music_source(s, label, rng, rate, lead, lead + body);
  synth::normalise_to(s, std::pow(10.0, rng.uniform(-26, -14) / 20));
  out.sample_rate_hz = int(rate);
  out.channels = 1;
  out.samples = std::move(s);
  return out;
}

SynthReport write_synth_dataset(const SynthOptions& o) {
  o.validate();
  const auto t0 = std::chrono::steady_clock::now();
  SynthReport report;
  report.labels = synth_labels(o.layout, o.classes);
  struct Job {
    int label, session, clips;
    std::vector<std::string> names;
  };
  std::vector<Job> jobs;
  const bool dcase = o.layout == SynthLayout::kDcase;
  if (dcase) {
    common::make_dirs(o.output_dir + "/audio");
    common::make_dirs(o.output_dir + "/evaluation_setup");
    int session = 0;
    // At least two sessions per class, so that evaluate gets one.
    const int per_session = std::max(1, std::min(o.clips_per_session, o.clips_per_class / 2));
    for (int c = 0; c < o.classes; ++c) {
      for (int left = o.clips_per_class; left > 0; left -= per_session) {
        Job j{c, session, std::min(left, per_session), {}};
        for (int k = 0; k < j.clips; ++k) {
          j.names.push_back("audio/synth_s" + padded(session, 3) + "_" + padded(k, 2) + ".wav");
        }
        jobs.push_back(std::move(j));
        ++session;
      }
    }
  } else {
    for (int c = 0; c < o.classes; ++c) {
      common::make_dirs(o.output_dir + "/" + report.labels[c]);
      for (int k = 0; k < o.clips_per_class; ++k) {
        jobs.push_back({c,
                        c * o.clips_per_class + k,
                        1,
                        {report.labels[c] + "/track_" + padded(k, 3) + ".wav"}});
      }
    }
  }
  std::atomic<std::size_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto worker = [&] {
    try {
      for (std::size_t i = next++; i < jobs.size(); i = next++) {
        const Job& j = jobs[i];
        const audio::AudioBuffer a = synth_session(
            o.layout, j.label, j.clips,
            common::derive_seed({std::uint64_t(o.seed), std::uint64_t(j.session)}), o.interference);
        const std::size_t per_clip = a.frames() / j.clips;
        for (int k = 0; k < j.clips; ++k) {
          audio::AudioBuffer clip;
          clip.sample_rate_hz = a.sample_rate_hz;
          clip.channels = a.channels;
          clip.samples.resize(per_clip * a.channels);
          for (int ch = 0; ch < a.channels; ++ch) {
            std::copy(a.channel(ch) + k * per_clip, a.channel(ch) + (k + 1) * per_clip,
                      clip.channel(ch));
          }
          audio::write_wav(o.output_dir + "/" + j.names[k], clip);
        }
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
      next = jobs.size();
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < o.threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);

  if (dcase) {
    // Whole sessions go to evaluate, so eval recordings come from unseen sessions.
    std::string train, evaluate, test;
    for (int c = 0; c < o.classes; ++c) {
      std::vector<const Job*> mine;
      for (const auto& j : jobs) {
        if (j.label == c) mine.push_back(&j);
      }
      const int n_eval = std::max(1, int(std::lround(mine.size() * o.eval_fraction)));
      for (std::size_t s = 0; s < mine.size(); ++s) {
        const bool is_eval = mine.size() > 1 && int(s) >= int(mine.size()) - n_eval;
        for (const auto& name : mine[s]->names) {
          if (is_eval) {
            evaluate += name + "\t" + report.labels[c] + "\n";
            test += name + "\n";
          } else {
            train +=
                name + "\t" + report.labels[c] + "\tsession" + padded(mine[s]->session, 3) + "\n";
          }
        }
      }
    }
    const std::string setup = o.output_dir + "/evaluation_setup/";
    common::write_file_atomic(setup + "fold1_train.txt", train);
    common::write_file_atomic(setup + "fold1_evaluate.txt", evaluate);
    common::write_file_atomic(setup + "fold1_test.txt", test);
    common::write_file_atomic(o.output_dir + "/labels.txt", [&] {
      std::string s;
      for (const auto& l : report.labels) s += l + "\n";
      return s;
    }());
  }
  for (const auto& j : jobs) report.clips += j.clips;
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return report;
}

}  // namespace tessera::data
