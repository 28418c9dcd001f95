// An honest client against hostile ones (issue 20): a node with the bank, meters and market
// modules behind api::Server (fsynced commits, the node binary's standing rule: a funded
// account has standing, a key nobody funded is a newcomer). The honest client sends one
// transfer every 20 ms (POST /v1/tx?wait=commit on its own connection, sequential nonces)
// and its submit-to-commit latency is measured in each phase:
//   METRIC abuse_baseline_p99_ms        alone
//   METRIC abuse_mempool_p99_ms         while 5,000 unfunded keys (200 quick) each post
//                                       nonces 1..8 (nonce 0 never comes: all wait)
//   METRIC abuse_failing_stream_p99_ms  while one funded account streams transfers of more
//                                       than it holds, pipelined, nonce after nonce
//   METRIC abuse_queries_p99_ms         while 8 clients hammer the order book (2,000 open
//                                       orders), trades, mix and meter listing queries
//                                       (one address: the API's default per-client query
//                                       limits; abuse_queries_answered / _rate_limited
//                                       count the attackers' answers)
//   METRIC abuse_health_max_ms          the slowest GET /v1/health of a poller (every 20 ms)
//                                       over all three attacks
// Aim (README "Limits and abuse"): each attack's p99 at most 3x the baseline's, health
// within 100 ms. The exit status is 1 only if the honest client's transfers fail.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <optional>
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

const std::string kChain = "bench-abuse";

Transaction signed_tx(const KeyPair& k, uint64_t nonce, uint16_t type, Bytes payload) {
  Transaction tx;
  tx.chain_id = kChain;
  tx.nonce = nonce;
  tx.type = type;
  tx.payload = std::move(payload);
  tx.sign(k);
  return tx;
}

Transaction transfer(const KeyPair& from, uint64_t nonce, const PublicKey& to, uint64_t amount) {
  return signed_tx(from, nonce, bank::kTransfer,
                   bank::encode(bank::TransferPayload{to, amount, ""}));
}

// The honest client: one transfer every `interval` (or at once when behind) for `length`,
// each waited for until committed. Returns the latencies; `failed` counts refusals.
std::vector<double> honest_run(uint16_t port, const KeyPair& key, uint64_t& nonce,
                               const PublicKey& to, std::chrono::milliseconds length,
                               std::atomic<size_t>& failed) {
  constexpr auto kInterval = std::chrono::milliseconds(20);
  std::vector<double> ms;
  Conn c(port);
  auto start = Clock::now();
  for (size_t i = 0; Clock::now() - start < length; ++i) {
    std::this_thread::sleep_until(start + kInterval * i);
    Transaction tx = transfer(key, nonce, to, 1);
    auto t0 = Clock::now();
    if (!c.send(post_tx(tx, true))) break;
    auto [status, body] = c.response();
    if (status != 200 || body.find("\"code\":0,") == std::string::npos) {
      failed++;
      continue;
    }
    ms.push_back(ms_since(t0));
    nonce++;
  }
  return ms;
}

// Polls GET /v1/health until `stop`, keeping the slowest answer (ms).
void poll_health(uint16_t port, const std::atomic<bool>& stop, std::atomic<double>& worst) {
  Conn c(port);
  while (!stop) {
    auto t0 = Clock::now();
    c.send(get("/v1/health"));
    int status = c.response().first;
    double ms = ms_since(t0);
    if (status != 200) ms = 1e9;
    if (ms > worst) worst = ms;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace

int main() {
  crypto_init();
  const bool quick = bench::quick();
  const auto phase = std::chrono::milliseconds(quick ? 1500 : 10'000);
  const size_t flood_keys = quick ? 200 : 5000, flood_nonces = 8;
  const size_t book_accounts = quick ? 10 : 100, orders_each = quick ? 10 : 20;

  KeyPair validator = KeyPair::generate();
  KeyPair honest = KeyPair::from_seed(seed_of(1, 0x41));
  KeyPair sink = KeyPair::from_seed(seed_of(2, 0x41));
  KeyPair streamer = KeyPair::from_seed(seed_of(3, 0x41));
  std::vector<KeyPair> traders, trader_meters;
  json balances = {{honest.public_key().hex(), 1'000'000'000'000ull},
                   {streamer.public_key().hex(), 1'000}};
  for (size_t i = 0; i < book_accounts; ++i) {
    traders.push_back(KeyPair::from_seed(seed_of(i, 0x42)));
    trader_meters.push_back(KeyPair::from_seed(seed_of(i, 0x43)));
    balances[traders.back().public_key().hex()] = 1'000'000'000'000ull;
  }
  Genesis g = bench::market_genesis(kChain, validator, std::move(balances), json::object(),
                                    "bench-abuse-genesis");

  auto dir = std::filesystem::temp_directory_path() /
             ("gridpact-bench-abuse-" + validator.public_key().hex().substr(0, 8));
  std::filesystem::remove_all(dir);
  NodeOptions options{dir.string(), g, validator, {}, true};
  options.sender_standing = [](const StateReader& s, const PublicKey& k) {
    return bank::balance(s, k) > 0;
  };
  auto node = Node::open(std::move(options), bench::market_modules()).value();
  node->start();

  // The book the queries read: every trader's meter, then 20 orders each for a period ahead.
  auto now_ms = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
  const uint64_t period = now_ms / meters::kDefaultPeriodMs + 2;
  Hash32 last;
  for (size_t i = 0; i < book_accounts; ++i) {
    meters::RegisterPayload r;
    r.microgrid = "mg0";
    r.source = i % 2 == 0 ? meters::Source::kPv : meters::Source::kConsumer;
    r.location = "bench";
    r.firmware_version = "sim";
    r = meters::virtual_registration(trader_meters[i], traders[i].public_key(), kChain,
                                     std::move(r));
    auto tx = signed_tx(traders[i], 0, meters::kRegister, meters::encode(r));
    last = tx.id();
    if (!node->submit(std::move(tx))) return 1;
  }
  if (!node->wait_committed(last, std::chrono::seconds(60))) return 1;
  for (size_t i = 0; i < book_accounts; ++i)
    for (uint64_t n = 1; n <= orders_each; ++n) {
      Hash32 meter = meters::virtual_meter_id(trader_meters[i]);
      Transaction tx = bench::signed_order(kChain, traders[i], n, i % 2 == 0, period,
                                           bench::order_qty(i, n), bench::order_price(i, n), meter);
      last = tx.id();
      if (!node->submit(std::move(tx))) return 1;
    }
  if (!node->wait_committed(last, std::chrono::seconds(60))) return 1;

  api::Server server(*node, api::ServerOptions{});
  if (!server.start()) return 1;
  const auto port = static_cast<uint16_t>(server.port());
  std::atomic<size_t> failed{0};
  uint64_t nonce = 0;
  const PublicKey to = sink.public_key();

  auto baseline = honest_run(port, honest, nonce, to, phase, failed);
  bench::metric("abuse_baseline_p99_ms", bench::percentile(baseline, 0.99), "ms");

  std::atomic<bool> stop_health{false};
  std::atomic<double> health_worst{0};
  std::thread health([&] { poll_health(port, stop_health, health_worst); });

  // (a) The flood, signed beforehand: key k posts nonces 1..8, pipelined on 8 connections.
  {
    std::vector<std::string> requests(8);
    for (size_t k = 0; k < flood_keys; ++k) {
      KeyPair key = KeyPair::from_seed(seed_of(k, 0x44));
      for (uint64_t n = 1; n <= flood_nonces; ++n)
        requests[k % requests.size()] += post_tx(transfer(key, n, to, 1), false);
    }
    std::atomic<size_t> refused{0};
    std::vector<std::thread> attackers;
    for (size_t c = 0; c < requests.size(); ++c)
      attackers.emplace_back([&, c] {
        Conn conn(port);
        if (!conn.send(requests[c])) return;
        for (size_t i = 0; i < flood_keys * flood_nonces / requests.size(); ++i)
          if (conn.response().first != 200) refused++;
      });
    auto ms = honest_run(port, honest, nonce, to, phase, failed);
    for (auto& t : attackers) t.join();
    bench::metric("abuse_mempool_p99_ms", bench::percentile(ms, 0.99), "ms");
    bench::metric("abuse_mempool_flood_refused", static_cast<double>(refused.load()), "txs");
  }
  // (b) One funded account streams transfers of more than it holds, 64 at a time.
  {
    std::atomic<bool> stop{false};
    std::thread attacker([&] {
      Conn conn(port);
      for (uint64_t n = 0; !stop;) {
        std::string batch;
        for (int i = 0; i < 64; ++i, ++n)
          batch += post_tx(transfer(streamer, n, to, 1'000'000), false);
        if (!conn.send(batch)) return;
        for (int i = 0; i < 64; ++i) conn.response();
      }
    });
    auto ms = honest_run(port, honest, nonce, to, phase, failed);
    stop = true;
    attacker.join();
    bench::metric("abuse_failing_stream_p99_ms", bench::percentile(ms, 0.99), "ms");
  }
  // (c) Eight clients hammer the expensive public queries.
  {
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> answered{0}, refused{0};
    const std::string p = std::to_string(period);
    const std::vector<std::string> paths = {
        "/v1/market/book?period=" + p, "/v1/market/trades?period=" + p,
        "/v1/market/mix/" + traders.back().public_key().hex(), "/v1/meters/meters"};
    std::vector<std::thread> attackers;
    for (size_t c = 0; c < 8; ++c)
      attackers.emplace_back([&, c] {
        Conn conn(port);
        for (size_t i = c; !stop; ++i) {
          if (!conn.send(get(paths[i % paths.size()]))) return;
          (conn.response().first == 429 ? refused : answered)++;
        }
      });
    auto ms = honest_run(port, honest, nonce, to, phase, failed);
    stop = true;
    for (auto& t : attackers) t.join();
    bench::metric("abuse_queries_p99_ms", bench::percentile(ms, 0.99), "ms");
    // The attackers share one address: the query gate answers most of them 429 at once.
    bench::metric("abuse_queries_answered", static_cast<double>(answered.load()), "queries");
    bench::metric("abuse_queries_rate_limited", static_cast<double>(refused.load()), "queries");
  }
  stop_health = true;
  health.join();
  bench::metric("abuse_health_max_ms", health_worst.load(), "ms");
  bench::metric("abuse_honest_refused", static_cast<double>(failed.load()), "txs");
  server.stop();
  node->stop();
  std::filesystem::remove_all(dir);
  return failed.load() == 0 ? 0 : 1;
}
