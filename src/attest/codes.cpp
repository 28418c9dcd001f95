#include "attest/codes.hpp"

#include <mutex>

namespace gridpact::attest {

void register_attest_codes() {
  register_codes(kAttestCodes);
}

}  // namespace gridpact::attest
