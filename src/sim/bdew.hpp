// Household demand from the BDEW 2025 standard load profile H25 (data/bdew/, see its
// README: published by BDEW, shipped as CSV by oemof demandlib, MIT licence).
//
// The profile gives kWh per quarter-hour for an annual use of 1,000,000 kWh, by month and
// day type: SA Saturday, FT Sunday or public holiday (German national holidays), WT
// workday. The household profile is "dynamic": each quarter-hour of day-of-year d is
// multiplied by -3.92e-10 d^4 + 3.2e-7 d^3 - 7.02e-5 d^2 + 0.0021 d + 1.24. The CSV is
// compiled into the binary, so `gridpact simulate` needs no files at run time.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "base/error.hpp"

namespace gridpact::sim {

enum class DayType : uint8_t { kSaturday = 0, kSunday = 1, kWorkday = 2 };

// Saturday, Sunday or a German national public holiday (New Year, Good Friday, Easter
// Monday, 1 May, Ascension, Whit Monday, 3 October, 25 and 26 December), or workday.
DayType day_type(int64_t days_since_epoch);
bool is_public_holiday(int64_t days_since_epoch);

// The BDEW dynamisation factor for day-of-year d (1..366).
double bdew_dynamisation(int day_of_year);

class LoadProfile {
 public:
  // Parses the BDEW CSV layout: two header rows, 96 rows of "hh:mm-hh:mm" and 36 values.
  static Result<LoadProfile> parse(std::string_view csv, bool dynamic);
  // The built-in H25 household profile.
  static const LoadProfile& household();

  // kWh in quarter-hour `q` (0..95) of the day, for 1,000,000 kWh a year.
  double kwh(int64_t days_since_epoch, int q) const;

 private:
  std::array<double, 96 * 36> values_{};  // [q * 36 + (month - 1) * 3 + day type]
  bool dynamic_ = false;
};

}  // namespace gridpact::sim
