// The read model against SQLite and against a real PostgreSQL server that the test starts
// on a free loopback port (initdb in a temporary directory; as root, run as `postgres`).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <future>
#include <thread>

#include <fstream>

#include "api/server.hpp"
#include "attest/virtual_platform.hpp"
#include "db/read_model.hpp"
#include "db/routes.hpp"
#include "ledger/testing.hpp"
#include "modules/bank/bank.hpp"
#include "modules/market/market.hpp"
#include "modules/meters/meters.hpp"
#include "modules/tokens/tokens.hpp"
#include "node/node.hpp"

namespace gridpact::db {
namespace {

using namespace agreements;

int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

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
    port_ = free_port();
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

PgServer* pg = nullptr;
int pg_databases = 0;

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

TEST_P(ReadModelTest, MirrorsTheChainAndVerifies) {
  scenario();
  trade_scenario();
  auto m = open(url());
  ASSERT_TRUE(m);
  ASSERT_TRUE(m->catch_up(chain->store(), height()).is_ok());
  EXPECT_EQ(*m->last_height(), height());
  auto v = m->verify(chain->store());
  ASSERT_TRUE(v.is_ok()) << v.status().message;
  EXPECT_TRUE((*v)["ok"].get<bool>()) << v->dump(2);
  EXPECT_EQ((*v)["tables"]["assets"]["db"], 5);
  EXPECT_EQ((*v)["tables"]["agreements"]["db"], 2);
  EXPECT_GE((*v)["tables"]["payments"]["db"].get<int>(), 4);
  EXPECT_EQ((*v)["tables"]["ratings"]["db"], 2);
  EXPECT_EQ((*v)["tables"]["trade_ratings"]["db"], 2);
  auto rows = m->sql().query("SELECT rater, ratee, score FROM trade_ratings ORDER BY score", {});
  ASSERT_TRUE(rows.is_ok());
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0][0], owner.public_key().hex());
  EXPECT_EQ((*rows)[0][1], host.public_key().hex());
  EXPECT_EQ((*rows)[0][2], "4");
  // A tampered trade rating is reported.
  ASSERT_TRUE(m->sql().exec("UPDATE trade_ratings SET score = 1 WHERE score = 5", {}).is_ok());
  auto tampered = m->verify(chain->store());
  ASSERT_TRUE(tampered.is_ok());
  EXPECT_FALSE((*tampered)["ok"].get<bool>());
  EXPECT_EQ((*tampered)["difference_count"], 1);
  // The chain's state and the SQL tables agree on an agreement's payments.
  auto pays = m->payments_of(1);
  ASSERT_TRUE(pays.is_ok());
  ASSERT_EQ((*pays)["payments"].size(), 2u);
  EXPECT_EQ((*pays)["payments"][0]["due"], 100'000'000);
  EXPECT_EQ((*pays)["payments"][0]["status"], "paid");
  auto mine = m->agreements_of(host.public_key().hex());
  EXPECT_EQ((*mine)["agreements"].size(), 2u);
}

TEST_P(ReadModelTest, MirrorsTokensAndVerifies) {
  trade_scenario();  // the host's pv meter exports 1000 Wh in a settled period
  auto m = open(url());
  ASSERT_TRUE(m);
  ASSERT_TRUE(m->catch_up(chain->store(), height()).is_ok());
  // Minting waits for the market's settlement deadline (an hour) after the period.
  for (int i = 0; i < 100 && tokens::supply(chain->store()).minted == 0; ++i) {
    now += 100'000;
    chain->block({}, now);
  }
  const uint64_t minted = tokens::supply(chain->store()).minted;
  ASSERT_GT(minted, 0u);
  ASSERT_EQ(tokens::balance(chain->store(), host.public_key()), minted);
  ASSERT_TRUE(m->catch_up(chain->store(), height()).is_ok());  // the block log, incrementally
  tx(host, tokens::kTransfer, tokens::encode(tokens::TransferPayload{owner.public_key(), 300, ""}));
  tx(owner, tokens::kFundPool, tokens::encode(tokens::FundPoolPayload{1'000'000}));
  tx(host, tokens::kRedeem, tokens::encode(tokens::RedeemPayload{100'000}));
  ASSERT_TRUE(m->catch_up(chain->store(), height()).is_ok());
  auto v = m->verify(chain->store());
  ASSERT_TRUE(v.is_ok()) << v.status().message;
  EXPECT_TRUE((*v)["ok"].get<bool>()) << v->dump(2);
  EXPECT_EQ((*v)["tables"]["token_balances"]["db"], 2);
  EXPECT_EQ((*v)["tables"]["token_mints"]["db"], 1);
  EXPECT_EQ((*v)["tables"]["token_pool"]["db"], 1);
  auto rows = m->sql().query("SELECT account, source, wh, amount FROM token_mints", {});
  ASSERT_TRUE(rows.is_ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0][0], host.public_key().hex());
  EXPECT_EQ((*rows)[0][1], "pv");
  EXPECT_EQ((*rows)[0][2], "1000");
  EXPECT_EQ((*rows)[0][3], std::to_string(minted));
  auto bal = m->sql().query("SELECT balance FROM token_balances WHERE account = $1",
                            {owner.public_key().hex()});
  ASSERT_TRUE(bal.is_ok());
  ASSERT_EQ(bal->size(), 1u);
  EXPECT_EQ((*bal)[0][0], "300");
  auto pool = m->sql().query("SELECT pool_balance, funded, redeemed, burned FROM token_pool", {});
  ASSERT_TRUE(pool.is_ok());
  ASSERT_EQ(pool->size(), 1u);
  EXPECT_EQ((*pool)[0][0], std::to_string(1'000'000 - 10'000));  // 0.1 token at 100,000/token
  EXPECT_EQ((*pool)[0][1], "1000000");
  EXPECT_EQ((*pool)[0][2], "10000");
  EXPECT_EQ((*pool)[0][3], "100000");
  // A tampered balance and a missing mint are reported.
  ASSERT_TRUE(m->sql()
                  .exec("UPDATE token_balances SET balance = 1 WHERE account = $1",
                        {owner.public_key().hex()})
                  .is_ok());
  ASSERT_TRUE(m->sql().exec("DELETE FROM token_mints", {}).is_ok());
  auto tampered = m->verify(chain->store());
  ASSERT_TRUE(tampered.is_ok());
  EXPECT_EQ((*tampered)["difference_count"], 2);
}

TEST_P(ReadModelTest, VerifyReportsTamperedMissingAndExtraRows) {
  scenario();
  auto m = open(url());
  ASSERT_TRUE(m->catch_up(chain->store(), height()).is_ok());
  ASSERT_TRUE(
      m->sql().exec("UPDATE payments SET due = 1 WHERE agreement = 1 AND period = 0", {}).is_ok());
  ASSERT_TRUE(m->sql().exec("DELETE FROM assets WHERE id = 3", {}).is_ok());
  ASSERT_TRUE(m->sql().exec("INSERT INTO ratings VALUES (9, 9, 'x', 'y', 1)", {}).is_ok());
  auto v = m->verify(chain->store());
  ASSERT_TRUE(v.is_ok());
  EXPECT_FALSE((*v)["ok"].get<bool>());
  EXPECT_EQ((*v)["difference_count"], 3);
  std::string text = v->dump();
  EXPECT_NE(text.find("\"missing\""), std::string::npos);
  EXPECT_NE(text.find("\"unexpected\""), std::string::npos);
  EXPECT_NE(text.find("\"found\""), std::string::npos);
}

TEST_P(ReadModelTest, ResumesAfterACrashWithoutGapsOrDuplicates) {
  std::string u = url();
  scenario();
  uint64_t mid = height() / 2;
  {
    auto m = open(u);
    ASSERT_TRUE(m->catch_up(chain->store(), mid).is_ok());
    EXPECT_EQ(*m->last_height(), mid);
  }  // "crash": the connection goes away between blocks
  // A block whose SQL fails half-way leaves nothing behind: its rows and last_height roll back.
  {
    auto m = open(u);
    ASSERT_TRUE(m->sql().exec_script("ALTER TABLE ratings RENAME TO ratings_gone").is_ok());
    Status s = m->catch_up(chain->store(), height());
    EXPECT_FALSE(s.is_ok());
    uint64_t stuck = *m->last_height();
    EXPECT_LT(stuck, height());
    EXPECT_GE(stuck, mid);
    ASSERT_TRUE(m->sql().exec_script("ALTER TABLE ratings_gone RENAME TO ratings").is_ok());
    auto rows = m->sql().query("SELECT COUNT(*) FROM ratings", {});
    EXPECT_EQ(rows->at(0).at(0), "0");
  }
  auto m = open(u);
  ASSERT_TRUE(m->catch_up(chain->store(), height()).is_ok());
  EXPECT_EQ(*m->last_height(), height());
  auto v = m->verify(chain->store());
  EXPECT_TRUE((*v)["ok"].get<bool>()) << v->dump(2);
  // Catching up again applies nothing twice.
  ASSERT_TRUE(m->catch_up(chain->store(), height()).is_ok());
  auto n = m->sql().query("SELECT COUNT(*) FROM payments", {});
  EXPECT_EQ(n->at(0).at(0), std::to_string((*v)["tables"]["payments"]["chain"].get<int>()));
}

TEST_P(ReadModelTest, MatchingAndSearchAgreeWithTheStateQuery) {
  scenario();
  // More listings, some out of range.
  for (uint64_t i = 0; i < 20; ++i) {
    Asset a;
    a.type = AssetType::kPv;
    a.capacity_w = 500 + 250 * i;
    a.meter = add_meter(owner);
    a.lat_e6 = 47'000'000 + static_cast<int64_t>(i) * 20'000;  // every ~2.2 km north
    a.lon_e6 = 8'000'000;
    tx(owner, kRegisterAsset, encode(a));
  }
  auto m = open(url());
  ASSERT_TRUE(m->catch_up(chain->store(), height()).is_ok());
  for (json params : {json{{"premises", "1"}}, json{{"premises", "1"}, {"radius_km", "10"}},
                      json{{"premises", "1"}, {"min_w", "1000"}, {"max_w", "3000"}},
                      json{{"premises", "1"}, {"min_rating", "3100"}}}) {
    MatchFilter f;
    ASSERT_TRUE(f.parse(params).is_ok());
    auto sql = m->match(1, f);
    ASSERT_TRUE(sql.is_ok()) << sql.status().message;
    auto state = agreements_module.query(chain->store(), "match", params);
    ASSERT_TRUE(state.is_ok());
    EXPECT_EQ((*sql)["matches"], (*state)["matches"]) << params.dump();
  }
  MatchFilter f;
  ASSERT_TRUE(f.parse({{"radius_km", "5"}}).is_ok());
  auto near = m->search_assets(47'000'000, 8'000'000, f);
  ASSERT_TRUE(near.is_ok());
  uint64_t last = 0;
  for (const auto& a : (*near)["assets"]) {
    EXPECT_LE(a["distance_m"].get<uint64_t>(), 5000u);
    EXPECT_GE(a["distance_m"].get<uint64_t>(), last);
    EXPECT_EQ(a["listed"], true);
    last = a["distance_m"].get<uint64_t>();
  }
  EXPECT_GT((*near)["assets"].size(), 2u);
  EXPECT_EQ(m->match(99, f).status().code, kPremisesNotFound);
}

INSTANTIATE_TEST_SUITE_P(Engines, ReadModelTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& param_info) { return param_info.param; });

// The read model following a real node: every committed block, from a worker thread, and
// again after a restart of the follower.
TEST(Follower, FollowsANodeAndResumes) {
  testing::TempDir dir;
  KeyPair validator = KeyPair::generate(), issuer = KeyPair::generate(), host = KeyPair::generate();
  bank::BankModule genesis_bank;  // write the genesis document's sections
  meters::MetersModule genesis_meters;
  Genesis genesis =
      Genesis::parse(development_genesis("follow-test", validator.public_key(), issuer.public_key(),
                                         {{host.public_key(), 1000}},
                                         {&genesis_bank, &genesis_meters}))
          .value();
  NodeOptions o;
  o.data_dir = dir.str() + "/chain";
  o.genesis = genesis;
  o.validator_key = validator;
  o.sync_commits = false;
  std::vector<std::unique_ptr<Module>> modules;
  modules.push_back(std::make_unique<bank::BankModule>());
  modules.push_back(std::make_unique<meters::MetersModule>());
  modules.push_back(std::make_unique<AgreementsModule>());
  auto node = Node::open(std::move(o), std::move(modules)).value();
  node->start();
  std::string url = "sqlite:" + dir.str() + "/follow.db";
  auto premises_tx = [&](uint64_t nonce, uint64_t area) {
    Premises p;
    p.area_m2 = area;
    Transaction tx;
    tx.chain_id = genesis.chain_id;
    tx.nonce = nonce;
    tx.type = kRegisterPremises;
    tx.payload = encode(p);
    tx.sign(host);
    auto id = node->submit(tx).value();
    auto r = node->wait_committed(id, std::chrono::seconds(10));
    EXPECT_TRUE(r && r->ok());
    return r ? r->height : 0;
  };
  uint64_t h1;
  {
    auto model = ReadModel::open(url).value();
    Follower follower(*node, *model);
    ASSERT_TRUE(follower.start().is_ok());
    h1 = premises_tx(0, 10);
    ASSERT_TRUE(follower.wait_height(h1, std::chrono::seconds(10)));
    auto rows = model->sql().query("SELECT id, area_m2 FROM premises", {});
    ASSERT_EQ(rows->size(), 1u);
    EXPECT_EQ(rows->at(0).at(1), "10");
  }
  // Blocks committed while no follower runs are applied when one starts again.
  uint64_t h2 = premises_tx(1, 20);
  auto model = ReadModel::open(url).value();
  EXPECT_LT(*model->last_height(), h2);
  Follower follower(*node, *model);
  ASSERT_TRUE(follower.start().is_ok());
  ASSERT_TRUE(follower.wait_height(h2, std::chrono::seconds(10)));
  EXPECT_TRUE(follower.last_error().is_ok());
  follower.stop();
  node->stop();
  auto v = model->verify(node->store());
  ASSERT_TRUE(v.is_ok());
  EXPECT_TRUE((*v)["ok"].get<bool>()) << v->dump(2);
  EXPECT_EQ((*v)["tables"]["premises"]["db"], 2);
}

// Issue 20: /v1/db took a 20,000 km radius, a box that reads every listing. The bound is
// checked before the model is touched (here there is none).
TEST(Routes, RadiusIsBounded) {
  Routes routes({});
  for (const char* q : {"assets", "match"}) {
    json params = {
        {"q", q}, {"lat_e6", "0"}, {"lon_e6", "0"}, {"premises", "1"}, {"radius_km", "20000"}};
    auto r = routes.answer(params);
    ASSERT_FALSE(r.is_ok()) << q;
    EXPECT_EQ(r.status().code, Code::kInvalidArgument);
    EXPECT_NE(r.status().message.find("500"), std::string::npos) << r.status().message;
  }
}

// Issue 20: /v1/db answered one query at a time, on one connection under one lock, so one
// slow query held every other. Each query now takes a free connection of a small pool.
TEST_P(ReadModelTest, ASlowDbQueryHoldsOneConnectionNotTheRoute) {
  if (GetParam() != "postgresql") GTEST_SKIP() << "the slow query is PostgreSQL's pg_sleep";
  const std::string u = url();
  std::vector<std::unique_ptr<ReadModel>> models;
  for (int i = 0; i < 2; ++i) models.push_back(open(u));
  Routes routes(std::move(models));
  std::promise<void> started;
  std::thread slow([&] {
    (void)routes.on_connection([&](ReadModel& m) -> Result<json> {
      started.set_value();
      (void)m.sql().query("SELECT pg_sleep(2)::text", {});
      return json::object();
    });
  });
  started.get_future().wait();
  const auto t0 = std::chrono::steady_clock::now();
  auto h = routes.answer({{"q", "height"}});
  const auto took = std::chrono::steady_clock::now() - t0;
  slow.join();
  ASSERT_TRUE(h.is_ok()) << h.status().message;
  EXPECT_EQ((*h)["last_height"], 0);
  EXPECT_LT(took, std::chrono::milliseconds(1000));
}

// Issue 20: /v1/db is an expensive query of the API's gate: a client beyond its share gets
// 429 OVERLOADED (before any database work).
TEST_P(ReadModelTest, DbRouteGoesThroughTheQueryGate) {
  if (GetParam() != "sqlite") GTEST_SKIP() << "the gate is the same for both engines";
  std::vector<std::unique_ptr<ReadModel>> models;
  models.push_back(open(url()));
  auto routes = std::make_shared<Routes>(std::move(models));
  api::ServerOptions o;
  o.queries.per_client_per_second = 0;  // no refill: the burst is all a client gets
  o.queries.per_client_burst = 2;
  testing::TempDir node_dir;
  KeyPair validator = KeyPair::generate();
  bank::BankModule genesis_bank;
  Genesis genesis = Genesis::parse(development_genesis("db-gate", validator.public_key(),
                                                       issuer.public_key(), {}, {&genesis_bank}))
                        .value();
  std::vector<std::unique_ptr<Module>> mods;
  mods.push_back(std::make_unique<bank::BankModule>());
  auto node = Node::open({node_dir.str(), genesis, validator, {}, false}, std::move(mods)).value();
  node->start();
  {
    api::Server server(*node, o);
    install_routes(server, routes);
    ASSERT_TRUE(server.start().is_ok());
    httplib::Client c("127.0.0.1", server.port());
    c.set_read_timeout(10, 0);
    std::vector<int> statuses;
    for (int i = 0; i < 3; ++i) {
      auto r = c.Get("/v1/db?q=height");
      ASSERT_TRUE(r);
      statuses.push_back(r->status);
      if (r->status == 429) {
        EXPECT_EQ(json::parse(r->body)["error"]["name"], "OVERLOADED");
      }
    }
    EXPECT_EQ(statuses, (std::vector<int>{200, 200, 429}));
    server.stop();
  }
  node->stop();
}

TEST(Sql, BadUrlsAreRefused) {
  EXPECT_EQ(connect("mysql://x").status().code, kDbBadUrl);
  EXPECT_EQ(connect("").status().code, kDbBadUrl);
  EXPECT_EQ(connect("postgresql://nobody@127.0.0.1:1/x").status().code, kDbError);
}

}  // namespace
}  // namespace gridpact::db
