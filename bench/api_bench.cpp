// The HTTP API under load, served by the asynchronous server (gridpact_http), driven by a
// client of raw keep-alive sockets (one blocking thread per account: each spends its time
// waiting for the server, so the client is not the limit; its CPU is printed beside).
//
//   METRIC api_wait_commit_tx_per_s    100 accounts x 20 transfers, each account keeping one
//                                      in flight with ?wait=commit on its own connection
//   METRIC api_wait_commit_p50_ms / _p99_ms   submit-to-answer latency of those
//   METRIC api_all_in_flight_tx_per_s  the same 2,000 transfers, every account sending all of
//                                      its 20 at once (pipelined), until all are committed
//   METRIC api_health_p99_ms           GET /v1/health while idle keep-alive connections and
//                                      event subscribers are held open (their counts printed
//                                      as api_health_idle_connections and _subscribers)
//
// Until the API itself moves onto gridpact_http, this file serves the three routes it uses
// (POST /v1/tx with wait=commit, GET /v1/health, GET /v1/events/blocks) the way the API
// will: a parked wait holds no thread and is answered from the block subscription. Workload:
// bank transfers (the market's orders follow once the API is switched over).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sodium.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "bench_util.hpp"
#include "http/server.hpp"
#include "modules/bank/bank.hpp"
#include "node/node.hpp"

using namespace gridpact;
using Clock = std::chrono::steady_clock;

namespace {

// The routes the benchmark needs, served as the API will serve them.
class NodeRoutes {
 public:
  explicit NodeRoutes(Node& node) : node_(node) {
    subscription_ = node_.subscribe(
        [this](const Block& b, const std::vector<Receipt>& rs) { on_block(b, rs); });
  }
  ~NodeRoutes() { node_.unsubscribe(subscription_); }

  http::Router router() {
    http::Router r;
    r.add("GET", "/v1/health", [this](http::Request&, const http::Responder& res) {
      json j = {{"status", "ok"}, {"height", node_.store().height().value_or(0)}};
      res.send(http::Response::json_text(j.dump()));
    });
    r.add("POST", "/v1/tx",
          [this](http::Request& req, const http::Responder& res) { submit(req, res); });
    r.add("GET", "/v1/events/blocks", [this](http::Request&, const http::Responder& res) {
      if (auto s = res.open_stream()) {
        std::lock_guard lock(mutex_);
        streams_.push_back(std::move(s));
      }
    });
    return r;
  }

 private:
  void submit(http::Request& req, const http::Responder& res) {
    if (!http::json_depth_within(req.body, 8))
      return res.send(http::Response::error(error(Code::kJsonTooDeep, "JSON nested too deep")));
    json body = json::parse(req.body, nullptr, false);
    auto raw = body.is_object() && body.contains("tx") && body["tx"].is_string()
                   ? from_hex(body["tx"].get<std::string>())
                   : std::nullopt;
    if (!raw) return res.send(http::Response::error(error(Code::kMalformedJson, "need tx hex")));
    auto tx = Transaction::decode(*raw);
    if (!tx) return res.send(http::Response::error(tx.status()));
    auto id = node_.submit(std::move(tx).value());
    if (!id) return res.send(http::Response::error(id.status()));
    if (req.query_value("wait") != "commit")
      return res.send(
          http::Response::json_text(json({{"tx_id", id->hex()}, {"status", "accepted"}}).dump()));
    {
      std::lock_guard lock(mutex_);
      if (parked_.size() >= kMaxParked)
        return res.send(http::Response::error(error(Code::kOverloaded, "too many waiting")));
      parked_[*id].push_back(res);
    }
    // It may have committed before it was parked: answer now (a second answer is ignored).
    if (auto loc = node_.store().find_tx(*id))
      if (auto r = node_.store().receipt(loc->height, loc->index)) answer(*id, *r);
  }

  void on_block(const Block& b, const std::vector<Receipt>& rs) {
    json ids = json::array();
    for (size_t i = 0; i < b.txs.size() && i < rs.size(); ++i) {
      ids.push_back(rs[i].tx_id.hex());
      answer(rs[i].tx_id, rs[i]);
    }
    std::string event =
        "event: block\ndata: " + json({{"height", b.header.height}, {"txs", ids}}).dump() + "\n\n";
    std::lock_guard lock(mutex_);
    std::erase_if(streams_, [&](const auto& s) { return !s->send(event); });
  }

  void answer(const Hash32& id, const Receipt& r) {
    std::vector<http::Responder> waiting;
    {
      std::lock_guard lock(mutex_);
      auto it = parked_.find(id);
      if (it == parked_.end()) return;
      waiting = std::move(it->second);
      parked_.erase(it);
    }
    std::string text =
        json({{"tx_id", id.hex()}, {"status", "committed"}, {"code", r.code}}).dump();
    for (auto& w : waiting) w.send(http::Response::json_text(text));
  }

  static constexpr size_t kMaxParked = 100'000;
  Node& node_;
  int subscription_ = -1;
  std::mutex mutex_;
  std::unordered_map<Hash32, std::vector<http::Responder>, FixedBytesHasher> parked_;
  std::vector<std::shared_ptr<http::EventStream>> streams_;
};

// A raw keep-alive client connection.
class Conn {
 public:
  explicit Conn(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~Conn() {
    if (fd_ >= 0) ::close(fd_);
  }
  Conn(const Conn&) = delete;
  bool ok() const { return ok_; }
  bool send(const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
      ssize_t n = ::send(fd_, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return ok_ = false;
      off += static_cast<size_t>(n);
    }
    return true;
  }
  // The next response's status and body (Content-Length framed); status 0 on failure.
  std::pair<int, std::string> response() {
    for (;;) {
      size_t end = in_.find("\r\n\r\n");
      if (end != std::string::npos) {
        size_t cl = in_.find("Content-Length: ");
        if (cl == std::string::npos || cl > end) cl = in_.find("content-length: ");
        size_t len = cl < end ? std::stoul(in_.substr(cl + 16)) : 0;
        if (in_.size() >= end + 4 + len) {
          int status = std::stoi(in_.substr(9, 3));
          std::string body = in_.substr(end + 4, len);
          in_.erase(0, end + 4 + len);
          return {status, body};
        }
      }
      char buf[16384];
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return {0, ""};
      in_.append(buf, static_cast<size_t>(n));
    }
  }

 private:
  int fd_ = -1;
  bool ok_ = false;
  std::string in_;
};

std::string post_tx(const Transaction& tx, bool wait) {
  std::string body = "{\"tx\":\"" + to_hex(tx.encode()) + "\"}";
  return std::string("POST /v1/tx") + (wait ? "?wait=commit" : "") +
         " HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

double cpu_us() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto us = [](const timeval& t) {
    return 1e6 * static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec);
  };
  return us(u.ru_utime) + us(u.ru_stime);
}

}  // namespace

int main() {
  crypto_init();
  const size_t accounts = 100, per_account = 20;
  std::vector<KeyPair> keys;
  for (size_t i = 0; i < accounts; ++i) keys.push_back(KeyPair::generate());
  auto validator = KeyPair::generate();
  json balances = json::object();
  for (const auto& k : keys) balances[k.public_key().hex()] = 1'000'000'000;
  Genesis genesis;
  genesis.chain_id = "bench-api";
  genesis.validator = validator.public_key();
  genesis.document = {{"bank", {{"issuer", validator.public_key().hex()}, {"balances", balances}}}};
  genesis.hash = sha256("bench-api-genesis");

  // Rounds: nonces [0, 20) with wait=commit, [20, 40) all in flight.
  auto transfer = [&](size_t from, uint64_t nonce) {
    Transaction tx;
    tx.chain_id = genesis.chain_id;
    tx.nonce = nonce;
    tx.type = bank::kTransfer;
    tx.payload =
        bank::encode(bank::TransferPayload{keys[(from + 1) % accounts].public_key(), 1, ""});
    tx.sign(keys[from]);
    return tx;
  };

  auto dir = std::filesystem::temp_directory_path() /
             ("gridpact-bench-api-" + validator.public_key().hex().substr(0, 8));
  std::filesystem::remove_all(dir);
  auto node = Node::open(NodeOptions{dir.string(), genesis, validator, {}, true},
                         [] {
                           std::vector<std::unique_ptr<Module>> m;
                           m.push_back(std::make_unique<bank::BankModule>());
                           return m;
                         }())
                  .value();
  node->start();
  NodeRoutes routes(*node);
  http::ServerOptions options;
  options.max_connections = 30'000;
  http::Server server(routes.router(), options);
  if (!server.start()) return 1;
  const uint16_t port = server.port();
  int status = 0;

  // One in flight per account, waiting for the commit on the same connection.
  {
    std::vector<double> latency(accounts * per_account);
    std::atomic<size_t> committed{0};
    double cpu_start = cpu_us();
    auto start = Clock::now();
    std::vector<std::thread> threads;
    for (size_t a = 0; a < accounts; ++a)
      threads.emplace_back([&, a] {
        Conn c(port);
        for (size_t n = 0; n < per_account; ++n) {
          std::string req = post_tx(transfer(a, n), true);
          auto t0 = Clock::now();
          if (!c.send(req)) return;
          auto [code, body] = c.response();
          latency[a * per_account + n] =
              std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
          if (code == 200 && body.find("\"committed\"") != std::string::npos) committed++;
        }
      });
    for (auto& t : threads) t.join();
    double secs = std::chrono::duration<double>(Clock::now() - start).count();
    bench::metric("api_wait_commit_tx_per_s", static_cast<double>(committed) / secs, "tx/s");
    bench::metric("api_wait_commit_p50_ms", bench::percentile(latency, 0.5), "ms");
    bench::metric("api_wait_commit_p99_ms", bench::percentile(latency, 0.99), "ms");
    bench::metric("api_wait_commit_cpu_us_per_tx",
                  (cpu_us() - cpu_start) / static_cast<double>(std::max<size_t>(committed, 1)),
                  "us");
    if (committed != accounts * per_account) status = 1;
  }

  // All in flight: each account pipelines its 20 on one connection; done when committed.
  {
    uint64_t before = node->stats().txs_committed;
    auto start = Clock::now();
    std::vector<std::thread> threads;
    std::atomic<size_t> accepted{0};
    for (size_t a = 0; a < accounts; ++a)
      threads.emplace_back([&, a] {
        Conn c(port);
        std::string all;
        for (size_t n = per_account; n < 2 * per_account; ++n)
          all += post_tx(transfer(a, n), false);
        if (!c.send(all)) return;
        for (size_t n = 0; n < per_account; ++n)
          if (c.response().first == 200) accepted++;
      });
    for (auto& t : threads) t.join();
    const uint64_t want = before + accepted;
    auto deadline = Clock::now() + std::chrono::seconds(60);
    while (node->stats().txs_committed < want && Clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    double secs = std::chrono::duration<double>(Clock::now() - start).count();
    bench::metric("api_all_in_flight_tx_per_s",
                  static_cast<double>(node->stats().txs_committed - before) / secs, "tx/s");
    if (accepted != accounts * per_account) status = 1;
  }

  // Health while idle connections and subscribers are held. Both ends of each connection
  // live in this process: the file limit bounds how many can be held.
  {
    rlimit lim{};
    getrlimit(RLIMIT_NOFILE, &lim);
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
    size_t subscribers = bench::quick() ? 100 : 1000;
    size_t room = lim.rlim_cur > 2000 ? (lim.rlim_cur - 1000) / 2 : 0;
    size_t idle = std::min<size_t>(bench::quick() ? 1000 : 10'000, room - subscribers);
    std::vector<std::unique_ptr<Conn>> held;
    for (size_t i = 0; i < idle + subscribers; ++i) {
      held.push_back(std::make_unique<Conn>(port));
      if (i >= idle) held.back()->send("GET /v1/events/blocks HTTP/1.1\r\nHost: bench\r\n\r\n");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // let them settle
    Conn c(port);
    std::vector<double> ms;
    for (int i = 0; i < (bench::quick() ? 200 : 2000); ++i) {
      auto t0 = Clock::now();
      c.send("GET /v1/health HTTP/1.1\r\nHost: bench\r\n\r\n");
      if (c.response().first != 200) status = 1;
      ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    }
    auto st = server.stats();
    bench::metric("api_health_p99_ms", bench::percentile(ms, 0.99), "ms");
    bench::metric("api_health_idle_connections",
                  static_cast<double>(st.connections - st.streams - 1), "connections");
    bench::metric("api_health_subscribers", static_cast<double>(st.streams), "streams");
  }
  server.stop();
  node->stop();
  std::filesystem::remove_all(dir);
  return status;
}
