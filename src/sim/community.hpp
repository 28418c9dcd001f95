// The simulated community: who each household is, what it owns, and its energy flows per
// settlement period (model inputs, integer Wh), computed before the run from the scenario
// and its seed alone. Each household's numbers come from its own random streams, so they
// are the same whichever thread computes them.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "sim/physics.hpp"
#include "sim/scenario.hpp"

namespace gridpact::sim {

enum class Role : uint8_t { kConsumer = 0, kProsumer = 1, kOwner = 2, kHost = 3 };
std::string_view role_name(Role r);

struct Household {
  uint32_t index = 0;
  Role role = Role::kConsumer;
  uint32_t microgrid = 0;
  double annual_kwh = 0;
  double pv_kwp = 0;   // own PV (prosumers)
  double wind_kw = 0;  // own turbine (some prosumers)
  BatteryParams battery;
  double leased_pv_kwp = 0;  // owners: the system they lease out (sited at a host)
  bool green_only = false, local_only = false;
  double lat = 0, lon = 0;
};

// Per household and period, Wh. `load` and `generation` happen behind the meter; `import`
// and `export_wh` are what its connection meter records. An owner's leased system is
// metered on its own: `asset_wh` (its generation, sited at the host that gets it).
struct Flows {
  std::vector<int64_t> load, generation, import, export_wh, asset_wh;
};

struct Community {
  std::vector<Household> households;
  std::vector<Flows> flows;  // by household
  // Planned leases: owner household -> host household (a consumer that lists premises).
  // Which asset a host actually gets is decided on chain by the agreements matching.
  std::vector<uint32_t> owners, hosts;
  std::vector<double> ghi;  // community irradiance per period (W/m2), for the report
};

// Builds the households and their flows. For hosts the flows depend on which system they
// get, so `host_asset[h]` names the owner whose system host h runs (or -1); call
// apply_leases() once the chain has matched them.
Community build_community(const Scenario& s, unsigned threads);
void apply_leases(const Scenario& s, Community& c, const std::vector<int64_t>& owner_of_host,
                  unsigned threads);

// Runs fn(i) for i in [0, n) on `threads` threads (results must not depend on order).
void parallel_for(size_t n, unsigned threads, const std::function<void(size_t)>& fn);

}  // namespace gridpact::sim
