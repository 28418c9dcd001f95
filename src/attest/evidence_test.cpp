// Evidence encoding, the virtual platform and the P-256 helpers: everything that needs
// no TPM.
#include <gtest/gtest.h>

#include "attest/codes.hpp"
#include "attest/evidence.hpp"
#include "attest/p256.hpp"
#include "attest/verifier.hpp"
#include "attest/virtual_platform.hpp"
#include "attest/x509.hpp"

namespace gridpact::attest {
namespace {

Evidence sample_tpm2() {
  Evidence e;
  e.platform = Platform::kTpm2;
  e.signing_key = Bytes(kP256PointSize, 0x04);
  e.tpm2.ak_public.bytes.fill(7);
  e.tpm2.ak_cert_chain = {Bytes(100, 1), Bytes(50, 2)};
  e.tpm2.quote = Bytes(120, 3);
  e.tpm2.quote_signature.bytes.fill(4);
  e.tpm2.pcrs = {PcrValue{0, sha256("a")}, PcrValue{16, sha256("b")}};
  e.tpm2.signing_public = Bytes(90, 5);
  e.tpm2.certify_info = Bytes(110, 6);
  e.tpm2.certify_signature.bytes.fill(8);
  return e;
}

Code decode_code(const Bytes& b) {
  auto r = decode_evidence(b);
  return r ? Code::kOk : r.status().code;
}

TEST(Evidence, Tpm2RoundTripIsCanonical) {
  Evidence e = sample_tpm2();
  Bytes wire = encode_evidence(e);
  auto d = decode_evidence(wire);
  ASSERT_TRUE(d) << d.status().to_string();
  EXPECT_EQ(*d, e);
  EXPECT_EQ(encode_evidence(*d), wire);
}

TEST(Evidence, StrictDecoding) {
  Bytes wire = encode_evidence(sample_tpm2());
  Bytes v2 = wire;
  v2[0] = 2;
  EXPECT_EQ(decode_code(v2), Code::kUnknownVersion);
  Bytes kind = wire;
  kind[1] = 3;
  EXPECT_EQ(decode_code(kind), Code::kUnknownType);
  Bytes trailing = wire;
  trailing.push_back(0);
  EXPECT_EQ(decode_code(trailing), Code::kTrailingBytes);
  EXPECT_EQ(decode_code(Bytes(wire.begin(), wire.end() - 1)), Code::kTruncated);

  Evidence e = sample_tpm2();
  e.tpm2.pcrs = {PcrValue{16, {}}, PcrValue{0, {}}};  // out of order
  EXPECT_EQ(decode_code(encode_evidence(e)), Code::kBadEncoding);
  e.tpm2.pcrs = {PcrValue{16, {}}, PcrValue{16, {}}};  // duplicate
  EXPECT_EQ(decode_code(encode_evidence(e)), Code::kBadEncoding);
  e.tpm2.pcrs = {PcrValue{24, {}}};
  EXPECT_EQ(decode_code(encode_evidence(e)), Code::kBadEncoding);

  e = sample_tpm2();
  e.signing_key = Bytes(32, 1);  // an Ed25519-sized key on a tpm2 evidence
  EXPECT_EQ(decode_code(encode_evidence(e)), Code::kBadEncoding);
  e = sample_tpm2();
  e.tpm2.ak_cert_chain.clear();
  EXPECT_EQ(decode_code(encode_evidence(e)), Code::kBadEncoding);

  // Over-long fields: the encoder refuses them, and a hand-made length is rejected.
  e = sample_tpm2();
  e.tpm2.quote = Bytes(kMaxAttestSize + 1, 0);
  EXPECT_THROW(encode_evidence(e), Error);
  Bytes longkey = {1, 2, 0, 0, 0x10, 0};  // signing_key length 4096
  EXPECT_EQ(decode_code(longkey), Code::kFieldTooLong);
  Bytes many_certs = encode_evidence(sample_tpm2());
  // Cert count sits after version, kind, key (4+65) and AK (65).
  size_t at = 2 + 4 + kP256PointSize + kP256PointSize;
  ASSERT_EQ(many_certs[at + 3], 2);
  many_certs[at + 3] = kMaxCertChain + 1;
  EXPECT_EQ(decode_code(many_certs), Code::kFieldTooLong);
}

TEST(Evidence, NonceBindsChainKeyAndChallenge) {
  Bytes key(65, 4);
  Hash32 n = attestation_nonce("chain", key, to_bytes("c"));
  EXPECT_EQ(n, attestation_nonce("chain", key, to_bytes("c")));
  EXPECT_NE(n, attestation_nonce("chain2", key, to_bytes("c")));
  EXPECT_NE(n, attestation_nonce("chain", key, to_bytes("d")));
  Bytes key2 = key;
  key2[64] ^= 1;
  EXPECT_NE(n, attestation_nonce("chain", key2, to_bytes("c")));
  // Length prefixes keep field boundaries apart.
  EXPECT_NE(attestation_nonce("ab", to_bytes("c"), {}), attestation_nonce("a", to_bytes("bc"), {}));
}

TEST(Virtual, AcceptedOnlyWhenAllowed) {
  KeyPair key = KeyPair::from_seed(FixedBytes<32>{});
  Bytes pub(key.public_key().bytes.begin(), key.public_key().bytes.end());
  Hash32 nonce = attestation_nonce("chain", pub);
  Evidence e = make_virtual_evidence(key, nonce);
  Bytes wire = encode_evidence(e);
  ASSERT_TRUE(decode_evidence(wire));
  EXPECT_EQ(*decode_evidence(wire), e);

  Policy strict;
  auto r = verify_evidence(wire, nonce, strict);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.status().code, kVirtualNotAllowed);
  EXPECT_EQ(code_name(r.status().code), "VIRTUAL_NOT_ALLOWED");

  Policy dev;
  dev.allow_virtual = true;
  auto ok = verify_evidence(wire, nonce, dev);
  ASSERT_TRUE(ok) << ok.status().to_string();
  EXPECT_TRUE(ok->insecure);
  EXPECT_EQ(ok->platform, Platform::kVirtual);
  EXPECT_EQ(ok->signing_key, pub);
  EXPECT_TRUE(verify_evidence_for_chain(e, "chain", {}, dev));

  auto other = verify_evidence_for_chain(e, "other-chain", {}, dev);
  ASSERT_FALSE(other);
  EXPECT_EQ(other.status().code, kBadQuoteSignature);
  Evidence swapped = e;
  swapped.signing_key[0] ^= 1;  // claims another key with this signature
  EXPECT_FALSE(verify_evidence(swapped, nonce, dev));
}

TEST(P256, SignVerifyAndEncodings) {
  P256KeyPair k = P256KeyPair::generate();
  Bytes msg = to_bytes("import 1.8.0 = 1234 Wh");
  P256Signature sig = k.sign(msg);
  EXPECT_TRUE(verify_p256(k.public_point(), msg, sig));
  Bytes other = msg;
  other[0] ^= 1;
  EXPECT_FALSE(verify_p256(k.public_point(), other, sig));
  P256Signature bad = sig;
  bad.bytes[63] ^= 1;
  EXPECT_FALSE(verify_p256(k.public_point(), msg, bad));
  EXPECT_FALSE(verify_p256(P256KeyPair::generate().public_point(), msg, sig));
  EXPECT_TRUE(verify_p256_digest(k.public_point(), sha256(msg), sig));

  // A point off the curve, and a compressed-looking prefix, are not keys.
  P256Point off = k.public_point();
  off.bytes[64] ^= 1;
  EXPECT_FALSE(P256PublicKey::parse(off));
  EXPECT_FALSE(verify_p256(off, msg, sig));
  P256Point prefix = k.public_point();
  prefix.bytes[0] = 0x02;
  EXPECT_FALSE(P256PublicKey::parse(prefix));

  Bytes der = raw_to_der(sig);
  auto back = der_to_raw(der.data(), der.size());
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, sig);
  der.push_back(0);
  EXPECT_FALSE(der_to_raw(der.data(), der.size()));
  // All-zero r and s are never valid.
  EXPECT_FALSE(verify_p256(k.public_point(), msg, P256Signature{}));
}

TEST(X509, ChainsAndPemParsing) {
  CertificateAuthority root = CertificateAuthority::create_root("root");
  CertificateAuthority inter = root.create_intermediate("inter");
  P256KeyPair leaf_key = P256KeyPair::generate();
  Bytes leaf = inter.issue(leaf_key.public_point(), "leaf").value();
  EXPECT_TRUE(verify_chain({leaf, inter.certificate()}, {root.certificate()}, std::nullopt));
  auto missing = verify_chain({leaf}, {root.certificate()}, std::nullopt);
  EXPECT_EQ(missing.code, kUntrustedCa);
  CertificateAuthority other = CertificateAuthority::create_root("other");
  EXPECT_EQ(verify_chain({leaf, inter.certificate()}, {other.certificate()}, std::nullopt).code,
            kUntrustedCa);
  // A CA reloaded from PEM issues certificates that chain as before; a key that is not
  // the certificate's is refused.
  auto reloaded = CertificateAuthority::load(inter.certificate_pem(), inter.private_key_pem());
  ASSERT_TRUE(reloaded) << reloaded.status().to_string();
  Bytes leaf2 = reloaded->issue(leaf_key.public_point(), "leaf2").value();
  EXPECT_TRUE(verify_chain({leaf2, inter.certificate()}, {root.certificate()}, std::nullopt));
  EXPECT_EQ(
      CertificateAuthority::load(inter.certificate_pem(), root.private_key_pem()).status().code,
      kBadPolicy);

  // Validity periods are checked at the given (block) time only.
  EXPECT_EQ(verify_chain({leaf, inter.certificate()}, {root.certificate()}, int64_t{0}).code,
            kUntrustedCa);
  EXPECT_TRUE(
      verify_chain({leaf, inter.certificate()}, {root.certificate()}, int64_t{time(nullptr)}));

  Policy p;
  EXPECT_TRUE(p.add_trusted_roots(root.certificate_pem() + other.certificate_pem()));
  EXPECT_EQ(p.trusted_roots.size(), 2u);
  EXPECT_EQ(p.trusted_roots[0], root.certificate());
  EXPECT_EQ(p.add_trusted_roots("garbage").code, kBadPolicy);
  auto point = certificate_ec_point(leaf);
  ASSERT_TRUE(point);
  EXPECT_EQ(*point,
            Bytes(leaf_key.public_point().bytes.begin(), leaf_key.public_point().bytes.end()));
}

// A root dated from a past time (a simulated chain's block times: gridpact simulate --tpm)
// issues certificates valid from then on, checked at those times; an undated one's are not.
TEST(X509, ARootDatedInThePastIssuesCertificatesValidFromThen) {
  const int64_t june_2025 = 1'748'822'400;  // 2025-06-02T00:00:00Z
  CertificateAuthority root = CertificateAuthority::create_root("root", 3650, june_2025);
  CertificateAuthority inter = root.create_intermediate("inter");
  P256KeyPair key = P256KeyPair::generate();
  Bytes leaf = inter.issue(key.public_point(), "ak").value();
  const std::vector<Bytes> chain = {leaf, inter.certificate()};
  EXPECT_TRUE(verify_chain(chain, {root.certificate()}, june_2025 + 3600, LeafUse::kSigning));
  EXPECT_TRUE(verify_chain(chain, {root.certificate()}, std::nullopt, LeafUse::kSigning));
  EXPECT_EQ(verify_chain(chain, {root.certificate()}, june_2025 - 1).code, kUntrustedCa);
  EXPECT_EQ(verify_chain(chain, {root.certificate()}, june_2025 + 3651LL * 86'400).code,
            kUntrustedCa);
  CertificateAuthority undated = CertificateAuthority::create_root("undated");
  Bytes now_leaf = undated.issue(key.public_point(), "ak").value();
  EXPECT_EQ(verify_chain({now_leaf}, {undated.certificate()}, june_2025 + 3600).code, kUntrustedCa);
}

// Issue 20: certificates are checked at the given time or now (never ignored), and an
// AK certificate must be a signing certificate, not any certificate from the CA.
TEST(X509, ValidityAlwaysCheckedAndLeafMustBeForSigning) {
  CertificateAuthority root = CertificateAuthority::create_root("root");
  P256KeyPair key = P256KeyPair::generate();
  Bytes expired = root.issue(key.public_point(), "expired", false, -1).value();
  EXPECT_EQ(verify_chain({expired}, {root.certificate()}, std::nullopt).code, kUntrustedCa);
  Bytes good = root.issue(key.public_point(), "ak").value();
  EXPECT_TRUE(verify_chain({good}, {root.certificate()}, std::nullopt));
  EXPECT_TRUE(verify_chain({good}, {root.certificate()}, std::nullopt, LeafUse::kSigning));
  // A CA certificate (keyCertSign only) from the same root chains, but is no AK cert.
  Bytes ca_cert = root.create_intermediate("sub-ca").certificate();
  EXPECT_TRUE(verify_chain({ca_cert}, {root.certificate()}, std::nullopt));
  EXPECT_EQ(verify_chain({ca_cert}, {root.certificate()}, std::nullopt, LeafUse::kSigning).code,
            kUntrustedCa);
}

TEST(Tpm2Policy, ResettablePcrRefusedOutsideDevelopment) {
  Policy p;
  p.allow_resettable_pcrs = false;
  for (uint8_t pcr : {uint8_t{16}, uint8_t{23}}) {
    p.firmware_pcr = pcr;
    EXPECT_EQ(verify_evidence(sample_tpm2(), Hash32{}, p).status().code, kResettablePcr);
  }
  // A boot-chain PCR passes this check (and fails later, on this made-up evidence).
  p.firmware_pcr = 7;
  EXPECT_NE(verify_evidence(sample_tpm2(), Hash32{}, p).status().code, kResettablePcr);
  p.firmware_pcr = 16;
  p.allow_resettable_pcrs = true;  // development
  EXPECT_NE(verify_evidence(sample_tpm2(), Hash32{}, p).status().code, kResettablePcr);
  EXPECT_EQ(code_name(kResettablePcr), "RESETTABLE_PCR");
}

TEST(Codes, NamesAreRegistered) {
  register_attest_codes();
  EXPECT_EQ(code_name(kMalformedEvidence), "MALFORMED_EVIDENCE");
  EXPECT_EQ(code_name(kUntrustedCa), "UNTRUSTED_CA");
  EXPECT_EQ(static_cast<int>(kBadPolicy), 1010);
}

}  // namespace
}  // namespace gridpact::attest
