// The meters module's handlers: registration with attestation evidence, revocation,
// signed readings and the attestation policy.
#include <algorithm>

#include "attest/codes.hpp"
#include "attest/x509.hpp"
#include "modules/meters/records.hpp"

namespace gridpact::meters {

Status MetersModule::deliver_register(TxContext& ctx, const RegisterPayload& p) {
  auto ev = attest::decode_evidence(p.evidence);
  if (!ev) return error(attest::kMalformedEvidence, "evidence: " + ev.status().to_string());
  auto pol = policy(ctx.state, static_cast<int64_t>(ctx.block.time_ms / 1000));
  auto verified = attest::verify_evidence_for_chain(*ev, ctx.block.chain_id,
                                                    registration_challenge(ctx.tx.sender, p), pol);
  if (!verified) return verified.status();

  MeterInfo m;
  m.public_key = verified->signing_key;
  m.id = meter_id_of(m.public_key);
  if (ctx.state.get(meter_key(m.id)))
    return error(kMeterExists, "meter " + m.id.hex() + " is already registered");
  m.owner = ctx.tx.sender;
  m.microgrid = p.microgrid;
  m.source = p.source;
  m.platform = verified->platform;
  m.location = p.location;
  m.firmware_version = p.firmware_version;
  m.measurement = verified->measurement;
  m.insecure = verified->insecure;
  m.registered_height = ctx.block.height;
  m.registered_time_ms = ctx.block.time_ms;
  import_meter(ctx.state, m, p.initial_import_wh, p.initial_export_wh);
  // The trusted root the meter's AK chains to: its readings count only while that root
  // stays trusted (deliver_reading). A handful of roots: one chain check each.
  if (ev->platform == attest::Platform::kTpm2)
    for (const Bytes& root : pol.trusted_roots)
      if (attest::verify_chain(ev->tpm2.ak_cert_chain, {root}, pol.at_time,
                               attest::LeafUse::kSigning)) {
        ctx.state.put(std::string(kMeterRootPrefix) + std::string(m.id.view()),
                      std::string(sha256(root).view()));
        break;
      }
  ctx.events.push_back(
      make_event(RegisteredEvent{m.id, m.owner, m.microgrid, m.source, m.platform, m.insecure}));
  return ok();
}

Status MetersModule::deliver_revoke(TxContext& ctx, const RevokePayload& p) {
  auto m = find_meter(ctx.state, p.meter_id);
  if (!m) return error(kMeterNotFound, "no meter " + p.meter_id.hex());
  if (m->revoked) return error(kMeterRevoked, "meter " + m->id.hex() + " is already revoked");
  auto authority = params(ctx.state).authority;
  if (m->owner != ctx.tx.sender && authority != ctx.tx.sender)
    return error(kNotMeterOwner, "only the meter's owner or the meters authority may revoke it");
  m->revoked = true;
  Bytes rec = encode_record(*m);
  ctx.state.put(meter_key(m->id), std::string(rec.begin(), rec.end()));
  ctx.events.push_back(make_event(RevokedEvent{m->id, ctx.tx.sender}));
  return ok();
}

bool MetersModule::verify_reading_signature(const MeterInfo& m, const Hash32& digest,
                                            const Signature& sig) const {
  if (m.platform == attest::Platform::kVirtual) {
    if (m.public_key.size() != PublicKey::kSize) return false;
    return verify(PublicKey::from_span(m.public_key.data()), digest, sig);
  }
  if (m.public_key.size() != attest::kP256PointSize) return false;
  std::optional<attest::P256PublicKey> key;
  {
    std::lock_guard lock(cache_->mu);
    auto it = cache_->keys.find(m.id);
    if (it != cache_->keys.end()) key = it->second;
  }
  if (!key) {
    key = attest::P256PublicKey::parse(attest::P256Point::from_span(m.public_key.data()));
    if (!key) return false;
    std::lock_guard lock(cache_->mu);
    if (cache_->keys.size() >= 100'000) cache_->keys.clear();  // bounded memory
    cache_->keys.emplace(m.id, *key);
  }
  return key->verify_digest(digest, sig);
}

Status MetersModule::deliver_reading(TxContext& ctx, const Reading& r) {
  auto m = find_meter(ctx.state, r.meter_id);
  if (!m) return error(kMeterNotFound, "no meter " + r.meter_id.hex());
  if (m->revoked) return error(kMeterRevoked, "meter " + m->id.hex() + " is revoked");
  if (auto root = ctx.state.get(std::string(kMeterRootPrefix) + std::string(m->id.view()));
      root && !ctx.state.get(std::string(kRootPrefix) + *root))
    return error(kMeterRootRemoved, "meter " + m->id.hex() +
                                        " was registered under an enrolment root that is no "
                                        "longer trusted");
  // A virtual meter that sent its own reading signed it with the transaction (meters.hpp).
  const bool sent_by_meter =
      m->platform == attest::Platform::kVirtual && m->public_key.size() == PublicKey::kSize &&
      std::equal(m->public_key.begin(), m->public_key.end(), ctx.tx.sender.bytes.begin());
  if (!sent_by_meter &&
      !verify_reading_signature(*m, reading_digest(ctx.block.chain_id, r), r.signature))
    return error(kReadingBadSignature, "reading is not signed by meter " + m->id.hex());
  auto last = last_reading(ctx.state, m->id).value_or(LastReading{});
  if (r.seq <= last.seq)
    return error(kReadingReplayed, "sequence " + std::to_string(r.seq) +
                                       " is not after the last one, " + std::to_string(last.seq));
  if (ctx.state.get(reading_key(m->id, r.period)))
    return error(kDuplicateReading,
                 "period " + std::to_string(r.period) + " already has a reading");
  if (last.has_reading && r.period < last.period)
    return error(kPeriodOutOfOrder, "period " + std::to_string(r.period) +
                                        " is before the last reading's, " +
                                        std::to_string(last.period));
  // Registration is the meter's zero reading: its initial registers stand for the start of
  // the registration period, so a first reading can be attributed to that period only.
  // (Parameter meters.first_reading_from_registration, on by default: a client that starts
  // later first reports the quiet periods, next_contiguous_period(). A state without the
  // parameter is a chain from before it and keeps its rule.)
  const bool strict = ctx.state.get(param_key(kFirstReadingParam)) &&
                      read_bool_param(ctx.state, kFirstReadingParam);
  const PeriodSchedule schedule(ctx.state);
  const uint64_t registered = schedule.at(m->registered_time_ms);
  if (strict && !last.has_reading && r.period < registered)
    return error(kPeriodOutOfOrder, "period " + std::to_string(r.period) +
                                        " is before the meter's registration period, " +
                                        std::to_string(registered));
  if (r.period > schedule.at(ctx.block.time_ms))
    return error(kPeriodInFuture, "period " + std::to_string(r.period) + " has not started");
  if (r.import_wh < last.import_wh || r.export_wh < last.export_wh)
    return error(kRegisterBackwards,
                 "a register went backwards (import " + std::to_string(last.import_wh) + " -> " +
                     std::to_string(r.import_wh) + ", export " + std::to_string(last.export_wh) +
                     " -> " + std::to_string(r.export_wh) + ")");
  StoredReading st;
  st.period = r.period;
  st.seq = r.seq;
  st.import_wh = r.import_wh;
  st.export_wh = r.export_wh;
  st.import_delta_wh = r.import_wh - last.import_wh;
  st.export_delta_wh = r.export_wh - last.export_wh;
  // A first reading after the registration period covers every period since: like a reading
  // after a gap, it is attributed to none of them (else all energy since registration could
  // be put into one chosen period).
  st.contiguous =
      last.has_reading ? last.period + 1 == r.period : !strict || r.period == registered;
  ctx.state.put(reading_key(m->id, r.period), encode_stored(st));
  ctx.state.put(last_key(m->id), encode_last({r.seq, r.period, r.import_wh, r.export_wh, true}));
  ctx.events.push_back(
      make_event(ReadingEvent{m->id, st.period, st.seq, st.import_delta_wh, st.export_delta_wh}));
  return ok();
}

Status MetersModule::deliver_policy(TxContext& ctx, const PolicyPayload& p) {
  if (params(ctx.state).authority != ctx.tx.sender)
    return error(kNotMeterAuthority, "only the meters authority may change the policy");
  return change_policy(ctx.state, ctx.events, p);
}

Status change_policy(StateOverlay& state, std::vector<Event>& events, const PolicyPayload& p) {
  std::string what;
  switch (p.op) {
    case PolicyOp::kAddRoot: {
      auto certs = attest::parse_certificates(
          std::string_view(reinterpret_cast<const char*>(p.data.data()), p.data.size()));
      if (!certs || certs->size() != 1)
        return error(attest::kBadPolicy, "add-root needs exactly one DER certificate");
      const Bytes& der = certs->front();
      state.put(std::string(kRootPrefix) + std::string(sha256(der).view()),
                std::string(der.begin(), der.end()));
      what = "add-root " + sha256(der).hex();
      break;
    }
    case PolicyOp::kRemoveRoot:
    case PolicyOp::kAddMeasurement:
    case PolicyOp::kRemoveMeasurement: {
      if (p.data.size() != 32) return error(attest::kBadPolicy, "needs a 32-byte hash");
      auto h = Hash32::from_span(p.data.data());
      std::string key = std::string(p.op == PolicyOp::kRemoveRoot ? kRootPrefix : kMeasPrefix) +
                        std::string(h.view());
      bool present = state.get(key).has_value();
      if (p.op == PolicyOp::kAddMeasurement) {
        state.put(key, "");
        what = "add-measurement " + h.hex();
      } else {
        if (!present) return error(Code::kNotFound, "policy has no " + h.hex());
        state.erase(key);
        what = (p.op == PolicyOp::kRemoveRoot ? "remove-root " : "remove-measurement ") + h.hex();
      }
      break;
    }
  }
  events.push_back(make_event(PolicyEvent{what}));
  return ok();
}

}  // namespace gridpact::meters
