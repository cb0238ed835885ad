// TFRecord framing, the container of TensorBoard's event files: each record
// is its length (uint64, little-endian), the masked CRC-32C of those 8
// bytes, the data, and the masked CRC-32C of the data (crc32c.h).
//
// Records are buffered and written out by a background thread every
// `flush_seconds`, on flush() and on destruction, so a live run is visible
// within that time and a crash (kill -9 included) loses at most the records
// of that last interval, also when the run then stalls (an evaluation, a
// slow data pipeline). A reader reads whole records up to the last one
// written out.
//
//   RecordWriter w("run/tensorboard/events.out.tfevents.1700000000.host", {});
//   w.write(serialized_event);
#pragma once

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace tessera::tensorboard {

struct RecordWriterOptions {
  double flush_seconds = 2.0;  // 0: write every record out at once
  void validate() const;
};

// One record as it lies in the file.
std::string frame_record(const std::string& data);

class RecordWriter {
 public:
  // Creates `path`, which must not exist yet (it throws naming the path).
  RecordWriter(std::string path, RecordWriterOptions options);
  ~RecordWriter();
  RecordWriter(const RecordWriter&) = delete;
  RecordWriter& operator=(const RecordWriter&) = delete;

  void write(const std::string& data);
  // Writes the buffered records out; throws "write '<path>': <reason>", and
  // so does the next write() after the background thread failed.
  void flush();
  const std::string& path() const { return path_; }

 private:
  void flush_locked();
  void flush_periodically();

  std::string path_;
  RecordWriterOptions options_;
  int fd_ = -1;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::string pending_;
  std::string background_error_;
  std::thread flusher_;
};

}  // namespace tessera::tensorboard
