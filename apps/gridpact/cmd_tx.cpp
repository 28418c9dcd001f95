#include "app.hpp"

namespace gridpact::cli {

void add_tx_commands(CLI::App& app) {
  auto* tx = app.add_subcommand("tx", "Sign and submit a transaction");
  tx->require_subcommand(1);
  add_submit_file_command(*tx);
}

}  // namespace gridpact::cli
