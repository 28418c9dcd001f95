// `gridpact codes` is the whole registry of error codes: every number and every name
// appears once, the engine's codes lie below 1000, each module's codes lie in one hundred
// of its own from 1000 up, and every GRIDPACT_CODES table declared under src/ is listed.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

json run_codes() {
  std::unique_ptr<FILE, int (*)(FILE*)> p(popen(GRIDPACT_EXE " codes", "r"), pclose);
  EXPECT_NE(p, nullptr);
  std::string out;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p.get())) > 0;) out.append(buf, n);
  return json::parse(out);
}

// Module names of every GRIDPACT_CODES(table, "module", hundred, LIST) under src/.
std::set<std::string> declared_modules() {
  std::set<std::string> out{"base"};
  const std::regex decl(R"re(\nGRIDPACT_CODES\(\w+,\s*"(\w+)")re");
  for (const auto& e : fs::recursive_directory_iterator(fs::path(GRIDPACT_SOURCE_DIR) / "src")) {
    if (e.path().extension() != ".hpp") continue;
    std::ifstream in(e.path());
    std::stringstream s;
    s << in.rdbuf();
    std::string text = s.str();
    for (std::sregex_iterator it(text.begin(), text.end(), decl), end; it != end; ++it)
      out.insert((*it)[1]);
  }
  return out;
}

TEST(Codes, EveryCodeOnceEachModuleInItsHundred) {
  json codes = run_codes();
  ASSERT_TRUE(codes.is_array());
  std::set<int> numbers;
  std::set<std::string> names, modules;
  std::map<std::string, std::set<int>> hundreds;  // module -> the hundreds its codes use
  int previous = -1;
  for (const auto& c : codes) {
    int number = c.at("number");
    std::string name = c.at("name"), module = c.at("module");
    EXPECT_GT(number, previous) << "sorted by number";
    previous = number;
    EXPECT_TRUE(numbers.insert(number).second) << "number " << number << " twice";
    EXPECT_TRUE(names.insert(name).second) << "name " << name << " twice";
    EXPECT_TRUE(std::regex_match(name, std::regex("[A-Z][A-Z0-9_]*"))) << name;
    EXPECT_FALSE(c.at("meaning").get<std::string>().empty()) << name;
    modules.insert(module);
    EXPECT_EQ(module == "base", number < 1000) << name << " (" << number << ") of " << module;
    hundreds[module].insert(number / 100);
  }
  std::map<int, std::string> owner;
  for (const auto& [module, hs] : hundreds) {
    if (module == "base") continue;
    EXPECT_EQ(hs.size(), 1u) << module << " spreads over several hundreds";
    for (int h : hs) {
      auto [it, fresh] = owner.emplace(h, module);
      EXPECT_TRUE(fresh) << module << " and " << it->second << " share " << h * 100;
    }
  }
  EXPECT_EQ(modules, declared_modules());
}

// The codes this issue made unique, and a few that clients rely on.
TEST(Codes, KnownCodesKeepTheirNumbers) {
  std::map<std::string, std::pair<int, std::string>> by_name;
  for (const auto& c : run_codes()) by_name[c.at("name")] = {c.at("number"), c.at("module")};
  EXPECT_EQ(by_name["METER_NOT_FOUND"], std::make_pair(1100, std::string("meters")));
  EXPECT_EQ(by_name["INSUFFICIENT_FUNDS"], std::make_pair(300, std::string("base")));
  EXPECT_EQ(by_name["ATTEST_NONCE_MISMATCH"], std::make_pair(1003, std::string("attest")));
  EXPECT_EQ(by_name["TRADE_NOT_FOUND"], std::make_pair(1320, std::string("agreements")));
  EXPECT_EQ(by_name["BAD_ATTESTATION_RESPONSE"].first, 1505);
  EXPECT_EQ(by_name["DB_BAD_URL"].first, 1402);
  EXPECT_EQ(by_name["PERIOD_TOO_FAR"].first, 1211);
  for (const auto& [name, v] : by_name) EXPECT_NE(v.first, 1316) << name;
}

}  // namespace
