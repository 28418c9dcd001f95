// gridpact simulate: a community of households trading through the real ledger (src/sim).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>
#include <vector>

#include "app.hpp"
#include "attest/codes.hpp"
#include "attest/swtpm_process.hpp"
#include "sim/report.hpp"
#include "sim/run.hpp"

namespace gridpact::cli {
namespace {

struct SimulateArgs {
  std::string scenario;
  std::optional<uint32_t> households, days;
  std::optional<uint64_t> seed;
  std::string out = "sim-out";
  unsigned threads = 0;
  bool print_scenario = false;
  std::vector<std::string> tpm;  // --tpm [N]: no value, or an empty one, without N
  bool tpm_given = false;
};

constexpr uint32_t kDefaultTpmMeters = 3;
constexpr uint32_t kMaxTpmMeters = 16;  // one swtpm process each

// Checks that `dir` can hold the run: creatable, writable, and with room for about
// `bytes` (the chain and the report), before any work starts.
Status check_output(const std::string& dir, uint64_t bytes) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return error(Code::kInvalidArgument, "--out " + dir + ": cannot create: " + ec.message());
  const std::string probe = dir + "/.write-test";
  {
    std::ofstream out(probe);
    out << "x";
    if (!out) return error(Code::kInvalidArgument, "--out " + dir + " is not writable");
  }
  std::filesystem::remove(probe, ec);
  auto space = std::filesystem::space(dir, ec);
  if (!ec && space.available < bytes)
    return error(Code::kInvalidArgument,
                 "--out " + dir + ": the run needs about " + std::to_string(bytes >> 20) +
                     " MiB, " + std::to_string(space.available >> 20) + " MiB are free");
  return Status::ok();
}

std::string money(int64_t micro) {
  char b[64];
  std::snprintf(b, sizeof b, "%.2f", static_cast<double>(micro) / 1e6);
  return b;
}

int run(const SimulateArgs& a) {
  std::string text = sim::default_scenario_toml(), source = "built-in default scenario";
  if (a.print_scenario) {
    std::cout << text;
    return 0;
  }
  if (!a.scenario.empty()) {
    std::ifstream in(a.scenario);
    if (!in) return fail(error(Code::kInvalidArgument, "cannot read scenario " + a.scenario));
    std::stringstream ss;
    ss << in.rdbuf();
    text = ss.str();
    source = a.scenario;
  }
  auto parsed = sim::parse_scenario(text, source);
  if (!parsed) return fail(parsed.status());
  sim::Scenario s = *parsed;
  if (a.households) s.households = *a.households;
  if (a.days) s.days = *a.days;
  if (a.seed) s.seed = *a.seed;
  // The overrides pass the same checks as the file.
  if (s.households < 2 || s.households > sim::kMaxHouseholds)
    return fail(error(Code::kInvalidArgument,
                      "--households must be in 2.." + std::to_string(sim::kMaxHouseholds)));
  if (s.days < 1 || s.days > sim::kMaxDays)
    return fail(
        error(Code::kInvalidArgument, "--days must be in 1.." + std::to_string(sim::kMaxDays)));
  if (uint64_t{s.households} * s.total_periods() > sim::kMaxHouseholdPeriods)
    return fail(error(Code::kInvalidArgument, "households x periods exceeds the bound of " +
                                                  std::to_string(sim::kMaxHouseholdPeriods)));
  // About 1.5 KiB of chain per household and period (readings, orders, state, receipts).
  const uint64_t need = uint64_t{s.households} * s.total_periods() * 1536 + (64u << 20);
  if (Status st = check_output(a.out, need); !st) return fail(st);

  uint32_t tpm_meters = 0;
  if (a.tpm_given) {
    const std::string n = a.tpm.empty() ? "" : a.tpm.front();
    tpm_meters = kDefaultTpmMeters;
    if (!n.empty() &&
        (n.size() > 2 || n.find_first_not_of("0123456789") != std::string::npos ||
         (tpm_meters = static_cast<uint32_t>(std::stoul(n))) < 1 || tpm_meters > kMaxTpmMeters))
      return fail(error(Code::kInvalidArgument,
                        "--tpm must be in 1.." + std::to_string(kMaxTpmMeters) + ", not " + n));
    if (!attest::SwtpmProcess::available())  // before any work (run_simulation checks it too)
      return fail(error(attest::kSwtpmNotInstalled,
                        "--tpm needs swtpm and swtpm_setup on PATH (Debian packages swtpm, "
                        "swtpm-tools; scripts/install-deps.sh installs them)"));
  }

  unsigned threads = a.threads ? a.threads : std::max(1u, std::thread::hardware_concurrency());
  const std::string chain = a.out + "/chain", partial = a.out + "/.chain.partial";
  std::filesystem::remove_all(partial);
  const bool tty = isatty(STDERR_FILENO);
  std::cerr << "simulating " << s.households << " households for " << s.days << " days ("
            << s.total_periods() << " periods, seed " << s.seed << ", " << threads
            << " threads) through the ledger in " << chain << "\n";
  if (tpm_meters > 0)
    std::cerr << "starting " << tpm_meters << " swtpm instances on loopback for " << tpm_meters
              << " TPM meters\n";
  auto last = std::chrono::steady_clock::now();
  sim::RunOptions o;
  o.chain_dir = partial;
  o.threads = threads;
  o.tpm_meters = tpm_meters;
  o.progress = [&](uint64_t done, uint64_t total) {
    auto now = std::chrono::steady_clock::now();
    if (done != total && now - last < std::chrono::milliseconds(tty ? 200 : 5000)) return;
    last = now;
    int pct = static_cast<int>(100 * done / std::max<uint64_t>(total, 1));
    if (tty) {
      std::string bar(static_cast<size_t>(pct / 2.5), '#');
      bar.resize(40, '.');
      std::fprintf(stderr, "\r[%s] %3d%%  block %llu/%llu", bar.c_str(), pct,
                   static_cast<unsigned long long>(done), static_cast<unsigned long long>(total));
      if (done == total) std::fprintf(stderr, "\n");
    } else {
      std::fprintf(stderr, "progress: block %llu of %llu (%d%%)\n",
                   static_cast<unsigned long long>(done), static_cast<unsigned long long>(total),
                   pct);
    }
  };
  auto result = sim::run_simulation(s, o);
  if (!result) {
    std::filesystem::remove_all(partial);
    return fail(result.status());
  }
  // The new chain replaces an earlier run's only once it is complete; the earlier report
  // goes first, so that no report ever sits beside a chain it does not describe.
  std::error_code ec;
  for (const char* f : {"summary.json", "report.html", "periods.csv", "households.csv"})
    std::filesystem::remove(a.out + "/" + f, ec);
  std::filesystem::remove_all(chain, ec);
  std::filesystem::rename(partial, chain, ec);
  if (ec)
    return fail(error(Code::kStorage, "cannot move the chain into " + chain + ": " + ec.message()));
  if (Status st = sim::write_report(*result, a.out); !st) return fail(st);

  const sim::RunResult& r = *result;
  json sum = sim::summary_json(r);
  auto pct = [&](const json& v) {
    char b[32];
    std::snprintf(b, sizeof b, "%.2f %%", v.get<double>());
    return std::string(b);
  };
  std::cout << "\nGridPact community simulation: " << s.households << " households, " << s.days
            << " days from " << s.start_date << "\n"
            << "  consumers: savings vs grid only      "
            << pct(sum["consumers"]["savings_vs_grid_pct"]) << "  (" << sum["consumers"]["count"]
            << " households, " << sum["consumers"]["hosts"] << " hosting a leased system)\n"
            << "  prosumers: gain vs feed-in only      "
            << pct(sum["prosumers"]["gain_vs_feed_in_pct"]) << "  (" << sum["prosumers"]["count"]
            << " households)\n"
            << "  owners: lease income                 "
            << money(sum["owners"]["lease_income_micro"].get<int64_t>()) << " units ("
            << sum["agreements"]["count"] << " agreements)\n"
            << "  self-sufficiency                     " << pct(sum["self_sufficiency_pct"]) << "\n"
            << "  renewable share                      " << pct(sum["renewable_share_pct"]) << "\n"
            << "  traded between peers                 " << sum["energy"]["peer_kwh"].get<double>()
            << " kWh\n"
            << "  grid operator's zone fees            "
            << money(static_cast<int64_t>(r.dso_fees_micro)) << " units\n"
            << "  meters                               " << sum["meters"]["virtual"] << " virtual, "
            << sum["meters"]["tpm2"] << " tpm2 (swtpm)"
            << (r.tpm_meters.empty() ? "" : ": state root differs on every run") << "\n"
            << "  ledger                               " << r.blocks << " blocks, "
            << r.transactions << " transactions, state root " << r.state_root.substr(0, 16)
            << "...\n";
  char timing[256];
  std::snprintf(timing, sizeof timing,
                "  time                                 %.1f s (signing %.1f, admission %.1f, "
                "executing %.1f, committing %.1f)\n",
                r.timing.total_s, r.timing.sign_s, r.timing.verify_s, r.timing.execute_s,
                r.timing.commit_s);
  std::cout << timing << "\nReport: " << std::filesystem::absolute(a.out + "/report.html").string()
            << "\nSummary: " << a.out
            << "/summary.json; replay the chain with: gridpact verify-chain --data " << chain
            << "\n";
  return 0;
}

}  // namespace

void add_simulate_command(CLI::App& app) {
  auto a = std::make_shared<SimulateArgs>();
  auto* cmd = app.add_subcommand(
      "simulate", "Simulate a community trading energy through the real ledger; write a report");
  cmd->add_option("--scenario", a->scenario, "Scenario TOML (default: the built-in one)");
  cmd->add_option("--households", a->households, "Override the number of households");
  cmd->add_option("--days", a->days, "Override the number of days");
  cmd->add_option("--seed", a->seed, "Override the random seed");
  cmd->add_option("--out", a->out, "Output folder (default: sim-out)");
  cmd->add_option("--threads", a->threads,
                  "Threads (default: all cores); results do not depend on it");
  cmd->add_option("--tpm", a->tpm,
                  "Make N prosumers' meters (default 3, at most 16) tpm2 meters, each on its own "
                  "swtpm on loopback (stopped at the end): registered with TPM evidence, "
                  "readings signed in the TPM. Needs swtpm (SWTPM_NOT_INSTALLED otherwise). "
                  "Every energy and money figure (bills, trades, fees, tokens_by_source) equals "
                  "the run without --tpm with the same seed; the state root does not, nor "
                  "between two --tpm runs (a TPM key is new each run and the meter ids and "
                  "signatures are in state)")
      ->expected(0, 1)
      ->option_text("[N]");
  cmd->add_flag("--print-scenario", a->print_scenario,
                "Print the built-in default scenario and exit");
  cmd->callback([a, cmd] {
    a->tpm_given = cmd->count("--tpm") > 0;
    finish(run(*a));
  });
}

}  // namespace gridpact::cli
