#include "client.hpp"

#include <algorithm>

#include <httplib.h>

namespace gridpact::cli {

namespace {
std::string& ca_file() {
  static std::string path;
  return path;
}
}  // namespace

void ApiClient::set_ca_file(std::string path) {
  ca_file() = std::move(path);
}

ApiClient::ApiClient(const std::string& url, std::chrono::seconds timeout)
    : http_(std::make_unique<httplib::Client>(url)) {
  http_->set_read_timeout(timeout.count(), 0);
  http_->set_connection_timeout(std::min<time_t>(5, timeout.count()), 0);
  // https:// URLs: the node's certificate is verified (chain and name) against this CA.
  if (!ca_file().empty()) http_->set_ca_cert_path(ca_file());
}

ApiClient::~ApiClient() = default;

namespace {

Result<json> decode_response(const httplib::Result& r) {
  if (!r) return error(Code::kTimeout, "node unreachable: " + httplib::to_string(r.error()));
  json j = json::parse(r->body, nullptr, false);
  if (j.is_discarded())
    return error(Code::kMalformedJson,
                 "node answered " + std::to_string(r->status) + " with non-JSON");
  if (r->status >= 400 && j.contains("error")) {
    const json& e = j["error"];
    return error(static_cast<Code>(e.value("code", 500)), e.value("message", std::string()));
  }
  return j;
}

}  // namespace

Result<json> ApiClient::get(const std::string& path) {
  return decode_response(http_->Get(path));
}

Result<json> ApiClient::post(const std::string& path, const json& body) {
  return decode_response(http_->Post(path, body.dump(), "application/json"));
}

Result<std::string> ApiClient::chain_id() {
  if (chain_id_.empty()) {
    auto c = get("/v1/chain");
    if (!c) return c.status();
    chain_id_ = (*c)["chain_id"];
  }
  return chain_id_;
}

Result<Transaction> ApiClient::sign(const KeyPair& key, uint16_t type, Bytes payload,
                                    std::optional<uint64_t> nonce, const std::string& chain_id) {
  Transaction tx;
  if (chain_id.empty()) {
    auto chain = this->chain_id();
    if (!chain) return chain.status();
    tx.chain_id = *chain;
  } else {
    tx.chain_id = chain_id;
  }
  if (!nonce) {
    auto account = get("/v1/accounts/" + key.public_key().hex());
    if (!account) return account.status();
    nonce = (*account)["nonce"].get<uint64_t>();
  }
  tx.nonce = *nonce;
  tx.type = type;
  tx.payload = std::move(payload);
  tx.sign(key);
  return tx;
}

Result<json> ApiClient::send(const std::vector<Bytes>& raws, bool wait) {
  json body;
  if (raws.size() == 1) {
    body["tx"] = to_hex(raws[0]);
  } else {
    body["txs"] = json::array();
    for (const auto& r : raws) body["txs"].push_back(to_hex(r));
  }
  return post(wait ? "/v1/tx?wait=commit" : "/v1/tx", body);
}

Result<json> ApiClient::submit(const KeyPair& key, uint16_t type, Bytes payload, bool wait,
                               uint64_t nonce_offset) {
  std::optional<uint64_t> nonce;
  if (nonce_offset != 0) {
    auto account = get("/v1/accounts/" + key.public_key().hex());
    if (!account) return account.status();
    nonce = (*account)["nonce"].get<uint64_t>() + nonce_offset;
  }
  auto tx = sign(key, type, std::move(payload), nonce);
  if (!tx) return tx.status();
  auto r = send({tx->encode()}, wait);
  if (!r) return r.status();
  if (wait && r->value("status", "") != "committed")
    return error(Code::kTimeout, "transaction " + tx->id().hex() + " not committed in time");
  return r;
}

}  // namespace gridpact::cli
