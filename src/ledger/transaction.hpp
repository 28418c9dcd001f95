// A signed transaction: the only way anything changes on the ledger.
//
// Encoding (version 1), canonical per codec.hpp:
//   u8 version | str chain_id (<= 64) | sender (32) | u64 nonce | u16 type |
//   bytes payload (<= kMaxPayload) | signature (64)
// The signature is Ed25519 by `sender` over signing_hash(): SHA-256 of the domain tag
// "gridpact/tx/v1" followed by every field above except the signature. The transaction id
// is SHA-256 of the full encoding. Browser clients build the same bytes.
#pragma once

#include <string>

#include "base/error.hpp"
#include "crypto/keys.hpp"

namespace gridpact {
namespace codec {
class Writer;
}  // namespace codec

constexpr size_t kMaxChainId = 64;
constexpr size_t kMaxPayload = 60 * 1024;
constexpr size_t kMaxTxBytes = 64 * 1024;  // checked before any decoding work

struct Transaction {
  static constexpr uint8_t kVersion = 1;

  std::string chain_id;
  PublicKey sender;
  uint64_t nonce = 0;
  uint16_t type = 0;
  Bytes payload;
  Signature signature;

  Hash32 signing_hash() const;
  void sign(const KeyPair& key);  // sets sender and signature
  bool signature_valid() const;

  Bytes encode() const;
  size_t encoded_size() const;               // encode().size(), without encoding
  void encode_to(codec::Writer& out) const;  // appends encode()'s bytes
  static Result<Transaction> decode(const uint8_t* data, size_t size);
  static Result<Transaction> decode(const Bytes& b) { return decode(b.data(), b.size()); }
  Hash32 id() const;
};

}  // namespace gridpact
