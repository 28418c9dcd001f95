// gridpact: the node, its client and its tools in one executable.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "app.hpp"
#include "base/memory.hpp"
#include "client.hpp"
#include "meter_cli.hpp"
#include "modules/agreements/cli.hpp"
#include "modules/bank/cli.hpp"
#include "modules/governance/cli.hpp"
#include "modules/market/cli.hpp"
#include "modules/meters/cli.hpp"
#include "modules/tokens/cli.hpp"

int main(int argc, char** argv) {
  gridpact::tune_memory();
  CLI::App app{"GridPact: a peer-to-peer energy marketplace on a permissioned ledger"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "gridpact 0.1.0");
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  spdlog::set_default_logger(spdlog::stderr_color_mt("gridpact"));
  app.add_option_function<std::string>(
         "--cacert", [](const std::string& path) { gridpact::cli::ApiClient::set_ca_file(path); },
         "CA file to verify a node's https:// API with (before the command; default: the "
         "system's CAs)")
      ->envname("GRIDPACT_CACERT");
  gridpact::cli::add_node_command(app);
  gridpact::cli::add_tx_commands(app);
  gridpact::cli::add_query_commands(app);
  // The modules' own commands (src/cli/commands.hpp), in the order their help lists them.
  gridpact::cli::add_module_commands(app, gridpact::bank::add_commands);
  gridpact::cli::add_verify_commands(app);
  gridpact::cli::add_demo_command(app);
  gridpact::cli::add_keys_commands(app);
  gridpact::cli::add_module_commands(app, gridpact::agreements::add_commands);
  gridpact::cli::add_read_model_queries(app);
  gridpact::cli::add_db_commands(app);
  gridpact::cli::add_attest_commands(app);
  gridpact::cli::add_module_commands(app, [](gridpact::cli::CommandHost& host) {
    gridpact::meters::add_commands(host, gridpact::cli::meter_platforms());
  });
  gridpact::cli::add_meter_agent_commands(app);
  gridpact::cli::add_market_commands(app);
  gridpact::cli::add_module_commands(app, gridpact::governance::add_commands);
  gridpact::cli::add_module_commands(app, gridpact::tokens::add_commands);
  gridpact::cli::add_module_commands(app, gridpact::market::add_commands);
  gridpact::cli::add_codes_command(app);
  gridpact::cli::add_simulate_command(app);
  gridpact::cli::add_schema_command(app);
  gridpact::cli::add_signing_options(app);  // last: it adds to every transaction command
  try {
    app.parse(argc, argv);
  } catch (const CLI::Error& e) {
    int rc = app.exit(e);  // a command's own failure arrives as RuntimeError(rc)
    return e.get_name() == "RuntimeError" || rc == 0 ? rc : 2;
  } catch (const gridpact::Error& e) {
    return gridpact::cli::fail(e.status());
  }
  return 0;
}
