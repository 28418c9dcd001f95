// Re-executes a stored chain from genesis in a scratch store and checks that every block
// links to its predecessor, carries the signature of a key that may sign it (`may_sign`
// on the state the block builds on; unset: the genesis validator), holds only
// transactions whose client signatures verify (a follower trusts an attested leader for
// them; this is the audit: a forged one is refused, naming the proposer that signed its
// block), and reproduces exactly the stored transaction, receipt and state roots.
// `gridpact verify-chain` runs it on a data directory.
#pragma once

#include "ledger/store.hpp"
#include "node/genesis.hpp"
#include "node/node.hpp"

namespace gridpact {

struct ChainReport {
  uint64_t blocks = 0;
  uint64_t txs = 0;
  Hash32 state_root;
};

Result<ChainReport> verify_chain(const Store& source, const Genesis& genesis,
                                 const std::vector<Module*>& modules,
                                 const std::string& scratch_dir, const SignerRule& may_sign = {});

}  // namespace gridpact
