// gridpact market clear: clears a clearing-book/1 file offline with the engine the ledger
// runs, and prints the trades (docs/clearing-book.md). The market's tx and query commands
// are the module's own (src/modules/market/cli.cpp).
#include <fstream>
#include <iostream>
#include <sstream>

#include "app.hpp"
#include "modules/market/book_json.hpp"
#include "modules/market/market.hpp"

namespace gridpact::cli {
namespace {

struct ClearArgs {
  std::string book;
  std::string rule = "pay-as-clear";
};

int run_clear(const ClearArgs& a) {
  std::stringstream text;
  if (a.book == "-") {
    text << std::cin.rdbuf();
  } else {
    std::ifstream in(a.book, std::ios::binary);
    if (!in) return fail(error(Code::kInvalidArgument, "cannot read book file '" + a.book + "'"));
    text << in.rdbuf();
  }
  auto book = market::parse_book(text.str());
  if (!book) return fail(book.status());
  market::Clearing c;
  if (a.rule == "continuous") {
    c = market::clear_continuous(*book);
  } else {
    auto rule = market::parse_rule(a.rule);
    if (!rule)
      return fail(error(
          Code::kInvalidArgument,
          "unknown rule '" + a.rule + "' (pay-as-clear, pay-as-bid, midpoint or continuous)"));
    c = market::clear(*book, *rule);
  }
  std::cout << market::trades_json(*book, c).dump(2) << std::endl;
  return 0;
}

}  // namespace

void add_market_commands(CLI::App& app) {
  market::register_market_codes();  // names of codes in the node's answers
  auto* market = app.add_subcommand("market", "Market tools that need no node");
  market->require_subcommand(1);
  auto a = std::make_shared<ClearArgs>();
  auto* clear = market->add_subcommand(
      "clear", "Clear a book file (clearing-book/1 JSON) and print the trades as JSON");
  clear->add_option("--book", a->book, "Book file, or - for standard input")->required();
  clear->add_option("--rule", a->rule,
                    "pay-as-clear (default), pay-as-bid, midpoint, or continuous (price-time "
                    "priority in book order)");
  clear->callback([a] { finish(run_clear(*a)); });
}

}  // namespace gridpact::cli
