// The bank module: the settlement currency, in integer micro-units.
//
// Only the issuer named in genesis mints (fiat in) and burns (fiat out). Accounts
// transfer to each other. Other modules lock funds in escrow (a bid, an agreement
// deposit) and later release them to a payee or refund the owner, through the functions
// below, inside their own transactions.
//
// Invariant: supply == sum of balances + sum of escrows; only mint and burn change it.
//
// State keys:
//   bank/issuer          issuer public key
//   bank/supply          u64
//   bank/bal/<pk>        u64 balance
//   bank/locked/<pk>     u64 sum of the account's open escrows
//   bank/esc/<id>        owner pk (32) || u64 amount
#pragma once

#include <span>

#include "ledger/module.hpp"

namespace gridpact::bank {

constexpr uint16_t kTransfer = 0x0101;
constexpr uint16_t kMint = 0x0102;
constexpr uint16_t kBurn = 0x0103;
constexpr size_t kMaxMemo = 128;
constexpr size_t kMaxEscrowId = 128;

// Payloads: their fields in order are their encoding (codec/fields.hpp) and their JSON.
struct TransferPayload {
  PublicKey to;
  uint64_t amount = 0;
  std::string memo;
  static constexpr auto fields = std::tuple{
      codec::field("to", &TransferPayload::to), codec::field("amount", &TransferPayload::amount),
      codec::field("memo", &TransferPayload::memo, codec::max_len(kMaxMemo))};
};
struct MintPayload {
  PublicKey to;
  uint64_t amount = 0;
  static constexpr auto fields = std::tuple{codec::field("to", &MintPayload::to),
                                            codec::field("amount", &MintPayload::amount)};
};
struct BurnPayload {
  uint64_t amount = 0;
  static constexpr auto fields = std::tuple{codec::field("amount", &BurnPayload::amount)};
};

Bytes encode(const TransferPayload& p);
Bytes encode(const MintPayload& p);
Bytes encode(const BurnPayload& p);
Result<TransferPayload> decode_transfer(const Bytes& b);
Result<MintPayload> decode_mint(const Bytes& b);
Result<BurnPayload> decode_burn(const Bytes& b);

// Events (receipt data: the canonical encoding of these fields).
struct TransferEvent {
  static constexpr std::string_view kType = "bank/transfer";
  PublicKey from, to;
  uint64_t amount = 0;
  static constexpr auto fields =
      std::tuple{codec::field("from", &TransferEvent::from), codec::field("to", &TransferEvent::to),
                 codec::field("amount", &TransferEvent::amount)};
};
struct MintEvent {
  static constexpr std::string_view kType = "bank/mint";
  PublicKey to;
  uint64_t amount = 0;
  static constexpr auto fields =
      std::tuple{codec::field("to", &MintEvent::to), codec::field("amount", &MintEvent::amount)};
};
struct BurnEvent {
  static constexpr std::string_view kType = "bank/burn";
  uint64_t amount = 0;
  static constexpr auto fields = std::tuple{codec::field("amount", &BurnEvent::amount)};
};

// Reads.
uint64_t balance(const StateReader& s, const PublicKey& account);
uint64_t locked(const StateReader& s, const PublicKey& account);
uint64_t supply(const StateReader& s);
// The sum of every balance and escrow, read from state in key order (it visits every
// account: for audits and invariant checks). On a sound chain it equals supply().
uint64_t holdings(const StateReader& s);
std::optional<PublicKey> issuer(const StateReader& s);
struct Escrow {
  PublicKey owner;
  uint64_t amount = 0;
};
std::optional<Escrow> escrow(const StateReader& s, std::string_view id);

// Writes, for this module and others. Each checks funds and overflow and changes nothing
// when it fails.
Status transfer(StateOverlay& s, const PublicKey& from, const PublicKey& to, uint64_t amount);
// Pays every payout from `from`, all or nothing: changes nothing unless `from` holds their
// sum and no recipient's balance overflows. Each balance is read and written once (billing
// many agreements in one block). Recipients must be distinct and differ from `from`.
struct Payout {
  PublicKey to;
  uint64_t amount = 0;
};
Status pay_many(StateOverlay& s, const PublicKey& from, std::span<const Payout> payouts);
Status lock(StateOverlay& s, const PublicKey& owner, std::string_view escrow_id, uint64_t amount);
// Pays `amount` out of an escrow to `to`; the escrow closes when it reaches zero.
Status release(StateOverlay& s, std::string_view escrow_id, const PublicKey& to, uint64_t amount);
// Returns whatever is left in the escrow to its owner and closes it.
Status refund(StateOverlay& s, std::string_view escrow_id);

class BankModule : public Module {
 public:
  BankModule();  // declares the messages: bank/transfer, bank/mint, bank/burn
  std::string_view name() const override { return "bank"; }
  Status init_genesis(StateOverlay& state, const json& section) override;
  std::string default_genesis(const DevelopmentAccounts& accounts) const override;
  std::vector<state::SchemaEntry> schema() const override;
  std::vector<std::string> account_keys(const PublicKey& account) const override;

 private:
  void declare_routes();  // the module's query routes: supply, issuer, accounts/{account}
  Status on_transfer(TxContext& ctx, const TransferPayload& p);
  Status on_mint(TxContext& ctx, const MintPayload& p);
  Status on_burn(TxContext& ctx, const BurnPayload& p);
};

}  // namespace gridpact::bank
