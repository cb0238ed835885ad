#include "config_args.h"

#include "tessera/common/log.h"

namespace tessera::app {

void ConfigArgs::add_to(CLI::App* cmd, bool required) {
  auto* opt = cmd->add_option("--config,-c", path, "JSON config (params.json keys)");
  if (required) opt->required();
  cmd->add_option("--set", overrides, "override a config key: --set key=value (repeatable)");
}

study::Config load_config(const ConfigArgs& args) {
  study::Config c = args.path.empty() ? study::Config{} : study::Config::load(args.path);
  for (const auto& o : args.overrides) c.apply_override(o);
  c.validate();
  common::set_log_level(common::parse_log_level(c.log_level));
  if (c.use_profiler) common::log_info("use_profiler is accepted for compatibility and ignored");
  return c;
}

}  // namespace tessera::app
