// JSON views of ledger values for the API and the CLI. Binary values travel as lower-case
// hex; every view of a signed object also carries its canonical bytes ("raw"), which are
// what clients verify, so no JSON parsing ambiguity can change what was signed.
#pragma once

#include "ledger/executor.hpp"
#include "ledger/receipt_proof.hpp"

namespace gridpact::api {

json error_json(const Status& s);
json header_json(const BlockHeader& h);
json tx_json(const Transaction& tx, const Executor& executor);
// Event data as the modules' JSON views of their typed events (the one-argument form, without
// the modules, shows undeclared event data as hex).
json receipt_json(const Receipt& r, const Executor& executor);
json receipt_json(const Receipt& r);
json merkle_proof_json(const merkle::Proof& p);
json state_proof_json(const StateProof& p);

Result<merkle::Proof> parse_merkle_proof(const json& j);
Result<StateProof> parse_state_proof(const json& j);

// A receipt bundle (see ledger/receipt_proof.hpp) as JSON: GET /v1/tx/<id> returns one,
// `gridpact verify-receipt` checks one.
json bundle_json(const ReceiptBundle& b);
Result<ReceiptBundle> parse_bundle(const json& j);

// Reads a hex string field; error INVALID_ARGUMENT naming the field otherwise.
Result<Bytes> hex_field(const json& j, const char* name);

}  // namespace gridpact::api
