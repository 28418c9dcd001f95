// The report of a run, written into OUT/:
//   summary.json    the headline figures (below); the same bytes for the same scenario and
//                   seed, whatever the number of threads (no timings in it)
//   periods.csv     one row per settlement period
//   households.csv  one row per household
//   report.html     self-contained (inline SVG, no scripts, no network): prices and
//                   volumes, load and generation, self-sufficiency over the day, bills
//                   against the grid-only baseline, prosumer revenue against feed-in only,
//                   grid fees, agreement cash flows, ledger throughput
// Each file is written under a temporary name and renamed into place, so a file present
// under its final name is complete.
//
// Definitions (money in micro-units):
//   consumers.savings_vs_grid_pct  consumers and hosts: (baseline - cost) / baseline, where
//       cost is what left their account on chain and baseline the same meter flows (plus
//       the leased system's energy a host used) settled at the retail and feed-in tariffs
//   prosumers.gain_vs_feed_in_pct  (export revenue on chain - export x feed-in) /
//       (export x feed-in); export revenue is market proceeds plus feed-in payments
//   self_sufficiency_pct           share of the community's load not drawn from the grid:
//       1 - (metered import - energy settled between peers) / load
//   renewable_share_pct            share of the load met by the community's PV and wind (the
//       grid's mix is not counted as renewable); equal to self-sufficiency while every
//       local source is renewable
//   dso_fees_micro                 the operator's zone fees on traded energy
//   meters                         virtual and tpm2 meter counts; tpm2_meters: household,
//       meter id and readings on chain of each TPM meter (--tpm; its ids are new each run)
#pragma once

#include <string>

#include "ledger/module.hpp"
#include "sim/run.hpp"

namespace gridpact::sim {

json summary_json(const RunResult& r);
// Writes the four files into `dir` (which exists).
Status write_report(const RunResult& r, const std::string& dir);
// Writes `text` to `path` through a temporary file and a rename.
Status write_atomically(const std::string& path, const std::string& text);

}  // namespace gridpact::sim
