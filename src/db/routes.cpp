#include "db/routes.hpp"

#include "api/server.hpp"

namespace gridpact::db {

Routes::Routes(std::vector<std::unique_ptr<ReadModel>> models) : free_(std::move(models)) {
  if (free_.size() > kMaxConnections) free_.resize(kMaxConnections);
}

Result<json> Routes::on_connection(const std::function<Result<json>(ReadModel&)>& fn) {
  std::unique_ptr<ReadModel> model;
  {
    std::unique_lock lock(mutex_);
    freed_.wait(lock, [&] { return !free_.empty(); });
    model = std::move(free_.back());
    free_.pop_back();
  }
  struct GiveBack {
    Routes& routes;
    std::unique_ptr<ReadModel>& model;
    ~GiveBack() {
      {
        std::lock_guard lock(routes.mutex_);
        routes.free_.push_back(std::move(model));
      }
      routes.freed_.notify_one();
    }
  } give_back{*this, model};
  return fn(*model);
}

Result<json> Routes::answer(const json& params) {
  std::string q = params.value("q", "");
  agreements::MatchFilter f;  // radius_km <= agreements::kMaxRadiusKm
  if (auto r = f.parse(params); !r) return r.status();
  auto num = [&](const char* k) -> Result<int64_t> {
    if (!params.contains(k) || !params[k].is_string())
      return error(Code::kInvalidArgument, std::string("missing ") + k);
    const auto& s = params[k].get_ref<const std::string&>();
    if (s.empty() || s.size() > 19 || s.find_first_not_of("-0123456789") != std::string::npos)
      return error(Code::kInvalidArgument, std::string(k) + " must be an integer");
    return static_cast<int64_t>(std::stoll(s));
  };
  if (q == "match") {
    auto p = num("premises");
    if (!p) return p.status();
    return on_connection([&](ReadModel& m) { return m.match(static_cast<uint64_t>(*p), f); });
  }
  if (q == "assets") {
    auto lat = num("lat_e6"), lon = num("lon_e6");
    if (!lat) return lat.status();
    if (!lon) return lon.status();
    return on_connection([&](ReadModel& m) { return m.search_assets(*lat, *lon, f); });
  }
  if (q == "agreements")
    return on_connection(
        [&](ReadModel& m) { return m.agreements_of(params.value("account", "")); });
  if (q == "payments") {
    auto id = num("agreement");
    if (!id) return id.status();
    return on_connection([&](ReadModel& m) { return m.payments_of(static_cast<uint64_t>(*id)); });
  }
  if (q == "height") {
    return on_connection([](ReadModel& m) -> Result<json> {
      auto h = m.last_height();
      if (!h) return h.status();
      return json{{"last_height", *h}};
    });
  }
  return error(Code::kNotFound, "q is match, assets, agreements, payments or height");
}

void install_routes(api::Server& server, std::shared_ptr<Routes> routes) {
  server.extend([&server, routes](http::Router& router) {
    router.add("GET", "/v1/db", server.gated([routes](http::Request& req) {
      json params = json::object();
      for (const auto& [k, v] : req.query) params[k] = v;
      auto answer = routes->answer(params);
      if (answer) return http::Response::json_text(answer->dump());
      const Status& s = answer.status();
      // Premises unknown to the read model are a missing resource, like NOT_FOUND.
      const int status = s.code == agreements::kPremisesNotFound ? 404 : http::status_for(s.code);
      return http::Response::json_text(http::error_body(s), status);
    }));
  });
}

}  // namespace gridpact::db
