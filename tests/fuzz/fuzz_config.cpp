// libFuzzer target: the config parser and validator, and --set overrides.
// Any input must end in a value or a std::invalid_argument, never a crash.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "tessera/study/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_discarded()) {
    try {
      tessera::study::Config c = tessera::study::Config::from_json(j, "fuzz");
      c.validate();
      (void)c.tile_frames();
    } catch (const std::invalid_argument&) {
    }
  }
  try {
    tessera::study::Config c;
    c.apply_override(text);
    c.validate();
  } catch (const std::invalid_argument&) {
  }
  return 0;
}
