// tessera: learn embedding spaces for audio without labels (Tile2Vec with a
// triplet loss) and run the experiments that tune them.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include <CLI/CLI.hpp>

#include "commands.h"
#include "tessera/common/allocator.h"
#include "tessera/version.h"

int main(int argc, char** argv) {
  // Past a file-size limit, let writes fail with EFBIG (reported like a full
  // disk) instead of the default SIGXFSZ killing the process mid-write.
  std::signal(SIGXFSZ, SIG_IGN);
  // Training steps reuse the same large buffers: keep them mapped (see
  // allocator.h). TESSERA_MALLOC=default keeps glibc's own policy.
  const char* malloc_policy = std::getenv("TESSERA_MALLOC");
  if (!malloc_policy || std::string(malloc_policy) != "default")
    tessera::common::retain_freed_memory();
  CLI::App app{"Tessera: self-supervised audio embeddings (Tile2Vec + triplet loss)"};
  app.set_version_flag("--version", std::string("tessera ") + tessera::kVersion);
  app.require_subcommand(1);
  const std::vector<tessera::app::Command> commands = {
      tessera::app::add_synth_command(app),    tessera::app::add_dataset_info_command(app),
      tessera::app::add_features_command(app), tessera::app::add_cache_command(app),
      tessera::app::add_train_command(app),    tessera::app::add_sweep_command(app),
      tessera::app::add_report_command(app),   tessera::app::add_classify_command(app),
      tessera::app::add_embed_command(app),    tessera::app::add_neighbours_command(app),
      tessera::app::add_bench_command(app),
  };
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {  // e.g. --device cuda without CUDA support
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  try {
    for (auto& [cmd, run] : commands) {
      if (cmd->parsed()) return run();
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
