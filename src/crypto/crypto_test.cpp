#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "crypto/keys.hpp"
#include "crypto/merkle.hpp"

namespace gridpact {

TEST(Sha256, MatchesKnownVector) {
  EXPECT_EQ(sha256("abc").hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Sha256 h;
  h.update("a").update("bc");
  EXPECT_EQ(h.finish(), sha256("abc"));
}

// Each thread hashes with a context of its own: threads at once get the same digests
// (FIPS 180-2's two-block vector, and the empty input) as one thread alone.
TEST(Sha256, ThreadsHashingAtOnceGetTheKnownDigests) {
  const std::string two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  std::vector<std::thread> threads;
  std::vector<int> wrong(4, 0);
  for (size_t t = 0; t < wrong.size(); ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20000; ++i) {
        if (sha256(two_blocks).hex() !=
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
          ++wrong[t];
        if (sha256("").hex() != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
          ++wrong[t];
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong, std::vector<int>(4, 0));
}

TEST(Ed25519, SignsAndVerifies) {
  auto kp = KeyPair::generate();
  auto digest = sha256("hello");
  auto sig = kp.sign(digest);
  EXPECT_TRUE(verify(kp.public_key(), digest, sig));
  auto other = sha256("hellp");
  EXPECT_FALSE(verify(kp.public_key(), other, sig));
  sig.bytes[0] ^= 1;
  EXPECT_FALSE(verify(kp.public_key(), digest, sig));
  EXPECT_FALSE(verify(KeyPair::generate().public_key(), digest, kp.sign(digest)));
}

TEST(Ed25519, SeedIsDeterministic) {
  FixedBytes<32> seed;
  seed.bytes[0] = 7;
  EXPECT_EQ(KeyPair::from_seed(seed).public_key(), KeyPair::from_seed(seed).public_key());
  EXPECT_NE(KeyPair::from_seed(seed).public_key(), KeyPair::generate().public_key());
}

TEST(Merkle, EveryLeafProvesForEverySize) {
  for (uint64_t n = 1; n <= 33; ++n) {
    std::vector<Hash32> leaves;
    for (uint64_t i = 0; i < n; ++i) leaves.push_back(merkle::leaf_hash(sha256(std::to_string(i))));
    auto r = merkle::root(leaves);
    for (uint64_t i = 0; i < n; ++i) {
      auto p = merkle::prove(leaves, i);
      EXPECT_TRUE(merkle::verify(leaves[i], p, r)) << n << " " << i;
      auto bad = p;
      bad.index = (i + 1) % n;
      if (n > 1) {
        EXPECT_FALSE(merkle::verify(leaves[i], bad, r)) << n << " " << i;
      }
      if (!p.path.empty()) {
        auto tampered = p;
        tampered.path[0].bytes[3] ^= 0x40;
        EXPECT_FALSE(merkle::verify(leaves[i], tampered, r));
      }
    }
  }
}

// Found by fuzz_receipt_bundle: a proof claiming a tree of ~2^64 leaves made the split
// computation overflow and loop forever. It must simply fail to verify.
TEST(Merkle, HugeClaimedTreeSizesTerminate) {
  auto leaf = merkle::leaf_hash(sha256("x"));
  for (uint64_t size : {~uint64_t{0}, (uint64_t{1} << 63) + 1, uint64_t{1} << 63}) {
    merkle::Proof p{size - 1, size, std::vector<Hash32>(64, sha256("sibling"))};
    EXPECT_FALSE(merkle::verify(leaf, p, sha256("root")));
    p.index = 0;
    EXPECT_FALSE(merkle::verify(leaf, p, sha256("root")));
  }
  // A genuine tree's proof still verifies beside them.
  std::vector<Hash32> leaves = {leaf, merkle::leaf_hash(sha256("y")),
                                merkle::leaf_hash(sha256("z"))};
  EXPECT_TRUE(merkle::verify(leaf, merkle::prove(leaves, 0), merkle::root(leaves)));
}

TEST(Merkle, LeafAndNodeDomainsDiffer) {
  auto a = sha256("a"), b = sha256("b");
  // A forged "leaf" equal to the concatenation of two children must not hash to the node.
  Bytes concat(a.bytes.begin(), a.bytes.end());
  concat.insert(concat.end(), b.bytes.begin(), b.bytes.end());
  EXPECT_NE(merkle::leaf_hash(concat.data(), concat.size()), merkle::node_hash(a, b));
  EXPECT_EQ(merkle::root({}), sha256(""));
}

// The kept tree answers exactly what prove() rebuilds, for every size and leaf.
TEST(Merkle, KeptTreeGivesTheSameRootAndPaths) {
  for (uint64_t n = 1; n <= 70; ++n) {
    std::vector<Hash32> leaves;
    for (uint64_t i = 0; i < n; ++i) leaves.push_back(merkle::leaf_hash(sha256(std::to_string(i))));
    merkle::Tree tree(leaves);
    ASSERT_EQ(tree.root(), merkle::root(leaves)) << n;
    for (uint64_t i = 0; i < n; ++i) {
      auto a = tree.prove(i), b = merkle::prove(leaves, i);
      ASSERT_EQ(a.path, b.path) << n << " " << i;
      ASSERT_EQ(a.size, b.size);
      EXPECT_TRUE(merkle::verify(leaves[i], a, tree.root()));
    }
  }
  EXPECT_EQ(merkle::Tree({}).root(), merkle::root({}));
}

}  // namespace gridpact
