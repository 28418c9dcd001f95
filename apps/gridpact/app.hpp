// What the command line knows that the libraries do not: which modules make up GridPact,
// how a data directory is laid out, and how commands register themselves.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <vector>

#include "cli/commands.hpp"
#include "modules/all_modules.hpp"
#include "node/key_file.hpp"
#include "node/node.hpp"

namespace gridpact::api {
class Server;
}
namespace gridpact::node_attest {
class NodeAttestor;
}

namespace gridpact::cli {

// Every module of the GridPact application: all_modules() (modules/all_modules.hpp).

// A data directory: DIR/genesis.toml, DIR/keys/*.json, DIR/db (RocksDB).
struct DataDir {
  std::string path;
  std::string genesis_path() const { return path + "/genesis.toml"; }
  std::string key_path(const std::string& name) const { return path + "/keys/" + name + ".json"; }
};

// Creates a development chain in `dir` unless one is there: genesis, validator and issuer
// keys, and a funded "alice" account for trying things out.
Status ensure_development_chain(const DataDir& dir, const std::string& chain_id = "gridpact-dev");

// Who may sign blocks on a GridPact chain: governance's validator set on the state the
// block builds on, when the chain has one (genesis [governance] validators, changed by
// proposals: governance/add_validator, remove_validator); else the genesis validator.
SignerRule governed_validators(const PublicKey& genesis_validator);

// Prints a JSON value on stdout (the output of every command that returns data).
void print_json(const json& j);
// Prints an error and returns the exit code for it (2 for bad usage/input, 1 otherwise).
int fail(const Status& s);
// Signs `payload` as a transaction of `type` with the key file at `key_path`, submits it to
// the node at `node_url` (waiting for the receipt if `wait`) and prints the node's answer.
// Returns the exit code: 1 when the transaction committed with a failed receipt.
int submit_and_print(const std::string& node_url, const std::string& key_path, bool wait,
                     uint16_t type, Bytes payload);

// How transaction commands sign and send, set by the options that add_signing_options
// gives every command with --key and --no-wait: --sign-only prints the signed transaction
// instead of sending it, --nonce N signs with nonce N instead of the committed one, and
// --chain-id names the chain (with both, signing needs no node).
struct SigningOptions {
  bool sign_only = false;
  std::optional<uint64_t> nonce;
  std::string chain_id;
};
SigningOptions& signing_options();        // one per process: one command runs per process
void add_signing_options(CLI::App& app);  // after every command is added
// `gridpact tx submit --file F` (submit_file.cpp).
void add_submit_file_command(CLI::App& tx);
// `gridpact schema`, `gridpact vectors` (cmd_schema.cpp).
void add_schema_command(CLI::App& app);

// Ends a command: a non-zero code leaves main() as the process exit code.
inline void finish(int rc) {
  if (rc != 0) throw CLI::RuntimeError(rc);
}

// Adds a module's commands (src/cli/commands.hpp) under `gridpact tx` and `gridpact query`,
// which must exist already (add_tx_commands, add_query_commands).
void add_module_commands(CLI::App& app, void (*add)(CommandHost&));

void add_node_command(CLI::App& app);
void add_tx_commands(CLI::App& app);
void add_query_commands(CLI::App& app);
void add_verify_commands(CLI::App& app);
void add_demo_command(CLI::App& app);
// `gridpact keygen`, `gridpact keys encrypt|decrypt` (cmd_keys.cpp).
void add_keys_commands(CLI::App& app);
void add_db_commands(CLI::App& app);
void add_codes_command(CLI::App& app);
// The SQL read model's queries (cmd_db.cpp): query assets, and --db on the agreements
// module's query match (so after that module's commands).
void add_read_model_queries(CLI::App& app);

// Something that runs alongside a node (e.g. the SQL read model); stops when destroyed.
struct NodeExtension {
  virtual ~NodeExtension() = default;
};
Result<std::unique_ptr<NodeExtension>> start_read_model(Node& node, api::Server& server,
                                                        const std::string& url);
void add_attest_commands(CLI::App& app);
void add_market_commands(CLI::App& app);

// `gridpact node --attest-*` options: no --attest-tpm means virtual (INSECURE) evidence.
struct NodeAttestArgs {
  std::string tpm;      // TCTI, or tcp:HOST:PORT of an swtpm
  std::string ak;       // AK key blob file
  std::string ak_cert;  // AK certificate chain file (PEM or DER)
};
Result<std::unique_ptr<node_attest::NodeAttestor>> make_node_attestor(
    const std::string& data_dir, const std::string& chain_id,
    const std::optional<KeyPair>& validator, const NodeAttestArgs& args);
// `gridpact node --cluster`: how a node checks a leader before it applies its blocks. Asks
// the leader's GET /v1/attestation with a fresh challenge (5 s at most) and verifies it:
// the executable's measurement is `measurement`, the evidence is tpm2 under `roots` (or
// virtual, on a development chain only), and it speaks for `leader` on `chain_id`.
std::function<Status(const std::string& api_url, const PublicKey& leader)> leader_attestation(
    std::string chain_id, Hash32 measurement, bool allow_virtual, std::vector<Bytes> roots);
// The certificates of PEM or DER files (trusted attestation roots).
Result<std::vector<Bytes>> read_certificates(const std::vector<std::string>& paths);
void add_meter_agent_commands(CLI::App& app);
void add_simulate_command(CLI::App& app);

}  // namespace gridpact::cli
