// The community simulator at scale: 1,000 households for 7 days of 15-minute periods with
// real signatures, through the executor and a RocksDB store (src/sim). Quick mode
// (GRIDPACT_BENCH_QUICK=1): 40 households for 1 day. GRIDPACT_SIM_HOUSEHOLDS and
// GRIDPACT_SIM_DAYS choose another size, GRIDPACT_SIM_PRICE_UPDATES the agents' price
// updates per order (the default scenario's otherwise).
//
//   METRIC simulate_<N>x<D>_s           the whole run: model, setup, every block, read-back
//   METRIC simulate_tx_per_s            transactions / run time
//   METRIC simulate_state_writes_per_tx state keys written per transaction (each a tree
//                                       leaf and a RocksDB write: the lever on the run time)
//   METRIC simulate_share_{signing,verifying,executing,committing,other}  shares of the run
//   METRIC simulate_signature_bound_s   signing and verifying the run's signatures (transaction
//                                       and meter-reading signatures) alone on every core
//   METRIC simulate_per_signature_bound the run's time over that bound (the aim: <= 1.5)
//
// On a shared machine the wall times above grow with its load. CPU times do not, and give
// what the run takes on an idle machine with these cores: the thread that executes and
// commits the blocks works one block after another, the rest (signing, admission, model)
// runs beside it on the other cores, so it takes max(that thread's CPU, all CPU / cores).
//   METRIC simulate_cpu_s                   CPU time of the whole run, every thread
//   METRIC simulate_serial_cpu_s            CPU time of executing and committing the blocks
//   METRIC simulate_signature_bound_cpu_s   the signature bound in CPU time per core
//   METRIC simulate_idle_estimate_s         max(serial CPU, CPU / cores)
//   METRIC simulate_idle_per_signature_bound  the estimate over the CPU signature bound
#include <sodium.h>
#include <sys/resource.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <thread>

#include "bench_util.hpp"
#include "crypto/keys.hpp"
#include "sim/run.hpp"

using namespace gridpact;
using Clock = std::chrono::steady_clock;

namespace {

// Seconds per Ed25519 signature and per verification on one core: wall time, and the
// thread's CPU time (what they take on an idle core).
struct SignatureCosts {
  double sign = 0, verify = 0, sign_cpu = 0, verify_cpu = 0;
};
SignatureCosts signature_costs() {
  auto key = KeyPair::generate();
  const int n = bench::quick() ? 2000 : 20000;
  std::vector<Hash32> msgs;
  for (int i = 0; i < n; ++i) msgs.push_back(sha256(std::to_string(i)));
  std::vector<Signature> sigs;
  sigs.reserve(msgs.size());
  auto t0 = Clock::now();
  const double c0 = bench::cpu_seconds(RUSAGE_THREAD);
  for (const auto& m : msgs) sigs.push_back(key.sign(m));
  auto t1 = Clock::now();
  const double c1 = bench::cpu_seconds(RUSAGE_THREAD);
  for (int i = 0; i < n; ++i)
    if (!verify(key.public_key(), msgs[i], sigs[i])) std::abort();
  auto t2 = Clock::now();
  const double c2 = bench::cpu_seconds(RUSAGE_THREAD);
  return {std::chrono::duration<double>(t1 - t0).count() / n,
          std::chrono::duration<double>(t2 - t1).count() / n, (c1 - c0) / n, (c2 - c1) / n};
}

}  // namespace

int main() {
  crypto_init();
  sim::Scenario s = sim::parse_scenario(sim::default_scenario_toml(), "default").value();
  s.households = bench::quick() ? 40 : 1000;
  s.days = bench::quick() ? 1 : 7;
  if (const char* v = std::getenv("GRIDPACT_SIM_HOUSEHOLDS"))
    s.households = static_cast<uint32_t>(std::stoul(v));
  if (const char* v = std::getenv("GRIDPACT_SIM_DAYS"))
    s.days = static_cast<uint32_t>(std::stoul(v));
  if (const char* v = std::getenv("GRIDPACT_SIM_PRICE_UPDATES"))
    s.price_updates = static_cast<uint32_t>(std::stoul(v));
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  auto dir = std::filesystem::temp_directory_path() /
             ("gridpact-simbench-" + KeyPair::generate().public_key().hex().substr(0, 8));
  sim::RunOptions o;
  o.chain_dir = dir.string();
  o.threads = cores;
  bench::profile_begin();
  auto start = Clock::now();
  const double cpu0 = bench::cpu_seconds(RUSAGE_SELF);
  auto r = sim::run_simulation(s, o);
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  const double cpu = bench::cpu_seconds(RUSAGE_SELF) - cpu0;
  bench::profile_end();
  std::filesystem::remove_all(dir);
  if (!r) {
    std::fprintf(stderr, "simulation failed: %s\n", r.status().to_string().c_str());
    return 1;
  }
  std::fprintf(stderr, "%u households x %u days: %llu blocks, %llu transactions, %llu signatures\n",
               s.households, s.days, static_cast<unsigned long long>(r->blocks),
               static_cast<unsigned long long>(r->transactions),
               static_cast<unsigned long long>(r->signatures));
  const std::string size = std::to_string(s.households) + "x" + std::to_string(s.days);
  bench::metric("simulate_" + size + "_s", secs, "s");
  bench::metric("simulate_tx_per_s", static_cast<double>(r->transactions) / secs, "tx/s");
  bench::metric("simulate_state_writes_per_tx",
                static_cast<double>(r->state_writes) /
                    static_cast<double>(std::max<uint64_t>(1, r->transactions)),
                "keys");
  const auto& t = r->timing;
  bench::metric("simulate_share_signing", t.sign_s / secs, "fraction");
  bench::metric("simulate_share_verifying", t.verify_s / secs, "fraction");
  bench::metric("simulate_share_executing", t.execute_s / secs, "fraction");
  bench::metric("simulate_share_committing", t.commit_s / secs, "fraction");
  bench::metric("simulate_share_other",
                std::max(0.0, 1 - (t.sign_s + t.verify_s + t.execute_s + t.commit_s) / secs),
                "fraction");
  const SignatureCosts costs = signature_costs();
  const double bound = static_cast<double>(r->signatures) * (costs.sign + costs.verify) / cores;
  bench::metric("simulate_signature_bound_s", bound, "s");
  bench::metric("simulate_per_signature_bound", secs / bound, "x");
  const double serial = t.execute_cpu_s + t.commit_cpu_s;
  const double bound_cpu =
      static_cast<double>(r->signatures) * (costs.sign_cpu + costs.verify_cpu) / cores;
  const double idle = std::max(serial, cpu / cores);
  bench::metric("simulate_cpu_s", cpu, "s");
  bench::metric("simulate_serial_cpu_s", serial, "s");
  bench::metric("simulate_signature_bound_cpu_s", bound_cpu, "s");
  bench::metric("simulate_idle_estimate_s", idle, "s");
  bench::metric("simulate_idle_per_signature_bound", idle / bound_cpu, "x");
  bench::metric("simulate_peak_rss_mib", bench::peak_rss_mib(), "MiB");
  return 0;
}
