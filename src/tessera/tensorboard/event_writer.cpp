#include "tessera/tensorboard/event_writer.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "tessera/common/atomic_file.h"
#include "tessera/tensorboard/tensorboard.pb.h"

namespace tessera::tensorboard {
namespace {

double wall_time() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0 || !buf[0]) return "localhost";
  return buf;
}

// events.out.tfevents.<seconds>.<host>, with a counter appended when a
// writer of the same second already took the name.
std::string new_event_file(const std::string& logdir) {
  const std::string base = logdir + "/events.out.tfevents." +
                           std::to_string(std::int64_t(wall_time())) + "." + host_name();
  std::string path = base;
  for (int n = 1; std::filesystem::exists(path); ++n) path = base + "." + std::to_string(n);
  return path;
}

}  // namespace

struct EventWriter::Impl {
  explicit Impl(const std::string& path, RecordWriterOptions options) : file(path, options) {}
  RecordWriter file;

  void write(pb::Event& e, std::int64_t step) {
    e.set_wall_time(wall_time());
    e.set_step(step);
    file.write(e.SerializeAsString());
  }
  pb::Summary::Value* value(pb::Event& e, const std::string& tag) {
    pb::Summary::Value* v = e.mutable_summary()->add_value();
    v->set_tag(tag);
    return v;
  }
};

EventWriter::EventWriter(const std::string& logdir, RecordWriterOptions options) {
  common::make_dirs(logdir);
  impl_ = std::make_unique<Impl>(new_event_file(logdir), options);
  pb::Event e;
  e.set_file_version("brain.Event:2");
  impl_->write(e, 0);
  impl_->file.flush();
}

EventWriter::~EventWriter() = default;

void EventWriter::scalar(const std::string& tag, std::int64_t step, double value) {
  pb::Event e;
  impl_->value(e, tag)->set_simple_value(float(value));
  impl_->write(e, step);
}

void EventWriter::image(const std::string& tag, std::int64_t step, const Image& image) {
  pb::Event e;
  pb::Summary::Image* im = impl_->value(e, tag)->mutable_image();
  im->set_height(image.height);
  im->set_width(image.width);
  im->set_colorspace(3);
  im->set_encoded_image_string(image.png);
  impl_->write(e, step);
}

void EventWriter::text(const std::string& tag, std::int64_t step, const std::string& markdown) {
  pb::Event e;
  pb::Summary::Value* v = impl_->value(e, tag);
  v->mutable_metadata()->mutable_plugin_data()->set_plugin_name("text");
  pb::TensorProto* t = v->mutable_tensor();
  t->set_dtype(pb::DT_STRING);
  t->mutable_tensor_shape();  // a scalar: no dimensions
  t->add_string_val(markdown);
  impl_->write(e, step);
}

void EventWriter::session_start(std::int64_t step) {
  pb::Event e;
  e.mutable_session_log()->set_status(pb::SessionLog::START);
  impl_->write(e, step);
  impl_->file.flush();
}

void EventWriter::flush() {
  impl_->file.flush();
}

const std::string& EventWriter::path() const {
  return impl_->file.path();
}

}  // namespace tessera::tensorboard
