// gridpact schema [--markdown]: the message registry as data, for the client kits
// (clients/schema.json) and the docs (docs/messages.md). Every message type comes from the
// modules' message tables and every payload layout from its `fields` (codec/layout.hpp),
// so a module's new message is in the kits once the files are regenerated, and
// clients_generated_test fails until they are.
#include <cstdio>
#include <iostream>

#include "app.hpp"
#include "ledger/block.hpp"
#include "ledger/receipt_proof.hpp"
#include "schema.hpp"

namespace gridpact::cli {
namespace {

json field(std::string_view name, json desc) {
  json f = {{"name", name}};
  f.update(desc);
  return f;
}
json fixed(size_t n) {
  return {{"kind", "fixed"}, {"size", n}};
}
json bounded(std::string_view kind, size_t max) {
  return {{"kind", kind}, {"max_len", max}};
}
json integer(std::string_view kind) {
  return {{"kind", kind}};
}
json constant(uint8_t v) {
  return {{"kind", "const"}, {"type", "u8"}, {"value", v}};
}

// The envelope and the proofs, as ledger/transaction.cpp, block.cpp and receipt_proof.cpp
// write them (the vectors check every byte of it in both kits).
json envelope() {
  json tx = {
      {"fields",
       json::array({field("version", constant(Transaction::kVersion)),
                    field("chain_id", bounded("string", kMaxChainId)), field("sender", fixed(32)),
                    field("nonce", integer("u64")), field("type", integer("u16")),
                    field("payload", bounded("bytes", kMaxPayload)),
                    field("signature", fixed(64))})},
      {"max_bytes", kMaxTxBytes},
      {"signing_domain", "gridpact/tx/v1"},
      {"signing",
       "signature = Ed25519(sender's key, SHA-256(signing_domain || the encoding of every field "
       "but the signature)); the message signed is the 32-byte digest"},
      {"id", "SHA-256 of the whole encoding, signature included"},
      {"chain_id", "the chain's id (GET /v1/chain); a transaction for another chain fails"},
      {"nonce",
       "the sender's committed nonce (GET /v1/accounts/<pk>) for its next transaction, then "
       "+1 for each one in flight; a nonce up to 64 ahead waits in the mempool; a failed "
       "transaction spends its nonce too"}};
  json header = {
      {"fields", json::array({field("version", constant(BlockHeader::kVersion)),
                              field("chain_id", bounded("string", kMaxChainId)),
                              field("height", integer("u64")), field("prev_hash", fixed(32)),
                              field("time_ms", integer("u64")), field("tx_count", integer("u32")),
                              field("tx_root", fixed(32)), field("receipts_root", fixed(32)),
                              field("state_root", fixed(32)), field("proposer", fixed(32)),
                              field("signature", fixed(64))})},
      {"signing_domain", "gridpact/block/v1"},
      {"hash", "SHA-256(signing_domain || every field but the signature), signed by the proposer"}};
  json event = {{"kind", "struct"},
                {"fields", json::array({field("type", bounded("string", kMaxEventType)),
                                        field("data", bounded("bytes", kMaxEventData))})}};
  json receipt = {
      {"fields",
       json::array(
           {field("version", constant(Receipt::kVersion)), field("tx_id", fixed(32)),
            field("height", integer("u64")), field("index", integer("u32")),
            field("code", integer("u16")), field("message", bounded("string", kMaxReceiptMessage)),
            field("events", json{{"kind", "list"}, {"max_len", kMaxEvents}, {"item", event}})})},
      {"hash", "SHA-256 of the encoding"},
      {"events", "each event's data is the encoding of its type's fields (see events)"}};
  json bundle = {
      {"json",
       "GET /v1/tx/<id> .bundle: tx_raw, receipt_raw, header_raw (hex), tx_proof and "
       "receipt_proof ({index, size, path: [hex]})"},
      {"verify",
       "decode all three; header.proposer is the validator and its signature verifies; the "
       "transaction's signature verifies; receipt.tx_id = SHA-256(tx_raw); receipt.height = "
       "header.height; both proofs' index = receipt.index; merkle(leaf(tx_id), tx_proof) = "
       "tx_root; merkle(leaf(SHA-256(receipt_raw)), receipt_proof) = receipts_root"}};
  json merkle = {{"leaf", "SHA-256(0x00 || data)"},
                 {"node", "SHA-256(0x01 || left || right)"},
                 {"split", "a list of n > 1 leaves splits at the largest power of two below n"},
                 {"empty", "SHA-256 of nothing"},
                 {"proof", "siblings from the leaf up; at most 64"}};
  json state = {
      {"tree",
       "sparse Merkle tree over key_hash = SHA-256(key), path bits from the most "
       "significant bit of key_hash; a leaf sits where it is alone in its subtree"},
      {"empty", "32 zero bytes"},
      {"leaf", "SHA-256(0x00 || key_hash || SHA-256(value))"},
      {"node", "SHA-256(0x01 || left || right)"},
      {"proof",
       "{siblings (root down, at most 256), ends_at_leaf, leaf_key_hash, leaf_value_hash}: "
       "start from the leaf it ends at (or 32 zero bytes), hash up with the siblings, deepest "
       "first, on the side key_hash's bit at that depth says; compare with the header's "
       "state_root. A leaf of another key proves absence only if it shares the path's bits"}};
  return {{"transaction", tx},        {"block_header", header}, {"receipt", receipt},
          {"receipt_bundle", bundle}, {"merkle", merkle},       {"state_proof", state}};
}

}  // namespace

Result<json> message_registry() {
  auto modules = all_modules();
  json messages = json::array(), events = json::array();
  for (const Module* m : module_pointers(modules)) {
    for (const auto& e : m->messages().entries()) {
      if (e.layout.is_null())
        return error(Code::kInvalidArgument,
                     "message " + std::string(e.name) +
                         " has no `fields` (codec/fields.hpp): the client kits cannot build it");
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%04x", e.type);
      messages.push_back({{"type", e.type},
                          {"type_hex", hex},
                          {"name", e.name},
                          {"module", m->name()},
                          {"fields", e.layout}});
    }
    for (const auto& ev : m->event_layouts())
      events.push_back({{"type", ev.type}, {"module", m->name()}, {"fields", ev.fields}});
  }
  json out = envelope();
  out["format"] = 1;
  out["encoding"] =
      "integers fixed-width big-endian (i64 two's complement); bool one byte 0/1; string and "
      "bytes a u32 length then the bytes (max_len bounds the bytes); fixed the bytes; list a "
      "u32 count then the items (max_len bounds the count); optional a bool then the value "
      "if true; struct its fields in order; const a value that must be exactly that";
  out["messages"] = messages;
  out["events"] = events;
  return out;
}

void add_schema_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "schema", "Print the message registry (every transaction type's layout) as JSON");
  auto markdown = std::make_shared<bool>(false);
  cmd->add_flag("--markdown", *markdown, "Print docs/messages.md instead");
  cmd->callback([markdown] {
    auto r = message_registry();
    if (!r) finish(fail(r.status()));
    std::cout << (*markdown ? registry_markdown(*r) : r->dump(1) + "\n");
  });
  auto* vec = app.add_subcommand(
      "vectors",
      "Print test vectors (every message type's sample payloads, signed transactions, "
      "a receipt bundle, state proofs) as JSON");
  vec->callback([] {
    auto r = test_vectors();
    if (!r) finish(fail(r.status()));
    std::cout << r->dump(1) << "\n";
  });
}

}  // namespace gridpact::cli
