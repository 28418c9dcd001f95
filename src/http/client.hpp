// A small blocking HTTP/1.1 client on one keep-alive connection, plain or TLS (Boost.Beast
// over Asio, OpenSSL for TLS): what the node needs to talk to etcd's JSON gateway and to
// its peers' block API. The command line talks to a node with cpp-httplib instead.
//
// TLS: the server's certificate chain is verified against `ca_file` (PEM; empty: the
// system's CAs) and must name the host the URL names (an IP address in a URL must be in
// the certificate's IP SANs); a client certificate is sent when `cert_file` is given.
// Each request has `timeout` for everything (connect, handshake, write, read); a failed
// request drops the connection, the next one opens a new one.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "base/error.hpp"

namespace gridpact::http {

struct TlsClientFiles {
  std::string ca_file;    // PEM CAs that may sign the server's certificate; empty: the system's
  std::string cert_file;  // this client's certificate chain (PEM), optional
  std::string key_file;   // its private key (PEM), with cert_file
};

// Where a request goes: scheme, host and port of a URL.
struct Origin {
  bool tls = false;
  std::string host, port;
  bool operator==(const Origin&) const = default;
};

// "http://HOST:PORT" or "https://HOST:PORT" (trailing '/' ignored; no path); INVALID_ARGUMENT
// otherwise.
Result<Origin> parse_origin(std::string_view url);

struct ClientAnswer {
  int status = 0;
  std::string body;
};

class Client {
 public:
  explicit Client(std::chrono::milliseconds timeout, size_t max_body = size_t{64} << 20,
                  TlsClientFiles tls = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Sends one request to `to` on the open connection (a new one if it goes elsewhere) and
  // reads the whole answer. TIMEOUT with the reason when the server cannot be reached, the
  // TLS handshake fails (a certificate not from the CA, a plain HTTP server) or the answer
  // does not arrive whole in time; INVALID_ARGUMENT when the TLS files cannot be loaded.
  // `timeout` (when not zero) replaces the client's for this request.
  Result<ClientAnswer> request(const Origin& to, std::string_view method, const std::string& target,
                               const std::string& body = {}, std::string_view content_type = {},
                               std::chrono::milliseconds timeout = {});
  // Closes the connection (the next request opens a new one).
  void reset();

 private:
  struct Connection;
  struct Tls;
  std::chrono::milliseconds timeout_;
  size_t max_body_;
  TlsClientFiles files_;
  std::unique_ptr<Tls> tls_;  // loaded on the first TLS request
  Origin origin_;
  std::unique_ptr<Connection> connection_;
};

}  // namespace gridpact::http
