#include "tessera/data/music_reader.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "tessera/common/atomic_file.h"
#include "tessera/common/json_text.h"
#include "tessera/common/rng.h"
#include "tessera/data/folder_reader.h"

namespace tessera::data {
namespace fs = std::filesystem;

void MusicOptions::validate() const {
  if (root.empty()) throw std::invalid_argument("music: music_dataset_path is empty");
  if (!(held_out > 0 && held_out < 1))
    throw std::invalid_argument("music: train_test_split must lie in (0, 1)");
}

Dataset read_music(const MusicOptions& o) {
  o.validate();
  std::error_code ec;
  if (!fs::is_directory(o.root, ec)) {
    throw std::runtime_error("music: '" + o.root + "' is not a directory");
  }
  std::vector<std::string> folders;
  for (const auto& e : fs::directory_iterator(o.root)) {
    if (e.is_directory()) folders.push_back(e.path().filename().string());
  }
  std::sort(folders.begin(), folders.end());
  Dataset d;
  if (o.labels.empty()) {
    d.labels = folders;
  } else {
    d.labels = o.labels;
    for (const auto& f : folders) {
      if (std::find(d.labels.begin(), d.labels.end(), f) == d.labels.end()) {
        throw std::runtime_error("music: folder '" + (fs::path(o.root) / f).string() +
                                 "' is not one of the configured labels");
      }
    }
  }
  if (d.labels.empty()) throw std::runtime_error("music: no label folders in '" + o.root + "'");
  for (int label = 0; label < static_cast<int>(d.labels.size()); ++label) {
    const fs::path dir = fs::path(o.root) / d.labels[label];
    std::vector<Recording> files;
    if (fs::is_directory(dir, ec)) {
      for (const auto& e : fs::directory_iterator(dir)) {
        if (!e.is_regular_file() || !is_audio_file(e.path())) continue;
        Recording r;
        r.path = e.path().string();
        r.name = (fs::path(d.labels[label]) / e.path().filename()).string();
        r.label = label;
        files.push_back(std::move(r));
      }
    }
    // Sort first so the shuffle does not depend on directory order.
    std::sort(files.begin(), files.end(),
              [](const Recording& a, const Recording& b) { return a.name < b.name; });
    std::mt19937_64 rng(
        common::derive_seed({std::uint64_t(o.seed), 0x5e1171ULL, std::uint64_t(label)}));
    std::shuffle(files.begin(), files.end(), rng);
    const std::size_t n = files.size();
    std::size_t held = n >= 3 ? std::max<std::size_t>(2, std::lround(n * o.held_out)) : 0;
    held = std::min(held, n - 1);
    const std::size_t n_eval = (held + 1) / 2;
    for (std::size_t i = 0; i < n; ++i) {
      Split& s = i < n_eval ? d.eval : (i < held ? d.test : d.train);
      s.recordings.push_back(files[i]);
    }
  }
  return d;
}

void save_split(const Dataset& d, const std::string& path) {
  nlohmann::json j;
  j["labels"] = d.labels;
  for (const Split* s : {&d.train, &d.eval, &d.test}) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& r : s->recordings) list.push_back({r.name, r.label});
    j[s->name] = list;
  }
  common::write_file_atomic(path, common::dump_json(j, 1) + "\n");
}

Dataset load_split(const std::string& path, const std::string& root) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(common::read_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error("music: split file '" + path + "' is not valid JSON: " + e.what());
  }
  Dataset d;
  try {
    d.labels = j.at("labels").get<std::vector<std::string>>();
    for (Split* s : {&d.train, &d.eval, &d.test}) {
      for (const auto& e : j.at(s->name)) {
        Recording r;
        r.name = e.at(0).get<std::string>();
        r.label = e.at(1).get<int>();
        r.path = (fs::path(root) / r.name).string();
        if (r.label < 0 || r.label >= static_cast<int>(d.labels.size())) {
          throw std::runtime_error("label index out of range for '" + r.name + "'");
        }
        std::error_code ec;
        if (!fs::is_regular_file(r.path, ec)) {
          d.skipped.add(r.name, "listed in the saved split but missing");
          continue;
        }
        s->recordings.push_back(std::move(r));
      }
    }
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error("music: split file '" + path + "' is malformed: " + e.what());
  }
  return d;
}

}  // namespace tessera::data
