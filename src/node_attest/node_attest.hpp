// Node attestation: a node proves to a client which executable it runs and on what
// platform, bound to its identity key, so that an operator or a peer can decide to trust
// it. Uses src/attest (evidence, verifier, TPM device); the HTTP route plugs into
// api::Server through Server::extend, so the API stays generic.
//
//   GET /v1/attestation[?challenge=HEX]   (challenge: 0-64 bytes chosen by the client)
//
//   {"chain_id", "node_key" (Ed25519, hex), "node_key_source" ("validator" | "node"),
//    "measurement" (SHA-256 of the node's executable, /proc/self/exe, taken at start),
//    "challenge" (echoed), "nonce", "platform" ("virtual" | "tpm2"), "insecure" (bool),
//    "evidence" (attest::Evidence, hex), "node_signature" (hex)}
//
// Binding. nonce = attest::attestation_nonce(chain_id, node_key bytes,
// measurement || challenge), so the evidence names the chain, the node key, the
// executable and the client's fresh challenge at once:
//   virtual  the evidence is the node key's own self-signature over the nonce (proof of
//            possession only; reported "insecure": true);
//   tpm2     a TPM2_Quote over the firmware PCR (reset, then extended once with the
//            measurement at start) and a TPM2_Certify of a TPM-resident P-256 key, both
//            over the nonce, by an AK whose certificate chains to an enrolment CA.
// node_signature is Ed25519 by the node key over SHA-256("GRIDPACT/node-attest/v1" ||
// nonce): the node that answers holds the key the evidence names.
//
// Node identity: the validator key if the node has one, else DATA/keys/node.json (created
// on first start).
//
// Codes (1500-1599): 1500 BAD_CHALLENGE, 1501 MEASUREMENT_MISMATCH, 1502 STALE_CHALLENGE,
// 1503 NODE_KEY_MISMATCH, 1504 ATTESTATION_UNAVAILABLE, 1505 BAD_ATTESTATION_RESPONSE;
// evidence failures keep the attest codes (1000-1010: VIRTUAL_NOT_ALLOWED,
// BAD_QUOTE_SIGNATURE, UNTRUSTED_CA, MEASUREMENT_NOT_ALLOWED, ...).
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "attest/evidence.hpp"
#include "attest/tpm2_device.hpp"
#include "attest/verifier.hpp"
#include "ledger/module.hpp"

namespace gridpact::api {
class Server;
}

namespace gridpact::node_attest {

// Error codes: X(constant, number, name, meaning).
#define GRIDPACT_NODE_ATTEST_CODES(X)                                                           \
  X(kBadChallenge, 1500, "BAD_CHALLENGE", "the challenge is not hex or too long")               \
  X(kMeasurementMismatch, 1501, "MEASUREMENT_MISMATCH",                                         \
    "the node reports a measurement the verifier does not allow")                               \
  X(kStaleChallenge, 1502, "STALE_CHALLENGE", "the answer is for another challenge (a replay)") \
  X(kNodeKeyMismatch, 1503, "NODE_KEY_MISMATCH",                                                \
    "evidence or signature is not by the named node key")                                       \
  X(kAttestationUnavailable, 1504, "ATTESTATION_UNAVAILABLE",                                   \
    "the node cannot produce evidence now")                                                     \
  X(kBadAttestationResponse, 1505, "BAD_ATTESTATION_RESPONSE",                                  \
    "the answer is not a well-formed attestation document")
GRIDPACT_CODES(kNodeAttestCodes, "node_attest", 1500, GRIDPACT_NODE_ATTEST_CODES);

void register_node_attest_codes();

constexpr size_t kMaxChallenge = 64;

// SHA-256 of a file's bytes; of the running executable for measure_self().
Result<Hash32> measure_file(const std::string& path);
Result<Hash32> measure_self();

// attestation_nonce(chain_id, node_key, measurement || challenge).
Hash32 node_nonce(std::string_view chain_id, const PublicKey& node_key, const Hash32& measurement,
                  const Bytes& challenge);
// What node_signature signs.
Hash32 node_signing_message(const Hash32& nonce);

// The node key: the validator's if given, else DATA/keys/node.json (created if missing).
struct NodeIdentity {
  KeyPair key;
  std::string source;  // "validator" or "node"
};
Result<NodeIdentity> node_identity(const std::string& data_dir,
                                   const std::optional<KeyPair>& validator);

struct TpmConfig {
  // "tcp:HOST:PORT" (an swtpm command port), or any tpm2-tss TCTI string such as
  // "swtpm:host=127.0.0.1,port=2321" or "device:/dev/tpmrm0".
  std::string tcti;
  std::string ak_blob_path;      // attest::save_key_blob of an enrolled AK
  std::string ak_cert_path;      // its certificate chain, PEM or DER, leaf first
  std::string signing_key_path;  // TPM signing key blob; created on first use
  uint8_t pcr = attest::kDefaultFirmwarePcr;
};
// "tcp:HOST:PORT" -> "swtpm:host=HOST,port=PORT"; anything else unchanged.
std::string tcti_string(const std::string& spec);

class NodeAttestor {
 public:
  static std::unique_ptr<NodeAttestor> create_virtual(std::string chain_id, NodeIdentity id,
                                                      const Hash32& measurement);
  // Opens the TPM, loads the AK and its chain, loads or creates the signing key, and
  // resets and extends the firmware PCR with the measurement. TPM_ERROR or NOT_FOUND.
  static Result<std::unique_ptr<NodeAttestor>> create_tpm2(std::string chain_id, NodeIdentity id,
                                                           const Hash32& measurement,
                                                           const TpmConfig& config);
  ~NodeAttestor();

  // The attestation document for a client challenge (see the top of this file).
  Result<json> attest(const Bytes& challenge);
  // Adds GET /v1/attestation to the server (call before Server::start).
  void install(api::Server& server);

  const PublicKey& node_key() const { return id_.key.public_key(); }
  const Hash32& measurement() const { return measurement_; }

 private:
  NodeAttestor(std::string chain_id, NodeIdentity id, const Hash32& measurement);
  std::string chain_id_;
  NodeIdentity id_;
  Hash32 measurement_;
  // tpm2 only; the device executes one command at a time.
  std::mutex tpm_mutex_;
  std::unique_ptr<attest::Tpm2Device> tpm_;
  attest::Tpm2KeyBlob ak_, signing_key_;
  std::vector<Bytes> ak_chain_;
  uint8_t pcr_ = attest::kDefaultFirmwarePcr;
};

// Client side: checks an attestation document against what the verifier expects.
struct VerifyOptions {
  Hash32 measurement;                // the only executable the verifier accepts
  Bytes challenge;                   // what the verifier sent
  bool allow_virtual = false;        // accept INSECURE virtual evidence
  std::vector<Bytes> trusted_roots;  // DER roots of AK enrolment CAs (tpm2)
};
struct Verdict {
  std::string chain_id;
  PublicKey node_key;
  attest::Platform platform = attest::Platform::kVirtual;
  bool insecure = true;
};
// Order: shape (BAD_ATTESTATION_RESPONSE), challenge (STALE_CHALLENGE), measurement
// (MEASUREMENT_MISMATCH), evidence under a policy allowing only `measurement` (attest
// codes), node key binding (NODE_KEY_MISMATCH).
Result<Verdict> verify_attestation(const json& document, const VerifyOptions& options);

}  // namespace gridpact::node_attest
