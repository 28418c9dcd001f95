#include "meteragent/agent.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "attest/virtual_platform.hpp"

namespace gridpact::meteragent {
namespace {

class VirtualPlatform : public Platform {
 public:
  explicit VirtualPlatform(const KeyPair& key)
      : key_(key), public_(key.public_key().bytes.begin(), key.public_key().bytes.end()) {}
  attest::Platform kind() const override { return attest::Platform::kVirtual; }
  const Bytes& public_key() const override { return public_; }
  Result<Signature> sign(const Hash32& digest) override { return key_.sign(digest); }
  Result<attest::Evidence> evidence(const Hash32& nonce) override {
    return attest::make_virtual_evidence(key_, nonce);
  }

 private:
  KeyPair key_;
  Bytes public_;
};

class Tpm2Platform : public Platform {
 public:
  Tpm2Platform(std::unique_ptr<attest::Tpm2Device> tpm, attest::Tpm2KeyBlob ak,
               attest::Tpm2KeyBlob key, std::vector<Bytes> ak_chain, Bytes public_key)
      : tpm_(std::move(tpm)),
        ak_(std::move(ak)),
        key_(std::move(key)),
        ak_chain_(std::move(ak_chain)),
        public_(std::move(public_key)) {}
  attest::Platform kind() const override { return attest::Platform::kTpm2; }
  const Bytes& public_key() const override { return public_; }
  Result<Signature> sign(const Hash32& digest) override { return tpm_->sign(key_, digest); }
  Result<attest::Evidence> evidence(const Hash32& nonce) override {
    return attest::make_tpm2_evidence(*tpm_, ak_, ak_chain_, key_, nonce);
  }

 private:
  std::unique_ptr<attest::Tpm2Device> tpm_;
  attest::Tpm2KeyBlob ak_, key_;
  std::vector<Bytes> ak_chain_;
  Bytes public_;
};

std::string chain_path(const std::string& dir, size_t i) {
  return dir + "/ak_chain_" + std::to_string(i) + ".der";
}

Status write_file(const std::string& path, const Bytes& b) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  return out ? Status::ok() : error(Code::kStorage, "cannot write " + path);
}

std::optional<Bytes> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  std::string t = s.str();
  return Bytes(t.begin(), t.end());
}

class CsvSource : public Source {
 public:
  explicit CsvSource(std::unique_ptr<std::istream> in) : in_(std::move(in)) {}
  std::optional<RegisterSample> next() override {
    std::string line;
    while (std::getline(*in_, line)) {
      ++line_no_;
      auto r = parse_csv_line(line);
      if (!r)
        throw Error(Code::kInvalidArgument,
                    "line " + std::to_string(line_no_) + ": " + r.status().message);
      if (*r) return **r;
    }
    return std::nullopt;
  }

 private:
  std::unique_ptr<std::istream> in_;
  size_t line_no_ = 0;
};

// A stylised day in 96 quarter hours: a household's base load with morning and evening
// peaks, and a PV plant's bell over the daylight hours. Integer Wh only.
class ProfileSource : public Source {
 public:
  ProfileSource(bool pv, uint64_t first, uint64_t count, uint64_t imp, uint64_t exp, uint64_t salt)
      : pv_(pv), period_(first), end_(first + count), import_(imp), export_(exp), salt_(salt) {}
  std::optional<RegisterSample> next() override {
    if (period_ >= end_) return std::nullopt;
    uint64_t slot = period_ % 96;  // quarter hour of the day
    uint64_t jitter = (period_ * 2654435761u + salt_) % 40;
    if (pv_) {
      // Daylight 06:00-18:00 (slots 24-72): up to 1.2 kWh per quarter hour at noon.
      uint64_t sun = slot >= 24 && slot < 72 ? 24 - (slot > 48 ? slot - 48 : 48 - slot) : 0;
      export_ += sun * 50 + (sun ? jitter : 0);
      import_ += sun ? 0 : 5;  // inverter standby
    } else {
      uint64_t base = 60 + jitter;
      bool peak = (slot >= 28 && slot < 36) || (slot >= 68 && slot < 88);
      import_ += base + (peak ? 180 : 0);
    }
    return RegisterSample{period_++, import_, export_};
  }

 private:
  bool pv_;
  uint64_t period_, end_, import_, export_, salt_;
};

bool parse_u64(std::string_view s, uint64_t& out) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  if (s.empty() || s.size() > 20) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    auto n = checked_mul(v, 10);
    if (n) n = checked_add(*n, static_cast<uint64_t>(c - '0'));
    if (!n) return false;
    v = *n;
  }
  out = v;
  return true;
}

}  // namespace

std::unique_ptr<Platform> virtual_platform(const KeyPair& key) {
  return std::make_unique<VirtualPlatform>(key);
}

Result<std::unique_ptr<Platform>> tpm2_platform(const std::string& tcti, const std::string& dir) {
  auto ak = attest::load_key_blob(dir + "/ak.blob");
  if (!ak) return ak.status();
  auto key = attest::load_key_blob(dir + "/key.blob");
  if (!key) return key.status();
  std::vector<Bytes> chain;
  for (size_t i = 0; i < attest::kMaxCertChain; ++i) {
    auto c = read_file(chain_path(dir, i));
    if (!c) break;
    chain.push_back(std::move(*c));
  }
  if (chain.empty()) return error(Code::kNotFound, "no AK certificate in " + dir);
  auto point = attest::blob_p256_point(*key);
  if (!point) return point.status();
  auto tpm = attest::Tpm2Device::open(tcti);
  if (!tpm) return tpm.status();
  return std::unique_ptr<Platform>(
      std::make_unique<Tpm2Platform>(std::move(tpm).value(), *ak, *key, std::move(chain),
                                     Bytes(point->bytes.begin(), point->bytes.end())));
}

Result<Hash32> provision_tpm2(const ProvisionOptions& o, const attest::EnrolmentCa& ca) {
  std::filesystem::create_directories(o.state_dir);
  if (std::filesystem::exists(o.state_dir + "/key.blob"))
    return error(Code::kInvalidArgument, o.state_dir + " already holds a meter key");
  auto tpm = attest::Tpm2Device::open(o.tcti);
  if (!tpm) return tpm.status();
  auto& t = **tpm;
  auto ak = t.create_ak();
  if (!ak) return ak.status();
  attest::EnrolmentRequest req;
  auto ek = t.ek_public();
  if (!ek) return ek.status();
  req.ek_public = *ek;
  auto ek_cert = t.read_ek_certificate();
  if (!ek_cert) return ek_cert.status();
  req.ek_cert_chain = {*ek_cert};
  for (const Bytes& c : o.ek_intermediates) req.ek_cert_chain.push_back(c);
  auto ak_public = attest::blob_tpmt_public(*ak);
  if (!ak_public) return ak_public.status();
  req.ak_public = *ak_public;
  auto challenge = ca.challenge(req);
  if (!challenge) return challenge.status();
  auto secret = t.activate_credential(*ak, challenge->credential.id_object,
                                      challenge->credential.encrypted_secret);
  if (!secret) return secret.status();
  auto cert = ca.complete(challenge->pending, *secret, "GridPact meter AK");
  if (!cert) return cert.status();
  // The firmware measurement: reset (the debug PCR allows it), then extend exactly once.
  if (Status s = t.reset_pcr(o.firmware_pcr); !s) return s;
  if (Status s = t.extend_pcr(o.firmware_pcr, o.firmware_measurement); !s) return s;
  auto key = t.create_signing_key();
  if (!key) return key.status();
  if (Status s = attest::save_key_blob(o.state_dir + "/ak.blob", *ak); !s) return s;
  if (Status s = write_file(chain_path(o.state_dir, 0), *cert); !s) return s;
  if (Status s = attest::save_key_blob(o.state_dir + "/key.blob", *key); !s) return s;
  auto point = attest::blob_p256_point(*key);
  if (!point) return point.status();
  return meters::meter_id_of(Bytes(point->bytes.begin(), point->bytes.end()));
}

Result<meters::RegisterPayload> registration(Platform& platform, std::string_view chain_id,
                                             const PublicKey& owner, meters::RegisterPayload p) {
  p.evidence.clear();
  auto nonce = attest::attestation_nonce(chain_id, platform.public_key(),
                                         meters::registration_challenge(owner, p));
  auto e = platform.evidence(nonce);
  if (!e) return e.status();
  p.evidence = attest::encode_evidence(*e);
  return p;
}

Result<std::optional<RegisterSample>> parse_csv_line(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
  if (line.empty() || line.front() == '#' || line.starts_with("period")) {
    return std::optional<RegisterSample>{};
  }
  RegisterSample s;
  auto c1 = line.find(',');
  auto c2 = c1 == std::string_view::npos ? c1 : line.find(',', c1 + 1);
  if (c2 == std::string_view::npos || line.find(',', c2 + 1) != std::string_view::npos ||
      !parse_u64(line.substr(0, c1), s.period) ||
      !parse_u64(line.substr(c1 + 1, c2 - c1 - 1), s.import_wh) ||
      !parse_u64(line.substr(c2 + 1), s.export_wh))
    return error(Code::kInvalidArgument, "expected 'period,import_wh,export_wh'");
  return std::optional<RegisterSample>{s};
}

std::unique_ptr<Source> csv_source(std::unique_ptr<std::istream> in) {
  return std::make_unique<CsvSource>(std::move(in));
}

Result<std::unique_ptr<Source>> profile_source(std::string_view kind, uint64_t first,
                                               uint64_t count, uint64_t imp, uint64_t exp,
                                               const Hash32& meter_id) {
  if (kind != "consumer" && kind != "pv")
    return error(Code::kInvalidArgument, "profile must be consumer or pv");
  uint64_t salt = decode_u64(std::string_view(meter_id.view()).substr(0, 8)).value_or(0);
  return std::unique_ptr<Source>(
      std::make_unique<ProfileSource>(kind == "pv", first, count, imp, exp, salt));
}

Result<RunStats> run(Platform& platform, std::string_view chain_id, Source& source,
                     Publisher& publisher, Resume resume) {
  RunStats stats;
  uint64_t seq = resume.seq;
  Hash32 id = platform.meter_id();
  try {
    while (auto sample = source.next()) {
      if (resume.period && sample->period <= *resume.period) {
        ++stats.skipped;
        continue;
      }
      meters::Reading r{id, sample->period, ++seq, sample->import_wh, sample->export_wh, {}};
      auto sig = platform.sign(meters::reading_digest(chain_id, r));
      if (!sig) return sig.status();
      r.signature = *sig;
      if (Status s = publisher.publish(r); !s) return s;
      ++stats.published;
    }
  } catch (const Error& e) {
    return e.status();
  }
  if (Status s = publisher.flush(); !s) return s;
  return stats;
}

}  // namespace gridpact::meteragent
