// Every HTTP route registered in the sources (router.add("GET", "/v1/tx/{id}", ...) on an
// http::Router, or the older s.Get("...") form) must appear, with its method, in
// docs/openapi.yaml. A "{name}" or "{name...}" segment, and a regex group of the older
// form, count as one path parameter each: R"(/v1/tx/([0-9a-f]{64}))" matches /v1/tx/{id}.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

namespace {

namespace fs = std::filesystem;

std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Replaces each (balanced) parenthesised group with "{}".
std::string route_shape(const std::string& route) {
  std::string out;
  int depth = 0;
  for (char c : route) {
    if (c == '(') {
      if (depth++ == 0) out += "{}";
    } else if (c == ')') {
      --depth;
    } else if (depth == 0) {
      out += c;
    }
  }
  return out;
}

std::string openapi_shape(const std::string& path) {
  return std::regex_replace(path, std::regex(R"(\{[^}]*\})"), "{}");
}

std::string lower(std::string s) {
  for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

// method + " " + shape of every route registered in non-test sources under src/.
std::set<std::string> routes_in_sources() {
  std::set<std::string> out;
  const std::regex call(R"re(\.(Get|Post|Put|Delete|Patch)\(\s*(?:R"\((.*?)\)"|"([^"]*)"))re");
  const std::regex add(R"re(\.add\(\s*"(GET|POST|PUT|DELETE|PATCH)",\s*"([^"]*)")re");
  for (const auto& e : fs::recursive_directory_iterator(fs::path(GRIDPACT_SOURCE_DIR) / "src")) {
    std::string name = e.path().filename().string();
    if (e.path().extension() != ".cpp" || name.ends_with("_test.cpp") ||
        name.ends_with("_bench.cpp"))
      continue;
    std::string text = read(e.path());
    for (std::sregex_iterator it(text.begin(), text.end(), call), end; it != end; ++it) {
      std::string method = (*it)[1];
      for (auto& ch : method) ch = static_cast<char>(std::tolower(ch));
      std::string route = (*it)[2].matched ? (*it)[2].str() : (*it)[3].str();
      if (route.empty() || route[0] != '/') continue;  // a client call with a variable path
      out.insert(method + " " + route_shape(route));
    }
    for (std::sregex_iterator it(text.begin(), text.end(), add), end; it != end; ++it)
      out.insert(lower((*it)[1]) + " " + openapi_shape((*it)[2]));
  }
  return out;
}

// method + " " + shape of every operation in docs/openapi.yaml (paths at two spaces of
// indentation, methods at four).
std::set<std::string> routes_in_openapi() {
  std::set<std::string> out;
  std::istringstream in(read(fs::path(GRIDPACT_SOURCE_DIR) / "docs/openapi.yaml"));
  std::string line, path;
  const std::regex path_line(R"(^  (/[^:]*):\s*$)");
  const std::regex method_line(R"(^    (get|post|put|delete|patch):\s*$)");
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_match(line, m, path_line))
      path = m[1];
    else if (std::regex_match(line, m, method_line) && !path.empty())
      out.insert(m[1].str() + " " + openapi_shape(path));
  }
  return out;
}

TEST(OpenApi, ShapesMatchRegexGroupsAndParameters) {
  EXPECT_EQ(route_shape(R"(/v1/tx/([0-9a-fA-F]{64}))"), "/v1/tx/{}");
  EXPECT_EQ(route_shape(R"(/v1/(\w+)/(.+))"), "/v1/{}/{}");
  EXPECT_EQ(openapi_shape("/v1/{module}/{path}"), "/v1/{}/{}");
  EXPECT_EQ(openapi_shape("/v1/{module}/{path...}"), "/v1/{}/{}");
}

TEST(OpenApi, EveryServerRouteIsDocumented) {
  auto served = routes_in_sources();
  auto documented = routes_in_openapi();
  // The core API's routes must be among those found, or the scan itself is broken.
  for (const char* core :
       {"get /v1/health", "post /v1/tx", "get /v1/tx/{}", "get /metrics", "get /v1/{}/{}"})
    EXPECT_TRUE(served.count(core)) << "scan missed " << core;
  for (const auto& r : served)
    EXPECT_TRUE(documented.count(r)) << r << " is served but not in docs/openapi.yaml";
  for (const auto& r : documented)
    EXPECT_TRUE(served.count(r)) << r << " is in docs/openapi.yaml but nothing serves it";
}

}  // namespace
