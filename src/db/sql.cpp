#include "db/sql.hpp"

#include <libpq-fe.h>
#include <sqlite3.h>

#include <map>
#include <mutex>

namespace gridpact::db {

void register_db_codes() {
  register_codes(kDbCodes);
}

namespace {

class Sqlite : public Sql {
 public:
  explicit Sqlite(sqlite3* db) : db_(db) {}
  ~Sqlite() override {
    for (auto& [sql, st] : cache_) sqlite3_finalize(st);
    sqlite3_close(db_);
  }
  std::string_view engine() const override { return "sqlite"; }

  Status exec_script(const std::string& sql) override {
    char* msg = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &msg) != SQLITE_OK) {
      std::string m = msg ? msg : "?";
      sqlite3_free(msg);
      return error(kDbError, "sqlite: " + m);
    }
    return Status::ok();
  }
  Status exec(const std::string& sql, const std::vector<Value>& params) override {
    auto r = run(sql, params, nullptr);
    return r;
  }
  Result<std::vector<Row>> query(const std::string& sql,
                                 const std::vector<Value>& params) override {
    std::vector<Row> rows;
    if (Status s = run(sql, params, &rows); !s) return s;
    return rows;
  }

 private:
  Status fail(const std::string& what) {
    return error(kDbError, what + ": " + sqlite3_errmsg(db_));
  }
  Status run(const std::string& sql, const std::vector<Value>& params, std::vector<Row>* rows) {
    sqlite3_stmt* st = nullptr;
    auto it = cache_.find(sql);
    if (it != cache_.end()) {
      st = it->second;
    } else {
      if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK)
        return fail("prepare");
      cache_.emplace(sql, st);
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    for (size_t i = 0; i < params.size(); ++i) {
      int idx = sqlite3_bind_parameter_index(st, ("$" + std::to_string(i + 1)).c_str());
      if (idx == 0) continue;  // a parameter the statement does not use
      int rc = params[i] ? sqlite3_bind_text(st, idx, params[i]->data(),
                                             static_cast<int>(params[i]->size()), SQLITE_TRANSIENT)
                         : sqlite3_bind_null(st, idx);
      if (rc != SQLITE_OK) return fail("bind");
    }
    for (;;) {
      int rc = sqlite3_step(st);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) {
        Status s = fail("step");
        sqlite3_reset(st);
        return s;
      }
      if (!rows) continue;
      Row row;
      int n = sqlite3_column_count(st);
      for (int c = 0; c < n; ++c) {
        if (sqlite3_column_type(st, c) == SQLITE_NULL) {
          row.emplace_back(std::nullopt);
        } else {
          const auto* t = reinterpret_cast<const char*>(sqlite3_column_text(st, c));
          row.emplace_back(std::string(t, static_cast<size_t>(sqlite3_column_bytes(st, c))));
        }
      }
      rows->push_back(std::move(row));
    }
    sqlite3_reset(st);
    return Status::ok();
  }
  sqlite3* db_;
  std::map<std::string, sqlite3_stmt*> cache_;
};

class Postgres : public Sql {
 public:
  explicit Postgres(PGconn* c) : c_(c) {}
  ~Postgres() override { PQfinish(c_); }
  std::string_view engine() const override { return "postgresql"; }

  Status exec_script(const std::string& sql) override {
    PGresult* r = PQexec(c_, sql.c_str());
    Status s = check(r);
    PQclear(r);
    return s;
  }
  Status exec(const std::string& sql, const std::vector<Value>& params) override {
    PGresult* r = run(sql, params);
    Status s = check(r);
    PQclear(r);
    return s;
  }
  Result<std::vector<Row>> query(const std::string& sql,
                                 const std::vector<Value>& params) override {
    PGresult* r = run(sql, params);
    if (Status s = check(r); !s) {
      PQclear(r);
      return s;
    }
    std::vector<Row> rows;
    int n = PQntuples(r), m = PQnfields(r);
    rows.reserve(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
      Row row;
      for (int c = 0; c < m; ++c)
        row.emplace_back(PQgetisnull(r, i, c)
                             ? Value()
                             : Value(std::string(PQgetvalue(r, i, c),
                                                 static_cast<size_t>(PQgetlength(r, i, c)))));
      rows.push_back(std::move(row));
    }
    PQclear(r);
    return rows;
  }

 private:
  PGresult* run(const std::string& sql, const std::vector<Value>& params) {
    std::vector<const char*> values;
    for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
    return PQexecParams(c_, sql.c_str(), static_cast<int>(params.size()), nullptr, values.data(),
                        nullptr, nullptr, 0);
  }
  Status check(PGresult* r) {
    auto st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return Status::ok();
    return error(kDbError, std::string("postgresql: ") + PQerrorMessage(c_));
  }
  PGconn* c_;
};

}  // namespace

Result<std::unique_ptr<Sql>> connect(const std::string& url) {
  register_db_codes();
  if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
    PGconn* c = PQconnectdb(url.c_str());
    if (PQstatus(c) != CONNECTION_OK) {
      std::string m = PQerrorMessage(c);
      PQfinish(c);
      return error(kDbError, "postgresql: " + m);
    }
    // Quiet the NOTICEs of CREATE ... IF NOT EXISTS.
    PQsetNoticeProcessor(
        c, [](void*, const char*) {}, nullptr);
    return std::unique_ptr<Sql>(std::make_unique<Postgres>(c));
  }
  std::string path = url.starts_with("sqlite:") ? url.substr(7) : url;
  if (path.empty()) return error(kDbBadUrl, "empty database path");
  if (url.find("://") != std::string::npos && !url.starts_with("sqlite:"))
    return error(kDbBadUrl, "unknown database URL " + url + " (postgresql://... or sqlite:PATH)");
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string m = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return error(kDbError, "sqlite: " + m);
  }
  sqlite3_busy_timeout(db, 5000);
  auto out = std::make_unique<Sqlite>(db);
  if (Status s = out->exec_script("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"); !s)
    return s;
  return std::unique_ptr<Sql>(std::move(out));
}

}  // namespace gridpact::db
