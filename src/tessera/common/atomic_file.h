// Crash-safe file writes: the content goes to a temporary file beside the
// target, is fsync'ed, renamed over the target and the directory is fsync'ed.
// A reader therefore sees the old file or the new one, never half of one, and
// a full disk leaves the previous version in place.
#pragma once

#include <cstddef>
#include <string>

namespace tessera::common {

// Throws std::runtime_error "write '<path>': <reason>" on any failure, after
// removing the temporary file.
void write_file_atomic(const std::string& path, const void* data, std::size_t size);
void write_file_atomic(const std::string& path, const std::string& content);

// Creates the directory and its parents; throws naming the path on failure.
void make_dirs(const std::string& path);

// The whole file as bytes; throws "read '<path>': <reason>".
std::string read_file(const std::string& path);

}  // namespace tessera::common
