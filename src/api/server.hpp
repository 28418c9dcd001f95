// The HTTP/JSON API of a node (documented in docs/openapi.yaml). Every route is under
// /v1/ except /metrics (Prometheus text). Transactions arrive as canonical bytes, hex in
// JSON or raw application/octet-stream, exactly as clients signed them.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <thread>

#include "ledger/receipt_proof.hpp"
#include "node/node.hpp"

namespace httplib {
class Server;
}

namespace gridpact::api {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0: any free port
  size_t threads = 16;
  size_t max_body_bytes = 16 << 20;
  size_t max_batch = 5000;
};

class Server {
 public:
  // Lets other parts (attestation, web app) add their routes before start().
  using Extension = std::function<void(httplib::Server&)>;

  Server(Node& node, ServerOptions options);
  ~Server();
  void extend(const Extension& ext);
  Status start();  // binds and serves on a background thread
  void stop();
  int port() const { return port_; }

 private:
  void routes();
  Node& node_;
  ServerOptions options_;
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> requests_{0};
  int subscription_ = -1;
  // Latest committed block event, for the block stream.
  std::mutex events_mutex_;
  std::condition_variable events_cv_;
  std::deque<std::pair<uint64_t, std::string>> recent_events_;
};

// Builds the receipt bundle of a committed transaction.
Result<ReceiptBundle> prove_receipt(const Store& store, const Hash32& tx_id);

}  // namespace gridpact::api
