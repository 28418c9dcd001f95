// Routing and the small value types of server.hpp; no sockets here.
#include <nlohmann/json.hpp>

#include "http/server.hpp"

namespace gridpact::http {
namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.push_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}

bool is_param(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

bool is_rest(std::string_view segment) {
  return is_param(segment) && segment.size() > 5 && segment.substr(segment.size() - 4) == "...}";
}

}  // namespace

std::optional<std::string_view> Request::header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers)
    if (k == lower_name) return std::string_view(v);
  return std::nullopt;
}

std::string Request::param(std::string_view name) const {
  auto it = params.find(name);
  return it == params.end() ? std::string() : it->second;
}

std::optional<std::string> Request::query_value(std::string_view name) const {
  auto it = query.find(name);
  if (it == query.end()) return std::nullopt;
  return it->second;
}

int status_for(Code code) {
  switch (code) {
    case Code::kNotFound:
      return 404;
    case Code::kForbiddenHost:
      return 403;
    case Code::kMethodNotAllowed:
      return 405;
    case Code::kRequestTimeout:
      return 408;
    case Code::kBodyTooLarge:
      return 413;
    case Code::kUrlTooLong:
      return 414;
    case Code::kHeadersTooLarge:
      return 431;
    case Code::kMempoolFull:
    case Code::kShuttingDown:
    case Code::kOverloaded:
      return 503;
    case Code::kStorage:
      return 500;
    case Code::kTimeout:
      return 504;
    default:
      return 400;
  }
}

std::string error_body(const Status& s) {
  nlohmann::json j = {
      {"error",
       {{"code", static_cast<int>(s.code)}, {"name", code_name(s.code)}, {"message", s.message}}}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Response Response::error(const Status& s) {
  return json_text(error_body(s), status_for(s.code));
}

Response Response::json_text(std::string body, int status) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

bool json_depth_within(std::string_view text, size_t max_depth) {
  size_t depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth) return false;
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return true;
}

void Router::add(std::string method, std::string path_template, Handler handler) {
  std::vector<std::string> segments;
  for (auto s : split_path(path_template)) segments.emplace_back(s);
  routes_.push_back({std::move(method), std::move(segments), std::move(handler)});
}

Result<const Handler*> Router::match(std::string_view method, std::string_view path,
                                     std::map<std::string, std::string, std::less<>>& params,
                                     std::string& allow) const {
  auto parts = split_path(path);
  bool path_matched = false;
  allow.clear();
  for (const auto& route : routes_) {
    const auto& segs = route.segments;
    const bool rest = !segs.empty() && is_rest(segs.back());
    if (rest ? parts.size() < segs.size() : segs.size() != parts.size()) continue;
    bool ok = true;
    for (size_t i = 0; i < segs.size() && ok; ++i) ok = is_param(segs[i]) || segs[i] == parts[i];
    if (!ok) continue;
    if (route.method != method) {
      if (!path_matched || allow.find(route.method) == std::string::npos)
        allow += (allow.empty() ? "" : ", ") + route.method;
      path_matched = true;
      continue;
    }
    params.clear();
    for (size_t i = 0; i < segs.size(); ++i) {
      const auto& seg = segs[i];
      if (!is_param(seg)) continue;
      if (rest && i + 1 == segs.size()) {
        std::string joined(parts[i]);
        for (size_t j = i + 1; j < parts.size(); ++j) (joined += '/') += parts[j];
        params[seg.substr(1, seg.size() - 5)] = std::move(joined);
      } else {
        params[seg.substr(1, seg.size() - 2)] = std::string(parts[i]);
      }
    }
    return &route.handler;
  }
  if (path_matched)
    return error(Code::kMethodNotAllowed, std::string(method) + " is not allowed here");
  return error(Code::kNotFound, "no such route");
}

}  // namespace gridpact::http
