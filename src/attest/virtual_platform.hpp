// The `virtual` platform: no hardware, for development and simulation. Its evidence is
// the Ed25519 key and a self-signature over the nonce -- proof of possession, nothing
// about where the key lives. It is always reported as INSECURE and accepted only by a
// Policy with allow_virtual.
#pragma once

#include "attest/evidence.hpp"

namespace gridpact::attest {

// "INSECURE virtual" evidence for `key` over `nonce` (see attestation_nonce()).
Evidence make_virtual_evidence(const KeyPair& key, const Hash32& nonce);

}  // namespace gridpact::attest
