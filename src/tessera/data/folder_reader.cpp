#include "tessera/data/folder_reader.h"

#include <algorithm>
#include <stdexcept>

namespace tessera::data {
namespace fs = std::filesystem;

bool is_audio_file(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
  for (const char* e : {".wav", ".flac", ".ogg", ".oga", ".opus", ".aif", ".aiff", ".mp3"}) {
    if (ext == e) return true;
  }
  return false;
}

FolderListing read_folder(const std::string& root) {
  std::error_code ec;
  if (root.empty()) throw std::runtime_error("folder dataset: unlabelled_dataset_path is empty");
  if (!fs::is_directory(root, ec)) {
    throw std::runtime_error("folder dataset: '" + root + "' is not a directory");
  }
  FolderListing out;
  std::vector<fs::path> files;
  fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec);
  if (ec) throw std::runtime_error("folder dataset: cannot list '" + root + "': " + ec.message());
  for (const fs::recursive_directory_iterator end; it != end; it.increment(ec)) {
    if (ec) throw std::runtime_error("folder dataset: cannot list '" + root + "': " + ec.message());
    if (!it->is_regular_file(ec)) continue;
    if (is_audio_file(it->path()))
      files.push_back(it->path());
    else
      ++out.other_files;
  }
  std::sort(files.begin(), files.end());
  for (const fs::path& f : files) {
    Recording r;
    r.path = f.string();
    r.name = fs::relative(f, root, ec).string();
    if (ec || r.name.empty()) r.name = f.filename().string();
    out.recordings.push_back(r);
  }
  if (out.recordings.empty()) {
    throw std::runtime_error("folder dataset: '" + root + "' holds no audio file (" +
                             std::to_string(out.other_files) + " other files)");
  }
  return out;
}

}  // namespace tessera::data
