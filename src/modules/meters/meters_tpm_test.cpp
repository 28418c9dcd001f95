// The meters module with tpm2 meters, against a private swtpm: attested registration,
// TPM-signed readings, and every way a quote or a certificate chain can be refused.
#include <gtest/gtest.h>

#include <chrono>

#include "attest/codes.hpp"
#include "attest/enrol.hpp"
#include "attest/swtpm_process.hpp"
#include "attest/tpm2_device.hpp"
#include "attest/x509.hpp"
#include "ledger/testing.hpp"
#include "modules/meters/meters.hpp"
#include "modules/meters/testing.hpp"

namespace gridpact::meters {
namespace {

constexpr std::string_view kChain = "test";  // testing::Chain's default chain id
constexpr uint64_t kPeriod = 900'000;

uint16_t code(Code c) {
  return static_cast<uint16_t>(c);
}

uint64_t now_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

class MetersTpmTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    setenv("TSS2_LOG", "all+none", 0);
    auto swtpm = attest::SwtpmProcess::start();
    if (!swtpm) return;
    swtpm_ = std::move(swtpm).value().release();
    tpm_ = attest::Tpm2Device::open(swtpm_->tcti()).value().release();
    ek_roots_ =
        attest::parse_certificates(attest::read_text_file(swtpm_->ek_root_pem_path()).value())
            .value();
    ek_intermediates_ =
        attest::parse_certificates(attest::read_text_file(swtpm_->ek_issuer_pem_path()).value())
            .value();
  }
  static void TearDownTestSuite() {
    delete tpm_;
    tpm_ = nullptr;
    delete swtpm_;
    swtpm_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(tpm_, nullptr) << "swtpm did not start";
    ca_ = attest::EnrolmentCa(attest::CertificateAuthority::create_root("GridPact meter AK CA"),
                              ek_roots_);
    ca_pem_ = ca_.ca().certificate_pem();
    start(ca_pem_, {measurement_.hex()});
    auto ak = tpm_->create_ak();
    ASSERT_TRUE(ak) << ak.status().to_string();
    ak_ = *ak;
    ak_chain_ = enrol(ca_);
    ASSERT_FALSE(ak_chain_.empty());
    ASSERT_TRUE(tpm_->reset_pcr(16));
    ASSERT_TRUE(tpm_->extend_pcr(16, measurement_));
    key_ = tpm_->create_signing_key().value();
    auto point = attest::blob_p256_point(key_).value();
    key_bytes_.assign(point.bytes.begin(), point.bytes.end());
    id_ = meter_id_of(key_bytes_);
  }

  // swtpm's PCR 16 is resettable: a development chain (genesis `development = true`)
  // unless `development` is false.
  void start(const std::string& roots_pem, const std::vector<std::string>& measurements,
             bool development = true) {
    json section = {{"allow_virtual", false},
                    {"authority", authority_.public_key().hex()},
                    {"allowed_measurements", measurements}};
    if (!roots_pem.empty()) section["trusted_roots"] = roots_pem;
    chain_ = std::make_unique<testing::Chain>(
        std::vector<Module*>{&module_}, json{{"development", development}, {"meters", section}});
  }

  std::vector<Bytes> enrol(const attest::EnrolmentCa& ca) {
    attest::EnrolmentRequest req;
    req.ek_public = tpm_->ek_public().value();
    req.ek_cert_chain = {tpm_->read_ek_certificate().value()};
    for (const Bytes& c : ek_intermediates_) req.ek_cert_chain.push_back(c);
    req.ak_public = attest::blob_tpmt_public(ak_).value();
    auto challenge = ca.challenge(req);
    if (!challenge) return {};
    auto secret = tpm_->activate_credential(ak_, challenge->credential.id_object,
                                            challenge->credential.encrypted_secret);
    if (!secret) return {};
    auto cert = ca.complete(challenge->pending, *secret, "meter AK");
    if (!cert) return {};
    return {*cert};
  }

  RegisterPayload payload() {
    RegisterPayload p;
    p.microgrid = "mg-east";
    p.source = Source::kWind;
    p.location = "substation 4";
    p.firmware_version = "1.4.2";
    return p;
  }
  // Evidence for `owner` over `p`, as the meter agent makes it.
  attest::Evidence evidence_for(const PublicKey& owner, const RegisterPayload& p,
                                std::string_view chain = kChain) {
    auto nonce = attest::attestation_nonce(chain, key_bytes_, registration_challenge(owner, p));
    return attest::make_tpm2_evidence(*tpm_, ak_, ak_chain_, key_, nonce).value();
  }
  Receipt register_with(const attest::Evidence& e, const KeyPair& sender = {}) {
    RegisterPayload p = payload();
    p.evidence = attest::encode_evidence(e);
    return run(sender.public_key().is_zero() ? owner_ : sender, kRegister, encode(p));
  }
  Receipt run(const KeyPair& key, uint16_t type, const Bytes& payload) {
    time_ms_ += 1000;
    return chain_->one(key, type, payload, time_ms_);
  }
  Reading tpm_reading(uint64_t period, uint64_t seq, uint64_t imp, uint64_t exp) {
    Reading r{id_, period, seq, imp, exp, {}};
    r.signature = tpm_->sign(key_, reading_digest(kChain, r)).value();
    return r;
  }

  static attest::SwtpmProcess* swtpm_;
  static attest::Tpm2Device* tpm_;
  static std::vector<Bytes> ek_roots_, ek_intermediates_;
  KeyPair owner_ = KeyPair::generate();
  KeyPair authority_ = KeyPair::generate();
  MetersModule module_;
  std::unique_ptr<testing::Chain> chain_;
  attest::EnrolmentCa ca_{attest::CertificateAuthority::create_root("GridPact meter AK CA"), {}};
  std::string ca_pem_;
  Hash32 measurement_ = sha256("meter firmware 1.4.2");
  attest::Tpm2KeyBlob ak_, key_;
  std::vector<Bytes> ak_chain_;
  Bytes key_bytes_;
  Hash32 id_;
  // Certificates are checked at block time, so blocks run at the real time; but a test's
  // blocks (a second apart) must not cross into the next period, which would make a
  // "future" period current: in a period's last minute they start in the next one.
  static uint64_t clear_of_period_end(uint64_t t) {
    return t % kPeriod > kPeriod - 60'000 ? (t / kPeriod + 1) * kPeriod + 1000 : t;
  }
  uint64_t time_ms_ = clear_of_period_end(now_ms());
};
attest::SwtpmProcess* MetersTpmTest::swtpm_ = nullptr;
attest::Tpm2Device* MetersTpmTest::tpm_ = nullptr;
std::vector<Bytes> MetersTpmTest::ek_roots_, MetersTpmTest::ek_intermediates_;

TEST_F(MetersTpmTest, AttestedMeterRegistersAndItsTpmSignedReadingsCommit) {
  auto r = register_with(evidence_for(owner_.public_key(), payload()));
  ASSERT_TRUE(r.ok()) << r.message;
  auto m = find_meter(chain_->store(), id_);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->platform, attest::Platform::kTpm2);
  EXPECT_FALSE(m->insecure);
  EXPECT_EQ(m->measurement, measurement_);
  EXPECT_EQ(m->source, Source::kWind);
  EXPECT_EQ(m->owner, owner_.public_key());

  // The first reading is for the registration period, the next for the period after it.
  uint64_t period = time_ms_ / kPeriod;
  KeyPair relay = KeyPair::generate();
  ASSERT_TRUE(run(relay, kReading, encode(tpm_reading(period, 1, 100, 0))).ok());
  time_ms_ += kPeriod;
  ++period;
  auto ok2 = run(relay, kReading, encode(tpm_reading(period, 2, 350, 20)));
  ASSERT_TRUE(ok2.ok()) << ok2.message;
  EXPECT_EQ(period_energy(chain_->store(), id_, period)->import_wh, 250u);
  EXPECT_EQ(period_energy(chain_->store(), id_, period)->export_wh, 20u);
  time_ms_ = clear_of_period_end(time_ms_ + kPeriod);
  period = time_ms_ / kPeriod;

  // A reading signed by another TPM key, and one rolled back.
  auto other_key = tpm_->create_signing_key().value();
  Reading forged{id_, period, 3, 400, 20, {}};
  forged.signature = tpm_->sign(other_key, reading_digest(kChain, forged)).value();
  EXPECT_EQ(run(relay, kReading, encode(forged)).code, code(kReadingBadSignature));
  EXPECT_EQ(run(relay, kReading, encode(tpm_reading(period, 3, 349, 20))).code,
            code(kRegisterBackwards));
  EXPECT_EQ(run(relay, kReading, encode(tpm_reading(period + 1, 3, 400, 20))).code,
            code(kPeriodInFuture));
  EXPECT_EQ(last_reading(chain_->store(), id_)->seq, 2u);
}

TEST_F(MetersTpmTest, ForgedOrReplayedQuoteIsRejected) {
  auto e = evidence_for(owner_.public_key(), payload());
  auto forged = e;
  forged.tpm2.quote_signature.bytes[5] ^= 1;
  EXPECT_EQ(register_with(forged).code, code(attest::kBadQuoteSignature));
  auto edited = e;
  edited.tpm2.quote.back() ^= 1;
  EXPECT_EQ(register_with(edited).code, code(attest::kBadQuoteSignature));
  // Replayed by another account (the nonce binds the owner) and for another chain.
  KeyPair thief = KeyPair::generate();
  EXPECT_EQ(register_with(e, thief).code, code(attest::kNonceMismatch));
  EXPECT_EQ(register_with(evidence_for(owner_.public_key(), payload(), "other-chain")).code,
            code(attest::kNonceMismatch));
  EXPECT_FALSE(find_meter(chain_->store(), id_));
  ASSERT_TRUE(register_with(e).ok());
  // Replaying the accepted evidence registers nothing new.
  EXPECT_EQ(register_with(e).code, code(kMeterExists));
}

TEST_F(MetersTpmTest, WrongPcrOrUnallowedFirmwareIsRejected) {
  auto e = evidence_for(owner_.public_key(), payload());
  auto wrong_pcr = e;
  wrong_pcr.tpm2.pcrs[0].value = attest::firmware_pcr_value(sha256("meter firmware 1.4.1"));
  EXPECT_EQ(register_with(wrong_pcr).code, code(attest::kPcrMismatch));

  // Firmware not in the policy, until the authority allows it by a transaction.
  Hash32 other = sha256("meter firmware 9.9");
  ASSERT_TRUE(tpm_->reset_pcr(16));
  ASSERT_TRUE(tpm_->extend_pcr(16, other));
  auto e2 = evidence_for(owner_.public_key(), payload());
  EXPECT_EQ(register_with(e2).code, code(attest::kMeasurementNotAllowed));
  PolicyPayload allow{PolicyOp::kAddMeasurement, Bytes(other.bytes.begin(), other.bytes.end())};
  ASSERT_TRUE(run(authority_, kPolicy, encode(allow)).ok());
  auto r = register_with(e2);
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(find_meter(chain_->store(), id_)->measurement, other);
}

// Issue 20: PCR 16 (the default) is resettable, so an agent that resets and extends it
// itself proves nothing. Only a chain whose genesis says development = true accepts it; the
// flag is an engine key written at genesis, out of reach of governance (which may change
// meters.firmware_pcr, but the policy is checked at every registration).
TEST_F(MetersTpmTest, ResettablePcrIsRefusedOutsideDevelopment) {
  EXPECT_TRUE(policy(chain_->store(), std::nullopt).allow_resettable_pcrs);
  start(ca_pem_, {measurement_.hex()}, false);
  EXPECT_FALSE(policy(chain_->store(), std::nullopt).allow_resettable_pcrs);
  EXPECT_EQ(register_with(evidence_for(owner_.public_key(), payload())).code,
            code(attest::kResettablePcr));
  EXPECT_FALSE(find_meter(chain_->store(), id_));
  start(ca_pem_, {measurement_.hex()}, true);
  auto ok = register_with(evidence_for(owner_.public_key(), payload()));
  EXPECT_TRUE(ok.ok()) << ok.message;
}

// Issue 20: removing a trusted root left the meters registered under it active. Their
// readings are now refused from the removal on (committed ones stay); re-adding the root
// restores them.
TEST_F(MetersTpmTest, MetersUnderARemovedRootAreSuspended) {
  ASSERT_TRUE(register_with(evidence_for(owner_.public_key(), payload())).ok());
  uint64_t period = time_ms_ / kPeriod;
  KeyPair relay = KeyPair::generate();
  ASSERT_TRUE(run(relay, kReading, encode(tpm_reading(period, 1, 100, 0))).ok());
  const Bytes root = ca_.ca().certificate();
  Hash32 h = sha256(root);
  PolicyPayload remove{PolicyOp::kRemoveRoot, Bytes(h.bytes.begin(), h.bytes.end())};
  ASSERT_TRUE(run(authority_, kPolicy, encode(remove)).ok());
  time_ms_ = clear_of_period_end(time_ms_ + kPeriod);
  period = time_ms_ / kPeriod;
  EXPECT_EQ(run(relay, kReading, encode(tpm_reading(period, 2, 200, 0))).code,
            code(kMeterRootRemoved));
  EXPECT_EQ(last_reading(chain_->store(), id_)->seq, 1u);  // the committed one stays
  ASSERT_TRUE(run(authority_, kPolicy, encode(PolicyPayload{PolicyOp::kAddRoot, root})).ok());
  auto back = run(relay, kReading, encode(tpm_reading(period, 2, 200, 0)));
  EXPECT_TRUE(back.ok()) << back.message;
}

TEST_F(MetersTpmTest, AkFromUntrustedCaIsRejected) {
  attest::EnrolmentCa rogue(attest::CertificateAuthority::create_root("Rogue CA"), ek_roots_);
  auto rogue_chain = enrol(rogue);
  ASSERT_FALSE(rogue_chain.empty());
  auto e = evidence_for(owner_.public_key(), payload());
  e.tpm2.ak_cert_chain = rogue_chain;
  EXPECT_EQ(register_with(e).code, code(attest::kUntrustedCa));
  // No roots at all in genesis: nothing chains.
  start("", {measurement_.hex()});
  EXPECT_EQ(register_with(evidence_for(owner_.public_key(), payload())).code,
            code(attest::kUntrustedCa));
  // The authority adds the CA root by a transaction.
  ASSERT_TRUE(
      run(authority_, kPolicy, encode(PolicyPayload{PolicyOp::kAddRoot, ca_.ca().certificate()}))
          .ok());
  auto ok = register_with(evidence_for(owner_.public_key(), payload()));
  EXPECT_TRUE(ok.ok()) << ok.message;
}

}  // namespace
}  // namespace gridpact::meters
