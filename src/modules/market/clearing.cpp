// Periodic clearing: the welfare-maximising allocation of one period's book, and the
// prices the rule gives it (clear()).
#include <algorithm>
#include <limits>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "modules/market/clearing.hpp"

namespace gridpact::market {

namespace {
constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();
constexpr int64_t kInf = std::numeric_limits<int64_t>::max() / 4;
}  // namespace

// Who may trade with whom: here, beside the clearing loops that ask it for every pair.
int64_t Book::fee(uint32_t s, uint32_t b) const {
  return fees_[s][b];
}
bool Book::has_fee(uint32_t s, uint32_t b) const {
  return s < fees_.size() && b < fees_.size() && fees_[s][b] >= 0;
}

bool Book::accepts(const Order& bid, const Order& offer) const {
  const Preference& p = preferences_[bid.preference];
  if (p.renewable_only && !is_renewable(offer.source)) return false;
  if (!((p.allowed_sources >> static_cast<int>(offer.source)) & 1)) return false;
  if (std::binary_search(p.excluded_sellers.begin(), p.excluded_sellers.end(), offer.account))
    return false;
  if (std::binary_search(p.excluded_microgrids.begin(), p.excluded_microgrids.end(),
                         offer.microgrid))
    return false;
  return true;
}

bool Book::can_trade(const Order& bid, const Order& offer) const {
  return accepts(bid, offer) && bid.price >= offer.price + fee(offer.microgrid, bid.microgrid);
}

namespace {

struct Level {
  int64_t price;
  uint64_t qty;
};

// A group of offers or a class of bids: orders sorted into price levels.
struct Node {
  std::vector<uint32_t> orders;  // sorted in fill order
  std::vector<Level> levels;
  size_t level = 0;         // current level (first not exhausted)
  uint64_t level_used = 0;  // filled in the current level
  uint64_t filled = 0;
  uint32_t microgrid = 0;
  uint32_t seller = kNone;        // groups: the seller when some bid names it
  Source source = Source::kGrid;  // groups: a representative source of the source class
  uint32_t constraint = 0;        // classes: index of the constraint set
  bool has_level() const { return level < levels.size(); }
  uint64_t level_left() const { return levels[level].qty - level_used; }
  void take(uint64_t q) {
    level_used += q;
    filled += q;
    if (level_used == levels[level].qty) {
      ++level;
      level_used = 0;
    }
  }
};

void build_levels(Node& n, const std::vector<Order>& orders) {
  for (uint32_t i : n.orders) {
    const Order& o = orders[i];
    if (!n.levels.empty() && n.levels.back().price == o.price)
      n.levels.back().qty += o.qty_wh;
    else
      n.levels.push_back({o.price, o.qty_wh});
  }
}

// The constraint part of a preference set (preferred sellers are only a hint), so that
// bids differing only in hints share a class.
struct Constraint {
  uint8_t mask = kAnySource;  // effective allowed sources
  std::vector<uint32_t> excluded_sellers;
  std::vector<uint32_t> excluded_microgrids;
  bool operator==(const Constraint&) const = default;
};

class Solver {
 public:
  Solver(const Book& book) : book_(book), orders_(book.orders()) {}

  std::vector<Trade> run() {
    classify();
    if (groups_.empty() || classes_.empty()) return {};
    build_graph();
    augment_all();
    return pair_up();
  }

 private:
  void classify() {
    // Constraint sets, deduplicated.
    const auto& prefs = book_.preferences();
    std::vector<uint32_t> constraint_of(prefs.size());
    for (size_t i = 0; i < prefs.size(); ++i) {
      Constraint c;
      c.mask = static_cast<uint8_t>(prefs[i].allowed_sources &
                                    (prefs[i].renewable_only ? kRenewableSources : kAnySource));
      c.excluded_sellers = prefs[i].excluded_sellers;
      c.excluded_microgrids = prefs[i].excluded_microgrids;
      auto it = std::find(constraints_.begin(), constraints_.end(), c);
      constraint_of[i] = static_cast<uint32_t>(it - constraints_.begin());
      if (it == constraints_.end()) constraints_.push_back(std::move(c));
    }
    // Which constraints the bids actually use; which sellers and sources they tell apart.
    std::vector<char> constraint_used(constraints_.size(), 0);
    for (const Order& o : orders_)
      if (o.side == Side::kBid) constraint_used[constraint_of[o.preference]] = 1;
    std::vector<char> named(book_.accounts().size(), 0);
    std::vector<uint8_t> masks;
    for (size_t c = 0; c < constraints_.size(); ++c) {
      if (!constraint_used[c]) continue;
      for (uint32_t a : constraints_[c].excluded_sellers) named[a] = 1;
      if (std::find(masks.begin(), masks.end(), constraints_[c].mask) == masks.end())
        masks.push_back(constraints_[c].mask);
    }
    // Sources that belong to exactly the same masks form one source class.
    std::array<uint8_t, 7> source_class{};
    for (int s = 1; s <= 6; ++s) {
      source_class[s] = static_cast<uint8_t>(s);
      for (int t = 1; t < s; ++t) {
        bool same = true;
        for (uint8_t m : masks) same = same && (((m >> s) & 1) == ((m >> t) & 1));
        if (same) {
          source_class[s] = source_class[t];
          break;
        }
      }
    }
    const size_t mgs = book_.microgrids().size();
    std::vector<uint32_t> dense_group(mgs * 8, kNone), dense_class(mgs, kNone);
    std::unordered_map<uint64_t, uint32_t> sparse_group, sparse_class;
    std::vector<uint32_t> node_of(orders_.size());
    for (uint32_t i = 0; i < orders_.size(); ++i) {
      const Order& o = orders_[i];
      if (o.side == Side::kOffer) {
        uint32_t sc = source_class[static_cast<size_t>(o.source)];
        uint32_t* slot;
        if (!named[o.account]) {
          slot = &dense_group[o.microgrid * 8 + sc];
        } else {
          uint64_t key = (static_cast<uint64_t>(o.microgrid * 8 + sc) << 32) | o.account;
          slot = &sparse_group.emplace(key, kNone).first->second;
        }
        if (*slot == kNone) {
          *slot = static_cast<uint32_t>(groups_.size());
          Node n;
          n.microgrid = o.microgrid;
          n.seller = named[o.account] ? o.account : kNone;
          n.source = o.source;
          groups_.push_back(std::move(n));
        }
        node_of[i] = *slot;
      } else {
        uint32_t c = constraint_of[o.preference];
        uint32_t* slot;
        if (c == 0) {
          slot = &dense_class[o.microgrid];
        } else {
          uint64_t key = (static_cast<uint64_t>(o.microgrid) << 32) | c;
          slot = &sparse_class.emplace(key, kNone).first->second;
        }
        if (*slot == kNone) {
          *slot = static_cast<uint32_t>(classes_.size());
          Node n;
          n.microgrid = o.microgrid;
          n.constraint = c;
          classes_.push_back(std::move(n));
        }
        node_of[i] = *slot;
      }
    }
    // Two passes so that each node's list is allocated once.
    std::vector<size_t> group_size(groups_.size(), 0), class_size(classes_.size(), 0);
    for (uint32_t i = 0; i < orders_.size(); ++i)
      (orders_[i].side == Side::kOffer ? group_size : class_size)[node_of[i]]++;
    for (size_t g = 0; g < groups_.size(); ++g) groups_[g].orders.reserve(group_size[g]);
    for (size_t k = 0; k < classes_.size(); ++k) classes_[k].orders.reserve(class_size[k]);
    for (uint32_t i = 0; i < orders_.size(); ++i)
      (orders_[i].side == Side::kOffer ? groups_ : classes_)[node_of[i]].orders.push_back(i);
    // Fill order: offers by price ascending, bids by price descending; then book position.
    // A node's orders are in book order already, so a stable sort by price alone gives
    // (price, position): LSD radix sort on the price offset to 0..2 x kMaxPrice < 2^31.
    std::vector<uint64_t> keys, tmp;
    auto sort_node = [&](Node& n, bool descending) {
      const size_t m = n.orders.size();
      keys.resize(m);
      for (size_t j = 0; j < m; ++j) {
        uint32_t i = n.orders[j];
        int64_t p = descending ? kMaxPrice - orders_[i].price : orders_[i].price + kMaxPrice;
        keys[j] = (static_cast<uint64_t>(p) << 32) | i;
      }
      if (m < 512) {
        std::sort(keys.begin(), keys.end());
      } else {
        tmp.resize(m);
        for (int shift = 32; shift < 64; shift += 11) {
          std::array<size_t, 2048> count{};
          for (uint64_t k : keys) count[(k >> shift) & 2047]++;
          if (*std::max_element(count.begin(), count.end()) == m) continue;  // one digit
          size_t sum = 0;
          for (auto& c : count) {
            size_t here = c;
            c = sum;
            sum += here;
          }
          for (uint64_t k : keys) tmp[count[(k >> shift) & 2047]++] = k;
          keys.swap(tmp);
        }
      }
      for (size_t j = 0; j < m; ++j) n.orders[j] = static_cast<uint32_t>(keys[j]);
      build_levels(n, orders_);
    };
    for (auto& g : groups_) sort_node(g, false);
    for (auto& k : classes_) sort_node(k, true);
  }

  bool allowed(const Node& g, const Node& k) const {
    const Constraint& c = constraints_[k.constraint];
    if (!((c.mask >> static_cast<int>(g.source)) & 1)) return false;
    if (g.seller != kNone &&
        std::binary_search(c.excluded_sellers.begin(), c.excluded_sellers.end(), g.seller))
      return false;
    return !std::binary_search(c.excluded_microgrids.begin(), c.excluded_microgrids.end(),
                               g.microgrid);
  }

  void build_graph() {
    G_ = groups_.size();
    K_ = classes_.size();
    fee_.assign(G_ * K_, 0);
    flow_.assign(G_ * K_, 0);
    out_.assign(G_, {});
    for (size_t g = 0; g < G_; ++g)
      for (size_t k = 0; k < K_; ++k)
        if (allowed(groups_[g], classes_[k])) {
          fee_[g * K_ + k] = book_.fee(groups_[g].microgrid, classes_[k].microgrid);
          out_[g].push_back(static_cast<uint32_t>(k));
        }
    in_.assign(K_, {});
    // Initial potentials: shortest distances in the (acyclic) initial graph.
    pot_.assign(G_ + K_ + 1, 0);
    for (size_t g = 0; g < G_; ++g) pot_[g] = groups_[g].levels[0].price;
    std::vector<int64_t> best(K_, kInf);
    for (size_t g = 0; g < G_; ++g)
      for (uint32_t k : out_[g]) best[k] = std::min(best[k], pot_[g] + fee_[g * K_ + k]);
    int64_t t = kInf;
    for (size_t k = 0; k < K_; ++k) {
      if (best[k] == kInf) continue;  // no group may sell to this class
      pot_[G_ + k] = best[k];
      t = std::min(t, best[k] - classes_[k].levels[0].price);
    }
    pot_[G_ + K_] = t == kInf ? 0 : t;
  }

  // Successive shortest paths until no path of cost <= 0 is left.
  void augment_all() {
    const size_t V = G_ + K_ + 1, T = G_ + K_;
    std::vector<int64_t> dist(V);
    std::vector<uint32_t> parent(V);
    std::vector<char> done(V);
    // Classes that receive flow from each group, as a list per class (reverse arcs).
    for (;;) {
      std::fill(dist.begin(), dist.end(), kInf);
      std::fill(done.begin(), done.end(), 0);
      for (size_t g = 0; g < G_; ++g)
        if (groups_[g].has_level()) {
          dist[g] = groups_[g].levels[groups_[g].level].price - pot_[g];
          parent[g] = kNone;
        }
      for (;;) {
        size_t u = V;
        int64_t du = kInf;
        for (size_t v = 0; v < V; ++v)
          if (!done[v] && dist[v] < du) {
            du = dist[v];
            u = v;
          }
        if (u == V || u == T) break;
        done[u] = 1;
        if (u < G_) {
          for (uint32_t k : out_[u]) {
            size_t v = G_ + k;
            int64_t nd = du + fee_[u * K_ + k] + pot_[u] - pot_[v];
            if (nd < dist[v]) {
              dist[v] = nd;
              parent[v] = static_cast<uint32_t>(u);
            }
          }
        } else {
          size_t k = u - G_;
          for (uint32_t g : in_[k]) {
            int64_t nd = du - fee_[g * K_ + k] + pot_[u] - pot_[g];
            if (nd < dist[g]) {
              dist[g] = nd;
              parent[g] = static_cast<uint32_t>(u);
            }
          }
          const Node& c = classes_[k];
          if (c.has_level()) {
            int64_t nd = du - c.levels[c.level].price + pot_[u] - pot_[T];
            if (nd < dist[T]) {
              dist[T] = nd;
              parent[T] = static_cast<uint32_t>(u);
            }
          }
        }
      }
      if (dist[T] == kInf) return;
      int64_t cost = dist[T] + pot_[T];  // actual cost of the path (pot(S) stays 0)
      if (cost > 0) return;
      for (size_t v = 0; v < V; ++v) pot_[v] += std::min(dist[v], dist[T]);
      // Bottleneck along the path T <- k ... <- g <- S.
      size_t last_class = parent[T] - G_;
      uint64_t q = classes_[last_class].level_left();
      size_t v = parent[T];
      while (parent[v] != kNone) {
        size_t u = parent[v];
        if (u >= G_) q = std::min(q, flow_[v * K_ + (u - G_)]);  // reverse arc k -> g
        v = u;
      }
      size_t first_group = v;
      q = std::min(q, groups_[first_group].level_left());
      // Augment.
      classes_[last_class].take(q);
      groups_[first_group].take(q);
      v = parent[T];
      while (parent[v] != kNone) {
        size_t u = parent[v];
        if (u < G_) {
          add_flow(u, v - G_, q);
        } else {
          sub_flow(v, u - G_, q);
        }
        v = u;
      }
    }
  }

  void add_flow(size_t g, size_t k, uint64_t q) {
    uint64_t& f = flow_[g * K_ + k];
    if (f == 0) in_[k].push_back(static_cast<uint32_t>(g));
    f += q;
  }
  void sub_flow(size_t g, size_t k, uint64_t q) {
    uint64_t& f = flow_[g * K_ + k];
    f -= q;
    if (f == 0) in_[k].erase(std::find(in_[k].begin(), in_[k].end(), static_cast<uint32_t>(g)));
  }

  // Fills orders in fill order and pairs them along the flow (see the header).
  std::vector<Trade> pair_up() {
    struct Cursor {
      size_t pos = 0;
      uint64_t used = 0;
    };
    std::vector<Cursor> gc(G_);
    std::vector<Trade> trades;
    // At most one trade per filled order boundary on either side plus one per edge.
    size_t bound = G_ * K_;
    for (const auto* nodes : {&groups_, &classes_})
      for (const Node& n : *nodes) {
        uint64_t left = n.filled;
        for (size_t j = 0; j < n.orders.size() && left > 0; ++j, ++bound)
          left -= std::min(left, orders_[n.orders[j]].qty_wh);
      }
    trades.reserve(bound);
    const auto& prefs = book_.preferences();
    for (size_t k = 0; k < K_; ++k) {
      const Node& c = classes_[k];
      bool hinted = false;
      {
        uint64_t left = c.filled;
        for (size_t j = 0; j < c.orders.size() && left > 0 && !hinted; ++j) {
          const Order& b = orders_[c.orders[j]];
          hinted = !prefs[b.preference].preferred_sellers.empty();
          left -= std::min(left, b.qty_wh);
        }
      }
      if (hinted) {
        pair_with_hints(k, gc, trades);
        continue;
      }
      Cursor bc;
      for (size_t g = 0; g < G_; ++g) {
        uint64_t f = flow_[g * K_ + k];
        while (f > 0) {
          const Node& grp = groups_[g];
          uint32_t oi = grp.orders[gc[g].pos], bi = c.orders[bc.pos];
          uint64_t q = std::min({f, orders_[oi].qty_wh - gc[g].used, orders_[bi].qty_wh - bc.used});
          trades.push_back({bi, oi, q, 0, fee_[g * K_ + k]});
          f -= q;
          if ((gc[g].used += q) == orders_[oi].qty_wh) gc[g] = {gc[g].pos + 1, 0};
          if ((bc.used += q) == orders_[bi].qty_wh) bc = {bc.pos + 1, 0};
        }
      }
    }
    return trades;
  }

  // Pairs class k's filled bids with its incoming offers, giving each bid with preferred
  // sellers (in fill order) what those sellers send the class first. Any pairing along the
  // flow is optimal (see the header), so this only breaks ties.
  template <typename Cursor>
  void pair_with_hints(size_t k, std::vector<Cursor>& gc, std::vector<Trade>& trades) {
    struct Segment {
      uint32_t offer;
      uint64_t qty;
      int64_t fee;
    };
    std::vector<Segment> segments;
    std::unordered_map<uint32_t, std::vector<size_t>> by_seller;
    for (size_t g = 0; g < G_; ++g) {
      uint64_t f = flow_[g * K_ + k];
      while (f > 0) {
        uint32_t oi = groups_[g].orders[gc[g].pos];
        uint64_t q = std::min(f, orders_[oi].qty_wh - gc[g].used);
        by_seller[orders_[oi].account].push_back(segments.size());
        segments.push_back({oi, q, fee_[g * K_ + k]});
        f -= q;
        if ((gc[g].used += q) == orders_[oi].qty_wh) gc[g] = {gc[g].pos + 1, 0};
      }
    }
    const Node& c = classes_[k];
    std::vector<std::pair<uint32_t, uint64_t>> bids;  // (bid, quantity still to pair)
    uint64_t left = c.filled;
    for (size_t j = 0; j < c.orders.size() && left > 0; ++j) {
      uint64_t q = std::min(left, orders_[c.orders[j]].qty_wh);
      bids.emplace_back(c.orders[j], q);
      left -= q;
    }
    auto take = [&](std::pair<uint32_t, uint64_t>& b, Segment& seg) {
      uint64_t q = std::min(b.second, seg.qty);
      if (q == 0) return;
      trades.push_back({b.first, seg.offer, q, 0, seg.fee});
      b.second -= q;
      seg.qty -= q;
    };
    for (auto& b : bids)
      for (uint32_t seller : book_.preferences()[orders_[b.first].preference].preferred_sellers) {
        auto it = by_seller.find(seller);
        if (it == by_seller.end()) continue;
        for (size_t i : it->second) take(b, segments[i]);
      }
    size_t si = 0;
    for (auto& b : bids)
      while (b.second > 0) {
        while (segments[si].qty == 0) ++si;
        take(b, segments[si]);
      }
  }

  const Book& book_;
  const std::vector<Order>& orders_;
  std::vector<Constraint> constraints_;
  std::vector<Node> groups_, classes_;
  size_t G_ = 0, K_ = 0;
  std::vector<int64_t> fee_;
  std::vector<uint64_t> flow_;
  std::vector<std::vector<uint32_t>> out_, in_;
  std::vector<int64_t> pot_;
};

void apply_rule(const Book& book, PriceRule rule, Clearing& out) {
  const auto& orders = book.orders();
  if (rule == PriceRule::kPayAsClear) {
    bool one_microgrid = true, no_preferences = true;
    for (const Order& o : orders) {
      one_microgrid = one_microgrid && o.microgrid == orders[0].microgrid;
      if (o.side == Side::kBid && book.preferences()[o.preference].constrains())
        no_preferences = false;
    }
    if (one_microgrid && no_preferences) {
      if (out.trades.empty()) return;
      // Interval of market-clearing prices: [lo, hi].
      std::vector<uint64_t> filled(orders.size(), 0);
      for (const Trade& t : out.trades) {
        filled[t.bid] += t.qty_wh;
        filled[t.offer] += t.qty_wh;
      }
      int64_t lo = std::numeric_limits<int64_t>::min(), hi = std::numeric_limits<int64_t>::max();
      for (size_t i = 0; i < orders.size(); ++i) {
        const Order& o = orders[i];
        if (o.side == Side::kBid) {
          if (filled[i] > 0) hi = std::min(hi, o.price);
          if (filled[i] < o.qty_wh) lo = std::max(lo, o.price);
        } else {
          if (filled[i] > 0) lo = std::max(lo, o.price);
          if (filled[i] < o.qty_wh) hi = std::min(hi, o.price);
        }
      }
      int64_t p = floor_half(lo + hi);  // both are finite: some bid and offer filled
      for (Trade& t : out.trades) t.price = p;
      out.uniform_price = p;
      return;
    }
    out.note =
        "pay-as-clear: no uniform price is defined for a book with several microgrids or with "
        "preferences; every trade was priced at the midpoint "
        "floor((offer.price + bid.price - fee) / 2)";
    rule = PriceRule::kMidpoint;
  }
  for (Trade& t : out.trades) {
    const Order& b = orders[t.bid];
    const Order& o = orders[t.offer];
    t.price =
        rule == PriceRule::kPayAsBid ? b.price - t.fee : floor_half(o.price + b.price - t.fee);
  }
}

}  // namespace

Clearing clear(const Book& book, PriceRule rule) {
  Clearing out;
  out.trades = Solver(book).run();
  apply_rule(book, rule, out);
  return out;
}

}  // namespace gridpact::market
