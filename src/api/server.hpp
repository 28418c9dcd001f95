// The HTTP/JSON API of a node (documented in docs/openapi.yaml), on the asynchronous
// server of src/http. Every route is under /v1/ except /metrics (Prometheus text).
// Transactions arrive as canonical bytes, hex in JSON or raw application/octet-stream,
// exactly as clients signed them.
#pragma once

#include <functional>
#include <memory>

#include "api/query_gate.hpp"
#include "http/server.hpp"
#include "ledger/receipt_proof.hpp"
#include "node/node.hpp"

namespace gridpact::api {

class CommitFeed;
class ReceiptCache;

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;                // 0: any free port
  size_t threads = 0;          // 0: the machine's hardware threads
  size_t max_connections = 0;  // 0: from the process's descriptor limit (default_max_connections)
  size_t max_streams = 2000;   // event subscribers at once
  size_t max_body_bytes = 16 << 20;
  size_t max_batch = 5000;
  size_t max_json_depth = 64;
  // Names a request's Host may carry (any port). Empty: the listen address, localhost,
  // 127.0.0.1 and [::1]. Anything else (a DNS-rebinding page) gets 403 FORBIDDEN_HOST.
  std::vector<std::string> allowed_hosts;
  // Origins (scheme://host[:port]) whose pages may read responses (CORS). Empty: same
  // origin only, no Access-Control-Allow-Origin is ever sent.
  std::vector<std::string> cors_origins;
  // Expensive queries (module queries, /v1/accounts, /v1/db, /v1/attestation): their own
  // pool and per-client limits (api/query_gate.hpp).
  QueryLimits queries;
  // HTTPS with this certificate chain and key (PEM files); both empty: plain HTTP.
  std::string tls_cert_file, tls_key_file;
};

// Connections the process can hold: its RLIMIT_NOFILE less a reserve for the store's files
// and the node's own sockets (at least 64).
size_t default_max_connections();

// Whether a Host header value names one of `allowed` (default list as above for `listen`).
bool host_allowed(std::string_view host_header, const std::string& listen,
                  const std::vector<std::string>& allowed);

class Server {
 public:
  // Lets other parts (attestation, the SQL read model) add their routes before start().
  using Extension = std::function<void(http::Router&)>;

  Server(Node& node, ServerOptions options);
  ~Server();
  void extend(const Extension& ext);
  // An expensive query computes its whole answer; the gate sends it.
  using Query = std::function<http::Response(http::Request&)>;
  // `query` as a route's handler: run through the query gate (its own pool, per-client
  // limits), answered HTTP 429 (over the client's limits) or 503 (queue full) with the
  // error OVERLOADED when the gate refuses it. The client's query is counted out before its
  // answer is sent (QueryGate::run).
  http::Handler gated(Query query);
  Status start();  // binds and serves on the server's own workers
  void stop();
  int port() const { return port_; }

 private:
  void routes(http::Router& router);
  void add_tx_routes(http::Router& router);
  void add_read_routes(http::Router& router);
  // The per-module query path, GET /v1/{module}/{path...}: added last, after every other
  // route (extensions included), so that it never shadows one.
  void add_module_routes(http::Router& router);
  void submit(http::Request& req, const http::Responder& res);
  std::string metrics() const;

  Node& node_;
  ServerOptions options_;
  http::Router router_;
  std::unique_ptr<http::Server> http_;
  std::unique_ptr<CommitFeed> feed_;
  std::unique_ptr<ReceiptCache> receipts_;
  std::unique_ptr<QueryGate> gate_;
  int port_ = 0;
};

// Builds the receipt bundle of a committed transaction.
Result<ReceiptBundle> prove_receipt(const Store& store, const Hash32& tx_id);

}  // namespace gridpact::api
