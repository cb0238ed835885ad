#include "tessera/tensorboard/record_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <stdexcept>

#include "tessera/common/log.h"
#include "tessera/tensorboard/crc32c.h"

namespace tessera::tensorboard {
namespace {

void append_le(std::string& out, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(char((v >> (8 * i)) & 0xFF));
}

}  // namespace

void RecordWriterOptions::validate() const {
  if (!(flush_seconds >= 0)) throw std::invalid_argument("tensorboard: flush_seconds must be >= 0");
}

std::string frame_record(const std::string& data) {
  std::string out;
  out.reserve(data.size() + 16);
  append_le(out, data.size(), 8);
  append_le(out, masked_crc32c(out.data(), 8), 4);
  out += data;
  append_le(out, masked_crc32c(data.data(), data.size()), 4);
  return out;
}

RecordWriter::RecordWriter(std::string path, RecordWriterOptions options)
    : path_(std::move(path)), options_(options) {
  options_.validate();
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) throw std::runtime_error("create '" + path_ + "': " + std::strerror(errno));
  if (options_.flush_seconds > 0) flusher_ = std::thread([this] { flush_periodically(); });
}

RecordWriter::~RecordWriter() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (flusher_.joinable()) flusher_.join();
  try {
    flush();
  } catch (const std::exception& e) {
    common::log_warning(e.what());
  }
  ::close(fd_);
}

void RecordWriter::write(const std::string& data) {
  const std::string framed = frame_record(data);
  std::lock_guard<std::mutex> lock(mutex_);
  if (!background_error_.empty()) throw std::runtime_error(background_error_);
  pending_ += framed;
  if (options_.flush_seconds == 0) flush_locked();
}

void RecordWriter::flush() {
  std::lock_guard<std::mutex> lock(mutex_);
  flush_locked();
}

void RecordWriter::flush_periodically() {
  const auto interval = std::chrono::duration<double>(options_.flush_seconds);
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, interval, [this] { return stopping_; });
    if (stopping_ || pending_.empty()) continue;
    try {
      flush_locked();
    } catch (const std::exception& e) {
      background_error_ = e.what();
      return;
    }
  }
}

void RecordWriter::flush_locked() {
  std::size_t done = 0;
  while (done < pending_.size()) {
    const ssize_t n = ::write(fd_, pending_.data() + done, pending_.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      // Keep what did not reach the file for a later flush; a reader stops
      // at a torn last record (its length or CRC fails) and keeps the rest.
      pending_.erase(0, done);
      throw std::runtime_error("write '" + path_ + "': " + std::strerror(err));
    }
    done += std::size_t(n);
  }
  pending_.clear();
}

}  // namespace tessera::tensorboard
