// What the benchmarks that load a market node share (api_bench, market_bench,
// abuse_bench): signed orders, with quantities and prices spread over accounts and nonces
// (always the same), and the chain they trade on: its genesis and its modules.
#pragma once

#include <memory>
#include <vector>

#include "modules/bank/bank.hpp"
#include "modules/market/market.hpp"
#include "modules/meters/meters.hpp"
#include "node/genesis.hpp"

namespace gridpact::bench {

// Account i's order with nonce n: 100..5099 Wh, 0.05..0.2499 units per kWh.
inline uint64_t order_qty(size_t i, uint64_t n) {
  return 100 + (i * 7919 + n * 104729) % 5000;
}
inline int64_t order_price(size_t i, uint64_t n) {
  return 50'000 + static_cast<int64_t>((i * 31 + n * 17) % 2000) * 100;
}

// An offer, or a bid (renewable only if asked), for `period` from the meter `meter`,
// signed by `key`.
inline Transaction signed_order(const std::string& chain_id, const KeyPair& key, uint64_t nonce,
                                bool offer, uint64_t period, uint64_t qty, int64_t price,
                                const Hash32& meter, bool renewable_only = false) {
  Transaction tx;
  tx.chain_id = chain_id;
  tx.nonce = nonce;
  if (offer) {
    tx.type = market::kOffer;
    tx.payload = market::encode(market::OfferPayload{"electricity", period, qty, price, meter});
  } else {
    market::BidPayload b;
    b.period = period;
    b.qty = qty;
    b.price = price;
    b.meter = meter;
    b.renewable_only = renewable_only;
    tx.type = market::kBid;
    tx.payload = market::encode(b);
  }
  tx.sign(key);
  return tx;
}

// The modules of such a chain, in the node's order.
inline std::vector<std::unique_ptr<Module>> market_modules() {
  std::vector<std::unique_ptr<Module>> m;
  m.push_back(std::make_unique<bank::BankModule>());
  m.push_back(std::make_unique<meters::MetersModule>());
  m.push_back(std::make_unique<market::MarketModule>());
  return m;
}

// A chain with the bank (`validator` issues, `balances` by account hex), virtual meters
// (`validator` is their authority) and a market that `validator` operates, with the
// settings in `market` besides; its genesis hash is that of `label`.
inline Genesis market_genesis(const std::string& chain_id, const KeyPair& validator, json balances,
                              json market, std::string_view label) {
  const std::string v = validator.public_key().hex();
  market["operator"] = v;
  Genesis g;
  g.chain_id = chain_id;
  g.validator = validator.public_key();
  g.document = {{"bank", {{"issuer", v}, {"balances", std::move(balances)}}},
                {"meters", {{"allow_virtual", true}, {"authority", v}}},
                {"market", std::move(market)}};
  g.hash = sha256(label);
  return g;
}

}  // namespace gridpact::bench
