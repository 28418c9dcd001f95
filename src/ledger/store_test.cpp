#include <gtest/gtest.h>

#include <filesystem>

#include "ledger/executor.hpp"

namespace gridpact {
namespace {

// A module that appends the payload to a per-sender key; payload "fail" is rejected.
class EchoModule : public Module {
 public:
  std::string_view name() const override { return "echo"; }
  std::vector<TxTypeInfo> tx_types() const override { return {{0x7f01, "echo/put"}}; }
  Status init_genesis(StateOverlay& s, const json& section) override {
    if (section.contains("hello")) s.put("echo/hello", section["hello"].get<std::string>());
    return ok();
  }
  Status check(const Transaction&) const override { return ok(); }
  Status deliver(TxContext& ctx) override {
    std::string p(ctx.tx.payload.begin(), ctx.tx.payload.end());
    ctx.state.put(account_key("echo/", ctx.tx.sender), p);
    if (p == "fail") return error(Code::kInvalidArgument, "told to fail");
    ctx.events.push_back({"echo", p});
    return ok();
  }
  json payload_json(uint16_t, const Bytes& p) const override {
    return std::string(p.begin(), p.end());
  }
  Result<json> query(const StateReader&, std::string_view, const json&) const override {
    return error(Code::kNotFound, "none");
  }
};

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    path = std::filesystem::temp_directory_path() /
           ("gridpact-test-" + KeyPair::generate().public_key().hex().substr(0, 12));
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

Transaction tx_of(const KeyPair& k, uint64_t nonce, std::string payload, std::string chain = "t") {
  Transaction tx;
  tx.chain_id = std::move(chain);
  tx.nonce = nonce;
  tx.type = 0x7f01;
  tx.payload = to_bytes(payload);
  tx.sign(k);
  return tx;
}

}  // namespace

TEST(Executor, CommitsBlocksAndSurvivesReopen) {
  TempDir dir;
  auto alice = KeyPair::generate();
  Hash32 root_after;
  {
    auto store = Store::open(dir.path.string()).value();
    EchoModule echo;
    Executor ex(*store, {&echo}, "t");
    auto g = ex.genesis({{"echo", {{"hello", "world"}}}}, sha256("doc"), 1000);
    ASSERT_TRUE(g.is_ok()) << g.status().to_string();
    ASSERT_TRUE(store->commit(g.value()).is_ok());
    EXPECT_EQ(store->get("echo/hello"), "world");

    auto bad_sig = tx_of(alice, 1, "x");
    bad_sig.signature.bytes[0] ^= 1;
    auto batch = ex.execute({tx_of(alice, 0, "a"), tx_of(alice, 1, "fail"), tx_of(alice, 5, "b"),
                             tx_of(alice, 2, "c", "other-chain"), bad_sig},
                            2000, true);
    ASSERT_TRUE(batch.is_ok());
    auto& rs = batch->receipts;
    ASSERT_EQ(rs.size(), 5u);
    EXPECT_EQ(rs[0].code, 0);
    EXPECT_EQ(rs[0].events[0].data, "a");
    EXPECT_EQ(rs[1].code, static_cast<uint16_t>(Code::kInvalidArgument));
    EXPECT_EQ(rs[2].code, static_cast<uint16_t>(Code::kNonceMismatch));
    EXPECT_EQ(rs[3].code, static_cast<uint16_t>(Code::kWrongChain));
    EXPECT_EQ(rs[4].code, static_cast<uint16_t>(Code::kBadSignature));
    ASSERT_TRUE(store->commit(batch.value()).is_ok());
    // The failed handler's write vanished; its nonce was spent.
    EXPECT_EQ(store->get(account_key("echo/", alice.public_key())), "a");
    EXPECT_EQ(get_u64(*store, nonce_key(alice.public_key())), 2u);
    root_after = store->state_root();
    EXPECT_EQ(store->height(), 1u);
  }
  auto store = Store::open(dir.path.string()).value();
  EXPECT_EQ(store->height(), 1u);
  EXPECT_EQ(store->state_root(), root_after);
  auto block = store->block(1);
  ASSERT_TRUE(block.has_value());
  EXPECT_EQ(block->txs.size(), 5u);
  auto loc = store->find_tx(block->txs[1].id());
  ASSERT_TRUE(loc.has_value());
  EXPECT_EQ(loc->index, 1u);
  EXPECT_EQ(store->receipt(1, 1)->code, static_cast<uint16_t>(Code::kInvalidArgument));
  EXPECT_EQ(store->receipts(1).size(), 5u);
  EXPECT_EQ(block->header.receipts_root, receipts_root(store->receipts(1)));
  // The state proof of the echo key verifies against the committed root.
  StateTree tree(*store);
  std::string k = account_key("echo/", alice.public_key());
  auto proof = tree.prove(store->state_root(), sha256(k));
  EXPECT_TRUE(StateTree::verify(store->state_root(), sha256(k), sha256("a"), proof));
}

TEST(Executor, SameBlocksGiveSameRootsOnTwoStores) {
  TempDir d1, d2;
  auto a = KeyPair::generate();
  std::vector<Hash32> roots[2];
  TempDir* dirs[2] = {&d1, &d2};
  for (int n = 0; n < 2; ++n) {
    auto store = Store::open(dirs[n]->path.string()).value();
    EchoModule echo;
    Executor ex(*store, {&echo}, "t");
    ASSERT_TRUE(store->commit(ex.genesis(json::object(), sha256("g"), 0).value()).is_ok());
    for (uint64_t b = 0; b < 5; ++b) {
      auto batch = ex.execute({tx_of(a, b, "v" + std::to_string(b))}, 100 * b, false).value();
      roots[n].push_back(batch.block.header.state_root);
      ASSERT_TRUE(store->commit(batch).is_ok());
    }
  }
  EXPECT_EQ(roots[0], roots[1]);
  EXPECT_NE(roots[0][0], roots[0][1]);
}

TEST(Executor, BlockBuiltOnAStagedBlockEqualsOneBuiltAfterItsCommit) {
  auto a = KeyPair::generate(), b = KeyPair::generate();
  // Block 2 reads what block 1 wrote: a's nonce and a's echo value are overwritten.
  auto block1 = [&] { return std::vector<Transaction>{tx_of(a, 0, "a0"), tx_of(b, 0, "b0")}; };
  auto block2 = [&] { return std::vector<Transaction>{tx_of(a, 1, "a1")}; };
  TempDir d1, d2;
  std::vector<BlockHeader> headers[2];
  for (int pipelined = 0; pipelined < 2; ++pipelined) {
    auto store = Store::open((pipelined ? d2 : d1).path.string()).value();
    EchoModule echo;
    Executor ex(*store, {&echo}, "t");
    ASSERT_TRUE(store->commit(ex.genesis(json::object(), sha256("g"), 0).value()).is_ok());
    auto first = ex.execute(block1(), 100, false).value();
    if (pipelined) {
      ex.stage(first);  // block 2 executes before block 1 is in the store
      auto second = ex.execute(block2(), 200, false).value();
      for (const auto& r : second.receipts) EXPECT_TRUE(r.ok()) << r.message;
      ASSERT_TRUE(store->commit(first).is_ok());
      ASSERT_TRUE(store->commit(second).is_ok());
      headers[1] = {first.block.header, second.block.header};
    } else {
      ASSERT_TRUE(store->commit(first).is_ok());
      auto second = ex.execute(block2(), 200, false).value();
      for (const auto& r : second.receipts) EXPECT_TRUE(r.ok()) << r.message;
      ASSERT_TRUE(store->commit(second).is_ok());
      headers[0] = {first.block.header, second.block.header};
    }
    EXPECT_EQ(store->get(account_key("echo/", a.public_key())), "a1");
    EXPECT_EQ(store->get(account_key("echo/", b.public_key())), "b0");
    // A stale staged block (already committed) is ignored: block 3 builds on the store.
    auto third = ex.execute(block2(), 300, false).value();
    EXPECT_EQ(third.block.header.height, 3u);
    EXPECT_EQ(third.receipts[0].code, static_cast<uint16_t>(Code::kNonceMismatch));
  }
  ASSERT_EQ(headers[0].size(), 2u);
  ASSERT_EQ(headers[1].size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(headers[0][i].encode(), headers[1][i].encode()) << "block " << i + 1;
  }
  EXPECT_NE(headers[0][0].state_root, headers[0][1].state_root);
}

TEST(Store, RejectsOutOfOrderCommit) {
  TempDir dir;
  auto store = Store::open(dir.path.string()).value();
  CommitBatch b;
  b.block.header.height = 5;
  EXPECT_EQ(store->commit(b).code, Code::kStorage);
}

}  // namespace gridpact
