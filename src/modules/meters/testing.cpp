#include "modules/meters/testing.hpp"

#include "attest/virtual_platform.hpp"

namespace gridpact::meters {

RegisterPayload virtual_registration(const KeyPair& meter, const PublicKey& owner,
                                     std::string_view chain_id, RegisterPayload p) {
  p.evidence.clear();
  Bytes key(meter.public_key().bytes.begin(), meter.public_key().bytes.end());
  auto nonce = attest::attestation_nonce(chain_id, key, registration_challenge(owner, p));
  p.evidence = attest::encode_evidence(attest::make_virtual_evidence(meter, nonce));
  return p;
}

Reading virtual_reading(const KeyPair& meter, std::string_view chain_id, uint64_t period,
                        uint64_t seq, uint64_t import_wh, uint64_t export_wh) {
  Reading r{virtual_meter_id(meter), period, seq, import_wh, export_wh, {}};
  sign_virtual(r, chain_id, meter);
  return r;
}

}  // namespace gridpact::meters
