#include "modules/bank/bank.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include "ledger/testing.hpp"

namespace gridpact::bank {
namespace {

uint16_t code(Code c) {
  return static_cast<uint16_t>(c);
}

struct BankTest : ::testing::Test {
  KeyPair issuer_key = KeyPair::generate();
  KeyPair alice = KeyPair::generate();
  KeyPair bob = KeyPair::generate();
  BankModule bank;
  std::unique_ptr<testing::Chain> chain;

  void SetUp() override {
    json genesis = {{"bank",
                     {{"issuer", issuer_key.public_key().hex()},
                      {"balances", {{alice.public_key().hex(), 1000}}}}}};
    chain = std::make_unique<testing::Chain>(std::vector<Module*>{&bank}, genesis);
  }
  uint64_t bal(const KeyPair& k) { return balance(chain->store(), k.public_key()); }
};

TEST_F(BankTest, GenesisBalancesAndSupply) {
  EXPECT_EQ(bal(alice), 1000u);
  EXPECT_EQ(supply(chain->store()), 1000u);
  EXPECT_EQ(issuer(chain->store()), issuer_key.public_key());
}

TEST_F(BankTest, TransferMovesMoney) {
  auto r = chain->one(alice, kTransfer, encode(TransferPayload{bob.public_key(), 300, "rent"}));
  EXPECT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(bal(alice), 700u);
  EXPECT_EQ(bal(bob), 300u);
  ASSERT_EQ(r.events.size(), 1u);
  // The event's bytes are in the receipts root: the canonical encoding of its fields.
  EXPECT_EQ(r.events[0].type, "bank/transfer");
  EXPECT_EQ(r.events[0].data.size(), 32u + 32u + 8u);
  auto ev = codec::decode_fields<TransferEvent>(r.events[0].data);
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->from, alice.public_key());
  EXPECT_EQ(ev->amount, 300u);
  EXPECT_EQ(
      bank.event_json(r.events[0]),
      (json{{"from", alice.public_key().hex()}, {"to", bob.public_key().hex()}, {"amount", 300}}));
}

TEST_F(BankTest, OverdraftIsRejectedAndChangesNothing) {
  auto root = chain->store().state_root();
  auto r = chain->one(alice, kTransfer, encode(TransferPayload{bob.public_key(), 1001, ""}));
  EXPECT_EQ(r.code, code(Code::kInsufficientFunds));
  EXPECT_EQ(bal(alice), 1000u);
  EXPECT_EQ(bal(bob), 0u);
  // Only the nonce moved.
  EXPECT_NE(chain->store().state_root(), root);
  EXPECT_EQ(get_u64(chain->store(), nonce_key(alice.public_key())), 1u);
}

TEST_F(BankTest, ZeroAndSelfTransfersAreRejected) {
  EXPECT_EQ(chain->one(alice, kTransfer, encode(TransferPayload{bob.public_key(), 0, ""})).code,
            code(Code::kZeroAmount));
  EXPECT_EQ(chain->one(alice, kTransfer, encode(TransferPayload{alice.public_key(), 5, ""})).code,
            code(Code::kSelfTransfer));
  EXPECT_EQ(chain->one(alice, kTransfer, Bytes{1, 2, 3}).code, code(Code::kTruncated));
}

TEST_F(BankTest, OnlyTheIssuerMintsAndBurns) {
  EXPECT_EQ(chain->one(alice, kMint, encode(MintPayload{alice.public_key(), 5})).code,
            code(Code::kNotIssuer));
  EXPECT_EQ(supply(chain->store()), 1000u);
  EXPECT_TRUE(chain->one(issuer_key, kMint, encode(MintPayload{bob.public_key(), 50})).ok());
  EXPECT_EQ(bal(bob), 50u);
  EXPECT_EQ(supply(chain->store()), 1050u);
  EXPECT_EQ(chain->one(alice, kBurn, encode(BurnPayload{1})).code, code(Code::kNotIssuer));
  EXPECT_TRUE(chain->one(issuer_key, kMint, encode(MintPayload{issuer_key.public_key(), 20})).ok());
  EXPECT_TRUE(chain->one(issuer_key, kBurn, encode(BurnPayload{15})).ok());
  EXPECT_EQ(supply(chain->store()), 1055u);
  EXPECT_EQ(chain->one(issuer_key, kBurn, encode(BurnPayload{6})).code,
            code(Code::kInsufficientFunds));
}

TEST_F(BankTest, MintOverflowIsRejected) {
  EXPECT_TRUE(
      chain->one(issuer_key, kMint, encode(MintPayload{bob.public_key(), UINT64_MAX - 1000})).ok());
  EXPECT_EQ(chain->one(issuer_key, kMint, encode(MintPayload{bob.public_key(), 1})).code,
            code(Code::kOverflow));
  EXPECT_EQ(supply(chain->store()), UINT64_MAX);
}

TEST_F(BankTest, EscrowLockReleaseRefund) {
  StateOverlay s(chain->store());
  EXPECT_EQ(lock(s, alice.public_key(), "test/1", 2000).code, Code::kInsufficientFunds);
  ASSERT_TRUE(lock(s, alice.public_key(), "test/1", 400).is_ok());
  EXPECT_EQ(lock(s, alice.public_key(), "test/1", 1).code, Code::kEscrowExists);
  EXPECT_EQ(balance(s, alice.public_key()), 600u);
  EXPECT_EQ(locked(s, alice.public_key()), 400u);
  EXPECT_EQ(release(s, "test/1", bob.public_key(), 500).code, Code::kInsufficientFunds);
  ASSERT_TRUE(release(s, "test/1", bob.public_key(), 150).is_ok());
  EXPECT_EQ(escrow(s, "test/1")->amount, 250u);
  ASSERT_TRUE(refund(s, "test/1").is_ok());
  EXPECT_FALSE(escrow(s, "test/1").has_value());
  EXPECT_EQ(balance(s, alice.public_key()), 850u);
  EXPECT_EQ(balance(s, bob.public_key()), 150u);
  EXPECT_EQ(locked(s, alice.public_key()), 0u);
  EXPECT_EQ(refund(s, "test/1").code, Code::kEscrowNotFound);
}

TEST_F(BankTest, PayManyIsAllOrNothing) {
  KeyPair carol = KeyPair::generate();
  StateOverlay s(chain->store());
  std::vector<Payout> two = {{bob.public_key(), 300}, {carol.public_key(), 200}};
  ASSERT_TRUE(pay_many(s, alice.public_key(), two).is_ok());
  EXPECT_EQ(balance(s, alice.public_key()), 500u);
  EXPECT_EQ(balance(s, bob.public_key()), 300u);
  EXPECT_EQ(balance(s, carol.public_key()), 200u);
  EXPECT_EQ(holdings(s), supply(s));
  // Each refusal changes nothing: funds for the sum, zero, self, a recipient twice.
  size_t writes = s.size();
  std::vector<Payout> too_much = {{bob.public_key(), 300}, {carol.public_key(), 201}};
  EXPECT_EQ(pay_many(s, alice.public_key(), too_much).code, Code::kInsufficientFunds);
  std::vector<Payout> zero = {{bob.public_key(), 1}, {carol.public_key(), 0}};
  EXPECT_EQ(pay_many(s, alice.public_key(), zero).code, Code::kZeroAmount);
  std::vector<Payout> self = {{alice.public_key(), 1}};
  EXPECT_EQ(pay_many(s, alice.public_key(), self).code, Code::kSelfTransfer);
  std::vector<Payout> twice = {{bob.public_key(), 1}, {bob.public_key(), 1}};
  EXPECT_EQ(pay_many(s, alice.public_key(), twice).code, Code::kInvalidArgument);
  EXPECT_EQ(s.size(), writes);
  EXPECT_EQ(balance(s, alice.public_key()), 500u);
  EXPECT_EQ(balance(s, bob.public_key()), 300u);
  // A recipient whose balance would overflow: nobody is paid.
  s.put(account_key("bank/bal/", carol.public_key()), encode_u64(UINT64_MAX));
  std::vector<Payout> overflow = {{bob.public_key(), 1}, {carol.public_key(), 1}};
  EXPECT_EQ(pay_many(s, alice.public_key(), overflow).code, Code::kOverflow);
  EXPECT_EQ(balance(s, alice.public_key()), 500u);
  EXPECT_EQ(balance(s, bob.public_key()), 300u);
  EXPECT_TRUE(pay_many(s, alice.public_key(), {}).is_ok());
}

TEST_F(BankTest, MoneyIsConservedUnderRandomTraffic) {
  std::vector<KeyPair> people = {alice, bob, KeyPair::generate(), KeyPair::generate()};
  std::mt19937_64 rng(7);
  uint64_t minted = 0, burnt = 0;
  for (int round = 0; round < 20; ++round) {
    std::vector<Transaction> txs;
    for (int i = 0; i < 15; ++i) {
      auto& from = people[rng() % people.size()];
      auto& to = people[rng() % people.size()];
      txs.push_back(
          chain->sign(from, kTransfer, encode(TransferPayload{to.public_key(), rng() % 700, ""})));
    }
    uint64_t m = rng() % 100;
    txs.push_back(
        chain->sign(issuer_key, kMint, encode(MintPayload{people[rng() % 4].public_key(), m})));
    uint64_t b = rng() % 50;
    txs.push_back(chain->sign(issuer_key, kBurn, encode(BurnPayload{b})));
    auto receipts = chain->block(txs);
    if (receipts[receipts.size() - 2].ok()) minted += m;
    if (receipts.back().ok()) burnt += b;
    // Escrow some funds too: the invariant counts them.
    StateOverlay s(chain->store());
    ASSERT_TRUE(lock(s, people[round % 4].public_key(), "r/" + std::to_string(round), 1));
    uint64_t expected = 1000 + minted - burnt;
    EXPECT_EQ(supply(chain->store()), expected);
    EXPECT_EQ(holdings(chain->store()), expected);
    EXPECT_EQ(holdings(s), expected);
    EXPECT_NE(bank::locked(s, people[round % 4].public_key()), 0u);
  }
}

TEST(BankModuleSchema, HeaderKeyTableMatchesTheDeclaredSchema) {
  BankModule m;
  auto drift = testing::schema_drift(m, GRIDPACT_SOURCE_DIR "/src/modules/bank/bank.hpp");
  EXPECT_TRUE(drift.empty()) << ::testing::PrintToString(drift);
}

}  // namespace
}  // namespace gridpact::bank

namespace gridpact::bank {

// With GRIDPACT_FUZZ_SEED_DIR set, writes real payload encodings as seeds for
// fuzz/bank_payloads_fuzz.cpp; otherwise checks only that each decodes by its decoder.
TEST(BankFuzzSeeds, RealPayloadsDecode) {
  auto to = KeyPair::generate().public_key();
  std::vector<std::pair<std::string, Bytes>> seeds = {
      {"transfer.bin", encode(TransferPayload{to, 5'000'000, "energy, March"})},
      {"transfer-no-memo.bin", encode(TransferPayload{to, 1, ""})},
      {"mint.bin", encode(MintPayload{to, 40'000'000})},
      {"burn.bin", encode(BurnPayload{7})},
  };
  EXPECT_TRUE(decode_transfer(seeds[0].second).is_ok());
  EXPECT_TRUE(decode_transfer(seeds[1].second).is_ok());
  EXPECT_TRUE(decode_mint(seeds[2].second).is_ok());
  EXPECT_TRUE(decode_burn(seeds[3].second).is_ok());
  EXPECT_FALSE(decode_mint(seeds[0].second).is_ok());
  const char* dir = std::getenv("GRIDPACT_FUZZ_SEED_DIR");
  if (!dir) return;
  for (const auto& [name, bytes] : seeds) {
    auto path = std::filesystem::path(dir) / "fuzz_bank_payloads" / name;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
  }
}

}  // namespace gridpact::bank

namespace gridpact::bank {
namespace {

// The payloads' field declarations give byte for byte what the hand-written encoders
// (before codec/fields.hpp) gave, so signed transactions and fuzz corpora stay valid.
TEST(BankPayloads, FieldsEncodeAsTheHandWrittenEncoders) {
  TransferPayload t{sha256("to"), 123456789, "rent"};
  EXPECT_EQ(encode(t), codec::Writer().fixed(t.to).u64(t.amount).str(t.memo, kMaxMemo).take());
  MintPayload m{sha256("m"), 7};
  EXPECT_EQ(encode(m), codec::Writer().fixed(m.to).u64(m.amount).take());
  EXPECT_EQ(encode(BurnPayload{9}), codec::Writer().u64(9).take());
  Bytes long_memo =
      codec::Writer().fixed(t.to).u64(1).str(std::string(kMaxMemo + 1, 'x'), 999).take();
  EXPECT_EQ(decode_transfer(long_memo).status().code, Code::kFieldTooLong);
  Bytes trailing = encode(m);
  trailing.push_back(0);
  EXPECT_EQ(decode_mint(trailing).status().code, Code::kTrailingBytes);
}

TEST(BankPayloads, MessagesAreDeclaredOnceAndDeriveTheModuleInterface) {
  BankModule bank;
  auto types = bank.tx_types();
  ASSERT_EQ(types.size(), 3u);
  EXPECT_EQ(types[0].name, "bank/transfer");
  EXPECT_EQ(bank.payload_json(kTransfer, encode(TransferPayload{sha256("to"), 5, "m"})),
            (json{{"to", sha256("to").hex()}, {"amount", 5}, {"memo", "m"}}));
  EXPECT_EQ(bank.payload_json(kBurn, {1, 2}), (json{{"undecodable", "0102"}}));
  Transaction tx;
  tx.type = kBurn;
  tx.payload = encode(BurnPayload{0});
  EXPECT_EQ(bank.check(tx).code, Code::kZeroAmount);
  tx.payload.push_back(0);
  EXPECT_EQ(bank.check(tx).code, Code::kTrailingBytes);
  tx.type = 0x01ff;
  EXPECT_EQ(bank.check(tx).code, Code::kUnknownType);
}

}  // namespace
}  // namespace gridpact::bank
