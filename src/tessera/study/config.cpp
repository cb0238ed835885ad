#include "tessera/study/config.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <variant>

#include <nlohmann/json.hpp>

#include "tessera/common/atomic_file.h"
#include "tessera/common/json_text.h"
#include "tessera/common/near_match.h"

namespace tessera::study {

using common::did_you_mean;
using common::dump_json;
using common::write_file_atomic;

namespace {

using json = nlohmann::json;
using Member = std::variant<int Config::*, double Config::*, bool Config::*, std::string Config::*,
                            std::vector<double> Config::*, std::vector<std::string> Config::*>;

struct Field {
  const char* name;
  Member member;
};

// Every key is declared once here; loading, saving and --set all go through it.
const std::vector<Field>& fields() {
  static const std::vector<Field> kFields = {
      {"experiment_name", &Config::experiment_name},
      {"dcase_dataset_path", &Config::dcase_dataset_path},
      {"dcase_dataset_fold", &Config::dcase_dataset_fold},
      {"dcase_eval_dataset_path", &Config::dcase_eval_dataset_path},
      {"music_dataset_path", &Config::music_dataset_path},
      {"log_level", &Config::log_level},
      {"model", &Config::model},
      {"dataset", &Config::dataset},
      {"saved_model_path", &Config::saved_model_path},
      {"save_model", &Config::save_model},
      {"save_frequency", &Config::save_frequency},
      {"use_profiler", &Config::use_profiler},
      {"epochs", &Config::epochs},
      {"batch_size", &Config::batch_size},
      {"prefetch_batches", &Config::prefetch_batches},
      {"random_selection_buffer_size", &Config::random_selection_buffer_size},
      {"learning_rate", &Config::learning_rate},
      {"l2_amount", &Config::l2_amount},
      {"random_seed", &Config::random_seed},
      {"shuffle_dataset", &Config::shuffle_dataset},
      {"train_test_split", &Config::train_test_split},
      {"gen_count", &Config::gen_count},
      {"num_parallel_calls", &Config::num_parallel_calls},
      {"opposite_sample_buffer_size", &Config::opposite_sample_buffer_size},
      {"sample_rate", &Config::sample_rate},
      {"sample_size", &Config::sample_size},
      {"sample_tile_size", &Config::sample_tile_size},
      {"sample_tile_neighbourhood", &Config::sample_tile_neighbourhood},
      {"stereo_channels", &Config::stereo_channels},
      {"to_mono", &Config::to_mono},
      {"feature_extractor", &Config::feature_extractor},
      {"frame_length", &Config::frame_length},
      {"frame_step", &Config::frame_step},
      {"fft_size", &Config::fft_size},
      {"n_mel_bin", &Config::n_mel_bin},
      {"n_mfcc_bin", &Config::n_mfcc_bin},
      {"margin", &Config::margin},
      {"embedding_size", &Config::embedding_size},
      {"margins", &Config::margins},
      {"labels", &Config::labels},
      {"model_width", &Config::model_width},
      {"input_normalisation", &Config::input_normalisation},
      {"loss_reduction", &Config::loss_reduction},
      {"lr_decay_rate", &Config::lr_decay_rate},
      {"lr_decay_steps", &Config::lr_decay_steps},
      {"log_every", &Config::log_every},
      {"mel_lower_edge_hz", &Config::mel_lower_edge_hz},
      {"trim_top_db", &Config::trim_top_db},
      {"cache_dir", &Config::cache_dir},
      {"unlabelled_dataset_path", &Config::unlabelled_dataset_path},
      {"eval_dataset", &Config::eval_dataset},
      {"prefetch_memory_mb", &Config::prefetch_memory_mb},
      {"max_eval_anchors", &Config::max_eval_anchors},
      {"min_active_fraction", &Config::min_active_fraction},
      {"max_satisfiable_margin", &Config::max_satisfiable_margin},
      {"cv_tie_tolerance", &Config::cv_tie_tolerance},
      {"pooling", &Config::pooling},
      {"projection_head", &Config::projection_head},
      {"projection_hidden", &Config::projection_hidden},
      {"loss", &Config::loss},
      {"temperature", &Config::temperature},
      {"mixback_probability", &Config::mixback_probability},
      {"mixback_db_min", &Config::mixback_db_min},
      {"mixback_db_max", &Config::mixback_db_max},
      {"gain_probability", &Config::gain_probability},
      {"gain_db", &Config::gain_db},
      {"time_mask_probability", &Config::time_mask_probability},
      {"time_mask_fraction", &Config::time_mask_fraction},
      {"freq_mask_probability", &Config::freq_mask_probability},
      {"freq_mask_fraction", &Config::freq_mask_fraction},
  };
  return kFields;
}

std::vector<std::string> field_names() {
  std::vector<std::string> names;
  for (const auto& f : fields()) names.push_back(f.name);
  return names;
}

const Field* find_field(const std::string& key) {
  for (const auto& f : fields()) {
    if (key == f.name) return &f;
  }
  return nullptr;
}

[[noreturn]] void type_error(const std::string& origin, const std::string& key, const char* want,
                             const json& got) {
  throw std::invalid_argument("config " + origin + ": key '" + key + "' must be " + want +
                              ", got " + dump_json(got));
}

// Assigns one JSON value to one field, checking its type. Integers accept
// integral JSON numbers only; booleans also accept 0 and 1 because the
// original params.json wrote to_mono as a number.
void assign(Config& c, const Field& f, const json& v, const std::string& origin) {
  const std::string key = f.name;
  std::visit(
      [&](auto member) {
        using T = std::decay_t<decltype(c.*member)>;
        if constexpr (std::is_same_v<T, int>) {
          if (v.is_number_integer()) {
            c.*member = v.get<int>();
          } else if (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>() &&
                     std::fabs(v.get<double>()) < 2e9) {
            c.*member = static_cast<int>(v.get<double>());
          } else {
            type_error(origin, key, "an integer", v);
          }
        } else if constexpr (std::is_same_v<T, double>) {
          if (!v.is_number()) type_error(origin, key, "a number", v);
          c.*member = v.get<double>();
        } else if constexpr (std::is_same_v<T, bool>) {
          if (v.is_boolean()) {
            c.*member = v.get<bool>();
          } else if (v.is_number_integer() && (v.get<int>() == 0 || v.get<int>() == 1)) {
            c.*member = v.get<int>() == 1;
          } else {
            type_error(origin, key, "true/false (or 0/1)", v);
          }
        } else if constexpr (std::is_same_v<T, std::string>) {
          if (!v.is_string()) type_error(origin, key, "a string", v);
          c.*member = v.get<std::string>();
        } else if constexpr (std::is_same_v<T, std::vector<double>>) {
          if (v.is_number()) {  // a single number is a one-element list
            c.*member = {v.get<double>()};
            return;
          }
          if (!v.is_array()) type_error(origin, key, "a list of numbers", v);
          std::vector<double> out;
          for (const auto& e : v) {
            if (!e.is_number()) type_error(origin, key, "a list of numbers", v);
            out.push_back(e.get<double>());
          }
          c.*member = out;
        } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          if (!v.is_array()) type_error(origin, key, "a list of strings", v);
          std::vector<std::string> out;
          for (const auto& e : v) {
            if (!e.is_string()) type_error(origin, key, "a list of strings", v);
            out.push_back(e.get<std::string>());
          }
          c.*member = out;
        }
      },
      f.member);
}

void require(bool ok, const std::string& message) {
  if (!ok) throw std::invalid_argument("config: " + message);
}

std::string num(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

}  // namespace

Config Config::from_json(const json& j, const std::string& origin) {
  if (!j.is_object()) {
    throw std::invalid_argument("config " + origin + ": the top level must be a JSON object");
  }
  Config c;
  for (const auto& [key, value] : j.items()) {
    const Field* f = find_field(key);
    if (!f) {
      throw std::invalid_argument("config " + origin + ": unknown key '" + key + "'" +
                                  did_you_mean(key, field_names()));
    }
    assign(c, *f, value, origin);
  }
  return c;
}

Config Config::load(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("config: cannot open '" + path + "'");
  json j;
  try {
    in >> j;
  } catch (const json::parse_error& e) {
    throw std::invalid_argument("config '" + path + "': not valid JSON: " + e.what());
  }
  return from_json(j, "'" + path + "'");
}

json Config::to_json() const {
  json j = json::object();
  for (const auto& f : fields()) {
    std::visit([&](auto member) { j[f.name] = this->*member; }, f.member);
  }
  return j;
}

void Config::save(const std::string& path) const {
  write_file_atomic(path, dump_json(to_json(), 2) + "\n");
}

void Config::apply_override(const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    throw std::invalid_argument("--set expects key=value, got '" + assignment + "'");
  }
  const std::string key = assignment.substr(0, eq);
  const std::string text = assignment.substr(eq + 1);
  const Field* f = find_field(key);
  if (!f) {
    throw std::invalid_argument("--set: unknown config key '" + key + "'" +
                                did_you_mean(key, field_names()));
  }
  json v = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (v.is_discarded()) v = text;  // a bare word such as ResNet34 is a string
  // A list of numbers may be written without brackets: margins=0.5,1,2.
  if (v.is_string() && std::holds_alternative<std::vector<double> Config::*>(f->member)) {
    v = json::parse("[" + text + "]", nullptr, false);
    if (v.is_discarded()) v = text;
  }
  if (v.is_string() && std::holds_alternative<std::vector<std::string> Config::*>(f->member)) {
    json list = json::array();
    std::stringstream ss(text);
    std::string item;
    while (std::getline(ss, item, ',')) list.push_back(item);
    v = list;
  }
  assign(*this, *f, v, "--set");
}

void Config::validate() const {
  static const std::vector<std::string> kModels = {"ResNet18", "ResNet34", "ResNet50"};
  static const std::vector<std::string> kDatasets = {"DCASEDataset", "MusicDataset",
                                                     "FolderDataset"};
  static const std::vector<std::string> kLabelledDatasets = {"DCASEDataset", "MusicDataset"};
  static const std::vector<std::string> kExtractors = {"LogMelExtractor", "MFCCExtractor"};
  static const std::vector<std::string> kLevels = {"debug", "info", "warning", "error"};
  auto one_of = [](const std::string& v, const std::vector<std::string>& set) {
    return std::find(set.begin(), set.end(), v) != set.end();
  };
  auto list = [](const std::vector<std::string>& set) {
    std::string s;
    for (const auto& e : set) s += (s.empty() ? "" : ", ") + e;
    return s;
  };
  std::string level = log_level;
  std::transform(level.begin(), level.end(), level.begin(), ::tolower);
  require(one_of(level, kLevels), "log_level '" + log_level + "' must be one of " + list(kLevels));
  require(one_of(model, kModels), "model '" + model + "' must be one of " + list(kModels));
  require(one_of(dataset, kDatasets),
          "dataset '" + dataset + "' must be one of " + list(kDatasets));
  require(one_of(eval_dataset, kLabelledDatasets),
          "eval_dataset '" + eval_dataset + "' must be one of " + list(kLabelledDatasets));
  require(dataset != "FolderDataset" || !unlabelled_dataset_path.empty(),
          "dataset FolderDataset needs unlabelled_dataset_path: the folder of recordings to "
          "train on");
  require(one_of(feature_extractor, kExtractors),
          "feature_extractor '" + feature_extractor + "' must be one of " + list(kExtractors));
  static const std::vector<std::string> kNormalisations = {"none", "tile_mean", "dataset"};
  static const std::vector<std::string> kPoolings = {"average", "time_stats"};
  static const std::vector<std::string> kHeads = {"linear", "mlp"};
  static const std::vector<std::string> kLosses = {"triplet", "batch_hard", "semi_hard", "nt_xent"};
  auto choice = [&](const char* key, const std::string& v, const std::vector<std::string>& set) {
    require(one_of(v, set),
            std::string(key) + " '" + v + "' must be one of " + list(set) + did_you_mean(v, set));
  };
  choice("input_normalisation", input_normalisation, kNormalisations);
  choice("pooling", pooling, kPoolings);
  choice("projection_head", projection_head, kHeads);
  choice("loss", loss, kLosses);
  require(projection_hidden >= 1,
          "projection_hidden (" + num(projection_hidden) + ") must be >= 1");
  require(temperature > 0 && std::isfinite(temperature),
          "temperature (" + num(temperature) + ") must be > 0");
  auto probability = [&](const char* key, double p) {
    require(p >= 0 && p <= 1, std::string(key) + " (" + num(p) + ") must lie in [0, 1]");
  };
  probability("mixback_probability", mixback_probability);
  probability("gain_probability", gain_probability);
  probability("time_mask_probability", time_mask_probability);
  probability("freq_mask_probability", freq_mask_probability);
  probability("time_mask_fraction", time_mask_fraction);
  probability("freq_mask_fraction", freq_mask_fraction);
  require(mixback_db_min <= mixback_db_max && mixback_db_max <= 0,
          "mixback_db_min (" + num(mixback_db_min) + ") <= mixback_db_max (" + num(mixback_db_max) +
              ") <= 0 must hold: the background stays quieter");
  require(gain_db >= 0 && gain_db <= 40, "gain_db (" + num(gain_db) + ") must lie in [0, 40]");
  require(
      (mixback_probability == 0 && gain_probability == 0) || feature_extractor == "LogMelExtractor",
      "mixback_probability and gain_probability need feature_extractor LogMelExtractor "
      "(they mix and scale mel magnitudes)");
  require(loss_reduction == "zero_filtered" || loss_reduction == "mean",
          "loss_reduction '" + loss_reduction + "' must be zero_filtered or mean");
  require(dcase_dataset_fold >= 1,
          "dcase_dataset_fold (" + num(dcase_dataset_fold) + ") must be >= 1");
  require(save_frequency >= 1, "save_frequency (" + num(save_frequency) + ") must be >= 1");
  require(epochs >= 1, "epochs (" + num(epochs) + ") must be >= 1");
  require(batch_size >= 1, "batch_size (" + num(batch_size) + ") must be >= 1");
  require(prefetch_batches >= 1, "prefetch_batches (" + num(prefetch_batches) + ") must be >= 1");
  require(random_selection_buffer_size >= 1,
          "random_selection_buffer_size (" + num(random_selection_buffer_size) + ") must be >= 1");
  require(learning_rate > 0 && std::isfinite(learning_rate),
          "learning_rate (" + num(learning_rate) + ") must be > 0");
  require(l2_amount >= 0, "l2_amount (" + num(l2_amount) + ") must be >= 0");
  require(random_seed >= 0, "random_seed (" + num(random_seed) + ") must be >= 0");
  require(train_test_split > 0 && train_test_split < 1,
          "train_test_split (" + num(train_test_split) + ") must lie in (0, 1)");
  require(gen_count >= 0, "gen_count (" + num(gen_count) + ") must be >= 0 (0: one per core)");
  require(num_parallel_calls >= 0,
          "num_parallel_calls (" + num(num_parallel_calls) + ") must be >= 0 (0: one per core)");
  require(opposite_sample_buffer_size >= 1,
          "opposite_sample_buffer_size (" + num(opposite_sample_buffer_size) + ") must be >= 1");
  require(sample_rate >= 1000 && sample_rate <= 384000,
          "sample_rate (" + num(sample_rate) + ") must lie in [1000, 384000]");
  require(sample_size > 0, "sample_size (" + num(sample_size) + ") must be > 0");
  require(sample_tile_size > 0, "sample_tile_size (" + num(sample_tile_size) + ") must be > 0");
  require(sample_tile_size * 2 <= sample_size || dataset == "MusicDataset",
          "sample_tile_size (" + num(sample_tile_size) + ") must be at most half of sample_size (" +
              num(sample_size) + ") so that a recording holds an anchor and a neighbour");
  require(sample_tile_neighbourhood >= sample_tile_size,
          "sample_tile_neighbourhood (" + num(sample_tile_neighbourhood) +
              ") must be at least sample_tile_size (" + num(sample_tile_size) + ")");
  require(stereo_channels >= 1, "stereo_channels (" + num(stereo_channels) + ") must be >= 1");
  require(frame_length >= 2, "frame_length (" + num(frame_length) + ") must be >= 2");
  require(frame_step >= 1, "frame_step (" + num(frame_step) + ") must be >= 1");
  require(fft_size >= 8 && (fft_size & (fft_size - 1)) == 0,
          "fft_size (" + num(fft_size) + ") must be a power of two >= 8");
  require(frame_length <= fft_size, "frame_length (" + num(frame_length) +
                                        ") must not exceed fft_size (" + num(fft_size) + ")");
  require(n_mel_bin >= 1, "n_mel_bin (" + num(n_mel_bin) + ") must be >= 1");
  require(
      n_mfcc_bin >= 1 && n_mfcc_bin <= n_mel_bin,
      "n_mfcc_bin (" + num(n_mfcc_bin) + ") must lie in [1, n_mel_bin (" + num(n_mel_bin) + ")]");
  require(mel_lower_edge_hz >= 0 && mel_lower_edge_hz < sample_rate / 2.0,
          "mel_lower_edge_hz (" + num(mel_lower_edge_hz) + ") must lie in [0, sample_rate/2)");
  require(tile_samples() >= frame_length,
          "sample_tile_size (" + num(sample_tile_size) + " s) is shorter than one frame");
  require(margin > 0 && std::isfinite(margin), "margin (" + num(margin) + ") must be > 0");
  for (double m : margins) {
    require(m > 0 && std::isfinite(m), "margins: every margin must be > 0, got " + num(m));
  }
  require(embedding_size >= 1, "embedding_size (" + num(embedding_size) + ") must be >= 1");
  require(model_width >= 1, "model_width (" + num(model_width) + ") must be >= 1");
  require(lr_decay_rate > 0 && lr_decay_rate <= 1,
          "lr_decay_rate (" + num(lr_decay_rate) + ") must lie in (0, 1]");
  require(lr_decay_steps >= 1, "lr_decay_steps (" + num(lr_decay_steps) + ") must be >= 1");
  require(log_every >= 1, "log_every (" + num(log_every) + ") must be >= 1");
  require(trim_top_db > 0, "trim_top_db (" + num(trim_top_db) + ") must be > 0");
  require(prefetch_memory_mb > 0,
          "prefetch_memory_mb (" + num(prefetch_memory_mb) + ") must be > 0");
  require(max_eval_anchors >= 0, "max_eval_anchors (" + num(max_eval_anchors) + ") must be >= 0");
  require(min_active_fraction >= 0 && min_active_fraction < 1,
          "min_active_fraction (" + num(min_active_fraction) + ") must lie in [0, 1)");
  require(max_satisfiable_margin > 0,
          "max_satisfiable_margin (" + num(max_satisfiable_margin) + ") must be > 0");
  require(cv_tie_tolerance >= 0, "cv_tie_tolerance (" + num(cv_tie_tolerance) + ") must be >= 0");
}

int Config::tile_samples() const {
  return static_cast<int>(std::lround(sample_tile_size * sample_rate));
}
int Config::clip_samples() const {
  return static_cast<int>(std::lround(sample_size * sample_rate));
}
int Config::tile_frames() const {
  const int n = tile_samples();
  return n < frame_length ? 0 : 1 + (n - frame_length) / frame_step;
}
int Config::feature_bins() const {
  return feature_extractor == "MFCCExtractor" ? n_mfcc_bin : n_mel_bin;
}

std::vector<std::string> Config::known_keys() {
  std::vector<std::string> keys;
  for (const auto& f : fields()) keys.emplace_back(f.name);
  return keys;
}

}  // namespace tessera::study
