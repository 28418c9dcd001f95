// The interface between the chain engine and the application modules (bank, meters,
// market, ...). The engine orders, authenticates and stores; a module owns a range of
// transaction types, the state keys under its own prefix, its handlers and its queries.
// Modules see only StateReader / StateOverlay: no sockets, no disks, no clocks but the
// block's.
//
// A module declares itself in its constructor, each thing once: message(type, name,
// handler, {.check}) per transaction type, event<E>() per event, route(path, summary,
// params, handler) per query (served at GET /v1/<module><path>, documented in
// docs/openapi.yaml), and overrides param_table(), schema() and the genesis pair. Its
// command-line commands live in its cli part (src/cli/commands.hpp); docs/design.md
// ("The shape of a module") lists its files.
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
  PublicKey validator;             // signs the blocks
  std::vector<PublicKey> members;  // the consortium (governance): validator, issuer, alice
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

// ---- Governed actions -------------------------------------------------------------------
// Actions that no single key may take (trust an attestation root, fund a pool, add a
// validator). A module declares them in its constructor, like its messages:
//
//   governed<AddRootAction>("meters/add_root", &MetersModule::apply_add_root,
//                           {.check = check_add_root});
//
// and the governance module (src/modules/governance) carries them in proposals that the
// consortium votes on, running them when a proposal passes. Nothing else runs them.
//   name     "<module>/<action>", unique across the chain
//   payload  a struct with `fields`: its canonical encoding is what a proposal stores, its
//            fields' JSON what the API shows
//   check    against state, just before apply, on the state the proposal's earlier actions
//            left. A payload that does not decode is refused before it.
//   apply    writes through the context's overlay; events go to the receipt that executes
//            the proposal. If any action of a proposal fails, none is applied (the overlay is
//            dropped) and the proposal is recorded as failed with that action's code.
// A proposal is checked twice: when it is submitted, by a dry run of all its actions (check
// and apply, in order, on a scratch copy of that transaction's state; any refusal refuses
// the proposal), and for real when it executes. So apply must be deterministic and depend
// only on state, the block and the payload.
// Parameter changes are not governed actions: governance sends them through
// ParamRegistry::validate/apply (ledger/params.hpp), so a module only declares its
// param_table().

struct GovernedContext {
  const BlockInfo& block;
  uint64_t proposal;           // the id of the proposal being executed
  StateOverlay& state;         // dropped if any action of the proposal fails
  std::vector<Event>& events;  // recorded in the receipt that executes the proposal
};

template <typename P>
struct GovernedOptions {
  // The check against state (see above), run before apply both in the submission's dry run
  // and at execution; apply may still refuse (its code is recorded).
  Status (*check)(const StateReader&, const P&) = nullptr;
  // The payload's JSON view; by default its fields' (codec::fields_json).
  json (*view)(const P&) = nullptr;
};

class GovernedTable {
 public:
  struct Entry {
    std::string_view name;                                             // "meters/add_root"
    std::function<Status(const StateReader&, const Bytes&)> validate;  // decode, then check
    // decode, check, then apply
    std::function<Status(Module&, GovernedContext&, const Bytes&)> apply;
    std::function<std::optional<json>(const Bytes&)> view;  // nullopt if undecodable
  };

  template <codec::Described P, typename Self>
  void add(std::string_view name, Status (Self::*apply)(GovernedContext&, const P&),
           GovernedOptions<P> opts = {}) {
    for (const auto& e : entries_)
      if (e.name == name)
        throw std::logic_error("governed action declared twice: " + std::string(name));
    auto validate = [opts](const StateReader& s, const Bytes& b) -> Result<P> {
      auto p = codec::decode_fields<P>(b);
      if (!p) return p.status();
      if (opts.check)
        if (Status st = opts.check(s, *p); !st) return st;
      return p;
    };
    Entry e{name, nullptr, nullptr, nullptr};
    e.validate = [validate](const StateReader& s, const Bytes& b) -> Status {
      auto p = validate(s, b);
      return p ? Status::ok() : p.status();
    };
    e.apply = [validate, apply](Module& m, GovernedContext& ctx, const Bytes& b) -> Status {
      auto p = validate(ctx.state, b);
      if (!p) return p.status();
      try {
        return (static_cast<Self&>(m).*apply)(ctx, *p);
      } catch (const Error& refused) {
        return refused.status();
      }
    };
    e.view = [opts](const Bytes& b) -> std::optional<json> {
      auto p = codec::decode_fields<P>(b);
      if (!p) return std::nullopt;
      return opts.view ? opts.view(*p) : codec::fields_json(*p);
    };
    entries_.push_back(std::move(e));
  }

  const Entry* find(std::string_view name) const {
    for (const auto& e : entries_)
      if (e.name == name) return &e;
    return nullptr;
  }
  const std::vector<Entry>& entries() const { return entries_; }

 private:
  std::vector<Entry> entries_;
};

// A query route's parameter: a "{name}" segment of its path, or a query-string parameter.
// Checked against its type, bound and presence before the handler runs (INVALID_ARGUMENT).
struct RouteParam {
  enum class Type : uint8_t {
    kU64,    // decimal, 0..max
    kHex32,  // 64 hex digits (a key or a hash)
    kText,   // at most max bytes
  };
  std::string_view name;
  Type type = Type::kText;
  std::string_view about;  // one line, for the docs
  bool required = false;   // path parameters always are
  uint64_t max = UINT64_MAX;
};

// What a query handler receives: its parameters, already checked against their declarations.
class QueryArgs {
 public:
  QueryArgs(std::vector<std::pair<std::string_view, std::string>> path, const json& params)
      : path_(std::move(path)), params_(params) {}
  // The parameter `name` as text (path first, then the query string); nullopt if absent.
  std::optional<std::string> text(std::string_view name) const;
  std::optional<uint64_t> u64(std::string_view name) const;  // a declared kU64
  std::optional<Hash32> hex32(std::string_view name) const;  // a declared kHex32
  // The query string as given (for filters that read several parameters together).
  const json& params() const { return params_; }

 private:
  std::vector<std::pair<std::string_view, std::string>> path_;
  const json& params_;
};

// A module's read-only query, served at GET /v1/<module><path>.
struct Route {
  using Handler = std::function<Result<json>(const StateReader&, const QueryArgs&)>;
  std::string path;  // relative to the module: "/meter/{id}"; "{name}" is one path segment
  std::string_view summary;
  std::vector<RouteParam> params;  // every "{name}" of the path, then query parameters
  Handler handler;

  // The "{name}" segments of a path template, in order.
  static std::vector<std::string_view> path_params(std::string_view path);
  // The arguments of `path` (relative to the module, with or without its leading "/") if it
  // matches this route's template.
  std::optional<std::vector<std::pair<std::string_view, std::string>>> match(
      std::string_view path) const;
  // Checks `args` against the declared parameters, then runs the handler.
  Result<json> run(const StateReader& state, const QueryArgs& args) const;
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
  // Called once by the executor, before genesis, with every module of the chain (this one
  // included, in execution order): for a module that acts on the others (governance reads
  // their parameters and governed actions). The modules outlive the executor's use of them.
  virtual void attach(const std::vector<Module*>&) {}
  // The actions only governance may run (see "Governed actions" above).
  const GovernedTable& governed_actions() const { return governed_; }

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
  // The module's read-only queries, each declared once with route(); the API serves each at
  // GET /v1/<name><path> (api/server.cpp, add_module_routes) and docs/openapi.yaml
  // documents each (openapi_test checks both ways).
  const std::vector<Route>& routes() const { return routes_; }
  // Runs the route matching `path` (relative to the module: "orders/ab12...") on `params`
  // (the query string): NOT_FOUND when none matches, INVALID_ARGUMENT for a parameter
  // outside its declaration. Derived from the routes.
  virtual Result<json> query(const StateReader& state, std::string_view path,
                             const json& params) const;

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
  // Declares a governed action: its name ("<module>/<action>"), its payload type P (with
  // `fields`) and its apply step, a member function of the module. See "Governed actions".
  template <codec::Described P, typename Self>
  void governed(std::string_view name, Status (Self::*apply)(GovernedContext&, const P&),
                GovernedOptions<P> opts = {}) {
    governed_.add(name, apply, opts);
  }
  // Declares a query route: its path template relative to the module ("/meter/{id}", each
  // "{name}" one segment), a one-line summary, its parameters (every path parameter, then
  // the query string's) and its handler. Call from the module's constructor.
  void route(std::string path, std::string_view summary, std::vector<RouteParam> params,
             Route::Handler handler);
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
  GovernedTable governed_;
  std::vector<Route> routes_;
  std::vector<std::pair<std::string_view, std::optional<json> (*)(std::string_view)>> event_views_;
  std::vector<EventLayout> event_layouts_;
};

// Tools for modules.
std::string account_key(std::string_view prefix, const PublicKey& account);
inline Status ok() {
  return Status::ok();
}

}  // namespace gridpact
