// Each step is an asynchronous operation run to completion on the connection's own
// io_context: Beast's stream timeouts apply only to asynchronous operations, and a
// blocking read from a partitioned server would otherwise wait for TCP to give up.
#include "http/client.hpp"

#include <openssl/ssl.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <optional>

namespace gridpact::http {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

Result<Origin> parse_origin(std::string_view url) {
  Origin o;
  if (url.starts_with("https://")) {
    o.tls = true;
    url.remove_prefix(8);
  } else if (url.starts_with("http://")) {
    url.remove_prefix(7);
  } else {
    return error(Code::kInvalidArgument,
                 "a URL is http://HOST:PORT or https://HOST:PORT, not " + std::string(url));
  }
  while (url.ends_with('/')) url.remove_suffix(1);
  auto colon = url.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == url.size() ||
      url.find('/') != std::string_view::npos)
    return error(Code::kInvalidArgument, "a URL is http[s]://HOST:PORT");
  for (char c : url.substr(colon + 1))
    if (c < '0' || c > '9') return error(Code::kInvalidArgument, "bad port in a URL");
  o.host = std::string(url.substr(0, colon));
  if (o.host.size() > 2 && o.host.front() == '[' && o.host.back() == ']')
    o.host = o.host.substr(1, o.host.size() - 2);  // [::1]
  o.port = std::string(url.substr(colon + 1));
  return o;
}

struct Client::Tls {
  asio::ssl::context context{asio::ssl::context::tls_client};
};

struct Client::Connection {
  asio::io_context io;
  beast::tcp_stream plain{io};
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;

  beast::tcp_stream& tcp() { return tls ? beast::get_lowest_layer(*tls) : plain; }
  template <typename F>
  void with_stream(F&& f) {
    if (tls)
      f(*tls);
    else
      f(plain);
  }
  // Runs the operations started on `io` to completion (each bounded by the stream's timer).
  void run() {
    io.restart();
    io.run();
  }
};

Client::Client(std::chrono::milliseconds timeout, size_t max_body, TlsClientFiles tls)
    : timeout_(timeout), max_body_(max_body), files_(std::move(tls)) {}

Client::~Client() = default;

void Client::reset() {
  connection_.reset();
}

Result<ClientAnswer> Client::request(const Origin& to, std::string_view method,
                                     const std::string& target, const std::string& body,
                                     std::string_view content_type,
                                     std::chrono::milliseconds timeout) {
  if (timeout.count() <= 0) timeout = timeout_;
  if (!(to == origin_)) connection_.reset();
  origin_ = to;
  const std::string where = (to.tls ? "https://" : "http://") + to.host + ":" + to.port;
  if (to.tls && !tls_) {
    auto t = std::make_unique<Tls>();
    beast::error_code ec;
    auto& ctx = t->context;
    ctx.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                        asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                        asio::ssl::context::no_tlsv1_1,
                    ec);
    ctx.set_verify_mode(asio::ssl::verify_peer, ec);
    if (files_.ca_file.empty())
      ctx.set_default_verify_paths(ec);
    else
      ctx.load_verify_file(files_.ca_file, ec);
    if (ec) return error(Code::kInvalidArgument, "cannot load the CA file " + files_.ca_file);
    if (!files_.cert_file.empty()) {
      ctx.use_certificate_chain_file(files_.cert_file, ec);
      if (!ec) ctx.use_private_key_file(files_.key_file, asio::ssl::context::pem, ec);
      if (ec)
        return error(Code::kInvalidArgument, "cannot load the client certificate " +
                                                 files_.cert_file + " and key " + files_.key_file);
    }
    tls_ = std::move(t);
  }
  auto failed = [&](const std::string& why) -> Status {
    connection_.reset();
    return error(Code::kTimeout, where + ": " + why);
  };
  beast::error_code ec;
  auto done = [&ec](beast::error_code e, auto&&...) { ec = e; };
  if (!connection_) {
    auto c = std::make_unique<Connection>();
    asio::ip::tcp::resolver resolver(c->io);
    auto addresses = resolver.resolve(to.host, to.port, ec);
    if (ec) return failed("cannot resolve: " + ec.message());
    if (to.tls) c->tls.emplace(c->io, tls_->context);
    c->tcp().expires_after(timeout);
    c->tcp().async_connect(addresses, done);
    c->run();
    if (ec) return failed("cannot connect: " + ec.message());
    c->tcp().socket().set_option(asio::ip::tcp::no_delay(true), ec);
    if (to.tls) {
      SSL* ssl = c->tls->native_handle();
      asio::ip::make_address(to.host, ec);
      if (ec && !SSL_set_tlsext_host_name(ssl, to.host.c_str()))  // SNI for names only
        return failed("cannot set the TLS server name");
      c->tls->set_verify_callback(asio::ssl::host_name_verification(to.host));
      c->tcp().expires_after(timeout);
      c->tls->async_handshake(asio::ssl::stream_base::client, done);
      c->run();
      if (ec) return failed("TLS handshake failed: " + ec.message());
    }
    connection_ = std::move(c);
  }
  Connection& c = *connection_;
  bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(method), target, 11};
  req.set(bhttp::field::host, to.host);
  if (!content_type.empty()) req.set(bhttp::field::content_type, content_type);
  req.keep_alive(true);
  req.body() = body;
  req.prepare_payload();
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(max_body_);
  c.tcp().expires_after(timeout);
  c.with_stream([&](auto& s) { bhttp::async_write(s, req, done); });
  c.run();
  if (ec) return failed("cannot send: " + ec.message());
  c.with_stream([&](auto& s) { bhttp::async_read(s, c.buffer, parser, done); });
  c.run();
  if (ec) return failed("no answer: " + ec.message());
  auto res = parser.release();
  if (!res.keep_alive()) connection_.reset();
  return ClientAnswer{static_cast<int>(res.result_int()), std::move(res.body())};
}

}  // namespace gridpact::http
