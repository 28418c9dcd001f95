// Helpers shared by the tests of the engine and of every module.
#pragma once

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "ledger/executor.hpp"

namespace gridpact::testing {

// A fresh directory, removed with everything in it when the object dies.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    path = std::filesystem::temp_directory_path() /
           ("gridpact-test-" + KeyPair::generate().public_key().hex().substr(0, 16));
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string str() const { return path.string(); }
};

// A store with genesis committed, an executor over the given modules, and helpers to
// sign and execute transactions one block at a time.
class Chain {
 public:
  Chain(std::vector<Module*> modules, const json& genesis, std::string chain_id = "test")
      : store_(Store::open((dir_.path / "db").string(), {.sync = false}).value()),
        executor_(*store_, std::move(modules), chain_id),
        chain_id_(std::move(chain_id)) {
    auto g = executor_.genesis(genesis, sha256("genesis"), 0);
    if (!g) throw Error(g.status());
    if (auto s = store_->commit(g.value()); !s) throw Error(s);
  }

  Transaction sign(const KeyPair& key, uint16_t type, Bytes payload) {
    Transaction tx;
    tx.chain_id = chain_id_;
    tx.nonce = get_u64(*store_, nonce_key(key.public_key())) + pending_[key.public_key()]++;
    tx.type = type;
    tx.payload = std::move(payload);
    tx.sign(key);
    return tx;
  }

  // Executes and commits one block; returns its receipts.
  std::vector<Receipt> block(std::vector<Transaction> txs, uint64_t time_ms = 0) {
    pending_.clear();
    if (time_ms == 0) time_ms = store_->header(*store_->height())->time_ms + 1000;
    auto batch = executor_.execute(std::move(txs), time_ms, true);
    if (!batch) throw Error(batch.status());
    if (auto s = store_->commit(batch.value()); !s) throw Error(s);
    return batch->receipts;
  }
  Receipt one(const KeyPair& key, uint16_t type, Bytes payload, uint64_t time_ms = 0) {
    return block({sign(key, type, std::move(payload))}, time_ms).at(0);
  }

  Store& store() { return *store_; }
  Executor& executor() { return executor_; }

 private:
  TempDir dir_;
  std::unique_ptr<Store> store_;
  Executor executor_;
  std::string chain_id_;
  std::map<PublicKey, uint64_t> pending_;
};

// Where a module's schema() and the state-key table of its header disagree, one line per
// difference (empty: they agree). The table is the block of rows "//   <key>  <value>"
// after the header's line that starts "// State keys", up to the next line "//"; lines
// indented further continue the row above.
inline std::vector<std::string> schema_drift(const Module& module, const std::string& header) {
  std::ifstream in(header);
  if (!in) return {"cannot read " + header};
  std::vector<std::string> rows, out;
  bool inside = false;
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("// State keys"))
      inside = true;
    else if (inside && line == "//")
      break;
    else if (inside && line.size() > 5 && line.starts_with("//   ") && line[5] != ' ')
      rows.push_back(line.substr(5));
    else if (inside && !rows.empty() && line.starts_with("//   "))  // continues the row
      rows.back() += " " + line.substr(line.find_first_not_of(" /"));
  }
  std::vector<bool> matched(rows.size(), false);
  for (const auto& e : module.schema()) {
    std::string key = e.prefix + e.layout;
    bool found = false;
    for (size_t i = 0; i < rows.size() && !found; ++i) {
      const std::string& r = rows[i];
      if (!r.starts_with(key + " ")) continue;
      size_t v = r.find_first_not_of(' ', key.size());
      if (v == std::string::npos || r.compare(v, e.value.size(), e.value) != 0) continue;
      found = matched[i] = true;
    }
    if (!found) out.push_back("declared, not in the header: " + key + "  " + e.value);
  }
  for (size_t i = 0; i < rows.size(); ++i)
    if (!matched[i]) out.push_back("in the header, not declared: " + rows[i]);
  if (rows.empty()) out.push_back(header + " has no state-key table");
  return out;
}

}  // namespace gridpact::testing
