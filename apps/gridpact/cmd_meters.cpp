// gridpact tx meter-register | meter-revoke | reading | meter-policy, and
// gridpact query meter | meters | readings.
#include <spdlog/spdlog.h>

#include <fstream>
#include <sstream>

#include "app.hpp"
#include "client.hpp"
#include "meter_cli.hpp"

namespace gridpact::cli {

void add_platform_options(CLI::App& cmd, PlatformArgs& a) {
  cmd.add_option("--platform", a.platform, "Meter platform: virtual (INSECURE) or tpm2")
      ->check(CLI::IsMember({"virtual", "tpm2"}));
  cmd.add_option("--meter-key", a.meter_key, "virtual: the meter's Ed25519 key file");
  cmd.add_option("--tpm", a.tpm, "tpm2: TCTI, e.g. swtpm:host=127.0.0.1,port=2321");
  cmd.add_option("--state", a.state, "tpm2: the meter's state directory (key blobs, AK chain)");
}

Result<std::unique_ptr<meteragent::Platform>> open_platform(const PlatformArgs& a) {
  if (a.platform == "tpm2") {
    if (a.tpm.empty() || a.state.empty())
      return error(Code::kInvalidArgument, "--platform tpm2 needs --tpm and --state");
    return meteragent::tpm2_platform(a.tpm, a.state);
  }
  if (a.meter_key.empty())
    return error(Code::kInvalidArgument, "--platform virtual needs --meter-key");
  auto key = read_key_file(a.meter_key);
  if (!key) return key.status();
  spdlog::warn("virtual meter: software key, no hardware attestation. INSECURE.");
  return meteragent::virtual_platform(*key);
}

namespace {

struct MeterTxArgs {
  std::string node = "http://127.0.0.1:8080";
  std::string key;
  bool no_wait = false;
  PlatformArgs platform;
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

int send(const MeterTxArgs& a, uint16_t type, Bytes payload) {
  return submit_and_print(a.node, a.key, !a.no_wait, type, std::move(payload));
}

Result<Hash32> parse_hash(const std::string& hex, const char* what) {
  auto h = Hash32::from_hex(hex);
  if (!h) return error(Code::kInvalidArgument, std::string(what) + " must be 64 hex digits");
  return *h;
}

CLI::App* meter_tx(CLI::App& tx, const std::string& name, const std::string& help,
                   std::shared_ptr<MeterTxArgs> a) {
  auto* cmd = tx.add_subcommand(name, help);
  cmd->add_option("--node", a->node, "Node API URL");
  cmd->add_option("--key", a->key, "Key file of the signer")->required();
  cmd->add_flag("--no-wait", a->no_wait, "Return once accepted, without waiting for the commit");
  return cmd;
}

int do_register(const MeterTxArgs& a) {
  auto key = read_key_file(a.key);
  if (!key) return fail(key.status());
  auto platform = open_platform(a.platform);
  if (!platform) return fail(platform.status());
  auto source = meters::parse_source(a.source);
  if (!source) return fail(error(Code::kInvalidArgument, "unknown --source " + a.source));
  ApiClient client(a.node);
  auto chain = client.chain_id();
  if (!chain) return fail(chain.status());
  meters::RegisterPayload fields;
  fields.microgrid = a.microgrid;
  fields.source = *source;
  fields.location = a.location;
  fields.firmware_version = a.firmware_version;
  fields.initial_import_wh = a.initial_import;
  fields.initial_export_wh = a.initial_export;
  auto p = meteragent::registration(**platform, *chain, key->public_key(), fields);
  if (!p) return fail(p.status());
  spdlog::info("registering meter {} ({})", (*platform)->meter_id().hex(),
               (*platform)->insecure() ? "virtual, INSECURE" : "tpm2");
  return send(a, meters::kRegister, meters::encode(*p));
}

int do_reading(const MeterTxArgs& a) {
  Bytes payload;
  if (!a.reading_hex.empty()) {
    auto b = from_hex(a.reading_hex);
    if (!b) return fail(error(Code::kInvalidArgument, "--reading must be hex"));
    payload = *b;
  } else {
    auto platform = open_platform(a.platform);
    if (!platform) return fail(platform.status());
    ApiClient client(a.node);
    auto chain = client.chain_id();
    if (!chain) return fail(chain.status());
    meters::Reading r{(*platform)->meter_id(), a.period, a.seq, a.import_wh, a.export_wh, {}};
    if (!a.meter.empty()) {  // claim another meter's id: the node must refuse the signature
      auto id = parse_hash(a.meter, "--meter");
      if (!id) return fail(id.status());
      r.meter_id = *id;
    }
    auto sig = (*platform)->sign(meters::reading_digest(*chain, r));
    if (!sig) return fail(sig.status());
    r.signature = *sig;
    payload = meters::encode(r);
  }
  return send(a, meters::kReading, std::move(payload));
}

int do_policy(const MeterTxArgs& a) {
  meters::PolicyPayload p;
  int given = !a.add_root.empty() + !a.remove_root.empty() + !a.add_measurement.empty() +
              !a.remove_measurement.empty();
  if (given != 1)
    return fail(error(Code::kInvalidArgument,
                      "give exactly one of --add-root, --remove-root, "
                      "--add-measurement, --remove-measurement"));
  if (!a.add_root.empty()) {
    std::ifstream in(a.add_root, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    auto certs = attest::parse_certificates(s.str());
    if (!in || !certs || certs->size() != 1)
      return fail(error(Code::kInvalidArgument, a.add_root + " must hold one certificate"));
    p.op = meters::PolicyOp::kAddRoot;
    p.data = certs->front();
  } else {
    const std::string& hex = !a.remove_root.empty()       ? a.remove_root
                             : !a.add_measurement.empty() ? a.add_measurement
                                                          : a.remove_measurement;
    auto h = parse_hash(hex, "the hash");
    if (!h) return fail(h.status());
    p.op = !a.remove_root.empty()       ? meters::PolicyOp::kRemoveRoot
           : !a.add_measurement.empty() ? meters::PolicyOp::kAddMeasurement
                                        : meters::PolicyOp::kRemoveMeasurement;
    p.data.assign(h->bytes.begin(), h->bytes.end());
  }
  return send(a, meters::kPolicy, meters::encode(p));
}

}  // namespace

void add_meter_commands(CLI::App& app) {
  auto* tx = app.get_subcommand("tx");
  auto* query = app.get_subcommand("query");

  auto r = std::make_shared<MeterTxArgs>();
  auto* reg = meter_tx(*tx, "meter-register",
                       "Register a meter with fresh attestation evidence (the signer owns it)", r);
  add_platform_options(*reg, r->platform);
  reg->add_option("--microgrid", r->microgrid, "Microgrid name, [A-Za-z0-9._-]{1,64}")->required();
  reg->add_option("--source", r->source, "consumer, pv, wind, hydro, biomass, battery or grid");
  reg->add_option("--location", r->location, "Free text, <= 128 bytes");
  reg->add_option("--firmware-version", r->firmware_version, "Free text, <= 64 bytes");
  reg->add_option("--initial-import", r->initial_import, "Import register at installation, Wh");
  reg->add_option("--initial-export", r->initial_export, "Export register at installation, Wh");
  reg->callback([r] { finish(do_register(*r)); });

  auto v = std::make_shared<MeterTxArgs>();
  auto* revoke = meter_tx(*tx, "meter-revoke", "Revoke a meter (owner or meters authority)", v);
  revoke->add_option("--meter", v->meter, "Meter id (hex)")->required();
  revoke->callback([v] {
    auto id = parse_hash(v->meter, "--meter");
    if (!id) finish(fail(id.status()));
    finish(send(*v, meters::kRevoke, meters::encode(meters::RevokePayload{*id})));
  });

  auto g = std::make_shared<MeterTxArgs>();
  auto* reading = meter_tx(*tx, "reading",
                           "Relay a meter reading: signed here by the meter's platform, or "
                           "given pre-signed with --reading",
                           g);
  add_platform_options(*reading, g->platform);
  reading->add_option("--period", g->period, "Settlement period index");
  reading->add_option("--seq", g->seq, "Sequence number (above the last committed one)");
  reading->add_option("--import", g->import_wh, "Cumulative import register (OBIS 1.8.0), Wh");
  reading->add_option("--export", g->export_wh, "Cumulative export register (OBIS 2.8.0), Wh");
  reading->add_option("--reading", g->reading_hex, "A signed, encoded reading (hex)");
  reading->add_option("--meter", g->meter,
                      "Put another meter's id in the reading (it will not verify; for tests)");
  reading->callback([g] { finish(do_reading(*g)); });

  auto p = std::make_shared<MeterTxArgs>();
  auto* pol = meter_tx(*tx, "meter-policy", "Change the attestation policy (meters authority)", p);
  pol->add_option("--add-root", p->add_root, "PEM or DER file of an enrolment-CA root");
  pol->add_option("--remove-root", p->remove_root, "SHA-256 of a root's DER (hex)");
  pol->add_option("--add-measurement", p->add_measurement, "Allowed firmware measurement (hex)");
  pol->add_option("--remove-measurement", p->remove_measurement, "Measurement to disallow (hex)");
  pol->callback([p] { finish(do_policy(*p)); });

  // Queries: the node URL is the `query` command's own --node.
  auto* node_opt = query->get_option("--node");
  auto run = [node_opt](const std::string& path) {
    ApiClient client(node_opt->as<std::string>());
    auto res = client.get(path);
    if (!res) finish(fail(res.status()));
    print_json(*res);
  };
  auto arg = std::make_shared<std::string>();
  auto* meter = query->add_subcommand("meter", "A registered meter and its latest registers");
  meter->add_option("id", *arg, "Meter id (hex)")->required();
  meter->callback([run, arg] { run("/v1/meters/meter/" + *arg); });

  auto owner = std::make_shared<std::string>();
  auto microgrid = std::make_shared<std::string>();
  auto* list = query->add_subcommand("meters", "Meters of an owner or a microgrid");
  list->add_option("--owner", *owner, "Owner account (public key hex)");
  list->add_option("--microgrid", *microgrid, "Microgrid name");
  list->callback([run, owner, microgrid] {
    if (owner->empty() == microgrid->empty())
      finish(fail(error(Code::kInvalidArgument, "give --owner or --microgrid")));
    run(owner->empty() ? "/v1/meters/meters?microgrid=" + *microgrid
                       : "/v1/meters/meters?owner=" + *owner);
  });

  auto from = std::make_shared<uint64_t>(0);
  auto to = std::make_shared<uint64_t>(UINT64_MAX);
  auto* readings = query->add_subcommand("readings", "Committed readings of a meter");
  readings->add_option("id", *arg, "Meter id (hex)")->required();
  readings->add_option("--from", *from, "First period");
  readings->add_option("--to", *to, "Last period");
  readings->callback([run, arg, from, to] {
    run("/v1/meters/readings/" + *arg + "?from=" + std::to_string(*from) +
        "&to=" + std::to_string(*to));
  });
}

}  // namespace gridpact::cli
