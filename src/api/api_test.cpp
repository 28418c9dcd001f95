// The API over HTTP: submission and waiting, errors, proofs, streams, hosts and origins.
#include "api/testing.hpp"

namespace gridpact::api {
namespace {

using namespace test;

TEST_F(ApiTest, SubmitWaitAndVerifyReceiptOffline) {
  auto bob = KeyPair::generate().public_key();
  json r = post("/v1/tx?wait=commit", {{"tx", transfer_hex(bob, 1200)}}, 200);
  ASSERT_EQ(r["status"], "committed") << r.dump();
  EXPECT_EQ(r["receipt"]["code"], 0);
  json t = get("/v1/tx/" + r["tx_id"].get<std::string>());
  EXPECT_EQ(t["tx"]["type_name"], "bank/transfer");
  EXPECT_EQ(t["tx"]["payload"]["amount"], 1200);
  auto bundle = parse_bundle(t["bundle"]);
  ASSERT_TRUE(bundle.is_ok());
  auto verified = verify_bundle(*bundle, validator.public_key());
  ASSERT_TRUE(verified.is_ok()) << verified.status().to_string();
  EXPECT_EQ(verified->tx.id().hex(), r["tx_id"]);
  // Against another proposer key, or with a tampered receipt, verification fails.
  EXPECT_FALSE(verify_bundle(*bundle, issuer.public_key()).is_ok());
  auto tampered = *bundle;
  tampered.receipt[tampered.receipt.size() - 5] ^= 1;
  EXPECT_FALSE(verify_bundle(tampered, validator.public_key()).is_ok());
}

TEST_F(ApiTest, BadInputGetsStableErrors) {
  auto r = client->Post("/v1/tx", "{not json", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(json::parse(r->body)["error"]["name"], "MALFORMED_JSON");
  json bad_hex = post("/v1/tx", {{"tx", "zz"}}, 400);
  EXPECT_EQ(bad_hex["error"]["name"], "INVALID_ARGUMENT");
  json truncated = post("/v1/tx", {{"tx", "0100"}}, 400);
  EXPECT_EQ(truncated["error"]["name"], "TRUNCATED");
  auto hex = transfer_hex(KeyPair::generate().public_key(), 1);
  auto raw = from_hex(hex).value();
  raw[raw.size() - 1] ^= 1;
  json forged = post("/v1/tx", {{"tx", to_hex(raw)}}, 400);
  EXPECT_EQ(forged["error"]["name"], "BAD_SIGNATURE");
  json missing = get("/v1/tx/" + std::string(64, 'a'), 404);
  EXPECT_EQ(missing["error"]["name"], "NOT_FOUND");
  get("/v1/nosuchmodule/x", 404);
}

// By default, state proofs reach 8 blocks back.
TEST_F(ApiTest, StateProofsCoverRecentBlocksOnly) {
  expect_proofs_back_to(8);
}

// The node's proof history is its operator's choice (`gridpact node --proof-history`).
struct ApiLongProofHistoryTest : ApiTest {
  ApiLongProofHistoryTest() { proof_history_blocks = 14; }
};

TEST_F(ApiLongProofHistoryTest, StateProofsCoverAsManyBlocksAsConfigured) {
  expect_proofs_back_to(14);
}

TEST_F(ApiTest, BatchAccountsProofsMetricsAndBlockStream) {
  auto bob = KeyPair::generate().public_key();
  std::atomic<int> events{0};
  std::thread stream([&] {
    httplib::Client c("127.0.0.1", server->port());
    c.set_read_timeout(10, 0);
    c.Get("/v1/events/blocks", [&](const char* data, size_t n) {
      if (std::string(data, n).find("event: block") != std::string::npos) ++events;
      return events < 1;
    });
  });
  json txs = json::array();
  for (int i = 0; i < 10; ++i) txs.push_back(transfer_hex(bob, 10));
  txs.push_back(transfer_hex(bob, 10));
  txs.back() = txs[0];  // a duplicate: refused, the rest go through
  json r = post("/v1/tx?wait=commit", {{"txs", txs}}, 200);
  ASSERT_EQ(r["results"].size(), 11u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(r["results"][i]["status"], "committed");
  EXPECT_EQ(r["results"][10]["error"]["name"], "NONCE_REUSED");
  stream.join();
  EXPECT_GE(events.load(), 1);

  json acct = get("/v1/accounts/" + bob.hex());
  EXPECT_EQ(acct["modules"]["bank"]["balance"], 100);
  Hash32 root = Hash32::from_hex(acct["header"]["state_root"].get<std::string>()).value();
  for (const auto& p : acct["state_proofs"]) {
    auto key = from_hex(p["key"].get<std::string>()).value();
    std::optional<Hash32> vh;
    if (!p["value"].is_null()) vh = sha256(from_hex(p["value"].get<std::string>()).value());
    auto proof = parse_state_proof(p["proof"]).value();
    EXPECT_TRUE(StateTree::verify(root, sha256(key), vh, proof));
    // A light client that is told a different balance detects it.
    if (vh) {
      EXPECT_FALSE(StateTree::verify(root, sha256(key), sha256("lie"), proof));
    }
  }
  json supply = get("/v1/bank/supply");
  EXPECT_EQ(supply["supply"], 5000);
  auto m = client->Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_NE(m->body.find("gridpact_txs_committed_total 10"), std::string::npos) << m->body;
  EXPECT_NE(m->body.find("gridpact_block_execute_seconds_bucket{le=\"+Inf\"}"), std::string::npos);
  EXPECT_NE(m->body.find("gridpact_block_end_block_seconds_count{module=\"bank\"}"),
            std::string::npos);
  EXPECT_NE(m->body.find("# TYPE gridpact_block_fsync_seconds histogram"), std::string::npos);
  json health = get("/v1/health");
  EXPECT_EQ(health["development"], true);
}

TEST_F(ApiTest, ParamsListsEveryParameterByItsDottedName) {
  json p = get("/v1/params");
  ASSERT_TRUE(p.is_object()) << p.dump();
  // The development genesis names the operator and leaves the rest at their defaults.
  EXPECT_EQ(p["market.operator"], issuer.public_key().hex());
  EXPECT_EQ(p["market.retail_tariff"], 300'000);
  EXPECT_EQ(p["market.rule"], "pay-as-clear");
  EXPECT_TRUE(p["market.tax_account"].is_null());
  for (const auto& [name, value] : p.items()) EXPECT_NE(name.find('.'), std::string::npos) << name;
}

// The development genesis is written by the modules now (each its own section), and must
// read as the engine wrote it before: what `gridpact init` and the examples rely on.
TEST(DevelopmentGenesis, EachModuleWritesItsOwnSectionAsBefore) {
  KeyPair v = KeyPair::generate(), i = KeyPair::generate(), a = KeyPair::generate();
  bank::BankModule bank;
  meters::MetersModule meters;
  market::MarketModule market;
  std::string text = development_genesis("dev", v.public_key(), i.public_key(),
                                         {{a.public_key(), 7}}, {&bank, &meters, &market});
  std::string expected =
      "# A development chain: keys live beside this file. INSECURE, for development only.\n"
      "chain_id = \"dev\"\ndevelopment = true\ntime_ms = 0\n\n"
      "[validator]\npublic_key = \"" +
      v.public_key().hex() +
      "\"\n\n"
      "[block]\ninterval_ms = 100\nidle_interval_ms = 1000\nmax_txs = 5000\n\n"
      "[bank]\nissuer = \"" +
      i.public_key().hex() +
      "\"\n\n"
      "[bank.balances]\n\"" +
      a.public_key().hex() +
      "\" = 7\n\n"
      "[meters]\nperiod_ms = 900000\nallow_virtual = true\nauthority = \"" +
      i.public_key().hex() +
      "\"\n\n"
      "[market]\noperator = \"" +
      i.public_key().hex() + "\"\n";
  EXPECT_EQ(text, expected);
  ASSERT_TRUE(Genesis::parse(text));
}

// DNS rebinding: a page served from a foreign name reaches the node's address, but its
// requests carry that name in Host. They are refused; the node's own names are served.
TEST_F(ApiTest, ForeignHostIsRefusedAndCorsIsSameOriginByDefault) {
  auto r = client->Get("/v1/health",
                       {{"Host", "rebind.attacker.example:" + std::to_string(server->port())}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  json j = json::parse(r->body);
  EXPECT_EQ(j["error"]["name"], "FORBIDDEN_HOST");
  EXPECT_EQ(j["error"]["code"], 412);
  for (std::string host : {"localhost", "127.0.0.1:8080", "LOCALHOST:1", "[::1]:9"}) {
    r = client->Get("/v1/health", {{"Host", host}});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << host;
  }
  // No origin is allowed to read answers unless configured.
  r = client->Get("/v1/health", {{"Origin", "http://evil.example"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_FALSE(r->has_header("Access-Control-Allow-Origin"));
  EXPECT_TRUE(host_allowed("node.example:443", "0.0.0.0", {"node.example"}));
  EXPECT_FALSE(host_allowed("localhost", "0.0.0.0", {"node.example"}));
  EXPECT_FALSE(host_allowed("", "127.0.0.1", {}));
}

TEST_F(ApiTest, ConfiguredNamesAndOrigins) {
  ServerOptions o;
  o.allowed_hosts = {"grid.example"};
  o.cors_origins = {"https://app.example"};
  Server other(*node, o);
  ASSERT_TRUE(other.start().is_ok());
  httplib::Client c("127.0.0.1", other.port());
  auto r = c.Get("/v1/health", {{"Host", "grid.example"}, {"Origin", "https://app.example"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Access-Control-Allow-Origin"), "https://app.example");
  r = c.Options("/v1/tx", {{"Host", "grid.example"},
                           {"Origin", "https://app.example"},
                           {"Access-Control-Request-Method", "POST"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 204);
  EXPECT_EQ(r->get_header_value("Access-Control-Allow-Origin"), "https://app.example");
  r = c.Get("/v1/health", {{"Host", "grid.example"}, {"Origin", "https://evil.example"}});
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->has_header("Access-Control-Allow-Origin"));
  r = c.Get("/v1/health", {{"Host", "127.0.0.1"}});  // not in the configured list
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  other.stop();
}

// A stream asked to start before the blocks it retains says so with a gap event.
TEST_F(ApiTest, EventStreamAnnouncesBlocksItNoLongerHolds) {
  auto bob = KeyPair::generate().public_key();
  for (int i = 0; i < 2; ++i)
    ASSERT_EQ(post("/v1/tx?wait=commit", {{"tx", transfer_hex(bob, 1)}}, 200)["status"],
              "committed");
  const uint64_t before = node->store().height().value();
  Server late(*node, ServerOptions{});  // started now: retains nothing before `before`
  ASSERT_TRUE(late.start().is_ok());
  std::string seen;
  std::thread stream([&] {
    httplib::Client c("127.0.0.1", late.port());
    c.set_read_timeout(10, 0);
    c.Get("/v1/events/blocks?from=1", [&](const char* data, size_t n) {
      seen.append(data, n);
      return seen.find("event: block") == std::string::npos;
    });
  });
  ASSERT_EQ(post("/v1/tx?wait=commit", {{"tx", transfer_hex(bob, 1)}}, 200)["status"], "committed");
  stream.join();
  late.stop();
  auto at = seen.find("event: gap\ndata: ");
  ASSERT_NE(at, std::string::npos) << seen;
  EXPECT_LT(at, seen.find("event: block"));
  json gap = json::parse(seen.substr(at + 17, seen.find('\n', at + 17) - at - 17));
  EXPECT_EQ(gap["error"]["name"], "EVENTS_GAP");
  EXPECT_EQ(gap["from"], 1);
  EXPECT_GE(gap["to"].get<uint64_t>(), before);
}

// wait=commit parks the request: with ONE worker, 20 requests waiting for transactions that
// cannot commit (a nonce gap) leave it free to answer, and each gets 504 TIMEOUT at its
// deadline with its id and "pending".
TEST_F(ApiTest, WaitCommitHoldsNoWorkerAndTimesOutWith504) {
  ServerOptions o;
  o.threads = 1;
  Server one(*node, o);
  ASSERT_TRUE(one.start().is_ok());
  auto bob = KeyPair::generate().public_key();
  std::vector<std::unique_ptr<RawClient>> parked;
  for (uint64_t i = 0; i < 20; ++i) {
    parked.push_back(std::make_unique<RawClient>(one.port()));
    json body = {{"tx", transfer_hex_at(1 + i, bob, 1)}};  // nonce 0 never comes
    ASSERT_TRUE(parked.back()->send(raw_post("/v1/tx?wait=commit&timeout_ms=1500", body.dump())));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  httplib::Client c("127.0.0.1", one.port());
  auto start = std::chrono::steady_clock::now();
  auto health = c.Get("/v1/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500));
  auto m = c.Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_NE(m->body.find("gridpact_api_waiting_commits 20\n"), std::string::npos) << m->body;
  EXPECT_NE(m->body.find("gridpact_http_requests_in_flight 21\n"), std::string::npos);  // + itself
  EXPECT_NE(m->body.find("gridpact_http_connections 21\n"), std::string::npos);
  EXPECT_NE(m->body.find("gridpact_mempool_size 20\n"), std::string::npos);
  for (auto& p : parked) {
    ASSERT_TRUE(p->wait_for("}", 1, 5000)) << p->text();
    EXPECT_EQ(p->text().substr(0, 12), "HTTP/1.1 504") << p->text();
    json j = json::parse(p->text().substr(p->text().find("\r\n\r\n") + 4));
    EXPECT_EQ(j["error"]["name"], "TIMEOUT");
    EXPECT_EQ(j["status"], "pending");
    EXPECT_EQ(j["tx_id"].get<std::string>().size(), 64u);
  }
  one.stop();
}

// The block stream names each committed transaction and its outcome; the account stream
// announces each transaction the account sent (and nothing it merely received).
TEST_F(ApiTest, BlockAndAccountStreamsCarryEachTransactionsIdAndCode) {
  auto bob = KeyPair::generate();
  RawClient blocks(server->port()), mine(server->port()), bobs(server->port());
  ASSERT_TRUE(blocks.send(raw_get("/v1/events/blocks")));
  ASSERT_TRUE(mine.send(raw_get("/v1/events/accounts/" + alice.public_key().hex())));
  ASSERT_TRUE(bobs.send(raw_get("/v1/events/accounts/" + bob.public_key().hex())));
  for (auto* s : {&blocks, &mine, &bobs}) ASSERT_TRUE(s->wait_for("\r\n\r\n"));
  json txs = json::array();
  txs.push_back(transfer_hex(bob.public_key(), 10));
  txs.push_back(transfer_hex(bob.public_key(), 1'000'000));  // more than alice has: fails
  json r = post("/v1/tx?wait=commit", {{"txs", txs}}, 200);
  ASSERT_EQ(r["results"][1]["status"], "committed") << r.dump();
  const std::string ok_id = r["results"][0]["tx_id"], failed_id = r["results"][1]["tx_id"];
  const int failed_code = r["results"][1]["receipt"]["code"];
  EXPECT_NE(failed_code, 0);

  ASSERT_TRUE(mine.wait_for("event: tx", 2)) << mine.text();
  auto tx_events = mine.events("tx");
  ASSERT_EQ(tx_events.size(), 2u);
  std::map<std::string, json> by_id;
  for (const auto& e : tx_events) by_id[e["tx_id"]] = e;
  EXPECT_EQ(by_id[ok_id]["code"], 0);
  EXPECT_EQ(by_id[ok_id]["type_name"], "bank/transfer");
  EXPECT_EQ(by_id[failed_id]["code"], failed_code);
  EXPECT_EQ(by_id[failed_id]["height"], r["results"][1]["receipt"]["height"]);

  std::map<std::string, int> codes;
  const uint64_t last = r["results"][1]["receipt"]["height"];
  ASSERT_TRUE(blocks.wait_for("id: " + std::to_string(last) + "\n")) << blocks.text();
  for (const auto& b : blocks.events("block"))
    for (const auto& t : b["txs"]) codes[t["id"]] = t["code"];
  EXPECT_EQ(codes.at(ok_id), 0);
  EXPECT_EQ(codes.at(failed_id), failed_code);
  EXPECT_FALSE(bobs.wait_for("event: tx", 1, 300)) << bobs.text();  // received, not sent

  // A stream for something that is not an account is refused with a clear error.
  auto bad = client->Get("/v1/events/accounts/xyz");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(json::parse(bad->body)["error"]["name"], "INVALID_ARGUMENT");
}

// Receipts of recent blocks come from the cache: the second proof of a block reads nothing
// again, and both verify.
TEST_F(ApiTest, ReceiptsOfRecentBlocksAreServedFromTheCache) {
  auto bob = KeyPair::generate().public_key();
  json txs = json::array();
  for (int i = 0; i < 5; ++i) txs.push_back(transfer_hex(bob, 1));
  json r = post("/v1/tx?wait=commit", {{"txs", txs}}, 200);
  for (const auto& one : r["results"]) {
    json t = get("/v1/tx/" + one["tx_id"].get<std::string>());
    auto bundle = parse_bundle(t["bundle"]);
    ASSERT_TRUE(bundle.is_ok());
    EXPECT_TRUE(verify_bundle(*bundle, validator.public_key()).is_ok());
  }
  auto m = client->Get("/metrics");
  ASSERT_TRUE(m);
  std::set<uint64_t> heights;
  for (const auto& one : r["results"]) heights.insert(one["receipt"]["height"].get<uint64_t>());
  EXPECT_NE(m->body.find("gridpact_api_receipt_cache_misses_total " +
                         std::to_string(heights.size()) + "\n"),
            std::string::npos)
      << m->body;
  EXPECT_NE(m->body.find("gridpact_api_receipt_cache_hits_total " +
                         std::to_string(5 - heights.size()) + "\n"),
            std::string::npos);
  json bad = get("/v1/tx/nothex", 400);
  EXPECT_EQ(bad["error"]["name"], "INVALID_ARGUMENT");
}

// Refusals by the server itself are the API's JSON errors too.
TEST_F(ApiTest, UnknownRoutesAndMethodsAreJsonErrors) {
  auto r = client->Post("/v1/health", "{}", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(json::parse(r->body)["error"]["name"], "METHOD_NOT_ALLOWED");
  EXPECT_EQ(r->get_header_value("Allow"), "GET");
  r = client->Get("/nothing");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(json::parse(r->body)["error"]["name"], "NOT_FOUND");
  auto deep =
      client->Post("/v1/tx", std::string(100, '[') + std::string(100, ']'), "application/json");
  ASSERT_TRUE(deep);
  EXPECT_EQ(json::parse(deep->body)["error"]["name"], "JSON_TOO_DEEP");
  // A module query whose path has several segments.
  json bank = get("/v1/bank/accounts/" + alice.public_key().hex());
  EXPECT_EQ(bank["balance"], 5000) << bank.dump();
}

// Issue 20 (snapshots): /v1/accounts read its values from the latest state and its proofs
// from the root read a moment before, so a commit in between served a value its own proof
// refutes. While blocks commit back to back, every answer's values verify.
TEST_F(ApiTest, AccountValuesAndProofsAreFromOneSnapshot) {
  auto bob = KeyPair::generate().public_key();
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    httplib::Client w("127.0.0.1", server->port());
    w.set_read_timeout(20, 0);
    for (int i = 0; i < 200 && !stop; ++i)
      w.Post("/v1/tx?wait=commit", json{{"tx", transfer_hex(bob, 1)}}.dump(), "application/json");
  });
  struct Join {  // the writer is joined however the checks end
    std::atomic<bool>& stop;
    std::thread& t;
    ~Join() {
      stop = true;
      t.join();
    }
  } join{stop, writer};
  int checked = 0;
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(4);
  while (std::chrono::steady_clock::now() < until) {
    auto r = client->Get("/v1/accounts/" + alice.public_key().hex());
    ASSERT_TRUE(r);
    if (r->status == 429) {  // the per-client query limits (50 a second)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    ASSERT_EQ(r->status, 200) << r->body;
    json acct = json::parse(r->body);
    Hash32 root = Hash32::from_hex(acct["header"]["state_root"].get<std::string>()).value();
    for (const auto& p : acct["state_proofs"]) {
      auto key = from_hex(p["key"].get<std::string>()).value();
      std::optional<Hash32> vh;
      if (!p["value"].is_null()) vh = sha256(from_hex(p["value"].get<std::string>()).value());
      ASSERT_TRUE(StateTree::verify(root, sha256(key), vh, parse_state_proof(p["proof"]).value()))
          << "height " << acct["height"];
    }
    // The nonce shown is the proven one.
    const json& nonce_value = acct["state_proofs"][0]["value"];
    uint64_t proven = 0;
    if (!nonce_value.is_null()) {
      Bytes b = from_hex(nonce_value.get<std::string>()).value();
      proven = decode_u64(std::string(b.begin(), b.end())).value();
    }
    EXPECT_EQ(acct["nonce"], proven);
    ++checked;
  }
  EXPECT_GT(checked, 10);
}

}  // namespace
}  // namespace gridpact::api
