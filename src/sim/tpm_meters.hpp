// The TPM meters of `gridpact simulate --tpm N` (run.hpp): N prosumers' connection meters
// are tpm2 meters instead of virtual ones, each on its own swtpm on loopback (a TPM
// connection serves one client at a time, so meters do not share one). Each is provisioned
// as a real meter is (meteragent::provision_tpm2): its AK enrolled with an enrolment CA
// made for the run (credential activation against the swtpm's EK certificate), the firmware
// measurement extended into PCR 16, a P-256 signing key created in the TPM. The run's
// genesis trusts that CA's root and allows the measurement; since swtpm's PCR 16 is
// resettable, the chain is a development one (it is anyway: its other meters are virtual).
//
// Not reproducible by construction: the TPM keys, hence the meters' ids, and the ECDSA
// signatures are new on every run (run.hpp says what stays equal).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "attest/swtpm_process.hpp"
#include "meteragent/agent.hpp"

namespace gridpact::sim {

class TpmMeters {
 public:
  // Starts `count` swtpm instances, then provisions one meter in each (in parallel). The CA's
  // certificates are valid from `valid_from_s` (unix seconds: before the simulated
  // chain's first block) for ten years. SWTPM_NOT_INSTALLED without swtpm.
  static Result<std::unique_ptr<TpmMeters>> start(uint32_t count, int64_t valid_from_s);
  // Closes the TPM connections, then stops each swtpm and removes its directory.
  ~TpmMeters();

  size_t size() const { return meters_.size(); }
  // Not thread-safe: one caller at a time per meter (different meters may run in parallel).
  meteragent::Platform& meter(size_t k) { return *meters_[k]; }
  // For the genesis' [meters] trusted_roots and allowed_measurements.
  std::string trusted_root_pem() const { return root_pem_; }
  const Hash32& firmware_measurement() const { return measurement_; }

 private:
  TpmMeters() = default;
  // Declared first, destroyed last: the meters' connections close before their swtpm stops.
  std::vector<std::unique_ptr<attest::SwtpmProcess>> swtpms_;
  std::vector<std::unique_ptr<meteragent::Platform>> meters_;
  std::string root_pem_;
  Hash32 measurement_;
};

}  // namespace gridpact::sim
