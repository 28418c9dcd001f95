#include "ledger/block.hpp"

#include "codec/codec.hpp"

namespace gridpact {
namespace {

// The value in `r`'s next length-prefixed field, decoded in place by T::decode, whose
// error is thrown (and so becomes the enclosing decode's).
template <class T>
T read_nested(codec::Reader& r, size_t max) {
  auto bytes = r.bytes_view(max);
  auto value = T::decode(bytes.data(), bytes.size());
  if (!value) throw Error(value.status());
  return std::move(value).value();
}

void write_unsigned(codec::Writer& w, const BlockHeader& h) {
  w.u8(BlockHeader::kVersion)
      .str(h.chain_id, kMaxChainId)
      .u64(h.height)
      .fixed(h.prev_hash)
      .u64(h.time_ms)
      .u32(h.tx_count)
      .fixed(h.tx_root)
      .fixed(h.receipts_root)
      .fixed(h.state_root)
      .fixed(h.proposer);
}

BlockHeader read_header(codec::Reader& r) {
  BlockHeader h;
  uint8_t version = r.u8();
  if (version != BlockHeader::kVersion)
    throw Error(Code::kUnknownVersion, "block version " + std::to_string(version));
  h.chain_id = r.str(kMaxChainId);
  h.height = r.u64();
  h.prev_hash = r.fixed<32>();
  h.time_ms = r.u64();
  h.tx_count = r.u32();
  h.tx_root = r.fixed<32>();
  h.receipts_root = r.fixed<32>();
  h.state_root = r.fixed<32>();
  h.proposer = r.fixed<32>();
  h.signature = r.fixed<64>();
  return h;
}

}  // namespace

Hash32 BlockHeader::hash() const {
  codec::Writer w;
  static constexpr std::string_view kDomain = "gridpact/block/v1";
  w.raw(reinterpret_cast<const uint8_t*>(kDomain.data()), kDomain.size());
  write_unsigned(w, *this);
  return sha256(w.data());
}

void BlockHeader::sign(const KeyPair& key) {
  proposer = key.public_key();
  signature = key.sign(hash());
}

bool BlockHeader::signature_valid() const {
  return verify(proposer, hash(), signature);
}

Bytes BlockHeader::encode() const {
  codec::Writer w;
  write_unsigned(w, *this);
  w.fixed(signature);
  return w.take();
}

Result<BlockHeader> BlockHeader::decode(const uint8_t* data, size_t size) {
  return codec::decode<BlockHeader>(data, size, read_header);
}

Bytes Block::encode() const {
  // Sized first and written in place: a block of thousands of transactions allocates
  // once, not once per transaction and again each time the buffer doubles.
  Bytes header_bytes = header.encode();
  size_t size = header_bytes.size() + 4;
  for (const auto& tx : txs) size += 4 + tx.encoded_size();
  codec::Writer w;
  w.reserve(size);
  w.raw(header_bytes.data(), header_bytes.size());
  w.count(txs.size(), kMaxBlockTxs);
  for (const auto& tx : txs) {
    w.length(tx.encoded_size(), kMaxTxBytes);
    tx.encode_to(w);
  }
  return w.take();
}

Result<Block> Block::decode(const uint8_t* data, size_t size) {
  return codec::decode<Block>(data, size, [](codec::Reader& r) {
    Block b;
    b.header = read_header(r);
    size_t n = r.count(kMaxBlockTxs);
    if (n != b.header.tx_count)
      throw Error(Code::kBadEncoding, "block lists " + std::to_string(n) +
                                          " transactions, header says " +
                                          std::to_string(b.header.tx_count));
    b.txs.reserve(n);
    for (size_t i = 0; i < n; ++i) b.txs.push_back(read_nested<Transaction>(r, kMaxTxBytes));
    return b;
  });
}

size_t Receipt::encoded_size() const {
  size_t size = 1 + 32 + 8 + 4 + 2 + 4 + message.size() + 4;
  for (const auto& e : events) size += 4 + e.type.size() + 4 + e.data.size();
  return size;
}

void Receipt::encode_to(codec::Writer& w) const {
  w.u8(kVersion).fixed(tx_id).u64(height).u32(index).u16(code).str(message, kMaxReceiptMessage);
  w.count(events.size(), kMaxEvents);
  for (const auto& e : events) w.str(e.type, kMaxEventType).str(e.data, kMaxEventData);
}

Bytes Receipt::encode() const {
  codec::Writer w;
  w.reserve(encoded_size());  // one allocation: a block encodes each receipt twice (root, store)
  encode_to(w);
  return w.take();
}

namespace {

// A block's receipts and the block-end one.
constexpr size_t kMaxBlockReceipts = kMaxBlockTxs + 1;
// Bounds one receipt's bytes when reading a stored list (its fields bound it far below).
constexpr size_t kMaxReceiptBytes = 64 << 20;

}  // namespace

Bytes encode_receipts(const std::vector<Receipt>& receipts) {
  size_t size = 4;
  for (const auto& r : receipts) size += 4 + r.encoded_size();
  codec::Writer w;
  w.reserve(size);
  w.count(receipts.size(), kMaxBlockReceipts);
  for (const auto& r : receipts) {
    w.length(r.encoded_size(), kMaxReceiptBytes);
    r.encode_to(w);
  }
  return w.take();
}

Result<std::vector<Receipt>> decode_receipts(const uint8_t* data, size_t size) {
  return codec::decode<std::vector<Receipt>>(data, size, [](codec::Reader& r) {
    std::vector<Receipt> out(r.count(kMaxBlockReceipts));
    for (auto& receipt : out) receipt = read_nested<Receipt>(r, kMaxReceiptBytes);
    return out;
  });
}

Result<std::optional<Receipt>> decode_receipt_at(const uint8_t* data, size_t size, uint32_t index) {
  using Found = std::optional<Receipt>;
  return codec::decode<Found>(data, size, [&](codec::Reader& r) -> Found {
    const size_t n = r.count(kMaxBlockReceipts);
    Found found;
    for (size_t i = 0; i < n; ++i) {
      // Every entry is walked (and checked for length), so a truncated list is an error
      // whichever receipt is asked for.
      if (i == index)
        found = read_nested<Receipt>(r, kMaxReceiptBytes);
      else
        r.bytes_view(kMaxReceiptBytes);
    }
    return found;
  });
}

Result<Receipt> Receipt::decode(const uint8_t* data, size_t size) {
  return codec::decode<Receipt>(data, size, [](codec::Reader& r) {
    Receipt rc;
    uint8_t version = r.u8();
    if (version != kVersion)
      throw Error(Code::kUnknownVersion, "receipt version " + std::to_string(version));
    rc.tx_id = r.fixed<32>();
    rc.height = r.u64();
    rc.index = r.u32();
    rc.code = r.u16();
    rc.message = r.str(kMaxReceiptMessage);
    size_t n = r.count(kMaxEvents);
    for (size_t i = 0; i < n; ++i) {
      Event e;
      e.type = r.str(kMaxEventType);
      e.data = r.str(kMaxEventData);
      rc.events.push_back(std::move(e));
    }
    return rc;
  });
}

Hash32 tx_root(const std::vector<Transaction>& txs) {
  std::vector<Hash32> ids;
  ids.reserve(txs.size());
  for (const auto& tx : txs) ids.push_back(tx.id());
  return tx_root_of_ids(ids);
}

Hash32 tx_root_of_ids(const std::vector<Hash32>& ids) {
  std::vector<Hash32> leaves;
  leaves.reserve(ids.size());
  for (const auto& id : ids) leaves.push_back(merkle::leaf_hash(id));
  return merkle::root(leaves);
}

Hash32 receipts_root(const std::vector<Receipt>& receipts) {
  std::vector<Hash32> leaves;
  leaves.reserve(receipts.size());
  for (const auto& r : receipts) leaves.push_back(merkle::leaf_hash(r.hash()));
  return merkle::root(leaves);
}

}  // namespace gridpact
