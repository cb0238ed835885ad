#include "tessera/ops/conv_plan.h"

#include <cstdio>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "tessera/common/atomic_file.h"
#include "tessera/common/json_text.h"

namespace tessera::ops {
namespace {

const char* const kMethodNames[kConvMethods] = {"library", "gemm", "flipped"};
const char* const kFormat = "tessera-conv-plan";
constexpr int kVersion = 1;

nlohmann::json op_json(const ConvOpChoice& c) {
  nlohmann::json ms = nlohmann::json::object();
  for (int m = 0; m < kConvMethods; ++m) {
    if (c.ms[m] > 0) ms[kMethodNames[m]] = c.ms[m];
  }
  return {{"method", conv_method_name(c.method)}, {"ms", ms}};
}

ConvOpChoice op_from_json(const nlohmann::json& j, const std::string& where) {
  auto fail = [&](const std::string& what) { throw std::runtime_error(where + ": " + what); };
  if (!j.is_object() || !j.contains("method") || !j["method"].is_string())
    fail("expected an object with a \"method\" string");
  ConvOpChoice c;
  c.decided = true;
  const std::string name = j["method"];
  int found = -1;
  for (int m = 0; m < kConvMethods; ++m)
    if (name == kMethodNames[m]) found = m;
  if (found < 0) fail("unknown method '" + name + "' (library, gemm or flipped)");
  c.method = ConvMethod(found);
  if (j.contains("ms")) {
    if (!j["ms"].is_object()) fail("\"ms\" must be an object of method: milliseconds");
    for (int m = 0; m < kConvMethods; ++m) {
      const auto it = j["ms"].find(kMethodNames[m]);
      if (it == j["ms"].end()) continue;
      if (!it->is_number() || it->get<double>() < 0)
        fail(std::string("\"ms\".") + kMethodNames[m] + " must be a number >= 0");
      c.ms[m] = it->get<double>();
    }
  }
  return c;
}

}  // namespace

const char* conv_method_name(ConvMethod m) {
  return kMethodNames[int(m)];
}

ConvPlan::ConvPlan(const ConvPlan& other) {
  std::lock_guard<std::mutex> lock(other.mutex_);
  choices_ = other.choices_;
}

ConvPlan& ConvPlan::operator=(const ConvPlan& other) {
  if (this != &other) assign(other);
  return *this;
}

void ConvPlan::assign(const ConvPlan& other) {
  if (this == &other) return;
  std::map<std::string, ConvChoice> copy;
  {
    std::lock_guard<std::mutex> lock(other.mutex_);
    copy = other.choices_;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  choices_ = std::move(copy);
}

ConvChoice ConvPlan::get(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = choices_.find(key);
  return it == choices_.end() ? ConvChoice{} : it->second;
}

void ConvPlan::record(const std::string& key, const ConvChoice& choice) {
  std::lock_guard<std::mutex> lock(mutex_);
  ConvChoice& kept = choices_[key];
  if (choice.forward.decided && !kept.forward.decided) kept.forward = choice.forward;
  if (choice.weight.decided && !kept.weight.decided) kept.weight = choice.weight;
  if (choice.input.decided && !kept.input.decided) kept.input = choice.input;
}

bool ConvPlan::empty() const {
  return size() == 0;
}

std::size_t ConvPlan::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return choices_.size();
}

nlohmann::json ConvPlan::to_json() const {
  nlohmann::json shapes = nlohmann::json::object();
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& [key, c] : choices_) {
    nlohmann::json entry = nlohmann::json::object();
    if (c.forward.decided) entry["forward"] = op_json(c.forward);
    if (c.weight.decided) entry["weight"] = op_json(c.weight);
    if (c.input.decided) entry["input"] = op_json(c.input);
    shapes[key] = entry;
  }
  return {{"format", kFormat}, {"version", kVersion}, {"shapes", shapes}};
}

ConvPlan ConvPlan::from_json(const nlohmann::json& j, const std::string& origin) {
  auto fail = [&](const std::string& what) {
    throw std::runtime_error("kernel plan '" + origin + "': " + what);
  };
  if (!j.is_object() || j.value("format", std::string()) != kFormat)
    fail(std::string("not a kernel plan (expected \"format\": \"") + kFormat + "\")");
  if (j.value("version", 0) != kVersion)
    fail("version " + j.value("version", nlohmann::json()).dump() + ", this Tessera reads " +
         std::to_string(kVersion));
  if (!j.contains("shapes") || !j["shapes"].is_object()) fail("\"shapes\" must be an object");
  ConvPlan plan;
  for (const auto& [key, entry] : j["shapes"].items()) {
    if (!entry.is_object()) fail("shape '" + key + "' must be an object");
    ConvChoice c;
    for (const auto& [part, value] : entry.items()) {
      const std::string where = "kernel plan '" + origin + "', shape '" + key + "', " + part;
      if (part == "forward")
        c.forward = op_from_json(value, where);
      else if (part == "weight")
        c.weight = op_from_json(value, where);
      else if (part == "input")
        c.input = op_from_json(value, where);
      else
        fail("shape '" + key + "' has an unknown part '" + part + "' (forward, weight or input)");
    }
    plan.choices_[key] = c;
  }
  return plan;
}

void ConvPlan::save(const std::string& path) const {
  common::write_file_atomic(path, common::dump_json(to_json(), 2) + "\n");
}

ConvPlan ConvPlan::load(const std::string& path) {
  std::string text;
  try {
    text = common::read_file(path);
  } catch (const std::exception& e) {
    throw std::runtime_error("kernel plan '" + path + "': cannot be read (" + e.what() + ")");
  }
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error("kernel plan '" + path + "': not JSON (" + e.what() + ")");
  }
  return from_json(j, path);
}

std::vector<std::string> ConvPlan::describe() const {
  std::vector<std::string> out;
  auto part = [](const char* what, const ConvOpChoice& c) {
    if (!c.decided) return std::string();
    const int chosen = int(c.method);
    char buf[64];
    std::snprintf(buf, sizeof buf, ", %s %s %.1f ms", what, kMethodNames[chosen], c.ms[chosen]);
    std::string s = buf, others;
    for (int m = 0; m < kConvMethods; ++m) {
      if (m == chosen || c.ms[m] <= 0) continue;
      std::snprintf(buf, sizeof buf, "%s%s %.1f", others.empty() ? "" : ", ", kMethodNames[m],
                    c.ms[m]);
      others += buf;
    }
    return s + (others.empty() ? "" : " (" + others + ")");
  };
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& [key, c] : choices_) {
    const std::string parts =
        part("forward", c.forward) + part("weight", c.weight) + part("input", c.input);
    if (!parts.empty()) out.push_back(key + ":" + parts.substr(1));
  }
  return out;
}

}  // namespace tessera::ops
