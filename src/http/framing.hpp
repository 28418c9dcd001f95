// What the server reads and writes around its handlers: the request target split into a
// decoded path and query, our own words for each framing fault (the parser's text is
// never sent), and the whole answers written where no session can carry one.
#pragma once

#include <boost/system/error_code.hpp>
#include <string>
#include <string_view>

#include "http/server.hpp"

namespace gridpact::http {

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
constexpr unsigned char kTlsHandshakeRecord = 0x16;  // the first byte of every TLS ClientHello

// Splits the target into a decoded path and query; false on bad percent-encoding.
bool parse_target(std::string_view target, Request& req);

// The API error for a request the HTTP parser refused.
Status read_error_status(const boost::system::error_code& ec);

// A whole answer written before any session exists, or on a connection that cannot carry a
// session's answers (plain HTTP on a TLS port).
std::string raw_answer(std::string_view status_line, const Status& s);

}  // namespace gridpact::http
