// The HTTP server over real loopback sockets, driven by a raw-socket prober (so that
// malformed requests reach it exactly as written).
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

namespace gridpact::http {
namespace {

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

int error_code_of(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.contains("error")) return -1;
  EXPECT_TRUE(j["error"]["name"].is_string());
  EXPECT_TRUE(j["error"]["message"].is_string());
  return j["error"]["code"].get<int>();
}

std::string get(std::string_view path) {
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

// The filter sees every request before routing: it may answer (a refused Host) or add
// headers that go on any answer, a 404 and an event stream included.
TEST_F(HttpTest, FilterAnswersEarlyOrAddsHeadersToEveryAnswer) {
  ServerOptions o;
  o.filter = [](const Request& req, Headers& extra) -> std::optional<Response> {
    if (req.header("host") == "bad") return Response::json_text("{\"refused\":1}", 403);
    extra.emplace_back("X-Seen", req.path);
    return std::nullopt;
  };
  serve(o);
  Probe p(port_);
  ASSERT_TRUE(p.send("GET /v1/health HTTP/1.1\r\nHost: bad\r\n\r\n"));
  auto r = p.reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(r->head.find("X-Seen"), std::string::npos);
  ASSERT_TRUE(p.send(get("/v1/nothing")));
  r = p.reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_NE(r->head.find("X-Seen: /v1/nothing"), std::string::npos) << r->head;
  ASSERT_TRUE(p.send(get("/v1/later")));  // answered from another thread
  r = p.reply();
  ASSERT_TRUE(r);
  EXPECT_NE(r->head.find("X-Seen: /v1/later"), std::string::npos) << r->head;
  Probe s(port_);
  ASSERT_TRUE(s.send(get("/v1/events")));
  ASSERT_TRUE(s.read_until(
      [](const std::string& b) { return b.find("\r\n\r\n") != std::string::npos; }, 5000ms));
  EXPECT_NE(s.buffer().find("X-Seen: /v1/events\r\n"), std::string::npos) << s.buffer();
}

TEST_F(HttpTest, RoutesWithParamsAndDecodedQuery) {
  serve();
  Probe p(port_);
  ASSERT_TRUE(p.send(get("/v1/echo/x%20y/2?q=a%2Bb+c")));
  auto r = p.reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  auto j = nlohmann::json::parse(r->body);
  EXPECT_EQ(j["a"], "x y");
  EXPECT_EQ(j["b"], "2");
  EXPECT_EQ(j["q"], "a+b c");
}

TEST_F(HttpTest, NotFoundAndMethodNotAllowedCarryJsonCodes) {
  serve();
  Probe p(port_);
  ASSERT_TRUE(p.send(get("/v1/nothing")));
  auto r = p.reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(error_code_of(r->body), static_cast<int>(Code::kNotFound));
  // The connection stays usable after a routing error.
  ASSERT_TRUE(p.send("DELETE /v1/health HTTP/1.1\r\nHost: t\r\n\r\n"));
  r = p.reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(error_code_of(r->body), static_cast<int>(Code::kMethodNotAllowed));
  EXPECT_NE(r->head.find("Allow: GET"), std::string::npos);
}

TEST_F(HttpTest, TenThousandHeadersRefusedWith431) {
  serve();
  Probe p(port_);
  std::string req = "GET /v1/health HTTP/1.1\r\nHost: t\r\n";
  for (int i = 0; i < 10000; ++i) req += "X-H" + std::to_string(i) + ": v\r\n";
  req += "\r\n";
  p.send(req);  // the server may close before reading it all
  auto r = p.reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 431);
  EXPECT_EQ(error_code_of(r->body), static_cast<int>(Code::kHeadersTooLarge));
}

TEST_F(HttpTest, TooManySmallHeadersRefusedByCount) {
  ServerOptions o;
  o.max_header_count = 20;
  serve(o);
  Probe p(port_);
  std::string req = "GET /v1/health HTTP/1.1\r\n";
  for (int i = 0; i < 21; ++i) req += "a" + std::to_string(i) + ":b\r\n";
  ASSERT_TRUE(p.send(req + "\r\n"));
  auto r = p.reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 431);
  EXPECT_EQ(error_code_of(r->body), static_cast<int>(Code::kHeadersTooLarge));
}

TEST_F(HttpTest, LongUrlRefusedWith414) {
  serve();
  for (size_t len : {size_t{5000}, size_t{100000}}) {
    Probe p(port_);
    p.send(get("/v1/" + std::string(len, 'a')));
    auto r = p.reply();
    ASSERT_TRUE(r) << len;
    EXPECT_EQ(r->status, 414) << len;
    EXPECT_EQ(error_code_of(r->body), static_cast<int>(Code::kUrlTooLong));
  }
}

TEST_F(HttpTest, BadFramingRefusedWithJsonCode) {
  serve();
  const std::vector<std::string> bad = {
      "POST /v1/echo HTTP/1.1\r\nContent-Length: -5\r\n\r\nhello",
      "POST /v1/echo HTTP/1.1\r\nContent-Length: 12abc\r\n\r\nhello",
      "POST /v1/echo HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
      "POST /v1/echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
      "GARBAGE\r\n\r\n",
  };
  for (const auto& req : bad) {
    Probe p(port_);
    ASSERT_TRUE(p.send(req));
    auto r = p.reply(3000ms);
    ASSERT_TRUE(r) << req;
    EXPECT_EQ(r->status, 400) << req;
    EXPECT_EQ(error_code_of(r->body), static_cast<int>(Code::kBadFraming)) << req;
    EXPECT_TRUE(p.closes_within(2000ms)) << req;
  }
}

TEST_F(HttpTest, ChunkedBodyAcceptedAndLargeBodyRefusedWith413) {
  ServerOptions o;
  o.max_body_bytes = 1000;
  serve(o);
  Probe ok(port_);
  ASSERT_TRUE(
      ok.send("POST /v1/echo HTTP/1.1\r\nTransfer-Encoding: "
              "chunked\r\n\r\n5\r\nhello\r\n3\r\nabc\r\n0\r\n\r\n"));
  auto r = ok.reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "{\"len\":8}");

  Probe declared(port_);
  ASSERT_TRUE(declared.send("POST /v1/echo HTTP/1.1\r\nContent-Length: 1001\r\n\r\n"));
  r = declared.reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(error_code_of(r->body), static_cast<int>(Code::kBodyTooLarge));

  Probe chunked(port_);
  std::string big(600, 'x');
  chunked.send("POST /v1/echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n258\r\n" + big +
               "\r\n258\r\n" + big + "\r\n0\r\n\r\n");
  r = chunked.reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
}

TEST_F(HttpTest, PipelinedRequestsAndExpectContinue) {
  serve();
  Probe p(port_);
  ASSERT_TRUE(p.send(get("/v1/echo/1/2") + get("/v1/health")));
  auto first = p.reply();
  auto second = p.reply();
  ASSERT_TRUE(first && second);
  EXPECT_NE(first->body.find("\"a\":\"1\""), std::string::npos);
  EXPECT_EQ(second->body, "{\"ok\":1}");
  // A client that asks before sending its body is told to go on.
  ASSERT_TRUE(
      p.send("POST /v1/echo HTTP/1.1\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"));
  ASSERT_TRUE(p.read_until(
      [](const std::string& b) { return b.find("100 Continue\r\n\r\n") != std::string::npos; },
      2000ms));
  p.buffer().clear();
  ASSERT_TRUE(p.send("abcd"));
  auto r = p.reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "{\"len\":4}");
}

TEST_F(HttpTest, HandlerExceptionLeaksNoText) {
  serve();
  Probe p(port_);
  ASSERT_TRUE(p.send(get("/v1/throws")));
  auto r = p.reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(error_code_of(r->body), static_cast<int>(Code::kStorage));
  EXPECT_EQ(r->body.find("secret"), std::string::npos);
}

TEST_F(HttpTest, TwoHundredIdleConnectionsDoNotDelayHealth) {
  ServerOptions o;
  o.threads = 2;
  serve(o);
  std::vector<std::unique_ptr<Probe>> idle;
  for (int i = 0; i < 200; ++i) {
    idle.push_back(std::make_unique<Probe>(port_));
    ASSERT_TRUE(idle.back()->connected());
  }
  // Half of them have been served once and now sit in keep-alive.
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(idle[i]->send(get("/v1/health")));
    ASSERT_TRUE(idle[i]->reply());
  }
  Probe p(port_);
  auto start = Clock::now();
  ASSERT_TRUE(p.send(get("/v1/health")));
  auto r = p.reply(2000ms);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_LT(Clock::now() - start, 500ms);
  EXPECT_GE(server_->stats().connections, 201u);
}

TEST_F(HttpTest, KeepAliveRoundTripHasNoDelayedAckStall) {
  serve();
  Probe p(port_);
  std::vector<double> ms;
  for (int i = 0; i < 30; ++i) {
    auto start = Clock::now();
    ASSERT_TRUE(p.send(get("/v1/health")));
    ASSERT_TRUE(p.reply());
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  std::sort(ms.begin(), ms.end());
  // A Nagle/delayed-ACK stall costs 40 ms on Linux on every request; the median would show it.
  EXPECT_LT(ms[ms.size() / 2], 20.0);
}

TEST_F(HttpTest, AsynchronousAnswerHoldsNoWorker) {
  ServerOptions o;
  o.threads = 1;
  serve(o);
  Probe slow(port_);
  ASSERT_TRUE(slow.send(get("/v1/later")));
  std::this_thread::sleep_for(20ms);
  Probe fast(port_);
  auto start = Clock::now();
  ASSERT_TRUE(fast.send(get("/v1/health")));
  ASSERT_TRUE(fast.reply(2000ms));
  EXPECT_LT(Clock::now() - start, 150ms);  // not behind the 200 ms parked request
  EXPECT_EQ(server_->stats().in_flight, 1u);
  auto r = slow.reply(2000ms);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "{\"later\":true}");
}

TEST_F(HttpTest, DeadlineAnswers504AndLateAnswerIsDropped) {
  ServerOptions o;
  o.request_deadline = 100ms;
  serve(o);
  Probe p(port_);
  ASSERT_TRUE(p.send(get("/v1/never")));
  auto r = p.reply(2000ms);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 504);
  EXPECT_EQ(error_code_of(r->body), static_cast<int>(Code::kTimeout));
  EXPECT_EQ(server_->stats().in_flight, 0u);
}

TEST_F(HttpTest, IdleConnectionClosedAndSlowRequestGets408) {
  ServerOptions o;
  o.idle_timeout = 150ms;
  o.read_timeout = 150ms;
  serve(o);
  Probe idle(port_);
  EXPECT_TRUE(idle.closes_within(2000ms));
  EXPECT_TRUE(idle.buffer().empty());  // closed silently

  Probe partial(port_);
  ASSERT_TRUE(partial.send("GET /v1/health HTTP/1.1\r\nHost:"));
  auto r = partial.reply(2000ms);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 408);
  EXPECT_EQ(error_code_of(r->body), static_cast<int>(Code::kRequestTimeout));
}

// The timer is moved only when a phase's deadline comes earlier (server.cpp, arm): an
// answer's shorter write bound expires while the connection idles, and must not close it.
TEST_F(HttpTest, IdleTimeoutRunsFromTheLastAnswerPastShorterPhaseBounds) {
  ServerOptions o;
  o.idle_timeout = 600ms;
  o.read_timeout = 100ms;
  serve(o);
  Probe p(port_);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(p.send(get("/v1/health")));
    auto r = p.reply(2000ms);
    ASSERT_TRUE(r) << "request " << i;
    EXPECT_EQ(r->status, 200);
    std::this_thread::sleep_for(300ms);  // past the answer's 100 ms bound, within the idle one
  }
  EXPECT_TRUE(p.closes_within(2000ms));  // and the idle bound still closes it
  EXPECT_TRUE(p.buffer().empty());
}

TEST_F(HttpTest, ConnectionCapRefusesWith503) {
  ServerOptions o;
  o.max_connections = 3;
  serve(o);
  std::vector<std::unique_ptr<Probe>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<Probe>(port_));
    ASSERT_TRUE(held.back()->send(get("/v1/health")));
    ASSERT_TRUE(held.back()->reply());
  }
  Probe extra(port_);
  auto r = extra.reply(2000ms);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(error_code_of(r->body), static_cast<int>(Code::kOverloaded));
  EXPECT_EQ(server_->stats().refused_total, 1u);
}

TEST_F(HttpTest, EventStreamsDeliverAreCappedAndNoticeLeavers) {
  ServerOptions o;
  o.max_streams = 2;
  o.threads = 1;
  serve(o);
  auto a = std::make_unique<Probe>(port_);
  Probe b(port_);
  ASSERT_TRUE(a->send(get("/v1/events")));
  ASSERT_TRUE(b.send(get("/v1/events")));
  auto headers = [](const std::string& s) { return s.find("\r\n\r\n") != std::string::npos; };
  ASSERT_TRUE(a->read_until(headers, 2000ms));
  ASSERT_TRUE(b.read_until(headers, 2000ms));
  EXPECT_NE(a->buffer().find("text/event-stream"), std::string::npos);
  EXPECT_EQ(server_->stats().streams, 2u);
  EXPECT_EQ(server_->stats().in_flight, 0u);

  Probe c(port_);
  ASSERT_TRUE(c.send(get("/v1/events")));
  auto r = c.reply(2000ms);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(error_code_of(r->body), static_cast<int>(Code::kOverloaded));

  // While two subscribers wait, the only worker still answers requests.
  Probe h(port_);
  ASSERT_TRUE(h.send(get("/v1/health")));
  ASSERT_TRUE(h.reply(1000ms));

  std::vector<std::shared_ptr<EventStream>> streams;
  {
    std::lock_guard lock(streams_mutex_);
    streams = streams_;
  }
  ASSERT_EQ(streams.size(), 2u);
  for (auto& s : streams) EXPECT_TRUE(s->send("event: block\ndata: {\"height\":7}\n\n"));
  auto has_event = [](const std::string& s) { return s.find("\"height\":7") != std::string::npos; };
  EXPECT_TRUE(a->read_until(has_event, 2000ms));
  EXPECT_TRUE(b.read_until(has_event, 2000ms));

  a.reset();  // the subscriber leaves; its stream closes and frees its place
  auto deadline = Clock::now() + 2s;
  int closed = 0;
  while (Clock::now() < deadline && server_->stats().streams != 1) std::this_thread::sleep_for(5ms);
  for (auto& s : streams) closed += s->open() ? 0 : 1;
  EXPECT_EQ(closed, 1);
  EXPECT_EQ(server_->stats().streams, 1u);

  for (auto& s : streams) s->close();
  EXPECT_TRUE(b.closes_within(2000ms));
  EXPECT_NE(b.buffer().find("0\r\n\r\n"), std::string::npos);  // the chunked end
}

// HTTPS with a CA made for this test: the API answers over TLS on one kept-alive
// connection, with the server's bounds (414) intact; a client trusting another CA is
// refused in the handshake; plain HTTP to the TLS port gets a plain 400 saying so.
class HttpsTest : public HttpTest {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/gridpact-https-" + std::to_string(::getpid());
    auto pki = make_test_pki(dir_);
    ASSERT_TRUE(pki.is_ok()) << pki.status().message;
    pki_ = *pki;
  }
  void serve_tls(ServerOptions o = {}) {
    o.tls_cert_file = pki_.cert;
    o.tls_key_file = pki_.key;
    o.max_body_bytes = 1 << 16;
    serve(o);
  }
  void TearDown() override {
    HttpTest::TearDown();
    std::filesystem::remove_all(dir_);
  }
  Origin origin() const { return Origin{true, "127.0.0.1", std::to_string(port_)}; }
  std::string dir_;
  TestPki pki_;
};

TEST_F(HttpsTest, AnswersOverTlsVerifiedAgainstItsCa) {
  serve_tls();
  Client client(5000ms, 1 << 20, TlsClientFiles{pki_.ca, "", ""});
  auto health = client.request(origin(), "GET", "/v1/health");
  ASSERT_TRUE(health.is_ok()) << health.status().message;
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body, "{\"ok\":1}");
  auto echo =
      client.request(origin(), "POST", "/v1/echo", std::string(1000, 'x'), "application/json");
  ASSERT_TRUE(echo.is_ok()) << echo.status().message;
  EXPECT_EQ(echo->body, "{\"len\":1000}");
  auto long_url = client.request(origin(), "GET", "/v1/echo/" + std::string(5000, 'x'));
  ASSERT_TRUE(long_url.is_ok()) << long_url.status().message;
  EXPECT_EQ(long_url->status, 414);
  EXPECT_EQ(error_code_of(long_url->body), static_cast<int>(Code::kUrlTooLong));

  // The name in the URL must be in the certificate: localhost is, 127.0.0.2 is not.
  auto by_name =
      client.request(Origin{true, "localhost", std::to_string(port_)}, "GET", "/v1/health");
  ASSERT_TRUE(by_name.is_ok()) << by_name.status().message;
  EXPECT_EQ(by_name->status, 200);
  auto other_name =
      client.request(Origin{true, "127.0.0.2", std::to_string(port_)}, "GET", "/v1/health");
  ASSERT_FALSE(other_name.is_ok());
}

TEST_F(HttpsTest, ClientTrustingAnotherCaIsRefused) {
  serve_tls();
  Client wrong(5000ms, 1 << 20, TlsClientFiles{pki_.other_ca, "", ""});
  auto r = wrong.request(origin(), "GET", "/v1/health");
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message.find("TLS handshake failed"), std::string::npos)
      << r.status().message;
  // The system's CAs do not know the test CA either.
  Client system(5000ms);
  EXPECT_FALSE(system.request(origin(), "GET", "/v1/health").is_ok());
  // A plain HTTP client of the TLS port: an answer in its own terms, then the close.
  Client plain(5000ms);
  auto p = plain.request(Origin{false, "127.0.0.1", std::to_string(port_)}, "GET", "/v1/health");
  ASSERT_TRUE(p.is_ok()) << p.status().message;
  EXPECT_EQ(p->status, 400);
  EXPECT_EQ(error_code_of(p->body), static_cast<int>(Code::kBadFraming));
  EXPECT_NE(p->body.find("HTTPS"), std::string::npos);
  // And a TLS client of a plain server fails its handshake cleanly.
  server_->stop();
  server_.reset();
  router_ = Router();
  serve();
  Client tls(2000ms, 1 << 20, TlsClientFiles{pki_.ca, "", ""});
  auto t = tls.request(origin(), "GET", "/v1/health");
  ASSERT_FALSE(t.is_ok());
  EXPECT_NE(t.status().message.find("TLS handshake failed"), std::string::npos);
}

TEST_F(HttpsTest, SilentOrSlowHandshakeClosedInTime) {
  ServerOptions o;
  o.handshake_timeout = 200ms;
  serve_tls(o);
  auto start = Clock::now();
  Probe silent(port_);
  Probe hello_only(port_);
  ASSERT_TRUE(hello_only.send(std::string(1, '\x16')));  // a record that never completes
  EXPECT_TRUE(silent.closes_within(3000ms));
  EXPECT_TRUE(hello_only.closes_within(3000ms));
  EXPECT_LT(Clock::now() - start, 2000ms);
  // The server still answers others.
  Client client(5000ms, 1 << 20, TlsClientFiles{pki_.ca, "", ""});
  auto r = client.request(origin(), "GET", "/v1/health");
  ASSERT_TRUE(r.is_ok()) << r.status().message;
  // The probes' connections are closed; the server's count follows once their handlers end.
  for (int i = 0; i < 100 && server_->stats().connections != 1u; ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(server_->stats().connections, 1u);
}

TEST_F(HttpsTest, MissingCertificateFileFailsStart) {
  ServerOptions o;
  o.tls_cert_file = dir_ + "/absent.pem";
  o.tls_key_file = pki_.key;
  Server server(Router(), o);
  auto s = server.start();
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.code, Code::kInvalidArgument);
}

TEST(JsonDepth, CountsNestingOutsideStrings) {
  EXPECT_TRUE(json_depth_within("{\"a\":[1,{\"b\":2}]}", 3));
  EXPECT_FALSE(json_depth_within("{\"a\":[1,{\"b\":2}]}", 2));
  EXPECT_TRUE(json_depth_within("{\"a\":\"[[[[[[\\\"[[[[\"}", 1));
  EXPECT_FALSE(json_depth_within(std::string(100000, '['), 64));
}

TEST(Router, FirstMatchingRouteWinsAndStatusFollowsCode) {
  Router r;
  int hit = 0;
  r.add("GET", "/v1/blocks/latest", [&](Request&, const Responder&) { hit = 1; });
  r.add("GET", "/v1/blocks/{height}", [&](Request&, const Responder&) { hit = 2; });
  std::map<std::string, std::string, std::less<>> params;
  std::string allow;
  auto h = r.match("GET", "/v1/blocks/latest", params, allow);
  ASSERT_TRUE(h);
  EXPECT_TRUE(params.empty());
  h = r.match("GET", "/v1/blocks/12", params, allow);
  ASSERT_TRUE(h);
  EXPECT_EQ(params["height"], "12");
  EXPECT_EQ(r.match("GET", "/v1/blocks", params, allow).status().code, Code::kNotFound);
  EXPECT_EQ(r.match("PUT", "/v1/blocks/1", params, allow).status().code, Code::kMethodNotAllowed);
  EXPECT_EQ(allow, "GET");
  // A trailing "{name...}" takes the rest of the path; a route added earlier still wins.
  r.add("GET", "/v1/{module}/{path...}", [&](Request&, const Responder&) { hit = 3; });
  ASSERT_TRUE(r.match("GET", "/v1/market/book/3/x", params, allow));
  EXPECT_EQ(params["module"], "market");
  EXPECT_EQ(params["path"], "book/3/x");
  ASSERT_TRUE(r.match("GET", "/v1/market/book", params, allow));
  EXPECT_EQ(params["path"], "book");
  EXPECT_EQ(r.match("GET", "/v1/market", params, allow).status().code, Code::kNotFound);
  ASSERT_TRUE(r.match("GET", "/v1/blocks/7", params, allow));
  EXPECT_EQ(params["height"], "7");
  EXPECT_EQ(status_for(Code::kHeadersTooLarge), 431);
  EXPECT_EQ(status_for(Code::kBadFraming), 400);
  EXPECT_EQ(status_for(Code::kOverloaded), 503);
}

}  // namespace
}  // namespace gridpact::http
