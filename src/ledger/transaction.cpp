#include "ledger/transaction.hpp"

#include "codec/codec.hpp"

namespace gridpact {
namespace {

void write_unsigned(codec::Writer& w, const Transaction& tx) {
  w.u8(Transaction::kVersion)
      .str(tx.chain_id, kMaxChainId)
      .fixed(tx.sender)
      .u64(tx.nonce)
      .u16(tx.type)
      .bytes(tx.payload, kMaxPayload);
}

// Every field's bytes but the signature's (u32 length prefixes, as codec writes them).
size_t unsigned_size(const Transaction& tx) {
  return 1 + 4 + tx.chain_id.size() + 32 + 8 + 2 + 4 + tx.payload.size();
}

}  // namespace

Hash32 Transaction::signing_hash() const {
  codec::Writer w;
  static constexpr std::string_view kDomain = "gridpact/tx/v1";
  w.reserve(kDomain.size() + unsigned_size(*this));
  w.raw(reinterpret_cast<const uint8_t*>(kDomain.data()), kDomain.size());
  write_unsigned(w, *this);
  return sha256(w.data());
}

void Transaction::sign(const KeyPair& key) {
  sender = key.public_key();
  signature = key.sign(signing_hash());
}

bool Transaction::signature_valid() const {
  return verify(sender, signing_hash(), signature);
}

size_t Transaction::encoded_size() const {
  return unsigned_size(*this) + Signature::size();
}

void Transaction::encode_to(codec::Writer& out) const {
  write_unsigned(out, *this);
  out.fixed(signature);
}

Bytes Transaction::encode() const {
  codec::Writer w;
  w.reserve(encoded_size());
  encode_to(w);
  return w.take();
}

Result<Transaction> Transaction::decode(const uint8_t* data, size_t size) {
  if (size > kMaxTxBytes)
    return error(Code::kTooLarge, "transaction of " + std::to_string(size) + " bytes exceeds " +
                                      std::to_string(kMaxTxBytes));
  return codec::decode<Transaction>(data, size, [](codec::Reader& r) {
    Transaction tx;
    uint8_t version = r.u8();
    if (version != kVersion)
      throw Error(Code::kUnknownVersion, "transaction version " + std::to_string(version));
    tx.chain_id = r.str(kMaxChainId);
    tx.sender = r.fixed<32>();
    tx.nonce = r.u64();
    tx.type = r.u16();
    tx.payload = r.bytes(kMaxPayload);
    tx.signature = r.fixed<64>();
    return tx;
  });
}

Hash32 Transaction::id() const {
  return sha256(encode());
}

}  // namespace gridpact
