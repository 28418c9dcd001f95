// The cluster over TLS: etcd with client certificates, and catching up from HTTPS peers
// verified against a CA made here.
#include <gtest/gtest.h>

#include <filesystem>

#include "api/server.hpp"
#include "cluster/codes.hpp"
#include "cluster/fixtures.hpp"
#include "http/testing_tls.hpp"

namespace gridpact::cluster::test {
namespace {

// Everything over TLS with a CA made here: etcd serves only TLS clients with a certificate
// (--client-cert-auth), the nodes order through it, and a new node catches up past etcd's
// window from a peer's HTTPS API, verified against the CA.
class EtcdOrdererTlsTest : public EtcdOrdererTest {
 protected:
  void SetUp() override {
    auto made = http::make_test_pki(::testing::TempDir() + "/gridpact-orderer-tls-" +
                                    std::to_string(::getpid()));
    ASSERT_TRUE(made) << made.status().message;
    pki = *made;
    etcd.use_tls(pki.ca, pki.cert, pki.key, true);
    ASSERT_TRUE(etcd.start()) << "etcd did not start over TLS";
    peer_tls.ca_file = pki.ca;
  }
  void TearDown() override {
    if (!pki.ca.empty()) std::filesystem::remove_all(std::filesystem::path(pki.ca).parent_path());
  }
  http::TestPki pki;
};

TEST_F(EtcdOrdererTlsTest, NodesOrderThroughTlsEtcdAndCatchUpFromAnHttpsPeer) {
  ASSERT_TRUE(etcd.endpoints()[0].tls);
  auto a = open(validators[0], 5);
  ASSERT_EQ(leader({a.get()}), 0);
  api::ServerOptions https;
  https.tls_cert_file = pki.cert;
  https.tls_key_file = pki.key;
  api::Server server(*a->node, https);
  ASSERT_TRUE(server.start());
  auto bob = KeyPair::generate().public_key();
  for (uint64_t n = 0; n < 12; ++n) {
    auto id = a->node->submit(transfer(n, bob, 10)).value();
    ASSERT_TRUE(a->node->wait_committed(id, 20s).has_value());
  }
  const uint64_t top = a->node->store().height().value();
  ASSERT_GE(top, 12u);
  // A peer given as plain http:// (the TLS port refuses it) is skipped for the https:// one.
  const std::string port = std::to_string(server.port());
  auto b = open(validators[1], 5, {"http://127.0.0.1:" + port, "https://127.0.0.1:" + port});
  ASSERT_TRUE(b->node->wait_height(top, 20s)) << b->node->halted().value_or("");
  EXPECT_FALSE(b->node->halted().has_value());
  EXPECT_EQ(b->node->store().header(top)->hash(), a->node->store().header(top)->hash());
  EXPECT_EQ(bank::balance(b->node->store(), bob), 120u);
  // A client of the follower is answered once the leader's block is in (TLS) etcd.
  auto id = b->node->submit(transfer(12, bob, 10)).value();
  ASSERT_TRUE(b->node->wait_committed(id, 20s).has_value());
  ASSERT_TRUE(a->node->wait_height(b->node->store().height().value(), 20s));
  EXPECT_EQ(bank::balance(a->node->store(), bob), 130u);
  server.stop();
}

// Without the CA, the HTTPS peer is not trusted: the node halts behind the window rather
// than take blocks over an unverified connection.
TEST_F(EtcdOrdererTlsTest, AnHttpsPeerNotSignedByTheCaIsNotUsed) {
  auto a = open(validators[0], 3);
  ASSERT_EQ(leader({a.get()}), 0);
  api::ServerOptions https;
  https.tls_cert_file = pki.other_cert;
  https.tls_key_file = pki.other_key;
  api::Server server(*a->node, https);
  ASSERT_TRUE(server.start());
  auto bob = KeyPair::generate().public_key();
  for (uint64_t n = 0; n < 8; ++n) {
    auto id = a->node->submit(transfer(n, bob, 10)).value();
    ASSERT_TRUE(a->node->wait_committed(id, 20s).has_value());
  }
  auto b = open(validators[1], 3, {"https://127.0.0.1:" + std::to_string(server.port())});
  for (int i = 0; i < 100 && !b->node->halted(); ++i) std::this_thread::sleep_for(100ms);
  ASSERT_TRUE(b->node->halted().has_value());
  EXPECT_NE(b->node->halted()->find("BEHIND_WINDOW"), std::string::npos) << *b->node->halted();
  EXPECT_EQ(b->node->store().height().value_or(0), 0u);
  server.stop();
}

}  // namespace
}  // namespace gridpact::cluster::test
