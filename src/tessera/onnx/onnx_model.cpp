#include "tessera/onnx/onnx_model.h"

#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "tessera/common/atomic_file.h"

namespace tessera::onnx {

struct OnnxModel::Impl {
  ::onnx::ModelProto model;
  ::onnx::GraphProto* graph = nullptr;
};

namespace {

void set_dims(::onnx::ValueInfoProto* v, const std::string& name,
              const std::vector<OnnxDim>& dims) {
  v->set_name(name);
  auto* t = v->mutable_type()->mutable_tensor_type();
  t->set_elem_type(::onnx::TensorProto::FLOAT);
  auto* shape = t->mutable_shape();
  for (const auto& d : dims) {
    auto* dim = shape->add_dim();
    if (const auto* n = std::get_if<std::int64_t>(&d))
      dim->set_dim_value(*n);
    else
      dim->set_dim_param(std::get<std::string>(d));
  }
}

std::vector<OnnxDim> dims_of(const ::onnx::ValueInfoProto& v) {
  std::vector<OnnxDim> dims;
  for (const auto& d : v.type().tensor_type().shape().dim()) {
    if (d.has_dim_param())
      dims.emplace_back(d.dim_param());
    else
      dims.emplace_back(std::int64_t(d.dim_value()));
  }
  return dims;
}

}  // namespace

OnnxModel::OnnxModel(const std::string& graph_name, int opset) : impl_(std::make_unique<Impl>()) {
  if (opset < 13 || opset > onnx_library_opset()) {
    throw std::invalid_argument("onnx: opset " + std::to_string(opset) + " is outside 13.." +
                                std::to_string(onnx_library_opset()) +
                                " (what this ONNX library can check)");
  }
  impl_->model.set_ir_version(::onnx::IR_VERSION);
  auto* op = impl_->model.add_opset_import();
  op->set_domain("");
  op->set_version(opset);
  impl_->graph = impl_->model.mutable_graph();
  impl_->graph->set_name(graph_name);
}

OnnxModel::~OnnxModel() = default;

std::string OnnxModel::fresh(const std::string& base) {
  const int n = used_[base]++;
  return n == 0 ? base : base + "_" + std::to_string(n);
}

void OnnxModel::add_input(const std::string& name, const std::vector<OnnxDim>& dims) {
  used_[name]++;
  set_dims(impl_->graph->add_input(), name, dims);
}

std::string OnnxModel::add_initializer(const std::string& name,
                                       const std::vector<std::int64_t>& dims, const float* values) {
  const std::string unique = fresh(name);
  auto* t = impl_->graph->add_initializer();
  t->set_name(unique);
  t->set_data_type(::onnx::TensorProto::FLOAT);
  std::int64_t count = 1;
  for (const auto d : dims) {
    t->add_dims(d);
    count *= d;
  }
  // Raw little-endian bytes: compact, and what every runtime reads.
  t->set_raw_data(std::string(reinterpret_cast<const char*>(values), sizeof(float) * count));
  return unique;
}

std::string OnnxModel::add_int64s(const std::string& name,
                                  const std::vector<std::int64_t>& values) {
  const std::string unique = fresh(name);
  auto* t = impl_->graph->add_initializer();
  t->set_name(unique);
  t->set_data_type(::onnx::TensorProto::INT64);
  t->add_dims(std::int64_t(values.size()));
  for (const auto v : values) t->add_int64_data(v);
  return unique;
}

std::string OnnxModel::add_int64_scalar(const std::string& name, std::int64_t value) {
  const std::string unique = fresh(name);
  auto* t = impl_->graph->add_initializer();
  t->set_name(unique);
  t->set_data_type(::onnx::TensorProto::INT64);
  t->add_int64_data(value);
  return unique;
}

std::string OnnxModel::add_node(const std::string& op, const std::vector<std::string>& inputs,
                                const std::vector<OnnxAttribute>& attributes) {
  auto* n = impl_->graph->add_node();
  n->set_op_type(op);
  const std::string out = fresh(op);
  n->set_name(out);
  for (const auto& in : inputs) n->add_input(in);
  n->add_output(out);
  for (const auto& a : attributes) {
    auto* p = n->add_attribute();
    p->set_name(a.name);
    if (const auto* i = std::get_if<std::int64_t>(&a.value)) {
      p->set_type(::onnx::AttributeProto::INT);
      p->set_i(*i);
    } else if (const auto* f = std::get_if<float>(&a.value)) {
      p->set_type(::onnx::AttributeProto::FLOAT);
      p->set_f(*f);
    } else if (const auto* v = std::get_if<std::vector<std::int64_t>>(&a.value)) {
      p->set_type(::onnx::AttributeProto::INTS);
      for (const auto x : *v) p->add_ints(x);
    } else {
      p->set_type(::onnx::AttributeProto::STRING);
      p->set_s(std::get<std::string>(a.value));
    }
  }
  return out;
}

void OnnxModel::add_output(const std::string& from, const std::string& name,
                           const std::vector<OnnxDim>& dims) {
  // An Identity names the output whatever node made it.
  auto* n = impl_->graph->add_node();
  n->set_op_type("Identity");
  n->set_name(name + "_output");
  n->add_input(from);
  n->add_output(name);
  set_dims(impl_->graph->add_output(), name, dims);
}

void OnnxModel::set_metadata(const std::string& key, const std::string& value) {
  for (auto& p : *impl_->model.mutable_metadata_props()) {
    if (p.key() == key) {
      p.set_value(value);
      return;
    }
  }
  auto* p = impl_->model.add_metadata_props();
  p->set_key(key);
  p->set_value(value);
}

void OnnxModel::set_producer(const std::string& name, const std::string& version) {
  impl_->model.set_producer_name(name);
  impl_->model.set_producer_version(version);
}

void OnnxModel::set_doc(const std::string& text) {
  impl_->model.set_doc_string(text);
}

std::string OnnxModel::serialise() const {
  try {
    ::onnx::checker::check_model(impl_->model);
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("onnx: the checker rejects the model: ") + e.what());
  }
  std::string bytes;
  if (!impl_->model.SerializeToString(&bytes))
    throw std::runtime_error("onnx: the model cannot be serialised (over 2 GB?)");
  return bytes;
}

std::size_t OnnxModel::write(const std::string& path) const {
  const std::string bytes = serialise();
  common::write_file_atomic(path, bytes);
  return bytes.size();
}

int onnx_library_opset() {
  const auto& map = ::onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map();
  const auto it = map.find("");
  return it == map.end() ? 0 : it->second.second;
}

OnnxSummary read_onnx_summary(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("onnx: cannot open '" + path + "'");
  ::onnx::ModelProto model;
  if (!model.ParseFromIstream(&in) || !model.has_graph())
    throw std::runtime_error("onnx: '" + path + "' is not an ONNX model");
  OnnxSummary s;
  for (const auto& p : model.metadata_props()) s.metadata[p.key()] = p.value();
  for (const auto& v : model.graph().input()) s.inputs.emplace_back(v.name(), dims_of(v));
  for (const auto& v : model.graph().output()) s.outputs.emplace_back(v.name(), dims_of(v));
  for (const auto& o : model.opset_import()) {
    if (o.domain().empty()) s.opset = o.version();
  }
  s.nodes = std::size_t(model.graph().node_size());
  for (const auto& n : model.graph().node()) s.ops.push_back(n.op_type());
  return s;
}

}  // namespace tessera::onnx
