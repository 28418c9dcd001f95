// gridpact verify-node: asks a node for its attestation with a fresh challenge and checks
// it (node_attest/node_attest.hpp). Also the node-side helper that cmd_node.cpp calls.
#include <sodium.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "app.hpp"
#include "attest/enrol.hpp"
#include "attest/tpm2_device.hpp"
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
  auto roots = read_certificates(a.trusted_roots);
  if (!roots) return fail(roots.status());
  o.trusted_roots = std::move(roots).value();

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

Result<std::string> read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return error(Code::kNotFound, "cannot read " + path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

Status write_file(const std::string& path, std::string_view data, bool secret = false) {
  mode_t old = umask(secret ? 077 : 022);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  umask(old);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  return out ? Status::ok() : error(Code::kStorage, "cannot write " + path);
}

struct EnrolArgs {
  std::string tpm;
  std::string ek_roots;
  std::string ek_chain;
  std::string ca_cert;
  std::string ca_key;
  std::string out_ak;
  std::string out_cert;
};

// The whole enrolment protocol of attest/enrol.hpp in one process: the CA side (EK
// certificate check, MakeCredential, AK certificate) and the device side (AK creation,
// ActivateCredential). For development and tests; in production the CA runs elsewhere.
int enrol_node(const EnrolArgs& a) {
  node_attest::register_node_attest_codes();  // and the attest codes
  Result<attest::CertificateAuthority> ca = error(Code::kNotFound, "no CA");
  bool created = false;
  if (std::filesystem::exists(a.ca_cert)) {
    auto cert = read_text(a.ca_cert);
    auto key = read_text(a.ca_key);
    if (!cert) return fail(cert.status());
    if (!key) return fail(key.status());
    ca = attest::CertificateAuthority::load(*cert, *key);
    if (!ca) return fail(ca.status());
  } else {
    ca = attest::CertificateAuthority::create_root("GridPact node AK CA (development)");
    if (Status s = write_file(a.ca_key, ca->private_key_pem(), true); !s) return fail(s);
    if (Status s = write_file(a.ca_cert, ca->certificate_pem()); !s) return fail(s);
    created = true;
  }
  auto roots_pem = read_text(a.ek_roots);
  if (!roots_pem) return fail(roots_pem.status());
  auto roots = attest::parse_certificates(*roots_pem);
  if (!roots) return fail(roots.status());
  attest::EnrolmentCa enrolment(*ca, *roots);

  auto tpm = attest::Tpm2Device::open(node_attest::tcti_string(a.tpm));
  if (!tpm) return fail(tpm.status());
  auto ak = (*tpm)->create_ak();
  if (!ak) return fail(ak.status());
  attest::EnrolmentRequest req;
  auto ek_public = (*tpm)->ek_public();
  auto ek_cert = (*tpm)->read_ek_certificate();
  auto ak_public = attest::blob_tpmt_public(*ak);
  if (!ek_public) return fail(ek_public.status());
  if (!ek_cert) return fail(ek_cert.status());
  if (!ak_public) return fail(ak_public.status());
  req.ek_public = *ek_public;
  req.ek_cert_chain = {*ek_cert};
  if (!a.ek_chain.empty()) {
    auto chain_pem = read_text(a.ek_chain);
    if (!chain_pem) return fail(chain_pem.status());
    auto chain = attest::parse_certificates(*chain_pem);
    if (!chain) return fail(chain.status());
    req.ek_cert_chain.insert(req.ek_cert_chain.end(), chain->begin(), chain->end());
  }
  req.ak_public = *ak_public;
  auto challenge = enrolment.challenge(req);
  if (!challenge) return fail(challenge.status());
  auto secret = (*tpm)->activate_credential(*ak, challenge->credential.id_object,
                                            challenge->credential.encrypted_secret);
  if (!secret) return fail(secret.status());
  auto cert = enrolment.complete(challenge->pending, *secret, "gridpact node AK");
  if (!cert) return fail(cert.status());
  if (Status s = attest::save_key_blob(a.out_ak, *ak); !s) return fail(s);
  if (Status s = write_file(
          a.out_cert, std::string_view(reinterpret_cast<const char*>(cert->data()), cert->size()));
      !s)
    return fail(s);
  print_json({{"ak", a.out_ak},
              {"ak_certificate", a.out_cert},
              {"ca_certificate", a.ca_cert},
              {"ca_created", created},
              {"ak_point",
               to_hex(attest::blob_p256_point(*ak).value().bytes.data(), attest::kP256PointSize)}});
  return 0;
}

}  // namespace

void add_attest_commands(CLI::App& app) {
  auto e = std::make_shared<EnrolArgs>();
  auto* enrol = app.add_subcommand(
      "attest-enrol",
      "Enrol a TPM attestation key for `node --attest-tpm` (development: the CA runs here)");
  enrol->add_option("--tpm", e->tpm, "TPM: tcp:HOST:PORT of an swtpm, or a TCTI")->required();
  enrol->add_option("--ek-roots", e->ek_roots, "PEM roots of trusted TPM manufacturers")
      ->required();
  enrol->add_option("--ek-chain", e->ek_chain, "PEM intermediates of the EK certificate");
  enrol->add_option("--ca-cert", e->ca_cert, "AK CA certificate (PEM); created if missing")
      ->required();
  enrol->add_option("--ca-key", e->ca_key, "AK CA private key (PEM, 0600); created if missing")
      ->required();
  enrol->add_option("--out-ak", e->out_ak, "Write the AK key blob here")->required();
  enrol->add_option("--out-cert", e->out_cert, "Write the AK certificate (DER) here")->required();
  enrol->callback([e] { finish(enrol_node(*e)); });

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

Result<std::vector<Bytes>> read_certificates(const std::vector<std::string>& paths) {
  std::vector<Bytes> out;
  for (const auto& path : paths) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return error(Code::kNotFound, "cannot read " + path);
    std::stringstream s;
    s << in.rdbuf();
    auto certs = attest::parse_certificates(s.str());
    if (!certs) return certs.status();
    out.insert(out.end(), certs->begin(), certs->end());
  }
  return out;
}

std::function<Status(const std::string&, const PublicKey&)> leader_attestation(
    std::string chain_id, Hash32 measurement, bool allow_virtual, std::vector<Bytes> roots) {
  node_attest::register_node_attest_codes();
  return [chain_id = std::move(chain_id), measurement, allow_virtual, roots = std::move(roots)](
             const std::string& url, const PublicKey& leader) -> Status {
    node_attest::VerifyOptions o;
    o.measurement = measurement;
    o.allow_virtual = allow_virtual;
    o.trusted_roots = roots;
    o.challenge.resize(32);
    randombytes_buf(o.challenge.data(), o.challenge.size());
    if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0)
      return error(node_attest::kBadAttestationResponse, "the leader publishes no API URL");
    ApiClient client(url, std::chrono::seconds(5));
    auto doc = client.get("/v1/attestation?challenge=" + to_hex(o.challenge));
    if (!doc) return doc.status();
    auto verdict = node_attest::verify_attestation(*doc, o);
    if (!verdict) return verdict.status();
    if (verdict->node_key != leader)
      return error(node_attest::kNodeKeyMismatch,
                   "the node at " + url + " is " + verdict->node_key.hex() + ", not the leader");
    if (verdict->chain_id != chain_id)
      return error(node_attest::kBadAttestationResponse,
                   "the node at " + url + " runs chain " + verdict->chain_id);
    return Status::ok();
  };
}

}  // namespace gridpact::cli
