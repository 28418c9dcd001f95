// The simulator end to end on a small community: through the real ledger, replayable,
// reproducible for any number of threads, and its scenario checks.
#include <gtest/gtest.h>

#include <filesystem>

#include "ledger/testing.hpp"
#include "modules/all_modules.hpp"
#include "modules/bank/bank.hpp"
#include "modules/tokens/tokens.hpp"
#include "node/genesis.hpp"
#include "node/verify.hpp"
#include "sim/report.hpp"
#include "sim/run.hpp"

namespace gridpact::sim {
namespace {

Scenario small() {
  auto s = parse_scenario(default_scenario_toml(), "default").value();
  s.households = 16;
  s.days = 1;
  return s;
}

RunResult run(const Scenario& s, const std::string& dir, unsigned threads) {
  RunOptions o;
  o.chain_dir = dir;
  o.threads = threads;
  auto r = run_simulation(s, o);
  if (!r) ADD_FAILURE() << r.status().to_string();
  return r ? *r : RunResult{};
}

TEST(Simulate, SameSeedSameSummaryForAnyThreadsAndTheChainReplays) {
  testing::TempDir dir;
  Scenario s = small();
  RunResult one = run(s, dir.str() + "/a", 1);
  RunResult two = run(s, dir.str() + "/b", 2);
  ASSERT_FALSE(one.state_root.empty());
  EXPECT_EQ(one.failed_transactions, 0u);
  EXPECT_EQ(summary_json(one).dump(), summary_json(two).dump());
  EXPECT_EQ(one.state_root, two.state_root);
  // One more block per period than periods (plus setup), and every household's readings.
  EXPECT_GT(one.blocks, s.total_periods());
  EXPECT_GT(one.transactions, s.total_periods() * s.households);

  // The stored chain replays from genesis to the same state root.
  auto genesis = Genesis::load(dir.str() + "/a/genesis.toml");
  ASSERT_TRUE(genesis.is_ok());
  auto store = Store::open(dir.str() + "/a/db", {.read_only = true}).value();
  auto modules = all_modules();
  auto report = verify_chain(*store, *genesis, module_pointers(modules), dir.str() + "/scratch");
  ASSERT_TRUE(report.is_ok()) << report.status().to_string();
  EXPECT_EQ(report->state_root.hex(), one.state_root);
  EXPECT_EQ(report->txs, one.transactions);

  // A different seed gives a different community.
  Scenario other = s;
  other.seed = 7;
  EXPECT_NE(run(other, dir.str() + "/c", 2).state_root, one.state_root);
}

TEST(Simulate, FiguresComeFromTheLedgerAndAddUp) {
  testing::TempDir dir;
  Scenario s = small();
  RunResult r = run(s, dir.str() + "/chain", 2);
  json sum = summary_json(r);
  // Peers traded, leases were signed and billed, the operator earned zone fees.
  EXPECT_GT(sum["energy"]["peer_kwh"].get<double>(), 0);
  EXPECT_GT(sum["agreements"]["count"].get<uint64_t>(), 0u);
  EXPECT_GT(sum["agreements"]["paid_micro"].get<uint64_t>(), 0u);
  EXPECT_GT(sum["owners"]["lease_income_micro"].get<int64_t>(), 0);
  // Buying from peers below retail and selling above feed-in: both sides gain.
  EXPECT_GT(sum["consumers"]["savings_vs_grid_pct"].get<double>(), 0);
  EXPECT_GT(sum["prosumers"]["gain_vs_feed_in_pct"].get<double>(), 0);
  double self = sum["self_sufficiency_pct"].get<double>();
  EXPECT_GT(self, 0);
  EXPECT_LT(self, 100);
  // The executing thread's CPU time (the bench's idle-machine estimate): some, and never
  // more than the wall time of the same phases.
  EXPECT_GT(r.timing.execute_cpu_s, 0);
  EXPECT_GT(r.timing.commit_cpu_s, 0);
  EXPECT_LE(r.timing.execute_cpu_s, r.timing.execute_s + 0.01);
  EXPECT_LE(r.timing.commit_cpu_s, r.timing.commit_s + 0.01);
  // Money is conserved: what households paid went to other households or the operator.
  int64_t households_net = 0;
  for (const auto& h : r.households) {
    households_net += h.cost;
    // The meters' registers on chain carry the model's flows: net of load and generation,
    // exactly without a battery, with its losses on top with one.
    const int64_t net = static_cast<int64_t>(h.import_wh) - static_cast<int64_t>(h.export_wh);
    if (h.battery_kwh == 0) {
      EXPECT_EQ(net, h.load_wh - h.generation_wh) << "household " << h.index;
    } else {
      EXPECT_GE(net, h.load_wh - h.generation_wh) << "household " << h.index;
    }
    if (h.role == Role::kConsumer || h.role == Role::kOwner) {
      EXPECT_EQ(h.export_wh, 0u) << "household " << h.index;
    }
  }
  auto store = Store::open(dir.str() + "/chain/db", {.read_only = true}).value();
  EXPECT_EQ(bank::holdings(*store), bank::supply(*store));
  // Every settled market period and every billed agreement left its record.
  uint64_t traded = 0;
  for (const auto& p : r.periods) traded += p.traded_wh;
  EXPECT_GT(traded, 0u);
  EXPECT_GT(households_net, 0);  // the community as a whole still buys from the grid at night

  // Green tokens: every simulated period minted, all of it held by households, PV among the
  // sources, and the summary carries the chain's figures.
  ASSERT_TRUE(r.tokens_by_source.count("pv"));
  auto next = tokens::next_period(*store);
  ASSERT_TRUE(next.has_value());
  EXPECT_GT(*next, r.periods.back().period);
  uint64_t minted = 0, minted_wh = 0, held = 0;
  for (const auto& [name, t] : r.tokens_by_source) {
    minted += t.tokens_micro;
    minted_wh += t.wh;
    EXPECT_GT(t.meters, 0u) << name;
  }
  for (const auto& h : r.households) held += h.tokens_micro;
  // Each renewable Wh mints once: the prosumers' exports and the leased systems' (their
  // asset meters'), but not again at the hosts' connections, which see the leased energy.
  uint64_t renewable_wh = 0, hosts_export_wh = 0;
  for (const auto& h : r.households) {
    if (h.role == Role::kProsumer) renewable_wh += h.export_wh;
    if (h.role == Role::kOwner) renewable_wh += h.asset_export_wh;
    if (h.role == Role::kHost) hosts_export_wh += h.export_wh;
  }
  EXPECT_GT(hosts_export_wh, 0u);  // the hosts did export leased energy
  EXPECT_EQ(minted_wh, renewable_wh);
  EXPECT_GT(minted, 0u);
  EXPECT_EQ(minted, tokens::supply(*store).minted);
  EXPECT_EQ(held, minted);
  EXPECT_GT(minted_wh, 0u);
  EXPECT_EQ(sum["tokens_by_source"]["pv"]["tokens_micro"].get<uint64_t>(),
            r.tokens_by_source["pv"].tokens_micro);
}

TEST(Simulate, BatteriesStoreSurplusAndSellItInThePeakAtAHigherPrice) {
  testing::TempDir dir;
  Scenario s = small();
  s.households = 24;
  s.battery_share = 0.5;
  RunResult r = run(s, dir.str() + "/chain", 2);
  // Sales settled on chain (market received over Wh sold), batteries against the other
  // prosumers, who sell their surplus as it comes (mostly at midday).
  uint64_t battery_wh = 0, other_wh = 0;
  int64_t battery_micro = 0, other_micro = 0;
  for (const auto& h : r.households) {
    if (h.role != Role::kProsumer) continue;
    (h.battery_kwh > 0 ? battery_wh : other_wh) += h.sold_wh;
    (h.battery_kwh > 0 ? battery_micro : other_micro) += h.market_received;
  }
  ASSERT_GT(battery_wh, 0u);
  ASSERT_GT(other_wh, 0u);
  const int64_t battery_price = battery_micro * 1000 / static_cast<int64_t>(battery_wh);
  const int64_t other_price = other_micro * 1000 / static_cast<int64_t>(other_wh);
  EXPECT_GT(battery_price, other_price);
  // What the batteries sold, they sold in the peak: their sales' price is above what any
  // offer at the ordinary limit rate fetches (the midpoint with the highest bid).
  EXPECT_GT(battery_price, static_cast<int64_t>((s.offer_limit + s.bid_limit) / 2));
  // The batteries' evening exports are on chain: the peak periods sold energy.
  uint64_t peak_traded = 0;
  for (uint64_t q = 0; q < r.periods.size(); ++q)
    if (s.battery_peak(q)) peak_traded += r.periods[q].traded_wh;
  EXPECT_GT(peak_traded, 0u);
}

TEST(Scenario, BadInputGetsAClearErrorNamingTheField) {
  auto bad = [](const std::string& text, const std::string& expect) {
    auto r = parse_scenario(text, "s.toml");
    ASSERT_FALSE(r.is_ok()) << text;
    EXPECT_EQ(r.status().code, Code::kInvalidArgument);
    EXPECT_NE(r.status().message.find(expect), std::string::npos) << r.status().message;
  };
  bad("days = 0\n", "days must be in 1..");
  bad("colour = 3\n", "unknown field colour");
  bad("[households]\ncuont = 3\n", "unknown field households.cuont");
  bad("[prosumers]\nbattery_kwh = -1\n", "prosumers.battery_kwh must be in");
  bad("[shares]\nconsumers = 0.5\nprosumers = 0.5\nowners = 0.5\n", "must add up to 1");
  bad("start_date = \"2025-02-30\"\n", "start_date");
  bad("[households]\ncount = 100000\n\ndays = 366\n", "");  // TOML: key after table
  bad("days = 366\n[households]\ncount = 100000\n", "exceeds the bound");
  bad("[market]\nprice_rule = \"best\"\n", "price_rule");
  bad("days = \"two\"\n", "days must be an integer");
  bad("period_minutes = 5\n", "multiple of 15");
  bad("period_minutes = 7\n", "multiple of 15");
  bad("[[households]]\n", "");
  EXPECT_TRUE(parse_scenario(default_scenario_toml(), "default").is_ok());
  EXPECT_TRUE(parse_scenario("", "empty").is_ok());  // every field has a default
}

}  // namespace
}  // namespace gridpact::sim
