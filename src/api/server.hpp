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
#include <vector>

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
  // Names a request's Host may carry (any port). Empty: the listen address, localhost,
  // 127.0.0.1 and [::1]. Anything else (a DNS-rebinding page) gets 403 FORBIDDEN_HOST.
  std::vector<std::string> allowed_hosts;
  // Origins (scheme://host[:port]) whose pages may read responses (CORS). Empty: same
  // origin only, no Access-Control-Allow-Origin is ever sent.
  std::vector<std::string> cors_origins;
};

// Whether a Host header value names one of `allowed` (default list as above for `listen`).
bool host_allowed(std::string_view host_header, const std::string& listen,
                  const std::vector<std::string>& allowed);

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
