// docs/openapi.yaml against what the node serves, in both directions: every HTTP route
// registered in the sources (s.Get("..."), http.Post(R"(...)"), ...) and every query route
// a module declares (Module::route, served at /v1/<module><path>) is documented with its
// method, and every documented route is served. Regex groups in a source route count as
// one path parameter each: R"(/v1/tx/([0-9a-f]{64}))" matches /v1/tx/{id}. A module
// route's parameters are documented too, each with its place (path or query).
// Routes registered on an http::Router (router.add("GET", "/v1/tx/{id}", ...)) count like
// source routes; a "{name}" or "{name...}" segment is one path parameter.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "modules/all_modules.hpp"

namespace {

using namespace gridpact;

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

// "get " + shape of every module query route, as the API serves it (api/server.cpp,
// add_module_routes): /v1/<module><path>.
std::set<std::string> module_routes() {
  std::set<std::string> out;
  for (const auto& m : all_modules())
    for (const Route& r : m->routes())
      out.insert("get " + openapi_shape("/v1/" + std::string(m->name()) + r.path));
  return out;
}

// What docs/openapi.yaml documents (paths at two spaces of indentation, methods at four,
// parameters as "- {name: N, in: path|query, ...}" lines).
struct Documented {
  std::set<std::string> routes;                         // method + " " + shape
  std::map<std::string, std::set<std::string>> params;  // path -> "in name"
};
Documented read_openapi() {
  Documented out;
  std::istringstream in(read(fs::path(GRIDPACT_SOURCE_DIR) / "docs/openapi.yaml"));
  std::string line, path;
  const std::regex path_line(R"(^  (/[^:]*):\s*$)");
  const std::regex method_line(R"(^    (get|post|put|delete|patch):\s*$)");
  const std::regex param_line(R"(^        - \{name: (\w+), in: (path|query)\b.*)");
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_match(line, m, path_line))
      path = m[1];
    else if (std::regex_match(line, m, method_line) && !path.empty())
      out.routes.insert(m[1].str() + " " + openapi_shape(path));
    else if (std::regex_match(line, m, param_line) && !path.empty())
      out.params[path].insert(m[2].str() + " " + m[1].str());
  }
  return out;
}
std::set<std::string> routes_in_openapi() {
  return read_openapi().routes;
}

TEST(OpenApi, ShapesMatchRegexGroupsAndParameters) {
  EXPECT_EQ(route_shape(R"(/v1/tx/([0-9a-fA-F]{64}))"), "/v1/tx/{}");
  EXPECT_EQ(route_shape(R"(/v1/(\w+)/(.+))"), "/v1/{}/{}");
  EXPECT_EQ(openapi_shape("/v1/meters/energy/{id}/{period}"), "/v1/meters/energy/{}/{}");
  EXPECT_EQ(openapi_shape("/v1/{module}/{path}"), "/v1/{}/{}");
  EXPECT_EQ(openapi_shape("/v1/{module}/{path...}"), "/v1/{}/{}");
}

TEST(OpenApi, EveryServerRouteIsDocumented) {
  auto served = routes_in_sources();
  // The core API's routes must be among those found, or the scan itself is broken.
  for (const char* core : {"get /v1/health", "post /v1/tx", "get /v1/tx/{}", "get /metrics"})
    EXPECT_TRUE(served.count(core)) << "scan missed " << core;
  // Module queries are served through their declarations only: no catch-all route.
  EXPECT_FALSE(served.count("get /v1/{}/{}")) << "a catch-all route is back";
  auto modules = module_routes();
  for (const char* route : {"get /v1/bank/supply", "get /v1/meters/meter/{}",
                            "get /v1/market/orders/{}", "get /v1/agreements/agreements/{}/text"})
    EXPECT_TRUE(modules.count(route)) << "no module declares " << route;
  served.insert(modules.begin(), modules.end());
  auto documented = routes_in_openapi();
  for (const auto& r : served)
    EXPECT_TRUE(documented.count(r)) << r << " is served but not in docs/openapi.yaml";
  for (const auto& r : documented)
    EXPECT_TRUE(served.count(r)) << r << " is in docs/openapi.yaml but nothing serves it";
}

TEST(OpenApi, EveryModuleRouteParameterIsDocumented) {
  auto documented = read_openapi().params;
  for (const auto& m : all_modules())
    for (const Route& r : m->routes()) {
      std::string path = "/v1/" + std::string(m->name()) + r.path;
      auto in_path = Route::path_params(r.path);
      std::set<std::string> declared;
      for (const RouteParam& p : r.params) {
        bool is_path = std::find(in_path.begin(), in_path.end(), p.name) != in_path.end();
        declared.insert((is_path ? "path " : "query ") + std::string(p.name));
      }
      EXPECT_EQ(documented[path], declared) << "parameters of " << path;
      EXPECT_FALSE(r.summary.empty()) << path << " has no summary";
    }
}

}  // namespace
