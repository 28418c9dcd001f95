// The clearing-book/1 exchange format (docs/clearing-book.md): a book in,
// trades out. The reader is strict: unknown, missing or mistyped keys, duplicate ids and
// out-of-range numbers are MALFORMED_JSON / INVALID_ARGUMENT errors naming the order and
// the key.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "modules/market/clearing.hpp"

namespace gridpact::market {

Result<Book> parse_book(std::string_view text);
// The book as clearing-book/1 JSON (the inverse of parse_book).
nlohmann::ordered_json book_json(const Book& book);
// {"trades": [...]} with nano-unit amounts; a "note" when the rule was not applicable.
nlohmann::ordered_json trades_json(const Book& book, const Clearing& clearing);

}  // namespace gridpact::market
