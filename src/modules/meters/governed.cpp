// The meters module's governed actions: the attestation policy changed by a governance
// proposal (src/modules/governance) instead of a single authority key.
#include "attest/codes.hpp"
#include "attest/x509.hpp"
#include "modules/meters/meters.hpp"

namespace gridpact::meters {
namespace {

// Refused when proposed, not only when executed: exactly one certificate.
Status check_add_root(const StateReader&, const RootAction& a) {
  auto certs = attest::parse_certificates(
      std::string_view(reinterpret_cast<const char*>(a.der.data()), a.der.size()));
  if (!certs || certs->size() != 1)
    return error(attest::kBadPolicy, "add_root needs exactly one certificate (DER or PEM)");
  return ok();
}

Bytes bytes_of(const Hash32& h) {
  return Bytes(h.bytes.begin(), h.bytes.end());
}

}  // namespace

void MetersModule::declare_governed_actions() {
  governed("meters/add_root", &MetersModule::apply_add_root, {.check = check_add_root});
  governed("meters/remove_root", &MetersModule::apply_remove_root);
  governed("meters/add_measurement", &MetersModule::apply_add_measurement);
  governed("meters/remove_measurement", &MetersModule::apply_remove_measurement);
}

Status MetersModule::apply_add_root(GovernedContext& ctx, const RootAction& a) {
  return change_policy(ctx.state, ctx.events, {PolicyOp::kAddRoot, a.der});
}
Status MetersModule::apply_remove_root(GovernedContext& ctx, const RootHashAction& a) {
  return change_policy(ctx.state, ctx.events, {PolicyOp::kRemoveRoot, bytes_of(a.root)});
}
Status MetersModule::apply_add_measurement(GovernedContext& ctx, const MeasurementAction& a) {
  return change_policy(ctx.state, ctx.events, {PolicyOp::kAddMeasurement, bytes_of(a.measurement)});
}
Status MetersModule::apply_remove_measurement(GovernedContext& ctx, const MeasurementAction& a) {
  return change_policy(ctx.state, ctx.events,
                       {PolicyOp::kRemoveMeasurement, bytes_of(a.measurement)});
}

}  // namespace gridpact::meters
