#include "sim/bdew.hpp"

#include <charconv>
#include <string>

#include "sim/physics.hpp"

namespace gridpact::sim {

extern const char* const kBdewH25Csv;  // generated from data/bdew/h25.csv by CMake

namespace {

// Easter Sunday (anonymous Gregorian algorithm), days since the epoch.
int64_t easter(int y) {
  int a = y % 19, b = y / 100, c = y % 100, d = b / 4, e = b % 4, f = (b + 8) / 25,
      g = (b - f + 1) / 3, h = (19 * a + b - d - g + 15) % 30, i = c / 4, k = c % 4,
      l = (32 + 2 * e + 2 * i - h - k) % 7, m = (a + 11 * h + 22 * l) / 451;
  int month = (h + l - 7 * m + 114) / 31, day = (h + l - 7 * m + 114) % 31 + 1;
  return days_from_civil(y, static_cast<unsigned>(month), static_cast<unsigned>(day));
}

}  // namespace

bool is_public_holiday(int64_t days) {
  CivilDate c = civil_from_days(days);
  if ((c.month == 1 && c.day == 1) || (c.month == 5 && c.day == 1) ||
      (c.month == 10 && c.day == 3) || (c.month == 12 && (c.day == 25 || c.day == 26)))
    return true;
  int64_t e = easter(c.year);
  for (int64_t offset : {-2, 1, 39, 50})  // Good Friday, Easter Monday, Ascension, Whit Monday
    if (days == e + offset) return true;
  return false;
}

DayType day_type(int64_t days) {
  int wd = weekday(days);
  if (wd == 0 || is_public_holiday(days)) return DayType::kSunday;
  if (wd == 6) return DayType::kSaturday;
  return DayType::kWorkday;
}

double bdew_dynamisation(int d) {
  const double x = d;
  return -3.92e-10 * x * x * x * x + 3.2e-7 * x * x * x - 7.02e-5 * x * x + 0.0021 * x + 1.24;
}

Result<LoadProfile> LoadProfile::parse(std::string_view csv, bool dynamic) {
  LoadProfile p;
  p.dynamic_ = dynamic;
  size_t pos = 0;
  auto next_line = [&]() -> std::optional<std::string_view> {
    if (pos >= csv.size()) return std::nullopt;
    size_t end = csv.find('\n', pos);
    if (end == std::string_view::npos) end = csv.size();
    std::string_view line = csv.substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
  };
  auto bad = [](const std::string& m) { return error(Code::kInvalidArgument, "BDEW CSV: " + m); };
  for (int h = 0; h < 2; ++h)
    if (!next_line()) return bad("missing header rows");
  for (int q = 0; q < 96; ++q) {
    auto line = next_line();
    if (!line) return bad("expected 96 quarter-hour rows, got " + std::to_string(q));
    size_t field = 0, start = 0;
    for (size_t i = 0; i <= line->size(); ++i) {
      if (i < line->size() && (*line)[i] != ',') continue;
      std::string_view f = line->substr(start, i - start);
      if (field > 0) {
        if (field > 36) return bad("row " + std::to_string(q + 3) + " has more than 36 values");
        double v = 0;
        auto r = std::from_chars(f.data(), f.data() + f.size(), v);
        if (r.ec != std::errc() || r.ptr != f.data() + f.size() || v < 0)
          return bad("row " + std::to_string(q + 3) + ": bad value '" + std::string(f) + "'");
        p.values_[static_cast<size_t>(q) * 36 + field - 1] = v;
      }
      ++field;
      start = i + 1;
    }
    if (field != 37) return bad("row " + std::to_string(q + 3) + " needs 36 values");
  }
  return p;
}

const LoadProfile& LoadProfile::household() {
  static const LoadProfile p = parse(kBdewH25Csv, true).value();
  return p;
}

double LoadProfile::kwh(int64_t days, int q) const {
  CivilDate c = civil_from_days(days);
  size_t col = (c.month - 1) * 3 + static_cast<size_t>(day_type(days));
  double v = values_[static_cast<size_t>(q) * 36 + col];
  return dynamic_ ? v * bdew_dynamisation(day_of_year(days)) : v;
}

}  // namespace gridpact::sim
