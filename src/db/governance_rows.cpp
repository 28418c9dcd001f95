#include "db/governance_rows.hpp"

#include <algorithm>

namespace gridpact::db {
namespace {

Value num(uint64_t x) {  // BIGINT is signed: clamped as the other tables do
  return std::to_string(std::min<uint64_t>(x, INT64_MAX));
}

// "set market.retail_tariff=450000; meters/add_measurement": what a proposal changes, as
// text for search (the full payloads are served by GET /v1/governance/proposals/{id}).
std::string summary(const governance::ProposalRecord& p) {
  std::string out;
  for (const auto& a : p.actions) {
    if (!out.empty()) out += "; ";
    out += a.kind == governance::ActionKind::kSetParam ? "set " + a.name + "=" + a.value : a.name;
  }
  return out;
}

}  // namespace

Row proposal_row(uint64_t id, const governance::ProposalRecord& p) {
  return {num(id),
          p.proposer.hex(),
          std::string(governance::status_name(p.status)),
          summary(p),
          num(p.created_height),
          num(p.deadline_height),
          p.activate_at ? num(*p.activate_at) : Value(),
          num(p.closed_height),
          num(p.executed_height),
          num(p.error_code),
          p.memo};
}

std::vector<Row> vote_rows(const StateReader& s, uint64_t id) {
  std::vector<Row> out;
  for (const auto& m : governance::members(s))
    if (auto c = governance::vote_of(s, id, m))
      out.push_back({num(id), m.hex(), std::string(governance::choice_name(*c))});
  return out;
}

}  // namespace gridpact::db
