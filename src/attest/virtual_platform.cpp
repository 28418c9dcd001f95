#include "attest/virtual_platform.hpp"

namespace gridpact::attest {

Evidence make_virtual_evidence(const KeyPair& key, const Hash32& nonce) {
  Evidence e;
  e.platform = Platform::kVirtual;
  e.signing_key.assign(key.public_key().bytes.begin(), key.public_key().bytes.end());
  e.virt.self_signature = key.sign(virtual_signing_message(nonce));
  return e;
}

}  // namespace gridpact::attest
