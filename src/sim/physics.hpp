// The physical models behind the simulated community, each with its source. They work in
// floating point (they make the inputs); everything handed to the ledger is rounded to
// integer Wh first.
//
//   Solar position   Spencer (1971) Fourier series for declination and the equation of
//                    time, as in NOAA's solar calculator notes; hour angle from true solar
//                    time. Accurate to a few tenths of a degree.
//   Clear sky        Haurwitz (1945): GHI = 1098 cos(z) exp(-0.059 / cos(z)) W/m2, the
//                    model pvlib ships as `haurwitz` (Reno, Hansen & Stein, Sandia 2012).
//   Clouds           a daily clear-sky index around a monthly mean for central Europe,
//                    spread by the scenario's weather variability, with quarter-hour noise.
//   PV               P = kWp x GHI / 1000 x PR (performance ratio 0.85 by default and a
//                    tilt gain for south-facing modules): the simple yield model of
//                    IEC 61724; calibrated so that a year at 50 N gives about 1,000 kWh/kWp
//                    (PVGIS: 900-1,100 kWh/kWp in Germany).
//   Wind             hub-height speeds Weibull(k, c) with hour-to-hour persistence (an AR(1)
//                    Gaussian mapped through the Weibull quantile); a generic turbine power
//                    curve: cubic between cut-in and rated speed, rated up to cut-out.
//   Battery          capacity, charge/discharge power and round-trip efficiency limits
//                    (split evenly between charging and discharging), integer Wh.
#pragma once

#include <array>
#include <cstdint>

#include "sim/rng.hpp"

namespace gridpact::sim {

constexpr double kPi = 3.14159265358979323846;
constexpr double kDeg = kPi / 180.0;

// Calendar helpers (proleptic Gregorian, UTC).
int64_t days_from_civil(int y, unsigned m, unsigned d);  // days since 1970-01-01
struct CivilDate {
  int year;
  unsigned month, day;
};
CivilDate civil_from_days(int64_t days);
int day_of_year(int64_t days);  // 1..366
int weekday(int64_t days);      // 0 = Sunday .. 6 = Saturday

// Solar elevation (degrees above the horizon, no refraction) at `unix_s` for a place.
double solar_elevation_deg(double lat_deg, double lon_deg, double unix_s);

// Clear-sky global horizontal irradiance (W/m2) for a solar elevation (Haurwitz).
double clear_sky_ghi(double elevation_deg);

// Monthly mean clear-sky index (measured GHI / clear-sky GHI) for central Europe.
double mean_clear_sky_index(unsigned month);

struct PvParams {
  double performance_ratio = 0.85;
  double tilt_gain = 1.10;  // south-facing modules at ~35 degrees over horizontal
};
// Energy (Wh) of a PV system of `kwp` over a quarter-hour with mean irradiance `ghi_w_m2`.
double pv_energy_wh(double kwp, double ghi_w_m2, double hours, const PvParams& p = {});

// The daily clear-sky index: the month's mean spread by `variability` (0: every day alike,
// 1: from overcast to clear), drawn from `rng`.
double daily_clear_sky_index(unsigned month, double variability, Rng& rng);

// A year of PV yield (kWh per kWp) at a latitude with the model above: clear sky, daily
// clouds drawn from `seed`, quarter-hour steps.
double yearly_pv_yield_kwh_per_kwp(double lat_deg, double lon_deg, int year, double variability,
                                   uint64_t seed);

struct WindParams {
  double weibull_k = 2.0;
  double weibull_c = 7.0;  // m/s at hub height
  double persistence = 0.9;
  double cut_in = 3.0, rated_speed = 12.0, cut_out = 25.0;
};
// Fraction of rated power at wind speed `v` (m/s).
double turbine_power_fraction(double v, const WindParams& p = {});
// Weibull quantile: the speed with cumulative probability u.
double weibull_speed(double u, const WindParams& p);

// Hourly wind speeds with persistence: call next() once per hour.
class WindSeries {
 public:
  WindSeries(const WindParams& p, uint64_t seed, uint64_t label);
  double next();

 private:
  WindParams p_;
  Rng rng_;
  double z_ = 0;
};

struct BatteryParams {
  int64_t capacity_wh = 0;
  int64_t power_w = 0;
  double round_trip_efficiency = 0.9;
};
// A battery behind the meter. step() takes the household's net position over a period
// (generation - load, Wh; positive = surplus) and returns what is left for the grid.
// Modes: cover the home's deficit from the store; hold (store surplus, keep the charge);
// sell (discharge at full power: the home's deficit first, the rest exported).
enum class BatteryMode { kCover, kHold, kSell };
class Battery {
 public:
  explicit Battery(const BatteryParams& p, double hours_per_step);
  int64_t step(int64_t surplus_wh, BatteryMode mode = BatteryMode::kCover);
  int64_t stored_wh() const { return stored_; }
  const BatteryParams& params() const { return p_; }

 private:
  BatteryParams p_;
  int64_t max_step_wh_;
  double eta_;  // one-way efficiency
  int64_t stored_ = 0;
};

}  // namespace gridpact::sim
