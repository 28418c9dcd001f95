#include "attest/evidence.hpp"

#include "attest/codes.hpp"
#include "codec/codec.hpp"

namespace gridpact::attest {
namespace {

constexpr std::string_view kNonceDomain = "GRIDPACT/attest/v1";
constexpr std::string_view kVirtualDomain = "GRIDPACT/attest/virtual/v1 INSECURE";

size_t signing_key_size(Platform p) {
  return p == Platform::kVirtual ? PublicKey::kSize : kP256PointSize;
}

Evidence read_evidence(codec::Reader& r) {
  Evidence e;
  e.version = r.u8();
  if (e.version != kEvidenceVersion)
    throw Error(Code::kUnknownVersion, "evidence version " + std::to_string(e.version));
  uint8_t platform = r.u8();
  if (platform != static_cast<uint8_t>(Platform::kVirtual) &&
      platform != static_cast<uint8_t>(Platform::kTpm2))
    throw Error(Code::kUnknownType, "platform kind " + std::to_string(platform));
  e.platform = static_cast<Platform>(platform);
  e.signing_key = r.bytes(kP256PointSize);
  if (e.signing_key.size() != signing_key_size(e.platform))
    throw Error(Code::kBadEncoding, "signing key has the wrong size for its platform");
  if (e.platform == Platform::kVirtual) {
    e.virt.self_signature = r.fixed<64>();
    return e;
  }
  Tpm2Evidence& t = e.tpm2;
  t.ak_public = r.fixed<kP256PointSize>();
  size_t n = r.count(kMaxCertChain);
  if (n == 0) throw Error(Code::kBadEncoding, "empty AK certificate chain");
  for (size_t i = 0; i < n; ++i) t.ak_cert_chain.push_back(r.bytes(kMaxCertSize));
  t.quote = r.bytes(kMaxAttestSize);
  t.quote_signature = r.fixed<64>();
  n = r.count(kNumPcrs);
  for (size_t i = 0; i < n; ++i) {
    PcrValue p;
    p.index = r.u8();
    if (p.index >= kNumPcrs || (i > 0 && p.index <= t.pcrs.back().index))
      throw Error(Code::kBadEncoding, "PCR indices must be < 24 and strictly increasing");
    p.value = r.fixed<32>();
    t.pcrs.push_back(p);
  }
  t.signing_public = r.bytes(kMaxTpmPublicSize);
  t.certify_info = r.bytes(kMaxAttestSize);
  t.certify_signature = r.fixed<64>();
  return e;
}

}  // namespace

Bytes encode_evidence(const Evidence& e) {
  codec::Writer w;
  w.u8(e.version).u8(static_cast<uint8_t>(e.platform)).bytes(e.signing_key, kP256PointSize);
  if (e.platform == Platform::kVirtual) {
    w.fixed(e.virt.self_signature);
    return w.take();
  }
  const Tpm2Evidence& t = e.tpm2;
  w.fixed(t.ak_public);
  w.count(t.ak_cert_chain.size(), kMaxCertChain);
  for (const Bytes& c : t.ak_cert_chain) w.bytes(c, kMaxCertSize);
  w.bytes(t.quote, kMaxAttestSize).fixed(t.quote_signature);
  w.count(t.pcrs.size(), kNumPcrs);
  for (const PcrValue& p : t.pcrs) w.u8(p.index).fixed(p.value);
  w.bytes(t.signing_public, kMaxTpmPublicSize)
      .bytes(t.certify_info, kMaxAttestSize)
      .fixed(t.certify_signature);
  return w.take();
}

Result<Evidence> decode_evidence(const uint8_t* data, size_t size) {
  register_attest_codes();
  return codec::decode<Evidence>(data, size, read_evidence);
}

Hash32 attestation_nonce(std::string_view chain_id, const Bytes& signing_key,
                         const Bytes& challenge) {
  codec::Writer w;
  w.raw(reinterpret_cast<const uint8_t*>(kNonceDomain.data()), kNonceDomain.size());
  w.u32(static_cast<uint32_t>(chain_id.size()))
      .raw(reinterpret_cast<const uint8_t*>(chain_id.data()), chain_id.size());
  w.u32(static_cast<uint32_t>(signing_key.size())).raw(signing_key.data(), signing_key.size());
  w.u32(static_cast<uint32_t>(challenge.size())).raw(challenge.data(), challenge.size());
  return sha256(w.data());
}

Hash32 virtual_signing_message(const Hash32& nonce) {
  return Sha256().update(kVirtualDomain).update(nonce).finish();
}

}  // namespace gridpact::attest
