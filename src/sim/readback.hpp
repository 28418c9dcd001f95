// Reading a finished run's figures back from the chain's state (inside the simulator).
#pragma once

#include "ledger/module.hpp"
#include "ledger/store.hpp"
#include "sim/run.hpp"

namespace gridpact::sim {

struct ChainView {
  const Store& store;
  Module& market;
  const Community& community;
  const std::vector<PublicKey>& accounts;
  const std::vector<Hash32>& meters;        // each household's connection meter
  const std::vector<Hash32>& asset_meters;  // an owner's leased system's meter (else unused)
  uint64_t first_period = 0;
  uint64_t start_balance = 0;
};

// Fills the chain figures of `r.households`, `r.periods` and `r.agreements`, and
// r.dso_fees_micro: meter registers and period energy, market statements and trades,
// agreement billing records, bank balances, green tokens (balances and mint records).
void read_back(const ChainView& v, RunResult& r);

}  // namespace gridpact::sim
