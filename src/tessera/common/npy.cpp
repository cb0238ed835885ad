#include "tessera/common/npy.h"

#include <cstring>
#include <stdexcept>

#include "tessera/common/atomic_file.h"

namespace tessera::common {

void write_npy(const std::string& path, const std::vector<std::size_t>& shape, const float* data) {
  std::string dims;
  std::size_t count = 1;
  for (std::size_t d : shape) {
    dims += std::to_string(d) + ",";
    count *= d;
  }
  if (shape.size() > 1) dims.pop_back();  // numpy writes (3,) but (3, 4)
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  // The magic (6) + version (2) + length (2) + header + '\n' is padded with
  // spaces to a multiple of 64 bytes, as numpy does.
  const std::size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  std::string out = std::string("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>((header.size() >> 8) & 0xff);
  out += header;
  const std::size_t offset = out.size();
  out.resize(offset + count * sizeof(float));
  if (count) std::memcpy(&out[offset], data, count * sizeof(float));
  write_file_atomic(path, out);
}

NpyArray read_npy(const std::string& path) {
  const std::string bytes = read_file(path);
  auto bad = [&](const std::string& why) {
    return std::runtime_error("npy '" + path + "': " + why);
  };
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) throw bad("not an .npy file");
  const int major = static_cast<unsigned char>(bytes[6]);
  std::size_t header_len = 0, start = 0;
  if (major == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) throw bad("truncated header");
    header_len = 0;
    for (int i = 0; i < 4; ++i)
      header_len |= std::size_t(static_cast<unsigned char>(bytes[8 + i])) << (8 * i);
    start = 12;
  } else {
    throw bad("unsupported version " + std::to_string(major));
  }
  if (start + header_len > bytes.size()) throw bad("truncated header");
  const std::string header = bytes.substr(start, header_len);
  if (header.find("'<f4'") == std::string::npos) throw bad("dtype is not little-endian float32");
  if (header.find("'fortran_order': True") != std::string::npos)
    throw bad("Fortran order is not supported");
  const auto open = header.find('(');
  const auto close = header.find(')', open);
  if (open == std::string::npos || close == std::string::npos) throw bad("no shape in header");
  NpyArray a;
  std::size_t count = 1;
  std::string dims = header.substr(open + 1, close - open - 1);
  std::size_t pos = 0;
  while (pos < dims.size()) {
    while (pos < dims.size() && (dims[pos] == ' ' || dims[pos] == ',')) ++pos;
    if (pos >= dims.size()) break;
    std::size_t used = 0;
    const unsigned long long d = std::stoull(dims.substr(pos), &used);
    a.shape.push_back(d);
    count *= d;
    pos += used;
  }
  const std::size_t data_start = start + header_len;
  if (bytes.size() - data_start != count * sizeof(float))
    throw bad("data size does not match shape");
  a.data.resize(count);
  if (count) std::memcpy(a.data.data(), bytes.data() + data_start, count * sizeof(float));
  return a;
}

}  // namespace tessera::common
