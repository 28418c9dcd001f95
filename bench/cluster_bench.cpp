// Cluster mode against the solo orderer, with real processes: `gridpact node` binaries and
// etcd on loopback (scripts/cluster.sh for the clusters), and the same transfer load for
// each: S funded senders, each sending R transfers, posted to the leader as batches with
// ?wait=commit (one batch per client thread and round). For the solo node and for 1- and
// 3-node clusters it prints committed tx/s, acknowledgement latency p50/p99, and the CPU
// time (utime+stime from /proc/<pid>/stat) each node process spent per committed
// transaction; then the leader's and the followers' over the solo node's:
//   METRIC cluster_leader_cpu_ratio, cluster_follower_cpu_ratio (aims: <= 1.25, <= 0.6)
// and the catch-up of a new node past etcd's window:
//   METRIC cluster_catchup_100k_blocks_s   a new `gridpact node --cluster` process applies
//     100,000 blocks of 10 transfers: the first 90,000 from a peer's block API, the last
//     10,000 from etcd (its window), each checked and re-executed.
// The chain it catches up is made beforehand by an in-process node whose orderer hands it
// blocks back to back (no block interval), under the validator key of an earlier leader;
// a `gridpact node` process on that chain and key then serves its API as the peer. The new
// node asks it for its attestation (virtual: a development chain) and, as it passes, trusts
// its blocks' client signatures (as a follower trusts an attested leader's).
// Quick mode (GRIDPACT_BENCH_QUICK=1): fewer transfers and 2,000 blocks (metric
// cluster_catchup_2k_blocks_s).
#include <httplib.h>
#include <signal.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cinttypes>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include "api/server.hpp"
#include "base/testing.hpp"
#include "bench_util.hpp"
#include "cluster/etcd_orderer.hpp"
#include "cluster/testing.hpp"
#include "modules/all_modules.hpp"
#include "modules/bank/bank.hpp"
#include "node/key_file.hpp"

using namespace gridpact;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

const std::string kGridpact = GRIDPACT_EXE;
const std::string kScript = std::string(GRIDPACT_SOURCE_DIR) + "/scripts/cluster.sh";

std::function<void()> cleanup;  // what die() must stop first (the catch-up's etcd)

void die(const std::string& why) {
  std::fprintf(stderr, "bench cluster: %s\n", why.c_str());
  if (cleanup) cleanup();
  std::exit(1);
}

void sh(const std::string& command) {
  if (std::system(command.c_str()) != 0) die("failed: " + command);
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), {}};
}

// CPU seconds (user + system) the process has used so far.
double cpu_s(pid_t pid) {
  std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
  auto close = stat.rfind(')');
  if (close == std::string::npos) die("no process " + std::to_string(pid));
  std::istringstream rest(stat.substr(close + 2));
  std::string field;
  double utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {  // fields 14 and 15: utime, stime
    if (i == 14) utime = std::stod(field);
    if (i == 15) stime = std::stod(field);
  }
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

json get(const std::string& url, const std::string& path) {
  httplib::Client c(url);
  c.set_read_timeout(10, 0);
  auto r = c.Get(path);
  if (!r) return json();
  return json::parse(r->body, nullptr, false);
}

uint64_t height_of(const std::string& url) {
  json b = get(url, "/v1/blocks/latest");
  if (!b.is_object() || !b.contains("header")) return 0;
  return b["header"].value("height", uint64_t{0});
}

// Posts transactions with ?wait=commit; false unless every one committed.
bool post_wait(httplib::Client& c, const std::vector<Transaction>& txs) {
  json body = {{"txs", json::array()}};
  for (const auto& tx : txs) body["txs"].push_back(to_hex(tx.encode()));
  auto r = c.Post("/v1/tx?wait=commit&timeout_ms=60000", body.dump(), "application/json");
  if (!r || r->status != 200) return false;
  json answer = json::parse(r->body, nullptr, false);
  if (!answer.is_object()) return false;
  for (const auto& one : answer["results"])
    if (one.value("status", "") != "committed") {
      std::fprintf(stderr, "not committed: %s\n", one.dump().c_str());
      return false;
    }
  return true;
}

Transaction transfer(const std::string& chain, const KeyPair& from, uint64_t nonce,
                     const PublicKey& to, uint64_t amount) {
  Transaction tx;
  tx.chain_id = chain;
  tx.nonce = nonce;
  tx.type = bank::kTransfer;
  tx.payload = bank::encode(bank::TransferPayload{to, amount, ""});
  tx.sign(from);
  return tx;
}

struct Nodes {
  std::string dir;
  std::vector<std::string> urls;  // node i's API
  std::vector<pid_t> pids;
  std::string leader;  // the URL the load goes to
  bool cluster = false;
};

Nodes start_solo(const std::string& dir) {
  fs::create_directories(dir + "/node/keys");
  for (const char* k : {"validator", "alice", "issuer"})
    sh("'" + kGridpact + "' keygen --out '" + dir + "/node/keys/" + k + ".json' >/dev/null");
  sh("'" + kGridpact + "' node --data '" + dir + "/node' --listen 127.0.0.1:0 --port-file '" + dir +
     "/port' >'" + dir + "/node.log' 2>&1 & echo $! >'" + dir + "/pid'");
  for (int i = 0; i < 300 && slurp(dir + "/port").empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  Nodes n{dir,
          {"http://127.0.0.1:" + std::to_string(std::stoi(slurp(dir + "/port")))},
          {static_cast<pid_t>(std::stoi(slurp(dir + "/pid")))},
          {},
          false};
  n.leader = n.urls[0];
  return n;
}

Nodes start_cluster(const std::string& dir, int count) {
  sh("GRIDPACT='" + kGridpact + "' bash '" + kScript + "' up '" + dir + "' --nodes " +
     std::to_string(count) + " 2>/dev/null");
  Nodes n{dir, {}, {}, {}, true};
  std::istringstream urls(slurp(dir + "/nodes.txt"));
  for (std::string line; std::getline(urls, line);)
    if (!line.empty()) n.urls.push_back(line);
  for (int i = 1; i <= count; ++i)
    n.pids.push_back(std::stoi(slurp(dir + "/node-" + std::to_string(i) + ".pid")));
  for (int i = 0; i < 300 && n.leader.empty(); ++i) {
    json c = get(n.urls[0], "/v1/cluster");
    if (c.is_object() && c["leader"].is_object()) n.leader = c["leader"].value("api", "");
    if (n.leader.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (n.leader.empty()) die("no leader in " + dir);
  return n;
}

// SIGTERM, then waits until the process is gone.
void stop_process(pid_t pid) {
  sh("kill " + std::to_string(pid) + "; while kill -0 " + std::to_string(pid) +
     " 2>/dev/null; do sleep 0.1; done");
}

void stop(const Nodes& n) {
  if (n.cluster)
    sh("GRIDPACT='" + kGridpact + "' bash '" + kScript + "' down '" + n.dir + "'");
  else
    stop_process(n.pids[0]);
  fs::remove_all(n.dir);
}

struct RunResult {
  std::vector<double> cpu_per_tx_us;  // per node, in the order of Nodes::urls
  size_t leader = 0;                  // index of the leader among them
};

// Funds the senders from alice, then runs the load against the leader and reports.
RunResult run_load(const std::string& name, const Nodes& nodes, size_t senders, size_t rounds) {
  const std::string keys = nodes.cluster ? nodes.dir + "/keys" : nodes.dir + "/node/keys";
  auto alice = read_key_file(keys + "/alice.json").value();
  const std::string chain = get(nodes.leader, "/v1/chain").value("chain_id", "");
  std::vector<KeyPair> from;
  for (size_t i = 0; i < senders; ++i) from.push_back(KeyPair::from_seed(bench::seed_of(i, 0xc1)));
  httplib::Client leader(nodes.leader);
  leader.set_read_timeout(70, 0);
  // Alice may have signed before (scripts/cluster.sh's governance proposal and votes).
  const uint64_t first =
      get(nodes.leader, "/v1/accounts/" + alice.public_key().hex()).value("nonce", uint64_t{0});
  for (size_t i = 0; i < senders; i += 64) {
    std::vector<Transaction> txs;
    for (size_t j = i; j < std::min(senders, i + 64); ++j)
      txs.push_back(transfer(chain, alice, first + j, from[j].public_key(), 1'000'000));
    if (!post_wait(leader, txs)) die(name + ": funding the senders failed");
  }
  // Signed before the clock starts: sender s's transfer of round r goes to sender s+1.
  const size_t threads = 8;
  std::vector<std::vector<std::vector<Transaction>>> batches(threads);  // [thread][round]
  for (size_t t = 0; t < threads; ++t)
    for (size_t r = 0; r < rounds; ++r) {
      batches[t].emplace_back();
      for (size_t s = t; s < senders; s += threads)
        batches[t][r].push_back(
            transfer(chain, from[s], r, from[(s + 1) % senders].public_key(), 1 + r));
    }
  std::vector<double> cpu_before;
  for (pid_t p : nodes.pids) cpu_before.push_back(cpu_s(p));
  std::vector<std::vector<double>> latency(threads);
  std::atomic<bool> failed{false};
  auto start = Clock::now();
  std::vector<std::thread> workers;
  for (size_t t = 0; t < threads; ++t)
    workers.emplace_back([&, t] {
      httplib::Client c(nodes.leader);
      c.set_read_timeout(70, 0);
      for (size_t r = 0; r < rounds && !failed; ++r) {
        auto sent = Clock::now();
        if (!post_wait(c, batches[t][r])) failed = true;
        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - sent).count();
        latency[t].insert(latency[t].end(), batches[t][r].size(), ms);
      }
    });
  for (auto& w : workers) w.join();
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  if (failed) die(name + ": a batch did not commit");
  // Every node has applied the last block before its CPU is read.
  RunResult out;
  const uint64_t top = height_of(nodes.leader);
  for (size_t i = 0; i < nodes.urls.size(); ++i) {
    for (int k = 0; k < 600 && height_of(nodes.urls[i]) < top; ++k)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (nodes.urls[i] == nodes.leader) out.leader = i;
  }
  const double committed = static_cast<double>(senders * rounds);
  for (size_t i = 0; i < nodes.pids.size(); ++i)
    out.cpu_per_tx_us.push_back((cpu_s(nodes.pids[i]) - cpu_before[i]) * 1e6 / committed);
  std::vector<double> all;
  for (auto& l : latency) all.insert(all.end(), l.begin(), l.end());
  bench::metric(name + "_tx_per_s", committed / secs, "tx/s");
  bench::metric(name + "_latency_p50_ms", bench::percentile(all, 0.50), "ms");
  bench::metric(name + "_latency_p99_ms", bench::percentile(all, 0.99), "ms");
  for (size_t i = 0; i < out.cpu_per_tx_us.size(); ++i) {
    std::string role = !nodes.cluster    ? "node"
                       : i == out.leader ? "leader"
                                         : "follower" + std::to_string(i + 1);
    bench::metric(name + "_" + role + "_cpu_us_per_tx", out.cpu_per_tx_us[i], "us");
  }
  return out;
}

// The producer's orderer: batches of 10 transfers back to back, each block accepted.
class ChainMaker : public Orderer {
 public:
  explicit ChainMaker(std::vector<std::vector<Transaction>> blocks) : blocks_(std::move(blocks)) {}
  void start(Deliver deliver) override {
    thread_ = std::thread([this, deliver = std::move(deliver)] {
      uint64_t time_ms = 1'700'000'000'000;
      for (auto& txs : blocks_) {
        if (stopping_) return;
        OrderedBatch batch;
        batch.time_ms = time_ms += 1000;
        batch.txs = std::move(txs);
        deliver(std::move(batch));
      }
    });
  }
  void stop() override {
    stopping_ = true;
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::vector<std::vector<Transaction>> blocks_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
};

void catch_up(const std::string& dir, uint64_t blocks, uint64_t window) {
  const size_t per_block = 10, senders = 1000;
  auto validator = KeyPair::generate(), issuer = KeyPair::generate();
  std::vector<KeyPair> from;
  std::vector<std::pair<PublicKey, uint64_t>> balances;
  for (size_t i = 0; i < senders; ++i) {
    from.push_back(KeyPair::from_seed(bench::seed_of(1'000'000 + i, 0xc1)));
    balances.emplace_back(from.back().public_key(), 1'000'000'000);
  }
  // Every module, as the gridpact binary has them: the genesis state must be the same.
  auto genesis_modules = all_modules();
  const std::string genesis_text =
      development_genesis("catchup", validator.public_key(), issuer.public_key(), balances,
                          module_pointers(genesis_modules));
  Genesis genesis = Genesis::parse(genesis_text).value();
  // Transfer i: sender i % senders, nonce i / senders, to the next sender; signed on two threads.
  std::vector<std::vector<Transaction>> chain(blocks);
  std::vector<std::thread> signers;
  for (size_t t = 0; t < 2; ++t)
    signers.emplace_back([&, t] {
      for (uint64_t b = t; b < blocks; b += 2)
        for (size_t j = 0; j < per_block; ++j) {
          const uint64_t i = b * per_block + j;
          chain[b].push_back(transfer(genesis.chain_id, from[i % senders], i / senders,
                                      from[(i + 1) % senders].public_key(), 1));
        }
    });
  for (auto& s : signers) s.join();
  NodeOptions o;
  o.data_dir = dir + "/peer";
  o.genesis = genesis;
  o.validator_key = validator;
  o.sync_commits = false;
  auto made = Clock::now();
  auto peer = Node::open(std::move(o), all_modules(), [&chain](Node&) {
                return std::make_unique<ChainMaker>(std::move(chain));
              }).value();
  peer->start();
  if (!peer->wait_height(blocks, std::chrono::seconds(3600))) die("the chain was not made");
  std::fprintf(stderr, "made %" PRIu64 " blocks in %.1f s\n", blocks,
               std::chrono::duration<double>(Clock::now() - made).count());
  // etcd holds the window: the last blocks, as a leader would have left them.
  cluster::testing::EtcdProcess etcd;
  if (!etcd.start()) die("etcd did not start");
  pid_t peer_pid = 0;
  cleanup = [&etcd, &peer_pid] {
    if (peer_pid > 0) kill(peer_pid, SIGTERM);
    etcd.stop();
  };
  cluster::EtcdClient client(etcd.endpoints());
  const std::string prefix = "/gridpact/" + genesis.chain_id + "/";
  for (uint64_t h = blocks - window + 1; h <= blocks; ++h) {
    const Bytes bytes = peer->store().block(h)->encode();
    if (!client.put(prefix + cluster::EtcdOrderer::height_key(h),
                    std::string(bytes.begin(), bytes.end())))
      die("etcd put");
  }
  peer->stop();
  peer.reset();
  // The peer: the earlier leader's node, solo (nobody submits, so it makes no block).
  std::ofstream(dir + "/genesis.toml") << genesis_text;
  if (!write_key_file(dir + "/validator.json", validator)) die("validator key");
  const std::string peer_url =
      "http://127.0.0.1:" + std::to_string(gridpact::testing::free_loopback_port());
  sh("'" + kGridpact + "' node --data '" + dir + "/peer' --genesis '" + dir +
     "/genesis.toml' --validator-key '" + dir + "/validator.json' --listen " + peer_url.substr(7) +
     " >'" + dir + "/peer.log' 2>&1 & echo $! >'" + dir + "/peer.pid'");
  peer_pid = std::stoi(slurp(dir + "/peer.pid"));
  for (auto until = Clock::now() + std::chrono::seconds(60); height_of(peer_url) < blocks;) {
    if (Clock::now() > until || kill(peer_pid, 0) != 0) die("the peer did not start: see peer.log");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  // Nobody leads: the new node's key is not in the validator set, so it only follows, and
  // the blocks are an earlier leader's (applied on their signature and the set).
  sh("'" + kGridpact + "' keygen --out '" + dir + "/new.json' >/dev/null");
  const std::string new_url =
      "127.0.0.1:" + std::to_string(gridpact::testing::free_loopback_port());
  auto start = Clock::now();
  sh("'" + kGridpact + "' node --data '" + dir + "/new' --genesis '" + dir +
     "/genesis.toml' --validator-key '" + dir + "/new.json' --listen " + new_url +
     " --cluster etcd://" + etcd.endpoint() + " --cluster-peers " + peer_url + " >'" + dir +
     "/new.log' 2>&1 & echo $! >'" + dir + "/new.pid'");
  const pid_t pid = std::stoi(slurp(dir + "/new.pid"));
  uint64_t h = 0;
  while (h < blocks && Clock::now() - start < std::chrono::seconds(1800) && kill(pid, 0) == 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    h = height_of("http://" + new_url);
    json health = get("http://" + new_url, "/v1/health");
    if (health.is_object() && health.value("status", "") == "halted") break;
  }
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  const double cpu = h >= blocks ? cpu_s(pid) : 0;
  stop_process(pid);
  if (h < blocks)
    die("the new node reached " + std::to_string(h) + " only; see " + dir + "/new.log");
  if (height_of(peer_url) < blocks) die("peer");
  if (slurp(dir + "/new.log").find("passed its attestation") == std::string::npos)
    die("the new node did not attest the peer: see " + dir + "/new.log");
  const std::string label = blocks == 100'000 ? "100k" : std::to_string(blocks / 1000) + "k";
  bench::metric("cluster_catchup_" + label + "_blocks_s", secs, "s");
  bench::metric("cluster_catchup_blocks_per_s", static_cast<double>(blocks) / secs, "blocks/s");
  bench::metric("cluster_catchup_cpu_us_per_tx",
                cpu * 1e6 / static_cast<double>(blocks * per_block), "us");
  stop_process(peer_pid);
  peer_pid = 0;
  cleanup = nullptr;
}

// The same load on the solo node and on 1- and 3-node clusters; the CPU ratios.
void load_runs(const std::string& base, size_t senders, size_t rounds) {
  double solo = 0;
  {
    Nodes n = start_solo(base + "/solo");
    solo = run_load("cluster_solo", n, senders, rounds).cpu_per_tx_us[0];
    stop(n);
  }
  {
    Nodes n = start_cluster(base + "/one", 1);
    auto r = run_load("cluster_1node", n, senders, rounds);
    stop(n);
    bench::metric("cluster_1node_leader_cpu_ratio", r.cpu_per_tx_us[r.leader] / solo, "ratio");
  }
  {
    Nodes n = start_cluster(base + "/three", 3);
    auto r = run_load("cluster_3node", n, senders, rounds);
    stop(n);
    double follower = 0;
    for (size_t i = 0; i < r.cpu_per_tx_us.size(); ++i)
      if (i != r.leader) follower = std::max(follower, r.cpu_per_tx_us[i]);
    bench::metric("cluster_leader_cpu_ratio", r.cpu_per_tx_us[r.leader] / solo, "ratio");
    bench::metric("cluster_follower_cpu_ratio", follower / solo, "ratio");
  }
}

}  // namespace

int main() {
  crypto_init();
  const bool quick = bench::quick();
  const size_t senders = 512, rounds = quick ? 4 : 160;
  const std::string base =
      (fs::temp_directory_path() / ("gridpact-bench-cluster-" + std::to_string(getpid()))).string();
  fs::create_directories(base);
  std::fprintf(stderr, "%zu senders x %zu rounds of transfers, posted to the leader\n", senders,
               rounds);
  // GRIDPACT_BENCH_CLUSTER=load or catchup runs only that part.
  const std::string part =
      std::getenv("GRIDPACT_BENCH_CLUSTER") ? std::getenv("GRIDPACT_BENCH_CLUSTER") : "";
  if (part != "catchup") load_runs(base, senders, rounds);
  if (part != "load") {
    fs::create_directories(base + "/catchup");
    catch_up(base + "/catchup", quick ? 2'000 : 100'000, quick ? 500 : 10'000);
  }
  fs::remove_all(base);
  return 0;
}
