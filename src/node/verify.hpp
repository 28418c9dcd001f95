// Re-executes a stored chain from genesis in a scratch store and checks that every block
// links to its predecessor, carries a validator's signature (the genesis validator's, or
// one of `validators`), and reproduces
// exactly the stored transaction, receipt and state roots. This is what every follower
// node does; `gridpact verify-chain` runs it on a data directory.
#pragma once

#include "ledger/store.hpp"
#include "node/genesis.hpp"

namespace gridpact {

struct ChainReport {
  uint64_t blocks = 0;
  uint64_t txs = 0;
  Hash32 state_root;
};

// `validators`: keys besides the genesis validator that may sign blocks (a cluster's set).
Result<ChainReport> verify_chain(const Store& source, const Genesis& genesis,
                                 const std::vector<Module*>& modules,
                                 const std::string& scratch_dir,
                                 const std::vector<PublicKey>& validators = {});

}  // namespace gridpact
