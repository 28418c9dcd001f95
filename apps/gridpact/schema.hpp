// The message registry exported for clients: `gridpact schema` (cmd_schema.cpp),
// `gridpact schema --markdown` (schema_markdown.cpp) and `gridpact vectors` (vectors.cpp).
// Their outputs are committed as clients/schema.json, docs/messages.md and
// clients/vectors.json; clients_generated_test keeps them equal to what the binary prints.
#pragma once

#include "ledger/module.hpp"

namespace gridpact::cli {

// Every module's messages (type, name, module, fields) and events, with the transaction
// envelope, the signing rules and the proof formats.
Result<json> message_registry();
// docs/messages.md, from message_registry().
std::string registry_markdown(const json& registry);
// Sample payloads of every message type (zero, max, mixed), each signed as a transaction
// with a key from a fixed seed; a receipt bundle and state proofs, valid and tampered.
Result<json> test_vectors();

}  // namespace gridpact::cli
