#include "tessera/data/dataset.h"

namespace tessera::data {

std::string SkipReport::summary(std::size_t first) const {
  if (entries.empty()) return "no files skipped";
  std::string s =
      std::to_string(entries.size()) + (entries.size() == 1 ? " file" : " files") + " skipped: ";
  for (std::size_t i = 0; i < entries.size() && i < first; ++i) s += (i ? "; " : "") + entries[i];
  if (entries.size() > first) s += "; (and " + std::to_string(entries.size() - first) + " more)";
  return s;
}

const Split* Dataset::split(const std::string& name) const {
  if (name == "train") return &train;
  if (name == "eval") return &eval;
  if (name == "test") return &test;
  return nullptr;
}

}  // namespace tessera::data
