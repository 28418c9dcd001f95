// Blocks and receipts.
//
// A block header commits to everything a light client needs: the previous header's hash,
// a Merkle root over the transaction ids (tx_root), one over the receipt hashes
// (receipts_root) and the state root after execution. The proposer signs hash(), which
// covers every header field. Height 0 is the genesis block: no transactions, no proposer
// signature, its prev_hash is the hash of the genesis document, and every node rebuilds it
// from that document.
#pragma once

#include <string>
#include <vector>

#include "base/error.hpp"
#include "crypto/merkle.hpp"
#include "ledger/transaction.hpp"

namespace gridpact {

constexpr size_t kMaxBlockTxs = 20000;

struct BlockHeader {
  static constexpr uint8_t kVersion = 1;

  std::string chain_id;
  uint64_t height = 0;
  Hash32 prev_hash;
  uint64_t time_ms = 0;  // the only clock state transitions may read
  uint32_t tx_count = 0;
  Hash32 tx_root;
  Hash32 receipts_root;
  Hash32 state_root;
  PublicKey proposer;
  Signature signature;

  Hash32 hash() const;  // over every field but the signature
  void sign(const KeyPair& key);
  bool signature_valid() const;

  Bytes encode() const;
  static Result<BlockHeader> decode(const uint8_t* data, size_t size);
};

struct Block {
  BlockHeader header;
  std::vector<Transaction> txs;

  Bytes encode() const;
  static Result<Block> decode(const uint8_t* data, size_t size);
};

// Something a module wants recorded about a transaction or a block: a type and a small
// value in the canonical encoding of the module's event struct for that type (see
// make_event in ledger/module.hpp; the module derives its JSON for the API).
struct Event {
  std::string type;
  std::string data;
  bool operator==(const Event&) const = default;
};

constexpr size_t kMaxEvents = 256;
constexpr size_t kMaxEventType = 64;
constexpr size_t kMaxEventData = 8192;
constexpr size_t kMaxReceiptMessage = 512;

// The outcome of one transaction. Blocks whose modules did work at the end of the block
// (market clearing, billing) carry one more receipt at index tx_count, with a zero tx_id.
struct Receipt {
  static constexpr uint8_t kVersion = 1;

  Hash32 tx_id;
  uint64_t height = 0;
  uint32_t index = 0;
  uint16_t code = 0;  // a gridpact::Code; 0 is success
  std::string message;
  std::vector<Event> events;

  bool ok() const { return code == 0; }
  Hash32 hash() const { return sha256(encode()); }
  Bytes encode() const;
  size_t encoded_size() const;
  void encode_to(codec::Writer& w) const;  // appends encode()'s bytes
  static Result<Receipt> decode(const uint8_t* data, size_t size);
  bool operator==(const Receipt&) const = default;
};

// A block's receipts as the store keeps them, in one value (one write per block, not one
// per transaction): their count, then each receipt's encoding, length-prefixed.
Bytes encode_receipts(const std::vector<Receipt>& receipts);
Result<std::vector<Receipt>> decode_receipts(const uint8_t* data, size_t size);
// Receipt `index` of such a list, decoding that one only; nullopt past the list's end.
Result<std::optional<Receipt>> decode_receipt_at(const uint8_t* data, size_t size, uint32_t index);

Hash32 tx_root(const std::vector<Transaction>& txs);
Hash32 tx_root_of_ids(const std::vector<Hash32>& ids);  // the same, ids computed already
Hash32 receipts_root(const std::vector<Receipt>& receipts);

}  // namespace gridpact
