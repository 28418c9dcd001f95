// The simulator's chain (run_simulation): a store, the application's modules and an
// executor, fed with blocks of transactions it signs and admits as a node would, counting
// signatures, failures and timings into the run's result.
#pragma once

#include <functional>
#include <future>
#include <map>
#include <memory>

#include "ledger/executor.hpp"
#include "modules/meters/meters.hpp"
#include "node/genesis.hpp"
#include "sim/run.hpp"

namespace gridpact::meteragent {
class Platform;
}

namespace gridpact::sim {

// One transaction to be signed: by `key`, with the next nonce of that account. A reading
// is signed by its meter first (the meter's key, or the TPM of a tpm2 meter, signs the
// registers; the account relays).
struct Pending {
  const KeyPair* key = nullptr;
  uint16_t type = 0;
  Bytes payload;
  const KeyPair* meter_key = nullptr;
  meters::Reading reading;
  Hash32* id_out = nullptr;                   // where the signed transaction's id goes (orders)
  meteragent::Platform* tpm_meter = nullptr;  // a tpm2 meter signs `reading` instead
};

class Ledger {
 public:
  Ledger(const RunOptions& o, RunResult& r) : o_(o), r_(r) {}

  // Writes genesis into the chain directory, opens the store and runs genesis.
  Status open(const std::string& genesis_text);

  // A block's transactions, signed and admitted (ids and signatures checked, as a node's
  // mempool does), ready to execute.
  struct Prepared {
    std::vector<Transaction> txs;
    std::vector<Hash32> ids;
  };

  // Signs and admits `pending`. Runs beside apply() of the previous block: it touches
  // only the nonces, the signing and admission timings and the signature count.
  Result<Prepared> prepare(std::vector<Pending> pending);

  // Executes one prepared block at `time_ms`, signed by the validator, and commits it.
  // When `spare_core` says so once the block is executed (the next block is signed
  // already: a core would idle), the commit runs beside the next block's execution (built
  // on this one, staged, as a node's executor and committer do); on a machine whose cores
  // are all busy signing, the extra thread would only slow the executor. Returns the first
  // failed commit's status.
  Status apply(Prepared p, uint64_t time_ms, const KeyPair& validator,
               const std::function<bool()>& spare_core = {});
  // Waits until every applied block is written; the first failed commit's status.
  Status wait_written();

  // The store, once every applied block is written.
  Store& store() {
    (void)wait_written();  // a failed commit is reported by apply() and wait_written()
    return *store_;
  }
  Module& module(std::string_view name);
  const std::string& chain_id() const { return genesis_.chain_id; }
  size_t last_block_txs() const { return last_block_txs_; }
  const std::string& first_failures() const { return first_failures_; }

 private:
  const RunOptions& o_;
  RunResult& r_;
  Genesis genesis_;
  std::unique_ptr<Store> store_;
  std::vector<std::unique_ptr<Module>> modules_;
  std::unique_ptr<Executor> executor_;
  std::map<PublicKey, uint64_t> nonces_;
  size_t last_block_txs_ = 0;
  std::string first_failures_;
  std::future<Status> writing_;  // the commit of the last applied block
  Status write_status_;
};

}  // namespace gridpact::sim
