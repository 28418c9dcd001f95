#include "db/routes.hpp"

#include "api/server.hpp"

namespace gridpact::db {

Result<json> Routes::answer(const json& params) {
  std::string q = params.value("q", "");
  agreements::MatchFilter f;
  if (auto r = f.parse(params); !r) return r.status();
  // The box the SQL reads grows with the square of the radius: a continent-wide one reads
  // every listing. The state query (agreements /match) keeps its 20,000 km, rate-limited.
  if (f.radius_m > kMaxRadiusKm * 1000)
    return error(Code::kInvalidArgument,
                 "radius_km must be <= " + std::to_string(kMaxRadiusKm) + " here");
  auto num = [&](const char* k) -> Result<int64_t> {
    if (!params.contains(k) || !params[k].is_string())
      return error(Code::kInvalidArgument, std::string("missing ") + k);
    const auto& s = params[k].get_ref<const std::string&>();
    if (s.empty() || s.size() > 19 || s.find_first_not_of("-0123456789") != std::string::npos)
      return error(Code::kInvalidArgument, std::string(k) + " must be an integer");
    return static_cast<int64_t>(std::stoll(s));
  };
  std::lock_guard lock(mutex_);
  if (q == "match") {
    auto p = num("premises");
    if (!p) return p.status();
    return model_->match(static_cast<uint64_t>(*p), f);
  }
  if (q == "assets") {
    auto lat = num("lat_e6"), lon = num("lon_e6");
    if (!lat) return lat.status();
    if (!lon) return lon.status();
    return model_->search_assets(*lat, *lon, f);
  }
  if (q == "agreements") return model_->agreements_of(params.value("account", ""));
  if (q == "payments") {
    auto id = num("agreement");
    if (!id) return id.status();
    return model_->payments_of(static_cast<uint64_t>(*id));
  }
  if (q == "height") {
    auto h = model_->last_height();
    if (!h) return h.status();
    return json{{"last_height", *h}};
  }
  return error(Code::kNotFound, "q is match, assets, agreements, payments or height");
}

void install_routes(api::Server& server, std::shared_ptr<Routes> routes) {
  server.extend([&server, routes](http::Router& router) {
    router.add("GET", "/v1/db",
               server.gated([routes](http::Request& req, const http::Responder& res) {
                 json params = json::object();
                 for (const auto& [k, v] : req.query) params[k] = v;
                 auto answer = routes->answer(params);
                 if (answer) return res.send(http::Response::json_text(answer->dump()));
                 const Status& s = answer.status();
                 // Premises unknown to the read model are a missing resource, like NOT_FOUND.
                 const int status =
                     s.code == agreements::kPremisesNotFound ? 404 : http::status_for(s.code);
                 res.send(http::Response::json_text(http::error_body(s), status));
               }));
  });
}

}  // namespace gridpact::db
