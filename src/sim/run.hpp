// Runs a scenario through the real ledger: a RocksDB store in OUT/chain with the bank,
// agreements, meters and market modules (the gridpact binary's modules, in its order),
// every action a signed transaction, blocks signed by the validator and committed one per
// settlement period at deterministic (simulated) block times. OUT/chain is a data
// directory `gridpact verify-chain --data OUT/chain` replays.
//
// Setup, before the first simulated period: every household registers a virtual meter
// (attestation evidence bound to its account) and each owner one more for the system it
// leases out; owners list their systems, hosts their premises; each host takes the best
// free system the agreements module's `match` query ranks for its premises, the owner
// proposes a lease or lease-to-own agreement (billed daily from the meters) and the host
// signs it.
//
// Then one block per period k (block time 1 s into the period):
//   - the meters' readings of period k-1 (cumulative import/export registers), each sent
//     and signed by its meter;
//   - orders for period k+U+1 at the start rate, and amendments moving the orders of the
//     next U periods towards the limit rate (U = strategy.price_updates): bids for the
//     household's forecast import, offers for its forecast export (a battery's evening
//     sale at the scenario's battery peak price);
//   - once a day, the grid operator's bills for the previous day: what each household
//     imported beyond what the market settled for it, at the retail tariff (paid by the
//     household), and what it exported beyond that, at the feed-in tariff (paid by the
//     operator), both read from the meters' readings and the market's settlement
//     statements on chain.
// The market clears each period at its gate and settles it from the readings; the
// agreements module bills each day. Everything reported as a ledger figure is read back
// from the chain's state afterwards.
//
// TPM meters (RunOptions::tpm_meters, `gridpact simulate --tpm N`): the first N prosumers'
// connection meters are tpm2 meters on swtpm (tpm_meters.hpp), registered with TPM
// evidence under the run's enrolment CA (which the genesis trusts), their readings signed
// in the TPM (ECDSA P-256) and relayed by their households. What stays equal to a run
// without --tpm with the same scenario and seed: every energy and money figure (meter
// registers and period energy, trades and prices, bills and baselines, agreements, zone
// fees, tokens_by_source in Wh, micro-tokens and meters), since the market ranks orders by
// price and book position, never by meter id. What differs: the TPM meters' ids (SHA-256 of
// a fresh TPM key) and their ECDSA signatures, which are in state and in the blocks, hence
// the state root and the transaction ids, also between two --tpm runs; the signature count
// (a relayed reading carries two); and the summary's `meters` section.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "sim/community.hpp"
#include "sim/scenario.hpp"

namespace gridpact::sim {

struct RunOptions {
  std::string chain_dir;  // created; must not exist
  unsigned threads = 1;   // signing, admission checks and model inputs; results never depend on it
  // The first `tpm_meters` prosumers' connection meters are tpm2 meters on swtpm
  // (tpm_meters.hpp); INVALID_ARGUMENT if there are fewer prosumers, SWTPM_NOT_INSTALLED
  // without swtpm. 0: every meter is virtual.
  uint32_t tpm_meters = 0;
  // Called after each block with (blocks done, blocks in all).
  std::function<void(uint64_t, uint64_t)> progress;
};

struct HouseholdResult {
  uint32_t index = 0;
  Role role = Role::kConsumer;
  std::string account;  // public key hex
  uint32_t microgrid = 0;
  double pv_kwp = 0, wind_kw = 0, battery_kwh = 0;
  int64_t load_wh = 0, generation_wh = 0;  // model inputs (behind the meter)
  // From the chain.
  uint64_t import_wh = 0, export_wh = 0;         // the connection meter's registers
  uint64_t bought_wh = 0, sold_wh = 0;           // market: energy settled with peers
  int64_t market_paid = 0, market_received = 0;  // micro
  int64_t grid_paid = 0, feed_in_received = 0;   // the operator's daily bills
  int64_t agreement_paid = 0, agreement_received = 0;
  uint64_t hosted_wh = 0;        // hosts: energy of the leased system billed to them
  uint64_t asset_export_wh = 0;  // owners: the leased system's meter (export register)
  uint64_t tokens_micro = 0;     // green tokens held at the end (minted to it or shared with it)
  int64_t cost = 0;              // start balance - final balance (incl. escrow), micro
  int64_t baseline = 0;  // the same flows with the grid alone: import x retail - export x feed-in
};

struct PeriodResult {
  uint64_t period = 0;  // absolute settlement period number
  uint64_t time_ms = 0;
  int64_t load_wh = 0, generation_wh = 0;        // model
  uint64_t import_wh = 0, export_wh = 0;         // chain: meters
  uint64_t traded_wh = 0, bids = 0, offers = 0;  // chain: market
  int64_t avg_price = -1;  // micro/kWh, volume weighted; -1 when nothing traded
  uint64_t fees_micro = 0;
  uint64_t peer_wh = 0;  // delivered between peers (settled)
  uint64_t block_txs = 0;
};

struct AgreementResult {
  uint64_t id = 0;
  std::string kind;
  uint32_t owner = 0, host = 0;
  uint64_t asset = 0, premises = 0;
  uint32_t match_score = 0;
  std::vector<int64_t> paid_per_day;  // micro, from the billing records
  uint64_t billed_wh = 0;
  std::string status;
};

// Green tokens minted for one renewable source type, from the tokens module's mint records.
struct TokenSource {
  uint64_t wh = 0, tokens_micro = 0, meters = 0;
  std::vector<uint64_t> per_period;  // micro-tokens minted for each simulated period
};

// A tpm2 meter of the run (--tpm).
struct TpmMeterResult {
  uint32_t household = 0;
  std::string meter;      // its id (hex): SHA-256 of the TPM key, new on every run
  uint64_t readings = 0;  // its readings of the simulated periods on chain
};

struct Timing {
  double model_s = 0, sign_s = 0, verify_s = 0, execute_s = 0, commit_s = 0, read_s = 0,
         total_s = 0;
  // CPU time of the thread that executes and commits the blocks, one after another: what
  // bounds the run on an idle machine however many cores sign, whatever else the machine
  // runs (the wall times above grow with the machine's load).
  double execute_cpu_s = 0, commit_cpu_s = 0;
};

struct RunResult {
  Scenario scenario;
  std::vector<HouseholdResult> households;
  std::vector<PeriodResult> periods;
  std::vector<AgreementResult> agreements;
  uint64_t blocks = 0, transactions = 0, failed_transactions = 0;
  std::map<std::string, uint64_t> failures;  // code name -> count
  uint64_t signatures = 0;                   // transaction and reading signatures made
  // State keys written, block by block (a key written twice in one block counts once):
  // each is a leaf of the state tree to update and a RocksDB write, most of a block's cost.
  uint64_t state_writes = 0;
  std::string state_root;
  uint64_t dso_fees_micro = 0;
  std::map<std::string, TokenSource> tokens_by_source;  // "pv", "wind", ...
  std::vector<TpmMeterResult> tpm_meters;               // empty without --tpm
  std::vector<double> block_tx_per_s;  // per block: transactions / (execute + commit) time
  Timing timing;
};

Result<RunResult> run_simulation(const Scenario& s, const RunOptions& options);

}  // namespace gridpact::sim
