// The connection state machine behind server.hpp. One Session per connection, all of its
// work on one strand:
//   wait for a first byte (idle) -> read header -> checks -> read body -> route -> handler
//   -> (response | event stream) -> write -> next request or close.
// A session waiting for a handler is kept alive by its deadline timer, a streaming session
// by its pending read (which also notices the client leaving); nothing holds a worker.
//
// Internal to the server: included by server.cpp only.
#pragma once

#include <spdlog/spdlog.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <deque>
#include <mutex>

#include "http/framing.hpp"
#include "http/server.hpp"

namespace gridpact::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

struct Shared {
  ServerOptions options;
  Router router;
  std::unique_ptr<asio::ssl::context> tls;  // set when the server speaks HTTPS
  // Responders and streams post to sessions only while the io_context lives.
  std::mutex life_mutex;
  bool alive = true;
  std::atomic<uint64_t> connections{0}, streams{0}, in_flight{0}, requests_total{0},
      refused_total{0};
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<Shared> shared)
      : plain_(std::move(socket)),
        shared_(std::move(shared)),
        timer_(plain_.get_executor()),
        opt_(shared_->options) {
    shared_->connections++;
    // The peer's address, read once per connection rather than a system call per request.
    beast::error_code ec;
    auto peer = plain_.remote_endpoint(ec);
    if (!ec) remote_ = peer.address().to_string();
    if (shared_->tls) tls_.emplace(std::move(plain_), *shared_->tls);
  }
  ~Session() {
    end_stream();
    if (handling_) shared_->in_flight--;
    shared_->connections--;
  }

  void start() {
    if (!tls_) return wait_for_request();
    // The handshake is bounded like a request: a client that opens and stays silent, or
    // trickles its hello, is closed at `handshake_timeout`.
    phase_ = Phase::kIdle;
    arm(opt_.handshake_timeout);
    socket().async_wait(tcp::socket::wait_read, [self = shared_from_this()](beast::error_code ec) {
      if (ec) return self->close();
      self->handshake();
    });
  }
  asio::any_io_executor executor() { return socket().get_executor(); }

  // On the strand, from Responder / EventStream.
  void deliver(uint64_t request, Response r) {
    if (!answer(request)) return;
    write_response(std::move(r), keep_alive_);
  }
  void begin_stream(uint64_t request, const std::shared_ptr<EventStream>& stream) {
    if (!answer(request)) {
      stream->open_ = false;
      shared_->streams--;
      return;
    }
    stream_ = stream;
    closing_ = false;
    queue(std::string(
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
        "Transfer-Encoding: chunked\r\nConnection: close\r\n" +
        take_extra_headers() + "\r\n"));
    heartbeat();
    watch_for_close();
  }
  void stream_send(std::string data) {
    if (!stream_ || closing_ || data.empty()) return;
    char size[20];
    int n = std::snprintf(size, sizeof size, "%zx\r\n", data.size());
    if (out_bytes_ + data.size() > opt_.max_stream_buffer) return close();  // too slow
    queue(std::string(size, static_cast<size_t>(n)) + std::move(data) + "\r\n");
  }
  void stream_close() {
    if (!stream_ || closing_) return;
    queue("0\r\n\r\n");
    closing_ = true;
    end_stream();
  }

 private:
  // Marks the current request answered; false if it was already (or is not current).
  bool answer(uint64_t request) {
    if (!handling_ || request != request_id_) return false;
    handling_ = false;
    shared_->in_flight--;
    return true;
  }

  // The current phase ends at `d` from now. The timer is moved only when the new deadline
  // comes before its expiry: a keep-alive request re-arms four times (idle, read, handle,
  // write), each later than the last write's, so a request usually costs no timer
  // operation; a timer that fires before the deadline waits again until it.
  void arm(std::chrono::milliseconds d) {
    deadline_ = std::chrono::steady_clock::now() + d;
    if (timer_pending_ && timer_expiry_ <= deadline_) return;
    wait_until_deadline();
  }
  void wait_until_deadline() {
    uint64_t gen = ++timer_gen_;
    timer_pending_ = true;
    timer_expiry_ = deadline_;
    timer_.expires_at(deadline_);
    timer_.async_wait([self = shared_from_this(), gen](beast::error_code ec) {
      if (gen != self->timer_gen_) return;  // replaced, or disarmed
      self->timer_pending_ = false;
      if (ec) return;
      if (std::chrono::steady_clock::now() < self->deadline_) return self->wait_until_deadline();
      self->on_timeout();
    });
  }
  void disarm() {
    ++timer_gen_;
    timer_pending_ = false;
    timer_.cancel();
  }

  void on_timeout() {
    switch (phase_) {
      case Phase::kIdle:
      case Phase::kWriting:
        return close();
      case Phase::kReading:
        timed_out_ = true;
        socket().cancel();  // the read completes with operation_aborted and answers 408
        return;
      case Phase::kHandling:
        if (!answer(request_id_)) return;
        return write_response(Response::error(error(Code::kTimeout, "request deadline passed")),
                              false);
      case Phase::kStreaming:  // heartbeats re-arm the timer themselves
      case Phase::kClosed:
        return;
    }
  }

  // The socket beneath TLS, or the plain one.
  tcp::socket& socket() { return tls_ ? tls_->next_layer() : plain_; }
  // Calls `f` with the stream requests are read from and answers written to.
  template <typename F>
  void with_stream(F&& f) {
    if (tls_)
      f(*tls_);
    else
      f(plain_);
  }

  // A TLS port answers a plain HTTP request with a plain 400 saying so, then closes;
  // anything else that is not a TLS hello fails the handshake and is closed.
  void handshake() {
    unsigned char first = 0;
    beast::error_code ec;
    size_t n = socket().receive(asio::buffer(&first, 1), tcp::socket::message_peek, ec);
    if (ec || n == 0) return close();
    if (first != kTlsHandshakeRecord && std::isalpha(first)) {
      // Read what came (so that closing sends no reset over the answer), then answer.
      char discard[4096];
      socket().non_blocking(true, ec);
      while (socket().read_some(asio::buffer(discard), ec) == sizeof discard) {
      }
      auto text = std::make_shared<std::string>(raw_answer(
          "400 Bad Request",
          error(Code::kBadFraming, "this port serves HTTPS: plain HTTP is not answered")));
      phase_ = Phase::kWriting;
      asio::async_write(
          socket(), asio::buffer(*text),
          [self = shared_from_this(), text](beast::error_code, size_t) { self->close(); });
      return;
    }
    tls_->async_handshake(asio::ssl::stream_base::server,
                          [self = shared_from_this()](beast::error_code e) {
                            if (e) return self->close();
                            self->wait_for_request();
                          });
  }

  // An idle plain connection is just a pending readiness wait: no buffer, no worker. Under
  // TLS, decrypted bytes may already wait inside the TLS layer where a readiness wait
  // would not see them, so an idle TLS connection is a pending read of its first bytes.
  void wait_for_request() {
    phase_ = Phase::kIdle;
    if (buffer_.size() > 0) return read_header();  // a pipelined request is already here
    arm(opt_.idle_timeout);
    if (tls_) {
      tls_->async_read_some(buffer_.prepare(4096),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              if (ec) return self->close();
                              self->buffer_.commit(n);
                              self->read_header();
                            });
      return;
    }
    plain_.async_wait(tcp::socket::wait_read, [self = shared_from_this()](beast::error_code ec) {
      if (ec) return self->close();
      self->read_header();
    });
  }

  void read_header() {
    phase_ = Phase::kReading;
    timed_out_ = false;
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(opt_.max_url_bytes + opt_.max_header_bytes + 64));
    parser_->body_limit(opt_.max_body_bytes);
    arm(opt_.read_timeout);
    with_stream([&](auto& stream) {
      bhttp::async_read_header(
          stream, buffer_, *parser_,
          [self = shared_from_this()](beast::error_code ec, size_t) { self->on_header(ec); });
    });
  }

  void on_header(beast::error_code ec) {
    if (ec) return on_read_error(ec);
    const auto& h = parser_->get();
    if (h.target().size() > opt_.max_url_bytes)
      return fail(error(Code::kUrlTooLong,
                        "URL longer than " + std::to_string(opt_.max_url_bytes) + " bytes"));
    size_t count = 0, bytes = 0;
    for (const auto& f : h) {
      ++count;
      bytes += f.name_string().size() + f.value().size() + 4;
    }
    if (count > opt_.max_header_count || bytes > opt_.max_header_bytes)
      return fail(error(Code::kHeadersTooLarge,
                        "at most " + std::to_string(opt_.max_header_count) + " headers and " +
                            std::to_string(opt_.max_header_bytes) + " header bytes"));
    if (parser_->is_done()) return on_request();
    auto expect = h[bhttp::field::expect];
    if (beast::iequals(expect, "100-continue")) {
      with_stream([&](auto& stream) {
        asio::async_write(stream, asio::buffer(kContinue.data(), kContinue.size()),
                          [self = shared_from_this()](beast::error_code e, size_t) {
                            if (e) return self->close();
                            self->read_body();
                          });
      });
      return;
    }
    read_body();
  }

  void read_body() {
    with_stream([&](auto& stream) {
      bhttp::async_read(stream, buffer_, *parser_,
                        [self = shared_from_this()](beast::error_code ec, size_t) {
                          if (ec) return self->on_read_error(ec);
                          self->on_request();
                        });
    });
  }

  void on_read_error(beast::error_code ec) {
    if (ec == asio::error::operation_aborted) {
      if (!timed_out_) return close();
      return fail(error(Code::kRequestTimeout, "request not received in time"));
    }
    if (ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::error::connection_reset || ec == bhttp::error::partial_message ||
        ec.category() == asio::error::get_ssl_category() ||
        ec == asio::ssl::error::stream_truncated)
      return close();
    if (ec == bhttp::error::header_limit) {
      // Still in the buffer (the parser consumes a header only once it is whole): a
      // request line without its end within the URL bound is a long URL, else many headers.
      auto data = buffer_.data();
      std::string_view seen(static_cast<const char*>(data.data()),
                            std::min(data.size(), opt_.max_url_bytes + 32));
      if (seen.find('\n') == std::string_view::npos)
        return fail(error(Code::kUrlTooLong,
                          "URL longer than " + std::to_string(opt_.max_url_bytes) + " bytes"));
      return fail(
          error(Code::kHeadersTooLarge,
                "header fields exceed " + std::to_string(opt_.max_header_bytes) + " bytes"));
    }
    fail(read_error_status(ec));
  }

  // Answers a request that could not be read whole, then closes: the stream cannot resync.
  void fail(const Status& s) {
    buffer_.consume(buffer_.size());
    write_response(Response::error(s), false);
  }

  void on_request() {
    bhttp::request<bhttp::string_body> msg = parser_->release();
    parser_.reset();
    keep_alive_ = msg.keep_alive();
    Request req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    for (const auto& f : msg) {
      std::string name(f.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      req.headers.emplace_back(std::move(name), std::string(f.value()));
    }
    req.body = std::move(msg.body());
    req.remote = remote_;
    shared_->requests_total++;
    extra_headers_.clear();
    if (!parse_target(req.target, req))
      return write_response(
          Response::error(error(Code::kInvalidArgument, "bad percent-encoding in the URL")),
          keep_alive_);
    if (opt_.filter) {
      if (auto early = opt_.filter(req, extra_headers_))
        return write_response(std::move(*early), keep_alive_);
    }
    std::string allow;
    auto handler = shared_->router.match(req.method, req.path, req.params, allow);
    if (!handler) {
      Response r = Response::error(handler.status());
      if (!allow.empty()) r.headers.emplace_back("Allow", allow);
      return write_response(std::move(r), keep_alive_);
    }
    phase_ = Phase::kHandling;
    handling_ = true;
    shared_->in_flight++;
    uint64_t id = ++request_id_;
    arm(opt_.request_deadline);
    Responder responder(shared_, weak_from_this(), id);
    try {
      (**handler)(req, responder);
    } catch (const Error& e) {
      responder.send(Response::error(e.status()));
    } catch (const std::exception& e) {
      spdlog::warn("http: handler for {} {} threw: {}", req.method, req.path, e.what());
      responder.send(Response::error(error(Code::kStorage, "internal error")));
    }
  }

  void write_response(Response r, bool keep_alive) {
    phase_ = Phase::kWriting;
    arm(opt_.read_timeout);  // a client that never reads its answer is dropped
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>();
    res->result(static_cast<unsigned>(r.status));
    res->version(11);
    res->set(bhttp::field::content_type, r.content_type);
    for (auto& [k, v] : r.headers) res->set(k, v);
    for (auto& [k, v] : extra_headers_) res->set(k, v);
    extra_headers_.clear();
    res->body() = std::move(r.body);
    res->keep_alive(keep_alive);
    res->prepare_payload();
    // One gathered write: header and body leave in the same segment when they fit.
    with_stream([&](auto& stream) {
      bhttp::async_write(
          stream, *res, [self = shared_from_this(), res, keep_alive](beast::error_code ec, size_t) {
            if (ec || !keep_alive) return self->close();
            self->wait_for_request();
          });
    });
  }

  std::string take_extra_headers() {
    std::string out;
    for (const auto& [k, v] : extra_headers_) out += k + ": " + v + "\r\n";
    extra_headers_.clear();
    return out;
  }

  // Event streams: a queue of framed chunks, written in order, bounded in bytes.
  void queue(std::string chunk) {
    phase_ = Phase::kStreaming;
    out_bytes_ += chunk.size();
    out_.push_back(std::move(chunk));
    flush();
  }
  void flush() {
    if (writing_) return;
    if (out_.empty()) {
      if (closing_) close();
      return;
    }
    auto batch = std::make_shared<std::string>();
    for (auto& c : out_) *batch += c;
    out_.clear();
    writing_ = true;
    with_stream([&](auto& stream) {
      asio::async_write(stream, asio::buffer(*batch),
                        [self = shared_from_this(), batch](beast::error_code ec, size_t) {
                          self->writing_ = false;
                          self->out_bytes_ -= std::min(self->out_bytes_, batch->size());
                          if (ec) return self->close();
                          self->flush();
                        });
    });
  }
  void heartbeat() {
    uint64_t gen = ++timer_gen_;
    timer_pending_ = false;  // the timer beats now; no deadline waits on it
    timer_.expires_after(opt_.stream_heartbeat);
    timer_.async_wait([self = shared_from_this(), gen](beast::error_code ec) {
      if (ec || gen != self->timer_gen_ || !self->stream_) return;
      self->queue(std::string("e\r\n: keep-alive\n\n\r\n"));
      self->heartbeat();
    });
  }
  // A subscriber sends nothing; a completed read means it left (or misbehaves).
  void watch_for_close() {
    with_stream([&](auto& stream) {
      stream.async_read_some(
          asio::buffer(scratch_),
          [self = shared_from_this()](beast::error_code, size_t) { self->close(); });
    });
  }
  void end_stream() {
    if (!stream_) return;
    stream_->open_ = false;
    shared_->streams--;
    stream_.reset();
  }

  void close() {
    end_stream();
    if (phase_ == Phase::kClosed) return;
    phase_ = Phase::kClosed;
    disarm();
    beast::error_code ignored;
    socket().shutdown(tcp::socket::shutdown_both, ignored);
    socket().close(ignored);
  }

  enum class Phase { kIdle, kReading, kHandling, kWriting, kStreaming, kClosed };

  tcp::socket plain_;   // moved into tls_ when the server speaks HTTPS
  std::string remote_;  // the client's address, as Request::remote
  std::optional<asio::ssl::stream<tcp::socket>> tls_;
  std::shared_ptr<Shared> shared_;
  asio::steady_timer timer_;
  const ServerOptions& opt_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  Phase phase_ = Phase::kIdle;
  uint64_t timer_gen_ = 0;
  std::chrono::steady_clock::time_point deadline_{};  // of the current phase (arm)
  std::chrono::steady_clock::time_point timer_expiry_{};
  bool timer_pending_ = false;  // a wait for deadline_ is set, at timer_expiry_
  uint64_t request_id_ = 0;
  bool handling_ = false;
  bool keep_alive_ = true;
  bool timed_out_ = false;
  std::shared_ptr<EventStream> stream_;
  Headers extra_headers_;  // from the filter, for the current request's answer
  std::deque<std::string> out_;
  size_t out_bytes_ = 0;
  bool writing_ = false;
  bool closing_ = false;
  char scratch_[64];
};

// Runs `fn(session)` on the session's strand while the server lives; false otherwise. A
// handler answering at once is already on that strand: it runs there and then, without a
// post (a queued handler, often another worker woken for it); from any other thread it is
// posted.
template <typename Fn>
inline bool post_to(const std::shared_ptr<Shared>& shared, const std::weak_ptr<Session>& weak,
                    Fn fn) {
  std::shared_ptr<Session> s;
  {
    std::lock_guard lock(shared->life_mutex);
    if (!shared->alive) return false;
    s = weak.lock();
    if (!s) return false;
    // `target` points into the executor: it must outlive the check.
    const asio::any_io_executor executor = s->executor();
    const auto* strand = executor.target<asio::strand<asio::io_context::executor_type>>();
    if (!strand || !strand->running_in_this_thread()) {
      // Moved, so that no reference is dropped here, outside the lock: the last one would
      // destroy the session on this thread, perhaps after the io_context.
      asio::post(executor, [s = std::move(s), fn = std::move(fn)]() mutable { fn(*s); });
      return true;
    }
  }
  fn(*s);  // on a worker of the io_context, which therefore lives
  return true;
}

}  // namespace gridpact::http
