// The node's MQTT bridge against a real mosquitto broker (Debian's), started here on a
// free loopback port with persistence in a temporary directory, and restarted mid-stream.
#include "meteragent/bridge.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <mutex>
#include <thread>

#include "attest/virtual_platform.hpp"
#include "base/testing.hpp"
#include "http/testing_tls.hpp"
#include "ledger/testing.hpp"
#include "meteragent/agent.hpp"

namespace gridpact::meteragent {
namespace {

// A private mosquitto: config and persistence file in a temp dir, stopped by its pid.
class Mosquitto {
 public:
  // `listener_options`: lines for the listener (TLS files, authentication); none: anonymous
  // plain TCP.
  explicit Mosquitto(const std::string& dir,
                     const std::string& listener_options = "allow_anonymous true\n")
      : dir_(dir), port_(testing::free_loopback_port()) {
    std::ofstream(dir_ + "/mosquitto.conf")
        << "listener " << port_ << " 127.0.0.1\n"
        << listener_options << "persistence true\n"
        << "persistence_location " << dir_ << "/\n"
        << "autosave_interval 1\n"
        << "log_dest file " << dir_
        << "/mosquitto.log\n"
        // Started as root, mosquitto would drop to its own user, which cannot write here.
        << "user " << getpwuid(geteuid())->pw_name << "\n";
  }
  ~Mosquitto() { stop(); }
  bool start() {
    std::string conf = dir_ + "/mosquitto.conf";
    const int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    pid_ = fork();
    if (pid_ == 0) {
      // Holds none of the test's output pipes: ctest waits for them to close, and would wait
      // out its timeout behind a broker a crashed test left. (No PR_SET_PDEATHSIG: a test
      // restarts the broker from a thread that ends long before the broker should.)
      if (null_fd < 0) _exit(126);
      for (int fd : {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO}) dup2(null_fd, fd);
      execlp("mosquitto", "mosquitto", "-c", conf.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    if (null_fd >= 0) close(null_fd);
    for (int i = 0; i < 100; ++i) {
      if (testing::loopback_accepts(static_cast<uint16_t>(port_))) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
  void stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);  // mosquitto saves its persistence file on SIGTERM
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  int port() const { return port_; }

 private:
  std::string dir_;
  int port_;
  pid_t pid_ = -1;
};

struct BridgeTest : ::testing::Test {
  testing::TempDir dir;
  KeyPair validator = KeyPair::generate();
  KeyPair issuer = KeyPair::generate();
  KeyPair owner = KeyPair::generate();
  KeyPair relay = KeyPair::generate();
  KeyPair meter = KeyPair::generate();
  meters::MetersModule genesis_meters;  // writes the genesis document's [meters] section
  Genesis genesis = Genesis::parse(replay_history(development_genesis(
                                       "bridge-test", validator.public_key(), issuer.public_key(),
                                       {}, {&genesis_meters})))
                        .value();
  // The meter streams readings of the periods before now, which a node on the wall clock
  // cannot have registered it for: these tests are about relaying, so the chain accepts a
  // first reading of any period (meters.first_reading_from_registration = false).
  static std::string replay_history(std::string genesis) {
    auto at = genesis.find("[meters]\n");
    EXPECT_NE(at, std::string::npos);
    return genesis.insert(at + 9, "first_reading_from_registration = false\n");
  }
  std::unique_ptr<Node> node;
  std::unique_ptr<Mosquitto> broker;
  virtual OrdererFactory orderer() { return {}; }  // none: the node's solo orderer

  void SetUp() override {
    std::filesystem::create_directories(dir.path / "node");
    std::filesystem::create_directories(dir.path / "broker");
    NodeOptions o;
    o.data_dir = (dir.path / "node").string();
    o.genesis = genesis;
    o.validator_key = validator;
    o.sync_commits = false;
    std::vector<std::unique_ptr<Module>> modules;
    modules.push_back(std::make_unique<meters::MetersModule>());
    node = Node::open(std::move(o), std::move(modules), orderer()).value();
    node->start();
    broker = std::make_unique<Mosquitto>((dir.path / "broker").string());
    ASSERT_TRUE(broker->start()) << "mosquitto did not start";
    // Register the virtual meter directly with the node.
    auto platform = virtual_platform(meter);
    meters::RegisterPayload fields;
    fields.microgrid = "mg-bridge";
    auto reg = registration(*platform, genesis.chain_id, owner.public_key(), fields).value();
    Transaction tx;
    tx.chain_id = genesis.chain_id;
    tx.type = meters::kRegister;
    tx.payload = meters::encode(reg);
    tx.sign(owner);
    auto id = node->submit(tx);
    ASSERT_TRUE(id) << id.status().to_string();
    auto rc = node->wait_committed(*id, std::chrono::seconds(10));
    ASSERT_TRUE(rc && rc->ok());
  }
  void TearDown() override {
    node->stop();
    broker.reset();
  }
  Hash32 meter_id() { return virtual_platform(meter)->meter_id(); }
  meters::Reading reading(uint64_t period, uint64_t seq, uint64_t imp) {
    meters::Reading r{meter_id(), period, seq, imp, 0, {}};
    meters::sign_virtual(r, genesis.chain_id, meter);
    return r;
  }
  uint64_t committed_seq() {
    auto l = meters::last_reading(node->store(), meter_id());
    return l ? l->seq : 0;
  }
  bool wait_seq(uint64_t seq) {
    for (int i = 0; i < 300 && committed_seq() < seq; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return committed_seq() >= seq;
  }
};

TEST_F(BridgeTest, BrokerRestartMidStreamLosesNoReading) {
  MqttOptions bo{"127.0.0.1", broker->port(), "gridpact-node-test", 5};
  MqttBridge bridge(*node, relay, bo);
  ASSERT_TRUE(bridge.start());
  auto pub = MqttClient::connect({"127.0.0.1", broker->port(), "meter-under-test", 5});
  ASSERT_TRUE(pub) << pub.status().to_string();

  uint64_t now_period =
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count()) /
      meters::kDefaultPeriodMs;
  constexpr uint64_t kTotal = 40;
  uint64_t first = now_period - kTotal + 1;
  std::string topic = reading_topic(meter_id());
  std::thread restarter;
  std::atomic<bool> restarted{false};
  for (uint64_t i = 1; i <= kTotal; ++i) {
    ASSERT_TRUE((*pub)->publish(topic, meters::encode(reading(first + i - 1, i, 100 * i))));
    if (i == 15) {
      ASSERT_TRUE((*pub)->flush(std::chrono::seconds(10)));
      broker->stop();  // mid-stream: the next readings are published while it is down
      restarter = std::thread([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(1500));
        restarted = broker->start();
      });
    }
  }
  restarter.join();
  ASSERT_TRUE(restarted) << "mosquitto did not restart";
  ASSERT_TRUE((*pub)->flush(std::chrono::seconds(30)));
  ASSERT_TRUE(wait_seq(kTotal)) << "committed up to seq " << committed_seq();
  EXPECT_GE((*pub)->connects(), 2u);  // the publisher really reconnected
  auto rs = meters::readings(node->store(), meter_id(), 0, UINT64_MAX, 1000);
  std::string seqs;
  for (const auto& r : rs) seqs += std::to_string(r.seq) + " ";
  auto st = bridge.stats();
  ASSERT_EQ(rs.size(), kTotal) << "committed seqs: " << seqs << "; bridge received " << st.received
                               << ", submitted " << st.submitted << ", duplicates " << st.duplicates
                               << ", refused " << st.refused;
  for (uint64_t i = 0; i < kTotal; ++i) {
    EXPECT_EQ(rs[i].seq, i + 1);
    EXPECT_EQ(rs[i].period, first + i);
    EXPECT_TRUE(rs[i].contiguous);
  }
  EXPECT_EQ(bridge.stats().malformed, 0u);
}

// The node's session outlives the node: readings published while its bridge is down wait
// at the broker and arrive when it subscribes again under the same client id.
TEST_F(BridgeTest, ReadingsPublishedWhileTheNodeIsAwayArriveLater) {
  MqttOptions bo{"127.0.0.1", broker->port(), "gridpact-node-session", 5};
  auto pub = MqttClient::connect({"127.0.0.1", broker->port(), "meter-session", 5}).value();
  uint64_t period = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                              std::chrono::system_clock::now().time_since_epoch())
                                              .count()) /
                    meters::kDefaultPeriodMs;
  std::string topic = reading_topic(meter_id());
  {
    MqttBridge bridge(*node, relay, bo);
    ASSERT_TRUE(bridge.start());
    ASSERT_TRUE(pub->publish(topic, meters::encode(reading(period - 9, 1, 10))));
    ASSERT_TRUE(pub->flush(std::chrono::seconds(10)));
    ASSERT_TRUE(wait_seq(1));
  }  // the bridge disconnects; its session stays at the broker
  for (uint64_t i = 2; i <= 10; ++i)
    ASSERT_TRUE(pub->publish(topic, meters::encode(reading(period - 10 + i, i, 10 * i))));
  ASSERT_TRUE(pub->flush(std::chrono::seconds(10)));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(committed_seq(), 1u);  // nobody relayed them yet
  MqttBridge again(*node, relay, bo);
  ASSERT_TRUE(again.start());
  ASSERT_TRUE(wait_seq(10)) << "committed up to seq " << committed_seq();
  EXPECT_EQ(meters::readings(node->store(), meter_id(), 0, UINT64_MAX, 100).size(), 10u);
}

TEST_F(BridgeTest, MalformedPayloadsAreDroppedAndNothingElseIsAffected) {
  MqttBridge bridge(*node, relay, {"127.0.0.1", broker->port(), "gridpact-node-test2", 5});
  ASSERT_TRUE(bridge.start());
  auto pub = MqttClient::connect({"127.0.0.1", broker->port(), "meter-under-test2", 5}).value();
  uint64_t period = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                              std::chrono::system_clock::now().time_since_epoch())
                                              .count()) /
                    meters::kDefaultPeriodMs;
  std::string topic = reading_topic(meter_id());
  ASSERT_TRUE(pub->publish(topic, meters::encode(reading(period - 2, 1, 10))));
  ASSERT_TRUE(pub->publish(topic, to_bytes("{\"import\": 5}")));  // not a reading
  Bytes cut = meters::encode(reading(period - 1, 2, 20));
  cut.pop_back();
  ASSERT_TRUE(pub->publish(topic, cut));
  ASSERT_TRUE(pub->publish(reading_topic(sha256("another meter")),
                           meters::encode(reading(period - 1, 2, 20))));  // wrong topic
  ASSERT_TRUE(pub->publish(topic, meters::encode(reading(period - 1, 2, 20))));
  ASSERT_TRUE(pub->publish(topic, meters::encode(reading(period - 1, 2, 20))));  // redelivery
  ASSERT_TRUE(pub->flush(std::chrono::seconds(10)));
  ASSERT_TRUE(wait_seq(2));
  for (int i = 0; i < 100 && bridge.stats().received < 6; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto s = bridge.stats();
  EXPECT_EQ(s.received, 6u);
  EXPECT_EQ(s.malformed, 3u);
  EXPECT_EQ(s.duplicates, 1u);
  EXPECT_EQ(s.submitted, 2u);
  EXPECT_EQ(meters::period_energy(node->store(), meter_id(), period - 1)->import_wh, 10u);
}

// Issue 20: one forged MQTT message with sequence 2^64-1 used to make the bridge drop every
// real reading of the meter. Now it is not signed by the meter, so it is not relayed, and
// the real readings go through.
TEST_F(BridgeTest, ForgedReadingDoesNotSilenceTheMeter) {
  MqttBridge bridge(*node, relay, {"127.0.0.1", broker->port(), "gridpact-node-forged", 5});
  ASSERT_TRUE(bridge.start());
  auto pub = MqttClient::connect({"127.0.0.1", broker->port(), "attacker", 5}).value();
  uint64_t period = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                              std::chrono::system_clock::now().time_since_epoch())
                                              .count()) /
                    meters::kDefaultPeriodMs;
  std::string topic = reading_topic(meter_id());
  KeyPair impostor = KeyPair::generate();
  meters::Reading forged{meter_id(), period - 3, UINT64_MAX, 1'000'000, 0, {}};
  meters::sign_virtual(forged, genesis.chain_id, impostor);
  ASSERT_TRUE(pub->publish(topic, meters::encode(forged)));
  for (uint64_t i = 1; i <= 3; ++i)
    ASSERT_TRUE(pub->publish(topic, meters::encode(reading(period - 4 + i, i, 10 * i))));
  ASSERT_TRUE(pub->flush(std::chrono::seconds(10)));
  ASSERT_TRUE(wait_seq(3)) << "committed up to seq " << committed_seq();
  auto s = bridge.stats();
  EXPECT_EQ(s.forged, 1u);
  EXPECT_EQ(s.submitted, 3u);
  EXPECT_EQ(meters::readings(node->store(), meter_id(), 0, UINT64_MAX, 100).size(), 3u);
  EXPECT_EQ(bridge.handle(topic, meters::encode(forged).data(), meters::kReadingSize).code,
            meters::kReadingBadSignature);
}

// The node's mempool, except that the next `drop` transactions it hands the orderer are
// lost: never executed, and the pool lets go of them (as a node restarted with an empty
// pool would).
struct LosingSource : TxSource {
  Mempool* pool = nullptr;
  std::atomic<int> drop{0}, dropped{0};
  OrderedBatch take(size_t max) override {
    OrderedBatch b = pool->take(drop > 0 ? 1 : max);
    if (drop > 0 && !b.txs.empty()) {
      pool->committed(b.txs);
      --drop, ++dropped;
      return {};
    }
    return b;
  }
  size_t ready() const override { return pool->ready(); }
  void wait_ready(size_t count, std::chrono::steady_clock::time_point deadline) override {
    pool->wait_ready(count, deadline);
  }
};

struct BridgeLossTest : BridgeTest {
  LosingSource source;
  OrdererFactory orderer() override {
    return [this](Node& n) {
      source.pool = &n.mempool();
      return std::make_unique<SoloOrderer>(
          source, SoloOrderer::Config{std::chrono::milliseconds(100), std::chrono::seconds(1)});
    };
  }
};

// Issue 20: a reading is delivered only when committed. One the node lost after relaying
// it is not relayed again while in flight (copies are duplicates), is relayed again after
// the in-flight timeout, and once committed, a further copy changes nothing.
TEST_F(BridgeLossTest, AReadingTheNodeLostIsRelayedAgainAfterTheTimeout) {
  using namespace std::chrono_literals;
  MqttBridge bridge(*node, relay, {"127.0.0.1", broker->port(), "gridpact-node-loss", 5}, 800ms);
  ASSERT_TRUE(bridge.start());
  auto pub = MqttClient::connect({"127.0.0.1", broker->port(), "meter-loss", 5}).value();
  uint64_t period = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                              std::chrono::system_clock::now().time_since_epoch())
                                              .count()) /
                    meters::kDefaultPeriodMs;
  const std::string topic = reading_topic(meter_id());
  const Bytes first = meters::encode(reading(period - 1, 1, 10));
  auto publish_and_wait = [&](uint64_t received) {
    ASSERT_TRUE(pub->publish(topic, first));
    ASSERT_TRUE(pub->flush(std::chrono::seconds(10)));
    for (int i = 0; i < 200 && bridge.stats().received < received; ++i)
      std::this_thread::sleep_for(10ms);
    ASSERT_EQ(bridge.stats().received, received);
  };
  source.drop = 1;
  publish_and_wait(1);
  for (int i = 0; i < 200 && source.dropped == 0; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(source.dropped, 1);
  // The meter sends it again, as it does until it sees it committed: still in flight.
  publish_and_wait(2);
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(bridge.stats().submitted, 1u);
  EXPECT_EQ(bridge.stats().duplicates, 1u);
  EXPECT_EQ(committed_seq(), 0u);
  // After the timeout the next copy is relayed again, and committed.
  std::this_thread::sleep_for(800ms);
  publish_and_wait(3);
  ASSERT_TRUE(wait_seq(1)) << "committed up to seq " << committed_seq();
  EXPECT_EQ(bridge.stats().submitted, 2u);
  // Delivered: one more copy is a duplicate, relayed no more.
  publish_and_wait(4);
  EXPECT_EQ(bridge.stats().submitted, 2u);
  EXPECT_EQ(bridge.stats().duplicates, 2u);
  EXPECT_EQ(meters::readings(node->store(), meter_id(), 0, UINT64_MAX, 100).size(), 1u);
}

// Issue 20: the bridge must support broker authentication and TLS. Against a mosquitto that
// takes TLS only and refuses anonymous clients: the bridge's client options (user name,
// password, CA) connect and carry a message; no password or a wrong one is refused at
// connect with the broker's reason (it was retried until a 10 s timeout), and a CA that did
// not sign the broker's certificate never connects.
TEST(MqttTest, BrokerAuthenticationAndTls) {
  testing::TempDir dir;
  const std::string d = dir.str();
  auto pki = http::make_test_pki(d + "/pki");
  ASSERT_TRUE(pki) << pki.status().to_string();
  const std::string passwords = d + "/passwd";
  ASSERT_EQ(std::system(
                ("mosquitto_passwd -b -c " + passwords + " relay s3cret >/dev/null 2>&1").c_str()),
            0);
  Mosquitto broker(d, "allow_anonymous false\npassword_file " + passwords + "\ncafile " + pki->ca +
                          "\ncertfile " + pki->cert + "\nkeyfile " + pki->key + "\n");
  ASSERT_TRUE(broker.start());
  MqttOptions o;
  o.port = broker.port();
  o.client_id = "mqtt-test";
  o.username = "relay";
  o.password = "s3cret";
  o.tls_ca_file = pki->ca;
  std::mutex mu;
  std::vector<std::string> got;
  auto client = MqttClient::connect(o, [&](const std::string& topic, const uint8_t*, size_t) {
    std::lock_guard lock(mu);
    got.push_back(topic);
  });
  ASSERT_TRUE(client) << client.status().to_string();
  ASSERT_TRUE((*client)->subscribe("t/#").is_ok());
  ASSERT_TRUE((*client)->publish("t/1", Bytes{1, 2, 3}).is_ok());
  ASSERT_TRUE((*client)->flush(std::chrono::seconds(10)).is_ok());
  for (int i = 0; i < 100; ++i) {
    {
      std::lock_guard lock(mu);
      if (!got.empty()) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(got, std::vector<std::string>{"t/1"});
  }

  auto refusal = [&](MqttOptions bad) {
    bad.client_id = "mqtt-test-bad";
    auto c = MqttClient::connect(bad);
    return c ? std::string("connected") : c.status().message;
  };
  // Credentials: refused by the broker's CONNACK, reported at once with its reason.
  MqttOptions anonymous = o;
  anonymous.username.clear();
  anonymous.password.clear();
  MqttOptions wrong_password = o;
  wrong_password.password = "guess";
  for (const auto& bad : {anonymous, wrong_password}) {
    auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(refusal(bad).rfind("MQTT broker refused the connection", 0), 0u);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));  // not a timeout
  }
  // A broker whose certificate the CA does not vouch for is never connected to (the TLS
  // failure is reported at once or after the connect timeout, as libmosquitto notices it).
  MqttOptions other_ca = o;
  other_ca.tls_ca_file = pki->other_ca;
  EXPECT_NE(refusal(other_ca), "connected");
}

}  // namespace
}  // namespace gridpact::meteragent
