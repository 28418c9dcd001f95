#include "attest/codes.hpp"

#include <mutex>

namespace gridpact::attest {

void register_attest_codes() {
  static std::once_flag once;
  std::call_once(once, [] {
    register_code_name(1000, "MALFORMED_EVIDENCE");
    register_code_name(1001, "VIRTUAL_NOT_ALLOWED");
    register_code_name(1002, "BAD_QUOTE_SIGNATURE");
    register_code_name(1003, "ATTEST_NONCE_MISMATCH");
    register_code_name(1004, "PCR_MISMATCH");
    register_code_name(1005, "MEASUREMENT_NOT_ALLOWED");
    register_code_name(1006, "UNTRUSTED_CA");
    register_code_name(1007, "KEY_NOT_CERTIFIED");
    register_code_name(1008, "TPM_ERROR");
    register_code_name(1009, "ENROLMENT_REJECTED");
    register_code_name(1010, "BAD_ATTEST_POLICY");
    register_code_name(1011, "RESETTABLE_PCR");
  });
}

}  // namespace gridpact::attest
