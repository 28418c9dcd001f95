#include "sim/scenario.hpp"

#include <toml++/toml.h>

#include <cmath>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include "sim/physics.hpp"

namespace gridpact::sim {

const std::string& default_scenario_toml() {
  static const std::string text = R"(# GridPact community simulation: the built-in default scenario.
# Every field is optional; a missing one takes the value shown here. Money is in
# micro-units (1e-6 of the currency), prices in micro-units per kWh.

seed = 42                   # same scenario + seed = same report and state root
start_date = "2025-06-02"   # UTC; the first simulated day
days = 2
period_minutes = 15         # settlement period: a multiple of 15 dividing a day
latitude = 50.1             # degrees north (Frankfurt am Main)
longitude = 8.7             # degrees east
weather_variability = 0.6   # 0: every day like the monthly mean, 1: overcast to clear

[households]
count = 60
annual_kwh = 3500           # mean yearly use (BDEW H25 profile)
scale_spread = 0.3          # each household uses 1 +- spread times the mean
noise = 0.15                # each quarter-hour varies by 1 +- noise

[shares]                    # of households; must add up to 1
consumers = 0.5             # load only; some host a leased system
prosumers = 0.35            # PV (some also wind, some a battery); they trade surplus
owners = 0.15               # each leases a PV system to a consumer found by matching

[prosumers]
pv_kwp_min = 3.0
pv_kwp_max = 9.0
wind_share = 0.15           # of prosumers, with a small turbine as well
wind_kw = 5.0
wind_weibull_c = 6.5        # m/s at hub height
wind_weibull_k = 2.0
battery_share = 0.4         # of prosumers
battery_kwh = 8.0
battery_kw = 3.0
battery_efficiency = 0.9    # round trip
battery_peak_from = 17      # batteries store surplus and sell it in the evening peak,
battery_peak_to = 21        # hours [from, to); equal: they only cover their home's load

[leases]
pv_kwp = 6.0
lease_to_own_share = 0.4    # the rest are plain leases
tariff = 150000             # what the host pays the owner per kWh it uses
instalment_per_day = 1500000  # lease-to-own: paid to the owner each day

[grid]
retail_tariff = 300000
feed_in_tariff = 80000
microgrids = 2
fee_within = 0              # the operator's zone fee inside a microgrid, per kWh
fee_between = 20000         # and between microgrids

[market]
price_rule = "pay-as-clear" # pay-as-clear, pay-as-bid or midpoint

[strategy]                  # prices move from start to limit before the gate closes
bid_start = 140000
bid_limit = 290000
offer_start = 260000
offer_limit = 90000
price_updates = 0           # amendments after the first order (0..4); 0: at the limit
                            # at once. The market clears at the gate, where only an
                            # order's last price counts: updates give the same trades and
                            # cost one more signed transaction per order each.
green_only_share = 0.2      # of buyers: renewable sources only
local_only_share = 0.2      # of buyers: sellers in their own microgrid only
battery_peak_price = 250000 # batteries' offers in their peak hours
)";
  return text;
}

namespace {

class Checker {
 public:
  Checker(const toml::table& root, std::string source) : root_(root), source_(std::move(source)) {}

  Status status() const { return status_; }

  // A number in [lo, hi] at `table.key` ("" = top level).
  void real(const std::string& table, const std::string& key, double& out, double lo, double hi) {
    const toml::node* n = find(table, key);
    if (!n || !status_) return;
    std::optional<double> v;
    if (auto d = n->value_exact<double>()) v = *d;
    if (auto i = n->value_exact<int64_t>()) v = static_cast<double>(*i);
    if (!v || !std::isfinite(*v)) return fail(path(table, key) + " must be a number");
    if (*v < lo || *v > hi)
      return fail(path(table, key) + " must be in " + fmt(lo) + ".." + fmt(hi) + ", not " +
                  fmt(*v));
    out = *v;
  }
  template <typename T>
  void integer(const std::string& table, const std::string& key, T& out, int64_t lo, int64_t hi) {
    const toml::node* n = find(table, key);
    if (!n || !status_) return;
    auto v = n->value_exact<int64_t>();
    if (!v) return fail(path(table, key) + " must be an integer");
    if (*v < lo || *v > hi)
      return fail(path(table, key) + " must be in " + std::to_string(lo) + ".." +
                  std::to_string(hi) + ", not " + std::to_string(*v));
    out = static_cast<T>(*v);
  }
  void string(const std::string& table, const std::string& key, std::string& out) {
    const toml::node* n = find(table, key);
    if (!n || !status_) return;
    auto v = n->value_exact<std::string>();
    if (!v) return fail(path(table, key) + " must be a string");
    out = *v;
  }
  void fail(const std::string& m) {
    if (status_) status_ = error(Code::kInvalidArgument, source_ + ": " + m);
  }
  // Refuses every key that no reader asked for.
  void refuse_unknown() {
    for (const auto& [k, v] : root_) {
      std::string key(k.str());
      if (v.is_table()) {
        if (!tables_.count(key)) return fail("unknown table [" + key + "]");
        for (const auto& [k2, v2] : *v.as_table())
          if (!known_.count(key + "." + std::string(k2.str())))
            return fail("unknown field " + key + "." + std::string(k2.str()));
      } else if (!known_.count(key)) {
        return fail("unknown field " + key);
      }
    }
  }

 private:
  static std::string path(const std::string& table, const std::string& key) {
    return table.empty() ? key : table + "." + key;
  }
  static std::string fmt(double v) {
    std::ostringstream o;
    o << v;
    return o.str();
  }
  const toml::node* find(const std::string& table, const std::string& key) {
    known_.insert(path(table, key));
    if (!table.empty()) tables_.insert(table);
    if (table.empty()) return root_.get(key);
    const toml::node* t = root_.get(table);
    if (!t) return nullptr;
    if (!t->is_table()) {
      fail("[" + table + "] must be a table");
      return nullptr;
    }
    return t->as_table()->get(key);
  }

  const toml::table& root_;
  std::string source_;
  Status status_;
  std::set<std::string> known_, tables_;
};

}  // namespace

Result<Scenario> parse_scenario(const std::string& text, const std::string& source) {
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    std::ostringstream o;
    o << source << ":" << e.source().begin.line << ": " << e.description();
    return error(Code::kInvalidArgument, o.str());
  }
  Scenario s;
  Checker c(root, source);
  c.integer("", "seed", s.seed, 0, INT64_MAX);
  c.string("", "start_date", s.start_date);
  c.integer("", "days", s.days, 1, kMaxDays);
  c.integer("", "period_minutes", s.period_minutes, 1, 1440);
  c.real("", "latitude", s.latitude, -66, 66);
  c.real("", "longitude", s.longitude, -180, 180);
  c.real("", "weather_variability", s.weather_variability, 0, 1);

  c.integer("households", "count", s.households, 2, kMaxHouseholds);
  c.real("households", "annual_kwh", s.annual_kwh, 100, 100'000);
  c.real("households", "scale_spread", s.scale_spread, 0, 0.9);
  c.real("households", "noise", s.noise, 0, 0.9);

  c.real("shares", "consumers", s.consumer_share, 0, 1);
  c.real("shares", "prosumers", s.prosumer_share, 0, 1);
  c.real("shares", "owners", s.owner_share, 0, 1);

  c.real("prosumers", "pv_kwp_min", s.pv_kwp_min, 0, 1000);
  c.real("prosumers", "pv_kwp_max", s.pv_kwp_max, 0, 1000);
  c.real("prosumers", "wind_share", s.wind_share, 0, 1);
  c.real("prosumers", "wind_kw", s.wind_kw, 0, 1000);
  c.real("prosumers", "wind_weibull_c", s.wind_weibull_c, 0.5, 30);
  c.real("prosumers", "wind_weibull_k", s.wind_weibull_k, 0.5, 10);
  c.real("prosumers", "battery_share", s.battery_share, 0, 1);
  c.real("prosumers", "battery_kwh", s.battery_kwh, 0, 10'000);
  c.real("prosumers", "battery_kw", s.battery_kw, 0, 10'000);
  c.real("prosumers", "battery_efficiency", s.battery_efficiency, 0.1, 1);
  c.integer("prosumers", "battery_peak_from", s.battery_peak_from, 0, 24);
  c.integer("prosumers", "battery_peak_to", s.battery_peak_to, 0, 24);

  c.real("leases", "pv_kwp", s.lease_pv_kwp, 0.1, 1000);
  c.real("leases", "lease_to_own_share", s.lease_to_own_share, 0, 1);
  c.integer("leases", "tariff", s.lease_tariff, 0, 10'000'000);
  c.integer("leases", "instalment_per_day", s.lease_instalment, 0, 1'000'000'000);

  c.integer("grid", "retail_tariff", s.retail_tariff, 0, 10'000'000);
  c.integer("grid", "feed_in_tariff", s.feed_in_tariff, 0, 10'000'000);
  c.integer("grid", "microgrids", s.microgrids, 1, kMaxMicrogrids);
  c.integer("grid", "fee_within", s.fee_within, 0, 10'000'000);
  c.integer("grid", "fee_between", s.fee_between, 0, 10'000'000);

  c.string("market", "price_rule", s.price_rule);

  c.integer("strategy", "bid_start", s.bid_start, 0, 10'000'000);
  c.integer("strategy", "bid_limit", s.bid_limit, 0, 10'000'000);
  c.integer("strategy", "offer_start", s.offer_start, 0, 10'000'000);
  c.integer("strategy", "offer_limit", s.offer_limit, 0, 10'000'000);
  c.integer("strategy", "price_updates", s.price_updates, 0, 4);
  c.real("strategy", "green_only_share", s.green_only_share, 0, 1);
  c.real("strategy", "local_only_share", s.local_only_share, 0, 1);
  c.integer("strategy", "battery_peak_price", s.battery_peak_price, 0, 10'000'000);
  c.refuse_unknown();
  if (!c.status()) return c.status();

  auto bad = [&](const std::string& m) { return error(Code::kInvalidArgument, source + ": " + m); };
  double total = s.consumer_share + s.prosumer_share + s.owner_share;
  if (std::fabs(total - 1.0) > 1e-9)
    return bad("shares.consumers + shares.prosumers + shares.owners must add up to 1, not " +
               std::to_string(total));
  if (s.owner_share > s.consumer_share)
    return bad("shares.owners must not exceed shares.consumers: each owner needs a host");
  if (s.pv_kwp_min > s.pv_kwp_max) return bad("prosumers.pv_kwp_min exceeds pv_kwp_max");
  // The load profile is in quarter-hours: a period is a whole number of them.
  if (s.period_minutes % 15 != 0 || 1440 % s.period_minutes != 0)
    return bad("period_minutes must be a multiple of 15 that divides a day (15, 30, 45, 60, ...)");
  if (s.price_rule != "pay-as-clear" && s.price_rule != "pay-as-bid" && s.price_rule != "midpoint")
    return bad("market.price_rule must be pay-as-clear, pay-as-bid or midpoint");
  if (s.bid_start > s.bid_limit) return bad("strategy.bid_start must not exceed bid_limit");
  if (s.offer_start < s.offer_limit)
    return bad("strategy.offer_start must not be below offer_limit");
  if (s.bid_limit > s.retail_tariff)
    return bad("strategy.bid_limit above grid.retail_tariff: nobody pays more than the grid");
  unsigned y = 0, m = 0, d = 0;
  char dash1 = 0, dash2 = 0, rest = 0;
  if (std::sscanf(s.start_date.c_str(), "%4u%c%2u%c%2u%c", &y, &dash1, &m, &dash2, &d, &rest) !=
          5 ||
      dash1 != '-' || dash2 != '-' || y < 1971 || y > 2200 || m < 1 || m > 12 || d < 1 ||
      civil_from_days(days_from_civil(static_cast<int>(y), m, d)).day != d)
    return bad("start_date must be a date YYYY-MM-DD (1971..2200), not '" + s.start_date + "'");
  if (uint64_t{s.households} * s.total_periods() > kMaxHouseholdPeriods)
    return bad(
        "households x periods = " + std::to_string(uint64_t{s.households} * s.total_periods()) +
        " exceeds the bound of " + std::to_string(kMaxHouseholdPeriods) +
        " (about 35 million signed readings)");
  return s;
}

int64_t start_day(const Scenario& s) {
  unsigned y = 0, m = 0, d = 0;
  std::sscanf(s.start_date.c_str(), "%4u-%2u-%2u", &y, &m, &d);
  return days_from_civil(static_cast<int>(y), m, d);
}

}  // namespace gridpact::sim
