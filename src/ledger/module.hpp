// The interface between the chain engine and the application modules (bank, meters,
// market, ...). The engine orders, authenticates and stores; a module owns a range of
// transaction types, the state keys under its own prefix, its handlers and its queries.
// Modules see only StateReader / StateOverlay: no sockets, no disks, no clocks but the
// block's.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"
#include "codec/fields.hpp"
#include "codec/layout.hpp"
#include "ledger/block.hpp"
#include "ledger/collections.hpp"
#include "ledger/params.hpp"
#include "ledger/state.hpp"

namespace gridpact {

using json = nlohmann::json;

struct BlockInfo {
  std::string chain_id;
  uint64_t height = 0;
  uint64_t time_ms = 0;
};

struct TxContext {
  const BlockInfo& block;
  const Transaction& tx;
  Hash32 tx_id;
  StateOverlay& state;         // discarded if the handler returns an error
  std::vector<Event>& events;  // recorded in the receipt on success
};

struct BlockContext {
  const BlockInfo& block;
  StateOverlay& state;
  std::vector<Event>& events;  // recorded in the block's end-of-block receipt
};

// The accounts a development chain starts with, for the modules' default genesis sections.
struct DevelopmentAccounts {
  PublicKey issuer;  // mints, and stands in for every authority of a development chain
  std::vector<std::pair<PublicKey, uint64_t>> balances;
};

struct TxTypeInfo {
  uint16_t type;
  std::string_view name;  // e.g. "bank/transfer"
};

class Module;

// How a module's message of payload type P is read and checked, beyond its handler.
template <typename P>
struct MessageOptions {
  // The stateless check run by the mempool once the payload decodes (fields in range,
  // not to self, ...). Executing re-checks everything against state.
  Status (*check)(const Transaction&, const P&) = nullptr;
  // The payload's JSON view; by default its fields' (codec::fields_json).
  json (*view)(const P&) = nullptr;
  // The payload's decoder; by default its fields' (codec::decode_fields).
  Result<P> (*decode)(const Bytes&) = nullptr;
  // Reports a payload that does not decode with this code (the decoder's message kept).
  std::optional<Code> malformed = std::nullopt;
};

// A module's messages: each declared once with its type number, name, payload type and
// handler, from which Module derives check, deliver, payload_json and tx_types, so that
// check and deliver always read the same payload type.
class MessageTable {
 public:
  struct Entry {
    uint16_t type;
    std::string_view name;                                  // e.g. "bank/transfer"
    std::function<Status(const Transaction&)> check;        // decode, then the stateless check
    std::function<Status(Module&, TxContext&)> deliver;     // decode, then the handler
    std::function<std::optional<json>(const Bytes&)> view;  // nullopt if undecodable
    // The payload's fields in encoding order (codec/layout.hpp), for `gridpact schema` and
    // the client kits; null for a payload without `fields`.
    json layout;
    // A sample payload (codec::sample): its fields' JSON and its encoding; nullopt for a
    // payload without `fields`.
    std::function<std::optional<std::pair<json, Bytes>>(codec::Sample, codec::SampleRng&)> sample;
  };

  // The handler is a member function of the module (Self) ...
  template <typename P, typename Self>
  void add(uint16_t type, std::string_view name, Status (Self::*handle)(TxContext&, const P&),
           MessageOptions<P> opts = {}) {
    add_erased<P>(type, name, opts, [handle](Module& m, TxContext& ctx, const P& p) {
      return (static_cast<Self&>(m).*handle)(ctx, p);
    });
  }
  // ... or a function of the module's source file.
  template <typename P>
  void add(uint16_t type, std::string_view name, Status (*handle)(TxContext&, const P&),
           MessageOptions<P> opts = {}) {
    add_erased<P>(type, name, opts,
                  [handle](Module&, TxContext& ctx, const P& p) { return handle(ctx, p); });
  }

  const Entry* find(uint16_t type) const {
    for (const auto& e : entries_)
      if (e.type == type) return &e;
    return nullptr;
  }
  const std::vector<Entry>& entries() const { return entries_; }

 private:
  template <typename P, typename Handle>
  void add_erased(uint16_t type, std::string_view name, MessageOptions<P> opts, Handle handle) {
    // Mistakes in a module's declarations, found when the module is constructed.
    for (const auto& e : entries_)
      if (e.type == type || e.name == name)
        throw std::logic_error("message declared twice: " + std::string(name));
    if (!codec::Described<P> && (!opts.decode || !opts.view))
      throw std::logic_error("payload without fields needs a decoder and a view: " +
                             std::string(name));
    auto decode = [opts](const Bytes& b) -> Result<P> {
      Result<P> p = [&]() -> Result<P> {
        if (opts.decode) return opts.decode(b);
        if constexpr (codec::Described<P>)
          return codec::decode_fields<P>(b);
        else
          return error(Code::kBadEncoding, "no decoder");
      }();
      if (!p && opts.malformed) return error(*opts.malformed, p.status().to_string());
      return p;
    };
    Entry e{type, name, nullptr, nullptr, nullptr, nullptr, nullptr};
    e.sample = [](codec::Sample kind,
                  codec::SampleRng& rng) -> std::optional<std::pair<json, Bytes>> {
      if constexpr (codec::Described<P>) {
        P p = codec::sample<P>(kind, rng);
        return std::pair{codec::fields_json(p), codec::encode_fields(p)};
      } else {
        return std::nullopt;
      }
    };
    if constexpr (codec::Described<P>) e.layout = codec::layout<P>();
    e.check = [decode, opts](const Transaction& tx) -> Status {
      auto p = decode(tx.payload);
      if (!p) return p.status();
      return opts.check ? opts.check(tx, *p) : Status::ok();
    };
    e.deliver = [decode, opts, handle](Module& m, TxContext& ctx) -> Status {
      auto p = decode(ctx.tx.payload);
      if (!p) return p.status();
      // The handler relies on the stateless check, whoever calls deliver.
      if (opts.check)
        if (Status s = opts.check(ctx.tx, *p); !s) return s;
      try {
        return handle(m, ctx, *p);
      } catch (const Error& refused) {  // a codec or a check deep in the handler
        return refused.status();
      }
    };
    e.view = [decode, opts](const Bytes& b) -> std::optional<json> {
      auto p = decode(b);
      if (!p) return std::nullopt;
      if (opts.view) return opts.view(*p);
      if constexpr (codec::Described<P>)
        return codec::fields_json(*p);
      else
        return std::nullopt;
    };
    entries_.push_back(std::move(e));
  }

  std::vector<Entry> entries_;
};

// Typed events. An event is a struct with `fields` (codec/fields.hpp) and its type name:
//   struct TransferEvent { static constexpr std::string_view kType = "bank/transfer"; ... };
// Its receipt bytes are its canonical encoding (never JSON text); the module declares it
// with Module::event<E>() and Module::event_json derives its JSON for the API.
template <codec::Described E>
Event make_event(const E& e) {
  Bytes b = codec::encode_fields(e);
  return Event{std::string(E::kType), std::string(b.begin(), b.end())};
}

class Module {
 public:
  virtual ~Module() = default;
  virtual std::string_view name() const = 0;
  // Every message type of the module. Derived from the message table.
  virtual std::vector<TxTypeInfo> tx_types() const {
    std::vector<TxTypeInfo> out;
    for (const auto& e : messages_.entries()) out.push_back({e.type, e.name});
    return out;
  }

  // Writes the module's initial state from its section of the genesis document, after
  // validating it (BAD_GENESIS).
  virtual Status init_genesis(StateOverlay& state, const json& section) = 0;
  // The module's section of a development chain's genesis document: TOML, its [name]
  // table first, or "" for none. init_genesis accepts it.
  virtual std::string default_genesis(const DevelopmentAccounts&) const { return {}; }
  // Stateless check run by the mempool before a transaction is accepted (payload decodes,
  // fields in range). Executing still re-checks everything against state. Derived from the
  // message table: the payload decodes and passes its message's check.
  virtual Status check(const Transaction& tx) const {
    const auto* e = messages_.find(tx.type);
    if (!e) return unknown_type();
    return e->check(tx);
  }
  // Runs the message's handler on the decoded payload. Derived from the message table.
  virtual Status deliver(TxContext& ctx) {
    const auto* e = messages_.find(ctx.tx.type);
    if (!e) return unknown_type();
    return e->deliver(*this, ctx);
  }
  virtual void end_block(BlockContext&) {}

  // JSON view of a payload, for the API and the CLI ({"undecodable": hex} when it does not
  // decode). Derived from the message table.
  virtual json payload_json(uint16_t type, const Bytes& payload) const {
    if (const auto* e = messages_.find(type))
      if (auto j = e->view(payload)) return *j;
    return {{"undecodable", to_hex(payload)}};
  }
  // JSON view of one of the module's declared events; nullopt for an event type it did not
  // declare or data that does not decode.
  virtual std::optional<json> event_json(const Event& e) const {
    for (const auto& [type, view] : event_views_)
      if (type == e.type) return view(e.data);
    return std::nullopt;
  }
  // The state keys that hold `account`'s data in this module, so that the API can serve
  // an account with a proof of each against the state root.
  virtual std::vector<std::string> account_keys(const PublicKey&) const { return {}; }
  // Read-only queries: GET /v1/<module>/<path>?params. NOT_FOUND for unknown paths.
  virtual Result<json> query(const StateReader& state, std::string_view path,
                             const json& params) const = 0;

  // The module's parameters (ledger/params.hpp), each named "<module>.<parameter>".
  virtual std::vector<ParamSpec> param_table() const { return {}; }
  // A rule across the module's parameters (e.g. a tax rate needs a tax account), run on
  // the state a parameter change would leave. Ranges are the registry's business.
  virtual Status check_params(const StateReader&) const { return Status::ok(); }
  // The module's state: one row per key prefix, as the state-key table of its header
  // lists them (a test keeps the two equal).
  virtual std::vector<state::SchemaEntry> schema() const { return {}; }

  // The declared messages and events, for `gridpact schema` (the client kits' registry).
  const MessageTable& messages() const { return messages_; }
  struct EventLayout {
    std::string_view type;
    json fields;  // codec::layout of the event struct
  };
  const std::vector<EventLayout>& event_layouts() const { return event_layouts_; }

 protected:
  // Declares a message: `type`, `name`, and the handler of its decoded payload, a member
  // function of the module (one per message). Call from the module's constructor.
  template <typename P, typename Self>
  void message(uint16_t type, std::string_view name, Status (Self::*handle)(TxContext&, const P&),
               MessageOptions<P> opts = {}) {
    messages_.add(type, name, handle, opts);
  }
  template <typename P>
  void message(uint16_t type, std::string_view name, Status (*handle)(TxContext&, const P&),
               MessageOptions<P> opts = {}) {
    messages_.add(type, name, handle, opts);
  }
  // Declares an event type the module records (see make_event).
  template <codec::Described E>
  void event() {
    for (const auto& [type, view] : event_views_)
      if (type == E::kType) throw std::logic_error("event declared twice: " + std::string(type));
    event_views_.emplace_back(E::kType, [](std::string_view data) -> std::optional<json> {
      auto e = codec::decode_fields<E>(data);
      if (!e) return std::nullopt;
      return codec::fields_json(*e);
    });
    event_layouts_.push_back({E::kType, codec::layout<E>()});
  }

 private:
  Status unknown_type() const {
    return error(Code::kUnknownType, "not a " + std::string(name()) + " transaction");
  }
  MessageTable messages_;
  std::vector<std::pair<std::string_view, std::optional<json> (*)(std::string_view)>> event_views_;
  std::vector<EventLayout> event_layouts_;
};

// Tools for modules.
std::string account_key(std::string_view prefix, const PublicKey& account);
inline Status ok() {
  return Status::ok();
}

}  // namespace gridpact
