#include "node_attest/node_attest.hpp"

#include <openssl/evp.h>

#include <filesystem>
#include <fstream>

#include "api/server.hpp"
#include "api/views.hpp"
#include "attest/codes.hpp"
#include "attest/virtual_platform.hpp"
#include "attest/x509.hpp"
#include "node/genesis.hpp"
#include "node/key_file.hpp"

namespace gridpact::node_attest {

void register_node_attest_codes() {
  attest::register_attest_codes();
  register_codes(kNodeAttestCodes);
}

Result<Hash32> measure_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return error(Code::kNotFound, "cannot read " + path);
  // Streamed: an executable with debug information is tens of MiB, not worth holding.
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1)
    return error(Code::kStorage, "SHA-256 unavailable");
  std::vector<char> buffer(1 << 16);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    if (in.gcount() > 0 &&
        EVP_DigestUpdate(ctx.get(), buffer.data(), static_cast<size_t>(in.gcount())) != 1)
      return error(Code::kStorage, "SHA-256 failed");
  }
  if (in.bad()) return error(Code::kStorage, "error reading " + path);
  Hash32 out;
  unsigned int size = 0;
  if (EVP_DigestFinal_ex(ctx.get(), out.data(), &size) != 1 || size != out.size())
    return error(Code::kStorage, "SHA-256 failed");
  return out;
}

Result<Hash32> measure_self() {
  return measure_file("/proc/self/exe");
}

Hash32 node_nonce(std::string_view chain_id, const PublicKey& node_key, const Hash32& measurement,
                  const Bytes& challenge) {
  Bytes bound(measurement.bytes.begin(), measurement.bytes.end());
  bound.insert(bound.end(), challenge.begin(), challenge.end());
  return attest::attestation_nonce(chain_id, Bytes(node_key.bytes.begin(), node_key.bytes.end()),
                                   bound);
}

Hash32 node_signing_message(const Hash32& nonce) {
  return Sha256().update("GRIDPACT/node-attest/v1").update(nonce).finish();
}

Result<NodeIdentity> node_identity(const std::string& data_dir,
                                   const std::optional<KeyPair>& validator) {
  if (validator) return NodeIdentity{*validator, "validator"};
  std::string path = data_dir + "/keys/node.json";
  if (!std::filesystem::exists(path)) {
    std::error_code ec;
    std::filesystem::create_directories(data_dir + "/keys", ec);
    if (Status s = write_key_file(path, KeyPair::generate()); !s) return s;
  }
  auto key = read_key_file(path);
  if (!key) return key.status();
  return NodeIdentity{*key, "node"};
}

std::string tcti_string(const std::string& spec) {
  if (!spec.starts_with("tcp:")) return spec;
  auto colon = spec.rfind(':');
  if (colon <= 4) return spec;
  return "swtpm:host=" + spec.substr(4, colon - 4) + ",port=" + spec.substr(colon + 1);
}

NodeAttestor::NodeAttestor(std::string chain_id, NodeIdentity id, const Hash32& measurement)
    : chain_id_(std::move(chain_id)), id_(std::move(id)), measurement_(measurement) {
  register_node_attest_codes();
}

NodeAttestor::~NodeAttestor() = default;

std::unique_ptr<NodeAttestor> NodeAttestor::create_virtual(std::string chain_id, NodeIdentity id,
                                                           const Hash32& measurement) {
  return std::unique_ptr<NodeAttestor>(
      new NodeAttestor(std::move(chain_id), std::move(id), measurement));
}

Result<std::unique_ptr<NodeAttestor>> NodeAttestor::create_tpm2(std::string chain_id,
                                                                NodeIdentity id,
                                                                const Hash32& measurement,
                                                                const TpmConfig& config) {
  std::unique_ptr<NodeAttestor> a(
      new NodeAttestor(std::move(chain_id), std::move(id), measurement));
  auto tpm = attest::Tpm2Device::open(tcti_string(config.tcti));
  if (!tpm) return tpm.status();
  a->tpm_ = std::move(tpm).value();
  auto ak = attest::load_key_blob(config.ak_blob_path);
  if (!ak) return ak.status();
  a->ak_ = *ak;
  std::ifstream in(config.ak_cert_path, std::ios::binary);
  if (!in) return error(Code::kNotFound, "cannot read " + config.ak_cert_path);
  std::string certs((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto chain = attest::parse_certificates(certs);
  if (!chain) return chain.status();
  a->ak_chain_ = *chain;
  if (std::filesystem::exists(config.signing_key_path)) {
    auto key = attest::load_key_blob(config.signing_key_path);
    if (!key) return key.status();
    a->signing_key_ = *key;
  } else {
    auto key = a->tpm_->create_signing_key();
    if (!key) return key.status();
    if (Status s = attest::save_key_blob(config.signing_key_path, *key); !s) return s;
    a->signing_key_ = *key;
  }
  // The quote must show this PCR reset and extended exactly once, with this executable.
  a->pcr_ = config.pcr;
  if (Status s = a->tpm_->reset_pcr(a->pcr_); !s) return s;
  if (Status s = a->tpm_->extend_pcr(a->pcr_, measurement); !s) return s;
  return a;
}

Result<json> NodeAttestor::attest(const Bytes& challenge) {
  if (challenge.size() > kMaxChallenge)
    return error(kBadChallenge,
                 "challenge longer than " + std::to_string(kMaxChallenge) + " bytes");
  const PublicKey& key = id_.key.public_key();
  Hash32 nonce = node_nonce(chain_id_, key, measurement_, challenge);
  attest::Evidence evidence;
  if (tpm_) {
    std::lock_guard lock(tpm_mutex_);
    auto e = attest::make_tpm2_evidence(*tpm_, ak_, ak_chain_, signing_key_, nonce, {pcr_});
    if (!e) return error(kAttestationUnavailable, "TPM: " + e.status().to_string());
    evidence = std::move(e).value();
  } else {
    evidence = attest::make_virtual_evidence(id_.key, nonce);
  }
  return json{{"chain_id", chain_id_},
              {"node_key", key.hex()},
              {"node_key_source", id_.source},
              {"measurement", measurement_.hex()},
              {"challenge", to_hex(challenge)},
              {"nonce", nonce.hex()},
              {"platform", tpm_ ? "tpm2" : "virtual"},
              {"insecure", !tpm_},
              {"evidence", to_hex(attest::encode_evidence(evidence))},
              {"node_signature", id_.key.sign(node_signing_message(nonce)).hex()}};
}

void NodeAttestor::install(api::Server& server) {
  server.extend([this, &server](http::Router& router) {
    // A TPM quote takes the TPM's lock for a while: an expensive query (per-client limits).
    router.add("GET", "/v1/attestation", server.gated([this](http::Request& req) {
      auto challenge = from_hex(req.query_value("challenge").value_or(""));
      Result<json> doc = challenge ? attest(*challenge)
                                   : Result<json>(error(kBadChallenge, "challenge must be hex"));
      if (!doc) {
        const Status& s = doc.status();
        return http::Response::json_text(http::error_body(s),
                                         s.code == kAttestationUnavailable ? 503 : 400);
      }
      return http::Response::json_text(doc->dump());
    }));
  });
}

namespace {

Result<std::string> string_field(const json& j, const char* name) {
  if (!j.contains(name) || !j[name].is_string())
    return error(kBadAttestationResponse, std::string("missing field '") + name + "'");
  return j[name].get<std::string>();
}

}  // namespace

Result<Verdict> verify_attestation(const json& doc, const VerifyOptions& o) {
  register_node_attest_codes();
  if (!doc.is_object()) return error(kBadAttestationResponse, "answer is not a JSON object");
  auto chain_id = string_field(doc, "chain_id");
  auto key_hex = string_field(doc, "node_key");
  auto measurement_hex = string_field(doc, "measurement");
  auto challenge_hex = string_field(doc, "challenge");
  auto evidence_hex = string_field(doc, "evidence");
  auto signature_hex = string_field(doc, "node_signature");
  for (const auto* r :
       {&chain_id, &key_hex, &measurement_hex, &challenge_hex, &evidence_hex, &signature_hex})
    if (!*r) return r->status();
  auto key = PublicKey::from_hex(*key_hex);
  auto measurement = Hash32::from_hex(*measurement_hex);
  auto challenge = from_hex(*challenge_hex);
  auto evidence_bytes = from_hex(*evidence_hex);
  auto signature = Signature::from_hex(*signature_hex);
  if (!key || !measurement || !challenge || !evidence_bytes || !signature)
    return error(kBadAttestationResponse, "a field is not hex of the right size");

  if (*challenge != o.challenge)
    return error(kStaleChallenge, "answer is for challenge " + *challenge_hex + ", not ours");
  if (*measurement != o.measurement)
    return error(kMeasurementMismatch, "node runs executable " + measurement->hex() +
                                           ", expected " + o.measurement.hex());

  auto evidence = attest::decode_evidence(*evidence_bytes);
  if (!evidence) return error(attest::kMalformedEvidence, evidence.status().to_string());
  attest::Policy policy;
  policy.allow_virtual = o.allow_virtual;
  policy.allowed_measurements = {o.measurement};
  policy.trusted_roots = o.trusted_roots;
  // Our own challenge and the allowed measurement, never the node's word for them.
  Hash32 nonce = node_nonce(*chain_id, *key, o.measurement, o.challenge);
  auto verified = attest::verify_evidence(*evidence, nonce, policy);
  if (!verified) return verified.status();

  if (evidence->platform == attest::Platform::kVirtual &&
      evidence->signing_key != Bytes(key->bytes.begin(), key->bytes.end()))
    return error(kNodeKeyMismatch, "virtual evidence is by another key than the node key");
  if (!verify(*key, node_signing_message(nonce), *signature))
    return error(kNodeKeyMismatch, "node signature does not verify under the node key");
  return Verdict{*chain_id, *key, evidence->platform, verified->insecure};
}

}  // namespace gridpact::node_attest
