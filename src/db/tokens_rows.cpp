#include "db/tokens_rows.hpp"

#include <algorithm>

#include "modules/agreements/agreements.hpp"
#include "modules/tokens/tokens.hpp"

namespace gridpact::db {

const char* const kTokenSchema = R"(
CREATE TABLE IF NOT EXISTS token_balances (account TEXT PRIMARY KEY, balance BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS token_mints (meter TEXT NOT NULL, period BIGINT NOT NULL,
  account TEXT NOT NULL, source TEXT NOT NULL, microgrid TEXT NOT NULL, virtual INTEGER NOT NULL,
  wh BIGINT NOT NULL, rate BIGINT NOT NULL, amount BIGINT NOT NULL, agreement BIGINT NOT NULL,
  PRIMARY KEY (meter, period, account));
CREATE INDEX IF NOT EXISTS token_mints_account ON token_mints (account, period);
CREATE INDEX IF NOT EXISTS token_mints_mix ON token_mints (microgrid, source, period);
CREATE INDEX IF NOT EXISTS token_mints_period ON token_mints (period);
CREATE TABLE IF NOT EXISTS token_pool (id INTEGER PRIMARY KEY, pool_balance BIGINT NOT NULL,
  funded BIGINT NOT NULL, redeemed BIGINT NOT NULL, reimbursed BIGINT NOT NULL,
  drained BIGINT NOT NULL, minted BIGINT NOT NULL, burned BIGINT NOT NULL);
)";

const Table kTokenBalances{"token_balances", {"account", "balance"}, 1};
const Table kTokenMints{"token_mints",
                        {"meter", "period", "account", "source", "microgrid", "virtual", "wh",
                         "rate", "amount", "agreement"},
                        3};
const Table kTokenPool{
    "token_pool",
    {"id", "pool_balance", "funded", "redeemed", "reimbursed", "drained", "minted", "burned"},
    1};

namespace {

Value num(uint64_t x) {  // BIGINT is signed: clamped as the other tables do
  return std::to_string(std::min<uint64_t>(x, INT64_MAX));
}

Row balance_row(const PublicKey& account, uint64_t balance) {
  return {account.hex(), num(balance)};
}

Row mint_row(const Hash32& meter, uint64_t period, const PublicKey& account,
             const tokens::MintRecord& r, uint64_t amount) {
  return {meter.hex(),   num(period),
          account.hex(), std::string(meters::source_name(r.source)),
          r.microgrid,   num(r.is_virtual ? 1 : 0),
          num(r.wh),     num(r.rate),
          num(amount),   num(r.agreement)};
}

// The rows of one mint: the owner's, or each share of an agreement's parties (the accounts
// a shared mint can credit: the terms' parties and the meter's owner).
std::vector<Row> mint_rows(const StateReader& s, const Hash32& meter, uint64_t period,
                           const tokens::MintRecord& r) {
  if (r.agreement == 0) return {mint_row(meter, period, r.owner, r, r.amount)};
  std::vector<PublicKey> who{r.owner};
  if (auto t = agreements::find_terms(s, r.agreement))
    for (const auto& p : t->parties) who.push_back(p.account);
  std::sort(who.begin(), who.end());
  who.erase(std::unique(who.begin(), who.end()), who.end());
  std::vector<Row> out;
  for (const auto& a : who)
    if (auto sh = tokens::mint_share(s, a, period, meter))
      out.push_back(mint_row(meter, period, a, r, sh->amount));
  return out;
}

Row pool_row(const StateReader& s) {
  tokens::PoolTotals t = tokens::pool_totals(s);
  tokens::Supply sup = tokens::supply(s);
  return {num(1),
          num(tokens::pool_balance(s)),
          num(t.funded),
          num(t.redeemed),
          num(t.reimbursed),
          num(t.drained),
          num(sup.minted),
          num(sup.burned)};
}

bool has_tokens(const StateReader& s) {  // a chain whose genesis sets up the tokens module
  return s.get(param_key("tokens.epoch_cap")).has_value();
}

}  // namespace

Status apply_token_block(Sql& sql, const StateReader& s, uint64_t height) {
  if (!has_tokens(s)) return ok();
  static const std::string kUpsertBalance = kTokenBalances.upsert(),
                           kUpsertMint = kTokenMints.upsert(), kUpsertPool = kTokenPool.upsert();
  std::vector<PublicKey> accounts = tokens::touched_in(s, height);
  for (uint64_t period : tokens::minted_in(s, height))
    for (const auto& [meter, r] : tokens::mints_of_period(s, period))
      for (const Row& row : mint_rows(s, meter, period, r)) {
        if (Status st = sql.exec(kUpsertMint, row); !st) return st;
        accounts.push_back(*PublicKey::from_hex(*row[2]));
      }
  std::sort(accounts.begin(), accounts.end());
  accounts.erase(std::unique(accounts.begin(), accounts.end()), accounts.end());
  for (const auto& a : accounts) {
    uint64_t b = tokens::balance(s, a);
    Status st = b == 0 ? sql.exec("DELETE FROM token_balances WHERE account = $1", {a.hex()})
                       : sql.exec(kUpsertBalance, balance_row(a, b));
    if (!st) return st;
  }
  return sql.exec(kUpsertPool, pool_row(s));  // one row: refreshed every block
}

void expected_token_rows(const StateReader& s, const std::function<void(const Table&, Row)>& add) {
  if (!has_tokens(s)) return;
  tokens::each_balance(s, [&](const PublicKey& a, uint64_t b) {
    add(kTokenBalances, balance_row(a, b));
    return true;
  });
  tokens::each_mint(s, [&](const Hash32& meter, uint64_t period, const tokens::MintRecord& r) {
    for (Row& row : mint_rows(s, meter, period, r)) add(kTokenMints, std::move(row));
    return true;
  });
  add(kTokenPool, pool_row(s));
}

}  // namespace gridpact::db
