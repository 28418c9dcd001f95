#include <gtest/gtest.h>
#include <httplib.h>

#include "api/server.hpp"
#include "api/views.hpp"
#include "ledger/testing.hpp"
#include "modules/bank/bank.hpp"

namespace gridpact::api {
namespace {

struct ApiTest : ::testing::Test {
  testing::TempDir dir;
  KeyPair validator = KeyPair::generate();
  KeyPair issuer = KeyPair::generate();
  KeyPair alice = KeyPair::generate();
  Genesis genesis =
      Genesis::parse(development_genesis("api-test", validator.public_key(), issuer.public_key(),
                                         {{alice.public_key(), 5000}}))
          .value();
  std::unique_ptr<Node> node;
  std::unique_ptr<Server> server;
  std::unique_ptr<httplib::Client> client;
  uint64_t nonce = 0;
  size_t proof_history_blocks = NodeOptions{}.proof_history_blocks;

  void SetUp() override {
    NodeOptions o{dir.str(), genesis, validator, {}, false};
    o.proof_history_blocks = proof_history_blocks;
    std::vector<std::unique_ptr<Module>> mods;
    mods.push_back(std::make_unique<bank::BankModule>());
    node = Node::open(std::move(o), std::move(mods)).value();
    node->start();
    server = std::make_unique<Server>(*node, ServerOptions{});
    ASSERT_TRUE(server->start().is_ok());
    client = std::make_unique<httplib::Client>("127.0.0.1", server->port());
    client->set_read_timeout(20, 0);
  }
  void TearDown() override {
    server->stop();
    node->stop();
  }
  std::string transfer_hex(const PublicKey& to, uint64_t amount) {
    Transaction tx;
    tx.chain_id = genesis.chain_id;
    tx.nonce = nonce++;
    tx.type = bank::kTransfer;
    tx.payload = bank::encode(bank::TransferPayload{to, amount, "hi"});
    tx.sign(alice);
    return to_hex(tx.encode());
  }
  json post(const std::string& path, const json& body, int expect_status) {
    auto r = client->Post(path, body.dump(), "application/json");
    EXPECT_TRUE(r);
    if (!r) return {};
    EXPECT_EQ(r->status, expect_status) << r->body;
    return json::parse(r->body);
  }
  json get(const std::string& path, int expect_status = 200) {
    auto r = client->Get(path);
    EXPECT_TRUE(r);
    if (!r) return {};
    EXPECT_EQ(r->status, expect_status) << r->body;
    return json::parse(r->body, nullptr, false);
  }
  // After `history` + 4 blocks, state proofs verify against the latest root and the one
  // `history` blocks before it; the root one block older is refused with NOT_FOUND, not
  // served from a tree the node no longer holds.
  void expect_proofs_back_to(uint64_t history) {
    auto bob = KeyPair::generate().public_key();
    for (uint64_t i = 0; i < history + 4; ++i)  // each commit waited for: a block each
      ASSERT_EQ(post("/v1/tx?wait=commit", {{"tx", transfer_hex(bob, 1)}}, 200)["status"],
                "committed");
    const uint64_t latest = node->store().height().value();
    ASSERT_GE(latest, history + 4);
    const std::string key = nonce_key(alice.public_key());
    const std::string key_hex = to_hex(to_bytes(key));
    for (uint64_t height : {latest, latest - history}) {
      json j = get("/v1/state?key=" + key_hex + "&height=" + std::to_string(height));
      auto proof = parse_state_proof(j["proof"]);
      ASSERT_TRUE(proof.is_ok());
      auto root = Hash32::from_hex(j["header"]["state_root"].get<std::string>()).value();
      uint64_t sent = 0;  // alice's nonce at `height`: every transaction is hers
      for (uint64_t h = 1; h <= height; ++h) sent += node->store().block(h)->txs.size();
      EXPECT_TRUE(StateTree::verify(root, sha256(key), sha256(encode_u64(sent)), *proof))
          << "height " << height;
    }
    json old =
        get("/v1/state?key=" + key_hex + "&height=" + std::to_string(latest - history - 1), 404);
    EXPECT_EQ(old["error"]["name"], "NOT_FOUND");
  }
};

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

}  // namespace
}  // namespace gridpact::api
