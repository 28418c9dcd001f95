#include "cluster/etcd_client.hpp"

#include <array>
#include <cstring>
#include <nlohmann/json.hpp>

#include "base/keys.hpp"
#include "cluster/codes.hpp"

namespace gridpact::cluster {
using json = nlohmann::json;

void register_cluster_codes() {
  register_codes(kClusterCodes);
}

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Each byte's value in kAlphabet, or -1. Every value and key of every call passes through
// these two (a block of 1,000 transfers is 350 KB of base64), so they work by table.
constexpr std::array<int8_t, 256> kDecode = [] {
  std::array<int8_t, 256> t{};
  t.fill(-1);
  for (int i = 0; i < 64; ++i) t[static_cast<uint8_t>(kAlphabet[i])] = static_cast<int8_t>(i);
  return t;
}();

std::string base64(std::string_view in) {
  std::string out((in.size() + 2) / 3 * 4, '=');
  const auto* p = reinterpret_cast<const uint8_t*>(in.data());
  char* o = out.data();
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3, o += 4) {
    const uint32_t n = (uint32_t{p[i]} << 16) | (uint32_t{p[i + 1]} << 8) | p[i + 2];
    o[0] = kAlphabet[(n >> 18) & 63];
    o[1] = kAlphabet[(n >> 12) & 63];
    o[2] = kAlphabet[(n >> 6) & 63];
    o[3] = kAlphabet[n & 63];
  }
  if (i < in.size()) {  // one or two bytes left: the rest of `out` stays '='
    uint32_t n = uint32_t{p[i]} << 16;
    if (i + 1 < in.size()) n |= uint32_t{p[i + 1]} << 8;
    o[0] = kAlphabet[(n >> 18) & 63];
    o[1] = kAlphabet[(n >> 12) & 63];
    if (i + 1 < in.size()) o[2] = kAlphabet[(n >> 6) & 63];
  }
  return out;
}

std::optional<std::string> unbase64(std::string_view in) {
  std::string out;
  out.reserve(in.size() / 4 * 3 + 3);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    const int v = kDecode[static_cast<uint8_t>(c)];
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

// The gateway writes int64 fields as strings and leaves out zero values.
int64_t number(const json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end()) return 0;
  if (it->is_string()) return std::stoll(it->get<std::string>());
  if (it->is_number_integer()) return it->get<int64_t>();
  return 0;
}

Status etcd_error(const std::string& what) {
  return error(kEtcdError, what);
}

}  // namespace

Result<std::vector<EtcdEndpoint>> parse_etcd_endpoints(std::string_view spec) {
  if (spec.starts_with("etcd://")) spec.remove_prefix(7);
  std::vector<EtcdEndpoint> out;
  while (!spec.empty()) {
    auto comma = spec.find(',');
    std::string_view one = spec.substr(0, comma);
    spec = comma == std::string_view::npos ? std::string_view{} : spec.substr(comma + 1);
    bool tls = false;
    if (one.starts_with("http://")) {
      one.remove_prefix(7);
    } else if (one.starts_with("https://")) {
      one.remove_prefix(8);
      tls = true;
    }
    auto colon = one.rfind(':');
    if (colon == std::string_view::npos || colon == 0)
      return error(Code::kInvalidArgument, "an etcd endpoint is HOST:PORT");
    int port = 0;
    for (char c : one.substr(colon + 1)) {
      if (c < '0' || c > '9' || port > 65535) return error(Code::kInvalidArgument, "bad etcd port");
      port = port * 10 + (c - '0');
    }
    if (port == 0 || port > 65535) return error(Code::kInvalidArgument, "bad etcd port");
    out.push_back({std::string(one.substr(0, colon)), static_cast<uint16_t>(port), tls});
  }
  if (out.empty() || out.size() > 16)
    return error(Code::kInvalidArgument, "give 1 to 16 etcd endpoints");
  return out;
}

std::string prefix_end(std::string prefix) {
  std::string end = prefix_successor(std::move(prefix));
  return end.empty() ? std::string(1, '\0') : end;  // "\0": every key, in etcd's terms
}

EtcdClient::EtcdClient(std::vector<EtcdEndpoint> endpoints, std::chrono::milliseconds timeout,
                       http::TlsClientFiles tls)
    : endpoints_(std::move(endpoints)),
      timeout_(timeout),
      http_(timeout, size_t{64} << 20, std::move(tls)) {}

EtcdClient::~EtcdClient() = default;

Result<std::string> EtcdClient::post(const std::string& path, const std::string& body) {
  std::lock_guard lock(mutex_);
  std::string last_error = "no endpoint";
  const auto deadline = std::chrono::steady_clock::now() + timeout_;
  // Each endpoint once, starting with the one that answered last, within the one deadline.
  for (size_t attempt = 0; attempt < endpoints_.size(); ++attempt) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    const EtcdEndpoint& ep = endpoints_[current_];
    auto res = http_.request({ep.tls, ep.host, std::to_string(ep.port)}, "POST", path, body,
                             "application/json", left);
    if (!res) {
      last_error = res.status().message;
    } else if (res->status != 200) {
      // An answer from etcd itself (a bad request, no leader): not worth another member
      // for a client error, but an unavailable member is.
      last_error = ep.host + ":" + std::to_string(ep.port) + " answered " +
                   std::to_string(res->status) + ": " + res->body.substr(0, 300);
      if (res->status < 500) return etcd_error(last_error);
      http_.reset();
    } else {
      return std::move(res.value().body);
    }
    current_ = (current_ + 1) % endpoints_.size();
  }
  return error(kEtcdUnavailable, last_error);
}

namespace {

Result<json> parse(const Result<std::string>& text) {
  if (!text) return text.status();
  json j = json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return etcd_error("etcd answered no JSON object");
  return j;
}

}  // namespace

Result<EtcdRange> EtcdClient::range(const std::string& key, const std::string& range_end,
                                    int64_t limit, int64_t min_mod_revision) {
  json req = {{"key", base64(key)}};
  if (!range_end.empty()) req["range_end"] = base64(range_end);
  if (limit) req["limit"] = std::to_string(limit);
  if (min_mod_revision) req["min_mod_revision"] = std::to_string(min_mod_revision);
  auto j = parse(post("/v3/kv/range", req.dump()));
  if (!j) return j.status();
  EtcdRange out;
  out.revision = number((*j)["header"], "revision");
  out.more = j->value("more", false);
  for (const auto& kv : j->value("kvs", json::array())) {
    auto k = unbase64(kv.value("key", "")), v = unbase64(kv.value("value", ""));
    if (!k || !v) return etcd_error("etcd answered a key or value that is not base64");
    out.kvs.push_back({std::move(*k), std::move(*v), number(kv, "create_revision"),
                       number(kv, "mod_revision"), number(kv, "version"), number(kv, "lease")});
  }
  return out;
}

Status EtcdClient::put(const std::string& key, const std::string& value, int64_t lease) {
  json req = {{"key", base64(key)}, {"value", base64(value)}};
  if (lease) req["lease"] = std::to_string(lease);
  auto j = parse(post("/v3/kv/put", req.dump()));
  return j ? Status::ok() : j.status();
}

Result<bool> EtcdClient::txn(const std::vector<EtcdCompare>& compare,
                             const std::vector<EtcdOp>& success) {
  json req = {{"compare", json::array()}, {"success", json::array()}};
  for (const auto& c : compare) {
    json one = {{"key", base64(c.key)}, {"result", "EQUAL"}};
    if (c.target == EtcdCompare::Target::kVersion) {
      one["target"] = "VERSION";
      one["version"] = std::to_string(c.value);
    } else {
      one["target"] = "LEASE";
      one["lease"] = std::to_string(c.value);
    }
    req["compare"].push_back(std::move(one));
  }
  for (const auto& op : success) {
    if (op.kind == EtcdOp::Kind::kPut) {
      json put = {{"key", base64(op.key)}, {"value", base64(op.value)}};
      if (op.lease) put["lease"] = std::to_string(op.lease);
      req["success"].push_back({{"requestPut", std::move(put)}});
    } else {
      req["success"].push_back({{"requestDeleteRange", {{"key", base64(op.key)}}}});
    }
  }
  auto j = parse(post("/v3/kv/txn", req.dump()));
  if (!j) return j.status();
  return j->value("succeeded", false);
}

Result<int64_t> EtcdClient::grant(int64_t ttl_seconds) {
  auto j = parse(post("/v3/lease/grant", json{{"TTL", std::to_string(ttl_seconds)}}.dump()));
  if (!j) return j.status();
  if (j->contains("error") && !(*j)["error"].empty())
    return etcd_error("lease grant: " + (*j)["error"].dump());
  int64_t id = number(*j, "ID");
  if (!id) return etcd_error("etcd granted no lease");
  return id;
}

Result<int64_t> EtcdClient::keepalive(int64_t lease) {
  auto j = parse(post("/v3/lease/keepalive", json{{"ID", std::to_string(lease)}}.dump()));
  if (!j) return j.status();
  // A stream call through the gateway: the one answer comes as {"result": {...}}.
  const json& r = j->contains("result") ? (*j)["result"] : *j;
  return std::max<int64_t>(0, number(r, "TTL"));
}

Status EtcdClient::revoke(int64_t lease) {
  auto j = parse(post("/v3/lease/revoke", json{{"ID", std::to_string(lease)}}.dump()));
  return j ? Status::ok() : j.status();
}

}  // namespace gridpact::cluster
