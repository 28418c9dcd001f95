// The genesis document (TOML): what every node of a chain must agree on before block 0.
//
//   chain_id = "gridpact-dev"
//   development = true             # labels the chain insecure everywhere it shows
//   time_ms = 0                    # genesis block time
//   [validator]
//   public_key = "<64 hex>"        # the solo orderer's block-signing key
//   [block]
//   interval_ms = 100              # longest wait for a fuller block (the solo orderer
//                                  # cuts at once when the previous one is handed over)
//   idle_interval_ms = 1000        # an empty block at most this often when quiet
//   max_txs = 5000
//   [bank]                         # every other table is a module's section
//   issuer = "<64 hex>"
//
// The SHA-256 of the document's exact bytes is the genesis block's prev_hash, binding the
// chain to the document.
#pragma once

#include <string>

#include "ledger/module.hpp"

namespace gridpact {

struct Genesis {
  std::string chain_id;
  bool development = false;
  uint64_t time_ms = 0;
  PublicKey validator;
  uint32_t block_interval_ms = 100;
  uint32_t idle_interval_ms = 1000;
  uint32_t max_block_txs = 5000;
  json document;  // the whole document, as JSON; module sections by module name
  Hash32 hash;
  std::string text;

  static Result<Genesis> parse(std::string text);
  static Result<Genesis> load(const std::string& path);
};

// A development genesis document for the given keys: the engine's tables, then each
// module's default section (Module::default_genesis), in the order of `modules`. The
// governance members are the validator, the issuer and the first account of `balances`.
std::string development_genesis(const std::string& chain_id, const PublicKey& validator,
                                const PublicKey& issuer,
                                const std::vector<std::pair<PublicKey, uint64_t>>& balances,
                                const std::vector<Module*>& modules);

}  // namespace gridpact
