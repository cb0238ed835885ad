#pragma once

#include "commands.h"
#include "tessera/common/config.h"

namespace tessera::app {

// The effective config of a command: file (or defaults), then overrides,
// then validation. Errors name the file or the key.
common::Config load_config(const ConfigArgs& args);

}  // namespace tessera::app
