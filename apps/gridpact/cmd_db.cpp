// The SQL read model on the command line and in the node:
//   gridpact db verify --data DIR --db URL   recompute the tables from chain state, diff
//   gridpact db sync --data DIR --db URL     apply the blocks the read model lacks
//   gridpact node --db URL                   keep a read model in step with the node, and
//                                            serve GET /v1/db?q=match|assets|agreements|payments
//   gridpact query assets --db URL ...       search listed systems near a place
//   gridpact query match --db URL ...        the agreements module's match, from the read model
#include <spdlog/spdlog.h>

#include "api/server.hpp"
#include "app.hpp"
#include "db/read_model.hpp"
#include "db/routes.hpp"
#include "modules/agreements/cli.hpp"
#include "modules/agreements/match.hpp"

namespace gridpact::cli {
namespace {

struct DbArgs {
  std::string data, url;
};

Result<std::unique_ptr<Store>> open_store(const std::string& data) {
  return Store::open(data + "/db", {.read_only = true});
}

int verify(const DbArgs& a) {
  auto store = open_store(a.data);
  if (!store) return fail(store.status());
  auto model = db::ReadModel::open(a.url);
  if (!model) return fail(model.status());
  auto verified = (*model)->verify(**store);
  if (!verified) return fail(verified.status());
  json r = verified.value();
  r["chain_height"] = (*store)->height().value_or(0);
  print_json(r);
  if (!r["ok"].get<bool>())
    return fail(error(db::kDbMismatch, std::to_string(r["difference_count"].get<uint64_t>()) +
                                           " differences between the read model and the chain"));
  return 0;
}

int sync(const DbArgs& a) {
  auto store = open_store(a.data);
  if (!store) return fail(store.status());
  auto model = db::ReadModel::open(a.url);
  if (!model) return fail(model.status());
  auto before = (*model)->last_height();
  if (!before) return fail(before.status());
  uint64_t height = (*store)->height().value_or(0);
  if (Status s = (*model)->catch_up(**store, height); !s) return fail(s);
  print_json({{"from", *before}, {"to", height}});
  return 0;
}

class ReadModelService : public NodeExtension {
 public:
  std::unique_ptr<db::ReadModel> writer;
  std::unique_ptr<db::Follower> follower;
  std::shared_ptr<db::Routes> routes;
  ~ReadModelService() override {
    if (follower) follower->stop();
  }
};

std::unique_ptr<db::ReadModel> open_db(const std::string& url) {
  auto m = db::ReadModel::open(url);
  if (!m) finish(fail(m.status()));
  return std::move(m.value());
}

agreements::MatchFilter parse_filter(const json& params) {
  agreements::MatchFilter filter;
  if (auto r = filter.parse(params); !r) finish(fail(r.status()));
  return filter;
}

// The filter a command's options give (agreements::add_filter_options), as query parameters.
json filter_params(CLI::App& cmd) {
  json p = json::object();
  for (auto [option, name] :
       {std::pair{"--type", "type"}, std::pair{"--min-w", "min_w"}, std::pair{"--max-w", "max_w"},
        std::pair{"--radius-km", "radius_km"}, std::pair{"--min-rating", "min_rating"},
        std::pair{"--limit", "limit"}}) {
    auto* o = cmd.get_option(option);
    if (o->count()) p[name] = o->as<std::string>();
  }
  return p;
}

}  // namespace

void add_read_model_queries(CLI::App& app) {
  db::register_db_codes();
  auto* query = app.get_subcommand("query");

  // --db on the agreements module's `query match`: answered here, before the module's own
  // callback would ask the node (CLI::Success ends the command with exit code 0).
  auto* match = query->get_subcommand("match");
  auto url = std::make_shared<std::string>();
  match->add_option(
      "--db", *url,
      "Query the SQL read model (sqlite:PATH or postgresql://...) instead of the node");
  match->parse_complete_callback([match, url] {
    if (url->empty()) return;
    auto filter = parse_filter(filter_params(*match));
    auto r = open_db(*url)->match(match->get_option("--premises")->as<uint64_t>(), filter);
    if (!r) finish(fail(r.status()));
    print_json(*r);
    throw CLI::Success();
  });

  auto f = std::make_shared<agreements::FilterArgs>();
  auto db = std::make_shared<std::string>();
  auto lat = std::make_shared<int64_t>(0), lon = std::make_shared<int64_t>(0);
  auto* assets =
      query->add_subcommand("assets", "Search listed systems near a place (SQL read model)");
  assets->add_option("--db", *db, "The read model: sqlite:PATH or postgresql://...")->required();
  assets->add_option("--lat-e6", *lat, "Latitude, micro-degrees")->required();
  assets->add_option("--lon-e6", *lon, "Longitude, micro-degrees")->required();
  agreements::add_filter_options(*assets, *f);
  assets->callback([f, db, lat, lon] {
    auto filter = parse_filter(f->params());
    auto r = open_db(*db)->search_assets(*lat, *lon, filter);
    if (!r) finish(fail(r.status()));
    print_json(*r);
  });
}

Result<std::unique_ptr<NodeExtension>> start_read_model(Node& node, api::Server& server,
                                                        const std::string& url) {
  auto svc = std::make_unique<ReadModelService>();
  auto w = db::ReadModel::open(url);
  if (!w) return w.status();
  svc->writer = std::move(w.value());
  std::vector<std::unique_ptr<db::ReadModel>> readers;
  for (size_t i = 0; i < db::Routes::kMaxConnections; ++i) {
    auto r = db::ReadModel::open(url);
    if (!r) return r.status();
    readers.push_back(std::move(r.value()));
  }
  svc->routes = std::make_shared<db::Routes>(std::move(readers));
  svc->follower = std::make_unique<db::Follower>(node, *svc->writer);
  if (Status s = svc->follower->start(); !s) return s;
  db::install_routes(server, svc->routes);
  auto from = svc->writer->last_height();
  spdlog::info("SQL read model ({}) following the chain from height {}",
               svc->writer->sql().engine(), from ? *from : 0);
  return std::unique_ptr<NodeExtension>(std::move(svc));
}

void add_db_commands(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("db", "The SQL read model of listings, agreements, payments and ratings");
  cmd->require_subcommand(1);
  auto a = std::make_shared<DbArgs>();
  auto* v = cmd->add_subcommand("verify",
                                "Recompute the tables from chain state and report any difference");
  v->add_option("--data", a->data, "Data directory of the chain")->required();
  v->add_option("--db", a->url, "sqlite:PATH, PATH, or postgresql://...")->required();
  v->callback([a] { finish(verify(*a)); });
  auto* s = cmd->add_subcommand("sync",
                                "Apply the blocks the read model lacks (node stopped or running)");
  s->add_option("--data", a->data, "Data directory of the chain")->required();
  s->add_option("--db", a->url, "sqlite:PATH, PATH, or postgresql://...")->required();
  s->callback([a] { finish(sync(*a)); });
}

}  // namespace gridpact::cli
