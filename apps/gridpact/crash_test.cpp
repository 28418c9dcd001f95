// Crash test of the real `gridpact node` executable: clients send signed transfers over
// HTTP from several accounts at once while the node is SIGKILLed at random moments and
// restarted on the same data directory. After every restart, every transaction whose
// commit the node acknowledged (it returned the receipt) must still be there with the
// same receipt, and the money must be conserved; at the end `gridpact verify-chain`
// replays the whole chain. The executable's path comes from the build (GRIDPACT_EXE).
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <random>
#include <thread>

#include "ledger/module.hpp"
#include "ledger/testing.hpp"
#include "modules/bank/bank.hpp"
#include "node/genesis.hpp"
#include "node/key_file.hpp"

namespace gridpact {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// One `gridpact node` child process, started and killed by its pid.
class NodeProcess {
 public:
  explicit NodeProcess(std::string data) : data_(std::move(data)) {}
  ~NodeProcess() { kill_now(); }

  // Starts the node and waits until it listens; returns its port (0 on failure).
  int start() {
    std::string port_file = data_ + "/port";
    std::filesystem::remove(port_file);
    std::string log = data_ + "/node.log";
    pid_ = fork();
    if (pid_ == 0) {
      FILE* out = std::fopen(log.c_str(), "a");
      if (out) {
        dup2(fileno(out), STDOUT_FILENO);
        dup2(fileno(out), STDERR_FILENO);
      }
      execl(GRIDPACT_EXE, GRIDPACT_EXE, "node", "--data", data_.c_str(), "--listen", "127.0.0.1:0",
            "--port-file", port_file.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    auto deadline = Clock::now() + 30s;
    while (Clock::now() < deadline) {
      std::ifstream in(port_file);
      int port = 0;
      if (in >> port && port > 0) return port;
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return 0;
      }
      std::this_thread::sleep_for(10ms);
    }
    return 0;
  }

  pid_t pid() const { return pid_; }
  void kill_now() { signal_and_wait(SIGKILL); }
  // A clean stop; true if the node exited with status 0.
  bool stop() { return signal_and_wait(SIGTERM) == 0; }

 private:
  int signal_and_wait(int sig) {
    if (pid_ <= 0) return -1;
    ::kill(pid_, sig);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  std::string data_;
  pid_t pid_ = -1;
};

struct Ack {
  Hash32 tx_id;
  uint64_t height = 0;
  uint16_t code = 0;
  std::string receipt_raw;
};

class Cluster {
 public:
  std::atomic<int> port{0};
  std::string chain_id;

  std::optional<json> get(const std::string& path) {
    httplib::Client c("127.0.0.1", port.load());
    c.set_connection_timeout(1, 0);
    c.set_read_timeout(10, 0);
    auto r = c.Get(path);
    if (!r || r->status != 200) return std::nullopt;
    json j = json::parse(r->body, nullptr, false);
    if (j.is_discarded()) return std::nullopt;
    return j;
  }
  std::optional<json> post_tx(const Transaction& tx) {
    httplib::Client c("127.0.0.1", port.load());
    c.set_connection_timeout(1, 0);
    c.set_read_timeout(10, 0);
    json body = {{"tx", to_hex(tx.encode())}};
    auto r = c.Post("/v1/tx?wait=commit&timeout_ms=5000", body.dump(), "application/json");
    if (!r) return std::nullopt;
    json j = json::parse(r->body, nullptr, false);
    if (j.is_discarded()) return std::nullopt;
    return j;
  }
  std::optional<uint64_t> nonce(const PublicKey& who) {
    auto a = get("/v1/accounts/" + who.hex());
    if (!a) return std::nullopt;
    return (*a)["nonce"].get<uint64_t>();
  }
  std::optional<uint64_t> balance(const PublicKey& who) {
    auto a = get("/v1/bank/accounts/" + who.hex());
    if (!a) return std::nullopt;
    return (*a)["balance"].get<uint64_t>();
  }
};

// Signs a transfer and submits it; the ack when the node returned a committed receipt.
std::optional<Ack> transfer(Cluster& c, const KeyPair& from, uint64_t nonce, const PublicKey& to,
                            uint64_t amount) {
  Transaction tx;
  tx.chain_id = c.chain_id;
  tx.nonce = nonce;
  tx.type = bank::kTransfer;
  tx.payload = bank::encode(bank::TransferPayload{to, amount, "crash test"});
  tx.sign(from);
  auto r = c.post_tx(tx);
  if (!r || r->value("status", "") != "committed") return std::nullopt;
  const json& receipt = (*r)["receipt"];
  return Ack{tx.id(), receipt["height"].get<uint64_t>(), receipt["code"].get<uint16_t>(),
             receipt["raw"].get<std::string>()};
}

// The node re-executes itself once with glibc's huge-page heap (base/memory.hpp): the
// process that answers, under the pid its parent started, runs with the tunable set and
// under its own name.
TEST(CrashTest, NodeRunsWithHugePageHeap) {
  testing::TempDir dir;
  NodeProcess node(dir.str());
  ASSERT_GT(node.start(), 0);
  std::ifstream in("/proc/" + std::to_string(node.pid()) + "/environ", std::ios::binary);
  std::string environ((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(environ.find("glibc.malloc.hugetlb=1"), std::string::npos);
  std::ifstream comm_file("/proc/" + std::to_string(node.pid()) + "/comm");
  std::string comm;
  std::getline(comm_file, comm);
  EXPECT_EQ(comm, "gridpact");  // still named after itself, not "exe"
  EXPECT_TRUE(node.stop());
}

TEST(CrashTest, AcknowledgedTransfersSurviveSigkill) {
  testing::TempDir dir;
  std::string data = dir.str() + "/chain";
  std::filesystem::create_directories(data);
  NodeProcess node(data);
  Cluster cluster;
  cluster.port = node.start();
  ASSERT_GT(cluster.port.load(), 0) << "node did not start; see " << data << "/node.log";
  auto chain = cluster.get("/v1/chain");
  ASSERT_TRUE(chain);
  cluster.chain_id = (*chain)["chain_id"];
  auto alice = read_key_file(data + "/keys/alice.json");
  ASSERT_TRUE(alice.is_ok()) << alice.status().to_string();
  auto supply = cluster.get("/v1/bank/supply");
  ASSERT_TRUE(supply);
  const uint64_t total = (*supply)["supply"].get<uint64_t>();

  // Alice funds the other senders; all transfers stay among these accounts.
  constexpr size_t kSenders = 4;
  std::vector<KeyPair> keys = {*alice};
  for (size_t i = 0; i < kSenders; ++i) keys.push_back(KeyPair::generate());
  std::vector<uint64_t> alice_nonce(1, cluster.nonce(alice->public_key()).value());
  for (size_t i = 1; i < keys.size(); ++i) {
    auto ack = transfer(cluster, *alice, alice_nonce[0]++, keys[i].public_key(), 100'000'000);
    ASSERT_TRUE(ack && ack->code == 0) << "funding transfer failed";
  }
  auto sum_balances = [&]() -> std::optional<uint64_t> {
    uint64_t sum = 0;
    for (const auto& k : keys) {
      auto b = cluster.balance(k.public_key());
      if (!b) return std::nullopt;
      sum += *b;
    }
    return sum;
  };
  const uint64_t held = sum_balances().value();

  std::mutex acks_mutex;
  std::vector<Ack> acks;
  std::atomic<bool> stop{false}, paused{false};
  std::vector<std::atomic<bool>> idle(keys.size());
  std::vector<std::thread> workers;
  struct JoinOnExit {  // an ASSERT that returns early must not leave threads running
    std::vector<std::thread>& threads;
    std::atomic<bool>& stop_flag;
    std::atomic<bool>& pause_flag;
    ~JoinOnExit() {
      stop_flag = true;
      pause_flag = false;
      for (auto& t : threads)
        if (t.joinable()) t.join();
    }
  } join_on_exit{workers, stop, paused};
  for (size_t w = 0; w < keys.size(); ++w) {
    workers.emplace_back([&, w] {
      std::mt19937_64 rng(w * 7919 + 1);
      uint64_t nonce = 0;
      bool nonce_known = false;
      while (!stop) {
        // Announce work before looking at `paused`: the checker waits for idle only after
        // setting `paused`, so it never runs beside a request (sequentially consistent).
        idle[w] = false;
        if (paused) {
          idle[w] = true;
          std::this_thread::sleep_for(5ms);
          continue;
        }
        if (!nonce_known) {
          auto n = cluster.nonce(keys[w].public_key());
          if (!n) {
            std::this_thread::sleep_for(20ms);
            continue;
          }
          nonce = *n;
          nonce_known = true;
        }
        size_t to = (w + 1 + rng() % (keys.size() - 1)) % keys.size();
        auto ack = transfer(cluster, keys[w], nonce, keys[to].public_key(), 1 + rng() % 1000);
        if (ack) {
          std::lock_guard lock(acks_mutex);
          acks.push_back(*ack);
          ++nonce;
        } else {
          nonce_known = false;  // unknown outcome: re-read the committed nonce
        }
      }
      idle[w] = true;
    });
  }

  auto check_everything = [&](int round) {
    paused = true;
    for (auto& i : idle)
      while (!i) std::this_thread::sleep_for(2ms);
    std::vector<Ack> snapshot;
    {
      std::lock_guard lock(acks_mutex);
      snapshot = acks;
    }
    for (const auto& a : snapshot) {
      auto t = cluster.get("/v1/tx/" + a.tx_id.hex());
      ASSERT_TRUE(t) << "round " << round << ": acknowledged tx " << a.tx_id.hex() << " is gone";
      EXPECT_EQ((*t)["receipt"]["height"].get<uint64_t>(), a.height);
      EXPECT_EQ((*t)["receipt"]["code"].get<uint16_t>(), a.code);
      EXPECT_EQ((*t)["receipt"]["raw"].get<std::string>(), a.receipt_raw);
    }
    auto sum = sum_balances();
    ASSERT_TRUE(sum);
    EXPECT_EQ(*sum, held) << "round " << round << ": balances not conserved";
    auto s = cluster.get("/v1/bank/supply");
    ASSERT_TRUE(s);
    EXPECT_EQ((*s)["supply"].get<uint64_t>(), total);
    paused = false;
  };

  std::mt19937 rng(std::random_device{}());
  constexpr int kKills = 22;
  size_t acked_before = 0;
  auto started = Clock::now();
  for (int round = 0; round < kKills && !HasFatalFailure(); ++round) {
    std::this_thread::sleep_for(std::chrono::milliseconds(150 + rng() % 600));
    node.kill_now();
    int port = node.start();
    ASSERT_GT(port, 0) << "restart " << round << " failed; see " << data << "/node.log";
    cluster.port = port;
    check_everything(round);
    std::lock_guard lock(acks_mutex);
    acked_before = acks.size();
  }
  stop = true;
  paused = false;
  for (auto& t : workers) t.join();
  std::printf("%d kills, %zu acknowledged transfers, %.1f s\n", kKills, acked_before,
              std::chrono::duration<double>(Clock::now() - started).count());
  // The test is only meaningful if traffic really flowed between kills.
  EXPECT_GT(acked_before, static_cast<size_t>(kKills));
  if (HasFatalFailure()) return;
  check_everything(kKills);
  ASSERT_TRUE(node.stop());

  std::string out_path = dir.str() + "/verify.json";
  std::string cmd =
      std::string(GRIDPACT_EXE) + " verify-chain --data " + data + " > " + out_path + " 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << "verify-chain failed";
  std::ifstream in(out_path);
  json report = json::parse(in, nullptr, false);
  ASSERT_FALSE(report.is_discarded());
  EXPECT_TRUE(report["verified"].get<bool>());
  EXPECT_GE(report["transactions"].get<uint64_t>(), acked_before);
}

}  // namespace
}  // namespace gridpact
