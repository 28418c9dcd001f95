// A raw keep-alive HTTP/1.1 client for the benchmarks that drive a node over loopback
// (api_bench, abuse_bench): no client library between the load and the server.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <optional>
#include <string>

#include "base/hex.hpp"
#include "ledger/transaction.hpp"

namespace gridpact::bench {

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
  // Reads until `text` arrives; returns its line up to it, and drops everything up to it
  // (nullopt if the connection ends first). For event streams, where `text` is an id.
  std::optional<std::string> read_until(const std::string& text) {
    for (;;) {
      if (auto line = take_until(text)) return line;
      if (!fill()) return std::nullopt;
    }
  }
  // The next response's status and body (Content-Length framed); status 0 on failure.
  std::pair<int, std::string> response() {
    for (;;) {
      if (auto r = take_response()) return *std::move(r);
      if (!fill()) return {0, ""};
    }
  }

  // For a client that waits on many connections at once (epoll): the descriptor, one read
  // of what has arrived, and the two parses above on what is already read.
  int fd() const { return fd_; }
  bool fill() {
    char buf[16384];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return false;
    in_.append(buf, static_cast<size_t>(n));
    return true;
  }
  std::optional<std::string> take_until(const std::string& text) {
    auto at = in_.find(text);
    if (at == std::string::npos) return std::nullopt;
    auto line = in_.rfind('\n', at);
    line = line == std::string::npos ? 0 : line + 1;
    std::string before = in_.substr(line, at - line);
    in_.erase(0, at + text.size());
    return before;
  }
  std::optional<std::pair<int, std::string>> take_response() {
    size_t end = in_.find("\r\n\r\n");
    if (end == std::string::npos) return std::nullopt;
    size_t cl = in_.find("Content-Length: ");
    if (cl == std::string::npos || cl > end) cl = in_.find("content-length: ");
    size_t len = cl < end ? std::stoul(in_.substr(cl + 16)) : 0;
    if (in_.size() < end + 4 + len) return std::nullopt;
    int status = std::stoi(in_.substr(9, 3));
    std::string body = in_.substr(end + 4, len);
    in_.erase(0, end + 4 + len);
    return std::pair{status, std::move(body)};
  }

 private:
  int fd_ = -1;
  bool ok_ = false;
  std::string in_;
};

inline std::string post_tx(const Transaction& tx, bool wait) {
  std::string body = "{\"tx\":\"" + to_hex(tx.encode()) + "\"}";
  return std::string("POST /v1/tx") + (wait ? "?wait=commit" : "") +
         " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

inline std::string get(const std::string& path) {
  return "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
}

}  // namespace gridpact::bench
