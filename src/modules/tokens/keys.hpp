// The tokens module's state collections (the table in tokens.hpp), shared by its files.
#pragma once

#include "ledger/collections.hpp"
#include "modules/tokens/tokens.hpp"

namespace gridpact::tokens::keys {

using MeterPeriod = std::pair<Hash32, uint64_t>;
using HistKey = std::tuple<PublicKey, uint64_t, Hash32>;
using MixKey = std::tuple<std::string, uint64_t, uint8_t>;

inline const state::Item<Supply> kSupply("tokens/supply");
inline const state::Item<PoolTotals> kPool("tokens/pool");
inline const state::Item<uint64_t> kNext("tokens/next");
inline const state::Map<PublicKey, uint64_t> kBalances("tokens/bal/");
inline const state::Map<Hash32, Commitment> kCommits("tokens/commit/");
inline const state::Map<std::pair<uint64_t, Hash32>, state::Unit> kCommitsDue("tokens/cdue/");
inline const state::Map<uint64_t, uint64_t> kCommitPeriods("tokens/cper/");
inline const state::Map<MeterPeriod, MintRecord> kMinted("tokens/minted/");
inline const state::Map<HistKey, MintShare> kHistory("tokens/hist/");
inline const state::Map<PublicKey, SourceMarks> kOwnerSources("tokens/osrc/");
inline const state::Map<MixKey, uint64_t> kMix("tokens/mgx/");
inline const state::Map<uint64_t, uint64_t> kEpochs("tokens/epoch/");
inline const state::Map<std::pair<uint64_t, PublicKey>, state::Unit> kLog("tokens/log/");
inline const state::Map<std::pair<uint64_t, uint64_t>, state::Unit> kMintLog("tokens/mlog/");

}  // namespace gridpact::tokens::keys
