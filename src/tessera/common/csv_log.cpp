#include "tessera/common/csv_log.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "tessera/common/atomic_file.h"

namespace tessera::common {

CsvLog::CsvLog(const std::string& path, const std::vector<std::string>& columns)
    : path_(path), columns_(columns.size()) {
  std::error_code ec;
  const bool fresh =
      !std::filesystem::exists(path, ec) || std::filesystem::file_size(path, ec) == 0;
  file_ = std::fopen(path.c_str(), "a");
  if (!file_)
    throw std::runtime_error("metrics: cannot open '" + path + "': " + std::strerror(errno));
  if (fresh) {
    std::string h;
    for (std::size_t i = 0; i < columns.size(); ++i) h += (i ? "," : "") + columns[i];
    std::fprintf(file_, "%s\n", h.c_str());
    std::fflush(file_);
  }
}

CsvLog::~CsvLog() {
  if (file_) std::fclose(file_);
}

CsvLog::CsvLog(CsvLog&& o) noexcept
    : path_(std::move(o.path_)), file_(o.file_), columns_(o.columns_) {
  o.file_ = nullptr;
}

CsvLog& CsvLog::operator=(CsvLog&& o) noexcept {
  if (this != &o) {
    if (file_) std::fclose(file_);
    path_ = std::move(o.path_);
    file_ = o.file_;
    columns_ = o.columns_;
    o.file_ = nullptr;
  }
  return *this;
}

void CsvLog::row(const std::vector<double>& values) {
  if (!file_) return;
  if (values.size() != columns_)
    throw std::logic_error("metrics: row width does not match header of " + path_);
  std::string line;
  char buf[64];
  for (std::size_t i = 0; i < values.size(); ++i) {
    // %.9g round-trips a float and keeps integers (steps, epochs) exact.
    std::snprintf(buf, sizeof buf, "%s%.9g", i ? "," : "", values[i]);
    line += buf;
  }
  line += '\n';
  if (std::fputs(line.c_str(), file_) < 0 || std::fflush(file_) != 0) {
    throw std::runtime_error("metrics: cannot write '" + path_ + "': " + std::strerror(errno));
  }
}

void CsvLog::truncate(const std::string& path, double max_key) {
  std::ifstream in(path);
  if (!in) return;
  std::string line, out;
  bool header = true;
  while (std::getline(in, line)) {
    if (header) {
      out += line + "\n";
      header = false;
      continue;
    }
    if (line.empty()) continue;
    char* end = nullptr;
    const double key = std::strtod(line.c_str(), &end);
    if (end == line.c_str() || key > max_key) continue;
    out += line + "\n";
  }
  common::write_file_atomic(path, out);
}

std::vector<std::vector<double>> CsvLog::read(const std::string& path,
                                              std::vector<std::string>* header) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("metrics: cannot open '" + path + "'");
  std::vector<std::vector<double>> rows;
  std::string line;
  bool first = true;
  while (std::getline(in, line)) {
    if (first) {
      first = false;
      if (header) {
        header->clear();
        std::stringstream ss(line);
        std::string cell;
        while (std::getline(ss, cell, ',')) header->push_back(cell);
      }
      continue;
    }
    if (line.empty()) continue;
    std::vector<double> row;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) row.push_back(std::strtod(cell.c_str(), nullptr));
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace tessera::common
