// The interface between the chain engine and the application modules (bank, meters,
// market, ...). The engine orders, authenticates and stores; a module owns a range of
// transaction types, the state keys under its own prefix, its handlers and its queries.
// Modules see only StateReader / StateOverlay: no sockets, no disks, no clocks but the
// block's.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"
#include "ledger/block.hpp"
#include "ledger/collections.hpp"
#include "ledger/params.hpp"
#include "ledger/state.hpp"

namespace gridpact {

using json = nlohmann::json;

struct BlockInfo {
  std::string chain_id;
  uint64_t height = 0;
  uint64_t time_ms = 0;
};

struct TxContext {
  const BlockInfo& block;
  const Transaction& tx;
  Hash32 tx_id;
  StateOverlay& state;         // discarded if the handler returns an error
  std::vector<Event>& events;  // recorded in the receipt on success
};

struct BlockContext {
  const BlockInfo& block;
  StateOverlay& state;
  std::vector<Event>& events;  // recorded in the block's end-of-block receipt
};

// The accounts a development chain starts with, for the modules' default genesis sections.
struct DevelopmentAccounts {
  PublicKey issuer;  // mints, and stands in for every authority of a development chain
  std::vector<std::pair<PublicKey, uint64_t>> balances;
};

struct TxTypeInfo {
  uint16_t type;
  std::string_view name;  // e.g. "bank/transfer"
};

class Module {
 public:
  virtual ~Module() = default;
  virtual std::string_view name() const = 0;
  virtual std::vector<TxTypeInfo> tx_types() const = 0;

  // Writes the module's initial state from its section of the genesis document, after
  // validating it (BAD_GENESIS).
  virtual Status init_genesis(StateOverlay& state, const json& section) = 0;
  // The module's section of a development chain's genesis document: TOML, its [name]
  // table first, or "" for none. init_genesis accepts it.
  virtual std::string default_genesis(const DevelopmentAccounts&) const { return {}; }
  // Stateless check run by the mempool before a transaction is accepted (payload decodes,
  // fields in range). Executing still re-checks everything against state.
  virtual Status check(const Transaction& tx) const = 0;
  virtual Status deliver(TxContext& ctx) = 0;
  virtual void end_block(BlockContext&) {}

  // JSON view of a payload, for the API and the CLI.
  virtual json payload_json(uint16_t type, const Bytes& payload) const = 0;
  // The state keys that hold `account`'s data in this module, so that the API can serve
  // an account with a proof of each against the state root.
  virtual std::vector<std::string> account_keys(const PublicKey&) const { return {}; }
  // Read-only queries: GET /v1/<module>/<path>?params. NOT_FOUND for unknown paths.
  virtual Result<json> query(const StateReader& state, std::string_view path,
                             const json& params) const = 0;

  // The module's parameters (ledger/params.hpp), each named "<module>.<parameter>".
  virtual std::vector<ParamSpec> param_table() const { return {}; }
  // A rule across the module's parameters (e.g. a tax rate needs a tax account), run on
  // the state a parameter change would leave. Ranges are the registry's business.
  virtual Status check_params(const StateReader&) const { return Status::ok(); }
  // The module's state: one row per key prefix, as the state-key table of its header
  // lists them (a test keeps the two equal).
  virtual std::vector<state::SchemaEntry> schema() const { return {}; }
};

// Tools for modules.
std::string account_key(std::string_view prefix, const PublicKey& account);
inline Status ok() {
  return Status::ok();
}

}  // namespace gridpact
