// Reading TFRecord files back in the tests, written from TensorFlow's
// description of the framing: little-endian uint64 length, masked CRC-32C
// of it, the data, masked CRC-32C of the data. Every CRC is checked; a torn
// last record ends the list, as TensorBoard's reader ends there.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tessera/tensorboard/crc32c.h"

namespace tessera::tensorboard::testing {

inline std::uint64_t little_endian(const std::string& s, std::size_t at, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i)
    v |= std::uint64_t(static_cast<unsigned char>(s[at + i])) << (8 * i);
  return v;
}

inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline std::vector<std::string> read_records(const std::string& bytes) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at + 12 <= bytes.size()) {
    const std::uint64_t n = little_endian(bytes, at, 8);
    EXPECT_EQ(little_endian(bytes, at + 8, 4), masked_crc32c(bytes.data() + at, 8))
        << "length CRC at byte " << at;
    if (at + 12 + n + 4 > bytes.size()) break;
    const std::string data = bytes.substr(at + 12, n);
    EXPECT_EQ(little_endian(bytes, at + 12 + n, 4), masked_crc32c(data.data(), data.size()))
        << "data CRC at byte " << at;
    out.push_back(data);
    at += 12 + n + 4;
  }
  return out;
}

}  // namespace tessera::tensorboard::testing
