// Every #include under src/, apps/, bench/ and fuzz/ against scripts/source-dependencies.json,
// and that table against the layering rules: the chain engine never includes a module, and
// a module never includes the API, the node, the SQL read model, HTTP, RocksDB or sockets.
// Also: nothing in the repository points outside it (someone who clones it has only it).
#include <gtest/gtest.h>

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

const fs::path kRoot = GRIDPACT_SOURCE_DIR;

json table() {
  std::ifstream in(kRoot / "scripts/source-dependencies.json");
  return json::parse(in);
}

std::set<std::string> strings(const json& j) {
  std::set<std::string> out;
  for (const auto& s : j) out.insert(s.get<std::string>());
  return out;
}

// Shell-style match of a file name against patterns with one leading '*' at most.
bool matches(const std::string& name, const json& patterns) {
  for (const auto& p : patterns) {
    std::string pat = p;
    if (pat.starts_with("*") ? name.ends_with(pat.substr(1)) : name == pat) return true;
  }
  return false;
}

// The folder a repository path belongs to ("" if none): src/<x>, src/modules/<x>,
// apps/<x>, bench, fuzz.
std::string folder_of(const fs::path& rel) {
  auto it = rel.begin();
  if (it == rel.end()) return "";
  std::string top = (it++)->string();
  if (top == "bench" || top == "fuzz") return top;
  if (it == rel.end() || std::next(it) == rel.end()) return "";  // a file directly in top
  std::string second = (it++)->string();
  if (top == "apps") return "apps/" + second;
  if (top != "src") return "";
  if (second == "modules" && it != rel.end() && std::next(it) != rel.end())
    return "modules/" + it->string();
  return second;
}

struct Include {
  fs::path file;  // relative to the repository
  int line;
  bool quoted;
  std::string target;  // as written
};

std::vector<Include> includes() {
  std::vector<Include> out;
  const std::regex inc(R"re(^\s*#\s*include\s*([<"])([^">]+)[">])re");
  for (const char* top : {"src", "apps", "bench", "fuzz"}) {
    for (const auto& e : fs::recursive_directory_iterator(kRoot / top)) {
      auto ext = e.path().extension();
      if (ext != ".cpp" && ext != ".hpp" && ext != ".h") continue;
      std::ifstream in(e.path());
      std::string line;
      std::smatch m;
      for (int n = 1; std::getline(in, line); ++n)
        if (std::regex_search(line, m, inc))
          out.push_back({fs::relative(e.path(), kRoot), n, m[1] == "\"", m[2]});
    }
  }
  return out;
}

// The repository path a quoted include names: beside the including file, else under src/.
std::optional<fs::path> resolve(const Include& i) {
  for (const fs::path& base : {kRoot / i.file.parent_path(), kRoot / "src"}) {
    fs::path p = (base / i.target).lexically_normal();
    if (fs::exists(p)) return fs::relative(p, kRoot);
  }
  return std::nullopt;
}

bool is_module(const std::string& folder) {
  return folder.starts_with("modules/");
}

TEST(Layering, TheTableKeepsTheRules) {
  json t = table();
  std::set<std::string> engine = strings(t["engine"]);
  std::set<std::string> forbidden = strings(t["forbidden_for_modules"]);
  for (const auto& [folder, entry] : t["folders"].items()) {
    for (const auto& dep : entry.value("deps", json::array())) {
      std::string d = dep;
      EXPECT_TRUE(t["folders"].contains(d)) << folder << " depends on unknown " << d;
      EXPECT_FALSE(engine.count(folder) && is_module(d)) << "engine " << folder << " -> " << d;
      EXPECT_FALSE(is_module(folder) && forbidden.count(d)) << folder << " -> " << d;
    }
    for (const auto& dep : entry.value("test_deps", json::array())) {
      std::string d = dep;
      EXPECT_TRUE(t["folders"].contains(d)) << folder << " tests depend on unknown " << d;
      EXPECT_FALSE(is_module(folder) && forbidden.count(d)) << folder << " tests -> " << d;
    }
    // Only a module's cli part (cli_files) knows the command line's interface.
    EXPECT_FALSE(is_module(folder) && strings(entry.value("deps", json::array())).count("cli"))
        << folder << ": its core may not include cli; give it cli_deps";
    for (const auto& dep : entry.value("cli_deps", json::array())) {
      std::string d = dep;
      EXPECT_TRUE(is_module(folder)) << folder << ": cli_deps are for modules";
      EXPECT_TRUE(t["folders"].contains(d)) << folder << " cli depends on unknown " << d;
      EXPECT_FALSE(forbidden.count(d)) << folder << " cli -> " << d;
    }
  }
  for (const auto& e : engine) EXPECT_TRUE(t["folders"].contains(e)) << e;
}

TEST(Layering, EveryIncludeFollowsTheTable) {
  json t = table();
  const json& folders = t["folders"];
  size_t checked = 0;
  for (const Include& i : includes()) {
    std::string name = i.file.filename().string();
    bool test = matches(name, t["test_files"]);
    bool cli_part = matches(name, t["cli_files"]);
    std::string from = folder_of(i.file);
    std::string where = i.file.string() + ":" + std::to_string(i.line) + " #include " +
                        (i.quoted ? "\"" : "<") + i.target + (i.quoted ? "\"" : ">");
    ASSERT_TRUE(folders.contains(from)) << where << ": folder '" << from << "' is not in "
                                        << "scripts/source-dependencies.json";
    if (!i.quoted) {
      if (!is_module(from)) continue;
      for (const auto& h : t["headers_forbidden_in_modules"])
        EXPECT_FALSE(i.target.starts_with(h.get<std::string>())) << where;
      for (const auto& h : t["headers_forbidden_in_module_sources"]) {
        EXPECT_TRUE(test || i.target != h.get<std::string>()) << where;
      }
      continue;
    }
    auto target = resolve(i);
    if (!target) {
      ADD_FAILURE() << where << ": no such file";
      continue;
    }
    std::string to = folder_of(*target);
    ++checked;
    if (to == from) continue;
    const json& entry = folders[from];
    std::set<std::string> allowed = strings(entry.value("deps", json::array()));
    if (test)
      for (const auto& d : entry.value("test_deps", json::array())) allowed.insert(d);
    if (cli_part)
      for (const auto& d : entry.value("cli_deps", json::array())) allowed.insert(d);
    EXPECT_TRUE(allowed.count(to)) << where << ": " << from
                                   << (test       ? " (test)"
                                       : cli_part ? " (cli)"
                                                  : "")
                                   << " may not depend on " << to;
  }
  EXPECT_GT(checked, 300u);  // the scan found the sources
}

// The checks above see a forbidden edge: a module source including the node.
TEST(Layering, AForbiddenEdgeIsSeen) {
  json t = table();
  EXPECT_EQ(folder_of("src/modules/market/market.cpp"), "modules/market");
  EXPECT_EQ(folder_of("src/node/node.hpp"), "node");
  EXPECT_EQ(folder_of("apps/gridpact/app.cpp"), "apps/gridpact");
  EXPECT_EQ(folder_of("bench/bench_util.hpp"), "bench");
  std::set<std::string> allowed = strings(t["folders"]["modules/market"]["deps"]);
  EXPECT_FALSE(allowed.count("node"));
  EXPECT_FALSE(strings(t["folders"]["ledger"]["deps"]).count("modules/bank"));
  Include bad{"src/modules/market/market.cpp", 1, true, "node/node.hpp"};
  ASSERT_TRUE(resolve(bad).has_value());
  EXPECT_EQ(folder_of(*resolve(bad)), "node");
}

std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Every text file of the repository that people read: sources, docs, scripts, examples.
std::vector<fs::path> text_files() {
  std::vector<fs::path> out{kRoot / "README.md", kRoot / "CMakeLists.txt"};
  const std::set<std::string> exts = {".cpp",  ".hpp", ".h",     ".md",   ".sh", ".yaml",
                                      ".json", ".txt", ".cmake", ".toml", ".py"};
  for (const char* top :
       {"src", "apps", "bench", "fuzz", "docs", "examples", "scripts", "cmake", "tests"})
    for (const auto& e : fs::recursive_directory_iterator(kRoot / top))
      if (e.is_regular_file() && exts.count(e.path().extension().string())) out.push_back(e.path());
  return out;
}

TEST(SelfContained, NoPathOutsideTheRepository) {
  // Split so that this file does not match itself.
  const std::string needles[] = {std::string("../sha") + "red", std::string("/wo") + "rk/"};
  size_t files = 0;
  for (const fs::path& p : text_files()) {
    ++files;
    std::istringstream in(read(p));
    std::string line;
    for (int n = 1; std::getline(in, line); ++n)
      for (const auto& needle : needles)
        EXPECT_EQ(line.find(needle), std::string::npos)
            << fs::relative(p, kRoot).string() << ":" << n << ": " << line;
  }
  EXPECT_GT(files, 100u);
}

// Every relative link of a Markdown file names a file or folder inside the repository.
TEST(SelfContained, MarkdownLinksStayInside) {
  const std::regex link(R"(\]\(([^)#\s]+)(#[^)]*)?\))");
  const fs::path root = fs::weakly_canonical(kRoot);
  size_t links = 0;
  for (const fs::path& p : text_files()) {
    if (p.extension() != ".md") continue;
    std::string text = read(p);
    for (std::sregex_iterator it(text.begin(), text.end(), link), end; it != end; ++it) {
      std::string target = (*it)[1];
      if (target.find("://") != std::string::npos || target.starts_with("mailto:")) continue;
      ++links;
      fs::path resolved = fs::weakly_canonical(p.parent_path() / target);
      std::string where = fs::relative(p, kRoot).string() + " links " + target;
      auto rel = resolved.lexically_relative(root);
      EXPECT_FALSE(rel.empty() || rel.begin()->string() == "..") << where << ": outside";
      EXPECT_TRUE(fs::exists(resolved)) << where << ": no such file";
    }
  }
  EXPECT_GT(links, 10u);
}

}  // namespace
