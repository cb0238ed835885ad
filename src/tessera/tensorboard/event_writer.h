// TensorBoard's event files for one run: `events.out.tfevents.<seconds>.<host>`
// in a log directory, holding Event protobufs (tensorboard.proto) in TFRecord
// framing (record_writer.h). `tensorboard --logdir DIR` reads them as the run
// goes; flushing is bounded in time (RecordWriterOptions).
//
// Each writer starts a file of its own. A run that resumes calls
// session_start(s) first: TensorBoard's reader then drops what the earlier
// process wrote for steps >= s, so a resumed run shows no step twice.
//
//   tensorboard::EventWriter tb(run_dir + "/tensorboard", {});
//   tb.scalar("train/loss", step, loss);
//   tb.text("config", 0, "```json\n" + config + "\n```");
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "tessera/tensorboard/png.h"
#include "tessera/tensorboard/record_writer.h"

namespace tessera::tensorboard {

class EventWriter {
 public:
  // Creates the directory and a new event file in it, whose first record
  // names the format version, as TensorBoard expects.
  EventWriter(const std::string& logdir, RecordWriterOptions options);
  ~EventWriter();
  EventWriter(const EventWriter&) = delete;
  EventWriter& operator=(const EventWriter&) = delete;

  void scalar(const std::string& tag, std::int64_t step, double value);
  void image(const std::string& tag, std::int64_t step, const Image& image);
  // Markdown, shown by TensorBoard's text plugin.
  void text(const std::string& tag, std::int64_t step, const std::string& markdown);
  // A (re)start at `step`: the reader drops earlier files' events of steps
  // >= step.
  void session_start(std::int64_t step);
  void flush();
  const std::string& path() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tessera::tensorboard
