#include "attest/verifier.hpp"

#include <openssl/crypto.h>

#include "attest/codes.hpp"
#include "attest/p256.hpp"
#include "attest/tpm2_structs.hpp"
#include "attest/x509.hpp"

namespace gridpact::attest {
namespace {

bool same(const Bytes& a, const Hash32& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), b.size()) == 0;
}

Result<Verified> verify_virtual(const Evidence& e, const Hash32& nonce, const Policy& policy) {
  if (!policy.allow_virtual)
    return error(kVirtualNotAllowed, "INSECURE virtual platform evidence is not allowed");
  PublicKey key = PublicKey::from_span(e.signing_key.data());
  if (!verify(key, virtual_signing_message(nonce), e.virt.self_signature))
    return error(kBadQuoteSignature, "virtual self-signature does not verify");
  Verified v;
  v.platform = Platform::kVirtual;
  v.signing_key = e.signing_key;
  v.insecure = true;
  return v;
}

Result<Verified> verify_tpm2(const Evidence& e, const Hash32& nonce, const Policy& policy) {
  const Tpm2Evidence& t = e.tpm2;
  // 0. A PCR that software can reset proves nothing outside development.
  if (is_resettable_pcr(policy.firmware_pcr) && !policy.allow_resettable_pcrs)
    return error(kResettablePcr, "firmware PCR " + std::to_string(policy.firmware_pcr) +
                                     " is resettable; only development chains accept it");
  auto ak = P256PublicKey::parse(t.ak_public);
  if (!ak) return error(kMalformedEvidence, "AK public key is not a P-256 point");

  // 1. The AK is certified by a trusted enrolment CA.
  auto leaf_point = certificate_ec_point(t.ak_cert_chain.front());
  if (!leaf_point || *leaf_point != Bytes(t.ak_public.bytes.begin(), t.ak_public.bytes.end()))
    return error(kUntrustedCa, "AK certificate is not for the AK in the evidence");
  if (Status s =
          verify_chain(t.ak_cert_chain, policy.trusted_roots, policy.at_time, LeafUse::kSigning);
      !s)
    return s;

  // 2-3. A TPM-made quote over our nonce, signed by the AK.
  if (!ak->verify(t.quote, t.quote_signature))
    return error(kBadQuoteSignature, "quote signature does not verify under the AK");
  auto quote = parse_attest(t.quote);
  if (!quote) return quote.status();
  if (quote->type != kAttestQuote) return error(kMalformedEvidence, "attestation is not a quote");
  if (!same(quote->extra_data, nonce))
    return error(kNonceMismatch, "quote was made for another nonce");

  // 4. The PCR values in the evidence are the quoted ones.
  std::vector<uint8_t> indices;
  Sha256 digest;
  for (const PcrValue& p : t.pcrs) {
    indices.push_back(p.index);
    digest.update(p.value);
  }
  if (quote->other_banks_selected || quote->pcr_indices != indices)
    return error(kPcrMismatch, "quoted PCR selection differs from the evidence");
  if (!same(quote->pcr_digest, digest.finish()))
    return error(kPcrMismatch, "quoted PCR digest differs from the PCR values");

  // 5. The firmware PCR holds an allowed measurement.
  std::optional<Hash32> matched;
  for (const PcrValue& p : t.pcrs) {
    if (p.index != policy.firmware_pcr) continue;
    for (const Hash32& m : policy.allowed_measurements)
      if (firmware_pcr_value(m) == p.value) matched = m;
  }
  if (!matched)
    return error(kMeasurementNotAllowed,
                 "PCR " + std::to_string(policy.firmware_pcr) +
                     " is missing or not the extension of an allowed measurement");

  // 6. The signing key lives in the same TPM as the AK.
  if (!ak->verify(t.certify_info, t.certify_signature))
    return error(kKeyNotCertified, "certify signature does not verify under the AK");
  auto certify = parse_attest(t.certify_info);
  if (!certify) return certify.status();
  if (certify->type != kAttestCertify)
    return error(kMalformedEvidence, "certify info is not a TPM2_Certify");
  if (!same(certify->extra_data, nonce))
    return error(kNonceMismatch, "certify info was made for another nonce");
  auto name = object_name(t.signing_public);
  if (!name) return error(kKeyNotCertified, "signing key public area: " + name.status().message);
  if (certify->certified_name != *name)
    return error(kKeyNotCertified, "certified object is not the signing key");
  auto pub = parse_public(t.signing_public);
  if (!pub || !is_tpm_p256_signing_key(*pub, /*restricted=*/false))
    return error(kKeyNotCertified, "signing key is not a TPM-generated sign-only P-256 key");
  if (pub->point != e.signing_key)
    return error(kKeyNotCertified, "certified key differs from the attested signing key");

  Verified v;
  v.platform = Platform::kTpm2;
  v.signing_key = e.signing_key;
  v.measurement = matched;
  v.insecure = false;
  return v;
}

}  // namespace

Status Policy::add_trusted_roots(std::string_view pem_or_der) {
  auto certs = parse_certificates(pem_or_der);
  if (!certs) return certs.status();
  for (Bytes& c : certs.value()) trusted_roots.push_back(std::move(c));
  return Status::ok();
}

Hash32 firmware_pcr_value(const Hash32& measurement) {
  return Sha256().update(Hash32{}).update(measurement).finish();
}

Result<Verified> verify_evidence(const Evidence& e, const Hash32& nonce, const Policy& policy) {
  register_attest_codes();
  if (e.version != kEvidenceVersion)
    return error(kMalformedEvidence, "evidence version " + std::to_string(e.version));
  switch (e.platform) {
    case Platform::kVirtual:
      if (e.signing_key.size() != PublicKey::kSize)
        return error(kMalformedEvidence, "virtual signing key must be 32 bytes");
      return verify_virtual(e, nonce, policy);
    case Platform::kTpm2:
      if (e.signing_key.size() != kP256PointSize || e.tpm2.ak_cert_chain.empty())
        return error(kMalformedEvidence, "tpm2 evidence lacks a P-256 key or AK certificate");
      return verify_tpm2(e, nonce, policy);
  }
  return error(kMalformedEvidence, "unknown platform");
}

Result<Verified> verify_evidence(const Bytes& encoded, const Hash32& nonce, const Policy& policy) {
  auto e = decode_evidence(encoded);
  if (!e) return error(kMalformedEvidence, e.status().to_string());
  return verify_evidence(*e, nonce, policy);
}

Result<Verified> verify_evidence_for_chain(const Evidence& e, std::string_view chain_id,
                                           const Bytes& challenge, const Policy& policy) {
  return verify_evidence(e, attestation_nonce(chain_id, e.signing_key, challenge), policy);
}

}  // namespace gridpact::attest
