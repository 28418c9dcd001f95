#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "codec/codec.hpp"
#include "ledger/block.hpp"
#include "ledger/receipt_proof.hpp"

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
  EXPECT_EQ(tx.encoded_size(), bytes.size());
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
  // Header, count, then each transaction's encoding behind its length.
  codec::Writer expected;
  expected.raw(b.header.encode().data(), b.header.encode().size()).count(2, 2);
  for (const auto& tx : b.txs) expected.bytes(tx.encode(), kMaxTxBytes);
  EXPECT_EQ(bytes, expected.data());
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

  // A block's list, as the store keeps it: each receipt length-prefixed after the count.
  Bytes list = encode_receipts(rs);
  codec::Writer expected;
  expected.u32(5);
  for (auto& r : rs) expected.bytes(r.encode(), SIZE_MAX);
  EXPECT_EQ(list, expected.data());
  EXPECT_EQ(decode_receipts(list.data(), list.size()).value(), rs);
  for (uint32_t i = 0; i < 5; ++i)
    EXPECT_EQ(decode_receipt_at(list.data(), list.size(), i).value(), rs[i]);
  EXPECT_EQ(decode_receipt_at(list.data(), list.size(), 5).value(), std::nullopt);
  Bytes empty = encode_receipts({});
  EXPECT_TRUE(decode_receipts(empty.data(), empty.size()).value().empty());
  // Cut short, or with bytes after it, or holding a receipt that does not decode: refused
  // whichever receipt is asked for.
  Bytes cut(list.begin(), list.end() - 1);
  EXPECT_EQ(decode_receipts(cut.data(), cut.size()).status().code, Code::kTruncated);
  EXPECT_EQ(decode_receipt_at(cut.data(), cut.size(), 0).status().code, Code::kTruncated);
  Bytes longer = list;
  longer.push_back(0);
  EXPECT_FALSE(decode_receipts(longer.data(), longer.size()).is_ok());
  EXPECT_FALSE(decode_receipt_at(longer.data(), longer.size(), 1).is_ok());
  Bytes bad_version = list;
  bad_version[4 + 4] = 9;  // the first receipt's version byte
  EXPECT_EQ(decode_receipts(bad_version.data(), bad_version.size()).status().code,
            Code::kUnknownVersion);
  EXPECT_TRUE(decode_receipt_at(bad_version.data(), bad_version.size(), 1).is_ok());
}

// A real bundle: a signed block of three transactions, their receipts, and the proofs of
// the second one.
ReceiptBundle sample_bundle(const KeyPair& proposer, Block& block, std::vector<Receipt>& rs) {
  block.header.chain_id = "test-chain";
  block.header.height = 4;
  block.header.time_ms = 1'700'000'000'000;
  for (int i = 0; i < 3; ++i) block.txs.push_back(sample_tx(KeyPair::generate()));
  block.header.tx_count = 3;
  block.header.tx_root = tx_root(block.txs);
  std::vector<Hash32> tx_leaves, receipt_leaves;
  for (uint32_t i = 0; i < 3; ++i) {
    Receipt r;
    r.tx_id = block.txs[i].id();
    r.height = 4;
    r.index = i;
    r.code = i == 2 ? 300 : 0;
    r.message = i == 2 ? "insufficient funds" : "";
    r.events = {{"bank/transfer", "{\"amount\":5}"}};
    rs.push_back(r);
    tx_leaves.push_back(merkle::leaf_hash(r.tx_id));
    receipt_leaves.push_back(merkle::leaf_hash(r.hash()));
  }
  block.header.receipts_root = receipts_root(rs);
  block.header.sign(proposer);
  return ReceiptBundle{block.txs[1].encode(), rs[1].encode(), block.header.encode(),
                       merkle::prove(tx_leaves, 1), merkle::prove(receipt_leaves, 1)};
}

TEST(ReceiptBundle, BinaryEncodingRoundTripsAndVerifies) {
  auto proposer = KeyPair::generate();
  Block block;
  std::vector<Receipt> rs;
  auto bundle = sample_bundle(proposer, block, rs);
  auto bytes = encode_bundle(bundle);
  auto back = decode_bundle(bytes.data(), bytes.size());
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(encode_bundle(*back), bytes);
  auto v = verify_bundle(*back, proposer.public_key());
  ASSERT_TRUE(v.is_ok()) << v.status().to_string();
  EXPECT_EQ(v->tx.id(), block.txs[1].id());
  EXPECT_EQ(verify_bundle(*back, KeyPair::generate().public_key()).status().code,
            Code::kBadSignature);

  auto truncated = bytes;
  truncated.pop_back();
  EXPECT_EQ(decode_bundle(truncated.data(), truncated.size()).status().code, Code::kTruncated);
  auto trailing = bytes;
  trailing.push_back(0);
  EXPECT_EQ(decode_bundle(trailing.data(), trailing.size()).status().code, Code::kTrailingBytes);
  auto version = bytes;
  version[0] = 2;
  EXPECT_EQ(decode_bundle(version.data(), version.size()).status().code, Code::kUnknownVersion);
  auto deep = bundle;
  deep.tx_proof.path.assign(kMaxProofDepth + 1, Hash32{});
  EXPECT_THROW(encode_bundle(deep), Error);
}

// With GRIDPACT_FUZZ_SEED_DIR set, writes real encodings as seeds for the fuzzers in
// fuzz/ (fuzz/corpus/<target>/); otherwise checks only that the seeds decode.
TEST(FuzzSeeds, RealEncodingsDecode) {
  auto proposer = KeyPair::generate();
  Block block;
  std::vector<Receipt> rs;
  auto bundle = sample_bundle(proposer, block, rs);
  std::vector<std::pair<std::string, Bytes>> seeds = {
      {"fuzz_transaction/tx.bin", block.txs[0].encode()},
      {"fuzz_block/header.bin", block.header.encode()},
      {"fuzz_block/block.bin", block.encode()},
      {"fuzz_receipt/ok.bin", rs[0].encode()},
      {"fuzz_receipt/failed.bin", rs[2].encode()},
      {"fuzz_receipt_bundle/bundle.bin", encode_bundle(bundle)},
  };
  EXPECT_TRUE(Transaction::decode(seeds[0].second).is_ok());
  EXPECT_TRUE(BlockHeader::decode(seeds[1].second.data(), seeds[1].second.size()).is_ok());
  EXPECT_TRUE(Block::decode(seeds[2].second.data(), seeds[2].second.size()).is_ok());
  EXPECT_TRUE(Receipt::decode(seeds[3].second.data(), seeds[3].second.size()).is_ok());
  EXPECT_TRUE(decode_bundle(seeds[5].second.data(), seeds[5].second.size()).is_ok());
  const char* dir = std::getenv("GRIDPACT_FUZZ_SEED_DIR");
  if (!dir) return;
  for (const auto& [name, bytes] : seeds) {
    auto path = std::filesystem::path(dir) / name;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
  }
}

}  // namespace gridpact
