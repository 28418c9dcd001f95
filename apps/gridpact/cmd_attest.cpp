// gridpact verify-node: asks a node for its attestation with a fresh challenge and checks
// it (node_attest/node_attest.hpp). Also the node-side helper that cmd_node.cpp calls.
#include <sodium.h>

#include <fstream>
#include <sstream>

#include "app.hpp"
#include "attest/x509.hpp"
#include "client.hpp"
#include "node_attest/node_attest.hpp"

namespace gridpact::cli {
namespace {

struct VerifyNodeArgs {
  std::string url;
  std::string measurement;
  bool allow_virtual = false;
  std::vector<std::string> trusted_roots;
  std::string challenge;
};

int verify_node(const VerifyNodeArgs& a) {
  node_attest::register_node_attest_codes();
  auto measurement = Hash32::from_hex(a.measurement);
  if (!measurement)
    return fail(error(Code::kInvalidArgument, "--measurement must be 64 hex digits (SHA-256)"));
  node_attest::VerifyOptions o;
  o.measurement = *measurement;
  o.allow_virtual = a.allow_virtual;
  if (a.challenge.empty()) {
    o.challenge.resize(32);
    randombytes_buf(o.challenge.data(), o.challenge.size());
  } else {
    auto c = from_hex(a.challenge);
    if (!c || c->size() > node_attest::kMaxChallenge)
      return fail(error(Code::kInvalidArgument, "--challenge must be at most 64 bytes of hex"));
    o.challenge = *c;
  }
  for (const auto& path : a.trusted_roots) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return fail(error(Code::kNotFound, "cannot read " + path));
    std::stringstream s;
    s << in.rdbuf();
    auto certs = attest::parse_certificates(s.str());
    if (!certs) return fail(certs.status());
    o.trusted_roots.insert(o.trusted_roots.end(), certs->begin(), certs->end());
  }

  ApiClient client(a.url);
  auto doc = client.get("/v1/attestation?challenge=" + to_hex(o.challenge));
  json verdict = {{"node", a.url},
                  {"expected_measurement", measurement->hex()},
                  {"challenge", to_hex(o.challenge)}};
  Result<node_attest::Verdict> v =
      doc ? node_attest::verify_attestation(*doc, o) : Result<node_attest::Verdict>(doc.status());
  if (doc) {
    verdict["reported_measurement"] = doc->value("measurement", "");
    verdict["platform"] = doc->value("platform", "");
  }
  if (!v) {
    const Status& s = v.status();
    verdict["verified"] = false;
    verdict["error"] = {
        {"code", static_cast<int>(s.code)}, {"name", code_name(s.code)}, {"message", s.message}};
    print_json(verdict);
    return 1;
  }
  verdict["verified"] = true;
  verdict["chain_id"] = v->chain_id;
  verdict["node_key"] = v->node_key.hex();
  verdict["insecure"] = v->insecure;
  if (v->insecure) verdict["label"] = "INSECURE: virtual platform, proves key possession only";
  print_json(verdict);
  return 0;
}

}  // namespace

void add_attest_commands(CLI::App& app) {
  auto a = std::make_shared<VerifyNodeArgs>();
  auto* cmd = app.add_subcommand(
      "verify-node", "Check a node's attestation: its executable's measurement, platform and key");
  cmd->add_option("url", a->url, "Node API URL, e.g. http://127.0.0.1:8080")->required();
  cmd->add_option("--measurement", a->measurement,
                  "SHA-256 of the only gridpact executable you accept (e.g. from sha256sum)")
      ->required();
  cmd->add_flag("--allow-virtual", a->allow_virtual,
                "Accept INSECURE virtual evidence (development nodes without a TPM)");
  cmd->add_option("--trusted-root", a->trusted_roots,
                  "PEM/DER root certificate of the AK enrolment CA (repeatable; tpm2)");
  cmd->add_option("--challenge", a->challenge, "Challenge hex (default: 32 fresh random bytes)");
  cmd->callback([a] { finish(verify_node(*a)); });
}

Result<std::unique_ptr<node_attest::NodeAttestor>> make_node_attestor(
    const std::string& data_dir, const std::string& chain_id,
    const std::optional<KeyPair>& validator, const NodeAttestArgs& args) {
  auto id = node_attest::node_identity(data_dir, validator);
  if (!id) return id.status();
  auto measurement = node_attest::measure_self();
  if (!measurement) return measurement.status();
  if (args.tpm.empty())
    return node_attest::NodeAttestor::create_virtual(chain_id, *id, *measurement);
  if (args.ak.empty() || args.ak_cert.empty())
    return error(Code::kInvalidArgument, "--attest-tpm needs --attest-ak and --attest-ak-cert");
  node_attest::TpmConfig config;
  config.tcti = args.tpm;
  config.ak_blob_path = args.ak;
  config.ak_cert_path = args.ak_cert;
  config.signing_key_path = data_dir + "/keys/node-tpm-key.blob";
  return node_attest::NodeAttestor::create_tpm2(chain_id, *id, *measurement, config);
}

}  // namespace gridpact::cli
