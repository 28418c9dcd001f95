// The agreements module's receipt events: each recorded as the canonical encoding of its
// fields (never JSON text); Module::event_json derives their JSON. Shared by the module's
// source files only.
#pragma once

#include <tuple>

#include "codec/fields.hpp"
#include "modules/agreements/records.hpp"

namespace gridpact::agreements {

struct AssetEvent {
  static constexpr std::string_view kType = "agreements/asset";
  uint64_t asset = 0;
  PublicKey owner;
  static constexpr auto fields = std::tuple{codec::field("asset", &AssetEvent::asset),
                                            codec::field("owner", &AssetEvent::owner)};
};

struct PremisesEvent {
  static constexpr std::string_view kType = "agreements/premises";
  uint64_t premises = 0;
  PublicKey host;
  static constexpr auto fields = std::tuple{codec::field("premises", &PremisesEvent::premises),
                                            codec::field("host", &PremisesEvent::host)};
};

struct AssetTransferEvent {
  static constexpr std::string_view kType = "agreements/asset-transfer";
  uint64_t asset = 0;
  PublicKey from;
  PublicKey to;
  static constexpr auto fields = std::tuple{codec::field("asset", &AssetTransferEvent::asset),
                                            codec::field("from", &AssetTransferEvent::from),
                                            codec::field("to", &AssetTransferEvent::to)};
};

struct ProposedEvent {
  static constexpr std::string_view kType = "agreements/proposed";
  uint64_t agreement = 0;
  Hash32 terms_hash;
  static constexpr auto fields = std::tuple{codec::field("agreement", &ProposedEvent::agreement),
                                            codec::field("terms_hash", &ProposedEvent::terms_hash)};
};

struct SignedEvent {
  static constexpr std::string_view kType = "agreements/signed";
  uint64_t agreement = 0;
  uint64_t party = 0;
  bool active = false;
  static constexpr auto fields = std::tuple{codec::field("agreement", &SignedEvent::agreement),
                                            codec::field("party", &SignedEvent::party),
                                            codec::field("active", &SignedEvent::active)};
};

struct AmendmentEvent {
  static constexpr std::string_view kType = "agreements/amendment";
  uint64_t agreement = 0;
  Hash32 terms_hash;
  static constexpr auto fields =
      std::tuple{codec::field("agreement", &AmendmentEvent::agreement),
                 codec::field("terms_hash", &AmendmentEvent::terms_hash)};
};

struct AmendmentSignedEvent {
  static constexpr std::string_view kType = "agreements/amendment-signed";
  uint64_t agreement = 0;
  uint64_t party = 0;
  bool amended = false;
  static constexpr auto fields =
      std::tuple{codec::field("agreement", &AmendmentSignedEvent::agreement),
                 codec::field("party", &AmendmentSignedEvent::party),
                 codec::field("amended", &AmendmentSignedEvent::amended)};
};

struct TerminatedEvent {
  static constexpr std::string_view kType = "agreements/terminated";
  uint64_t agreement = 0;
  uint64_t by = 0;
  static constexpr auto fields = std::tuple{codec::field("agreement", &TerminatedEvent::agreement),
                                            codec::field("by", &TerminatedEvent::by)};
};

struct PaidEvent {
  static constexpr std::string_view kType = "agreements/paid";
  uint64_t agreement = 0;
  uint64_t amount = 0;
  static constexpr auto fields = std::tuple{codec::field("agreement", &PaidEvent::agreement),
                                            codec::field("amount", &PaidEvent::amount)};
};

// What billing did (one agreement's execute, or the block's end_block): the counters of
// ExecutedEvent and BillingEvent.
struct BillingTally {
  uint64_t billed = 0, paid = 0, missed = 0, penalties = 0, defaulted = 0, ended = 0;
  uint64_t amount = 0;
  void add(const BillingTally& o) {
    billed += o.billed, paid += o.paid, missed += o.missed, penalties += o.penalties;
    defaulted += o.defaulted, ended += o.ended, amount = sat_add(amount, o.amount);
  }
  static constexpr auto counter_fields =
      std::tuple{codec::field("billed", &BillingTally::billed),
                 codec::field("paid", &BillingTally::paid),
                 codec::field("missed", &BillingTally::missed),
                 codec::field("penalties", &BillingTally::penalties),
                 codec::field("defaulted", &BillingTally::defaulted),
                 codec::field("ended", &BillingTally::ended),
                 codec::field("amount", &BillingTally::amount)};
};

// Encoded as the agreement, then the counters.
struct ExecutedEvent : BillingTally {
  static constexpr std::string_view kType = "agreements/executed";
  uint64_t agreement = 0;
  static constexpr auto fields = std::tuple_cat(
      std::tuple{codec::field("agreement", &ExecutedEvent::agreement)}, counter_fields);
};

struct RatedEvent {
  static constexpr std::string_view kType = "agreements/rated";
  uint64_t agreement = 0;
  uint32_t period = 0;
  PublicKey ratee;
  uint8_t score = 0;
  uint64_t rating = 0;
  static constexpr auto fields = std::tuple{
      codec::field("agreement", &RatedEvent::agreement),
      codec::field("period", &RatedEvent::period), codec::field("ratee", &RatedEvent::ratee),
      codec::field("score", &RatedEvent::score), codec::field("rating", &RatedEvent::rating)};
};

struct RatedTradeEvent {
  static constexpr std::string_view kType = "agreements/rated-trade";
  std::string trade;
  PublicKey ratee;
  uint8_t score = 0;
  uint64_t weight = 0;
  uint64_t rating = 0;
  static constexpr auto fields =
      std::tuple{codec::field("trade", &RatedTradeEvent::trade, codec::max_len(64)),
                 codec::field("ratee", &RatedTradeEvent::ratee),
                 codec::field("score", &RatedTradeEvent::score),
                 codec::field("weight", &RatedTradeEvent::weight),
                 codec::field("rating", &RatedTradeEvent::rating)};
};

struct BillingEvent : BillingTally {
  static constexpr std::string_view kType = "agreements/billing";
  static constexpr auto fields = counter_fields;
};

}  // namespace gridpact::agreements
