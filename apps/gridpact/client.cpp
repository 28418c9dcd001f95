#include "client.hpp"

#include <httplib.h>

namespace gridpact::cli {

ApiClient::ApiClient(const std::string& url) : http_(std::make_unique<httplib::Client>(url)) {
  http_->set_read_timeout(70, 0);
  http_->set_connection_timeout(5, 0);
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

Result<json> ApiClient::submit(const KeyPair& key, uint16_t type, Bytes payload, bool wait,
                               uint64_t nonce_offset) {
  auto chain = chain_id();
  if (!chain) return chain.status();
  auto account = get("/v1/accounts/" + key.public_key().hex());
  if (!account) return account.status();
  Transaction tx;
  tx.chain_id = *chain;
  tx.nonce = (*account)["nonce"].get<uint64_t>() + nonce_offset;
  tx.type = type;
  tx.payload = std::move(payload);
  tx.sign(key);
  auto r = post(wait ? "/v1/tx?wait=commit" : "/v1/tx", {{"tx", to_hex(tx.encode())}});
  if (!r) return r.status();
  if (wait && r->value("status", "") != "committed")
    return error(Code::kTimeout, "transaction " + tx.id().hex() + " not committed in time");
  return r;
}

}  // namespace gridpact::cli
