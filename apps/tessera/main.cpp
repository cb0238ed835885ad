// tessera: learn embedding spaces for audio without labels (Tile2Vec with a
// triplet loss) and run the experiments that tune them.
#include <csignal>
#include <cstdio>
#include <exception>
#include <string>

#include <CLI/CLI.hpp>

#include "command_overview.h"
#include "commands.h"
#include "option_suggestions.h"
#include "tessera/common/allocator.h"
#include "version_report.h"

int main(int argc, char** argv) {
  // Past a file-size limit, let writes fail with EFBIG (reported like a full
  // disk) instead of the default SIGXFSZ killing the process mid-write.
  std::signal(SIGXFSZ, SIG_IGN);
  CLI::App app{"Tessera: self-supervised audio embeddings (Tile2Vec + triplet loss)"};
  // Training steps reuse the same large buffers: keep them mapped (see
  // allocator.h); "glibc" keeps glibc's own policy, for comparisons.
  std::string malloc_policy = "retain";
  app.add_option("--malloc", malloc_policy,
                 "retain (keep freed memory for the next training step; default) or glibc "
                 "(glibc's own policy); before the command: tessera --malloc glibc train ...")
      ->check(CLI::IsMember({"retain", "glibc"}));
  // Computed only when asked: it loads LibTorch's CUDA support to list GPUs.
  app.set_version_flag("--version", [] { return tessera::app::version_report(); });
  app.require_subcommand(0, 1);
  const std::vector<tessera::app::Command> commands = {
      tessera::app::add_synth_command(app),    tessera::app::add_dataset_info_command(app),
      tessera::app::add_features_command(app), tessera::app::add_cache_command(app),
      tessera::app::add_train_command(app),    tessera::app::add_sweep_command(app),
      tessera::app::add_report_command(app),   tessera::app::add_classify_command(app),
      tessera::app::add_embed_command(app),    tessera::app::add_neighbours_command(app),
      tessera::app::add_export_command(app),   tessera::app::add_bench_command(app),
  };
  std::string help_topic;
  CLI::App* help = app.add_subcommand("help", "list the commands, or one command's options");
  help->add_option("command", help_topic, "a command");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    if (dynamic_cast<const CLI::ExtrasError*>(&e))
      std::fputs(tessera::app::option_suggestions(app).c_str(), stderr);
    return code;
  } catch (const std::exception& e) {  // e.g. --device cuda without CUDA support
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  // Set once parsing is done and before any command allocates its buffers;
  // the settings are glibc's process-wide ones.
  if (malloc_policy == "retain") tessera::common::retain_freed_memory();
  try {
    for (auto& [cmd, run] : commands) {
      if (cmd->parsed()) return run();
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  if (help->parsed()) {
    if (help_topic.empty()) {
      std::fputs(tessera::app::command_overview(app).c_str(), stdout);
      return 0;
    }
    for (auto& [cmd, run] : commands) {
      if (cmd->get_name() == help_topic) {
        std::fputs(cmd->help("tessera").c_str(), stdout);
        return 0;
      }
    }
    std::fprintf(stderr, "error: help: no command '%s'\n\n%s", help_topic.c_str(),
                 tessera::app::command_overview(app).c_str());
    return 1;
  }
  // Bare `tessera`: the commands, and a non-zero exit as nothing ran.
  std::fputs(tessera::app::command_overview(app).c_str(), stdout);
  return 1;
}
