// The HTTP server over real loopback sockets: routing, filters, and every request it
// refuses (bounds, framing) with the API's JSON error codes. Fixtures: testing.hpp.
#include <gtest/gtest.h>

#include "http/testing.hpp"

namespace gridpact::http::test {
namespace {

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
}  // namespace gridpact::http::test
