// A simulation scenario: who lives in the community, what they own, the tariffs and the
// market rules. Written as TOML (every field optional; defaults below); the built-in
// default is default_scenario_toml(). parse_scenario() checks the whole document before
// any work starts and refuses, with INVALID_ARGUMENT and the offending field's path:
// unknown fields, wrong types, negative or out-of-range numbers, shares that do not add
// up to 1, zero days, runs larger than the bounds below.
//
// Money is in micro-units (1e-6 of the currency unit), prices in micro-units per kWh.
#pragma once

#include <cstdint>
#include <string>

#include "base/error.hpp"

namespace gridpact::sim {

constexpr uint32_t kMaxHouseholds = 100'000;
constexpr uint32_t kMaxDays = 366;
constexpr uint32_t kMaxMicrogrids = 16;
// Bound of a run's size (households x periods): about 35 million meter readings.
constexpr uint64_t kMaxHouseholdPeriods = 35'000'000;

struct Scenario {
  // Run.
  uint64_t seed = 42;
  std::string start_date = "2025-06-02";  // YYYY-MM-DD, UTC midnight
  uint32_t days = 2;
  uint32_t period_minutes = 15;  // a multiple of 15 that divides a day
  double latitude = 50.1, longitude = 8.7;
  double weather_variability = 0.6;  // 0: every day like the monthly mean; 1: overcast..clear

  // Households.
  uint32_t households = 60;
  double annual_kwh = 3500;   // mean yearly use
  double scale_spread = 0.3;  // per-household factor, uniform in 1 +- spread
  double noise = 0.15;        // per-period factor, uniform in 1 +- noise
  double consumer_share = 0.5, prosumer_share = 0.35, owner_share = 0.15;

  // Prosumers.
  double pv_kwp_min = 3, pv_kwp_max = 9;
  double wind_share = 0.15;  // of prosumers, who also have a small turbine
  double wind_kw = 5;
  double wind_weibull_c = 6.5, wind_weibull_k = 2.0;
  double battery_share = 0.4;  // of prosumers
  double battery_kwh = 8, battery_kw = 3, battery_efficiency = 0.9;
  // Batteries trade: outside the evening peak [from, to) (hours of the day) they store
  // surplus and keep it; in the peak they discharge at full power, covering the home's
  // load and offering the rest at battery_peak_price. from == to: they only cover load.
  uint32_t battery_peak_from = 17, battery_peak_to = 21;

  // Owners lease a PV system each to a consumer household found by matching.
  double lease_pv_kwp = 6;
  double lease_to_own_share = 0.4;        // of leases; the rest are plain leases
  uint64_t lease_tariff = 150'000;        // micro per kWh the host uses
  uint64_t lease_instalment = 1'500'000;  // micro per day (lease-to-own)

  // Grid and market.
  uint64_t retail_tariff = 300'000;
  uint64_t feed_in_tariff = 80'000;
  std::string price_rule = "pay-as-clear";  // pay-as-clear, pay-as-bid, midpoint
  uint32_t microgrids = 2;
  uint64_t fee_within = 0;        // zone fee inside a microgrid, micro per kWh
  uint64_t fee_between = 20'000;  // between microgrids

  // Strategies (as gsy-e's agents: from a start rate to a limit rate within the window).
  uint64_t bid_start = 140'000, bid_limit = 290'000;
  uint64_t offer_start = 260'000, offer_limit = 90'000;
  uint32_t price_updates = 0;             // amendments between the first order and the gate
  double green_only_share = 0.2;          // of buyers: renewable sources only
  double local_only_share = 0.2;          // of buyers: sellers of their own microgrid only
  uint64_t battery_peak_price = 250'000;  // batteries' offers in the peak (micro per kWh)

  uint64_t period_ms() const { return uint64_t{period_minutes} * 60'000; }
  uint32_t periods_per_day() const { return 24 * 60 / period_minutes; }
  uint64_t total_periods() const { return uint64_t{days} * periods_per_day(); }
  // Whether period q of the run (from 0) starts in the batteries' peak hours.
  bool battery_peak(uint64_t q) const {
    const uint64_t hour = q % periods_per_day() * period_minutes / 60;
    return hour >= battery_peak_from && hour < battery_peak_to;
  }
};

// The built-in default scenario, as a documented TOML document.
const std::string& default_scenario_toml();

// Parses and checks a scenario document; `source` names it in errors.
Result<Scenario> parse_scenario(const std::string& text, const std::string& source);

// Days since 1970-01-01 of the scenario's start date (checked by parse_scenario).
int64_t start_day(const Scenario& s);

}  // namespace gridpact::sim
