#include <gtest/gtest.h>

#include "ledger/block.hpp"

namespace gridpact {

Transaction sample_tx(const KeyPair& key) {
  Transaction tx;
  tx.chain_id = "test-chain";
  tx.nonce = 7;
  tx.type = 0x0101;
  tx.payload = {1, 2, 3};
  tx.sign(key);
  return tx;
}

TEST(Transaction, EncodesCanonicallyAndVerifies) {
  auto key = KeyPair::generate();
  auto tx = sample_tx(key);
  EXPECT_TRUE(tx.signature_valid());
  auto bytes = tx.encode();
  auto back = Transaction::decode(bytes);
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(back->encode(), bytes);
  EXPECT_EQ(back->id(), tx.id());
  EXPECT_TRUE(back->signature_valid());
}

TEST(Transaction, AnyChangedFieldBreaksTheSignature) {
  auto key = KeyPair::generate();
  auto tx = sample_tx(key);
  auto t1 = tx;
  t1.nonce++;
  EXPECT_FALSE(t1.signature_valid());
  auto t2 = tx;
  t2.chain_id = "other";
  EXPECT_FALSE(t2.signature_valid());
  auto t3 = tx;
  t3.payload[0] ^= 1;
  EXPECT_FALSE(t3.signature_valid());
  auto t4 = tx;
  t4.type++;
  EXPECT_FALSE(t4.signature_valid());
}

TEST(Transaction, DecodeRejectsBadBytes) {
  auto bytes = sample_tx(KeyPair::generate()).encode();
  auto trailing = bytes;
  trailing.push_back(0);
  EXPECT_EQ(Transaction::decode(trailing).status().code, Code::kTrailingBytes);
  auto truncated = bytes;
  truncated.pop_back();
  EXPECT_EQ(Transaction::decode(truncated).status().code, Code::kTruncated);
  auto version = bytes;
  version[0] = 9;
  EXPECT_EQ(Transaction::decode(version).status().code, Code::kUnknownVersion);
  Bytes huge(kMaxTxBytes + 1, 0);
  EXPECT_EQ(Transaction::decode(huge).status().code, Code::kTooLarge);
  auto long_chain = bytes;
  long_chain[4] = 0xff;  // chain id length field
  EXPECT_EQ(Transaction::decode(long_chain).status().code, Code::kFieldTooLong);
}

TEST(Block, HeaderSignatureAndRoundTrip) {
  auto key = KeyPair::generate();
  Block b;
  b.header.chain_id = "c";
  b.header.height = 3;
  b.txs = {sample_tx(key), sample_tx(KeyPair::generate())};
  b.header.tx_count = 2;
  b.header.tx_root = tx_root(b.txs);
  b.header.sign(key);
  EXPECT_TRUE(b.header.signature_valid());
  auto bytes = b.encode();
  auto back = Block::decode(bytes.data(), bytes.size());
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(back->header.hash(), b.header.hash());
  EXPECT_EQ(back->encode(), bytes);
  auto h = b.header;
  h.state_root.bytes[0] ^= 1;
  EXPECT_FALSE(h.signature_valid());
}

TEST(Block, TxCountMustMatchHeader) {
  Block b;
  b.header.chain_id = "c";
  b.header.tx_count = 1;
  auto bytes = b.encode();
  EXPECT_EQ(Block::decode(bytes.data(), bytes.size()).status().code, Code::kBadEncoding);
}

TEST(Receipt, RoundTripsAndRootsProve) {
  std::vector<Receipt> rs;
  for (uint32_t i = 0; i < 5; ++i) {
    Receipt r;
    r.tx_id = sha256(std::to_string(i));
    r.height = 9;
    r.index = i;
    r.code = i == 2 ? 300 : 0;
    r.message = i == 2 ? "insufficient" : "";
    r.events = {{"bank/transfer", "{\"amount\":5}"}};
    auto bytes = r.encode();
    auto back = Receipt::decode(bytes.data(), bytes.size());
    ASSERT_TRUE(back.is_ok());
    EXPECT_EQ(*back, r);
    rs.push_back(r);
  }
  std::vector<Hash32> leaves;
  for (auto& r : rs) leaves.push_back(merkle::leaf_hash(r.hash()));
  auto root = receipts_root(rs);
  EXPECT_TRUE(merkle::verify(leaves[2], merkle::prove(leaves, 2), root));
}

}  // namespace gridpact
