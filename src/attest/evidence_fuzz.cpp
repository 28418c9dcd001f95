// libFuzzer target for the evidence decoder (and, for what decodes, the verifier's TPM
// structure parsing). Invariants: no crash or sanitizer report on any input; decoding is
// canonical (what decodes re-encodes to the same bytes).
#include <algorithm>
#include <cstdlib>

#include "attest/evidence.hpp"
#include "attest/tpm2_structs.hpp"
#include "attest/verifier.hpp"

using namespace gridpact;
using namespace gridpact::attest;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto e = decode_evidence(data, size);
  if (!e) return 0;
  Bytes again = encode_evidence(*e);
  if (again.size() != size || !std::equal(again.begin(), again.end(), data)) std::abort();
  static const Policy policy = [] {
    Policy p;
    p.allow_virtual = true;
    p.allowed_measurements = {Hash32{}};
    return p;
  }();
  (void)verify_evidence(*e, Hash32{}, policy);
  // The verifier reaches these only after a valid AK chain; exercise them directly.
  if (e->platform == Platform::kTpm2) {
    (void)parse_attest(e->tpm2.quote);
    (void)parse_attest(e->tpm2.certify_info);
    (void)parse_public(e->tpm2.signing_public);
    (void)object_name(e->tpm2.signing_public);
  }
  return 0;
}
