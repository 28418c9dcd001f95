// gridpact meter: runs one meter (reads a source, signs in its platform, publishes to the
// node API or to MQTT). gridpact meter-ca and meter-provision set up tpm2 meters.
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <algorithm>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "app.hpp"
#include "attest/x509.hpp"
#include "client.hpp"
#include "meter_cli.hpp"
#include "meteragent/mqtt.hpp"

namespace gridpact::cli {
namespace {

struct AgentArgs {
  PlatformArgs platform;
  std::string node = "http://127.0.0.1:8080";
  std::string key;  // the account that relays readings through the API
  std::string source = "profile:consumer";
  uint64_t count = 4;
  std::string publish = "api";
  std::string mqtt = "127.0.0.1:1883";
};

Result<std::string> read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return error(Code::kNotFound, "cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Readings through the node API: one meters/reading transaction each, signed by --key.
class ApiPublisher : public meteragent::Publisher {
 public:
  ApiPublisher(ApiClient& client, KeyPair relay, std::string chain_id, uint64_t nonce)
      : client_(client), relay_(std::move(relay)), chain_id_(std::move(chain_id)), nonce_(nonce) {}
  Status publish(const meters::Reading& r) override {
    Transaction tx;
    tx.chain_id = chain_id_;
    tx.nonce = nonce_;
    tx.type = meters::kReading;
    tx.payload = meters::encode(r);
    tx.sign(relay_);
    auto res = client_.post("/v1/tx", {{"tx", to_hex(tx.encode())}});
    if (!res) return res.status();
    ++nonce_;
    last_ = tx.id();
    spdlog::info("reading period {} seq {} import {} Wh export {} Wh: submitted", r.period, r.seq,
                 r.import_wh, r.export_wh);
    return Status::ok();
  }
  // Waits for the last transaction's receipt; every earlier one precedes it in nonce order.
  Status flush() override {
    if (!last_) return Status::ok();
    for (int i = 0; i < 100; ++i) {
      auto t = client_.get("/v1/tx/" + last_->hex());
      if (t && t->contains("receipt")) return Status::ok();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return error(Code::kTimeout, "the last reading was not committed in time");
  }

 private:
  ApiClient& client_;
  KeyPair relay_;
  std::string chain_id_;
  uint64_t nonce_;
  std::optional<Hash32> last_;
};

class MqttPublisher : public meteragent::Publisher {
 public:
  explicit MqttPublisher(std::unique_ptr<meteragent::MqttClient> c) : client_(std::move(c)) {}
  Status publish(const meters::Reading& r) override {
    if (Status s = client_->publish(meteragent::reading_topic(r.meter_id), meters::encode(r)); !s)
      return s;
    spdlog::info("reading period {} seq {} import {} Wh export {} Wh: published (QoS 1)", r.period,
                 r.seq, r.import_wh, r.export_wh);
    return Status::ok();
  }
  Status flush() override { return client_->flush(std::chrono::seconds(60)); }

 private:
  std::unique_ptr<meteragent::MqttClient> client_;
};

int run_agent(const AgentArgs& a) {
  auto platform = open_platform(a.platform);
  if (!platform) return fail(platform.status());
  Hash32 id = (*platform)->meter_id();
  ApiClient client(a.node);
  auto chain = client.chain_id();
  if (!chain) return fail(chain.status());
  // Resume after the last committed reading: the node is the source of truth.
  auto latest = client.get("/v1/meters/latest/" + id.hex());
  if (!latest) return fail(latest.status());
  meteragent::Resume resume{(*latest)["seq"].get<uint64_t>(), std::nullopt};
  if (latest->contains("period")) resume.period = (*latest)["period"].get<uint64_t>();
  spdlog::info("meter {} ({}): resuming after seq {}", id.hex(),
               (*platform)->insecure() ? "virtual, INSECURE" : "tpm2", resume.seq);

  std::unique_ptr<meteragent::Source> source;
  if (a.source == "stdin") {
    source = meteragent::csv_source(std::make_unique<std::istream>(std::cin.rdbuf()));
  } else if (a.source.starts_with("csv:")) {
    auto in = std::make_unique<std::ifstream>(a.source.substr(4));
    if (!*in) return fail(error(Code::kNotFound, "cannot read " + a.source.substr(4)));
    source = meteragent::csv_source(std::move(in));
  } else if (a.source.starts_with("profile:")) {
    auto params = client.get("/v1/meters/params");
    if (!params) return fail(params.status());
    uint64_t period_ms = (*params)["period_ms"].get<uint64_t>();
    uint64_t now = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count());
    // The period in progress from the chain's period schedule (the length may have
    // changed by governance at a period boundary: meters.hpp).
    uint64_t current = now / period_ms;
    for (const auto& g : (*params).value("period_schedule", json::array()))
      if (g.at("start_ms").get<uint64_t>() <= now)
        current = g.at("first_period").get<uint64_t>() +
                  (now - g.at("start_ms").get<uint64_t>()) / g.at("period_ms").get<uint64_t>();
    // The `count` periods up to now, after the last committed one and from the meter's
    // registration period on (the chain refuses a first reading for an earlier one).
    uint64_t first = current + 1 >= a.count ? current + 1 - a.count : 0;
    if (resume.period && *resume.period + 1 > first) first = *resume.period + 1;
    if (!resume.period) {
      auto meter = client.get("/v1/meters/meter/" + id.hex());
      if (!meter) return fail(meter.status());
      first = std::max(first, meter->value("registered_period", uint64_t{0}));
    }
    uint64_t count = first > current ? 0 : current + 1 - first;
    auto s = meteragent::profile_source(a.source.substr(8), first, count,
                                        (*latest)["import_wh"].get<uint64_t>(),
                                        (*latest)["export_wh"].get<uint64_t>(), id);
    if (!s) return fail(s.status());
    source = std::move(s).value();
  } else {
    return fail(error(Code::kInvalidArgument, "--source must be csv:PATH, stdin or profile:KIND"));
  }

  std::unique_ptr<meteragent::Publisher> publisher;
  if (a.publish == "mqtt") {
    auto colon = a.mqtt.rfind(':');
    if (colon == std::string::npos)
      return fail(error(Code::kInvalidArgument, "--mqtt must be HOST:PORT"));
    meteragent::MqttOptions o;
    o.host = a.mqtt.substr(0, colon);
    o.port = std::atoi(a.mqtt.c_str() + colon + 1);
    o.client_id = "gridpact-meter-" + id.hex().substr(0, 16);
    auto c = meteragent::MqttClient::connect(o);
    if (!c) return fail(c.status());
    publisher = std::make_unique<MqttPublisher>(std::move(c).value());
  } else {
    if (a.key.empty()) return fail(error(Code::kInvalidArgument, "--publish api needs --key"));
    auto relay = read_key_file(a.key);
    if (!relay) return fail(relay.status());
    auto account = client.get("/v1/accounts/" + relay->public_key().hex());
    if (!account) return fail(account.status());
    publisher =
        std::make_unique<ApiPublisher>(client, *relay, *chain, (*account)["nonce"].get<uint64_t>());
  }
  auto stats = meteragent::run(**platform, *chain, *source, *publisher, resume);
  if (!stats) return fail(stats.status());
  print_json({{"meter", id.hex()},
              {"published", stats->published},
              {"skipped", stats->skipped},
              {"via", a.publish}});
  return 0;
}

struct ProvisionArgs {
  std::string tpm, state, ca, firmware, measurement;
  std::vector<std::string> ek_roots, ek_intermediates;
};

Result<std::vector<Bytes>> load_certs(const std::vector<std::string>& paths) {
  std::vector<Bytes> out;
  for (const auto& p : paths) {
    auto t = read_text(p);
    if (!t) return t.status();
    auto c = attest::parse_certificates(*t);
    if (!c) return c.status();
    for (auto& der : *c) out.push_back(std::move(der));
  }
  return out;
}

int run_provision(const ProvisionArgs& a) {
  auto cert = read_text(a.ca + "/ca.pem");
  auto key = read_text(a.ca + "/ca.key");
  if (!cert || !key)
    return fail(error(Code::kNotFound, "no CA in " + a.ca + " (gridpact meter-ca)"));
  auto ca = attest::CertificateAuthority::load(*cert, *key);
  if (!ca) return fail(ca.status());
  auto roots = load_certs(a.ek_roots);
  if (!roots) return fail(roots.status());
  auto inters = load_certs(a.ek_intermediates);
  if (!inters) return fail(inters.status());
  meteragent::ProvisionOptions o;
  o.tcti = a.tpm;
  o.state_dir = a.state;
  o.ek_intermediates = *inters;
  if (!a.measurement.empty()) {
    auto m = Hash32::from_hex(a.measurement);
    if (!m) return fail(error(Code::kInvalidArgument, "--measurement must be 64 hex digits"));
    o.firmware_measurement = *m;
  } else {
    auto fw = read_text(a.firmware);
    if (!fw) return fail(fw.status());
    o.firmware_measurement = sha256(*fw);
  }
  attest::EnrolmentCa enrolment(std::move(ca).value(), *roots);
  auto id = meteragent::provision_tpm2(o, enrolment);
  if (!id) return fail(id.status());
  print_json(
      {{"meter", id->hex()}, {"state", a.state}, {"measurement", o.firmware_measurement.hex()}});
  return 0;
}

int run_ca(const std::string& dir) {
  std::filesystem::create_directories(dir);
  if (std::filesystem::exists(dir + "/ca.key"))
    return fail(error(Code::kInvalidArgument, dir + " already holds a CA"));
  auto ca = attest::CertificateAuthority::create_root("GridPact meter enrolment CA");
  std::ofstream(dir + "/ca.pem") << ca.certificate_pem();
  mode_t old = umask(077);
  std::ofstream(dir + "/ca.key") << ca.private_key_pem();
  umask(old);
  print_json({{"certificate", dir + "/ca.pem"}, {"root_sha256", sha256(ca.certificate()).hex()}});
  return 0;
}

}  // namespace

void add_meter_agent_commands(CLI::App& app) {
  auto a = std::make_shared<AgentArgs>();
  auto* cmd = app.add_subcommand("meter", "Run one meter: read, sign, publish its readings");
  add_platform_options(*cmd, a->platform);
  cmd->add_option("--node", a->node, "Node API URL (chain id, resume point, api publishing)");
  cmd->add_option("--key", a->key, "--publish api: key file of the relaying account");
  cmd->add_option("--source", a->source, "csv:PATH, stdin, or profile:consumer|pv");
  cmd->add_option("--count", a->count, "profile: how many periods up to now");
  cmd->add_option("--publish", a->publish, "api or mqtt")->check(CLI::IsMember({"api", "mqtt"}));
  cmd->add_option("--mqtt", a->mqtt, "MQTT broker HOST:PORT");
  cmd->callback([a] { finish(run_agent(*a)); });

  auto ca_dir = std::make_shared<std::string>();
  auto* ca = app.add_subcommand("meter-ca", "Create a meter enrolment CA (ca.pem, ca.key)");
  ca->add_option("--out", *ca_dir, "Directory")->required();
  ca->callback([ca_dir] { finish(run_ca(*ca_dir)); });

  auto p = std::make_shared<ProvisionArgs>();
  auto* prov = app.add_subcommand(
      "meter-provision", "Provision a tpm2 meter: enrol an AK, measure firmware, create its key");
  prov->add_option("--tpm", p->tpm, "TCTI")->required();
  prov->add_option("--state", p->state, "State directory to create")->required();
  prov->add_option("--ca", p->ca, "Enrolment CA directory (gridpact meter-ca)")->required();
  prov->add_option("--ek-root", p->ek_roots, "Trusted TPM manufacturer root (PEM)")->required();
  prov->add_option("--ek-intermediate", p->ek_intermediates, "EK issuing CA (PEM)");
  prov->add_option("--firmware", p->firmware, "Firmware image to measure");
  prov->add_option("--measurement", p->measurement, "Or its SHA-256 (hex)");
  prov->callback([p] { finish(run_provision(*p)); });
}

}  // namespace gridpact::cli
