#include "ledger/store.hpp"

#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <stdexcept>

#include "base/keys.hpp"

namespace gridpact {
namespace {

const char* const kColumnFamilies[] = {"default", "blocks", "receipts", "txindex", "state"};
// Stores written before the tree moved to memory kept its nodes here; it is dropped.
constexpr std::string_view kLegacyNodesFamily = "nodes";
constexpr std::string_view kHeightKey = "height";

rocksdb::Slice slice(std::string_view s) {
  return {s.data(), s.size()};
}
rocksdb::Slice slice(const Bytes& b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// A transaction's place, as the transaction index holds it: the height, then the index
// in 4 bytes (big-endian, like the height, so places sort in chain order).
std::string location_bytes(uint64_t height, uint32_t index) {
  return height_key(height) + encode_u64(index).substr(4);
}

// Stores written before a block's receipts became one value held a key per receipt, at
// the receipt's place.
std::string legacy_receipt_key(uint64_t height, uint32_t index) {
  return location_bytes(height, index);
}

}  // namespace

std::string height_key(uint64_t height) {
  return encode_u64(height);
}

Result<std::unique_ptr<Store>> Store::open(const std::string& path, Options options) {
  rocksdb::Options db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.IncreaseParallelism(2);
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.block_cache = rocksdb::NewLRUCache(256 << 20);
  rocksdb::ColumnFamilyOptions cf_options(db_options);
  cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  // The transaction index holds hashes: compressing them only costs CPU.
  rocksdb::ColumnFamilyOptions hashes_options = cf_options;
  hashes_options.compression = rocksdb::kNoCompression;
  // The state is read for keys never written (a new sender's nonce, say): a bloom filter
  // over the memtable's keys answers most of those without searching its skip list.
  rocksdb::ColumnFamilyOptions state_options = cf_options;
  state_options.memtable_whole_key_filtering = true;
  state_options.memtable_prefix_bloom_size_ratio = 0.05;
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const char* name : kColumnFamilies) {
    std::string_view n = name;
    descriptors.emplace_back(name, n == "txindex" ? hashes_options
                                   : n == "state" ? state_options
                                                  : cf_options);
  }
  std::vector<std::string> existing;
  (void)rocksdb::DB::ListColumnFamilies(db_options, path, &existing);  // fails on a new store
  bool legacy_nodes =
      std::find(existing.begin(), existing.end(), kLegacyNodesFamily) != existing.end();
  if (legacy_nodes) descriptors.emplace_back(std::string(kLegacyNodesFamily), hashes_options);

  std::unique_ptr<Store> store(new Store());
  store->options_ = options;
  store->options_.proof_history_blocks = std::max<size_t>(options.proof_history_blocks, 2);
  store->state_cache_ = std::make_unique<StateCache>(options.state_cache_entries);
  rocksdb::DB* db = nullptr;
  rocksdb::Status s =
      options.read_only
          ? rocksdb::DB::OpenForReadOnly(db_options, path, descriptors, &store->handles_, &db)
          : rocksdb::DB::Open(db_options, path, descriptors, &store->handles_, &db);
  if (!s.ok()) return error(Code::kStorage, "cannot open store at " + path + ": " + s.ToString());
  store->db_.reset(db);
  store->cf_meta_ = store->handles_[0];
  store->cf_blocks_ = store->handles_[1];
  store->cf_receipts_ = store->handles_[2];
  store->cf_txindex_ = store->handles_[3];
  store->cf_state_ = store->handles_[4];
  if (legacy_nodes && !options.read_only) {
    auto* nodes = store->handles_.back();
    store->handles_.pop_back();
    s = db->DropColumnFamily(nodes);
    db->DestroyColumnFamilyHandle(nodes);
    if (!s.ok()) return error(Code::kStorage, "cannot drop the old tree nodes: " + s.ToString());
  }
  if (auto h = store->read(store->cf_meta_, kHeightKey)) {
    store->height_ = static_cast<int64_t>(decode_u64(*h).value_or(0));
    store->oldest_provable_ = static_cast<uint64_t>(store->height_.load());
  } else {
    store->tree_loaded_ = true;  // no state yet: the empty tree
  }
  return store;
}

Store::~Store() {
  if (db_) {
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
    db_->Close();
  }
}

std::optional<std::string> Store::read(rocksdb::ColumnFamilyHandle* cf,
                                       std::string_view key) const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf, slice(key), &value);
  if (s.IsNotFound()) return std::nullopt;
  if (!s.ok()) throw Error(Code::kStorage, "read failed: " + s.ToString());
  return value;
}

std::optional<std::string> Store::get(std::string_view key) const {
  if (auto cached = state_cache_->find(key)) return std::move(*cached);
  uint64_t generation = state_cache_->generation();
  auto value = read(cf_state_, key);
  state_cache_->remember(key, value, generation);
  return value;
}

void Store::scan(std::string_view prefix, const Visitor& fn) const {
  // The iterator stops at the prefix's end: past it, RocksDB would otherwise step over
  // every deleted key up to the next live one (prefixes that grow and shrink, such as due
  // lists, leave many).
  const std::string upper = prefix_successor(std::string(prefix));
  rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions options;
  if (!upper.empty()) options.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options, cf_state_));
  for (it->Seek(slice(prefix)); it->Valid() && it->key().starts_with(slice(prefix)); it->Next()) {
    if (!fn(std::string_view(it->key().data(), it->key().size()),
            std::string_view(it->value().data(), it->value().size())))
      break;
  }
  if (!it->status().ok()) throw Error(Code::kStorage, "scan failed: " + it->status().ToString());
}

TreeNode Store::get_node(const Hash32& hash) const {
  if (Status s = load_tree(); !s) throw Error(s);
  if (auto node = nodes_.find(hash)) return *node;
  throw Error(Code::kStorage, "state tree node " + hash.hex() +
                                  " not held: its root is older than the proof history");
}

Status Store::load_tree() const {
  if (tree_loaded_.load(std::memory_order_acquire)) return Status::ok();  // every block asks
  std::lock_guard lock(load_mutex_);
  if (tree_loaded_.load()) return Status::ok();
  const uint64_t at = height().value();  // a store without blocks starts out loaded
  std::vector<TreeUpdate> leaves;
  rocksdb::ReadOptions scan_options;
  scan_options.fill_cache = false;
  scan_options.readahead_size = 4 << 20;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(scan_options, cf_state_));
  for (it->SeekToFirst(); it->Valid(); it->Next())
    leaves.push_back(
        {sha256(reinterpret_cast<const uint8_t*>(it->key().data()), it->key().size()),
         sha256(reinterpret_cast<const uint8_t*>(it->value().data()), it->value().size())});
  if (!it->status().ok())
    return error(Code::kStorage, "state scan failed: " + it->status().ToString());
  std::sort(leaves.begin(), leaves.end(),
            [](const TreeUpdate& a, const TreeUpdate& b) { return a.key_hash < b.key_hash; });
  // Held aside until the root is checked, so that a failed load leaves the table empty.
  std::vector<std::pair<Hash32, TreeNode>> built;
  built.reserve(2 * leaves.size());
  Hash32 root = StateTree(*this).apply(  // building from the empty root reads no node
      Hash32{}, leaves, [&](const Hash32& h, const TreeNode& n) { built.emplace_back(h, n); });
  auto latest = header(at);
  if (!latest) return error(Code::kStorage, "no header for block " + std::to_string(at));
  const Hash32& expected = latest->state_root;
  if (root != expected)
    return error(Code::kStateRootMismatch, "the state on disk gives root " + root.hex() +
                                               ", block " + std::to_string(at) + " says " +
                                               expected.hex());
  nodes_.reserve(first_tree_room(built.size()));
  nodes_.add_all(built);
  oldest_provable_ = at;
  tree_loaded_.store(true, std::memory_order_release);
  return Status::ok();
}

std::optional<uint64_t> Store::height() const {
  int64_t h = height_.load();
  if (h < 0) return std::nullopt;
  return static_cast<uint64_t>(h);
}

std::optional<Block> Store::block(uint64_t h) const {
  auto raw = read(cf_blocks_, height_key(h));
  if (!raw) return std::nullopt;
  auto b = Block::decode(reinterpret_cast<const uint8_t*>(raw->data()), raw->size());
  if (!b) throw Error(Code::kStorage, "block " + std::to_string(h) + " corrupt");
  return std::move(b).value();
}

std::optional<BlockHeader> Store::header(uint64_t h) const {
  auto raw = read(cf_meta_, "header/" + height_key(h));
  if (!raw) return std::nullopt;
  auto hd = BlockHeader::decode(reinterpret_cast<const uint8_t*>(raw->data()), raw->size());
  if (!hd) throw Error(Code::kStorage, "header " + std::to_string(h) + " corrupt");
  return std::move(hd).value();
}

std::optional<Hash32> Store::block_hash(uint64_t h) const {
  auto hd = header(h);
  if (!hd) return std::nullopt;
  return hd->hash();
}

std::optional<TxLocation> Store::find_tx(const Hash32& tx_id) const {
  auto raw = read(cf_txindex_, tx_id.view());
  if (!raw || raw->size() != 12) return std::nullopt;
  return TxLocation{
      decode_u64(raw->substr(0, 8)).value(),
      static_cast<uint32_t>(decode_u64(std::string(4, '\0') + raw->substr(8)).value())};
}

std::optional<Receipt> Store::receipt(uint64_t h, uint32_t index) const {
  if (auto all = read(cf_receipts_, height_key(h))) {
    auto r = decode_receipt_at(reinterpret_cast<const uint8_t*>(all->data()), all->size(), index);
    if (!r) throw Error(Code::kStorage, "receipts of block " + std::to_string(h) + " corrupt");
    return std::move(r).value();
  }
  auto raw = read(cf_receipts_, legacy_receipt_key(h, index));
  if (!raw) return std::nullopt;
  auto r = Receipt::decode(reinterpret_cast<const uint8_t*>(raw->data()), raw->size());
  if (!r) throw Error(Code::kStorage, "receipt corrupt");
  return std::move(r).value();
}

std::vector<Receipt> Store::receipts(uint64_t h) const {
  if (auto all = read(cf_receipts_, height_key(h))) {
    auto r = decode_receipts(reinterpret_cast<const uint8_t*>(all->data()), all->size());
    if (!r) throw Error(Code::kStorage, "receipts of block " + std::to_string(h) + " corrupt");
    return std::move(r).value();
  }
  std::vector<Receipt> out;
  std::string prefix = height_key(h);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_receipts_));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    auto r =
        Receipt::decode(reinterpret_cast<const uint8_t*>(it->value().data()), it->value().size());
    if (!r) throw Error(Code::kStorage, "receipt corrupt");
    out.push_back(std::move(r).value());
  }
  return out;
}

void Store::get_nodes(std::span<const Hash32> hashes, std::span<TreeNode> out) const {
  if (Status s = load_tree(); !s) throw Error(s);
  if (nodes_.find_all(hashes, out)) return;
  for (const Hash32& hash : hashes) (void)get_node(hash);  // throws for the one not held
  throw Error(Code::kStorage, "state tree node released while read");
}

Hash32 Store::state_root() const {
  auto h = height();
  if (!h) return {};
  return header(*h)->state_root;
}

std::optional<std::string> Store::meta(std::string_view key) const {
  return read(cf_meta_, "meta/" + std::string(key));
}

Status Store::put_meta(std::string_view key, std::string_view value) {
  rocksdb::WriteOptions wo;
  wo.sync = options_.sync;
  auto s = db_->Put(wo, cf_meta_, "meta/" + std::string(key), slice(value));
  return s.ok() ? Status::ok() : error(Code::kStorage, s.ToString());
}

Status Store::commit(const CommitBatch& batch) {
  const auto& header = batch.block.header;
  auto current = height();
  if (current ? header.height != *current + 1 : header.height != 0)
    return error(Code::kStorage,
                 "commit of block " + std::to_string(header.height) + " out of order");
  if (!commit_write_) commit_write_ = std::make_unique<rocksdb::WriteBatch>();
  rocksdb::WriteBatch& wb = *commit_write_;
  wb.Clear();  // keeps its buffer
  std::string hk = height_key(header.height);
  wb.Put(cf_blocks_, hk, slice(batch.block.encode()));
  wb.Put(cf_meta_, "header/" + hk, slice(header.encode()));
  // Transaction ids arrive in random order; putting them in key order lets the memtable's
  // skip list reuse its last insert position.
  std::vector<std::pair<Hash32, uint32_t>> ids;
  ids.reserve(batch.block.txs.size());
  // Receipt i carries transaction i's id (the executor's batches always have them).
  const bool ids_in_receipts = batch.receipts.size() >= batch.block.txs.size();
  for (size_t i = 0; i < batch.block.txs.size(); ++i)
    ids.emplace_back(ids_in_receipts ? batch.receipts[i].tx_id : batch.block.txs[i].id(),
                     static_cast<uint32_t>(i));
  std::sort(ids.begin(), ids.end());
  for (const auto& [id, i] : ids)
    wb.Put(cf_txindex_, slice(id.view()), location_bytes(header.height, i));
  wb.Put(cf_receipts_, hk, slice(encode_receipts(batch.receipts)));
  for (const auto& [k, v] : batch.state_changes) {
    if (v)
      wb.Put(cf_state_, k, *v);
    else
      wb.Delete(cf_state_, k);
  }
  wb.Put(cf_meta_, kHeightKey, encode_u64(header.height));
  for (const auto& [k, v] : batch.meta) wb.Put(cf_meta_, "meta/" + k, v);

  rocksdb::WriteOptions wo;
  wo.sync = options_.sync && batch.durable;
  auto write_start = std::chrono::steady_clock::now();
  auto s = db_->Write(wo, &wb);
  last_write_time_ = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - write_start);
  if (wb.GetDataSize() > (64 << 20)) commit_write_.reset();  // a genesis: not kept
  if (!s.ok()) return error(Code::kStorage, "commit failed: " + s.ToString());
  if (wo.sync) ++synced_commits_;
  state_cache_->apply(batch.state_changes);
  // Room in the node table for the next block, so that it grows here, beside the next
  // block's execution, not inside it (a block that crossed the line paid for moving the
  // whole tree): after genesis (perhaps a million accounts) for the tree to double, after
  // a block for one more as large as the largest so far.
  if (header.height > 0) largest_block_nodes_ = std::max(largest_block_nodes_, batch.added_nodes);
  nodes_.reserve(header.height == 0 ? first_tree_room(nodes_.size())
                                    : nodes_.size() + largest_block_nodes_);
  // The nodes a block replaced stay for proofs against the roots before it, until it is
  // proof_history_blocks old.
  pending_release_.push_back(batch.replaced_nodes);
  if (pending_release_.size() > options_.proof_history_blocks) {
    if (pending_release_.front()) nodes_.release_all(*pending_release_.front());
    pending_release_.pop_front();
    // The oldest root left whole is the one the released block built.
    oldest_provable_ =
        std::max<uint64_t>(oldest_provable_, header.height - options_.proof_history_blocks);
  }
  height_ = static_cast<int64_t>(header.height);
  return Status::ok();
}

}  // namespace gridpact
