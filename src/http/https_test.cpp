// The HTTP server over TLS, with a CA made for each test.
#include <gtest/gtest.h>

#include "http/testing.hpp"

namespace gridpact::http::test {
namespace {

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

}  // namespace
}  // namespace gridpact::http::test
