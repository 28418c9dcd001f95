// How a module declares its commands of the `gridpact` command line, `gridpact tx <name>`
// and `gridpact query <name>`, without knowing keys, nodes or HTTP.
//
// A module's cli part (src/modules/<name>/cli.cpp, target gridpact_<name>_cli) adds a
// subcommand through a CommandHost, adds the subcommand's own options, and turns them into
// a payload (transaction type + canonical bytes) or an API path. The command line
// (apps/gridpact) is the host: it declares the shared options once (--node, --key,
// --no-wait for transactions; the query command's --node), signs with the key file,
// submits, waits for the receipt and prints. For a new module:
//
//   void add_commands(cli::CommandHost& host) {
//     auto a = std::make_shared<VoteArgs>();
//     auto& vote = host.tx("vote", "Vote on a proposal", [a]() -> Result<cli::Payload> {
//       return cli::Payload{kVote, encode(VotePayload{a->proposal, a->yes})};
//     });
//     vote.add_option("--proposal", a->proposal, "Proposal id")->required();
//     ...
//   }
//
// then call add_commands from apps/gridpact/main.cpp (add_module_commands) and link the
// target into apps/gridpact.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

#include "base/error.hpp"
#include "base/hex.hpp"

namespace gridpact::cli {

// A transaction to sign: its type and its payload's canonical bytes.
struct Payload {
  uint16_t type = 0;
  Bytes bytes;
};

class CommandHost {
 public:
  virtual ~CommandHost() = default;
  // Adds `gridpact tx <name>` with the shared options; once parsed, `make` builds the
  // payload from the options the module adds to the returned subcommand (an error is
  // printed and exits 2 for bad input, 1 otherwise, as every command does).
  virtual CLI::App& tx(const std::string& name, const std::string& help,
                       std::function<Result<Payload>()> make) = 0;
  // Adds `gridpact query <name>`; once parsed, `path` gives the API path to GET, with its
  // query string ("/v1/market/book?period=3"), and the answer is printed as JSON.
  virtual CLI::App& query(const std::string& name, const std::string& help,
                          std::function<Result<std::string>()> path) = 0;
};

}  // namespace gridpact::cli
