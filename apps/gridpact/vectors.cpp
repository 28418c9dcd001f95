// gridpact vectors: what the client kits must reproduce byte for byte (clients/vectors.json).
// Every payload is a value built by codec::sample and encoded by the module's own codec;
// every transaction is signed by Transaction::sign; the bundle and the state proofs are
// built by the ledger's Merkle code, as a node builds them.
#include <algorithm>
#include <map>
#include <unordered_map>

#include "api/views.hpp"
#include "app.hpp"
#include "ledger/receipt_proof.hpp"
#include "ledger/state_tree.hpp"
#include "modules/bank/bank.hpp"
#include "modules/meters/meters.hpp"
#include "modules/meters/testing.hpp"  // the vectors use a virtual meter, as tests do
#include "schema.hpp"

namespace gridpact::cli {
namespace {

constexpr std::string_view kChainId = "gridpact-vectors";

// JSON numbers beyond 2^53 lose digits in JavaScript: the vectors spell them as strings
// (the kits accept both).
json safe_numbers(const json& j) {
  constexpr uint64_t kSafe = (uint64_t{1} << 53) - 1;
  if (j.is_number_unsigned() && j.get<uint64_t>() > kSafe) return std::to_string(j.get<uint64_t>());
  if (j.is_number_integer() && !j.is_number_unsigned() &&
      (j.get<int64_t>() < -static_cast<int64_t>(kSafe) ||
       j.get<int64_t>() > static_cast<int64_t>(kSafe)))
    return std::to_string(j.get<int64_t>());
  if (j.is_array() || j.is_object()) {
    json out = j;
    for (auto& [k, v] : out.items()) v = safe_numbers(v);
    return out;
  }
  return j;
}

json tx_vector(const Transaction& tx) {
  return {{"nonce", std::to_string(tx.nonce)},
          {"type", tx.type},
          {"payload", to_hex(tx.payload)},
          {"signing_hash", tx.signing_hash().hex()},
          {"signature", tx.signature.hex()},
          {"raw", to_hex(tx.encode())},
          {"id", tx.id().hex()}};
}

class MapSource : public TreeNodeSource {
 public:
  TreeNode get_node(const Hash32& h) const override { return nodes.at(h); }
  std::unordered_map<Hash32, TreeNode, FixedBytesHasher> nodes;
};

// A small state and proofs of a present key and of absent ones (ending at an empty
// subtree and at another key's leaf).
json state_vectors(Hash32& root) {
  MapSource source;
  StateTree tree(source);
  std::map<std::string, std::string> kv;
  for (int i = 0; i < 12; ++i) kv["key-" + std::to_string(i)] = "value-" + std::to_string(i * i);
  std::vector<TreeUpdate> ups;
  for (const auto& [k, v] : kv) ups.push_back({sha256(k), sha256(v)});
  std::sort(ups.begin(), ups.end(),
            [](const TreeUpdate& a, const TreeUpdate& b) { return a.key_hash < b.key_hash; });
  root =
      tree.apply(Hash32{}, ups, [&](const Hash32& h, const TreeNode& n) { source.nodes[h] = n; });
  json proofs = json::array();
  bool empty_end = false, leaf_end = false;
  auto add = [&](const std::string& key) {
    auto it = kv.find(key);
    StateProof p = tree.prove(root, sha256(key));
    if (it == kv.end()) (p.ends_at_leaf ? leaf_end : empty_end) = true;
    proofs.push_back(
        {{"key", to_hex(to_bytes(key))},
         {"value", it == kv.end() ? json(nullptr) : json(to_hex(to_bytes(it->second)))},
         {"proof", api::state_proof_json(p)}});
  };
  add("key-3");
  add("key-11");
  for (int i = 0; i < 64 && !(empty_end && leaf_end); ++i) {
    std::string key = "absent-" + std::to_string(i);
    StateProof p = tree.prove(root, sha256(key));
    if ((p.ends_at_leaf && !leaf_end) || (!p.ends_at_leaf && !empty_end)) add(key);
  }
  return {{"state_root", root.hex()}, {"proofs", proofs}};
}

// A block of three bank transfers with their receipts, the header signed by `validator`,
// and the bundle of the last one (whose receipt carries an event).
json bundle_vector(const KeyPair& sender, const KeyPair& validator, const Hash32& state_root) {
  std::vector<Transaction> txs;
  std::vector<Receipt> receipts;
  for (uint64_t i = 0; i < 3; ++i) {
    Transaction tx;
    tx.chain_id = kChainId;
    tx.nonce = i;
    tx.type = bank::kTransfer;
    tx.payload = bank::encode(bank::TransferPayload{validator.public_key(), 1000 * (i + 1), ""});
    tx.sign(sender);
    Receipt r;
    r.tx_id = tx.id();
    r.height = 7;
    r.index = static_cast<uint32_t>(i);
    if (i == 1) {
      r.code = static_cast<uint16_t>(Code::kInsufficientFunds);
      r.message = "balance 0 is below 2000";
    } else {
      r.events.push_back(make_event(
          bank::TransferEvent{sender.public_key(), validator.public_key(), 1000 * (i + 1)}));
    }
    txs.push_back(tx);
    receipts.push_back(r);
  }
  BlockHeader h;
  h.chain_id = kChainId;
  h.height = 7;
  h.prev_hash = sha256("gridpact/vectors/previous block");
  h.time_ms = 1'767'225'600'000;
  h.tx_count = 3;
  h.tx_root = tx_root(txs);
  h.receipts_root = receipts_root(receipts);
  h.state_root = state_root;
  h.sign(validator);
  std::vector<Hash32> tx_leaves, receipt_leaves;
  for (const auto& tx : txs) tx_leaves.push_back(merkle::leaf_hash(tx.id()));
  for (const auto& r : receipts) receipt_leaves.push_back(merkle::leaf_hash(r.hash()));
  ReceiptBundle b{txs[2].encode(), receipts[2].encode(), h.encode(), merkle::prove(tx_leaves, 2),
                  merkle::prove(receipt_leaves, 2)};
  if (!verify_bundle(b, validator.public_key())) throw std::logic_error("vector bundle invalid");
  return {{"validator", validator.public_key().hex()},
          {"header_hash", h.hash().hex()},
          {"tx_id", txs[2].id().hex()},
          {"bundle", api::bundle_json(b)},
          {"encoded", to_hex(encode_bundle(b))}};
}

// A virtual meter's registration (its self-signed evidence) and a signed reading, as
// meters::virtual_registration and meters::virtual_reading build them.
json virtual_meter_vector(const KeyPair& owner) {
  const KeyPair meter = KeyPair::from_seed(sha256("gridpact/vectors/meter"));
  meters::RegisterPayload fields;
  fields.microgrid = "north";
  fields.source = meters::Source::kPv;
  fields.location = "roof 12";
  fields.firmware_version = "kit-1.0";
  fields.initial_import_wh = 1'000;
  fields.initial_export_wh = 250;
  auto reg = meters::virtual_registration(meter, owner.public_key(), kChainId, fields);
  auto reading = meters::virtual_reading(meter, kChainId, 29'453'760, 3, 1'500, 900);
  return {{"meter_seed", meter.seed().hex()},
          {"owner", owner.public_key().hex()},
          {"meter_id", meters::virtual_meter_id(meter).hex()},
          {"fields", safe_numbers(codec::fields_json(fields))},
          {"register_payload", to_hex(meters::encode(reg))},
          {"reading", safe_numbers(codec::fields_json(reading))},
          {"reading_payload", to_hex(meters::encode(reading))}};
}

}  // namespace

Result<json> test_vectors() {
  const KeyPair sender = KeyPair::from_seed(sha256("gridpact/vectors/sender"));
  const KeyPair validator = KeyPair::from_seed(sha256("gridpact/vectors/validator"));
  auto modules = all_modules();
  json messages = json::array();
  uint64_t nonce = 0;
  codec::SampleRng rng{0x67726964706163ull};  // one sequence for the whole file
  for (const Module* m : module_pointers(modules)) {
    for (const auto& e : m->messages().entries()) {
      json samples = json::array(), txs = json::array();
      for (auto [kind, label] :
           {std::pair{codec::Sample::kZero, "zero"}, std::pair{codec::Sample::kMax, "max"},
            std::pair{codec::Sample::kMixed, "mixed"}}) {
        auto s = e.sample(kind, rng);
        if (!s)
          return error(Code::kInvalidArgument,
                       "message " + std::string(e.name) + " has no `fields` to sample");
        // The module's decoder (which may check more than the layout) takes its sample.
        if (!e.view(s->second))
          return error(Code::kBadEncoding,
                       "message " + std::string(e.name) + " refuses its " + label + " sample");
        samples.push_back(
            {{"sample", label}, {"value", safe_numbers(s->first)}, {"payload", to_hex(s->second)}});
        if (s->second.size() > kMaxPayload) continue;
        Transaction tx;
        tx.chain_id = kChainId;
        // The max sample's transaction carries the largest nonce.
        tx.nonce = kind == codec::Sample::kMax ? UINT64_MAX : nonce++;
        tx.type = e.type;
        tx.payload = s->second;
        tx.sign(sender);
        json t = tx_vector(tx);
        t["sample"] = label;
        txs.push_back(t);
      }
      messages.push_back(
          {{"type", e.type}, {"name", e.name}, {"samples", samples}, {"transactions", txs}});
    }
  }
  Hash32 root;
  json state = state_vectors(root);
  return json{
      {"format", 1},
      {"chain_id", kChainId},
      {"sender", {{"seed", sender.seed().hex()}, {"public_key", sender.public_key().hex()}}},
      {"messages", messages},
      {"receipt_bundle", bundle_vector(sender, validator, root)},
      {"virtual_meter", virtual_meter_vector(sender)},
      {"state", state}};
}

}  // namespace gridpact::cli
