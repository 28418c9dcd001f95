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
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "base/error.hpp"
#include "base/hex.hpp"
#include "crypto/keys.hpp"

namespace gridpact::cli {

// A transaction to sign: its type and its payload's canonical bytes.
struct Payload {
  Payload() = default;
  Payload(uint16_t t, Bytes b) : type(t), bytes(std::move(b)) {}
  uint16_t type = 0;
  Bytes bytes;
  // Set instead when the command only shows something (e.g. a preview with --print): the
  // host prints it and submits nothing.
  std::optional<nlohmann::json> print_instead;
};

// What a transaction command may ask of the host while it builds its payload: the chain's
// id and the signer's account (payloads that sign or prove something for them), and files.
struct TxContext {
  std::function<Result<std::string>()> chain_id;  // asked of the node
  std::function<Result<PublicKey>()> signer;      // from the key file
  // A file's bytes, or NOT_FOUND "cannot read PATH" (modules read no files themselves:
  // scripts/source-dependencies.json).
  std::function<Result<Bytes>(const std::string& path)> read_file;
};

// A query command's access to the node's API: GET a path, get JSON back.
using Get = std::function<Result<nlohmann::json>(const std::string& path)>;

class CommandHost {
 public:
  virtual ~CommandHost() = default;
  // Adds `gridpact tx <name>` with the shared options; once parsed, `make` builds the
  // payload from the options the module adds to the returned subcommand (an error is
  // printed and exits 2 for bad input, 1 otherwise, as every command does).
  virtual CLI::App& tx(const std::string& name, const std::string& help,
                       std::function<Result<Payload>(const TxContext&)> make) = 0;
  CLI::App& tx(const std::string& name, const std::string& help,
               std::function<Result<Payload>()> make) {
    return tx(name, help, [make = std::move(make)](const TxContext&) { return make(); });
  }
  // Adds `gridpact query <name>`; once parsed, `run` answers with the JSON to print, from
  // the node's API through `get`.
  virtual CLI::App& query(const std::string& name, const std::string& help,
                          std::function<Result<nlohmann::json>(const Get& get)> run) = 0;
  // The common case: `path` gives the API path to GET, with its query string
  // ("/v1/market/book?period=3"), and the answer is printed.
  CLI::App& query(const std::string& name, const std::string& help,
                  std::function<Result<std::string>()> path) {
    return query(name, help, [path = std::move(path)](const Get& get) -> Result<nlohmann::json> {
      auto p = path();
      if (!p) return p.status();
      return get(*p);
    });
  }
};

}  // namespace gridpact::cli
