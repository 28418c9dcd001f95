#include "meteragent/agent.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <sstream>

#include "attest/swtpm_process.hpp"
#include "attest/x509.hpp"
#include "ledger/testing.hpp"
#include "meteragent/mqtt.hpp"

namespace gridpact::meteragent {
namespace {

constexpr std::string_view kChain = "test";

struct Collect : Publisher {
  std::vector<meters::Reading> readings;
  Status publish(const meters::Reading& r) override {
    readings.push_back(r);
    return Status::ok();
  }
};

std::unique_ptr<Source> csv(const std::string& text) {
  return csv_source(std::make_unique<std::istringstream>(text));
}

TEST(MeterAgent, CsvLinesParseStrictly) {
  auto ok = parse_csv_line("12,3400,50\r");
  ASSERT_TRUE(ok);
  ASSERT_TRUE(ok->has_value());
  EXPECT_EQ((*ok)->period, 12u);
  EXPECT_EQ((*ok)->import_wh, 3400u);
  EXPECT_EQ((*ok)->export_wh, 50u);
  EXPECT_FALSE(parse_csv_line("period,import_wh,export_wh")->has_value());
  EXPECT_FALSE(parse_csv_line("# comment")->has_value());
  EXPECT_FALSE(parse_csv_line("")->has_value());  // empty: skipped, not an error
  EXPECT_FALSE(parse_csv_line("1,2"));
  EXPECT_FALSE(parse_csv_line("1,2,3,4"));
  EXPECT_FALSE(parse_csv_line("1,-2,3"));
  EXPECT_FALSE(parse_csv_line("1,2,99999999999999999999999"));
}

TEST(MeterAgent, VirtualRunSignsSequentiallyAndResumes) {
  KeyPair key = KeyPair::generate();
  auto platform = virtual_platform(key);
  EXPECT_TRUE(platform->insecure());
  auto source = csv("period,import_wh,export_wh\n5,100,0\n6,150,0\n7,180,10\n");
  Collect out;
  auto stats = run(*platform, kChain, *source, out, Resume{3, 5});
  ASSERT_TRUE(stats) << stats.status().to_string();
  EXPECT_EQ(stats->skipped, 1u);
  EXPECT_EQ(stats->published, 2u);
  ASSERT_EQ(out.readings.size(), 2u);
  EXPECT_EQ(out.readings[0].seq, 4u);
  EXPECT_EQ(out.readings[0].period, 6u);
  EXPECT_EQ(out.readings[1].seq, 5u);
  for (const auto& r : out.readings) {
    EXPECT_EQ(r.meter_id, platform->meter_id());
    EXPECT_TRUE(verify(key.public_key(), meters::reading_digest(kChain, r), r.signature));
    EXPECT_FALSE(verify(key.public_key(), meters::reading_digest("other", r), r.signature));
  }
  auto bad = csv("5,100,0\nfive,1,2\n");
  Collect out2;
  auto failed = run(*platform, kChain, *bad, out2, Resume{});
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.status().code, Code::kInvalidArgument);
  EXPECT_EQ(out2.readings.size(), 1u);
}

TEST(MeterAgent, ProfilesAreDeterministicAndMonotonic) {
  Hash32 id = sha256("meter");
  for (const char* kind : {"pv", "consumer"}) {
    auto a = profile_source(kind, 0, 96, 1000, 2000, id).value();
    auto b = profile_source(kind, 0, 96, 1000, 2000, id).value();
    uint64_t imp = 1000, exp = 2000, n = 0;
    while (auto s = a->next()) {
      auto t = b->next();
      ASSERT_TRUE(t);
      EXPECT_EQ(s->import_wh, t->import_wh);
      EXPECT_EQ(s->period, n++);
      EXPECT_GE(s->import_wh, imp);
      EXPECT_GE(s->export_wh, exp);
      imp = s->import_wh;
      exp = s->export_wh;
    }
    EXPECT_EQ(n, 96u);
    EXPECT_GT(imp + exp, 3000u) << kind;
  }
  EXPECT_FALSE(profile_source("coal", 0, 1, 0, 0, id));
}

TEST(MeterAgent, ReadingMessagesAreCheckedAgainstTheirTopic) {
  KeyPair key = KeyPair::generate();
  auto platform = virtual_platform(key);
  meters::Reading r{platform->meter_id(), 1, 1, 10, 0, {}};
  meters::sign_virtual(r, kChain, key);
  Bytes b = meters::encode(r);
  auto ok = parse_reading_message(reading_topic(r.meter_id), b.data(), b.size());
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->seq, 1u);
  auto other = parse_reading_message(reading_topic(sha256("x")), b.data(), b.size());
  EXPECT_EQ(other.status().code, meters::kTopicMismatch);
  auto cut = parse_reading_message(reading_topic(r.meter_id), b.data(), b.size() - 3);
  EXPECT_EQ(cut.status().code, meters::kMalformedReading);
  const uint8_t junk[] = {'{', '}'};
  EXPECT_EQ(parse_reading_message(reading_topic(r.meter_id), junk, 2).status().code,
            meters::kMalformedReading);
}

// Provisioning a tpm2 meter in swtpm, registering it, and committing its readings: the
// agent's whole path except the transport.
TEST(MeterAgent, Tpm2MeterProvisionsRegistersAndReports) {
  setenv("TSS2_LOG", "all+none", 0);
  auto swtpm = attest::SwtpmProcess::start();
  ASSERT_TRUE(swtpm) << swtpm.status().to_string();
  auto ek_roots =
      attest::parse_certificates(attest::read_text_file((*swtpm)->ek_root_pem_path()).value())
          .value();
  auto ek_issuer =
      attest::parse_certificates(attest::read_text_file((*swtpm)->ek_issuer_pem_path()).value())
          .value();
  attest::EnrolmentCa ca(attest::CertificateAuthority::create_root("AK CA"), ek_roots);
  testing::TempDir state;
  ProvisionOptions o;
  o.tcti = (*swtpm)->tcti();
  o.state_dir = state.str() + "/meter";
  o.firmware_measurement = sha256("firmware 2.1");
  o.ek_intermediates = ek_issuer;
  auto id = provision_tpm2(o, ca);
  ASSERT_TRUE(id) << id.status().to_string();
  EXPECT_EQ(provision_tpm2(o, ca).status().code, Code::kInvalidArgument);  // never overwrites

  auto platform = tpm2_platform(o.tcti, o.state_dir);
  ASSERT_TRUE(platform) << platform.status().to_string();
  EXPECT_EQ((*platform)->meter_id(), *id);
  EXPECT_FALSE((*platform)->insecure());

  meters::MetersModule module;
  json section = {{"trusted_roots", ca.ca().certificate_pem()},
                  {"allowed_measurements", {o.firmware_measurement.hex()}}};
  // swtpm's PCR 16 is resettable: a development chain.
  testing::Chain chain({&module}, {{"development", true}, {"meters", section}});
  KeyPair owner = KeyPair::generate();
  meters::RegisterPayload fields;
  fields.microgrid = "mg-west";
  fields.source = meters::Source::kPv;
  auto reg = registration(**platform, kChain, owner.public_key(), fields);
  ASSERT_TRUE(reg) << reg.status().to_string();
  uint64_t now = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::system_clock::now().time_since_epoch())
                                           .count());
  auto r = chain.one(owner, meters::kRegister, meters::encode(*reg), now);
  ASSERT_TRUE(r.ok()) << r.message;

  // The agent reports four periods from the registration period on (a first reading counts
  // only for that period, meters.hpp), relayed once the last one has started.
  uint64_t period = now / meters::kDefaultPeriodMs + 3;
  auto source = profile_source("pv", period - 3, 4, 0, 0, *id).value();
  Collect out;
  ASSERT_TRUE(run(**platform, kChain, *source, out, Resume{}));
  ASSERT_EQ(out.readings.size(), 4u);
  std::vector<Transaction> txs;
  KeyPair relay = KeyPair::generate();
  for (const auto& reading : out.readings)
    txs.push_back(chain.sign(relay, meters::kReading, meters::encode(reading)));
  auto receipts = chain.block(txs, period * meters::kDefaultPeriodMs + 1000);
  for (const auto& rc : receipts) EXPECT_TRUE(rc.ok()) << rc.message;
  auto last = meters::last_reading(chain.store(), *id);
  EXPECT_EQ(last->seq, 4u);
  EXPECT_EQ(last->period, period);
  EXPECT_TRUE(meters::period_energy(chain.store(), *id, period - 3));  // contiguous from the first
  EXPECT_TRUE(meters::period_energy(chain.store(), *id, period - 1));
}

}  // namespace
}  // namespace gridpact::meteragent
