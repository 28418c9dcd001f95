#include <gtest/gtest.h>

#include <rocksdb/db.h>

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

TEST(Executor, UsesTheIdsAdmissionComputed) {
  TempDir dir;
  auto alice = KeyPair::generate();
  auto store = Store::open(dir.path.string()).value();
  EchoModule echo;
  Executor ex(*store, {&echo}, "t");
  ASSERT_TRUE(store->commit(ex.genesis({}, sha256("doc"), 1000).value()).is_ok());
  std::vector<Transaction> txs{tx_of(alice, 0, "a"), tx_of(alice, 1, "b")};
  std::vector<Hash32> ids{txs[0].id(), txs[1].id()};
  auto computed = ex.execute(txs, 2000, false).value();
  auto given = ex.execute(txs, 2000, false, ids).value();
  ASSERT_EQ(given.receipts.size(), 2u);
  for (size_t i = 0; i < 2; ++i) EXPECT_EQ(given.receipts[i].tx_id, ids[i]);
  EXPECT_EQ(given.block.header.hash(), computed.block.header.hash());
  // Ids that do not pair with the transactions are refused, not half used.
  auto short_ids = ex.execute(txs, 2000, false, {ids[0]});
  EXPECT_EQ(short_ids.status().code, Code::kInvalidArgument);
}

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
      ex.stage(std::make_shared<CommitBatch>(first));  // block 2 runs before block 1 is stored
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

// Proofs work against the latest proof_history_blocks roots and no older; a leaf whose
// value comes back (so the same node is added again while its earlier replacement is
// pending release) outlives that release.
TEST(Store, KeepsTheTreeOfRecentRootsOnly) {
  TempDir dir;
  auto store = Store::open(dir.path.string(), {.proof_history_blocks = 4, .sync = false}).value();
  EchoModule echo;
  Executor ex(*store, {&echo}, "t");
  ASSERT_TRUE(store->commit(ex.genesis(json::object(), sha256("g"), 0).value()).is_ok());
  auto a = KeyPair::generate(), b = KeyPair::generate();
  const std::string ka = account_key("echo/", a.public_key());
  std::vector<std::string> values = {"x", "y", "x"};  // blocks 1-3: a's value comes back
  std::vector<Hash32> roots = {store->state_root()};
  uint64_t nonce_b = 0;
  for (uint64_t h = 1; h <= 12; ++h) {
    std::vector<Transaction> txs;
    if (h <= values.size())
      txs.push_back(tx_of(a, h - 1, values[h - 1]));
    else
      txs.push_back(tx_of(b, nonce_b++, "v" + std::to_string(h)));
    auto batch = ex.execute(txs, h, false).value();
    ASSERT_TRUE(store->commit(batch).is_ok());
    roots.push_back(batch.block.header.state_root);
  }
  EXPECT_EQ(store->oldest_provable_height(), 12u - 4u);
  StateTree tree(*store);
  for (uint64_t h = 8; h <= 12; ++h)
    EXPECT_TRUE(
        StateTree::verify(roots[h], sha256(ka), sha256("x"), tree.prove(roots[h], sha256(ka))))
        << "block " << h;
  // Block 2's root held a's "y" leaf, released since.
  EXPECT_THROW(tree.prove(roots[2], sha256(ka)), Error);
}

// A store asked to reserve room for its tree has it from genesis, and again when it
// reopens and rebuilds the tree; one not asked starts small.
TEST(Store, ReservesRoomForTheTreeWhenAskedTo) {
  TempDir dir;
  EchoModule echo;
  {
    auto store =
        Store::open(dir.path.string(), {.sync = false, .reserved_tree_nodes = 50'000}).value();
    Executor ex(*store, {&echo}, "t");
    ASSERT_TRUE(store->commit(ex.genesis(json::object(), sha256("g"), 0).value()).is_ok());
    EXPECT_GE(store->tree_capacity(), 50'000u);
  }
  {
    auto store = Store::open(dir.path.string(), {.sync = false}).value();
    ASSERT_TRUE(store->load_tree().is_ok());
    EXPECT_LT(store->tree_capacity(), 50'000u);
  }
  auto store =
      Store::open(dir.path.string(), {.sync = false, .reserved_tree_nodes = 50'000}).value();
  ASSERT_TRUE(store->load_tree().is_ok());
  EXPECT_GE(store->tree_capacity(), 50'000u);
}

static rocksdb::DB* open_raw(const std::filesystem::path& path,
                             std::vector<rocksdb::ColumnFamilyHandle*>& handles,
                             std::vector<std::string>& names) {
  rocksdb::Options options;
  EXPECT_TRUE(rocksdb::DB::ListColumnFamilies(options, path.string(), &names).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& n : names) descriptors.emplace_back(n, rocksdb::ColumnFamilyOptions());
  rocksdb::DB* db = nullptr;
  EXPECT_TRUE(rocksdb::DB::Open(options, path.string(), descriptors, &handles, &db).ok());
  return db;
}

static void close_raw(rocksdb::DB* db, std::vector<rocksdb::ColumnFamilyHandle*>& handles) {
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  delete db;
}

// The tree is rebuilt from the state on disk when the store reopens; a state that does
// not give the latest block's root is refused, not served.
TEST(Store, RebuildsTheTreeOnOpenAndRefusesAStateThatDoesNotMatchTheRoot) {
  TempDir dir;
  auto a = KeyPair::generate();
  const std::string ka = account_key("echo/", a.public_key());
  {
    auto store = Store::open(dir.path.string()).value();
    EchoModule echo;
    Executor ex(*store, {&echo}, "t");
    ASSERT_TRUE(store->commit(ex.genesis(json::object(), sha256("g"), 0).value()).is_ok());
    ASSERT_TRUE(store->commit(ex.execute({tx_of(a, 0, "v")}, 1, false).value()).is_ok());
  }
  {
    auto store = Store::open(dir.path.string()).value();
    ASSERT_TRUE(store->load_tree().is_ok());
    EXPECT_EQ(store->oldest_provable_height(), 1u);
    StateTree tree(*store);
    EXPECT_TRUE(StateTree::verify(store->state_root(), sha256(ka), sha256("v"),
                                  tree.prove(store->state_root(), sha256(ka))));
    // And the chain goes on from the rebuilt tree.
    EchoModule echo;
    Executor ex(*store, {&echo}, "t");
    ASSERT_TRUE(store->commit(ex.execute({tx_of(a, 1, "w")}, 2, false).value()).is_ok());
  }
  {
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    std::vector<std::string> names;
    rocksdb::DB* db = open_raw(dir.path, handles, names);
    auto state = std::find(names.begin(), names.end(), "state") - names.begin();
    ASSERT_TRUE(
        db->Put(rocksdb::WriteOptions(), handles[static_cast<size_t>(state)], ka, "forged").ok());
    close_raw(db, handles);
  }
  auto store = Store::open(dir.path.string()).value();
  EXPECT_EQ(store->load_tree().code, Code::kStateRootMismatch);
  EXPECT_THROW(store->get_node(store->state_root()), Error);
}

// A block's receipts are one value; stores written before kept one key per receipt, and
// their blocks' receipts still read.
TEST(Store, ReadsReceiptsOfBothLayouts) {
  TempDir dir;
  auto a = KeyPair::generate();
  std::vector<Receipt> old_layout;
  {
    auto store = Store::open(dir.path.string()).value();
    EchoModule echo;
    Executor ex(*store, {&echo}, "t");
    ASSERT_TRUE(store->commit(ex.genesis(json::object(), sha256("g"), 0).value()).is_ok());
    auto first = ex.execute({tx_of(a, 0, "v"), tx_of(a, 1, "fail")}, 1, false).value();
    old_layout = first.receipts;
    ASSERT_TRUE(store->commit(first).is_ok());
    ASSERT_TRUE(store->commit(ex.execute({tx_of(a, 2, "w")}, 2, false).value()).is_ok());
  }
  {  // block 1 rewritten as the old layout had it
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    std::vector<std::string> names;
    rocksdb::DB* db = open_raw(dir.path, handles, names);
    auto* receipts = handles[static_cast<size_t>(std::find(names.begin(), names.end(), "receipts") -
                                                 names.begin())];
    ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), receipts, height_key(1)).ok());
    for (const auto& r : old_layout) {
      Bytes b = r.encode();
      std::string key = height_key(1) + encode_u64(r.index).substr(4);
      ASSERT_TRUE(
          db->Put(rocksdb::WriteOptions(), receipts, key, std::string(b.begin(), b.end())).ok());
    }
    close_raw(db, handles);
  }
  auto store = Store::open(dir.path.string()).value();
  EXPECT_EQ(store->receipts(1), old_layout);
  EXPECT_EQ(store->receipt(1, 1), old_layout[1]);
  EXPECT_EQ(store->receipt(1, 2), std::nullopt);
  auto second = store->receipts(2);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(store->receipt(2, 0), second[0]);
  EXPECT_EQ(store->receipt(2, 1), std::nullopt);
  EXPECT_EQ(store->block(2)->header.receipts_root, receipts_root(second));
}

// Stores from before the tree moved to memory have a column family of tree nodes: it is
// dropped, and the store opens.
TEST(Store, DropsTheOldTreeNodesColumnFamily) {
  TempDir dir;
  Store::open(dir.path.string()).value().reset();
  {
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    std::vector<std::string> names;
    rocksdb::DB* db = open_raw(dir.path, handles, names);
    rocksdb::ColumnFamilyHandle* nodes = nullptr;
    ASSERT_TRUE(db->CreateColumnFamily(rocksdb::ColumnFamilyOptions(), "nodes", &nodes).ok());
    handles.push_back(nodes);
    close_raw(db, handles);
  }
  ASSERT_TRUE(Store::open(dir.path.string()).is_ok());
  std::vector<std::string> names;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::Options(), dir.path.string(), &names).ok());
  EXPECT_EQ(std::count(names.begin(), names.end(), "nodes"), 0);
}

TEST(Store, RejectsOutOfOrderCommit) {
  TempDir dir;
  auto store = Store::open(dir.path.string()).value();
  CommitBatch b;
  b.block.header.height = 5;
  EXPECT_EQ(store->commit(b).code, Code::kStorage);
}

// A block that can be fetched again is committed without waiting for the disk; the next
// durable one syncs the log and every write before it, and all of them survive a reopen.
TEST(Store, OnlyDurableBlocksWaitForTheDisk) {
  TempDir dir;
  auto alice = KeyPair::generate();
  EchoModule echo;
  {
    auto store = Store::open(dir.path.string()).value();
    Executor ex(*store, {&echo}, "t");
    ASSERT_TRUE(store->commit(ex.genesis({}, sha256("doc"), 1000).value()).is_ok());
    EXPECT_EQ(store->synced_commits(), 1u);
    for (uint64_t n = 0; n < 3; ++n) {
      auto b = ex.execute({tx_of(alice, n, "v" + std::to_string(n))}, 2000 + n, true).value();
      b.durable = n == 2;
      ASSERT_TRUE(store->commit(b).is_ok());
    }
    EXPECT_EQ(store->synced_commits(), 2u);
  }
  auto store = Store::open(dir.path.string()).value();
  EXPECT_EQ(store->height(), 3u);
  EXPECT_EQ(store->get(account_key("echo/", alice.public_key())), "v2");
  // A store opened without sync never waits, durable or not.
  TempDir other;
  auto unsynced = Store::open(other.path.string(), {.sync = false}).value();
  Executor ex(*unsynced, {&echo}, "t");
  ASSERT_TRUE(unsynced->commit(ex.genesis({}, sha256("doc"), 1000).value()).is_ok());
  EXPECT_EQ(unsynced->synced_commits(), 0u);
}

}  // namespace gridpact
