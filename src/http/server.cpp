// The listener and its workers (server.hpp); each connection is a Session (session.hpp).
#include "http/server.hpp"

#include <thread>

#include "http/session.hpp"

namespace gridpact::http {

void Responder::send(Response response) const {
  post_to(shared_, session_, [id = request_, r = std::move(response)](Session& s) mutable {
    s.deliver(id, std::move(r));
  });
}

void Responder::send_after(Response response, std::chrono::milliseconds delay) const {
  post_to(shared_, session_, [id = request_, delay, r = std::move(response)](Session& s) mutable {
    auto timer = std::make_shared<asio::steady_timer>(s.executor(), delay);
    timer->async_wait(
        [timer, self = s.shared_from_this(), id, r = std::move(r)](beast::error_code) mutable {
          self->deliver(id, std::move(r));  // on stop too: deliver ignores a closed session
        });
  });
}

std::shared_ptr<EventStream> Responder::open_stream() const {
  if (shared_->streams.fetch_add(1) >= shared_->options.max_streams) {
    shared_->streams--;
    send(Response::error(error(Code::kOverloaded, "too many event subscribers")));
    return nullptr;
  }
  std::shared_ptr<EventStream> stream(new EventStream(shared_, session_));
  if (!post_to(shared_, session_,
               [id = request_, stream](Session& s) { s.begin_stream(id, stream); })) {
    stream->open_ = false;
    shared_->streams--;
  }
  return stream;
}

bool EventStream::send(std::string data) {
  if (!open_) return false;
  if (!post_to(shared_, session_,
               [d = std::move(data)](Session& s) mutable { s.stream_send(std::move(d)); }))
    open_ = false;
  return open_;
}

void EventStream::close() {
  if (!open_.exchange(false)) return;
  post_to(shared_, session_, [](Session& s) { s.stream_close(); });
}

bool EventStream::open() const {
  return open_;
}

struct Server::Impl {
  explicit Impl(size_t threads)
      : ioc(static_cast<int>(threads)), acceptor(asio::make_strand(ioc)) {}
  asio::io_context ioc;
  tcp::acceptor acceptor;
  asio::steady_timer retry{acceptor.get_executor()};
  std::vector<std::thread> workers;

  void accept(const std::shared_ptr<Shared>& shared) {
    acceptor.async_accept(asio::make_strand(ioc),
                          [this, shared](beast::error_code ec, tcp::socket socket) {
                            if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
                            if (!ec) {
                              admit(shared, std::move(socket));
                              return accept(shared);
                            }
                            // Out of descriptors or memory: retry shortly, not in a spin.
                            retry.expires_after(std::chrono::milliseconds(20));
                            retry.async_wait([this, shared](beast::error_code e) {
                              if (!e) accept(shared);
                            });
                          });
  }

  static void admit(const std::shared_ptr<Shared>& shared, tcp::socket socket) {
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    if (shared->connections.load() >= shared->options.max_connections) {
      // Refused without a session: one small non-blocking write of the error, then close.
      // (Under TLS there is no channel for it before a handshake: closed at once.)
      shared->refused_total++;
      std::string text =
          raw_answer("503 Service Unavailable", error(Code::kOverloaded, "too many connections"));
      socket.non_blocking(true, ignored);
      if (!shared->tls) socket.write_some(asio::buffer(text), ignored);
      socket.close(ignored);
      return;
    }
    std::make_shared<Session>(std::move(socket), shared)->start();
  }
};

Server::Server(Router router, ServerOptions options) : shared_(std::make_shared<Shared>()) {
  if (options.threads == 0) options.threads = std::max(1u, std::thread::hardware_concurrency());
  shared_->options = std::move(options);
  shared_->router = std::move(router);
}

Server::~Server() {
  stop();
}

Status Server::start() {
  if (impl_) return error(Code::kInvalidArgument, "server already started");
  const ServerOptions& o = shared_->options;
  if (!o.tls_cert_file.empty() || !o.tls_key_file.empty()) {
    auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
    beast::error_code ec;
    ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                         asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                         asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use,
                     ec);
    if (!ec) ctx->use_certificate_chain_file(o.tls_cert_file, ec);
    if (!ec) ctx->use_private_key_file(o.tls_key_file, asio::ssl::context::pem, ec);
    if (ec)
      return error(Code::kInvalidArgument, "cannot load the TLS certificate " + o.tls_cert_file +
                                               " and key " + o.tls_key_file + ": " + ec.message());
    shared_->tls = std::move(ctx);
  }
  impl_ = std::make_unique<Impl>(o.threads);
  beast::error_code ec;
  auto address = asio::ip::make_address(o.host, ec);
  if (ec) return impl_.reset(), error(Code::kInvalidArgument, "bad listen address " + o.host);
  tcp::endpoint endpoint(address, o.port);
  auto& acc = impl_->acceptor;
  acc.open(endpoint.protocol(), ec);
  if (!ec) acc.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acc.bind(endpoint, ec);
  if (!ec) acc.listen(o.backlog, ec);
  if (ec) {
    impl_.reset();
    return error(Code::kInvalidArgument,
                 "cannot listen on " + o.host + ":" + std::to_string(o.port));
  }
  port_ = acc.local_endpoint().port();
  impl_->accept(shared_);
  for (size_t i = 0; i < o.threads; ++i) impl_->workers.emplace_back([this] { impl_->ioc.run(); });
  return Status::ok();
}

void Server::stop() {
  if (!impl_) return;
  impl_->ioc.stop();
  for (auto& t : impl_->workers) t.join();
  {
    std::lock_guard lock(shared_->life_mutex);
    shared_->alive = false;
  }
  beast::error_code ignored;
  impl_->acceptor.close(ignored);
  impl_.reset();  // destroys every session, closing its socket
}

ServerStats Server::stats() const {
  return {shared_->connections.load(), shared_->streams.load(), shared_->in_flight.load(),
          shared_->requests_total.load(), shared_->refused_total.load()};
}

}  // namespace gridpact::http
