// Fixtures of the HTTP server's tests (http_test.cpp, connections_test.cpp, https_test.cpp):
// a raw-socket prober (so that malformed requests reach the server exactly as written) and
// a server with a few routes over real loopback sockets. Test code only.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "http/client.hpp"
#include "http/server.hpp"
#include "http/testing_tls.hpp"

// Named, not anonymous: every test file's TEST_F must see the same fixture types.
namespace gridpact::http::test {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A blocking client socket with a receive deadline.
class Probe {
 public:
  explicit Probe(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~Probe() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool connected() const { return connected_; }
  bool send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  // Bytes until `pred(buffer)` holds, the peer closes, or the deadline passes.
  template <typename Pred>
  bool read_until(Pred pred, std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (!pred(in_)) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
      char buf[65536];
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        closed_ = true;
        return pred(in_);
      }
      in_.append(buf, static_cast<size_t>(n));
    }
    return true;
  }
  struct Reply {
    int status = 0;
    std::string head, body;
  };
  // One whole response (Content-Length framed), removed from the buffer.
  std::optional<Reply> reply(std::chrono::milliseconds timeout = 5000ms) {
    size_t need = std::string::npos;
    auto whole = [&](const std::string& b) {
      size_t end = b.find("\r\n\r\n");
      if (end == std::string::npos) return false;
      std::string head = b.substr(0, end);
      std::string lower = head;
      for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      size_t cl = lower.find("content-length:");
      size_t len = cl == std::string::npos ? 0 : std::stoul(lower.substr(cl + 15));
      need = end + 4 + len;
      return b.size() >= need;
    };
    if (!read_until(whole, timeout)) return std::nullopt;
    Reply r;
    size_t end = in_.find("\r\n\r\n");
    r.head = in_.substr(0, end);
    r.body = in_.substr(end + 4, need - end - 4);
    r.status = std::stoi(r.head.substr(9, 3));
    in_.erase(0, need);
    return r;
  }
  // True if the server closes the connection within the timeout.
  bool closes_within(std::chrono::milliseconds timeout) {
    read_until([&](const std::string&) { return closed_; }, timeout);
    return closed_;
  }
  std::string& buffer() { return in_; }

 private:
  int fd_ = -1;
  bool connected_ = false;
  bool closed_ = false;
  std::string in_;
};

inline int error_code_of(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.contains("error")) return -1;
  EXPECT_TRUE(j["error"]["name"].is_string());
  EXPECT_TRUE(j["error"]["message"].is_string());
  return j["error"]["code"].get<int>();
}

inline std::string get(std::string_view path) {
  return "GET " + std::string(path) + " HTTP/1.1\r\nHost: t\r\n\r\n";
}

class HttpTest : public ::testing::Test {
 protected:
  void serve(ServerOptions options = {}) {
    router_.add("GET", "/v1/health",
                [](Request&, const Responder& r) { r.send(Response::json_text("{\"ok\":1}")); });
    router_.add("GET", "/v1/echo/{a}/{b}", [](Request& req, const Responder& r) {
      nlohmann::json j = {
          {"a", req.param("a")}, {"b", req.param("b")}, {"q", req.query_value("q").value_or("")}};
      r.send(Response::json_text(j.dump()));
    });
    router_.add("POST", "/v1/echo", [](Request& req, const Responder& r) {
      r.send(Response::json_text("{\"len\":" + std::to_string(req.body.size()) + "}"));
    });
    router_.add("GET", "/v1/later", [this](Request&, const Responder& r) {
      // Answered from another thread after a while, holding no worker meanwhile.
      later_.emplace_back([r] {
        std::this_thread::sleep_for(200ms);
        r.send(Response::json_text("{\"later\":true}"));
      });
    });
    router_.add("GET", "/v1/never", [](Request&, const Responder&) {});
    router_.add("GET", "/v1/throws", [](Request&, const Responder&) {
      throw std::runtime_error("secret internal detail");
    });
    router_.add("GET", "/v1/events", [this](Request&, const Responder& r) {
      auto s = r.open_stream();
      if (s) {
        std::lock_guard lock(streams_mutex_);
        streams_.push_back(s);
      }
    });
    server_ = std::make_unique<Server>(std::move(router_), options);
    ASSERT_TRUE(server_->start().is_ok());
    port_ = server_->port();
  }
  void TearDown() override {
    for (auto& t : later_) t.join();
    if (server_) server_->stop();
  }

  Router router_;
  std::unique_ptr<Server> server_;
  uint16_t port_ = 0;
  std::vector<std::thread> later_;
  std::mutex streams_mutex_;
  std::vector<std::shared_ptr<EventStream>> streams_;
};

}  // namespace gridpact::http::test
