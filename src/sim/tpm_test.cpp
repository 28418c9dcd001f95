// gridpact simulate --tpm: prosumers' meters on real swtpm instances, registered with TPM
// evidence, their readings signed in the TPM and committed; every energy and money figure
// equal to the same run with virtual meters (run.hpp).
#include <gtest/gtest.h>

#include <cstdlib>

#include "attest/codes.hpp"
#include "attest/swtpm_process.hpp"
#include "ledger/testing.hpp"
#include "modules/all_modules.hpp"
#include "modules/meters/meters.hpp"
#include "node/genesis.hpp"
#include "node/verify.hpp"
#include "sim/report.hpp"
#include "sim/run.hpp"

namespace gridpact::sim {
namespace {

Scenario small() {
  auto s = parse_scenario(default_scenario_toml(), "default").value();
  s.households = 10;
  s.days = 1;
  return s;
}

Result<RunResult> run(const Scenario& s, const std::string& dir, uint32_t tpm_meters) {
  RunOptions o;
  o.chain_dir = dir;
  o.threads = 2;
  o.tpm_meters = tpm_meters;
  return run_simulation(s, o);
}

TEST(SimulateTpm, TpmMetersReportOnChainAndTheFiguresEqualAVirtualRun) {
  if (!attest::SwtpmProcess::available()) GTEST_SKIP() << "swtpm not installed";
  testing::TempDir dir;
  const Scenario s = small();
  auto tpm = run(s, dir.str() + "/tpm", 2);
  ASSERT_TRUE(tpm) << tpm.status().to_string();
  auto virt = run(s, dir.str() + "/virtual", 0);
  ASSERT_TRUE(virt) << virt.status().to_string();
  EXPECT_EQ(tpm->failed_transactions, 0u);

  // The summary names the two TPM meters; the chain holds them as tpm2 meters of their
  // households, with a reading of every simulated period.
  json sum = summary_json(*tpm);
  EXPECT_EQ(sum["meters"]["tpm2"].get<uint64_t>(), 2u);
  ASSERT_EQ(sum["meters"]["tpm2_meters"].size(), 2u);
  EXPECT_EQ(summary_json(*virt)["meters"]["tpm2"].get<uint64_t>(), 0u);
  EXPECT_EQ(sum["meters"]["virtual"].get<uint64_t>() + 2,
            summary_json(*virt)["meters"]["virtual"].get<uint64_t>());
  const uint64_t K = s.total_periods(), p0 = tpm->periods.front().period;
  {
    auto store = Store::open(dir.str() + "/tpm/db", {.read_only = true}).value();
    for (const auto& t : tpm->tpm_meters) {
      EXPECT_EQ(tpm->households[t.household].role, Role::kProsumer);
      auto id = Hash32::from_hex(t.meter);
      ASSERT_TRUE(id);
      auto m = meters::find_meter(*store, *id);
      ASSERT_TRUE(m);
      EXPECT_EQ(m->platform, attest::Platform::kTpm2);
      EXPECT_FALSE(m->insecure);
      EXPECT_EQ(m->owner.hex(), tpm->households[t.household].account);
      EXPECT_EQ(meters::readings(*store, *id, p0, p0 + K - 1, 1000).size(), K);
      EXPECT_EQ(t.readings, K);
      EXPECT_EQ(meters::last_reading(*store, *id)->import_wh,
                tpm->households[t.household].import_wh);
    }
    // The chain replays: the TPM evidence verifies again at its block's time.
    auto genesis = Genesis::load(dir.str() + "/tpm/genesis.toml");
    ASSERT_TRUE(genesis.is_ok());
    auto modules = all_modules();
    auto report = verify_chain(*store, *genesis, module_pointers(modules), dir.str() + "/scratch");
    ASSERT_TRUE(report.is_ok()) << report.status().to_string();
    EXPECT_EQ(report->state_root.hex(), tpm->state_root);
  }

  // Every energy and money figure equals the virtual run's; the state root does not (the
  // TPM meters' ids and signatures are in state).
  for (const char* k :
       {"consumers", "prosumers", "owners", "agreements", "energy", "self_sufficiency_pct",
        "renewable_share_pct", "tokens_by_source", "dso_fees_micro"})
    EXPECT_EQ(sum[k].dump(), summary_json(*virt)[k].dump()) << k;
  EXPECT_GT(sum["energy"]["peer_kwh"].get<double>(), 0);
  EXPECT_FALSE(sum["tokens_by_source"].empty());
  ASSERT_EQ(tpm->households.size(), virt->households.size());
  for (size_t i = 0; i < tpm->households.size(); ++i) {
    const HouseholdResult &a = tpm->households[i], &b = virt->households[i];
    EXPECT_EQ(a.import_wh, b.import_wh) << i;
    EXPECT_EQ(a.export_wh, b.export_wh) << i;
    EXPECT_EQ(a.sold_wh, b.sold_wh) << i;
    EXPECT_EQ(a.market_received, b.market_received) << i;
    EXPECT_EQ(a.cost, b.cost) << i;
    EXPECT_EQ(a.tokens_micro, b.tokens_micro) << i;
  }
  EXPECT_EQ(tpm->transactions, virt->transactions);
  EXPECT_NE(tpm->state_root, virt->state_root);
}

TEST(SimulateTpm, WithoutSwtpmTheRunStopsWithAStableCode) {
  testing::TempDir dir;
  const std::string path = std::getenv("PATH") ? std::getenv("PATH") : "";
  setenv("PATH", (dir.str() + "/empty").c_str(), 1);
  auto r = run(small(), dir.str() + "/chain", 2);
  setenv("PATH", path.c_str(), 1);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.status().code, attest::kSwtpmNotInstalled);
  EXPECT_EQ(code_name(r.status().code), "SWTPM_NOT_INSTALLED");
}

TEST(SimulateTpm, MoreTpmMetersThanProsumersIsRefusedBeforeAnySwtpmStarts) {
  testing::TempDir dir;
  auto r = run(small(), dir.str() + "/chain", 1000);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.status().code, Code::kInvalidArgument);
  EXPECT_NE(r.status().message.find("prosumers"), std::string::npos) << r.status().message;
}

}  // namespace
}  // namespace gridpact::sim
