#include "sim/tpm_meters.hpp"

#include <future>

#include "attest/x509.hpp"

namespace gridpact::sim {

Result<std::unique_ptr<TpmMeters>> TpmMeters::start(uint32_t count, int64_t valid_from_s) {
  std::unique_ptr<TpmMeters> t(new TpmMeters);
  t->measurement_ = sha256("gridpact simulate: meter firmware sim-1");
  // In this thread, one after another: an swtpm stops with the thread that started it
  // (swtpm_process.hpp), and this one runs the simulation.
  for (uint32_t k = 0; k < count; ++k) {
    auto s = attest::SwtpmProcess::start();
    if (!s) return s.status();  // those started already stop with `t`
    t->swtpms_.push_back(std::move(s).value());
  }
  Status first_error = Status::ok();

  // The EK certificates chain to each swtpm's own local CA: the enrolment CA trusts those.
  std::vector<Bytes> ek_roots;
  std::vector<std::vector<Bytes>> ek_issuers;
  for (const auto& s : t->swtpms_) {
    auto root = attest::read_text_file(s->ek_root_pem_path());
    if (!root) return root.status();
    auto roots = attest::parse_certificates(*root);
    if (!roots) return roots.status();
    ek_roots.insert(ek_roots.end(), roots->begin(), roots->end());
    auto issuer = attest::read_text_file(s->ek_issuer_pem_path());
    if (!issuer) return issuer.status();
    auto issuers = attest::parse_certificates(*issuer);
    if (!issuers) return issuers.status();
    ek_issuers.push_back(std::move(issuers).value());
  }
  const attest::EnrolmentCa ca(
      attest::CertificateAuthority::create_root("GridPact simulator AK CA", 3650, valid_from_s),
      ek_roots);
  t->root_pem_ = ca.ca().certificate_pem();

  std::vector<std::future<Result<std::unique_ptr<meteragent::Platform>>>> provisioning;
  for (size_t k = 0; k < t->swtpms_.size(); ++k)
    provisioning.push_back(std::async(std::launch::async, [&, k] {
      meteragent::ProvisionOptions o;
      o.tcti = t->swtpms_[k]->tcti();
      o.state_dir = t->swtpms_[k]->dir() + "/meter";
      o.firmware_measurement = t->measurement_;
      o.ek_intermediates = ek_issuers[k];
      auto id = meteragent::provision_tpm2(o, ca);
      if (!id) return Result<std::unique_ptr<meteragent::Platform>>(id.status());
      return meteragent::tpm2_platform(o.tcti, o.state_dir);
    }));
  for (auto& f : provisioning) {
    auto p = f.get();
    if (p)
      t->meters_.push_back(std::move(p).value());
    else if (first_error)
      first_error = p.status();
  }
  if (!first_error) return first_error;
  return t;
}

TpmMeters::~TpmMeters() {
  meters_.clear();
  swtpms_.clear();
}

}  // namespace gridpact::sim
