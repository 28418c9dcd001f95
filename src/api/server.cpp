#include "api/server.hpp"

#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include "api/commit_feed.hpp"
#include "api/receipt_cache.hpp"
#include "api/views.hpp"

namespace gridpact::api {
namespace {

http::Response json_answer(const json& body, int status = 200) {
  return http::Response::json_text(body.dump(), status);
}

void reply(const http::Responder& res, const json& body, int status = 200) {
  res.send(json_answer(body, status));
}

void reply_error(const http::Responder& res, const Status& s) {
  res.send(http::Response::error(s));
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// A decimal u64 of at most 19 digits; nullopt otherwise.
std::optional<uint64_t> parse_u64(std::string_view s) {
  uint64_t v = 0;
  if (s.empty() || s.size() > 19) return std::nullopt;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// The common body of one transaction, {"tx":"<hex>"} exactly (no spaces), read without
// building a JSON document; any other body (spaces, a batch, bad hex) goes through the
// JSON parser and its errors.
std::optional<Bytes> single_tx_hex(std::string_view body) {
  constexpr std::string_view head = "{\"tx\":\"", tail = "\"}";
  if (body.size() < head.size() + tail.size() || !body.starts_with(head) || !body.ends_with(tail))
    return std::nullopt;
  std::string_view hex = body.substr(head.size(), body.size() - head.size() - tail.size());
  if (hex.find_first_not_of("0123456789abcdefABCDEF") != std::string_view::npos)
    return std::nullopt;
  return from_hex(hex);
}

}  // namespace

Result<ReceiptBundle> prove_receipt(const Store& store, const Hash32& tx_id) {
  return ReceiptCache(1).bundle(store, tx_id);
}

size_t default_max_connections() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return 20000;
  const size_t reserve = 256;  // the store's files, the node's own sockets and pipes
  return std::max<size_t>(64, limit.rlim_cur > reserve ? limit.rlim_cur - reserve : 0);
}

bool host_allowed(std::string_view host_header, const std::string& listen,
                  const std::vector<std::string>& allowed) {
  // The name without its port: "[::1]:8080" -> "[::1]", "example:80" -> "example".
  std::string host = lower(host_header);
  if (auto colon = host.rfind(':');
      colon != std::string::npos && host.find(']', colon) == std::string::npos)
    host.resize(colon);
  if (host.empty()) return false;
  auto named = [&](std::string_view name) {
    std::string n = lower(name);
    if (n.find(':') != std::string::npos && n.front() != '[') n = "[" + n + "]";  // IPv6
    return host == n;
  };
  if (allowed.empty())
    return named(listen) || named("localhost") || named("127.0.0.1") || named("::1");
  return std::any_of(allowed.begin(), allowed.end(), named);
}

Server::Server(Node& node, ServerOptions options)
    : node_(node),
      options_(std::move(options)),
      feed_(std::make_unique<CommitFeed>(node)),
      receipts_(std::make_unique<ReceiptCache>()),
      gate_(std::make_unique<QueryGate>(options_.queries)) {
  routes(router_);
}

Server::~Server() {
  stop();
}

void Server::extend(const Extension& ext) {
  ext(router_);
}

http::Handler Server::gated(Query query) {
  return [this, query = std::move(query)](http::Request& req, const http::Responder& res) {
    auto request = std::make_shared<http::Request>(std::move(req));
    auto answer = std::make_shared<http::Response>();
    auto compute = [query, request, answer] {
      try {
        *answer = query(*request);
      } catch (const Error& e) {
        *answer = http::Response::error(e.status());
      } catch (const std::exception& e) {
        spdlog::warn("api: {} threw: {}", request->path, e.what());
        *answer = http::Response::error(error(Code::kStorage, "internal error"));
      }
    };
    QueryGate::Admission admitted =
        gate_->run(request->remote, compute, [res, answer] { res.send(std::move(*answer)); });
    if (admitted == QueryGate::Admission::kQueued) return;
    Status why = gate_->refusal(admitted);
    if (admitted == QueryGate::Admission::kStopped) return res.send(http::Response::error(why));
    // A client over its own limits gets 429 (Too Many Requests), whatever the code's usual
    // status; a full queue is the node's overload, 503. Either is held for the refusal delay
    // (query_gate.hpp: what refusing costs).
    res.send_after(admitted == QueryGate::Admission::kRateLimited
                       ? http::Response::json_text(http::error_body(why), 429)
                       : http::Response::error(why),
                   options_.queries.refusal_delay);
  };
}

Status Server::start() {
  if (http_) return error(Code::kInvalidArgument, "server already started");
  add_module_routes(router_);
  http::ServerOptions o;
  o.host = options_.host;
  o.port = static_cast<uint16_t>(options_.port);
  o.threads = options_.threads;
  o.max_connections =
      options_.max_connections ? options_.max_connections : default_max_connections();
  o.max_streams = options_.max_streams;
  o.max_body_bytes = options_.max_body_bytes;
  o.tls_cert_file = options_.tls_cert_file;
  o.tls_key_file = options_.tls_key_file;
  o.filter = [this](const http::Request& req,
                    http::Headers& extra) -> std::optional<http::Response> {
    // DNS rebinding: a page whose name now resolves to this node still sends its own name.
    if (auto host = req.header("host");
        host && !host_allowed(*host, options_.host, options_.allowed_hosts))
      return http::Response::error(error(Code::kForbiddenHost, "Host not served by this node"));
    // CORS: only listed origins may read answers; without a list, same origin only.
    auto origin = req.header("origin");
    const auto& origins = options_.cors_origins;
    if (!origin || std::find(origins.begin(), origins.end(), *origin) == origins.end())
      return std::nullopt;
    extra.emplace_back("Access-Control-Allow-Origin", std::string(*origin));
    extra.emplace_back("Vary", "Origin");
    if (req.method != "OPTIONS") return std::nullopt;
    http::Response preflight;
    preflight.status = 204;
    preflight.headers = {{"Access-Control-Allow-Methods", "GET, POST"},
                         {"Access-Control-Allow-Headers", "Content-Type"},
                         {"Access-Control-Max-Age", "600"}};
    return preflight;
  };
  // The router is handed over whole: routes are fixed from here on.
  http_ = std::make_unique<http::Server>(std::move(router_), o);
  if (Status s = http_->start(); !s) {
    http_.reset();
    return s;
  }
  port_ = http_->port();
  gate_->start();
  feed_->start();
  return Status::ok();
}

void Server::stop() {
  if (!http_) return;
  feed_->stop();  // answers parked requests while the server can still send them
  http_->stop();
  http_.reset();
  gate_->stop();
}

void Server::routes(http::Router& r) {
  r.add("GET", "/v1/health", [this](http::Request&, const http::Responder& res) {
    const Genesis& g = node_.genesis();
    json j = {{"status", "ok"},
              {"chain_id", g.chain_id},
              {"height", node_.store().height().value_or(0)},
              {"development", g.development}};
    if (g.development) j["label"] = "DEVELOPMENT CHAIN - INSECURE";
    // A node that stopped applying blocks (cluster: it could not reproduce one) says so.
    if (auto why = node_.halted()) {
      j["status"] = "halted";
      j["halted"] = *why;
      return reply(res, j, 503);
    }
    reply(res, j);
  });

  r.add("GET", "/v1/chain", [this](http::Request&, const http::Responder& res) {
    const Genesis& g = node_.genesis();
    json types = json::array();
    for (Module* m : node_.executor().modules())
      for (const auto& t : m->tx_types()) types.push_back({{"type", t.type}, {"name", t.name}});
    reply(res, {{"chain_id", g.chain_id},
                {"genesis_hash", g.hash.hex()},
                {"validator", g.validator.hex()},
                {"development", g.development},
                {"height", node_.store().height().value_or(0)},
                {"tx_types", types}});
  });

  r.add("GET", "/v1/params", [this](http::Request&, const http::Responder& res) {
    ParamRegistry registry(node_.executor().modules());
    reply(res, registry.values(node_.store()));
  });

  r.add("GET", "/metrics", [this](http::Request&, const http::Responder& res) {
    http::Response out;
    out.content_type = "text/plain; version=0.0.4";
    out.body = metrics();
    res.send(std::move(out));
  });

  add_tx_routes(r);
  add_read_routes(r);
}

void Server::add_tx_routes(http::Router& r) {
  r.add("POST", "/v1/tx",
        [this](http::Request& req, const http::Responder& res) { submit(req, res); });

  r.add("GET", "/v1/tx/{id}", [this](http::Request& req, const http::Responder& res) {
    auto id = Hash32::from_hex(req.param("id"));
    if (!id)
      return reply_error(res, error(Code::kInvalidArgument, "a transaction id is 64 hex digits"));
    auto bundle = receipts_->bundle(node_.store(), *id);
    if (!bundle) return reply_error(res, bundle.status());
    auto tx = Transaction::decode(bundle->tx).value();
    auto rc = Receipt::decode(bundle->receipt.data(), bundle->receipt.size()).value();
    auto hd = BlockHeader::decode(bundle->header.data(), bundle->header.size()).value();
    reply(res, {{"tx", tx_json(tx, node_.executor())},
                {"receipt", receipt_json(rc, node_.executor())},
                {"header", header_json(hd)},
                {"bundle", bundle_json(*bundle)}});
  });

  r.add("GET", "/v1/events/blocks", [this](http::Request& req, const http::Responder& res) {
    uint64_t from = node_.store().height().value_or(0) + 1;
    if (auto f = req.query_value("from")) {
      auto v = parse_u64(*f);
      if (!v) return reply_error(res, error(Code::kInvalidArgument, "from must be a height"));
      from = *v;
    }
    feed_->follow_blocks(res, from);
  });

  r.add("GET", "/v1/events/accounts/{pk}", [this](http::Request& req, const http::Responder& res) {
    auto who = PublicKey::from_hex(req.param("pk"));
    if (!who) return reply_error(res, error(Code::kInvalidArgument, "an account is 64 hex digits"));
    feed_->follow_account(res, *who);
  });
}

void Server::add_read_routes(http::Router& r) {
  auto block = [this](uint64_t height, const http::Responder& res) {
    auto b = node_.store().block(height);
    if (!b) return reply_error(res, error(Code::kNotFound, "no block " + std::to_string(height)));
    json txs = json::array();
    for (const auto& tx : b->txs) txs.push_back(tx_json(tx, node_.executor()));
    json receipts = json::array();
    for (const auto& rc : node_.store().receipts(height))
      receipts.push_back(receipt_json(rc, node_.executor()));
    reply(res, {{"header", header_json(b->header)}, {"txs", txs}, {"receipts", receipts}});
  };
  r.add("GET", "/v1/blocks/latest", [this, block](http::Request&, const http::Responder& res) {
    block(node_.store().height().value_or(0), res);
  });
  // Blocks as the chain holds them (Block::encode), for a node catching up from a peer:
  // each is a 4-byte big-endian length and the encoding; at most 1,000 blocks or about
  // 16 MiB, fewer at the head of the chain. The reader verifies everything it applies.
  r.add("GET", "/v1/blocks/encoded", [this](http::Request& req, const http::Responder& res) {
    auto from = parse_u64(req.query_value("from").value_or(""));
    auto count = parse_u64(req.query_value("count").value_or("100"));
    if (!from || *from == 0 || !count || *count == 0 || *count > 1000)
      return reply_error(
          res, error(Code::kInvalidArgument, "from is a height (1 or more), count 1 to 1000"));
    http::Response out;
    out.content_type = "application/octet-stream";
    const uint64_t top = node_.store().height().value_or(0);
    for (uint64_t h = *from; h <= top && h - *from < *count && out.body.size() < (16u << 20); ++h) {
      auto b = node_.store().block(h);
      if (!b) break;
      const Bytes bytes = b->encode();
      const auto n = static_cast<uint32_t>(bytes.size());
      for (int shift = 24; shift >= 0; shift -= 8)
        out.body += static_cast<char>((n >> shift) & 0xff);
      out.body.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    }
    if (out.body.empty())
      return reply_error(res, error(Code::kNotFound, "no block " + std::to_string(*from)));
    res.send(std::move(out));
  });
  r.add("GET", "/v1/blocks/{height}", [block](http::Request& req, const http::Responder& res) {
    auto h = parse_u64(req.param("height"));
    if (!h) return reply_error(res, error(Code::kInvalidArgument, "a height is a decimal number"));
    block(*h, res);
  });

  r.add("GET", "/v1/accounts/{pk}", gated([this](http::Request& req) {
          auto who = PublicKey::from_hex(req.param("pk"));
          if (!who)
            return http::Response::error(
                error(Code::kInvalidArgument, "an account is 64 hex digits"));
          Store& st = node_.store();
          std::vector<std::string> keys = {nonce_key(*who)};
          for (Module* m : node_.executor().modules())
            for (auto& k : m->account_keys(*who)) keys.push_back(k);
          // Values are read from the latest state and proofs from the tree under the latest
          // root: a commit in between would make them disagree. So the answer is one
          // snapshot's or none: every value must verify against its proof and the height be
          // unchanged at the end, else it is read again.
          for (int attempt = 0; attempt < 8; ++attempt) {
            uint64_t height = st.height().value_or(0);
            auto header = st.header(height);
            if (!header) break;
            json modules = json::object();
            for (Module* m : node_.executor().modules()) {
              auto view = m->query(st, "accounts/" + who->hex(), json::object());
              if (view) modules[std::string(m->name())] = *view;
            }
            StateTree tree(st);
            json proofs = json::array();
            bool consistent = true;
            for (const auto& k : keys) {
              auto v = st.get(k);
              StateProof proof = tree.prove(header->state_root, sha256(k));
              consistent = consistent &&
                           StateTree::verify(header->state_root, sha256(k),
                                             v ? std::optional(sha256(*v)) : std::nullopt, proof);
              proofs.push_back({{"key", to_hex(to_bytes(k))},
                                {"value", v ? json(to_hex(to_bytes(*v))) : json(nullptr)},
                                {"proof", state_proof_json(proof)}});
            }
            // The nonce shown is the proven one (keys[0]), not a later read.
            auto nonce_bytes =
                from_hex(proofs[0]["value"].is_null() ? std::string()
                                                      : proofs[0]["value"].get<std::string>());
            uint64_t nonce =
                nonce_bytes && !nonce_bytes->empty()
                    ? decode_u64(std::string(nonce_bytes->begin(), nonce_bytes->end())).value_or(0)
                    : 0;
            if (!consistent || st.height().value_or(0) != height) continue;
            return json_answer({{"account", who->hex()},
                                {"nonce", nonce},
                                {"modules", modules},
                                {"height", height},
                                {"header", header_json(*header)},
                                {"state_proofs", proofs}});
          }
          return http::Response::error(
              error(Code::kOverloaded, "the state changed under every read; retry"));
        }));

  r.add("GET", "/v1/state", [this](http::Request& req, const http::Responder& res) {
    auto key = from_hex(req.query_value("key").value_or(""));
    if (!key || key->empty() || key->size() > 1024)
      return reply_error(res, error(Code::kInvalidArgument, "key must be 1-1024 hex bytes"));
    Store& st = node_.store();
    uint64_t latest = st.height().value_or(0);
    uint64_t height = latest;
    if (auto h = req.query_value("height")) {
      auto v = parse_u64(*h);
      if (!v) return reply_error(res, error(Code::kInvalidArgument, "height must be a number"));
      height = *v;
    }
    auto header = st.header(height);
    if (!header)
      return reply_error(res, error(Code::kNotFound, "no block " + std::to_string(height)));
    if (height < st.oldest_provable_height())
      return reply_error(
          res, error(Code::kNotFound, "state proofs are kept from block " +
                                          std::to_string(st.oldest_provable_height()) + " on"));
    std::string k(key->begin(), key->end());
    StateTree tree(st);
    StateProof proof = tree.prove(header->state_root, sha256(k));
    json j = {{"key", to_hex(*key)},
              {"height", height},
              {"header", header_json(*header)},
              {"proof", state_proof_json(proof)}};
    if (height == latest) {
      // The value of the proof's root: a block committed since is not this height's value.
      auto v = st.get(k);
      if (StateTree::verify(header->state_root, sha256(k),
                            v ? std::optional(sha256(*v)) : std::nullopt, proof))
        j["value"] = v ? json(to_hex(to_bytes(*v))) : json(nullptr);
    }
    reply(res, j);
  });
}

void Server::submit(http::Request& req, const http::Responder& res) {
  std::vector<Bytes> raws;
  bool batch = false;
  if (req.header("content-type") == "application/octet-stream") {
    raws.push_back(to_bytes(req.body));
  } else if (auto raw = single_tx_hex(req.body)) {
    raws.push_back(std::move(*raw));
  } else {
    if (!http::json_depth_within(req.body, options_.max_json_depth))
      return reply_error(res, error(Code::kJsonTooDeep, "the body nests too deep"));
    json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object())
      return reply_error(res, error(Code::kMalformedJson, "body must be a JSON object"));
    if (body.contains("txs")) {
      batch = true;
      if (!body["txs"].is_array() || body["txs"].size() > options_.max_batch)
        return reply_error(
            res, error(Code::kInvalidArgument,
                       "txs must be an array of at most " + std::to_string(options_.max_batch)));
      for (const auto& t : body["txs"]) {
        auto b = t.is_string() ? from_hex(t.get<std::string>()) : std::nullopt;
        if (!b) return reply_error(res, error(Code::kInvalidArgument, "txs[] must be hex strings"));
        raws.push_back(std::move(*b));
      }
    } else {
      auto b = hex_field(body, "tx");
      if (!b) return reply_error(res, b.status());
      raws.push_back(std::move(b).value());
    }
  }
  const bool wait = req.query_value("wait") == "commit";
  auto timeout = std::chrono::milliseconds(10000);
  if (auto t = req.query_value("timeout_ms")) {
    auto v = parse_u64(*t);
    if (!v || *v < 1 || *v > 60000)
      return reply_error(res, error(Code::kInvalidArgument, "timeout_ms is 1 to 60000"));
    timeout = std::chrono::milliseconds(*v);
  }

  json results = json::array();
  std::vector<std::optional<Hash32>> ids;
  for (const auto& raw : raws) {
    auto tx = Transaction::decode(raw);
    Result<Hash32> id = tx ? node_.submit(std::move(tx).value()) : Result<Hash32>(tx.status());
    if (id) {
      ids.push_back(*id);
      if (wait || batch) results.push_back({{"tx_id", id->hex()}, {"status", "accepted"}});
    } else {
      ids.push_back(std::nullopt);
      results.push_back(error_json(id.status()));
    }
  }
  // Parked: answered by the commit feed, no worker held meanwhile.
  if (wait) return feed_->wait(std::move(ids), std::move(results), batch, res, timeout);
  if (batch) return reply(res, {{"results", results}});
  // One accepted: the answer nlohmann would print ({"status":"accepted","tx_id":"..."}),
  // written directly.
  if (ids[0])
    return res.send(
        http::Response::json_text("{\"status\":\"accepted\",\"tx_id\":\"" + ids[0]->hex() + "\"}"));
  json one = results[0];
  reply(res, one,
        one.contains("error") ? http::status_for(static_cast<Code>(one["error"]["code"].get<int>()))
                              : 200);
}

// Serves each query route the modules declare (Module::route, ledger/module.hpp) at
// GET /v1/<module><path>, one registration per route and no catch-all: a path no module
// declares is the router's 404, and docs/openapi.yaml is checked against the declarations
// (openapi_test). A "{name}" of a template is one path segment, as in the router.
void Server::add_module_routes(http::Router& r) {
  for (const Module* m : node_.executor().modules())
    for (const Route& route : m->routes()) {
      std::string name(m->name());
      std::string path = "/v1/" + name + route.path;  // a variable: openapi_test reads literals
      r.add("GET", path, gated([this, name](http::Request& req) {
              json params = json::object();
              for (const auto& [k, v] : req.query) params[k] = v;
              // The module matches the path against its routes again and checks the
              // parameters.
              auto answer =
                  node_.query(name, std::string_view(req.path).substr(4 + name.size()), params);
              if (!answer) return http::Response::error(answer.status());
              return json_answer(*answer);
            }));
    }
}

std::string Server::metrics() const {
  NodeStats st = node_.stats();
  http::ServerStats hs = http_ ? http_->stats() : http::ServerStats{};
  std::string out;
  auto metric = [&](const char* name, const char* type, const char* help, uint64_t v) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" +
           name + " " + std::to_string(v) + "\n";
  };
  metric("gridpact_height", "gauge", "Height of the latest committed block.", st.height);
  metric("gridpact_blocks_committed_total", "counter", "Blocks committed since start.",
         st.blocks_committed);
  metric("gridpact_txs_committed_total", "counter", "Successful transactions committed.",
         st.txs_committed);
  metric("gridpact_txs_failed_total", "counter", "Committed transactions whose handler failed.",
         st.txs_failed);
  metric("gridpact_txs_rejected_total", "counter", "Transactions refused at admission.",
         st.txs_rejected);
  metric("gridpact_mempool_size", "gauge", "Transactions waiting in the mempool.", st.mempool_size);
  metric("gridpact_halted", "gauge",
         "1 if this node stopped applying blocks (see /v1/health for why), else 0.",
         node_.halted() ? 1 : 0);
  metric("gridpact_http_requests_total", "counter", "HTTP requests received.", hs.requests_total);
  metric("gridpact_http_connections", "gauge", "API connections open now.", hs.connections);
  metric("gridpact_http_requests_in_flight", "gauge",
         "Requests handed to a handler and not yet answered (parked wait=commit included).",
         hs.in_flight);
  metric("gridpact_http_streams", "gauge", "Event subscribers connected now.", hs.streams);
  metric("gridpact_http_refused_total", "counter", "Connections refused at the connection cap.",
         hs.refused_total);
  metric("gridpact_api_queries_refused_total", "counter",
         "Expensive queries refused by the per-client limits or the full query queue.",
         gate_->refused());
  metric("gridpact_api_waiting_commits", "gauge", "wait=commit requests parked now.",
         feed_->waiting());
  metric("gridpact_api_receipt_cache_hits_total", "counter",
         "GET /v1/tx answered from the recent blocks' cache.", receipts_->hits());
  metric("gridpact_api_receipt_cache_misses_total", "counter",
         "GET /v1/tx that read and hashed their block.", receipts_->misses());
  out += node_.block_metrics().prometheus();
  return out;
}

}  // namespace gridpact::api
