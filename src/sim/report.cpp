#include "sim/report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace gridpact::sim {
namespace {

double pct(double part, double whole) {
  return whole == 0 ? 0 : std::round(10000.0 * part / whole) / 100.0;
}
double kwh(double wh) {
  return std::round(wh) / 1000.0;
}

bool is_consumer(Role r) {
  return r == Role::kConsumer || r == Role::kHost;
}

std::string esc(const std::string& s) {
  std::string o;
  for (char ch : s) {
    if (ch == '<')
      o += "&lt;";
    else if (ch == '>')
      o += "&gt;";
    else if (ch == '&')
      o += "&amp;";
    else
      o += ch;
  }
  return o;
}

std::string num(double v, int decimals = 2) {
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", decimals, v);
  return b;
}

struct Series {
  std::string name, color;
  std::vector<double> values;
  bool bars = false;
};

// A small SVG chart: lines and/or bars over an index axis.
std::string chart(const std::string& title, const std::string& y_unit,
                  const std::vector<Series>& series, const std::string& x_label) {
  const double W = 860, H = 260, L = 64, R = 16, T = 30, B = 40;
  size_t n = 0;
  double lo = 0, hi = 0;
  for (const auto& s : series) {
    n = std::max(n, s.values.size());
    for (double v : s.values) lo = std::min(lo, v), hi = std::max(hi, v);
  }
  if (hi - lo < 1e-9) hi = lo + 1;
  auto x = [&](double i) {
    return L + (W - L - R) * (n <= 1 ? 0.5 : i / static_cast<double>(n - 1));
  };
  auto y = [&](double v) { return T + (H - T - B) * (1 - (v - lo) / (hi - lo)); };
  std::ostringstream o;
  o << "<figure><svg viewBox=\"0 0 " << W << " " << H << "\" role=\"img\">"
    << "<text x=\"" << L << "\" y=\"18\" class=\"t\">" << esc(title) << "</text>";
  for (int g = 0; g <= 4; ++g) {
    double v = lo + (hi - lo) * g / 4.0;
    o << "<line x1=\"" << L << "\" x2=\"" << W - R << "\" y1=\"" << num(y(v)) << "\" y2=\""
      << num(y(v)) << "\" class=\"g\"/><text x=\"" << L - 6 << "\" y=\"" << num(y(v) + 4)
      << "\" class=\"a\" text-anchor=\"end\">" << num(v, std::fabs(hi - lo) < 10 ? 2 : 0)
      << "</text>";
  }
  o << "<text x=\"" << W / 2 << "\" y=\"" << H - 8 << "\" class=\"a\" text-anchor=\"middle\">"
    << esc(x_label) << "</text><text x=\"12\" y=\"" << T - 8 << "\" class=\"a\">" << esc(y_unit)
    << "</text>";
  double legend_x = W - R;
  for (auto it = series.rbegin(); it != series.rend(); ++it) {
    legend_x -= 10 + 7.0 * static_cast<double>(it->name.size()) + 14;
    o << "<rect x=\"" << num(legend_x) << "\" y=\"8\" width=\"10\" height=\"10\" fill=\""
      << it->color << "\"/><text x=\"" << num(legend_x + 14) << "\" y=\"17\" class=\"a\">"
      << esc(it->name) << "</text>";
  }
  const size_t bar_series = static_cast<size_t>(
      std::count_if(series.begin(), series.end(), [](const Series& s) { return s.bars; }));
  size_t bar_index = 0;
  for (const auto& s : series) {
    if (s.bars) {
      const double slot = (W - L - R) / static_cast<double>(std::max<size_t>(n, 1));
      const double bw = std::max(0.5, slot * 0.8 / static_cast<double>(bar_series));
      for (size_t i = 0; i < s.values.size(); ++i) {
        double x0 =
            L + slot * static_cast<double>(i) + slot * 0.1 + bw * static_cast<double>(bar_index);
        double y0 = y(std::max(0.0, s.values[i])), y1 = y(std::min(0.0, s.values[i]));
        o << "<rect x=\"" << num(x0) << "\" y=\"" << num(y0) << "\" width=\"" << num(bw)
          << "\" height=\"" << num(std::max(0.0, y1 - y0)) << "\" fill=\"" << s.color << "\"/>";
      }
      ++bar_index;
    } else {
      o << "<polyline fill=\"none\" stroke=\"" << s.color << "\" stroke-width=\"1.5\" points=\"";
      for (size_t i = 0; i < s.values.size(); ++i)
        o << num(x(static_cast<double>(i))) << "," << num(y(s.values[i])) << " ";
      o << "\"/>";
    }
  }
  o << "</svg></figure>\n";
  return o.str();
}

std::string households_csv(const RunResult& r) {
  std::ostringstream o;
  o << "household,role,account,microgrid,pv_kwp,wind_kw,battery_kwh,load_wh,generation_wh,"
       "import_wh,export_wh,bought_from_peers_wh,sold_to_peers_wh,market_paid_micro,"
       "market_received_micro,grid_paid_micro,feed_in_received_micro,agreement_paid_micro,"
       "agreement_received_micro,hosted_wh,tokens_micro,cost_micro,baseline_micro\n";
  for (const auto& h : r.households)
    o << h.index << "," << role_name(h.role) << "," << h.account << ",mg-" << h.microgrid + 1 << ","
      << num(h.pv_kwp) << "," << num(h.wind_kw) << "," << num(h.battery_kwh) << "," << h.load_wh
      << "," << h.generation_wh << "," << h.import_wh << "," << h.export_wh << "," << h.bought_wh
      << "," << h.sold_wh << "," << h.market_paid << "," << h.market_received << "," << h.grid_paid
      << "," << h.feed_in_received << "," << h.agreement_paid << "," << h.agreement_received << ","
      << h.hosted_wh << "," << h.tokens_micro << "," << h.cost << "," << h.baseline << "\n";
  return o.str();
}

std::string periods_csv(const RunResult& r) {
  std::ostringstream o;
  o << "period,time_ms,load_wh,generation_wh,import_wh,export_wh,bids,offers,traded_wh,"
       "avg_price_micro_per_kwh,peer_delivered_wh,fees_micro,block_txs\n";
  for (const auto& p : r.periods)
    o << p.period << "," << p.time_ms << "," << p.load_wh << "," << p.generation_wh << ","
      << p.import_wh << "," << p.export_wh << "," << p.bids << "," << p.offers << "," << p.traded_wh
      << "," << (p.avg_price < 0 ? std::string() : std::to_string(p.avg_price)) << "," << p.peer_wh
      << "," << p.fees_micro << "," << p.block_txs << "\n";
  return o.str();
}

std::string report_html(const RunResult& r, const json& sum) {
  const Scenario& s = r.scenario;
  std::ostringstream o;
  o << "<!doctype html><html><head><meta charset=\"utf-8\"><title>GridPact community "
       "simulation</title><style>body{font:14px system-ui,sans-serif;max-width:900px;margin:2em "
       "auto;color:#222}svg{width:100%;height:auto;background:#fafafa;border:1px solid #ddd}"
       ".t{font-size:14px;font-weight:600}.a{font-size:11px;fill:#555}.g{stroke:#e3e3e3}"
       "table{border-collapse:collapse}td,th{padding:2px 10px;border-bottom:1px solid #eee;"
       "text-align:right}td:first-child,th:first-child{text-align:left}</style></head><body>\n";
  o << "<h1>GridPact community simulation</h1><p>" << s.households << " households, " << s.days
    << " days from " << esc(s.start_date) << ", " << s.period_minutes << "-minute periods, seed "
    << s.seed << ", price rule " << esc(s.price_rule)
    << ". Every figure marked <em>chain</em> was read back from the ledger's state (" << r.blocks
    << " blocks, " << r.transactions << " signed transactions, state root <code>"
    << r.state_root.substr(0, 16) << "…</code>).";
  if (!r.tpm_meters.empty())
    o << " " << r.tpm_meters.size()
      << " prosumers' meters were tpm2 meters on swtpm (TPM-attested, readings signed in the "
         "TPM: a new key each run, so the state root differs from run to run; the energy and "
         "money figures do not); the other meters were virtual.";
  o << "</p>\n<table><tr><th>figure</th><th>value</th></tr>";
  auto row = [&](const std::string& k, const std::string& v) {
    o << "<tr><td>" << esc(k) << "</td><td>" << esc(v) << "</td></tr>";
  };
  row("consumers: savings vs grid only (chain)",
      num(sum["consumers"]["savings_vs_grid_pct"].get<double>()) + " %");
  row("prosumers: gain vs feed-in only (chain)",
      num(sum["prosumers"]["gain_vs_feed_in_pct"].get<double>()) + " %");
  row("self-sufficiency", num(sum["self_sufficiency_pct"].get<double>()) + " %");
  row("renewable share", num(sum["renewable_share_pct"].get<double>()) + " %");
  row("energy traded between peers (chain)", num(sum["energy"]["peer_kwh"].get<double>()) + " kWh");
  row("meters", std::to_string(sum["meters"]["virtual"].get<uint64_t>()) + " virtual, " +
                    std::to_string(sum["meters"]["tpm2"].get<uint64_t>()) + " tpm2 (swtpm)");
  row("grid operator's zone fees (chain)",
      num(static_cast<double>(r.dso_fees_micro) / 1e6) + " units");
  row("lease income of owners (chain)",
      num(sum["owners"]["lease_income_micro"].get<double>() / 1e6) + " units");
  o << "</table>\n";

  std::vector<double> price, volume, load, gen, imp, exp, fees, txs;
  for (const auto& p : r.periods) {
    price.push_back(p.avg_price < 0 ? 0 : static_cast<double>(p.avg_price) / 1000.0);
    volume.push_back(static_cast<double>(p.traded_wh) / 1000.0);
    load.push_back(static_cast<double>(p.load_wh) / 1000.0);
    gen.push_back(static_cast<double>(p.generation_wh) / 1000.0);
    imp.push_back(static_cast<double>(p.import_wh) / 1000.0);
    exp.push_back(static_cast<double>(p.export_wh) / 1000.0);
    fees.push_back(static_cast<double>(p.fees_micro) / 1e6);
    txs.push_back(static_cast<double>(p.block_txs));
  }
  std::vector<double> retail(r.periods.size(), static_cast<double>(s.retail_tariff) / 1000.0),
      feed(r.periods.size(), static_cast<double>(s.feed_in_tariff) / 1000.0);
  o << "<h2>Market</h2>"
    << chart("Average trade price per period (chain) against the tariffs", "milli-units/kWh",
             {{"trade price", "#1f77b4", price, false},
              {"retail", "#d62728", retail, false},
              {"feed-in", "#2ca02c", feed, false}},
             "settlement period")
    << chart("Energy traded per period (chain)", "kWh", {{"traded", "#1f77b4", volume, true}},
             "settlement period");
  o << "<h2>Energy</h2>"
    << chart("Community load and generation (model) and metered grid flows (chain)", "kWh",
             {{"load", "#d62728", load, false},
              {"generation", "#2ca02c", gen, false},
              {"import", "#9467bd", imp, false},
              {"export", "#ff7f0e", exp, false}},
             "settlement period");
  const uint32_t D = s.periods_per_day();
  std::vector<double> by_day_load(D, 0), by_day_grid(D, 0), ss(D, 0);
  for (size_t k = 0; k < r.periods.size(); ++k) {
    by_day_load[k % D] += static_cast<double>(r.periods[k].load_wh);
    by_day_grid[k % D] +=
        static_cast<double>(r.periods[k].import_wh) - static_cast<double>(r.periods[k].peer_wh);
  }
  for (uint32_t d = 0; d < D; ++d)
    ss[d] = by_day_load[d] > 0 ? 100.0 * (1.0 - by_day_grid[d] / by_day_load[d]) : 0;
  o << chart("Self-sufficiency over the day (mean over the run)", "%",
             {{"self-sufficiency", "#2ca02c", ss, true}}, "period of the day (UTC)");
  std::vector<double> bill, base, rev, feed_only;
  for (const auto& h : r.households) {
    if (is_consumer(h.role)) {
      bill.push_back(static_cast<double>(h.cost) / 1e6);
      base.push_back(static_cast<double>(h.baseline) / 1e6);
    }
    if (h.role == Role::kProsumer) {
      rev.push_back(static_cast<double>(h.market_received + h.feed_in_received) / 1e6);
      feed_only.push_back(static_cast<double>(h.export_wh) * static_cast<double>(s.feed_in_tariff) /
                          1e9);
    }
  }
  o << "<h2>Households</h2>"
    << chart(
           "Consumers' and hosts' bills (chain) against grid only", "units",
           {{"with the marketplace", "#1f77b4", bill, true}, {"grid only", "#d62728", base, true}},
           "consumer household")
    << chart("Prosumers' export revenue (chain) against feed-in only", "units",
             {{"marketplace", "#2ca02c", rev, true}, {"feed-in only", "#7f7f7f", feed_only, true}},
             "prosumer household");
  o << "<h2>Grid operator</h2>"
    << chart("Zone fees per period (chain)", "units", {{"fees", "#8c564b", fees, true}},
             "settlement period");
  std::vector<double> agreement_day(s.days, 0);
  for (const auto& a : r.agreements)
    for (size_t d = 0; d < a.paid_per_day.size(); ++d)
      agreement_day[d] += static_cast<double>(a.paid_per_day[d]) / 1e6;
  o << "<h2>Agreements</h2><p>" << r.agreements.size()
    << " systems leased by owners to hosts found by the agreements module's matching.</p>"
    << chart("Paid by hosts to owners per day (chain billing records)", "units",
             {{"paid", "#17becf", agreement_day, true}}, "day")
    << "<table><tr><th>agreement</th><th>kind</th><th>owner</th><th>host</th><th>match "
       "score</th><th>billed kWh</th><th>paid (units)</th><th>status</th></tr>";
  for (const auto& a : r.agreements) {
    int64_t paid = 0;
    for (int64_t p : a.paid_per_day) paid += p;
    o << "<tr><td>" << a.id << "</td><td>" << esc(a.kind) << "</td><td>" << a.owner << "</td><td>"
      << a.host << "</td><td>" << a.match_score << "</td><td>"
      << num(kwh(static_cast<double>(a.billed_wh))) << "</td><td>"
      << num(static_cast<double>(paid) / 1e6) << "</td><td>" << esc(a.status) << "</td></tr>";
  }
  o << "</table><h2>Green tokens</h2><p>Minted by the tokens module for settled renewable "
       "export (virtual meters, labelled so), at a rate that rewards diverse sources.</p>";
  if (r.tokens_by_source.empty()) {
    o << "<p>No tokens were minted.</p>";
  } else {
    static constexpr const char* kColors[] = {"#ff7f0e", "#1f77b4", "#2ca02c", "#8c564b"};
    std::vector<Series> by_source;
    o << "<table><tr><th>source</th><th>meters</th><th>export kWh</th><th>tokens</th><th>tokens "
         "per kWh</th></tr>";
    for (const auto& [name, t] : r.tokens_by_source) {
      std::vector<double> v;
      for (uint64_t x : t.per_period) v.push_back(static_cast<double>(x) / 1e6);
      by_source.push_back({name, kColors[by_source.size() % 4], v, true});
      o << "<tr><td>" << esc(name) << "</td><td>" << t.meters << "</td><td>"
        << num(kwh(static_cast<double>(t.wh))) << "</td><td>"
        << num(static_cast<double>(t.tokens_micro) / 1e6) << "</td><td>"
        << num(t.wh ? static_cast<double>(t.tokens_micro) / 1e3 / static_cast<double>(t.wh) : 0, 3)
        << "</td></tr>";
    }
    o << "</table>"
      << chart("Tokens minted per period by source (chain mint records)", "tokens", by_source,
               "settlement period");
  }
  o << "<h2>Ledger</h2>"
    << chart("Transactions per block", "transactions", {{"transactions", "#1f77b4", txs, true}},
             "settlement period")
    << chart("Throughput per block (execute + commit; this machine, this run)", "tx/s",
             {{"tx/s", "#ff7f0e", r.block_tx_per_s, false}}, "block");
  o << "</body></html>\n";
  return o.str();
}

}  // namespace

json summary_json(const RunResult& r) {
  const Scenario& s = r.scenario;
  double c_cost = 0, c_base = 0, p_rev = 0, p_feed = 0, load = 0, imp = 0, peer = 0, exp = 0,
         gen = 0, lease = 0, p_cost = 0, p_base = 0;
  uint64_t n_cons = 0, n_pro = 0, n_own = 0, n_host = 0;
  for (const auto& h : r.households) {
    load += static_cast<double>(h.load_wh);
    gen += static_cast<double>(h.generation_wh);
    imp += static_cast<double>(h.import_wh);
    exp += static_cast<double>(h.export_wh);
    peer += static_cast<double>(h.bought_wh);
    if (is_consumer(h.role)) {
      ++n_cons;
      n_host += h.role == Role::kHost;
      c_cost += static_cast<double>(h.cost);
      c_base += static_cast<double>(h.baseline);
    } else if (h.role == Role::kProsumer) {
      ++n_pro;
      p_rev += static_cast<double>(h.market_received + h.feed_in_received);
      p_feed += static_cast<double>(h.export_wh) * static_cast<double>(s.feed_in_tariff) / 1000.0;
      p_cost += static_cast<double>(h.cost);
      p_base += static_cast<double>(h.baseline);
    } else {
      ++n_own;
      lease += static_cast<double>(h.agreement_received);
    }
  }
  uint64_t agreement_paid = 0;
  for (const auto& a : r.agreements)
    for (int64_t p : a.paid_per_day) agreement_paid += static_cast<uint64_t>(p);
  const double self = pct(load - (imp - peer), load);
  json tpm2 = json::array();
  for (const auto& t : r.tpm_meters)
    tpm2.push_back({{"household", t.household}, {"meter", t.meter}, {"readings", t.readings}});
  json tokens = json::object();
  for (const auto& [name, t] : r.tokens_by_source)
    tokens[name] = {{"meters", t.meters}, {"export_wh", t.wh}, {"tokens_micro", t.tokens_micro}};
  return {{"scenario",
           {{"households", s.households},
            {"days", s.days},
            {"start_date", s.start_date},
            {"period_minutes", s.period_minutes},
            {"seed", s.seed},
            {"price_rule", s.price_rule}}},
          {"consumers",
           {{"count", n_cons},
            {"hosts", n_host},
            {"cost_micro", static_cast<int64_t>(c_cost)},
            {"baseline_micro", static_cast<int64_t>(c_base)},
            {"savings_vs_grid_pct", pct(c_base - c_cost, c_base)}}},
          {"prosumers",
           {{"count", n_pro},
            {"export_revenue_micro", static_cast<int64_t>(p_rev)},
            {"feed_in_only_micro", static_cast<int64_t>(p_feed)},
            {"gain_vs_feed_in_pct", pct(p_rev - p_feed, p_feed)},
            {"net_cost_micro", static_cast<int64_t>(p_cost)},
            {"baseline_micro", static_cast<int64_t>(p_base)}}},
          {"owners", {{"count", n_own}, {"lease_income_micro", static_cast<int64_t>(lease)}}},
          {"agreements", {{"count", r.agreements.size()}, {"paid_micro", agreement_paid}}},
          {"energy",
           {{"load_kwh", kwh(load)},
            {"generation_kwh", kwh(gen)},
            {"import_kwh", kwh(imp)},
            {"export_kwh", kwh(exp)},
            {"peer_kwh", kwh(peer)}}},
          {"self_sufficiency_pct", self},
          {"renewable_share_pct", self},
          {"tokens_by_source", tokens},
          {"dso_fees_micro", r.dso_fees_micro},
          {"meters",
           {{"virtual", r.households.size() + n_own - r.tpm_meters.size()},
            {"tpm2", r.tpm_meters.size()},
            {"tpm2_meters", tpm2}}},
          {"ledger",
           {{"blocks", r.blocks},
            {"transactions", r.transactions},
            {"failed_transactions", r.failed_transactions},
            {"state_root", r.state_root}}}};
}

Status write_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".partial";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) return error(Code::kStorage, "cannot write " + tmp);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return error(Code::kStorage, "cannot rename " + tmp + ": " + ec.message());
  return Status::ok();
}

Status write_report(const RunResult& r, const std::string& dir) {
  json sum = summary_json(r);
  for (const auto& [name, text] :
       {std::pair<std::string, std::string>{"periods.csv", periods_csv(r)},
        {"households.csv", households_csv(r)},
        {"report.html", report_html(r, sum)},
        {"summary.json", sum.dump(2) + "\n"}})
    if (Status s = write_atomically(dir + "/" + name, text); !s) return s;
  return Status::ok();
}

}  // namespace gridpact::sim
