#include "api/views.hpp"

namespace gridpact::api {

json error_json(const Status& s) {
  return {
      {"error",
       {{"code", static_cast<int>(s.code)}, {"name", code_name(s.code)}, {"message", s.message}}}};
}

json header_json(const BlockHeader& h) {
  return {{"chain_id", h.chain_id},
          {"height", h.height},
          {"hash", h.hash().hex()},
          {"prev_hash", h.prev_hash.hex()},
          {"time_ms", h.time_ms},
          {"tx_count", h.tx_count},
          {"tx_root", h.tx_root.hex()},
          {"receipts_root", h.receipts_root.hex()},
          {"state_root", h.state_root.hex()},
          {"proposer", h.proposer.hex()},
          {"signature", h.signature.hex()},
          {"raw", to_hex(h.encode())}};
}

json tx_json(const Transaction& tx, const Executor& executor) {
  json j = {{"id", tx.id().hex()}, {"chain_id", tx.chain_id}, {"sender", tx.sender.hex()},
            {"nonce", tx.nonce},   {"type", tx.type},         {"raw", to_hex(tx.encode())}};
  if (Module* m = executor.module_for(tx.type)) {
    for (const auto& t : m->tx_types())
      if (t.type == tx.type) j["type_name"] = t.name;
    j["payload"] = m->payload_json(tx.type, tx.payload);
  }
  return j;
}

namespace {

// An event's data as JSON: the view its module derives from the event's typed fields. A
// module that has not declared the type yet recorded JSON text, shown parsed; anything else
// is shown as hex.
json event_data_json(const Event& e, const Executor* executor) {
  if (executor)
    for (const Module* m : executor->modules())
      if (e.type.size() > m->name().size() && e.type.starts_with(m->name()) &&
          e.type[m->name().size()] == '/')
        if (auto j = m->event_json(e)) return *j;
  json data = json::parse(e.data, nullptr, false);
  if (!data.is_discarded()) return data;
  return to_hex(reinterpret_cast<const uint8_t*>(e.data.data()), e.data.size());
}

json receipt_view(const Receipt& r, const Executor* executor) {
  json events = json::array();
  for (const auto& e : r.events)
    events.push_back({{"type", e.type}, {"data", event_data_json(e, executor)}});
  return {{"tx_id", r.tx_id.hex()},
          {"height", r.height},
          {"index", r.index},
          {"code", r.code},
          {"code_name", code_name(static_cast<Code>(r.code))},
          {"ok", r.ok()},
          {"message", r.message},
          {"events", events},
          {"raw", to_hex(r.encode())}};
}

}  // namespace

json receipt_json(const Receipt& r) {
  return receipt_view(r, nullptr);
}
json receipt_json(const Receipt& r, const Executor& executor) {
  return receipt_view(r, &executor);
}

json merkle_proof_json(const merkle::Proof& p) {
  json path = json::array();
  for (const auto& h : p.path) path.push_back(h.hex());
  return {{"index", p.index}, {"size", p.size}, {"path", path}};
}

json state_proof_json(const StateProof& p) {
  json sib = json::array();
  for (const auto& h : p.siblings) sib.push_back(h.hex());
  json j = {{"siblings", sib}, {"ends_at_leaf", p.ends_at_leaf}};
  if (p.ends_at_leaf) {
    j["leaf_key_hash"] = p.leaf_key_hash.hex();
    j["leaf_value_hash"] = p.leaf_value_hash.hex();
  }
  return j;
}

namespace {

Result<Hash32> hash_of(const json& j) {
  if (!j.is_string()) return error(Code::kInvalidArgument, "hash must be a hex string");
  auto h = Hash32::from_hex(j.get<std::string>());
  if (!h) return error(Code::kInvalidArgument, "hash must be 64 hex digits");
  return *h;
}

}  // namespace

Result<merkle::Proof> parse_merkle_proof(const json& j) {
  if (!j.is_object() || !j.contains("index") || !j.contains("size") || !j.contains("path") ||
      !j["index"].is_number_unsigned() || !j["size"].is_number_unsigned() ||
      !j["path"].is_array() || j["path"].size() > 64)
    return error(Code::kInvalidArgument, "malformed Merkle proof");
  merkle::Proof p{j["index"], j["size"], {}};
  for (const auto& h : j["path"]) {
    auto x = hash_of(h);
    if (!x) return x.status();
    p.path.push_back(*x);
  }
  return p;
}

Result<StateProof> parse_state_proof(const json& j) {
  if (!j.is_object() || !j.contains("siblings") || !j["siblings"].is_array() ||
      j["siblings"].size() > 256 || !j.contains("ends_at_leaf") || !j["ends_at_leaf"].is_boolean())
    return error(Code::kInvalidArgument, "malformed state proof");
  StateProof p;
  for (const auto& h : j["siblings"]) {
    auto x = hash_of(h);
    if (!x) return x.status();
    p.siblings.push_back(*x);
  }
  p.ends_at_leaf = j["ends_at_leaf"];
  if (p.ends_at_leaf) {
    auto k = hash_of(j.value("leaf_key_hash", json()));
    auto v = hash_of(j.value("leaf_value_hash", json()));
    if (!k || !v) return error(Code::kInvalidArgument, "malformed state proof leaf");
    p.leaf_key_hash = *k;
    p.leaf_value_hash = *v;
  }
  return p;
}

Result<Bytes> hex_field(const json& j, const char* name) {
  if (!j.is_object() || !j.contains(name) || !j[name].is_string())
    return error(Code::kInvalidArgument, std::string("field '") + name + "' must be a hex string");
  auto b = from_hex(j[name].get<std::string>());
  if (!b) return error(Code::kInvalidArgument, std::string("field '") + name + "' is not hex");
  return std::move(*b);
}

json bundle_json(const ReceiptBundle& b) {
  return {{"tx_raw", to_hex(b.tx)},
          {"receipt_raw", to_hex(b.receipt)},
          {"header_raw", to_hex(b.header)},
          {"tx_proof", merkle_proof_json(b.tx_proof)},
          {"receipt_proof", merkle_proof_json(b.receipt_proof)}};
}

Result<ReceiptBundle> parse_bundle(const json& j) {
  ReceiptBundle b;
  auto tx = hex_field(j, "tx_raw");
  if (!tx) return tx.status();
  auto rc = hex_field(j, "receipt_raw");
  if (!rc) return rc.status();
  auto hd = hex_field(j, "header_raw");
  if (!hd) return hd.status();
  auto tp = parse_merkle_proof(j.value("tx_proof", json()));
  if (!tp) return tp.status();
  auto rp = parse_merkle_proof(j.value("receipt_proof", json()));
  if (!rp) return rp.status();
  return ReceiptBundle{std::move(tx).value(), std::move(rc).value(), std::move(hd).value(),
                       std::move(tp).value(), std::move(rp).value()};
}

}  // namespace gridpact::api
