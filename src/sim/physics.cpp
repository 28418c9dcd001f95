#include "sim/physics.hpp"

#include <algorithm>
#include <cmath>

namespace gridpact::sim {

// Howard Hinnant's civil-date algorithms (public domain).
int64_t days_from_civil(int y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

CivilDate civil_from_days(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<int>(static_cast<int64_t>(yoe) + era * 400 + (m <= 2)), m, d};
}

int day_of_year(int64_t days) {
  CivilDate c = civil_from_days(days);
  return static_cast<int>(days - days_from_civil(c.year, 1, 1)) + 1;
}

int weekday(int64_t days) {
  return static_cast<int>(days >= -4 ? (days + 4) % 7 : (days + 5) % 7 + 6);
}

double solar_elevation_deg(double lat_deg, double lon_deg, double unix_s) {
  const auto days = static_cast<int64_t>(std::floor(unix_s / 86400.0));
  const double minutes_utc = (unix_s - static_cast<double>(days) * 86400.0) / 60.0;
  const int doy = day_of_year(days);
  // Fractional year (radians), Spencer / NOAA.
  const double g = 2.0 * kPi / 365.0 * (doy - 1 + (minutes_utc / 60.0 - 12.0) / 24.0);
  const double eot_min = 229.18 * (0.000075 + 0.001868 * std::cos(g) - 0.032077 * std::sin(g) -
                                   0.014615 * std::cos(2 * g) - 0.040849 * std::sin(2 * g));
  const double decl = 0.006918 - 0.399912 * std::cos(g) + 0.070257 * std::sin(g) -
                      0.006758 * std::cos(2 * g) + 0.000907 * std::sin(2 * g) -
                      0.002697 * std::cos(3 * g) + 0.00148 * std::sin(3 * g);
  const double true_solar_min = minutes_utc + eot_min + 4.0 * lon_deg;
  const double hour_angle = (true_solar_min / 4.0 - 180.0) * kDeg;
  const double lat = lat_deg * kDeg;
  double cos_zenith =
      std::sin(lat) * std::sin(decl) + std::cos(lat) * std::cos(decl) * std::cos(hour_angle);
  cos_zenith = std::clamp(cos_zenith, -1.0, 1.0);
  return 90.0 - std::acos(cos_zenith) / kDeg;
}

double clear_sky_ghi(double elevation_deg) {
  if (elevation_deg <= 0) return 0;
  const double cz = std::sin(elevation_deg * kDeg);
  return 1098.0 * cz * std::exp(-0.059 / cz);
}

double mean_clear_sky_index(unsigned month) {
  // Ratio of long-term mean GHI to clear-sky GHI, central Europe (~50 N), by month:
  // cloudier winters, brighter late spring and summer.
  static constexpr std::array<double, 12> k = {0.43, 0.48, 0.52, 0.58, 0.60, 0.61,
                                               0.62, 0.61, 0.57, 0.50, 0.42, 0.40};
  return k[(month - 1) % 12];
}

double pv_energy_wh(double kwp, double ghi_w_m2, double hours, const PvParams& p) {
  return kwp * ghi_w_m2 * p.performance_ratio * p.tilt_gain * hours;
}

double daily_clear_sky_index(unsigned month, double variability, Rng& rng) {
  const double mean = mean_clear_sky_index(month);
  // A symmetric spread around the mean, kept inside [0.08, 1]: overcast to clear.
  const double spread = variability * std::min(mean - 0.08, 1.0 - mean);
  return std::clamp(mean + spread * (2.0 * rng.uniform() - 1.0) * 1.7, 0.08, 1.0);
}

double yearly_pv_yield_kwh_per_kwp(double lat_deg, double lon_deg, int year, double variability,
                                   uint64_t seed) {
  const int64_t first = days_from_civil(year, 1, 1), last = days_from_civil(year + 1, 1, 1);
  double wh = 0;
  Rng rng(seed, 0x5001);
  for (int64_t d = first; d < last; ++d) {
    const double k = daily_clear_sky_index(civil_from_days(d).month, variability, rng);
    for (int q = 0; q < 96; ++q) {
      const double mid = static_cast<double>(d) * 86400.0 + (q + 0.5) * 900.0;
      wh += pv_energy_wh(1.0, k * clear_sky_ghi(solar_elevation_deg(lat_deg, lon_deg, mid)), 0.25);
    }
  }
  return wh / 1000.0;
}

double turbine_power_fraction(double v, const WindParams& p) {
  if (v < p.cut_in || v >= p.cut_out) return 0;
  if (v >= p.rated_speed) return 1;
  const double c3 = p.cut_in * p.cut_in * p.cut_in;
  return (v * v * v - c3) / (p.rated_speed * p.rated_speed * p.rated_speed - c3);
}

double weibull_speed(double u, const WindParams& p) {
  u = std::clamp(u, 0.0, 1.0 - 1e-12);
  return p.weibull_c * std::pow(-std::log(1.0 - u), 1.0 / p.weibull_k);
}

WindSeries::WindSeries(const WindParams& p, uint64_t seed, uint64_t label)
    : p_(p), rng_(seed, 0x3117d, label) {
  z_ = rng_.normal();
}

double WindSeries::next() {
  z_ = p_.persistence * z_ + std::sqrt(1.0 - p_.persistence * p_.persistence) * rng_.normal();
  const double u = 0.5 * std::erfc(-z_ / std::sqrt(2.0));  // standard normal CDF
  return weibull_speed(u, p_);
}

Battery::Battery(const BatteryParams& p, double hours_per_step)
    : p_(p),
      max_step_wh_(
          static_cast<int64_t>(std::llround(static_cast<double>(p.power_w) * hours_per_step))),
      eta_(std::sqrt(std::clamp(p.round_trip_efficiency, 0.01, 1.0))) {}

int64_t Battery::step(int64_t surplus_wh, BatteryMode mode) {
  if (p_.capacity_wh <= 0 || max_step_wh_ <= 0) return surplus_wh;
  if (mode == BatteryMode::kSell) {
    const auto can_out = static_cast<int64_t>(std::floor(static_cast<double>(stored_) * eta_));
    const int64_t out = std::min(max_step_wh_, can_out);
    stored_ = std::max<int64_t>(0, stored_ - std::llround(static_cast<double>(out) / eta_));
    return surplus_wh + out;
  }
  if (surplus_wh <= 0 && mode == BatteryMode::kHold) return surplus_wh;
  if (surplus_wh > 0) {
    // Charging: what fits, after the charging loss.
    const auto room_in =
        static_cast<int64_t>(std::floor(static_cast<double>(p_.capacity_wh - stored_) / eta_));
    const int64_t in = std::min({surplus_wh, max_step_wh_, room_in});
    stored_ =
        std::min<int64_t>(p_.capacity_wh, stored_ + std::llround(static_cast<double>(in) * eta_));
    return surplus_wh - in;
  }
  // Discharging: what the store can deliver after the discharging loss.
  const auto can_out = static_cast<int64_t>(std::floor(static_cast<double>(stored_) * eta_));
  const int64_t out = std::min({-surplus_wh, max_step_wh_, can_out});
  stored_ = std::max<int64_t>(0, stored_ - std::llround(static_cast<double>(out) / eta_));
  return surplus_wh + out;
}

}  // namespace gridpact::sim
