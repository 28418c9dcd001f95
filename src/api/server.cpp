#include "api/server.hpp"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <deque>

#include "api/views.hpp"

namespace gridpact::api {
namespace {

int http_status(Code c) {
  switch (c) {
    case Code::kNotFound:
      return 404;
    case Code::kMempoolFull:
      return 503;
    case Code::kShuttingDown:
      return 503;
    case Code::kStorage:
      return 500;
    case Code::kTimeout:
      return 504;
    default:
      return 400;
  }
}

void reply(httplib::Response& res, const json& body, int status = 200) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void reply_error(httplib::Response& res, const Status& s) {
  reply(res, error_json(s), http_status(s.code));
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::optional<Hash32> tx_id_param(const std::string& s) {
  return Hash32::from_hex(s);
}

// Serves each query route the modules declare (Module::route, ledger/module.hpp) at
// GET /v1/<module><path>, one registration per route and no catch-all: a path no module
// declares is the server's 404, and docs/openapi.yaml is checked against the declarations
// (openapi_test). A "{name}" of a template is one path segment.
void add_module_routes(httplib::Server& s, const Node& node) {
  for (const Module* m : node.executor().modules())
    for (const Route& r : m->routes()) {
      std::string name(m->name()), pattern = "/v1/" + name;
      for (size_t i = 0; i < r.path.size(); ++i) {
        if (r.path[i] != '{') {
          pattern += r.path[i];
          continue;
        }
        pattern += "([^/]+)";
        i = r.path.find('}', i);
      }
      s.Get(pattern, [&node, name](const httplib::Request& req, httplib::Response& res) {
        json params = json::object();
        for (const auto& [k, v] : req.params) params[k] = v;
        // The module matches the path against its routes again and checks the parameters.
        auto result = node.query(name, std::string_view(req.path).substr(4 + name.size()), params);
        if (!result) return reply_error(res, result.status());
        reply(res, *result);
      });
    }
}

}  // namespace

Result<ReceiptBundle> prove_receipt(const Store& store, const Hash32& tx_id) {
  auto loc = store.find_tx(tx_id);
  if (!loc) return error(Code::kNotFound, "transaction " + tx_id.hex() + " is not committed");
  auto block = store.block(loc->height);
  auto receipts = store.receipts(loc->height);
  if (!block || loc->index >= receipts.size()) return error(Code::kStorage, "block incomplete");
  std::vector<Hash32> tx_leaves, receipt_leaves;
  for (const auto& tx : block->txs) tx_leaves.push_back(merkle::leaf_hash(tx.id()));
  for (const auto& r : receipts) receipt_leaves.push_back(merkle::leaf_hash(r.hash()));
  return ReceiptBundle{block->txs[loc->index].encode(), receipts[loc->index].encode(),
                       block->header.encode(), merkle::prove(tx_leaves, loc->index),
                       merkle::prove(receipt_leaves, loc->index)};
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
    : node_(node), options_(std::move(options)), http_(std::make_unique<httplib::Server>()) {
  size_t threads = options_.threads;
  http_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http_->set_payload_max_length(options_.max_body_bytes);
  http_->set_keep_alive_max_count(100000);
  routes();
}

Server::~Server() {
  stop();
}

void Server::extend(const Extension& ext) {
  ext(*http_);
}

Status Server::start() {
  port_ = options_.port == 0
              ? http_->bind_to_any_port(options_.host)
              : (http_->bind_to_port(options_.host, options_.port) ? options_.port : -1);
  if (port_ <= 0)
    return error(Code::kInvalidArgument,
                 "cannot listen on " + options_.host + ":" + std::to_string(options_.port));
  subscription_ = node_.subscribe([this](const Block& b, const std::vector<Receipt>& rs) {
    json j = header_json(b.header);
    j.erase("raw");
    size_t failed = 0;
    for (size_t i = 0; i < b.txs.size() && i < rs.size(); ++i) failed += rs[i].ok() ? 0 : 1;
    j["failed_txs"] = failed;
    std::lock_guard lock(events_mutex_);
    recent_events_.emplace_back(b.header.height, j.dump());
    while (recent_events_.size() > 256) recent_events_.pop_front();
    events_cv_.notify_all();
  });
  thread_ = std::thread([this] { http_->listen_after_bind(); });
  return Status::ok();
}

void Server::stop() {
  if (stopping_.exchange(true)) return;
  if (subscription_ >= 0) node_.unsubscribe(subscription_);
  events_cv_.notify_all();
  http_->stop();
  if (thread_.joinable()) thread_.join();
}

void Server::routes() {
  auto& s = *http_;
  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    requests_++;
    // DNS rebinding: a page whose name now resolves to this node still sends its own name.
    if (req.has_header("Host") &&
        !host_allowed(req.get_header_value("Host"), options_.host, options_.allowed_hosts)) {
      reply(res, error_json(error(Code::kForbiddenHost, "Host not served by this node")), 403);
      return httplib::Server::HandlerResponse::Handled;
    }
    // CORS: only listed origins may read answers; without a list, same origin only.
    const std::string origin = req.get_header_value("Origin");
    const auto& origins = options_.cors_origins;
    if (!origin.empty() && std::find(origins.begin(), origins.end(), origin) != origins.end()) {
      res.set_header("Access-Control-Allow-Origin", origin);
      res.set_header("Vary", "Origin");
      if (req.method == "OPTIONS") {
        res.set_header("Access-Control-Allow-Methods", "GET, POST");
        res.set_header("Access-Control-Allow-Headers", "Content-Type");
        res.set_header("Access-Control-Max-Age", "600");
        res.status = 204;
        return httplib::Server::HandlerResponse::Handled;
      }
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  s.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        Status st = error(Code::kStorage, "internal error");
        try {
          std::rethrow_exception(ep);
        } catch (const Error& e) {
          st = e.status();
        } catch (const std::exception& e) {
          st = error(Code::kStorage, e.what());
        }
        reply_error(res, st);
      });
  // A path no route serves answers with the error object too.
  s.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (res.status == 404 && res.body.empty())
      reply_error(res, error(Code::kNotFound, "no route " + req.path));
  });

  s.Get("/v1/health", [this](const httplib::Request&, httplib::Response& res) {
    const Genesis& g = node_.genesis();
    json j = {{"status", "ok"},
              {"chain_id", g.chain_id},
              {"height", node_.store().height().value_or(0)},
              {"development", g.development}};
    if (g.development) j["label"] = "DEVELOPMENT CHAIN - INSECURE";
    reply(res, j);
  });

  s.Get("/v1/chain", [this](const httplib::Request&, httplib::Response& res) {
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

  s.Get("/v1/params", [this](const httplib::Request&, httplib::Response& res) {
    ParamRegistry registry(node_.executor().modules());
    reply(res, registry.values(node_.store()));
  });

  s.Post("/v1/tx", [this](const httplib::Request& req, httplib::Response& res) {
    std::vector<Bytes> raws;
    bool batch = false;
    if (req.get_header_value("Content-Type") == "application/octet-stream") {
      raws.push_back(to_bytes(req.body));
    } else {
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
          if (!b)
            return reply_error(res, error(Code::kInvalidArgument, "txs[] must be hex strings"));
          raws.push_back(std::move(*b));
        }
      } else {
        auto b = hex_field(body, "tx");
        if (!b) return reply_error(res, b.status());
        raws.push_back(std::move(b).value());
      }
    }
    bool wait = req.get_param_value("wait") == "commit";
    auto timeout = std::chrono::milliseconds(10000);
    if (req.has_param("timeout_ms"))
      timeout = std::chrono::milliseconds(
          std::clamp<long>(std::atol(req.get_param_value("timeout_ms").c_str()), 1, 60000));

    json results = json::array();
    std::vector<std::optional<Hash32>> ids;
    for (const auto& raw : raws) {
      auto tx = Transaction::decode(raw);
      Result<Hash32> id = tx ? node_.submit(std::move(tx).value()) : Result<Hash32>(tx.status());
      if (id) {
        ids.push_back(*id);
        results.push_back({{"tx_id", id->hex()}, {"status", "accepted"}});
      } else {
        ids.push_back(std::nullopt);
        results.push_back(error_json(id.status()));
      }
    }
    if (wait) {
      for (size_t i = 0; i < ids.size(); ++i) {
        if (!ids[i]) continue;
        auto r = node_.wait_committed(*ids[i], timeout);
        if (r) {
          results[i]["status"] = "committed";
          results[i]["receipt"] = receipt_json(*r, node_.executor());
        } else {
          results[i]["status"] = "pending";
        }
      }
    }
    if (batch) return reply(res, {{"results", results}});
    json one = results[0];
    reply(res, one,
          one.contains("error") ? http_status(static_cast<Code>(one["error"]["code"].get<int>()))
                                : 200);
  });

  s.Get(R"(/v1/tx/([0-9a-fA-F]{64}))", [this](const httplib::Request& req, httplib::Response& res) {
    auto id = tx_id_param(req.matches[1]);
    auto bundle = prove_receipt(node_.store(), *id);
    if (!bundle) return reply_error(res, bundle.status());
    auto tx = Transaction::decode(bundle->tx).value();
    auto rc = Receipt::decode(bundle->receipt.data(), bundle->receipt.size()).value();
    auto hd = BlockHeader::decode(bundle->header.data(), bundle->header.size()).value();
    reply(res, {{"tx", tx_json(tx, node_.executor())},
                {"receipt", receipt_json(rc, node_.executor())},
                {"header", header_json(hd)},
                {"bundle", bundle_json(*bundle)}});
  });

  auto block_handler = [this](uint64_t height, httplib::Response& res) {
    auto block = node_.store().block(height);
    if (!block)
      return reply_error(res, error(Code::kNotFound, "no block " + std::to_string(height)));
    json txs = json::array();
    for (const auto& tx : block->txs) txs.push_back(tx_json(tx, node_.executor()));
    json receipts = json::array();
    for (const auto& r : node_.store().receipts(height))
      receipts.push_back(receipt_json(r, node_.executor()));
    reply(res, {{"header", header_json(block->header)}, {"txs", txs}, {"receipts", receipts}});
  };
  s.Get(R"(/v1/blocks/(\d{1,19}))",
        [block_handler](const httplib::Request& req, httplib::Response& res) {
          block_handler(std::stoull(req.matches[1]), res);
        });
  s.Get("/v1/blocks/latest",
        [this, block_handler](const httplib::Request&, httplib::Response& res) {
          block_handler(node_.store().height().value_or(0), res);
        });

  s.Get(R"(/v1/accounts/([0-9a-fA-F]{64}))", [this](const httplib::Request& req,
                                                    httplib::Response& res) {
    auto who = PublicKey::from_hex(std::string(req.matches[1])).value();
    Store& st = node_.store();
    uint64_t height = st.height().value_or(0);
    auto header = st.header(height);
    // Keys and values read against one root: the tree under a committed root never changes.
    std::vector<std::string> keys = {nonce_key(who)};
    json modules = json::object();
    for (Module* m : node_.executor().modules()) {
      for (auto& k : m->account_keys(who)) keys.push_back(k);
      auto view = m->query(st, "accounts/" + who.hex(), json::object());
      if (view) modules[std::string(m->name())] = *view;
    }
    StateTree tree(st);
    json proofs = json::array();
    for (const auto& k : keys) {
      auto v = st.get(k);
      proofs.push_back({{"key", to_hex(to_bytes(k))},
                        {"value", v ? json(to_hex(to_bytes(*v))) : json(nullptr)},
                        {"proof", state_proof_json(tree.prove(header->state_root, sha256(k)))}});
    }
    reply(res, {{"account", who.hex()},
                {"nonce", get_u64(st, nonce_key(who))},
                {"modules", modules},
                {"height", height},
                {"header", header_json(*header)},
                {"state_proofs", proofs}});
  });

  s.Get("/v1/state", [this](const httplib::Request& req, httplib::Response& res) {
    auto key = from_hex(req.get_param_value("key"));
    if (!key || key->empty() || key->size() > 1024)
      return reply_error(res, error(Code::kInvalidArgument, "key must be 1-1024 hex bytes"));
    Store& st = node_.store();
    uint64_t latest = st.height().value_or(0);
    uint64_t height = req.has_param("height")
                          ? std::strtoull(req.get_param_value("height").c_str(), nullptr, 10)
                          : latest;
    auto header = st.header(height);
    if (!header)
      return reply_error(res, error(Code::kNotFound, "no block " + std::to_string(height)));
    if (height < st.oldest_provable_height())
      return reply_error(
          res, error(Code::kNotFound, "state proofs are kept from block " +
                                          std::to_string(st.oldest_provable_height()) + " on"));
    std::string k(key->begin(), key->end());
    StateTree tree(st);
    json j = {{"key", to_hex(*key)},
              {"height", height},
              {"header", header_json(*header)},
              {"proof", state_proof_json(tree.prove(header->state_root, sha256(k)))}};
    if (height == latest) {
      auto v = st.get(k);
      j["value"] = v ? json(to_hex(to_bytes(*v))) : json(nullptr);
    }
    reply(res, j);
  });

  s.Get("/v1/events/blocks", [this](const httplib::Request& req, httplib::Response& res) {
    uint64_t from = node_.store().height().value_or(0) + 1;
    if (req.has_param("from"))
      from = std::strtoull(req.get_param_value("from").c_str(), nullptr, 10);
    auto next = std::make_shared<uint64_t>(from);
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider(
        "text/event-stream", [this, next](size_t, httplib::DataSink& sink) {
          std::unique_lock lock(events_mutex_);
          events_cv_.wait_for(lock, std::chrono::seconds(5), [&] {
            return stopping_.load() ||
                   (!recent_events_.empty() && recent_events_.back().first >= *next);
          });
          if (stopping_) return false;
          std::string out;
          // Blocks asked for but no longer retained: said so, never skipped silently.
          if (!recent_events_.empty() && recent_events_.front().first > *next) {
            const uint64_t first = recent_events_.front().first;
            json gap = error_json(error(Code::kEventsGap,
                                        "blocks no longer retained by the "
                                        "stream; read them at /v1/blocks/N"));
            gap["from"] = *next;
            gap["to"] = first - 1;
            out += "event: gap\ndata: " + gap.dump() + "\n\n";
            *next = first;
          }
          for (const auto& [h, data] : recent_events_) {
            if (h < *next) continue;
            out += "id: " + std::to_string(h) + "\nevent: block\ndata: " + data + "\n\n";
            *next = h + 1;
          }
          lock.unlock();
          if (out.empty()) out = ": keep-alive\n\n";
          return sink.write(out.data(), out.size());
        });
  });

  add_module_routes(s, node_);

  s.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    NodeStats st = node_.stats();
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
    metric("gridpact_mempool_size", "gauge", "Transactions waiting in the mempool.",
           st.mempool_size);
    metric("gridpact_http_requests_total", "counter", "HTTP requests served.", requests_.load());
    out += node_.block_metrics().prometheus();
    res.set_content(out, "text/plain; version=0.0.4");
  });
}

}  // namespace gridpact::api
