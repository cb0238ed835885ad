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
    : path_(std::move(path)), options_(options), last_flush_(std::chrono::steady_clock::now()) {
  options_.validate();
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) throw std::runtime_error("create '" + path_ + "': " + std::strerror(errno));
}

RecordWriter::~RecordWriter() {
  try {
    flush();
  } catch (const std::exception& e) {
    common::log_warning(e.what());
  }
  if (fd_ >= 0) ::close(fd_);
}

void RecordWriter::write(const std::string& data) {
  pending_ += frame_record(data);
  const double since =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - last_flush_).count();
  if (since >= options_.flush_seconds) flush();
}

void RecordWriter::flush() {
  last_flush_ = std::chrono::steady_clock::now();
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
