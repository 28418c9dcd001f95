// bench_attest: verification cost of attestation evidence and of meter reading signatures.
//   METRIC p256_verify_per_s      verify_p256() one-shot (parses the key each time)
//   METRIC p256_verify_cached_per_s  P256PublicKey parsed once, then verify()
//   METRIC tpm_quote_verify_ms    verify_evidence() on real swtpm evidence (omitted, with
//                                 exit 0, when swtpm is not installed)
#include <chrono>
#include <cstdio>

#include "attest/enrol.hpp"
#include "attest/p256.hpp"
#include "attest/swtpm_process.hpp"
#include "attest/tpm2_device.hpp"
#include "attest/verifier.hpp"

using namespace gridpact;
using namespace gridpact::attest;
using Clock = std::chrono::steady_clock;

namespace {

template <typename F>
double per_second(F&& f, double min_seconds = 1.0) {
  size_t n = 0;
  auto start = Clock::now();
  double elapsed = 0;
  do {
    for (int i = 0; i < 100; ++i) f();
    n += 100;
    elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  } while (elapsed < min_seconds);
  return static_cast<double>(n) / elapsed;
}

int bench_tpm() {
  if (!SwtpmProcess::available()) return 0;
  auto swtpm = SwtpmProcess::start();
  if (!swtpm) return 0;
  auto tpm = Tpm2Device::open((*swtpm)->tcti());
  if (!tpm) return 1;
  Tpm2Device& dev = **tpm;
  auto ek_roots = parse_certificates(read_text_file((*swtpm)->ek_root_pem_path()).value()).value();
  auto ek_inter =
      parse_certificates(read_text_file((*swtpm)->ek_issuer_pem_path()).value()).value();
  EnrolmentCa ca(CertificateAuthority::create_root("bench AK CA"), ek_roots);
  Tpm2KeyBlob ak = dev.create_ak().value();
  EnrolmentRequest req;
  req.ek_public = dev.ek_public().value();
  req.ek_cert_chain = {dev.read_ek_certificate().value()};
  req.ek_cert_chain.insert(req.ek_cert_chain.end(), ek_inter.begin(), ek_inter.end());
  req.ak_public = blob_tpmt_public(ak).value();
  auto ch = ca.challenge(req).value();
  Bytes secret =
      dev.activate_credential(ak, ch.credential.id_object, ch.credential.encrypted_secret).value();
  Bytes ak_cert = ca.complete(ch.pending, secret, "bench AK").value();
  Hash32 firmware = sha256("bench firmware");
  if (!dev.extend_pcr(16, firmware)) return 1;
  Tpm2KeyBlob key = dev.create_signing_key().value();
  P256Point point = blob_p256_point(key).value();
  Hash32 nonce = attestation_nonce("bench", Bytes(point.bytes.begin(), point.bytes.end()));
  Evidence e = make_tpm2_evidence(dev, ak, {ak_cert}, key, nonce).value();
  Bytes wire = encode_evidence(e);
  Policy policy;
  policy.trusted_roots = {ca.ca().certificate()};
  policy.allowed_measurements = {firmware};
  if (!verify_evidence(wire, nonce, policy)) return 1;
  double rate = per_second([&] {
    if (!verify_evidence(wire, nonce, policy)) std::abort();
  });
  std::printf("METRIC tpm_quote_verify_ms %.3f ms\n", 1000.0 / rate);
  return 0;
}

}  // namespace

int main() {
  P256KeyPair k = P256KeyPair::generate();
  Bytes reading = to_bytes("meter 42 period 2026-11-25T08:45Z import 1234567 export 89 Wh");
  P256Signature sig = k.sign(reading);
  double one_shot = per_second([&] {
    if (!verify_p256(k.public_point(), reading, sig)) std::abort();
  });
  std::printf("METRIC p256_verify_per_s %.0f ops/s\n", one_shot);
  P256PublicKey parsed = *P256PublicKey::parse(k.public_point());
  double cached = per_second([&] {
    if (!parsed.verify(reading, sig)) std::abort();
  });
  std::printf("METRIC p256_verify_cached_per_s %.0f ops/s\n", cached);
  std::fflush(stdout);
  return bench_tpm();
}
