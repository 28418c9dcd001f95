// A minimal SQL connection over SQLite (embedded, the default) or PostgreSQL (libpq), so
// that the read model writes one dialect: statements use $1, $2, ... placeholders (in
// order of first appearance), BIGINT/INTEGER/TEXT columns and INSERT ... ON CONFLICT, which
// both engines accept. Values travel as text; NULL as nullopt.
//
// Codes 1400-1499: DB_ERROR (the engine refused a statement or a connection),
// DB_MISMATCH (verify found differences), DB_BAD_URL.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/error.hpp"

namespace gridpact::db {

#define GRIDPACT_DB_CODES(X)                                                        \
  X(kDbError, 1400, "DB_ERROR", "the SQL engine refused a statement or connection") \
  X(kDbMismatch, 1401, "DB_MISMATCH", "the read model differs from the chain")      \
  X(kDbBadUrl, 1402, "DB_BAD_URL", "the database URL is not understood")
GRIDPACT_CODES(kDbCodes, "db", 1400, GRIDPACT_DB_CODES);
void register_db_codes();

using Value = std::optional<std::string>;
using Row = std::vector<Value>;

class Sql {
 public:
  virtual ~Sql() = default;
  // Several statements, no parameters (schema).
  virtual Status exec_script(const std::string& sql) = 0;
  virtual Status exec(const std::string& sql, const std::vector<Value>& params) = 0;
  virtual Result<std::vector<Row>> query(const std::string& sql,
                                         const std::vector<Value>& params) = 0;
  virtual std::string_view engine() const = 0;  // "sqlite" or "postgresql"
};

// "postgresql://..." or "postgres://..." opens libpq; "sqlite:PATH" or a plain PATH opens
// SQLite (created if missing).
Result<std::unique_ptr<Sql>> connect(const std::string& url);

inline Value v(int64_t x) {
  return std::to_string(x);
}
inline Value v(uint64_t x) {
  return std::to_string(x);
}
inline Value v(uint32_t x) {
  return std::to_string(x);
}
inline Value v(std::string s) {
  return s;
}

}  // namespace gridpact::db
