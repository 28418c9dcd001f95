// The node's HTTP API under load (api::Server on src/http, a node with the bank, meters and
// market modules, fsynced commits), driven by a client of raw keep-alive sockets (one
// thread on epoll for one order in flight per account; a blocking thread per account for
// all in flight), so the client is not the limit (its CPU per order is printed beside the
// process's).
//
// Workload: 100 accounts x 20 orders per figure, market offers (50 accounts with a pv meter)
// and bids (50 with a consumer meter) for a period ahead, signed before the clock starts.
//   METRIC api_one_in_flight_orders_per_s   each account keeps one order in flight: POST
//                                           /v1/tx, then waits for its id on its own
//                                           /v1/events/accounts/{pk} stream
//   METRIC api_one_in_flight_p50_ms / _p99_ms   submit to commit notice
//   METRIC <figure>_client_cpu_us_per_order     the client threads' share of _cpu_us_per_order
//                                           (the load generator's own cost)
//   METRIC api_wait_commit_orders_per_s     the same with POST /v1/tx?wait=commit
//   METRIC api_all_in_flight_orders_per_s   every account sends its 20 at once (pipelined on
//                                           its connection, opened before the clock starts;
//                                           one client thread reads), until all are committed
//   METRIC <figure>_block_execute_ms / _commit_ms / _fsync_ms   per block of each figure
//                                           above, the mean from the node's block timings
//                                           (the server side's block cycle)
//   METRIC api_ed25519_verify_per_s         one core's Ed25519 verification rate, and
//   METRIC api_verify_bound_orders_per_s    the cores times it: the orders a second if
//                                           admission's verification were the only work
//   METRIC api_one_in_flight_verify_share_pct  that verification's share of the CPU per order
//   METRIC api_health_p99_ms                GET /v1/health while 10,000 idle keep-alive
//                                           connections and 1,000 event subscribers are held
//                                           (counts printed as api_health_idle_connections
//                                           and api_health_subscribers)
// The held connections are opened by a child process (this binary, "hold"), so that each
// side has its own RLIMIT_NOFILE (raised to its hard limit in both).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <thread>

#include "api/server.hpp"
#include "bench_util.hpp"
#include "http_conn.hpp"
#include "market_orders.hpp"
#include "modules/bank/bank.hpp"
#include "modules/market/market.hpp"
#include "modules/meters/meters.hpp"
#include "modules/meters/testing.hpp"
#include "node/node.hpp"

using namespace gridpact;
using Clock = std::chrono::steady_clock;

namespace {

using bench::Conn;
using bench::get;
using bench::ms_since;
using bench::post_tx;
using bench::seed_of;

// Accounts, their meters and their signed orders: even accounts offer (pv), odd ones bid.
struct Workload {
  static constexpr size_t kAccounts = 100, kPerAccount = 20;
  std::string chain_id = "bench-api";
  KeyPair validator = KeyPair::generate();
  std::vector<KeyPair> keys, meter_keys;
  std::vector<Hash32> meters;
  uint64_t period = 0;

  Workload() {
    for (size_t i = 0; i < kAccounts; ++i) {
      keys.push_back(KeyPair::from_seed(seed_of(i, 0x31)));
      meter_keys.push_back(KeyPair::from_seed(seed_of(i, 0x32)));
      meters.push_back(meters::virtual_meter_id(meter_keys[i]));
    }
    auto now_ms = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                            std::chrono::system_clock::now().time_since_epoch())
                                            .count());
    period = now_ms / meters::kDefaultPeriodMs + 2;  // its gate stays open during the run
  }
  Genesis genesis() const {
    json balances = json::object();
    for (const auto& k : keys) balances[k.public_key().hex()] = 1'000'000'000'000ull;
    return bench::market_genesis(chain_id, validator, std::move(balances), json::object(),
                                 "bench-api-genesis");
  }
  Transaction registration(size_t i) const {
    meters::RegisterPayload r;
    r.microgrid = "mg0";
    r.source = i % 2 == 0 ? meters::Source::kPv : meters::Source::kConsumer;
    r.location = "bench";
    r.firmware_version = "sim";
    r = meters::virtual_registration(meter_keys[i], keys[i].public_key(), chain_id, std::move(r));
    Transaction tx;
    tx.chain_id = chain_id;
    tx.nonce = 0;
    tx.type = meters::kRegister;
    tx.payload = meters::encode(r);
    tx.sign(keys[i]);
    return tx;
  }
  Transaction order(size_t i, uint64_t nonce) const {
    return bench::signed_order(chain_id, keys[i], nonce, i % 2 == 0, period,
                               bench::order_qty(i, nonce), bench::order_price(i, nonce), meters[i],
                               nonce % 3 == 0);
  }
  // Round r's requests: nonces [1 + r*20, 1 + (r+1)*20) of every account.
  std::vector<std::vector<Transaction>> round(size_t r) const {
    std::vector<std::vector<Transaction>> out(kAccounts);
    for (size_t a = 0; a < kAccounts; ++a)
      for (size_t n = 0; n < kPerAccount; ++n) out[a].push_back(order(a, 1 + r * kPerAccount + n));
    return out;
  }
};

struct RoundResult {
  double secs = 0;
  size_t ok = 0;
  std::vector<double> latency_ms;
  double client_cpu_us = 0;  // the client threads' CPU: the load generator's share
};

// Waits on many connections at once from one thread: each watched with a tag, handed back
// with the connections that have something to read.
class Poller {
 public:
  Poller() : ep_(::epoll_create1(0)) {}
  ~Poller() { ::close(ep_); }
  Poller(const Poller&) = delete;
  void watch(const Conn& c, uint64_t tag) {
    epoll_event e{};
    e.events = EPOLLIN;
    e.data.u64 = tag;
    ::epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd(), &e);
  }
  // The tags of the connections ready within a minute; none after a minute of nothing.
  std::span<const epoll_event> wait() {
    const int got = ::epoll_wait(ep_, ready_.data(), static_cast<int>(ready_.size()), 60'000);
    return {ready_.data(), got > 0 ? static_cast<size_t>(got) : 0};
  }

 private:
  int ep_;
  std::array<epoll_event, 256> ready_{};
};

// Every account on its own connection(s), one request in flight; `wait`: with
// ?wait=commit, else following its own account stream for the id. One client thread waits
// on all the connections at once (epoll), so that the load generator's CPU stays small
// beside the server's (100 blocking threads cost 47-63 us an order in thread wake-ups).
RoundResult one_in_flight(uint16_t port, const Workload& w,
                          const std::vector<std::vector<Transaction>>& txs, bool wait) {
  constexpr size_t kAccounts = Workload::kAccounts, kPerAccount = Workload::kPerAccount;
  RoundResult r;
  r.latency_ms.assign(kAccounts * kPerAccount, 0);
  struct Account {
    std::unique_ptr<Conn> post, stream;
    size_t n = 0;  // the order in flight
    Clock::time_point t0;
    bool answered = false, notified = false, failed = false;
  };
  std::vector<Account> accounts(kAccounts);
  std::vector<std::vector<std::string>> requests(kAccounts), events(kAccounts);
  for (size_t a = 0; a < kAccounts; ++a)
    for (const Transaction& tx : txs[a]) {
      requests[a].push_back(post_tx(tx, wait));
      // The account event: {"code":N,...,"tx_id":"..."} (keys in order).
      events[a].push_back("\"tx_id\":\"" + tx.id().hex());
    }
  Poller poller;
  for (size_t a = 0; a < kAccounts; ++a) {
    accounts[a].post = std::make_unique<Conn>(port);
    poller.watch(*accounts[a].post, a * 2);
    if (wait) continue;
    accounts[a].stream = std::make_unique<Conn>(port);
    accounts[a].stream->send(get("/v1/events/accounts/" + w.keys[a].public_key().hex()));
    accounts[a].stream->read_until("\r\n\r\n");  // subscribed once the header is back
    poller.watch(*accounts[a].stream, a * 2 + 1);
  }
  const double cpu0 = bench::cpu_us(RUSAGE_THREAD);
  auto start = Clock::now();
  auto send_next = [&](size_t a) {
    Account& acc = accounts[a];
    acc.answered = acc.notified = false;
    acc.t0 = Clock::now();
    if (!acc.post->send(requests[a][acc.n])) acc.failed = true;
  };
  size_t active = kAccounts;
  for (size_t a = 0; a < kAccounts; ++a) send_next(a);
  while (active > 0) {
    auto ready = poller.wait();
    if (ready.empty()) break;  // nothing for a minute: the missing orders count as failed
    for (const epoll_event& e : ready) {
      const size_t a = e.data.u64 / 2;
      Account& acc = accounts[a];
      if (acc.failed || acc.n == kPerAccount) continue;
      Conn& conn = e.data.u64 % 2 ? *acc.stream : *acc.post;
      if (!conn.fill()) acc.failed = true;
      if (!acc.answered)
        if (auto resp = acc.post->take_response()) {
          acc.answered = true;
          const bool committed = resp->second.find("\"committed\"") != std::string::npos &&
                                 resp->second.find("\"code\":0,") != std::string::npos;
          if (resp->first != 200 || (wait && !committed)) acc.failed = true;
          if (wait) acc.notified = true;
        }
      if (!acc.notified && !wait)
        if (auto event = acc.stream->take_until(events[a][acc.n])) {
          acc.notified = true;
          if (event->find("{\"code\":0,") == std::string::npos) acc.failed = true;
        }
      if (acc.failed) {
        --active;
        continue;
      }
      if (!acc.answered || !acc.notified) continue;
      r.latency_ms[a * kPerAccount + acc.n] = ms_since(acc.t0);
      r.ok++;
      if (++acc.n == kPerAccount)
        --active;
      else
        send_next(a);
    }
  }
  r.secs = ms_since(start) / 1000;
  r.client_cpu_us = bench::cpu_us(RUSAGE_THREAD) - cpu0;
  return r;
}

// Every account sends its 20 at once, pipelined on its own connection (opened before the
// clock starts); one client thread reads the answers (epoll), and the round ends when
// `committed()` counts them all (or a minute passes).
RoundResult all_in_flight(uint16_t port, const std::vector<std::vector<Transaction>>& txs,
                          const std::function<uint64_t()>& committed) {
  constexpr size_t kAccounts = Workload::kAccounts, kPerAccount = Workload::kPerAccount;
  RoundResult r;
  std::vector<std::string> requests(kAccounts);
  for (size_t a = 0; a < kAccounts; ++a)
    for (const auto& tx : txs[a]) requests[a] += post_tx(tx, false);
  std::vector<std::unique_ptr<Conn>> conns;
  std::vector<size_t> answered(kAccounts, 0);
  Poller poller;
  for (size_t a = 0; a < kAccounts; ++a) {
    conns.push_back(std::make_unique<Conn>(port));
    poller.watch(*conns[a], a);
  }
  const double cpu0 = bench::cpu_us(RUSAGE_THREAD);
  auto start = Clock::now();
  size_t open = 0;
  for (size_t a = 0; a < kAccounts; ++a) open += conns[a]->send(requests[a]) ? 1 : 0;
  while (open > 0) {
    auto ready = poller.wait();
    if (ready.empty()) break;
    for (const epoll_event& e : ready) {
      const size_t a = e.data.u64;
      if (answered[a] == kPerAccount) continue;
      const bool alive = conns[a]->fill();
      for (; alive && answered[a] < kPerAccount; ++answered[a]) {
        auto resp = conns[a]->take_response();
        if (!resp) break;
        if (resp->first == 200) r.ok++;
      }
      if (alive && answered[a] < kPerAccount) continue;
      answered[a] = kPerAccount;  // all answered, or the connection ended
      --open;
    }
  }
  const uint64_t accepted = r.ok;
  auto deadline = Clock::now() + std::chrono::seconds(60);
  while (committed() < accepted && Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  r.secs = ms_since(start) / 1000;
  r.client_cpu_us = bench::cpu_us(RUSAGE_THREAD) - cpu0;
  return r;
}

}  // namespace

// The child of the health figure: holds `idle` keep-alive connections and `subscribers`
// block streams open, says "ready", and exits once the server closes them.
int hold(uint16_t port, size_t idle, size_t subscribers) {
  std::vector<std::unique_ptr<Conn>> held;
  for (size_t i = 0; i < idle + subscribers; ++i) {
    held.push_back(std::make_unique<Conn>(port));
    if (!held.back()->ok()) return 1;
    if (i >= idle) held.back()->send(get("/v1/events/blocks"));
  }
  std::printf("ready %zu\n", held.size());
  std::fflush(stdout);
  held.front()->response();  // returns when the server closes the connection
  return 0;
}

int main(int argc, char** argv) {
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);
  if (argc == 5 && std::string(argv[1]) == "hold")
    return hold(static_cast<uint16_t>(std::stoul(argv[2])), std::stoul(argv[3]),
                std::stoul(argv[4]));
  crypto_init();
  Workload w;

  auto dir = std::filesystem::temp_directory_path() /
             ("gridpact-bench-api-" + w.validator.public_key().hex().substr(0, 8));
  std::filesystem::remove_all(dir);
  auto node = Node::open(NodeOptions{dir.string(), w.genesis(), w.validator, {}, true},
                         bench::market_modules())
                  .value();
  node->start();
  // Meters registered before the clock starts.
  Hash32 last;
  for (size_t i = 0; i < Workload::kAccounts; ++i) {
    auto tx = w.registration(i);
    last = tx.id();
    if (!node->submit(std::move(tx))) return 1;
  }
  if (!node->wait_committed(last, std::chrono::seconds(30))) return 1;

  api::ServerOptions options;
  options.max_connections = 30'000;
  options.max_streams = 3'000;
  api::Server server(*node, options);
  if (!server.start()) return 1;
  const auto port = static_cast<uint16_t>(server.port());
  const double orders = Workload::kAccounts * Workload::kPerAccount;
  int status = 0;

  // Per block, since the last call: the mean execute, commit (fsync included) and fsync
  // milliseconds, from the node's block histograms (what the server side's cycle costs).
  auto block_ms = [&, last = std::array<double, 4>{}]() mutable {
    const std::string text = node->block_metrics().prometheus();
    auto value = [&](const std::string& name) {
      auto at = text.find("\n" + name + " ");
      return at == std::string::npos ? 0.0 : std::stod(text.substr(at + name.size() + 2));
    };
    std::array<double, 4> now{
        value("gridpact_block_execute_seconds_count"), value("gridpact_block_execute_seconds_sum"),
        value("gridpact_block_commit_seconds_sum"), value("gridpact_block_fsync_seconds_sum")};
    const double blocks = std::max(1.0, now[0] - last[0]);
    std::array<double, 3> out{};
    for (size_t i = 0; i < 3; ++i) out[i] = 1000 * (now[i + 1] - last[i + 1]) / blocks;
    last = now;
    return out;
  };
  auto block_metrics = [&](const std::string& prefix) {
    auto [execute, commit, fsync] = block_ms();
    bench::metric(prefix + "_block_execute_ms", execute, "ms");
    bench::metric(prefix + "_block_commit_ms", commit, "ms");
    bench::metric(prefix + "_block_fsync_ms", fsync, "ms");
  };
  auto txs_per_block = [&, blocks = node->stats().blocks_committed,
                        txs = node->stats().txs_committed]() mutable {
    auto st = node->stats();
    double out = static_cast<double>(st.txs_committed - txs) /
                 static_cast<double>(std::max<uint64_t>(1, st.blocks_committed - blocks));
    blocks = st.blocks_committed;
    txs = st.txs_committed;
    return out;
  };
  // The limit beside the figures: each order is verified once at admission.
  const double verify_per_s =
      bench::ed25519_verify_per_s(std::chrono::milliseconds(bench::quick() ? 300 : 1000));
  const double cores = std::max(1u, std::thread::hardware_concurrency());
  bench::metric("api_ed25519_verify_per_s", verify_per_s, "verifications/s");
  bench::metric("api_verify_bound_orders_per_s", cores * verify_per_s, "orders/s");
  {
    auto txs = w.round(0);
    double cpu0 = bench::cpu_us();
    txs_per_block();
    block_ms();
    bench::profile_begin("one_in_flight");
    auto r = one_in_flight(port, w, txs, false);
    bench::profile_end("one_in_flight");
    bench::metric("api_one_in_flight_orders_per_s", static_cast<double>(r.ok) / r.secs, "orders/s");
    bench::metric("api_one_in_flight_p50_ms", bench::percentile(r.latency_ms, 0.5), "ms");
    bench::metric("api_one_in_flight_p99_ms", bench::percentile(r.latency_ms, 0.99), "ms");
    const double cpu_per_order = (bench::cpu_us() - cpu0) / orders;
    bench::metric("api_one_in_flight_cpu_us_per_order", cpu_per_order, "us");
    bench::metric("api_one_in_flight_verify_share_pct", 100 * 1e6 / verify_per_s / cpu_per_order,
                  "%");
    bench::metric("api_one_in_flight_client_cpu_us_per_order", r.client_cpu_us / orders, "us");
    bench::metric("api_one_in_flight_orders_per_block", txs_per_block(), "orders");
    block_metrics("api_one_in_flight");
    if (static_cast<double>(r.ok) != orders) status = 1;
  }
  {
    auto txs = w.round(1);
    double cpu0 = bench::cpu_us();
    auto r = one_in_flight(port, w, txs, true);
    bench::metric("api_wait_commit_orders_per_s", static_cast<double>(r.ok) / r.secs, "orders/s");
    bench::metric("api_wait_commit_p50_ms", bench::percentile(r.latency_ms, 0.5), "ms");
    bench::metric("api_wait_commit_p99_ms", bench::percentile(r.latency_ms, 0.99), "ms");
    bench::metric("api_wait_commit_cpu_us_per_order", (bench::cpu_us() - cpu0) / orders, "us");
    bench::metric("api_wait_commit_client_cpu_us_per_order", r.client_cpu_us / orders, "us");
    bench::metric("api_wait_commit_orders_per_block", txs_per_block(), "orders");
    block_metrics("api_wait_commit");
    if (static_cast<double>(r.ok) != orders) status = 1;
  }
  // All in flight: each account pipelines its 20 on one connection; done when committed.
  {
    auto txs = w.round(2);
    uint64_t before = node->stats().txs_committed;
    double cpu0 = bench::cpu_us();
    bench::profile_begin();
    auto r = all_in_flight(port, txs, [&] { return node->stats().txs_committed - before; });
    double secs = r.secs;
    bench::profile_end();
    bench::metric("api_all_in_flight_orders_per_s",
                  static_cast<double>(node->stats().txs_committed - before) / secs, "orders/s");
    bench::metric("api_all_in_flight_cpu_us_per_order", (bench::cpu_us() - cpu0) / orders, "us");
    bench::metric("api_all_in_flight_client_cpu_us_per_order", r.client_cpu_us / orders, "us");
    bench::metric("api_all_in_flight_orders_per_block", txs_per_block(), "orders");
    block_metrics("api_all_in_flight");
    if (static_cast<double>(r.ok) != orders) status = 1;
  }
  // Health while idle connections and subscribers are held, by a child process (so that
  // each side has its own descriptor limit); it exits when the server closes them.
  {
    size_t subscribers = bench::quick() ? 100 : 1000, idle = bench::quick() ? 1000 : 10'000;
    std::string command = std::filesystem::read_symlink("/proc/self/exe").string() + " hold " +
                          std::to_string(port) + " " + std::to_string(idle) + " " +
                          std::to_string(subscribers);
    FILE* holder = popen(command.c_str(), "r");
    char line[64] = {};
    if (!holder || !std::fgets(line, sizeof line, holder)) status = 1;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // let them settle
    Conn c(port);
    std::vector<double> ms;
    for (int i = 0; i < (bench::quick() ? 200 : 2000); ++i) {
      auto t0 = Clock::now();
      c.send(get("/v1/health"));
      if (c.response().first != 200) status = 1;
      ms.push_back(ms_since(t0));
    }
    auto m = Conn(port);
    m.send(get("/metrics"));
    std::string text = m.response().second;
    auto gauge = [&](const std::string& name) {
      auto at = text.find("\n" + name + " ");
      return at == std::string::npos ? -1.0 : std::stod(text.substr(at + name.size() + 2));
    };
    bench::metric("api_health_p99_ms", bench::percentile(ms, 0.99), "ms");
    bench::metric("api_health_idle_connections",
                  gauge("gridpact_http_connections") - gauge("gridpact_http_streams") - 2,
                  "connections");
    bench::metric("api_health_subscribers", gauge("gridpact_http_streams"), "streams");
    server.stop();
    if (holder) pclose(holder);
  }
  node->stop();
  std::filesystem::remove_all(dir);
  return status;
}
