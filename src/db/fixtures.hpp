// Fixtures of the read model's tests (db_test.cpp, follower_test.cpp, routes_test.cpp): a
// throwaway PostgreSQL server on a free loopback port (initdb in a temporary directory; as
// root, run as `postgres`), and a chain with the modules the read model mirrors, for
// SQLite and PostgreSQL alike. Test code only.
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>
#include <pwd.h>
#include <unistd.h>

#include <csignal>
#include <future>
#include <thread>

#include <fstream>

#include "api/server.hpp"
#include "attest/virtual_platform.hpp"
#include "base/testing.hpp"
#include "db/read_model.hpp"
#include "db/routes.hpp"
#include "ledger/testing.hpp"
#include "modules/bank/bank.hpp"
#include "modules/market/market.hpp"
#include "modules/meters/meters.hpp"
#include "modules/tokens/tokens.hpp"
#include "node/node.hpp"

// Named, not anonymous: every test file's TEST_P must see the same fixture type.
namespace gridpact::db::test {

using namespace agreements;

// A throwaway PostgreSQL 15 cluster.
class PgServer {
 public:
  bool start() {
    const std::string bin = "/usr/lib/postgresql/15/bin/";
    if (access((bin + "pg_ctl").c_str(), X_OK) != 0) return fail("PostgreSQL 15 is not installed");
    dir_ = std::filesystem::temp_directory_path() /
           ("gridpact-pg-" + KeyPair::generate().public_key().hex().substr(0, 12));
    std::filesystem::create_directories(dir_);
    std::string as;
    if (geteuid() == 0) {  // initdb refuses root: run the server as the postgres user
      passwd* pw = getpwnam("postgres");
      if (!pw) return fail("running as root and there is no 'postgres' user");
      if (chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) return fail("chown failed");
      as = "runuser -u postgres -- ";
    }
    port_ = gridpact::testing::free_loopback_port();
    std::string d = dir_.string();
    if (!run(as + bin + "initdb -D " + d + "/data -A trust -U gridpact --no-sync > " + d +
             "/initdb.log 2>&1"))
      return fail("initdb failed: " + slurp(d + "/initdb.log"));
    ctl_ = as + bin + "pg_ctl -D " + d + "/data";
    if (!run(ctl_ + " -w -t 60 -l " + d + "/server.log -o \"-p " + std::to_string(port_) + " -k " +
             d + " -c listen_addresses=127.0.0.1 -c fsync=off\" start > /dev/null 2>&1"))
      return fail("pg_ctl start failed: " + slurp(d + "/server.log"));
    started_ = true;
    return true;
  }
  ~PgServer() {
    if (started_) run(ctl_ + " -m immediate stop > /dev/null 2>&1");
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  std::string url(const std::string& db = "postgres") const {
    return "postgresql://gridpact@127.0.0.1:" + std::to_string(port_) + "/" + db;
  }
  const std::string& why() const { return why_; }

 private:
  static bool run(const std::string& cmd) { return std::system(cmd.c_str()) == 0; }
  static std::string slurp(const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  bool fail(std::string why) {
    why_ = std::move(why);
    return false;
  }
  std::filesystem::path dir_;
  int port_ = 0;
  std::string ctl_, why_;
  bool started_ = false;
};

// One server for the suite (SetUpTestSuite), shared by its tests in every file.
inline PgServer* pg = nullptr;
inline int pg_databases = 0;

class ReadModelTest : public ::testing::TestWithParam<std::string> {
 public:
  static void SetUpTestSuite() {
    // A reader that stops early (| head) must not kill us before TearDownTestSuite stops
    // the server.
    signal(SIGPIPE, SIG_IGN);
    pg = new PgServer;
    if (!pg->start()) ADD_FAILURE() << "cannot start PostgreSQL: " << pg->why();
  }
  static void TearDownTestSuite() {
    delete pg;
    pg = nullptr;
  }

 protected:
  KeyPair issuer = KeyPair::generate(), owner = KeyPair::generate(), host = KeyPair::generate();
  bank::BankModule bank_module;
  meters::MetersModule meters_module;
  AgreementsModule agreements_module;
  market::MarketModule market_module;
  tokens::TokensModule tokens_module{1};
  std::unique_ptr<testing::Chain> chain;
  testing::TempDir dir;
  uint64_t now = 1'000'000;

  void SetUp() override {
    json genesis = {
        {"bank",
         {{"issuer", issuer.public_key().hex()},
          {"balances",
           {{owner.public_key().hex(), 1'000'000'000}, {host.public_key().hex(), 300'000'000}}}}},
        {"meters", {{"allow_virtual", true}, {"period_ms", 5000}}},
        {"market",
         {{"operator", issuer.public_key().hex()}, {"fees", {{"mg-north", {{"mg-north", 0}}}}}}},
        {"tokens", {{"allow_virtual", true}}}};
    chain = std::make_unique<testing::Chain>(
        std::vector<Module*>{&bank_module, &meters_module, &market_module, &agreements_module,
                             &tokens_module},
        genesis);
  }
  // A fresh, empty database of the engine under test.
  std::string url() {
    if (GetParam() == "sqlite")
      return "sqlite:" + dir.str() + "/rm-" + std::to_string(pg_databases++) + ".db";
    std::string name = "rm_" + std::to_string(pg_databases++);
    auto admin = connect(pg->url());
    EXPECT_TRUE(admin.is_ok()) << admin.status().message;
    EXPECT_TRUE((*admin)->exec_script("CREATE DATABASE " + name).is_ok());
    return pg->url(name);
  }
  std::unique_ptr<ReadModel> open(const std::string& u) {
    auto m = ReadModel::open(u);
    EXPECT_TRUE(m.is_ok()) << m.status().message;
    return m ? std::move(m.value()) : nullptr;
  }
  Receipt tx(const KeyPair& k, uint16_t type, Bytes payload) {
    now += 1000;
    auto r = chain->one(k, type, std::move(payload), now);
    EXPECT_TRUE(r.ok()) << r.message;
    return r;
  }
  uint64_t height() { return *chain->store().height(); }
  // A virtual meter of `k`'s, registered through a real meters/register transaction.
  Hash32 add_meter(const KeyPair& k, const KeyPair& m = KeyPair::generate(),
                   meters::Source source = meters::Source::kPv) {
    meters::RegisterPayload p;
    p.microgrid = "mg-north";
    p.source = source;
    Bytes key(m.public_key().bytes.begin(), m.public_key().bytes.end());
    auto nonce =
        attest::attestation_nonce("test", key, meters::registration_challenge(k.public_key(), p));
    p.evidence = attest::encode_evidence(attest::make_virtual_evidence(m, nonce));
    tx(k, meters::kRegister, meters::encode(p));
    return meters::meter_id_of(key);
  }

  // Listings, two agreements (one billed to its end, one defaulting), ratings.
  void scenario() {
    for (uint64_t i = 0; i < 5; ++i) {
      Asset a;
      a.type = i == 4 ? AssetType::kWind : AssetType::kPv;
      a.capacity_w = 2000 + 1000 * i;
      a.meter = add_meter(owner);
      a.lat_e6 = 47'000'000 + static_cast<int64_t>(i) * 1000;
      a.lon_e6 = 8'000'000;
      a.name = "asset " + std::to_string(i);
      tx(owner, kRegisterAsset, encode(a));
    }
    Premises p;
    p.area_m2 = 30;
    p.lat_e6 = 47'001'000;
    p.lon_e6 = 8'001'000;
    p.preferred_types = type_bit(AssetType::kPv);
    p.name = "barn";
    tx(host, kRegisterPremises, encode(p));
    TemplateArgs a;
    a.asset = 1;
    a.premises = 1;
    a.owner = owner.public_key();
    a.host = host.public_key();
    a.start_ms = now + 5000;
    a.period_ms = 10'000;
    a.periods = 2;
    a.instalment_micro = 100'000'000;
    Terms t = lease_to_own_template(a);
    tx(owner, kPropose, encode_terms(t));
    tx(host, kSign, encode(SignPayload{1, terms_hash(t)}));
    a.asset = 2;
    a.periods = 5;
    Terms t2 = lease_to_own_template(a);
    tx(owner, kPropose, encode_terms(t2));
    tx(host, kSign, encode(SignPayload{2, terms_hash(t2)}));
    for (int i = 0; i < 8; ++i) {
      now += 10'000;
      chain->block({}, now);
    }
    tx(host, kRate, encode(RatePayload{1, 0, 5}));
    tx(owner, kRate, encode(RatePayload{1, 1, 4}));
  }

  // A market trade (the host sells to the owner), cleared, settled from signed readings,
  // and rated by both.
  void trade_scenario() {
    KeyPair seller_key = KeyPair::generate(), buyer_key = KeyPair::generate();
    Hash32 seller_meter = add_meter(host, seller_key, meters::Source::kPv);
    Hash32 buyer_meter = add_meter(owner, buyer_key, meters::Source::kConsumer);
    uint64_t period = now / 5000 + 2;
    tx(host, market::kOffer,
       market::encode(market::OfferPayload{"electricity", period, 1000, 100'000, seller_meter}));
    market::BidPayload b;
    b.period = period;
    b.qty = 1000;
    b.price = 200'000;
    b.meter = buyer_meter;
    tx(owner, market::kBid, market::encode(b));
    now = period * 5000;
    chain->block({}, now);  // the gate: cleared
    now = (period + 1) * 5000 + 100;
    chain->block({}, now);
    for (auto [key, id, imp, exp] : {std::tuple{&seller_key, seller_meter, 0, 1000},
                                     std::tuple{&buyer_key, buyer_meter, 1000, 0}}) {
      // The periods since registration first, with unchanged registers: a first reading
      // counts only for the registration period (meters.hpp).
      uint64_t seq = 1;
      auto info = meters::find_meter(chain->store(), id);
      ASSERT_TRUE(info);
      for (uint64_t q = meters::next_contiguous_period(chain->store(), *info); q < period; ++q) {
        meters::Reading quiet{id, q, seq++, 0, 0, {}};
        meters::sign_virtual(quiet, "test", *key);
        tx(owner, meters::kReading, meters::encode(quiet));
      }
      meters::Reading r{id, period, seq, static_cast<uint64_t>(imp), static_cast<uint64_t>(exp),
                        {}};
      meters::sign_virtual(r, "test", *key);
      tx(owner, meters::kReading, meters::encode(r));
    }
    now += 1000;
    chain->block({}, now);  // settled
    TradeRef t{"electricity", period, 0};
    auto trade = market::find_trade(chain->store(), "electricity", period, 0);
    ASSERT_TRUE(trade && trade->settled);
    tx(owner, kRateTrade, encode(RateTradePayload{t, 4}));
    tx(host, kRateTrade, encode(RateTradePayload{t, 5}));
  }
};

}  // namespace gridpact::db::test
