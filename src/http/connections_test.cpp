// The HTTP server's connections over real loopback sockets: idle and keep-alive
// connections, asynchronous answers and deadlines, caps, and event streams.
#include <gtest/gtest.h>

#include "http/testing.hpp"

namespace gridpact::http::test {
namespace {

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

}  // namespace
}  // namespace gridpact::http::test
