// An asynchronous HTTP/1.1 server, independent of the API: a router of
// (method, path template) -> handler, on a few worker threads running one io_context.
//
// Why Boost.Beast (Debian 12's Boost 1.81) rather than libmicrohttpd: Beast is header-only
// C++ on Asio, so a handler can finish a request later from any thread (a parked
// `wait=commit`, an event stream) with no thread held and no C callbacks or suspend/resume
// bookkeeping; its parser reports each framing fault (bad Content-Length, bad chunk, limits)
// as a distinct error we can answer with a stable code; and timers, strands and the
// connection lifetime are ordinary Asio objects we already bound and test.
//
// Behaviour:
// - TCP_NODELAY on every connection, each response written in one gathered write, so a
//   keep-alive request never waits for the client's delayed acknowledgement.
// - An idle keep-alive connection or an event subscriber is a pending read on a socket: it
//   holds no worker. Idle connections close after `idle_timeout`; a request must arrive whole
//   within `read_timeout` of its first byte (else 408) and be answered within
//   `request_deadline` (else 504 TIMEOUT).
// - Refusal order while reading: URL length (414), header bytes and count (431), framing
//   (400 BAD_FRAMING: negative or garbage Content-Length, bad chunking), body size (413);
//   then routing: no route (404), route without this method (405 with Allow).
// - Every error is the API's JSON error {"error":{"code":N,"name":"...","message":"..."}} with
//   a code from base/error.hpp; a handler's exception becomes 500 STORAGE "internal error"
//   (its text is logged, never sent).
// - Connections beyond `max_connections` and streams beyond `max_streams` are refused with
//   503 OVERLOADED (a TLS connection beyond the cap is closed: it has no channel yet).
// - Optional TLS (OpenSSL through boost::asio::ssl): see ServerOptions::tls_cert_file.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"

namespace gridpact::http {

struct Request {
  std::string method;                                        // upper case, e.g. "GET"
  std::string target;                                        // as received: path and query
  std::string path;                                          // percent-decoded, without the query
  std::map<std::string, std::string, std::less<>> query;     // decoded; first value of a name wins
  std::map<std::string, std::string, std::less<>> params;    // from the route's {name} segments
  std::vector<std::pair<std::string, std::string>> headers;  // names in lower case
  std::string body;
  std::string remote;  // the client's address (no port), as the socket sees it

  // The first header of that (lower-case) name, if any.
  std::optional<std::string_view> header(std::string_view lower_name) const;
  std::string param(std::string_view name) const;
  std::optional<std::string> query_value(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  // The API's error body for `s`, with the HTTP status of its code (status_for).
  static Response error(const Status& s);
  static Response json_text(std::string body, int status = 200);
};

// The HTTP status the API uses for an error code (400 when the code names bad input).
int status_for(Code code);
// {"error":{"code":N,"name":"...","message":"..."}} as text.
std::string error_body(const Status& s);
// True if the JSON text nests arrays/objects at most `max_depth` deep (strings are skipped);
// call before parsing a body so that a deep document is refused before it is built.
bool json_depth_within(std::string_view text, size_t max_depth);

class Session;
struct Shared;

// An open server-sent event stream. Thread-safe; every call is cheap and never blocks.
class EventStream {
 public:
  // Queues `data` (already formatted, e.g. "event: block\ndata: {...}\n\n"). False once the
  // client is gone or the stream was closed (a subscriber that falls `max_stream_buffer`
  // bytes behind is closed): drop the stream then.
  bool send(std::string data);
  void close();
  bool open() const;

 private:
  friend class Session;
  friend class Responder;
  EventStream(std::shared_ptr<Shared> shared, std::weak_ptr<Session> session)
      : shared_(std::move(shared)), session_(std::move(session)) {}
  std::shared_ptr<Shared> shared_;
  std::weak_ptr<Session> session_;
  std::atomic<bool> open_{true};
};

// Completes one request exactly once, from any thread, now or later; later calls and calls
// after the deadline's 504 are ignored. Copies share the request.
class Responder {
 public:
  void send(Response response) const;
  // Sends `response` after `delay`, holding no worker meanwhile (a timer on the connection):
  // a refusal held this long costs a client that retries at once one request per `delay`
  // per connection instead of a busy loop. The request's deadline still applies.
  void send_after(Response response, std::chrono::milliseconds delay) const;
  // Answers with a chunked text/event-stream and returns the stream; nullptr (after a 503
  // OVERLOADED answer) when `max_streams` are already open.
  std::shared_ptr<EventStream> open_stream() const;

 private:
  friend class Session;
  Responder(std::shared_ptr<Shared> shared, std::weak_ptr<Session> session, uint64_t request)
      : shared_(std::move(shared)), session_(std::move(session)), request_(request) {}
  std::shared_ptr<Shared> shared_;
  std::weak_ptr<Session> session_;
  uint64_t request_;
};

using Handler = std::function<void(Request&, const Responder&)>;

// Path templates are literal segments and whole-segment parameters: "/v1/tx/{id}"; a last
// segment "{name...}" takes one or more remaining segments, joined by '/'
// ("/v1/{module}/{path...}" matches /v1/market/book/3 with path "book/3").
// Routes are tried in the order added; the first whose template and method match wins.
class Router {
 public:
  void add(std::string method, std::string path_template, Handler handler);
  // The handler for (method, path) with `params` filled, or an error: NOT_FOUND when no
  // template matches, METHOD_NOT_ALLOWED (with `allow`) when none matches with this method.
  Result<const Handler*> match(std::string_view method, std::string_view path,
                               std::map<std::string, std::string, std::less<>>& params,
                               std::string& allow) const;

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;  // "{name}" is a parameter
    Handler handler;
  };
  std::vector<Route> routes_;
};

using Headers = std::vector<std::pair<std::string, std::string>>;
// Runs on every request before routing (the API's Host check and CORS): a response answers
// the request there; headers added to `extra` go on whatever answer the request gets
// (including a later one, a 404 or an event stream).
using Filter = std::function<std::optional<Response>(const Request&, Headers& extra)>;

struct ServerOptions {
  Filter filter;
  std::string host = "127.0.0.1";
  uint16_t port = 0;   // 0: any free port (see Server::port)
  size_t threads = 0;  // 0: the machine's hardware concurrency
  int backlog = 1024;
  size_t max_connections = 20000;
  size_t max_streams = 2000;
  size_t max_url_bytes = 4096;
  size_t max_header_bytes = 16 * 1024;  // all header fields together
  size_t max_header_count = 100;
  size_t max_body_bytes = 8 * 1024 * 1024;
  size_t max_stream_buffer = 1024 * 1024;  // bytes queued for one slow subscriber
  std::chrono::milliseconds idle_timeout{60000};
  std::chrono::milliseconds read_timeout{10000};
  std::chrono::milliseconds request_deadline{70000};
  std::chrono::milliseconds stream_heartbeat{15000};
  // HTTPS: the certificate chain and private key (PEM files); both empty: plain HTTP. Every
  // bound above holds under TLS too; a handshake must end within `handshake_timeout`, and
  // a plain HTTP request to a TLS port gets a plain 400 BAD_FRAMING saying so.
  std::string tls_cert_file, tls_key_file;
  std::chrono::milliseconds handshake_timeout{10000};
};

struct ServerStats {
  uint64_t connections = 0;  // open now
  uint64_t streams = 0;      // open now
  uint64_t in_flight = 0;    // requests handed to a handler and not yet answered
  uint64_t requests_total = 0;
  uint64_t refused_total = 0;  // connections refused at the cap
};

class Server {
 public:
  Server(Router router, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds, listens and starts the workers.
  Status start();
  // Stops accepting, closes every connection and joins the workers. Idempotent.
  void stop();
  uint16_t port() const { return port_; }
  ServerStats stats() const;

 private:
  struct Impl;
  std::shared_ptr<Shared> shared_;
  std::unique_ptr<Impl> impl_;
  uint16_t port_ = 0;
};

}  // namespace gridpact::http
