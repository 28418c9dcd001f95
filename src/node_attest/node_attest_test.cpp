// Node attestation end to end through the HTTP server: a real node and api::Server with
// the attestation route, a client fetching GET /v1/attestation with a fresh challenge and
// verifying it; each way of getting it wrong is refused with its own code. The tpm2 path
// runs against a private swtpm with an AK enrolled by a test CA.
#include "node_attest/node_attest.hpp"

#include <gtest/gtest.h>
#include <httplib.h>
#include <sodium.h>

#include <fstream>

#include "api/server.hpp"
#include "attest/codes.hpp"
#include "attest/enrol.hpp"
#include "attest/swtpm_process.hpp"
#include "attest/virtual_platform.hpp"
#include "attest/x509.hpp"
#include "ledger/testing.hpp"
#include "modules/bank/bank.hpp"

namespace gridpact::node_attest {
namespace {

Bytes random_challenge() {
  Bytes c(32);
  randombytes_buf(c.data(), c.size());
  return c;
}

struct NodeAttestTest : ::testing::Test {
  testing::TempDir dir;
  KeyPair validator = KeyPair::generate();
  bank::BankModule genesis_bank;  // writes the genesis document's [bank] section
  Genesis genesis =
      Genesis::parse(development_genesis("attest-test", validator.public_key(),
                                         KeyPair::generate().public_key(), {}, {&genesis_bank}))
          .value();
  Hash32 measurement = measure_self().value();
  std::unique_ptr<Node> node;
  std::unique_ptr<NodeAttestor> attestor;
  std::unique_ptr<api::Server> server;
  std::unique_ptr<httplib::Client> client;

  void SetUp() override {
    crypto_init();
    register_node_attest_codes();
    std::vector<std::unique_ptr<Module>> mods;
    mods.push_back(std::make_unique<bank::BankModule>());
    node = Node::open({dir.str(), genesis, validator, {}, false}, std::move(mods)).value();
    node->start();
  }
  // Serves `a` on a fresh server.
  void serve(std::unique_ptr<NodeAttestor> a, api::ServerOptions options = {}) {
    attestor = std::move(a);
    server = std::make_unique<api::Server>(*node, options);
    attestor->install(*server);
    ASSERT_TRUE(server->start().is_ok());
    client = std::make_unique<httplib::Client>("127.0.0.1", server->port());
    client->set_read_timeout(30, 0);
  }
  void TearDown() override {
    if (server) server->stop();
    node->stop();
  }
  json fetch(const Bytes& challenge, int expect_status = 200) {
    auto r = client->Get("/v1/attestation?challenge=" + to_hex(challenge));
    EXPECT_TRUE(r);
    if (!r) return {};
    EXPECT_EQ(r->status, expect_status) << r->body;
    return json::parse(r->body, nullptr, false);
  }
  Code verify_code(const json& doc, const VerifyOptions& o) {
    auto v = verify_attestation(doc, o);
    return v ? Code::kOk : v.status().code;
  }
};

TEST_F(NodeAttestTest, MeasurementIsTheExecutablesHash) {
  auto again = measure_file("/proc/self/exe");
  ASSERT_TRUE(again.is_ok());
  EXPECT_EQ(*again, measurement);
  EXPECT_NE(measure_file(dir.str() + "/missing").status().code, Code::kOk);
  // Streaming across buffer boundaries gives the one-shot hash.
  std::string text(200'000, 'g');
  for (size_t i = 0; i < text.size(); i += 7) text[i] = static_cast<char>('a' + i % 26);
  std::ofstream(dir.str() + "/file") << text;
  EXPECT_EQ(measure_file(dir.str() + "/file").value(), sha256(text));
  std::ofstream(dir.str() + "/empty").flush();
  EXPECT_EQ(measure_file(dir.str() + "/empty").value(), sha256(""));
}

TEST_F(NodeAttestTest, NodeIdentityIsTheValidatorKeyElseAPersistentNodeKey) {
  auto v = node_identity(dir.str(), validator);
  ASSERT_TRUE(v.is_ok());
  EXPECT_EQ(v->key.public_key(), validator.public_key());
  EXPECT_EQ(v->source, "validator");
  auto n1 = node_identity(dir.str(), std::nullopt);
  auto n2 = node_identity(dir.str(), std::nullopt);
  ASSERT_TRUE(n1.is_ok() && n2.is_ok());
  EXPECT_EQ(n1->source, "node");
  EXPECT_EQ(n1->key.public_key(), n2->key.public_key());
  EXPECT_NE(n1->key.public_key(), validator.public_key());
}

TEST_F(NodeAttestTest, VirtualAttestationVerifiesOverHttp) {
  serve(NodeAttestor::create_virtual(genesis.chain_id, {validator, "validator"}, measurement));
  Bytes challenge = random_challenge();
  json doc = fetch(challenge);
  EXPECT_EQ(doc["platform"], "virtual");
  EXPECT_EQ(doc["insecure"], true);
  EXPECT_EQ(doc["node_key"], validator.public_key().hex());
  EXPECT_EQ(doc["measurement"], measurement.hex());
  auto v = verify_attestation(doc, {measurement, challenge, true, {}});
  ASSERT_TRUE(v.is_ok()) << v.status().to_string();
  EXPECT_EQ(v->node_key, validator.public_key());
  EXPECT_EQ(v->chain_id, genesis.chain_id);
  EXPECT_TRUE(v->insecure);
  // No challenge at all is allowed too (the verifier then accepts a possibly old answer).
  json plain = fetch({});
  EXPECT_EQ(verify_code(plain, {measurement, {}, true, {}}), Code::kOk);
}

// Issue 20: each GET /v1/attestation makes a quote (a TPM's under its lock): it is an
// expensive query of the API's gate, so a client beyond its share gets 429 OVERLOADED.
TEST_F(NodeAttestTest, AttestationGoesThroughTheQueryGate) {
  api::ServerOptions o;
  o.queries.per_client_per_second = 0;  // no refill: the burst is all a client gets
  o.queries.per_client_burst = 2;
  serve(NodeAttestor::create_virtual(genesis.chain_id, {validator, "validator"}, measurement), o);
  fetch(random_challenge());
  fetch(random_challenge());
  json refused = fetch(random_challenge(), 429);
  EXPECT_EQ(refused["error"]["name"], "OVERLOADED");
  EXPECT_EQ(refused["error"]["message"].get<std::string>().rfind("rate limited", 0), 0u);
}

TEST_F(NodeAttestTest, VirtualAttestationMismatchesAreRefused) {
  serve(NodeAttestor::create_virtual(genesis.chain_id, {validator, "validator"}, measurement));
  Bytes challenge = random_challenge();
  json doc = fetch(challenge);
  VerifyOptions good{measurement, challenge, true, {}};
  ASSERT_EQ(verify_code(doc, good), Code::kOk);

  // Another executable than the one the verifier allows.
  VerifyOptions other_exe = good;
  other_exe.measurement = sha256("gridpact 0.0.9");
  EXPECT_EQ(verify_code(doc, other_exe), kMeasurementMismatch);
  // The node lies about its measurement: the evidence does not cover the claimed one.
  json lie = doc;
  lie["measurement"] = other_exe.measurement.hex();
  EXPECT_EQ(verify_code(lie, other_exe), attest::kBadQuoteSignature);

  // A replayed answer to an older challenge.
  VerifyOptions fresh = good;
  fresh.challenge = random_challenge();
  EXPECT_EQ(verify_code(doc, fresh), kStaleChallenge);
  json relabelled = doc;  // the challenge field rewritten; the evidence still is for the old one
  relabelled["challenge"] = to_hex(fresh.challenge);
  EXPECT_EQ(verify_code(relabelled, fresh), attest::kBadQuoteSignature);

  // Virtual evidence where the verifier wants hardware.
  VerifyOptions hardware_only = good;
  hardware_only.allow_virtual = false;
  EXPECT_EQ(verify_code(doc, hardware_only), attest::kVirtualNotAllowed);

  // Bad signatures: a flipped bit in the evidence's self-signature, or in node_signature.
  json bad_evidence = doc;
  Bytes ev = from_hex(doc["evidence"].get<std::string>()).value();
  ev.back() ^= 1;
  bad_evidence["evidence"] = to_hex(ev);
  EXPECT_EQ(verify_code(bad_evidence, good), attest::kBadQuoteSignature);
  json bad_sig = doc;
  Bytes sig = from_hex(doc["node_signature"].get<std::string>()).value();
  sig[0] ^= 1;
  bad_sig["node_signature"] = to_hex(sig);
  EXPECT_EQ(verify_code(bad_sig, good), kNodeKeyMismatch);

  // Someone else's evidence presented under this node's key.
  KeyPair mallory = KeyPair::generate();
  json stolen = doc;
  Hash32 nonce = node_nonce(genesis.chain_id, validator.public_key(), measurement, challenge);
  stolen["evidence"] =
      to_hex(attest::encode_evidence(attest::make_virtual_evidence(mallory, nonce)));
  EXPECT_EQ(verify_code(stolen, good), kNodeKeyMismatch);

  // Garbage.
  json broken = doc;
  broken.erase("evidence");
  EXPECT_EQ(verify_code(broken, good), kBadAttestationResponse);
  broken = doc;
  broken["evidence"] = "00";
  EXPECT_EQ(verify_code(broken, good), attest::kMalformedEvidence);
}

TEST_F(NodeAttestTest, BadChallengesAreRejectedByTheNode) {
  serve(NodeAttestor::create_virtual(genesis.chain_id, {validator, "validator"}, measurement));
  auto r = client->Get("/v1/attestation?challenge=xyz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(json::parse(r->body)["error"]["code"], 1500);
  EXPECT_EQ(json::parse(r->body)["error"]["name"], "BAD_CHALLENGE");
  json j = fetch(Bytes(kMaxChallenge + 1, 7), 400);
  EXPECT_EQ(j["error"]["code"], 1500);
  // Every other route still works beside the extension.
  auto h = client->Get("/v1/health");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
}

TEST(NodeAttestTcti, TcpSpecBecomesAnSwtpmTcti) {
  EXPECT_EQ(tcti_string("tcp:127.0.0.1:2321"), "swtpm:host=127.0.0.1,port=2321");
  EXPECT_EQ(tcti_string("device:/dev/tpmrm0"), "device:/dev/tpmrm0");
}

// The tpm2 path: a private swtpm, an AK enrolled with a test CA (EK certificate checked
// against swtpm's own local CA), the node's signing key created in the TPM on first use.
struct NodeAttestTpmTest : NodeAttestTest {
  std::unique_ptr<attest::SwtpmProcess> swtpm;
  attest::EnrolmentCa ca{attest::CertificateAuthority::create_root("Node AK CA"), {}};
  TpmConfig config;

  void SetUp() override {
    NodeAttestTest::SetUp();
    if (!attest::SwtpmProcess::available()) GTEST_SKIP() << "swtpm not installed";
    setenv("TSS2_LOG", "all+none", 0);
    auto s = attest::SwtpmProcess::start();
    ASSERT_TRUE(s) << s.status().to_string();
    swtpm = std::move(s).value();
    auto root = attest::read_text_file(swtpm->ek_root_pem_path());
    auto issuer = attest::read_text_file(swtpm->ek_issuer_pem_path());
    ASSERT_TRUE(root && issuer);
    ca = attest::EnrolmentCa(attest::CertificateAuthority::create_root("Node AK CA"),
                             attest::parse_certificates(*root).value());

    // Enrolment, as an operator's tool would do it once per node.
    auto tpm = attest::Tpm2Device::open(swtpm->tcti()).value();
    auto ak = tpm->create_ak().value();
    attest::EnrolmentRequest req;
    req.ek_public = tpm->ek_public().value();
    req.ek_cert_chain = {tpm->read_ek_certificate().value()};
    auto intermediates = attest::parse_certificates(*issuer);
    ASSERT_TRUE(intermediates) << intermediates.status().to_string();
    req.ek_cert_chain.insert(req.ek_cert_chain.end(), intermediates->begin(), intermediates->end());
    req.ak_public = attest::blob_tpmt_public(ak).value();
    auto challenge = ca.challenge(req);
    ASSERT_TRUE(challenge) << challenge.status().to_string();
    auto secret = tpm->activate_credential(ak, challenge->credential.id_object,
                                           challenge->credential.encrypted_secret);
    ASSERT_TRUE(secret) << secret.status().to_string();
    auto cert = ca.complete(challenge->pending, *secret, "node AK");
    ASSERT_TRUE(cert) << cert.status().to_string();
    config.tcti = "tcp:127.0.0.1:" + swtpm->tcti().substr(swtpm->tcti().rfind('=') + 1);
    config.ak_blob_path = dir.str() + "/ak.blob";
    config.ak_cert_path = dir.str() + "/ak.der";
    config.signing_key_path = dir.str() + "/node-tpm-key.blob";
    ASSERT_TRUE(attest::save_key_blob(config.ak_blob_path, ak));
    std::ofstream(config.ak_cert_path, std::ios::binary)
        .write(reinterpret_cast<const char*>(cert->data()),
               static_cast<std::streamsize>(cert->size()));
  }
  void TearDown() override {
    if (server) server->stop();
    attestor.reset();  // closes its TPM connection before swtpm stops
    swtpm.reset();
    node->stop();
  }
  VerifyOptions options(const Bytes& challenge) const {
    return {measurement, challenge, false, {ca.ca().certificate()}};
  }
};

TEST_F(NodeAttestTpmTest, TpmQuoteVerifiesOverHttpAndMismatchesAreRefused) {
  auto a =
      NodeAttestor::create_tpm2(genesis.chain_id, {validator, "validator"}, measurement, config);
  ASSERT_TRUE(a) << a.status().to_string();
  serve(std::move(a).value());
  EXPECT_TRUE(std::filesystem::exists(config.signing_key_path));

  Bytes challenge = random_challenge();
  json doc = fetch(challenge);
  EXPECT_EQ(doc["platform"], "tpm2");
  EXPECT_EQ(doc["insecure"], false);
  auto v = verify_attestation(doc, options(challenge));
  ASSERT_TRUE(v.is_ok()) << v.status().to_string();
  EXPECT_EQ(v->platform, attest::Platform::kTpm2);
  EXPECT_FALSE(v->insecure);
  EXPECT_EQ(v->node_key, validator.public_key());

  // Another executable: refused before the quote, and by the quote itself if the
  // node's claim is rewritten (the PCR holds the real measurement).
  VerifyOptions other = options(challenge);
  other.measurement = sha256("gridpact 0.0.9");
  EXPECT_EQ(verify_code(doc, other), kMeasurementMismatch);
  json lie = doc;
  lie["measurement"] = other.measurement.hex();
  EXPECT_EQ(verify_code(lie, other), attest::kNonceMismatch);

  // A replay for another challenge.
  Bytes fresh = random_challenge();
  EXPECT_EQ(verify_code(doc, options(fresh)), kStaleChallenge);
  json relabelled = doc;
  relabelled["challenge"] = to_hex(fresh);
  EXPECT_EQ(verify_code(relabelled, options(fresh)), attest::kNonceMismatch);

  // An AK CA the verifier does not trust.
  VerifyOptions untrusted = options(challenge);
  untrusted.trusted_roots = {attest::CertificateAuthority::create_root("Other CA").certificate()};
  EXPECT_EQ(verify_code(doc, untrusted), attest::kUntrustedCa);

  // A corrupted quote signature.
  auto ev = attest::decode_evidence(from_hex(doc["evidence"].get<std::string>()).value()).value();
  ev.tpm2.quote_signature.bytes[5] ^= 1;
  json bad = doc;
  bad["evidence"] = to_hex(attest::encode_evidence(ev));
  EXPECT_EQ(verify_code(bad, options(challenge)), attest::kBadQuoteSignature);

  // A quote made for another node key, presented under this one.
  json other_key = doc;
  other_key["node_key"] = KeyPair::generate().public_key().hex();
  EXPECT_EQ(verify_code(other_key, options(challenge)), attest::kNonceMismatch);

  // A second attestor on the same TPM reuses the stored signing key.
  auto before = attest::load_key_blob(config.signing_key_path).value();
  auto again =
      NodeAttestor::create_tpm2(genesis.chain_id, {validator, "validator"}, measurement, config);
  ASSERT_TRUE(again) << again.status().to_string();
  EXPECT_EQ(attest::load_key_blob(config.signing_key_path).value().public_area, before.public_area);
}

TEST_F(NodeAttestTpmTest, MissingAkIsAnError) {
  config.ak_blob_path = dir.str() + "/nothing.blob";
  auto a =
      NodeAttestor::create_tpm2(genesis.chain_id, {validator, "validator"}, measurement, config);
  EXPECT_FALSE(a.is_ok());
}

}  // namespace
}  // namespace gridpact::node_attest
