#pragma once

#include "commands.h"
#include "tessera/study/config.h"

namespace tessera::app {

// The effective config of a command: file (or defaults), then overrides,
// then validation. Errors name the file or the key.
study::Config load_config(const ConfigArgs& args);

}  // namespace tessera::app
