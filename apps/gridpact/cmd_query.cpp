#include "app.hpp"
#include "client.hpp"

namespace gridpact::cli {

void add_query_commands(CLI::App& app) {
  auto* q = app.add_subcommand("query", "Read from a node's API");
  q->require_subcommand(1);
  auto node = std::make_shared<std::string>("http://127.0.0.1:8080");
  q->add_option("--node", *node, "Node API URL");

  auto run = [node](const std::string& path) {
    ApiClient client(*node);
    auto r = client.get(path);
    if (!r) finish(fail(r.status()));
    print_json(*r);
  };
  auto arg = std::make_shared<std::string>();

  q->add_subcommand("health", "Node health and chain id")->callback([run] { run("/v1/health"); });
  q->add_subcommand("chain", "Chain parameters and transaction types")->callback([run] {
    run("/v1/chain");
  });
  q->add_subcommand("params", "Every module parameter's dotted name and current value")
      ->callback([run] { run("/v1/params"); });
  auto* account = q->add_subcommand("account", "An account, with state proofs");
  account->add_option("account", *arg, "Public key hex")->required();
  account->callback([run, arg] { run("/v1/accounts/" + *arg); });
  auto* block = q->add_subcommand("block", "A block by height, or 'latest'");
  block->add_option("height", *arg, "Height")->required();
  block->callback([run, arg] { run("/v1/blocks/" + *arg); });
  auto* tx = q->add_subcommand("tx", "A transaction with its receipt and receipt bundle");
  tx->add_option("id", *arg, "Transaction id hex")->required();
  tx->callback([run, arg] { run("/v1/tx/" + *arg); });
  auto* mod = q->add_subcommand("module", "Any module query: MODULE/PATH, e.g. bank/supply");
  mod->add_option("path", *arg, "MODULE/PATH")->required();
  mod->callback([run, arg] { run("/v1/" + *arg); });
}

}  // namespace gridpact::cli
