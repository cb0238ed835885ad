// Append-only CSV metrics with a header, flushed after every row so that a
// crash loses at most the row being written. On resume, rows past the
// checkpoint are dropped so the file equals an uninterrupted run's.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

namespace tessera::common {

class CsvLog {
 public:
  CsvLog() = default;
  // Opens for appending; writes the header if the file is new or empty.
  CsvLog(const std::string& path, const std::vector<std::string>& columns);
  ~CsvLog();
  CsvLog(CsvLog&& other) noexcept;
  CsvLog& operator=(CsvLog&& other) noexcept;

  void row(const std::vector<double>& values);
  const std::string& path() const { return path_; }

  // Keeps the header and the rows whose first column is <= max_key, then
  // rewrites the file atomically.
  static void truncate(const std::string& path, double max_key);
  // Rows as numbers, header skipped (for tests, reports and the sweep).
  static std::vector<std::vector<double>> read(const std::string& path,
                                               std::vector<std::string>* header = nullptr);

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
  std::size_t columns_ = 0;
};

}  // namespace tessera::common
