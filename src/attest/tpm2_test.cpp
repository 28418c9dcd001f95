// End-to-end attestation against a real TPM 2.0 emulator: each test manufactures a fresh
// swtpm (private EK CA), enrols an AK with a test CA, and checks that verify_evidence()
// accepts the honest evidence and rejects every kind of tampering with its stable code.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "attest/codes.hpp"
#include "attest/enrol.hpp"
#include "attest/p256.hpp"
#include "attest/swtpm_process.hpp"
#include "attest/tpm2_device.hpp"
#include "attest/tpm2_structs.hpp"
#include "attest/verifier.hpp"
#include "attest/x509.hpp"

namespace gridpact::attest {
namespace {

constexpr std::string_view kChain = "gridpact-test";

class Tpm2Test : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("TSS2_LOG", "all+none", 0);  // expected TPM errors need no log lines
    auto swtpm = SwtpmProcess::start();
    ASSERT_TRUE(swtpm) << swtpm.status().to_string();
    swtpm_ = std::move(swtpm).value();
    auto tpm = Tpm2Device::open(swtpm_->tcti());
    ASSERT_TRUE(tpm) << tpm.status().to_string();
    tpm_ = std::move(tpm).value();
    auto root = read_text_file(swtpm_->ek_root_pem_path());
    auto issuer = read_text_file(swtpm_->ek_issuer_pem_path());
    ASSERT_TRUE(root && issuer);
    ek_roots_ = parse_certificates(*root).value();
    ek_intermediates_ = parse_certificates(*issuer).value();
    measurement_ = sha256("meter firmware 1.4.2");
  }

  void TearDown() override {
    tpm_.reset();
    swtpm_.reset();  // stops swtpm by its pid
  }

  EnrolmentRequest request(const Tpm2KeyBlob& ak) {
    EnrolmentRequest req;
    req.ek_public = tpm_->ek_public().value();
    req.ek_cert_chain = {tpm_->read_ek_certificate().value()};
    for (const Bytes& c : ek_intermediates_) req.ek_cert_chain.push_back(c);
    req.ak_public = blob_tpmt_public(ak).value();
    return req;
  }

  // Runs the whole enrolment protocol; returns the AK certificate chain.
  Result<std::vector<Bytes>> enrol(const Tpm2KeyBlob& ak, const EnrolmentCa& ca) {
    auto challenge = ca.challenge(request(ak));
    if (!challenge) return challenge.status();
    auto secret = tpm_->activate_credential(ak, challenge->credential.id_object,
                                            challenge->credential.encrypted_secret);
    if (!secret) return secret.status();
    auto cert = ca.complete(challenge->pending, *secret, "meter AK");
    if (!cert) return cert.status();
    return std::vector<Bytes>{*cert};
  }

  Policy policy() const {
    Policy p;
    p.trusted_roots = {ca_.ca().certificate()};
    p.allowed_measurements = {sha256("meter firmware 1.4.1"), measurement_};
    return p;
  }

  // An enrolled AK, PCR 16 measured, a signing key, and evidence for `challenge`.
  void make_evidence(const Bytes& challenge = {}) {
    auto ak = tpm_->create_ak();
    ASSERT_TRUE(ak) << ak.status().to_string();
    ak_ = *ak;
    auto chain = enrol(ak_, ca_);
    ASSERT_TRUE(chain) << chain.status().to_string();
    ak_chain_ = *chain;
    ASSERT_TRUE(tpm_->extend_pcr(16, measurement_));
    auto key = tpm_->create_signing_key();
    ASSERT_TRUE(key) << key.status().to_string();
    key_ = *key;
    P256Point point = blob_p256_point(key_).value();
    nonce_ = attestation_nonce(kChain, Bytes(point.bytes.begin(), point.bytes.end()), challenge);
    auto e = make_tpm2_evidence(*tpm_, ak_, ak_chain_, key_, nonce_);
    ASSERT_TRUE(e) << e.status().to_string();
    evidence_ = *e;
  }

  Code verify_code(const Evidence& e) {
    auto r = verify_evidence(e, nonce_, policy());
    return r ? Code::kOk : r.status().code;
  }

  std::unique_ptr<SwtpmProcess> swtpm_;
  std::unique_ptr<Tpm2Device> tpm_;
  std::vector<Bytes> ek_roots_, ek_intermediates_;
  EnrolmentCa ca_{CertificateAuthority::create_root("GridPact attestation CA"), {}};
  Hash32 measurement_;
  Tpm2KeyBlob ak_, key_;
  std::vector<Bytes> ak_chain_;
  Hash32 nonce_;
  Evidence evidence_;

  void use_ek_roots() { ca_ = EnrolmentCa(CertificateAuthority::create_root("AK CA"), ek_roots_); }
};

TEST_F(Tpm2Test, HappyPathVerifiesAndRoundTrips) {
  use_ek_roots();
  make_evidence(to_bytes("fresh challenge"));
  Bytes wire = encode_evidence(evidence_);
  auto decoded = decode_evidence(wire);
  ASSERT_TRUE(decoded) << decoded.status().to_string();
  EXPECT_EQ(*decoded, evidence_);

  // Seeds for fuzz_evidence: GRIDPACT_FUZZ_SEED_DIR=src/attest/evidence_corpus.
  if (const char* seeds = std::getenv("GRIDPACT_FUZZ_SEED_DIR"))
    std::ofstream(std::string(seeds) + "/tpm2.bin", std::ios::binary)
        .write(reinterpret_cast<const char*>(wire.data()), static_cast<long>(wire.size()));

  auto v = verify_evidence(wire, nonce_, policy());
  ASSERT_TRUE(v) << v.status().to_string();
  EXPECT_EQ(v->platform, Platform::kTpm2);
  EXPECT_FALSE(v->insecure);
  EXPECT_EQ(v->signing_key, evidence_.signing_key);
  ASSERT_TRUE(v->measurement);
  EXPECT_EQ(*v->measurement, measurement_);

  auto by_chain =
      verify_evidence_for_chain(evidence_, kChain, to_bytes("fresh challenge"), policy());
  EXPECT_TRUE(by_chain) << by_chain.status().to_string();
}

TEST_F(Tpm2Test, TpmSignedReadingVerifiesWithP256) {
  use_ek_roots();
  make_evidence();
  Bytes reading = to_bytes("meter 7 period 2026-11-25T08:45 import 1234567 Wh");
  auto sig = tpm_->sign(key_, sha256(reading));
  ASSERT_TRUE(sig) << sig.status().to_string();
  P256Point point = P256Point::from_span(evidence_.signing_key.data());
  EXPECT_TRUE(verify_p256(point, reading, *sig));
  Bytes other = reading;
  other.back() ^= 1;
  EXPECT_FALSE(verify_p256(point, other, *sig));
  EXPECT_FALSE(verify_p256(evidence_.tpm2.ak_public, reading, *sig));
}

TEST_F(Tpm2Test, KeyBlobSurvivesFileAndReconnect) {
  auto key = tpm_->create_signing_key();
  ASSERT_TRUE(key) << key.status().to_string();
  std::string path = swtpm_->dir() + "/meter.key";
  ASSERT_TRUE(save_key_blob(path, *key));
  tpm_.reset();
  tpm_ = Tpm2Device::open(swtpm_->tcti()).value();
  auto loaded = load_key_blob(path);
  ASSERT_TRUE(loaded) << loaded.status().to_string();
  Hash32 digest = sha256("reading");
  auto sig = tpm_->sign(*loaded, digest);
  ASSERT_TRUE(sig) << sig.status().to_string();
  EXPECT_TRUE(verify_p256_digest(blob_p256_point(*key).value(), digest, *sig));
  // Many operations in a row must not exhaust the TPM's object slots (TPM.md pitfall).
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(tpm_->sign(*loaded, digest));
}

TEST_F(Tpm2Test, ForgedOrModifiedQuoteIsRejected) {
  use_ek_roots();
  make_evidence();
  Evidence forged = evidence_;
  forged.tpm2.quote_signature.bytes[10] ^= 0x01;
  EXPECT_EQ(verify_code(forged), kBadQuoteSignature);

  // A quote edited to claim other PCR values no longer matches its signature.
  Evidence edited = evidence_;
  edited.tpm2.quote[edited.tpm2.quote.size() - 1] ^= 0x01;
  EXPECT_EQ(verify_code(edited), kBadQuoteSignature);

  // A software key posing as the AK: its own quote signature is valid, but the AK
  // certificate is not for it.
  P256KeyPair fake = P256KeyPair::generate();
  Evidence impostor = evidence_;
  impostor.tpm2.ak_public = fake.public_point();
  impostor.tpm2.quote_signature = fake.sign(impostor.tpm2.quote);
  EXPECT_EQ(verify_code(impostor), kUntrustedCa);
}

TEST_F(Tpm2Test, ReplayWithAnotherNonceOrKeyIsRejected) {
  use_ek_roots();
  make_evidence(to_bytes("challenge 1"));
  auto other_challenge =
      verify_evidence_for_chain(evidence_, kChain, to_bytes("challenge 2"), policy());
  ASSERT_FALSE(other_challenge);
  EXPECT_EQ(other_challenge.status().code, kNonceMismatch);
  auto other_chain =
      verify_evidence_for_chain(evidence_, "another-chain", to_bytes("challenge 1"), policy());
  ASSERT_FALSE(other_chain);
  EXPECT_EQ(other_chain.status().code, kNonceMismatch);

  // Reusing the quote for a different (even TPM-resident) signing key changes the nonce.
  auto key2 = tpm_->create_signing_key().value();
  Evidence swapped = evidence_;
  P256Point p2 = blob_p256_point(key2).value();
  swapped.signing_key.assign(p2.bytes.begin(), p2.bytes.end());
  swapped.tpm2.signing_public = blob_tpmt_public(key2).value();
  auto r = verify_evidence_for_chain(swapped, kChain, to_bytes("challenge 1"), policy());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.status().code, kNonceMismatch);
}

TEST_F(Tpm2Test, SigningKeyMustBeTheCertifiedOne) {
  use_ek_roots();
  make_evidence();
  // Same nonce, but the certified public area is another key's: the certify name differs.
  auto key2 = tpm_->create_signing_key().value();
  Evidence swapped = evidence_;
  swapped.tpm2.signing_public = blob_tpmt_public(key2).value();
  EXPECT_EQ(verify_code(swapped), kKeyNotCertified);

  Evidence bad_sig = evidence_;
  bad_sig.tpm2.certify_signature.bytes[40] ^= 0x80;
  EXPECT_EQ(verify_code(bad_sig), kKeyNotCertified);

  // A quote is not a certification, even though the AK signed it.
  Evidence quote_as_certify = evidence_;
  quote_as_certify.tpm2.certify_info = evidence_.tpm2.quote;
  quote_as_certify.tpm2.certify_signature = evidence_.tpm2.quote_signature;
  EXPECT_EQ(verify_code(quote_as_certify), kMalformedEvidence);
}

TEST_F(Tpm2Test, WrongPcrOrMeasurementIsRejected) {
  use_ek_roots();
  make_evidence();
  Evidence claimed = evidence_;
  claimed.tpm2.pcrs[0].value = firmware_pcr_value(measurement_);
  claimed.tpm2.pcrs[0].value.bytes[0] ^= 1;
  EXPECT_EQ(verify_code(claimed), kPcrMismatch);

  Evidence dropped = evidence_;
  dropped.tpm2.pcrs.clear();
  EXPECT_EQ(verify_code(dropped), kPcrMismatch);

  // Honest evidence, but the policy no longer allows this firmware.
  Policy p = policy();
  p.allowed_measurements = {sha256("meter firmware 1.4.1")};
  auto r = verify_evidence(evidence_, nonce_, p);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.status().code, kMeasurementNotAllowed);

  // The firmware PCR is another one than the policy expects.
  p = policy();
  p.firmware_pcr = 23;
  r = verify_evidence(evidence_, nonce_, p);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.status().code, kMeasurementNotAllowed);

  // Extending twice (allowed firmware, then anything) is not an allowed state.
  ASSERT_TRUE(tpm_->extend_pcr(16, sha256("payload")));
  Evidence twice = make_tpm2_evidence(*tpm_, ak_, ak_chain_, key_, nonce_).value();
  EXPECT_EQ(verify_code(twice), kMeasurementNotAllowed);
  // Resetting and measuring an allowed image again restores acceptance.
  ASSERT_TRUE(tpm_->reset_pcr(16));
  ASSERT_TRUE(tpm_->extend_pcr(16, measurement_));
  Evidence again = make_tpm2_evidence(*tpm_, ak_, ak_chain_, key_, nonce_).value();
  EXPECT_EQ(verify_code(again), Code::kOk);
}

TEST_F(Tpm2Test, AkFromUntrustedCaIsRejected) {
  use_ek_roots();
  make_evidence();
  // A second CA, unknown to the policy, certifies the very same (genuine) AK.
  EnrolmentCa rogue(CertificateAuthority::create_root("Rogue CA"), ek_roots_);
  auto rogue_chain = enrol(ak_, rogue);
  ASSERT_TRUE(rogue_chain) << rogue_chain.status().to_string();
  Evidence e = evidence_;
  e.tpm2.ak_cert_chain = *rogue_chain;
  EXPECT_EQ(verify_code(e), kUntrustedCa);
  // Trusting the rogue root makes the same evidence acceptable: the chain is the issue.
  Policy p = policy();
  p.trusted_roots.push_back(rogue.ca().certificate());
  EXPECT_TRUE(verify_evidence(e, nonce_, p));

  // An intermediate under the trusted root is fine.
  CertificateAuthority inter = ca_.ca().create_intermediate("Regional AK CA");
  Bytes leaf = inter.issue(evidence_.tpm2.ak_public, "meter AK").value();
  e.tpm2.ak_cert_chain = {leaf, inter.certificate()};
  EXPECT_EQ(verify_code(e), Code::kOk);
  e.tpm2.ak_cert_chain = {leaf};  // without the intermediate there is no path
  EXPECT_EQ(verify_code(e), kUntrustedCa);
}

TEST_F(Tpm2Test, EnrolmentChecksEkCertificateAndCredential) {
  auto ak = tpm_->create_ak().value();
  // EK certificate from a manufacturer the CA does not trust.
  CertificateAuthority other = CertificateAuthority::create_root("Other TPM vendor");
  EnrolmentCa picky(CertificateAuthority::create_root("AK CA"), {other.certificate()});
  auto r = picky.challenge(request(ak));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.status().code, kUntrustedCa);

  use_ek_roots();
  // A wrong answer to the credential challenge.
  auto challenge = ca_.challenge(request(ak));
  ASSERT_TRUE(challenge) << challenge.status().to_string();
  Bytes wrong = challenge->pending.secret;
  wrong[0] ^= 1;
  auto cert = ca_.complete(challenge->pending, wrong, "AK");
  ASSERT_FALSE(cert);
  EXPECT_EQ(cert.status().code, kEnrolmentRejected);

  // A credential made for another object name cannot be activated with this AK.
  auto ak2 = tpm_->create_ak().value();
  auto challenge2 = ca_.challenge(request(ak2));
  ASSERT_TRUE(challenge2);
  auto stolen = tpm_->activate_credential(ak, challenge2->credential.id_object,
                                          challenge2->credential.encrypted_secret);
  EXPECT_FALSE(stolen);

  // An unrestricted signing key cannot be enrolled as an AK.
  auto key = tpm_->create_signing_key().value();
  auto r2 = ca_.challenge(request(key));
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.status().code, kEnrolmentRejected);

  // EK certificate presented with another TPM's EK public key.
  EnrolmentRequest req = request(ak);
  auto rogue_tpm = SwtpmProcess::start().value();
  auto rogue_dev = Tpm2Device::open(rogue_tpm->tcti()).value();
  req.ek_public = rogue_dev->ek_public().value();
  auto r3 = ca_.challenge(req);
  ASSERT_FALSE(r3);
  EXPECT_EQ(r3.status().code, kEnrolmentRejected);
}

// Without swtpm_setup's persistent EK the device falls back to the TCG low-range ECC P-256
// EK, usable only through a PolicySecret(endorsement) session; tpm2-tools is the reference.
TEST_F(Tpm2Test, LowRangeEkFallbackActivatesCredential) {
  std::string tools = "TPM2TOOLS_TCTI='" + swtpm_->tcti() + "' ";
  ASSERT_EQ(std::system((tools + "tpm2_evictcontrol -C o -c 0x81010016 >/dev/null").c_str()), 0);
  Bytes ek = tpm_->ek_public().value();
  std::string ref = swtpm_->dir() + "/ek.pub";
  ASSERT_EQ(std::system((tools + "tpm2_createek -G ecc -c " + swtpm_->dir() + "/ek.ctx -u " + ref +
                         " >/dev/null")
                            .c_str()),
            0);
  EXPECT_EQ(to_hex(ek), to_hex(to_bytes(read_text_file(ref).value())));

  auto ak = tpm_->create_ak();
  ASSERT_TRUE(ak) << ak.status().to_string();
  Bytes name = object_name(blob_tpmt_public(*ak).value()).value();
  Bytes secret = to_bytes("thirty-two bytes of credential!!");
  Credential cred = make_credential(ek, name, secret).value();
  for (int i = 0; i < 5; ++i) {  // sessions and objects are flushed every time
    auto got = tpm_->activate_credential(*ak, cred.id_object, cred.encrypted_secret);
    ASSERT_TRUE(got) << got.status().to_string();
    EXPECT_EQ(*got, secret);
  }
  // The EK certificate in NV certifies the evicted P-384 EK, not this one.
  use_ek_roots();
  auto r = ca_.challenge(request(*ak));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.status().code, kEnrolmentRejected);
}

TEST_F(Tpm2Test, TruncatedOrGarbageEvidenceIsMalformed) {
  use_ek_roots();
  make_evidence();
  Bytes wire = encode_evidence(evidence_);
  for (size_t cut : {size_t{0}, size_t{1}, size_t{2}, wire.size() / 2, wire.size() - 1}) {
    Bytes truncated(wire.begin(), wire.begin() + static_cast<long>(cut));
    auto d = decode_evidence(truncated);
    ASSERT_FALSE(d) << cut;
    EXPECT_EQ(d.status().code, Code::kTruncated) << cut;
    auto v = verify_evidence(truncated, nonce_, policy());
    ASSERT_FALSE(v);
    EXPECT_EQ(v.status().code, kMalformedEvidence);
  }
  Bytes trailing = wire;
  trailing.push_back(0);
  EXPECT_EQ(decode_evidence(trailing).status().code, Code::kTrailingBytes);

  // Well-framed, but the quote is garbage signed by nobody.
  Evidence garbage = evidence_;
  garbage.tpm2.quote = to_bytes("not a TPMS_ATTEST at all");
  EXPECT_EQ(verify_code(garbage), kBadQuoteSignature);
}

}  // namespace
}  // namespace gridpact::attest
