// The SQL read model on the command line and in the node:
//   gridpact db verify --data DIR --db URL   recompute the tables from chain state, diff
//   gridpact db sync --data DIR --db URL     apply the blocks the read model lacks
//   gridpact node --db URL                   keep a read model in step with the node, and
//                                            serve GET /v1/db?q=match|assets|agreements|payments
#include <spdlog/spdlog.h>

#include "api/server.hpp"
#include "app.hpp"
#include "db/read_model.hpp"
#include "db/routes.hpp"

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

}  // namespace

Result<std::unique_ptr<NodeExtension>> start_read_model(Node& node, api::Server& server,
                                                        const std::string& url) {
  auto svc = std::make_unique<ReadModelService>();
  auto w = db::ReadModel::open(url);
  if (!w) return w.status();
  svc->writer = std::move(w.value());
  auto r = db::ReadModel::open(url);
  if (!r) return r.status();
  svc->routes = std::make_shared<db::Routes>(std::move(r.value()));
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
