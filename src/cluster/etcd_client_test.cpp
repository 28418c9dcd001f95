// The etcd client against a real etcd (Debian's etcd-server), started here on loopback.
#include "cluster/etcd_client.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "base/testing.hpp"
#include "cluster/codes.hpp"
#include "cluster/testing.hpp"
#include "http/testing_tls.hpp"

namespace gridpact::cluster {
namespace {

TEST(EtcdEndpoints, Parse) {
  auto e = parse_etcd_endpoints("etcd://127.0.0.1:2379,localhost:2380");
  ASSERT_TRUE(e);
  ASSERT_EQ(e->size(), 2u);
  EXPECT_EQ((*e)[1].host, "localhost");
  EXPECT_EQ((*e)[1].port, 2380);
  EXPECT_FALSE(parse_etcd_endpoints("etcd://"));
  EXPECT_FALSE(parse_etcd_endpoints("host"));
  EXPECT_FALSE(parse_etcd_endpoints("host:99999"));
  EXPECT_FALSE(parse_etcd_endpoints("host:x1"));
  EXPECT_EQ(prefix_end("a/"), "a0");
  auto tls = parse_etcd_endpoints("etcd://https://10.0.0.1:2379,http://10.0.0.2:2379");
  ASSERT_TRUE(tls);
  EXPECT_TRUE((*tls)[0].tls);
  EXPECT_EQ((*tls)[0].host, "10.0.0.1");
  EXPECT_FALSE((*tls)[1].tls);
}

// Members that accept connections and never answer (a partition, a stopped process) cost
// one timeout for the whole call, not a hung thread nor one timeout per member.
TEST(EtcdClientSilent, SilentMemberCostsOneTimeout) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 16), 0);  // the kernel completes connections; nobody reads
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const uint16_t port = ntohs(addr.sin_port);
  EtcdClient c({{"127.0.0.1", port}, {"127.0.0.1", port}, {"127.0.0.1", port}},
               std::chrono::milliseconds(600));
  auto start = std::chrono::steady_clock::now();
  auto r = c.range("x");
  auto took = std::chrono::steady_clock::now() - start;
  ::close(fd);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.status().code, kEtcdUnavailable);
  EXPECT_GE(took, std::chrono::milliseconds(550));
  EXPECT_LT(took, std::chrono::milliseconds(1000));
}

class EtcdClientTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(etcd.start()) << "etcd did not start"; }
  testing::EtcdProcess etcd;
};

TEST_F(EtcdClientTest, PutRangeAndBinaryValues) {
  EtcdClient c(etcd.endpoints());
  std::string binary("\x00\xff\x01 zero", 8);
  ASSERT_TRUE(c.put("p/1", binary));
  ASSERT_TRUE(c.put("p/2", "two"));
  ASSERT_TRUE(c.put("q/1", "other"));
  auto r = c.range("p/", prefix_end("p/"));
  ASSERT_TRUE(r) << r.status().to_string();
  ASSERT_EQ(r->kvs.size(), 2u);
  EXPECT_EQ(r->kvs[0].value, binary);
  EXPECT_EQ(r->kvs[1].key, "p/2");
  EXPECT_EQ(r->kvs[1].version, 1);
  auto limited = c.range("p/", prefix_end("p/"), 1);
  ASSERT_TRUE(limited);
  EXPECT_EQ(limited->kvs.size(), 1u);
  EXPECT_TRUE(limited->more);
  // Only what changed since a revision.
  auto newer = c.range("p/", prefix_end("p/"), 0, r->kvs[1].mod_revision);
  ASSERT_TRUE(newer);
  ASSERT_EQ(newer->kvs.size(), 1u);
  EXPECT_EQ(newer->kvs[0].key, "p/2");
  // Every byte value, at every length modulo 3 (base64's padding), comes back as it went.
  for (size_t len : {0u, 1u, 2u, 3u, 4u, 5u, 256u, 257u, 258u}) {
    std::string all(len, '\0');
    for (size_t i = 0; i < len; ++i) all[i] = static_cast<char>((i * 7 + len) & 0xff);
    ASSERT_TRUE(c.put("b/" + std::to_string(len), all));
    auto back = c.range("b/" + std::to_string(len));
    ASSERT_TRUE(back);
    ASSERT_EQ(back->kvs.size(), 1u);
    EXPECT_EQ(back->kvs[0].value, all) << len;
  }
}

TEST_F(EtcdClientTest, CreateOnlyTransactionWritesOnce) {
  EtcdClient a(etcd.endpoints()), b(etcd.endpoints());
  const std::vector<EtcdCompare> absent{{"block/1", EtcdCompare::Target::kVersion, 0}};
  auto first = a.txn(absent, {EtcdOp::put("block/1", "from a"), EtcdOp::del("pending/x")});
  ASSERT_TRUE(first) << first.status().to_string();
  EXPECT_TRUE(*first);
  auto second = b.txn(absent, {EtcdOp::put("block/1", "from b")});
  ASSERT_TRUE(second);
  EXPECT_FALSE(*second);
  auto r = a.range("block/1");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->kvs.size(), 1u);
  EXPECT_EQ(r->kvs[0].value, "from a");
}

TEST_F(EtcdClientTest, LeaseHoldsTheKeyUntilItLapses) {
  EtcdClient c(etcd.endpoints());
  auto lease = c.grant(2);
  ASSERT_TRUE(lease) << lease.status().to_string();
  auto won =
      c.txn({{"leader", EtcdCompare::Target::kVersion, 0}}, {EtcdOp::put("leader", "me", *lease)});
  ASSERT_TRUE(won && *won);
  // The write guarded by the lease succeeds while it lives.
  auto guarded =
      c.txn({{"leader", EtcdCompare::Target::kLease, *lease}}, {EtcdOp::put("block/1", "x")});
  ASSERT_TRUE(guarded && *guarded);
  auto ttl = c.keepalive(*lease);
  ASSERT_TRUE(ttl);
  EXPECT_GT(*ttl, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(3500));  // no keepalive: it lapses
  auto gone = c.range("leader");
  ASSERT_TRUE(gone);
  EXPECT_TRUE(gone->kvs.empty());
  auto late = c.keepalive(*lease);
  ASSERT_TRUE(late);
  EXPECT_EQ(*late, 0);
  auto stale =
      c.txn({{"leader", EtcdCompare::Target::kLease, *lease}}, {EtcdOp::put("block/2", "x")});
  ASSERT_TRUE(stale);
  EXPECT_FALSE(*stale);
}

TEST_F(EtcdClientTest, UnavailableWhenNoMemberAnswers) {
  EtcdClient c({{"127.0.0.1", gridpact::testing::free_loopback_port()}, etcd.endpoints()[0]},
               std::chrono::milliseconds(500));
  EXPECT_TRUE(c.range("x"));  // the second endpoint answers
  etcd.stop();
  auto r = c.range("x");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.status().code, kEtcdUnavailable);
}

// etcd serving clients over TLS only, and only to clients with a certificate its CA signed
// (--cert-file, --key-file, --trusted-ca-file, --client-cert-auth).
class EtcdTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto made = http::make_test_pki(::testing::TempDir() + "/gridpact-etcd-tls-" +
                                    std::to_string(::getpid()));
    ASSERT_TRUE(made) << made.status().message;
    pki = *made;
    etcd.use_tls(pki.ca, pki.cert, pki.key, true);
    ASSERT_TRUE(etcd.start()) << "etcd did not start over TLS";
  }
  void TearDown() override {
    etcd.stop();
    std::filesystem::remove_all(std::filesystem::path(pki.ca).parent_path());
  }
  http::TestPki pki;
  testing::EtcdProcess etcd;
};

TEST_F(EtcdTlsTest, VerifiedClientWithCertificateIsServedOthersAreNot) {
  EtcdClient good(etcd.endpoints(), std::chrono::milliseconds(2000), {pki.ca, pki.cert, pki.key});
  ASSERT_TRUE(good.put("k", "v"));
  auto r = good.range("k");
  ASSERT_TRUE(r) << r.status().to_string();
  ASSERT_EQ(r->kvs.size(), 1u);
  EXPECT_EQ(r->kvs[0].value, "v");

  // No client certificate: etcd refuses it.
  EtcdClient anonymous(etcd.endpoints(), std::chrono::milliseconds(2000), {pki.ca, "", ""});
  auto no_cert = anonymous.range("k");
  ASSERT_FALSE(no_cert);
  EXPECT_EQ(no_cert.status().code, kEtcdUnavailable);
  // A certificate from another CA: refused too.
  EtcdClient stranger(etcd.endpoints(), std::chrono::milliseconds(2000),
                      {pki.ca, pki.other_cert, pki.other_key});
  EXPECT_FALSE(stranger.range("k"));
  // etcd's certificate checked against another CA: this client refuses etcd.
  EtcdClient wrong_ca(etcd.endpoints(), std::chrono::milliseconds(2000),
                      {pki.other_ca, pki.cert, pki.key});
  auto refused = wrong_ca.range("k");
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.status().message.find("TLS handshake failed"), std::string::npos)
      << refused.status().message;
  // Plain HTTP to the TLS port gets nothing.
  EtcdClient plain({{"127.0.0.1", etcd.client_port(), false}}, std::chrono::milliseconds(2000));
  EXPECT_FALSE(plain.range("k"));
}

}  // namespace
}  // namespace gridpact::cluster
