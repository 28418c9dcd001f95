#include "base/error.hpp"

#include <map>
#include <mutex>

namespace gridpact {
namespace {

// Every registered table, and the name of each number (the first table to declare it
// wins; check_code_tables reports the conflict).
struct Registry {
  std::mutex mutex;
  std::vector<const CodeTable*> tables{&kBaseCodes};
  std::map<uint16_t, std::string_view> names = [] {
    std::map<uint16_t, std::string_view> m;
    for (const auto& c : kBaseCodes.codes) m.emplace(c.number, c.name);
    return m;
  }();
};

Registry& registry() {
  static Registry r;
  return r;
}

}  // namespace

std::string_view code_name(Code code) {
  auto& r = registry();
  std::lock_guard lock(r.mutex);
  auto it = r.names.find(static_cast<uint16_t>(code));
  return it == r.names.end() ? std::string_view("UNKNOWN_ERROR") : it->second;
}

void register_codes(const CodeTable& table) {
  auto& r = registry();
  std::lock_guard lock(r.mutex);
  for (const CodeTable* t : r.tables)
    if (t == &table) return;
  r.tables.push_back(&table);
  for (const auto& c : table.codes) r.names.emplace(c.number, c.name);
}

std::vector<const CodeTable*> code_tables() {
  auto& r = registry();
  std::lock_guard lock(r.mutex);
  return r.tables;
}

Status check_code_tables(std::span<const CodeTable* const> tables) {
  std::map<uint16_t, std::string_view> number_owner;
  std::map<std::string_view, std::string_view> name_owner;
  for (size_t i = 0; i < tables.size(); ++i) {
    const CodeTable& t = *tables[i];
    for (size_t j = 0; j < i; ++j) {
      const CodeTable& u = *tables[j];
      if (t.first <= u.last && u.first <= t.last)
        return error(Code::kInvalidArgument, "the ranges of " + std::string(t.module) + " and " +
                                                 std::string(u.module) + " overlap");
    }
    for (const auto& c : t.codes) {
      std::string where =
          std::string(c.name) + " (" + std::to_string(c.number) + ") of " + std::string(t.module);
      if (c.number < t.first || c.number > t.last)
        return error(Code::kInvalidArgument, where + " lies outside " + std::to_string(t.first) +
                                                 ".." + std::to_string(t.last));
      if (auto [it, fresh] = number_owner.emplace(c.number, t.module); !fresh)
        return error(Code::kInvalidArgument,
                     where + ": number already used by " + std::string(it->second));
      if (auto [it, fresh] = name_owner.emplace(c.name, t.module); !fresh)
        return error(Code::kInvalidArgument,
                     where + ": name already used by " + std::string(it->second));
    }
  }
  return Status::ok();
}

std::string Status::to_string() const {
  if (is_ok()) return "OK";
  return std::string(code_name(code)) + " (" + std::to_string(static_cast<int>(code)) +
         "): " + message;
}

}  // namespace gridpact
