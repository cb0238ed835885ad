// libFuzzer target: DCASE fold lists (labelled and unlabelled).
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>

#include "tessera/data/dcase_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string dir = "/tmp/tessera_fuzz_fold_" + std::to_string(::getpid());
  static const bool made = [] { return ::mkdir(dir.c_str(), 0755) == 0 || errno == EEXIST; }();
  (void)made;
  const std::string path = dir + "/fold1_train.txt";
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  for (bool labelled : {true, false}) {
    try {
      tessera::data::SkipReport skipped;
      tessera::data::read_fold_list(path, dir, tessera::data::dcase_labels(), labelled, skipped);
      (void)skipped.summary();
    } catch (const std::runtime_error&) {
    }
  }
  return 0;
}
