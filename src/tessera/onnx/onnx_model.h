// An ONNX model under construction, on Debian's ONNX library (libonnx): its
// protobuf schema, and its checker run on every file written. Torch-free on
// purpose: LibTorch's include folder carries another protobuf's headers, so
// no file that sees <onnx/...> may include LibTorch (export/ feeds this
// plain arrays).
//
//   OnnxModel m("tessera", 17);
//   m.add_input("logmel", {"batch", 1, 198, 128});
//   const std::string w = m.add_initializer("w", {16, 1, 7, 7}, data);
//   const std::string y = m.add_node("Conv", {"logmel", w}, {OnnxAttribute::ints("strides", {2,
//   2})}); m.add_output(y, "embedding", {"batch", 16}); m.write("model.onnx");   // checked, then
//   written atomically
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace tessera::onnx {

// A dimension: fixed, or named (dynamic), like "batch".
using OnnxDim = std::variant<std::int64_t, std::string>;

struct OnnxAttribute {
  std::string name;
  std::variant<std::int64_t, float, std::vector<std::int64_t>, std::string> value;
  static OnnxAttribute integer(const std::string& n, std::int64_t v) { return {n, v}; }
  static OnnxAttribute real(const std::string& n, float v) { return {n, v}; }
  static OnnxAttribute ints(const std::string& n, std::vector<std::int64_t> v) {
    return {n, std::move(v)};
  }
  static OnnxAttribute text(const std::string& n, std::string v) { return {n, std::move(v)}; }
};

class OnnxModel {
 public:
  // opset: of the default domain; the checker knows opsets up to the
  // library's own (libonnx 1.12: 17).
  OnnxModel(const std::string& graph_name, int opset);
  ~OnnxModel();
  OnnxModel(const OnnxModel&) = delete;
  OnnxModel& operator=(const OnnxModel&) = delete;

  // A float input of the graph.
  void add_input(const std::string& name, const std::vector<OnnxDim>& dims);
  // A float constant; returns its name (made unique).
  std::string add_initializer(const std::string& name, const std::vector<std::int64_t>& dims,
                              const float* values);
  // An int64 constant (shapes, axes, pads).
  std::string add_int64s(const std::string& name, const std::vector<std::int64_t>& values);
  // An int64 scalar (0-d) constant, as STFT's frame_step and frame_length.
  std::string add_int64_scalar(const std::string& name, std::int64_t value);
  // A node of the default domain with one output, returned (a fresh name).
  std::string add_node(const std::string& op, const std::vector<std::string>& inputs,
                       const std::vector<OnnxAttribute>& attributes = {});
  // Names value `from` as the graph output `name`, float, of these dims.
  void add_output(const std::string& from, const std::string& name,
                  const std::vector<OnnxDim>& dims);
  void set_metadata(const std::string& key, const std::string& value);
  void set_producer(const std::string& name, const std::string& version);
  void set_doc(const std::string& text);

  // Runs ONNX's checker (throws std::runtime_error with its message), then
  // writes the model to `path` atomically: a failure leaves no file.
  // Returns the bytes written.
  std::size_t write(const std::string& path) const;
  // The checked, serialised model.
  std::string serialise() const;

 private:
  std::string fresh(const std::string& base);
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::map<std::string, int> used_;
};

// The ONNX library's newest opset of the default domain.
int onnx_library_opset();

// Reads a model file back: its metadata, graph input and output names and
// their dims (a dynamic dim as its name). Throws naming the file when it is
// not an ONNX model.
struct OnnxSummary {
  std::map<std::string, std::string> metadata;
  std::vector<std::pair<std::string, std::vector<OnnxDim>>> inputs, outputs;
  std::int64_t opset = 0;
  std::size_t nodes = 0;
  std::vector<std::string> ops;  // in graph order
};
OnnxSummary read_onnx_summary(const std::string& path);

}  // namespace tessera::onnx
