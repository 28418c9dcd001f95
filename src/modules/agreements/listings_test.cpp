// Listings, matching, paged queries, the block log, the due index, sharded billing and
// conservation of money; queries and payload views.
#include "modules/agreements/testing.hpp"

namespace gridpact::agreements {
namespace {

using namespace test;

TEST_F(AgreementsTest, MatchingRanksListedAssetsForPremises) {
  uint64_t small = register_asset(owner, 2000);
  uint64_t big = register_asset(owner, 7000);
  uint64_t too_big = register_asset(owner, 9000);  // 40 m2 * 200 W = 8000 W
  uint64_t wind = register_asset(owner, 1000, AssetType::kWind);
  uint64_t prem = register_premises(host, 40);
  auto r = agreements.query(chain->store(), "match", {{"premises", std::to_string(prem)}});
  ASSERT_TRUE(r.is_ok()) << r.status().message;
  auto m = (*r)["matches"];
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0]["asset"], big);  // uses the area better
  EXPECT_EQ(m[1]["asset"], small);
  (void)too_big;
  (void)wind;
  auto f = agreements.query(chain->store(), "match",
                            {{"premises", std::to_string(prem)}, {"max_w", "5000"}});
  EXPECT_EQ((*f)["matches"].size(), 1u);
  auto bad = agreements.query(chain->store(), "match", {{"premises", "x"}});
  EXPECT_EQ(bad.status().code, Code::kInvalidArgument);
  EXPECT_EQ(agreements.query(chain->store(), "match", {{"premises", "1"}, {"type", "coal"}})
                .status()
                .code,
            Code::kInvalidArgument);
}

// Issue 20: /assets and /match scanned every asset in state per call. Each call now examines
// at most kMaxExamined assets by id and answers `next`, where the following page resumes
// (after=); the radius is bounded as in /v1/db.
TEST_F(AgreementsTest, ListingQueriesExamineABoundedPageAndResume) {
  const uint64_t first = register_asset(owner, 2000);
  const uint64_t prem = register_premises(host, 40);
  // Many more listings, written straight into a view of state (a transaction and a meter
  // each would take minutes): copies of the first under the following ids.
  StateOverlay s(chain->store());
  Asset a = *find_asset(s, first);
  const uint64_t last = first + kMaxExamined + 1500;
  for (uint64_t id = first + 1; id <= last; ++id) {
    a.id = id;
    s.put(asset_key(id), encode_asset_state(a));
  }
  s.put("agr/next/asset", encode_u64(last));

  std::set<uint64_t> seen;
  json after = nullptr;
  size_t pages = 0;
  do {
    json params = {{"limit", "1000"}};
    if (!after.is_null()) params["after"] = std::to_string(after.get<uint64_t>());
    auto r = agreements.query(s, "assets", params);
    ASSERT_TRUE(r.is_ok()) << r.status().message;
    ASSERT_LE((*r)["assets"].size(), 1000u);
    for (const auto& x : (*r)["assets"]) EXPECT_TRUE(seen.insert(x["id"].get<uint64_t>()).second);
    after = (*r)["next"];
    ASSERT_LT(++pages, 20u);
  } while (!after.is_null());
  EXPECT_EQ(seen.size(), last);  // every listed asset once, ids 1..last
  EXPECT_EQ(*seen.rbegin(), last);

  // /match ranks within one page of examined assets: the first stops at kMaxExamined.
  json params = {{"premises", std::to_string(prem)}};
  auto m1 = agreements.query(s, "match", params);
  ASSERT_TRUE(m1.is_ok()) << m1.status().message;
  EXPECT_EQ((*m1)["next"], kMaxExamined);
  EXPECT_EQ((*m1)["matches"].size(), 20u);  // the default limit
  params["after"] = std::to_string(kMaxExamined);
  auto m2 = agreements.query(s, "match", params);
  ASSERT_TRUE(m2.is_ok()) << m2.status().message;
  EXPECT_TRUE((*m2)["next"].is_null());
  EXPECT_GT((*m2)["matches"][0]["asset"].get<uint64_t>(), kMaxExamined);

  params["radius_km"] = std::to_string(kMaxRadiusKm + 1);
  EXPECT_EQ(agreements.query(s, "match", params).status().code, Code::kInvalidArgument);
}

TEST_F(AgreementsTest, BlockLogRecordsEveryChangeInOrder) {
  uint64_t asset = register_asset(owner);
  uint64_t h = *chain->store().height();
  auto log = block_log(chain->store(), h);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].kind, LogKind::kAsset);
  EXPECT_EQ(log[0].id, asset);
  uint64_t prem = register_premises(host);
  Terms t = lease_to_own_template(args(asset, prem));
  uint64_t id = active(t);
  log = block_log(chain->store(), *chain->store().height());
  ASSERT_EQ(log.size(), 2u);  // the asset joins the agreement, the agreement activates
  EXPECT_EQ(log[0].kind, LogKind::kAsset);
  EXPECT_EQ(log[1].kind, LogKind::kAgreement);
  EXPECT_EQ(log[1].id, id);
  tick(due(t, 0));
  // One billed period: one entry for its payment and the agreement.
  log = block_log(chain->store(), *chain->store().height());
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].kind, LogKind::kBilled);
  EXPECT_EQ(log[0].id, id);
  EXPECT_EQ(log[0].period, 0u);
  // Two periods billed in one block (the last ends the agreement and transfers the
  // asset): the earlier is a payment entry, then the asset, then the agreement.
  tick(due(t, 2));
  log = block_log(chain->store(), *chain->store().height());
  ASSERT_EQ(log.size(), 4u);
  EXPECT_EQ(log[0].kind, LogKind::kPayment);
  EXPECT_EQ(log[0].period, 1u);
  EXPECT_EQ(log[1].kind, LogKind::kPayment);
  EXPECT_EQ(log[1].period, 2u);
  EXPECT_EQ(log[2].kind, LogKind::kAsset);
  EXPECT_EQ(log[3].kind, LogKind::kAgreement);
  EXPECT_EQ(state(id).status, Status8::kEnded);
}

TEST_F(AgreementsTest, DueIndexSkipsStaleEntries) {
  uint64_t asset = register_asset(owner);
  uint64_t prem = register_premises(host);
  Terms t = lease_to_own_template(args(asset, prem));
  uint64_t id = active(t);
  auto index = [&] {
    std::vector<std::pair<uint64_t, uint64_t>> out;  // (time, id)
    chain->store().scan("agr/due/", [&](std::string_view k, std::string_view v) {
      for (size_t i = 0; i + 8 <= v.size(); i += 8)
        out.emplace_back(*decode_u64(k.substr(8, 8)), *decode_u64(v.substr(i, 8)));
      return true;
    });
    return out;
  };
  EXPECT_EQ(index(), (std::vector<std::pair<uint64_t, uint64_t>>{{due(t, 0), id}}));
  tick(due(t, 0));
  // Period 0 billed: its time's entry is gone, the next period's is there.
  EXPECT_EQ(index(), (std::vector<std::pair<uint64_t, uint64_t>>{{due(t, 1), id}}));
  EXPECT_EQ(state(id).next_due_ms, due(t, 1));
  // Terminated: the entry stays (stale) until its time, then goes without billing.
  ASSERT_TRUE(tx(owner, kTerminate, encode(IdPayload{id})).ok());
  EXPECT_EQ(state(id).next_due_ms, 0u);
  EXPECT_EQ(index().size(), 1u);
  auto receipts = tick(due(t, 1));
  EXPECT_TRUE(index().empty());
  EXPECT_EQ(state(id).billed_periods, 1u);
  EXPECT_FALSE(find_payment(chain->store(), id, 1));
  for (const auto& r : receipts)
    for (const auto& e : r.events) EXPECT_NE(e.type, "agreements/billing");
}

// With many agreements due, billing runs in shards on several threads. Agreements that
// share an account are billed in one shard, in order, and the log and the due index are
// written in due order afterwards: the block must be the same bytes as with one thread.
TEST_F(AgreementsTest, BillingInShardsWritesTheSameBlockAsOneThread) {
  std::mt19937_64 rng(5);
  const size_t n = 700;  // above the number of due agreements that billing splits
  // Agreements 0..349 share 25 owners (each owner's agreements form one group); from 350
  // on, each has an owner of its own. Every tenth host also hosts the agreement before.
  std::vector<KeyPair> owners, hosts;
  std::vector<size_t> owner_of(n), host_of(n);
  for (size_t i = 0; i < n; ++i) {
    owner_of[i] = i < 350 ? i % 25 : 25 + (i - 350);
    if (owner_of[i] == owners.size()) owners.push_back(KeyPair::generate());
    if (i % 10 != 9) hosts.push_back(KeyPair::generate());
    host_of[i] = hosts.size() - 1;
  }
  // A meter per asset: a meter's export serves one agreement at a time (meters.hpp, "Uses").
  std::vector<Transaction> txs;
  std::vector<Hash32> meter_of_asset;
  for (size_t i = 0; i < n; ++i) {
    auto [t, m] = meter_registration(owners[owner_of[i]], meters::Source::kPv);
    txs.push_back(std::move(t));
    meter_of_asset.push_back(m->id);
  }
  all_ok(std::move(txs));
  txs.clear();
  for (const auto& h : hosts)  // some hosts can pay little or nothing
    txs.push_back(chain->sign(issuer, bank::kMint,
                              bank::encode(bank::MintPayload{
                                  h.public_key(), rng() % 4 ? 2'000'000'000 : 1 + rng() % 1000})));
  all_ok(std::move(txs));
  uint64_t first_asset = get_u64(chain->store(), "agr/next/asset") + 1;
  uint64_t first_premises = get_u64(chain->store(), "agr/next/prem") + 1;
  uint64_t first_agreement = get_u64(chain->store(), "agr/next/agt") + 1;
  txs.clear();
  for (size_t i = 0; i < n; ++i) {
    Asset a;
    a.capacity_w = 1000 + i;
    a.meter = meter_of_asset[i];
    txs.push_back(chain->sign(owners[owner_of[i]], kRegisterAsset, encode(a)));
    Premises p;
    p.area_m2 = 40;
    txs.push_back(chain->sign(hosts[host_of[i]], kRegisterPremises, encode(p)));
  }
  all_ok(std::move(txs));
  std::vector<Terms> terms;
  txs.clear();
  for (size_t i = 0; i < n; ++i) {
    TemplateArgs a = args(first_asset + i, first_premises + i);
    a.owner = owners[owner_of[i]].public_key();
    a.host = hosts[host_of[i]].public_key();
    a.start_ms = (now / kSettle + 10) * kSettle;
    a.periods = 1 + static_cast<uint32_t>(rng() % 3);
    a.instalment_micro = 1 + rng() % 600'000'000;
    Terms t = lease_to_own_template(a);
    if (rng() % 2) {
      t.grace_ms = kPeriod / 2;
      t.penalty_bps = 1000;
      t.default_ms = 2 * kPeriod;
    }
    terms.push_back(t);
    txs.push_back(chain->sign(owners[owner_of[i]], kPropose, encode_terms(t)));
  }
  all_ok(std::move(txs));
  txs.clear();
  for (size_t i = 0; i < n; ++i)
    txs.push_back(chain->sign(hosts[host_of[i]], kSign,
                              encode(SignPayload{first_agreement + i, terms_hash(terms[i])})));
  all_ok(std::move(txs));
  txs.clear();
  for (size_t i = 0; i < n; i += 50)  // leaves stale due entries behind
    txs.push_back(
        chain->sign(owners[owner_of[i]], kTerminate, encode(IdPayload{first_agreement + i})));
  all_ok(std::move(txs));
  ASSERT_EQ(state(first_agreement + 1).status, Status8::kActive);

  AgreementsModule one_thread(1), three_threads(3);
  Executor sequential(chain->store(), {&bank_module, &meters_module, &one_thread}, "test");
  Executor sharded(chain->store(), {&bank_module, &meters_module, &three_threads}, "test");
  const uint64_t supply = bank::supply(chain->store());
  const uint64_t start = terms[0].start_ms;
  uint64_t billed = 0;
  for (uint64_t t :
       {due(terms[0], 0), start + kPeriod * 3 / 2 + kSettle, due(terms[0], 1), due(terms[0], 2)}) {
    auto a = sequential.execute({}, t, true);
    auto b = sharded.execute({}, t, true);
    ASSERT_TRUE(a.is_ok() && b.is_ok());
    EXPECT_EQ(a->block.header.state_root, b->block.header.state_root) << "at " << t;
    EXPECT_TRUE(a->state_changes == b->state_changes) << "at " << t;
    ASSERT_EQ(a->receipts.size(), b->receipts.size());
    for (size_t i = 0; i < a->receipts.size(); ++i)
      EXPECT_EQ(a->receipts[i].encode(), b->receipts[i].encode());
    for (const auto& r : a->receipts)
      for (const auto& e : r.events)
        if (e.type == "agreements/billing")
          billed += one_thread.event_json(e).value()["billed"].get<uint64_t>();
    ASSERT_TRUE(chain->store().commit(b.value()).is_ok());
    now = t;
    ASSERT_EQ(total_money(), supply);
  }
  // Every period of every agreement not terminated was billed, some paid, some missed.
  uint64_t periods = 0, paid = 0, missed = 0;
  for (size_t i = 0; i < n; ++i) {
    if (i % 50 == 0) continue;
    periods += terms[i].periods;
    for (uint32_t k = 0; k < terms[i].periods; ++k) {
      auto p = find_payment(chain->store(), first_agreement + i, k);
      if (!p) continue;
      (p->status == PaymentStatus::kPaid ? paid : missed)++;
    }
  }
  EXPECT_GT(paid, 0u);
  EXPECT_GT(missed, 0u);
  EXPECT_LE(billed, periods);
  EXPECT_EQ(billed, paid + missed);
  EXPECT_GT(billed, n);
}

TEST_F(AgreementsTest, MoneyIsConservedUnderRandomAgreementTraffic) {
  std::mt19937_64 rng(42);
  uint64_t supply = bank::supply(chain->store());
  std::vector<uint64_t> ids;
  for (int i = 0; i < 6; ++i) {
    uint64_t asset = register_asset(owner, 1000 + static_cast<uint64_t>(i));
    uint64_t prem = register_premises(host);
    TemplateArgs a = args(asset, prem);
    a.instalment_micro = 1 + rng() % 600'000'000;  // sometimes more than the host can pay
    a.periods = 1 + static_cast<uint32_t>(rng() % 4);
    Terms t = lease_to_own_template(a);
    t.termination_fee_micro = rng() % 3 ? 0 : rng() % 2'000'000'000;
    ids.push_back(active(t));
  }
  for (int step = 0; step < 40; ++step) {
    uint64_t id = ids[rng() % ids.size()];
    switch (rng() % 4) {
      case 0:
        tx(host, kPay, encode(IdPayload{id}));
        break;
      case 1:
        tx(rng() % 2 ? owner : host, kTerminate, encode(IdPayload{id}));
        break;
      case 2:
        tx(issuer, bank::kMint, bank::encode(bank::MintPayload{host.public_key(), 50'000'000}));
        supply += 50'000'000;
        break;
      default:
        tick(now + kPeriod / 2);
        break;
    }
    ASSERT_EQ(bank::supply(chain->store()), supply);
    ASSERT_EQ(total_money(), supply);
  }
}

TEST_F(AgreementsTest, ListingsNeedARegisteredMeterOfTheirOwn) {
  Asset a;
  a.capacity_w = 1000;
  a.meter = sha256("no such meter");
  EXPECT_EQ(tx(owner, kRegisterAsset, encode(a)).code, code(kMeterNotFound));
  auto theirs = add_meter(host, meters::Source::kPv);
  a.meter = theirs->id;
  EXPECT_EQ(tx(owner, kRegisterAsset, encode(a)).code, code(kBadListing));
  a.meter = add_meter(owner, meters::Source::kPv)->id;
  a.capacity_w = 0;
  EXPECT_EQ(tx(owner, kRegisterAsset, encode(a)).code, code(kBadListing));
  a.capacity_w = 1000;
  a.lat_e6 = 91'000'000;
  EXPECT_EQ(tx(owner, kRegisterAsset, encode(a)).code, code(kBadListing));
  EXPECT_EQ(get_u64(chain->store(), "agr/next/asset"), 0u);
  Premises huge;
  huge.area_m2 = 20'000'000'000;
  EXPECT_EQ(tx(host, kRegisterPremises, encode(huge)).code, code(kBadListing));
  huge.area_m2 = 0;
  EXPECT_EQ(tx(host, kRegisterPremises, encode(huge)).code, code(kBadListing));
  EXPECT_EQ(get_u64(chain->store(), "agr/next/prem"), 0u);
}

TEST_F(AgreementsTest, QueriesAndPayloadViews) {
  uint64_t asset = register_asset(owner);
  uint64_t prem = register_premises(host);
  Terms t = lease_to_own_template(args(asset, prem));
  uint64_t id = active(t);
  tick(due(t, 0));
  auto q = [&](const std::string& path) {
    return agreements.query(chain->store(), path, json::object());
  };
  auto a = q("agreements/" + std::to_string(id));
  ASSERT_TRUE(a.is_ok());
  EXPECT_EQ((*a)["status"], "active");
  EXPECT_EQ((*a)["terms_hash"], terms_hash(t).hex());
  EXPECT_EQ((*a)["terms"]["kind"], "lease_to_own");
  auto pays = q("agreements/" + std::to_string(id) + "/payments");
  ASSERT_EQ((*pays)["payments"].size(), 1u);
  EXPECT_EQ((*pays)["payments"][0]["due"], t.instalment_micro);
  EXPECT_EQ((*q("assets/" + std::to_string(asset)))["agreement"], id);
  EXPECT_EQ((*q("premises/" + std::to_string(prem)))["host"], host.public_key().hex());
  EXPECT_EQ((*q("ratings/" + owner.public_key().hex()))["rating"], 3000);
  EXPECT_EQ(q("agreements/99").status().code, kAgreementNotFound);
  EXPECT_EQ(q("assets/x").status().code, Code::kNotFound);
  EXPECT_EQ(q("nope").status().code, Code::kNotFound);
  json view = agreements.payload_json(kPropose, encode_terms(t));
  EXPECT_EQ(view["terms_hash"], terms_hash(t).hex());
  EXPECT_EQ(agreements.payload_json(kRate, encode(RatePayload{id, 2, 4}))["score"], 4);
  EXPECT_TRUE(agreements.payload_json(kRate, Bytes{1}).contains("undecodable"));
}

}  // namespace
}  // namespace gridpact::agreements
