#include "modules/meters/cli.hpp"

#include "attest/x509.hpp"

namespace gridpact::meters {
namespace {

struct Args {
  OpenSigner open;
  std::string meter;
  std::string microgrid;
  std::string source = "consumer";
  std::string location;
  std::string firmware_version;
  uint64_t initial_import = 0, initial_export = 0;
  uint64_t period = 0, seq = 0, import_wh = 0, export_wh = 0;
  std::string reading_hex;
  std::string add_root, remove_root, add_measurement, remove_measurement;
};

Result<Hash32> parse_hash(const std::string& hex, const char* what) {
  auto h = Hash32::from_hex(hex);
  if (!h) return error(Code::kInvalidArgument, std::string(what) + " must be 64 hex digits");
  return *h;
}

Result<cli::Payload> register_payload(const Args& a, const cli::TxContext& context) {
  auto signer = context.signer();
  if (!signer) return signer.status();
  auto platform = a.open();
  if (!platform) return platform.status();
  auto source = parse_source(a.source);
  if (!source) return error(Code::kInvalidArgument, "unknown --source " + a.source);
  auto chain = context.chain_id();
  if (!chain) return chain.status();
  RegisterPayload fields;
  fields.microgrid = a.microgrid;
  fields.source = *source;
  fields.location = a.location;
  fields.firmware_version = a.firmware_version;
  fields.initial_import_wh = a.initial_import;
  fields.initial_export_wh = a.initial_export;
  auto p = (*platform)->registration(*chain, *signer, fields);
  if (!p) return p.status();
  return cli::Payload{kRegister, encode(*p)};
}

Result<cli::Payload> reading_payload(const Args& a, const cli::TxContext& context) {
  if (!a.reading_hex.empty()) {
    auto b = from_hex(a.reading_hex);
    if (!b) return error(Code::kInvalidArgument, "--reading must be hex");
    return cli::Payload{kReading, *b};
  }
  auto platform = a.open();
  if (!platform) return platform.status();
  auto chain = context.chain_id();
  if (!chain) return chain.status();
  Reading r{(*platform)->meter_id(), a.period, a.seq, a.import_wh, a.export_wh, {}};
  if (!a.meter.empty()) {  // claim another meter's id: the node must refuse the signature
    auto id = parse_hash(a.meter, "--meter");
    if (!id) return id.status();
    r.meter_id = *id;
  }
  auto sig = (*platform)->sign(reading_digest(*chain, r));
  if (!sig) return sig.status();
  r.signature = *sig;
  return cli::Payload{kReading, encode(r)};
}

Result<cli::Payload> policy_payload(const Args& a, const cli::TxContext& context) {
  PolicyPayload p;
  int given = !a.add_root.empty() + !a.remove_root.empty() + !a.add_measurement.empty() +
              !a.remove_measurement.empty();
  if (given != 1)
    return error(Code::kInvalidArgument,
                 "give exactly one of --add-root, --remove-root, "
                 "--add-measurement, --remove-measurement");
  if (!a.add_root.empty()) {
    auto file = context.read_file(a.add_root);
    auto certs = file ? attest::parse_certificates(std::string(file->begin(), file->end()))
                      : Result<std::vector<Bytes>>(file.status());
    if (!certs || certs->size() != 1)
      return error(Code::kInvalidArgument, a.add_root + " must hold one certificate");
    p.op = PolicyOp::kAddRoot;
    p.data = certs->front();
  } else {
    const std::string& hex = !a.remove_root.empty()       ? a.remove_root
                             : !a.add_measurement.empty() ? a.add_measurement
                                                          : a.remove_measurement;
    auto h = parse_hash(hex, "the hash");
    if (!h) return h.status();
    p.op = !a.remove_root.empty()       ? PolicyOp::kRemoveRoot
           : !a.add_measurement.empty() ? PolicyOp::kAddMeasurement
                                        : PolicyOp::kRemoveMeasurement;
    p.data.assign(h->bytes.begin(), h->bytes.end());
  }
  return cli::Payload{kPolicy, encode(p)};
}

void add_tx_commands(cli::CommandHost& host, const MeterPlatforms& platforms) {
  auto r = std::make_shared<Args>();
  auto& reg = host.tx("meter-register",
                      "Register a meter with fresh attestation evidence (the signer owns it)",
                      [r](const cli::TxContext& c) { return register_payload(*r, c); });
  r->open = platforms(reg);
  reg.add_option("--microgrid", r->microgrid, "Microgrid name, [A-Za-z0-9._-]{1,64}")->required();
  reg.add_option("--source", r->source, "consumer, pv, wind, hydro, biomass, battery or grid");
  reg.add_option("--location", r->location, "Free text, <= 128 bytes");
  reg.add_option("--firmware-version", r->firmware_version, "Free text, <= 64 bytes");
  reg.add_option("--initial-import", r->initial_import, "Import register at installation, Wh");
  reg.add_option("--initial-export", r->initial_export, "Export register at installation, Wh");

  auto v = std::make_shared<Args>();
  auto& revoke = host.tx("meter-revoke", "Revoke a meter (owner or meters authority)",
                         [v]() -> Result<cli::Payload> {
                           auto id = parse_hash(v->meter, "--meter");
                           if (!id) return id.status();
                           return cli::Payload{kRevoke, encode(RevokePayload{*id})};
                         });
  revoke.add_option("--meter", v->meter, "Meter id (hex)")->required();

  auto g = std::make_shared<Args>();
  auto& reading = host.tx("reading",
                          "Relay a meter reading: signed here by the meter's platform, or "
                          "given pre-signed with --reading",
                          [g](const cli::TxContext& c) { return reading_payload(*g, c); });
  g->open = platforms(reading);
  reading.add_option("--period", g->period, "Settlement period index");
  reading.add_option("--seq", g->seq, "Sequence number (above the last committed one)");
  reading.add_option("--import", g->import_wh, "Cumulative import register (OBIS 1.8.0), Wh");
  reading.add_option("--export", g->export_wh, "Cumulative export register (OBIS 2.8.0), Wh");
  reading.add_option("--reading", g->reading_hex, "A signed, encoded reading (hex)");
  reading.add_option("--meter", g->meter,
                     "Put another meter's id in the reading (it will not verify; for tests)");

  auto p = std::make_shared<Args>();
  auto& pol = host.tx("meter-policy", "Change the attestation policy (meters authority)",
                      [p](const cli::TxContext& c) { return policy_payload(*p, c); });
  pol.add_option("--add-root", p->add_root, "PEM or DER file of an enrolment-CA root");
  pol.add_option("--remove-root", p->remove_root, "SHA-256 of a root's DER (hex)");
  pol.add_option("--add-measurement", p->add_measurement, "Allowed firmware measurement (hex)");
  pol.add_option("--remove-measurement", p->remove_measurement, "Measurement to disallow (hex)");
}

void add_queries(cli::CommandHost& host) {
  auto arg = std::make_shared<std::string>();
  auto& meter = host.query("meter", "A registered meter and its latest registers",
                           [arg]() -> Result<std::string> { return "/v1/meters/meter/" + *arg; });
  meter.add_option("id", *arg, "Meter id (hex)")->required();

  auto owner = std::make_shared<std::string>();
  auto microgrid = std::make_shared<std::string>();
  auto& list = host.query("meters", "Meters of an owner or a microgrid",
                          [owner, microgrid]() -> Result<std::string> {
                            if (owner->empty() == microgrid->empty())
                              return error(Code::kInvalidArgument, "give --owner or --microgrid");
                            return owner->empty() ? "/v1/meters/meters?microgrid=" + *microgrid
                                                  : "/v1/meters/meters?owner=" + *owner;
                          });
  list.add_option("--owner", *owner, "Owner account (public key hex)");
  list.add_option("--microgrid", *microgrid, "Microgrid name");

  auto from = std::make_shared<uint64_t>(0);
  auto to = std::make_shared<uint64_t>(UINT64_MAX);
  auto& readings = host.query(
      "readings", "Committed readings of a meter", [arg, from, to]() -> Result<std::string> {
        return "/v1/meters/readings/" + *arg + "?from=" + std::to_string(*from) +
               "&to=" + std::to_string(*to);
      });
  readings.add_option("id", *arg, "Meter id (hex)")->required();
  readings.add_option("--from", *from, "First period");
  readings.add_option("--to", *to, "Last period");
}

}  // namespace

void add_commands(cli::CommandHost& host, const MeterPlatforms& platforms) {
  add_tx_commands(host, platforms);
  add_queries(host);
}

}  // namespace gridpact::meters
