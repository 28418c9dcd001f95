// The simulator's physical models against published reference values.
#include <gtest/gtest.h>

#include <cmath>

#include "sim/bdew.hpp"
#include "sim/physics.hpp"

namespace gridpact::sim {
namespace {

double unix_s(int y, unsigned m, unsigned d, int hh, int mm) {
  return static_cast<double>(days_from_civil(y, m, d)) * 86400.0 + hh * 3600.0 + mm * 60.0;
}

TEST(Calendar, CivilDatesAndWeekdays) {
  EXPECT_EQ(days_from_civil(1970, 1, 1), 0);
  EXPECT_EQ(days_from_civil(2000, 3, 1), 11017);
  auto c = civil_from_days(days_from_civil(2024, 2, 29));
  EXPECT_EQ(c.year, 2024);
  EXPECT_EQ(c.month, 2u);
  EXPECT_EQ(c.day, 29u);
  EXPECT_EQ(weekday(0), 4);                             // 1970-01-01 was a Thursday
  EXPECT_EQ(weekday(days_from_civil(2025, 6, 21)), 6);  // a Saturday
  EXPECT_EQ(day_of_year(days_from_civil(2024, 12, 31)), 366);
}

TEST(SolarPosition, BerlinSunriseOnTheSolstice) {
  // Berlin (52.52 N, 13.405 E), 21 June 2025: sunrise 04:43 CEST = 02:43 UTC (timeanddate,
  // NOAA), when the sun's centre is 0.833 degrees below the horizon (refraction + radius).
  double e = solar_elevation_deg(52.52, 13.405, unix_s(2025, 6, 21, 2, 43));
  EXPECT_NEAR(e, -0.833, 0.45);
  // Sunset 21:33 CEST = 19:33 UTC.
  EXPECT_NEAR(solar_elevation_deg(52.52, 13.405, unix_s(2025, 6, 21, 19, 33)), -0.833, 0.45);
}

TEST(SolarPosition, NoonElevationIsColatitudePlusDeclination) {
  // At the June solstice the noon sun stands 90 - 52.52 + 23.44 = 60.92 degrees high.
  double best = -90;
  for (int m = 0; m < 24 * 60; ++m)
    best = std::max(best, solar_elevation_deg(52.52, 13.405, unix_s(2025, 6, 21, 0, m)));
  EXPECT_NEAR(best, 60.92, 0.25);
  // On the December solstice: 90 - 52.52 - 23.44 = 14.04.
  best = -90;
  for (int m = 0; m < 24 * 60; ++m)
    best = std::max(best, solar_elevation_deg(52.52, 13.405, unix_s(2025, 12, 21, 0, m)));
  EXPECT_NEAR(best, 14.04, 0.25);
}

TEST(ClearSky, HaurwitzReferenceValues) {
  // Haurwitz (1945): 1098 cos z exp(-0.059 / cos z).
  EXPECT_NEAR(clear_sky_ghi(90), 1035.09, 0.05);
  EXPECT_NEAR(clear_sky_ghi(30), 487.93, 0.05);
  EXPECT_EQ(clear_sky_ghi(0), 0);
  EXPECT_EQ(clear_sky_ghi(-5), 0);
}

TEST(Pv, YearlyYieldAt50NorthIsInThePublishedRange) {
  // PVGIS / Fraunhofer ISE: 900-1,100 kWh per kWp a year in central Germany.
  double y = yearly_pv_yield_kwh_per_kwp(50.0, 8.7, 2025, 0.8, 42);
  EXPECT_GT(y, 900);
  EXPECT_LT(y, 1100);
  // Further north yields less, further south more.
  EXPECT_LT(yearly_pv_yield_kwh_per_kwp(60.0, 10.0, 2025, 0.8, 42), y);
  EXPECT_GT(yearly_pv_yield_kwh_per_kwp(40.0, 8.7, 2025, 0.8, 42), y);
}

TEST(Wind, PowerCurveAndWeibullStatistics) {
  WindParams p;
  EXPECT_EQ(turbine_power_fraction(2.9, p), 0);
  EXPECT_EQ(turbine_power_fraction(12.5, p), 1);
  EXPECT_EQ(turbine_power_fraction(25.0, p), 0);  // cut out
  EXPECT_GT(turbine_power_fraction(8, p), turbine_power_fraction(6, p));
  // The mean of Weibull(k=2, c=7) is c * Gamma(1.5) = 6.204 m/s.
  WindSeries w(p, 7, 1);
  double sum = 0, power = 0;
  const int n = 200'000;
  for (int i = 0; i < n; ++i) {
    double v = w.next();
    sum += v;
    power += turbine_power_fraction(v, p);
  }
  EXPECT_NEAR(sum / n, 7.0 * std::tgamma(1.5), 0.15);
  // A typical onshore capacity factor at that resource: 20-35 %.
  EXPECT_GT(power / n, 0.20);
  EXPECT_LT(power / n, 0.35);
}

TEST(Battery, RespectsCapacityPowerAndEfficiency) {
  Battery b({5000, 2000, 0.81}, 0.25);  // 5 kWh, 2 kW: 500 Wh per quarter-hour; 90 % each way
  EXPECT_EQ(b.step(800), 300);          // only 500 Wh may go in
  EXPECT_EQ(b.stored_wh(), 450);        // 90 % of it is stored
  EXPECT_EQ(b.step(-1000), -595);       // 405 Wh come out (90 % of 450)
  EXPECT_EQ(b.stored_wh(), 0);
  for (int i = 0; i < 100; ++i) b.step(500);
  EXPECT_EQ(b.stored_wh(), 5000);  // full, never beyond
  EXPECT_EQ(b.step(100), 100);
  Battery none({0, 0, 0.9}, 0.25);
  EXPECT_EQ(none.step(-300), -300);
}

TEST(Battery, HoldsItsChargeForThePeakAndSellsItThere) {
  Battery b({5000, 2000, 0.81}, 0.25);
  EXPECT_EQ(b.step(500, BatteryMode::kHold), 0);  // surplus stored
  EXPECT_EQ(b.stored_wh(), 450);
  EXPECT_EQ(b.step(-200, BatteryMode::kHold), -200);  // the home imports: the charge waits
  EXPECT_EQ(b.stored_wh(), 450);
  EXPECT_EQ(b.step(-100, BatteryMode::kSell), 305);  // 405 Wh out: 100 for the home, 305 sold
  EXPECT_EQ(b.stored_wh(), 0);
}

TEST(Bdew, DayTypesFollowTheGermanCalendar) {
  EXPECT_EQ(day_type(days_from_civil(2025, 6, 21)), DayType::kSaturday);
  EXPECT_EQ(day_type(days_from_civil(2025, 6, 22)), DayType::kSunday);
  EXPECT_EQ(day_type(days_from_civil(2025, 6, 23)), DayType::kWorkday);
  EXPECT_EQ(day_type(days_from_civil(2025, 4, 18)), DayType::kSunday);  // Good Friday
  EXPECT_EQ(day_type(days_from_civil(2025, 6, 9)), DayType::kSunday);   // Whit Monday
  EXPECT_EQ(day_type(days_from_civil(2025, 10, 3)), DayType::kSunday);  // Unity Day
}

TEST(Bdew, DynamisedH25SumsToOneMillionKwhAYear) {
  // BDEW: with the dynamisation a year of quarter-hours sums to about 1,000,000 kWh.
  const LoadProfile& h = LoadProfile::household();
  double sum = 0;
  for (int64_t d = days_from_civil(2025, 1, 1); d < days_from_civil(2026, 1, 1); ++d)
    for (int q = 0; q < 96; ++q) sum += h.kwh(d, q);
  EXPECT_NEAR(sum, 1'000'000, 15'000);
  EXPECT_NEAR(bdew_dynamisation(1), 1.24203, 0.00001);  // 1.24 + 0.0021 - 7.02e-5 + 3.2e-7
  // Evenings draw more than the small hours.
  int64_t d = days_from_civil(2025, 1, 15);
  EXPECT_GT(h.kwh(d, 19 * 4), 1.5 * h.kwh(d, 3 * 4));
}

TEST(Bdew, ParserRefusesBrokenFiles) {
  EXPECT_FALSE(LoadProfile::parse("a\nb\n00:00-00:15,1,2\n", false).is_ok());
  EXPECT_FALSE(LoadProfile::parse("", false).is_ok());
}

TEST(Rng, StreamsAreReproducibleAndIndependent) {
  Rng a(1, 2, 3), b(1, 2, 3), c(1, 2, 4);
  bool differ = false;
  double sum = 0;
  for (int i = 0; i < 100'000; ++i) {
    uint64_t x = a.next();
    EXPECT_EQ(x, b.next());
    differ = differ || x != c.next();
    sum += Rng(9, static_cast<uint64_t>(i)).uniform();
  }
  EXPECT_TRUE(differ);
  EXPECT_NEAR(sum / 100'000, 0.5, 0.005);
}

}  // namespace
}  // namespace gridpact::sim
