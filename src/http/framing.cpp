#include "http/framing.hpp"

#include <boost/beast/http/error.hpp>

namespace gridpact::http {
namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int hi = hex_digit(s[i + 1]), lo = hex_digit(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(plus_is_space && s[i] == '+' ? ' ' : s[i]);
    }
  }
  return out;
}

}  // namespace

// Splits the target into a decoded path and query; false on bad percent-encoding.
bool parse_target(std::string_view target, Request& req) {
  size_t q = target.find('?');
  auto path = percent_decode(target.substr(0, q), false);
  if (!path) return false;
  req.path = std::move(*path);
  if (q == std::string_view::npos) return true;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    auto k = percent_decode(pair.substr(0, eq), true);
    auto v = percent_decode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), true);
    if (!k || !v) return false;
    req.query.emplace(std::move(*k), std::move(*v));
  }
  return true;
}

// Our own words for each framing fault; the parser's text is never sent.
Status read_error_status(const boost::system::error_code& ec) {
  if (ec == boost::beast::http::error::body_limit ||
      ec == boost::beast::http::error::buffer_overflow)
    return error(Code::kBodyTooLarge, "request body too large");
  if (ec == boost::beast::http::error::bad_content_length ||
      ec == boost::beast::http::error::multiple_content_length)
    return error(Code::kBadFraming, "bad Content-Length");
  if (ec == boost::beast::http::error::bad_chunk ||
      ec == boost::beast::http::error::bad_chunk_extension ||
      ec == boost::beast::http::error::bad_transfer_encoding)
    return error(Code::kBadFraming, "bad chunked encoding");
  if (ec == boost::beast::http::error::bad_method || ec == boost::beast::http::error::bad_target ||
      ec == boost::beast::http::error::bad_version)
    return error(Code::kBadFraming, "bad request line");
  return error(Code::kBadFraming, "malformed request");
}

// A whole answer written before any session exists, or on a connection that cannot carry a
// session's answers (plain HTTP on a TLS port).
std::string raw_answer(std::string_view status_line, const Status& s) {
  std::string body = Response::error(s).body;
  return "HTTP/1.1 " + std::string(status_line) +
         "\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

}  // namespace gridpact::http
