// Minting one settlement period's green tokens for 10,000 generating meters in one block:
// the meters (5,000 owners, two meters each, four renewable sources over 20 microgrids)
// are put in genesis state, their signed readings for period 0 are committed in a block
// of their own, and the block in which the period becomes final is timed.
//
//   METRIC mint_10000_meters_s        execution of the minting block (every module's
//                                     end_block, the state root), the aim is < 0.2 s
//   METRIC mint_10000_end_block_s     the tokens module's end_block alone
// GRIDPACT_BENCH_QUICK=1: 2,000 meters (the metric names stay).
#include <chrono>

#include "bench_util.hpp"
#include "ledger/testing.hpp"
#include "modules/meters/meters.hpp"
#include "modules/meters/testing.hpp"
#include "modules/tokens/tokens.hpp"

using namespace gridpact;
using Clock = std::chrono::steady_clock;

namespace {

using bench::seed_of;

constexpr uint64_t kPeriod = meters::kDefaultPeriodMs;

// Puts the benchmark's meters into genesis state (their registration is not measured).
class SeedModule : public Module {
 public:
  explicit SeedModule(std::vector<meters::MeterInfo> m) : meters_(std::move(m)) {}
  std::string_view name() const override { return "bench_seed"; }
  Status init_genesis(StateOverlay& s, const json&) override {
    for (const auto& m : meters_) meters::import_meter(s, m, 0, 0);
    return Status::ok();
  }
  Result<json> query(const StateReader&, std::string_view, const json&) const override {
    return error(Code::kNotFound, "none");
  }

 private:
  std::vector<meters::MeterInfo> meters_;
};

}  // namespace

int main() {
  crypto_init();
  const size_t n = bench::quick() ? 2'000 : 10'000;
  std::vector<KeyPair> keys;
  std::vector<meters::MeterInfo> infos;
  const meters::Source kinds[] = {meters::Source::kPv, meters::Source::kWind,
                                  meters::Source::kHydro, meters::Source::kBiomass};
  for (size_t i = 0; i < n; ++i) {
    keys.push_back(KeyPair::from_seed(seed_of(i, 0x5e)));
    meters::MeterInfo m;
    m.id = meters::virtual_meter_id(keys.back());
    m.owner = KeyPair::from_seed(seed_of(i / 2, 0x0a)).public_key();
    m.microgrid = "mg" + std::to_string(i % 20);
    m.source = kinds[(i * 7 / 3) % 4];
    m.platform = attest::Platform::kVirtual;
    m.public_key =
        Bytes(keys.back().public_key().bytes.begin(), keys.back().public_key().bytes.end());
    infos.push_back(m);
  }
  meters::MetersModule meters_module;
  SeedModule seed(infos);
  tokens::TokensModule tokens_module;
  json genesis = {{"meters", {{"period_ms", kPeriod}, {"allow_virtual", true}}},
                  {"tokens", {{"allow_virtual", true}}}};
  testing::Chain chain({&meters_module, &seed, &tokens_module}, genesis, "bench-tokens");
  chain.block({}, 1000);  // minting starts with period 0

  KeyPair relay = KeyPair::from_seed(seed_of(0, 0x77));
  std::vector<Transaction> txs;
  for (size_t i = 0; i < n; ++i) {
    auto r = meters::virtual_reading(keys[i], "bench-tokens", 0, 1, 0, 500 + 13 * (i % 97));
    txs.push_back(chain.sign(relay, meters::kReading, meters::encode(r)));
  }
  for (const auto& rc : chain.block(std::move(txs), 2000))
    if (!rc.ok()) {
      std::fprintf(stderr, "reading refused: %s\n", rc.message.c_str());
      return 1;
    }

  // Period 0 is final at 2 periods (its end plus the reading lag without a market).
  auto start = Clock::now();
  auto batch = chain.executor().execute({}, 2 * kPeriod, true);
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  if (!batch) return 1;
  if (auto s = chain.store().commit(batch.value()); !s) return 1;
  auto sup = tokens::supply(chain.store());
  size_t minted = 0;
  for (const auto& info : infos) minted += tokens::mint_record(chain.store(), info.id, 0) ? 1 : 0;
  if (minted != n || sup.minted == 0) {
    std::fprintf(stderr, "minted %zu of %zu meters\n", minted, n);
    return 1;
  }
  bench::metric("mint_10000_meters_s", secs, "s");
  bench::metric("mint_10000_end_block_s", batch->end_block_us.back() / 1e6, "s");
  return 0;
}
