#include "sim/community.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <thread>

#include "sim/bdew.hpp"

namespace gridpact::sim {

namespace {
// Labels of the random streams.
enum Stream : uint64_t { kRoles = 1, kHousehold, kLoadNoise, kClouds, kWind, kPlace };

int64_t wh(double v) {
  return v <= 0 ? 0 : static_cast<int64_t>(std::llround(v));
}

// Community-wide weather: irradiance per period and the wind turbines' power fraction.
void weather(const Scenario& s, Community& c, std::vector<double>& wind_fraction) {
  const uint64_t periods = s.total_periods();
  const uint32_t quarters = s.period_minutes / 15;
  const int64_t first_day = start_day(s);
  c.ghi.assign(periods, 0);
  wind_fraction.assign(periods, 0);
  WindParams wp;
  wp.weibull_c = s.wind_weibull_c;
  wp.weibull_k = s.wind_weibull_k;
  WindSeries wind(wp, s.seed, kWind);
  double speed = wind.next();
  for (uint64_t p = 0; p < periods; ++p) {
    const uint64_t day = p / s.periods_per_day();
    Rng day_rng(s.seed, kClouds, day);
    const double k_day =
        daily_clear_sky_index(civil_from_days(first_day + static_cast<int64_t>(day)).month,
                              s.weather_variability, day_rng);
    Rng q_rng(s.seed, kClouds + 100, p);
    double ghi = 0, wind_sum = 0;
    for (uint32_t q = 0; q < quarters; ++q) {
      const uint64_t quarter = p * quarters + q;
      if (quarter % 4 == 0 && quarter > 0) speed = wind.next();  // hourly speeds
      const double t =
          static_cast<double>(first_day) * 86400.0 + static_cast<double>(quarter) * 900.0 + 450.0;
      // Passing clouds: the day's index varies by up to 30 % around itself.
      const double k = std::clamp(
          k_day * (1.0 + 0.3 * s.weather_variability * (2.0 * q_rng.uniform() - 1.0)), 0.05, 1.0);
      ghi += k * clear_sky_ghi(solar_elevation_deg(s.latitude, s.longitude, t));
      wind_sum += turbine_power_fraction(speed, wp);
    }
    c.ghi[p] = ghi / quarters;
    wind_fraction[p] = wind_sum / quarters;
  }
}

void household_flows(const Scenario& s, const Community& c,
                     const std::vector<double>& wind_fraction, const Household& h,
                     double hosted_kwp, Flows& f) {
  const uint64_t periods = s.total_periods();
  const uint32_t quarters = s.period_minutes / 15;
  const double hours = s.period_minutes / 60.0;
  const int64_t first_day = start_day(s);
  const LoadProfile& profile = LoadProfile::household();
  Rng noise(s.seed, kLoadNoise, h.index);
  Battery battery(h.battery, hours);
  f.load.assign(periods, 0);
  f.generation.assign(periods, 0);
  f.import.assign(periods, 0);
  f.export_wh.assign(periods, 0);
  f.asset_wh.assign(periods, 0);
  for (uint64_t p = 0; p < periods; ++p) {
    double kwh = 0;
    for (uint32_t q = 0; q < quarters; ++q) {
      const uint64_t quarter = p * quarters + q;
      kwh += profile.kwh(first_day + static_cast<int64_t>(quarter / 96),
                         static_cast<int>(quarter % 96));
    }
    const double load =
        kwh * h.annual_kwh / 1e6 * 1000.0 * (1.0 + s.noise * (2.0 * noise.uniform() - 1.0));
    const double own = pv_energy_wh(h.pv_kwp + hosted_kwp, c.ghi[p], hours) +
                       h.wind_kw * 1000.0 * wind_fraction[p] * hours;
    f.load[p] = wh(load);
    f.generation[p] = wh(own);
    f.asset_wh[p] = wh(pv_energy_wh(h.leased_pv_kwp, c.ghi[p], hours));
    const BatteryMode mode = s.battery_peak_from == s.battery_peak_to ? BatteryMode::kCover
                             : s.battery_peak(p)                      ? BatteryMode::kSell
                                                                      : BatteryMode::kHold;
    const int64_t grid = battery.step(f.generation[p] - f.load[p], mode);
    f.import[p] = grid < 0 ? -grid : 0;
    f.export_wh[p] = grid > 0 ? grid : 0;
  }
}

}  // namespace

std::string_view role_name(Role r) {
  switch (r) {
    case Role::kConsumer:
      return "consumer";
    case Role::kProsumer:
      return "prosumer";
    case Role::kOwner:
      return "owner";
    case Role::kHost:
      return "host";
  }
  return "?";
}

void parallel_for(size_t n, unsigned threads, const std::function<void(size_t)>& fn) {
  threads = std::max(1u, threads);
  // Small batches run inline: handing them to threads costs more than it saves.
  if (threads == 1 || n < 256) {
    for (size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  std::atomic<size_t> next{0};
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t)
    pool.emplace_back([&] {
      for (size_t i = next++; i < n; i = next++) fn(i);
    });
  for (auto& t : pool) t.join();
}

Community build_community(const Scenario& s, unsigned threads) {
  Community c;
  const uint32_t n = s.households;
  const auto n_prosumers = static_cast<uint32_t>(std::llround(n * s.prosumer_share));
  auto n_owners = static_cast<uint32_t>(std::llround(n * s.owner_share));
  n_owners = std::min(n_owners, n - n_prosumers);
  const uint32_t n_consumers = n - n_prosumers - n_owners;
  n_owners = std::min(n_owners, n_consumers);  // every owner needs a host
  // A seeded shuffle of the roles, so that roles do not follow household numbers.
  std::vector<Role> roles;
  for (uint32_t i = 0; i < n; ++i)
    roles.push_back(i < n_prosumers              ? Role::kProsumer
                    : i < n_prosumers + n_owners ? Role::kOwner
                                                 : Role::kConsumer);
  Rng shuffle(s.seed, kRoles);
  for (uint32_t i = n; i > 1; --i) std::swap(roles[i - 1], roles[shuffle.below(i)]);
  c.households.resize(n);
  for (uint32_t i = 0; i < n; ++i) {
    Household& h = c.households[i];
    Rng r(s.seed, kHousehold, i);
    h.index = i;
    h.role = roles[i];
    h.microgrid = i % s.microgrids;
    h.annual_kwh = s.annual_kwh * (1.0 + s.scale_spread * (2.0 * r.uniform() - 1.0));
    const double u_pv = r.uniform(), u_wind = r.uniform(), u_bat = r.uniform(),
                 u_green = r.uniform(), u_local = r.uniform();
    if (h.role == Role::kProsumer) {
      h.pv_kwp = s.pv_kwp_min + (s.pv_kwp_max - s.pv_kwp_min) * u_pv;
      if (u_wind < s.wind_share) h.wind_kw = s.wind_kw;
      if (u_bat < s.battery_share)
        h.battery = {static_cast<int64_t>(std::llround(s.battery_kwh * 1000)),
                     static_cast<int64_t>(std::llround(s.battery_kw * 1000)), s.battery_efficiency};
    }
    if (h.role == Role::kOwner) {
      h.leased_pv_kwp = s.lease_pv_kwp;
      c.owners.push_back(i);
    }
    h.green_only = u_green < s.green_only_share;
    h.local_only = u_local < s.local_only_share;
    Rng place(s.seed, kPlace, i);
    h.lat = s.latitude + place.uniform(-0.02, 0.02);  // within about 2 km
    h.lon = s.longitude + place.uniform(-0.03, 0.03);
  }
  // The first consumers (in household order) host the owners' systems.
  for (uint32_t i = 0; i < n && c.hosts.size() < c.owners.size(); ++i)
    if (c.households[i].role == Role::kConsumer) {
      c.households[i].role = Role::kHost;
      c.hosts.push_back(i);
    }
  std::vector<double> wind_fraction;
  weather(s, c, wind_fraction);
  c.flows.resize(n);
  parallel_for(n, threads, [&](size_t i) {
    household_flows(s, c, wind_fraction, c.households[i], 0, c.flows[i]);
  });
  return c;
}

void apply_leases(const Scenario& s, Community& c, const std::vector<int64_t>& owner_of_host,
                  unsigned threads) {
  std::vector<double> wind_fraction;
  {
    Community scratch;
    weather(s, scratch, wind_fraction);
  }
  parallel_for(c.hosts.size(), threads, [&](size_t k) {
    if (owner_of_host[k] < 0) return;
    const Household& owner = c.households[static_cast<size_t>(owner_of_host[k])];
    household_flows(s, c, wind_fraction, c.households[c.hosts[k]], owner.leased_pv_kwp,
                    c.flows[c.hosts[k]]);
  });
}

}  // namespace gridpact::sim
