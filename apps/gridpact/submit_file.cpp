// gridpact tx submit --file F: sends transactions signed earlier (by --sign-only, or by a
// client kit) in batches, and prints the node's answer for each.
#include <fstream>
#include <sstream>

#include "app.hpp"
#include "client.hpp"

namespace gridpact::cli {
namespace {

constexpr size_t kMaxFileBytes = 64 << 20;
constexpr size_t kBatch = 1000;  // well under the API's batch limit

// One signed transaction from a JSON value: "hex", {"raw": hex} (--sign-only's output),
// {"tx": hex}, or a list / {"txs": [...]} of those.
Status collect(const json& j, std::vector<Bytes>& out) {
  if (j.is_array()) {
    for (const auto& item : j)
      if (Status s = collect(item, out); !s) return s;
    return Status::ok();
  }
  if (j.is_object() && j.contains("txs")) return collect(j["txs"], out);
  const json* hex = &j;
  if (j.is_object()) hex = j.contains("raw") ? &j["raw"] : j.contains("tx") ? &j["tx"] : nullptr;
  auto b = hex && hex->is_string() ? from_hex(hex->get<std::string>()) : std::nullopt;
  if (!b || b->empty())
    return error(Code::kInvalidArgument,
                 "expected a signed transaction: hex, {\"raw\": hex} or {\"tx\": hex}");
  out.push_back(std::move(*b));
  return Status::ok();
}

// The file holds JSON values one after another (any of the above), or hex one per line.
Result<std::vector<Bytes>> read_signed(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return error(Code::kInvalidArgument, "cannot read " + path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.size() > kMaxFileBytes) return error(Code::kTooLarge, path + " is over 64 MiB");
  std::vector<Bytes> out;
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return error(Code::kInvalidArgument, path + " is empty");
  std::istringstream s(text);
  if (std::isxdigit(static_cast<unsigned char>(text[first]))) {
    for (std::string line; s >> line;)
      if (Status st = collect(json(line), out); !st) return st;
    return out;
  }
  while (s >> std::ws && s.peek() != EOF) {
    json j;
    try {
      s >> j;
    } catch (const json::exception& e) {
      return error(Code::kMalformedJson, path + ": " + e.what());
    }
    if (Status st = collect(j, out); !st) return st;
  }
  return out;
}

}  // namespace

void add_submit_file_command(CLI::App& tx) {
  struct Args {
    std::string node = "http://127.0.0.1:8080", file;
    bool no_wait = false;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = tx.add_subcommand("submit", "Send transactions signed earlier (--sign-only, a kit)");
  cmd->add_option("--file", a->file, "Signed transactions: JSON values or hex lines")->required();
  cmd->add_option("--node", a->node, "Node API URL");
  cmd->add_flag("--no-wait", a->no_wait, "Return once accepted, without waiting for the commits");
  cmd->callback([a] {
    auto raws = read_signed(a->file);
    if (!raws) finish(fail(raws.status()));
    ApiClient client(a->node);
    json results = json::array();
    int rc = 0;
    for (size_t at = 0; at < raws->size(); at += kBatch) {
      json body = {{"txs", json::array()}};  // the batch form, even for one
      for (size_t i = at; i < std::min(raws->size(), at + kBatch); ++i)
        body["txs"].push_back(to_hex((*raws)[i]));
      auto r = client.post(a->no_wait ? "/v1/tx" : "/v1/tx?wait=commit", body);
      if (!r) finish(fail(r.status()));
      for (const auto& one : (*r)["results"]) {
        // Refused, not committed in time, or committed with a failed receipt: exit 1.
        if (one.contains("error") || (!a->no_wait && one.value("status", "") != "committed") ||
            (one.contains("receipt") && !one["receipt"].value("ok", false)))
          rc = 1;
        results.push_back(one);
      }
    }
    print_json({{"results", results}});
    finish(rc);
  });
}

}  // namespace gridpact::cli
