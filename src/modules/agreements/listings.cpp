// Listings: generation assets and host premises registered on chain, and asset transfers.
#include "ledger/params.hpp"
#include "modules/agreements/change_log.hpp"
#include "modules/agreements/events.hpp"
#include "modules/agreements/handlers.hpp"

namespace gridpact::agreements {

Status register_asset(TxContext& ctx, Asset a) {
  check_lat_lon(a.lat_e6, a.lon_e6);
  if (a.capacity_w == 0 || a.capacity_w > 1'000'000'000'000ull)
    return error(kBadListing, "capacity must be 1 W to 1 TW");
  if (Status s = check_meter(ctx.state, a.meter, ctx.tx.sender); !s) return s;
  a.id = next_id(ctx.state, "agr/next/asset");
  a.owner = ctx.tx.sender;
  a.agreement = 0;
  Log log(ctx.state, ctx.block.height);
  put_asset(ctx.state, a, log);
  ctx.events.push_back(make_event(AssetEvent{a.id, a.owner}));
  return ok();
}

Status register_premises(TxContext& ctx, Premises p) {
  check_lat_lon(p.lat_e6, p.lon_e6);
  // Bounded so that area * watts-per-m2 cannot overflow in matching.
  if (p.area_m2 == 0 || p.area_m2 > 10'000'000'000ull)
    return error(kBadListing, "area must be 1 m2 to 10000 km2");
  if (!p.meter.is_zero())
    if (Status s = check_meter(ctx.state, p.meter, ctx.tx.sender); !s) return s;
  // Premises are free and need no meter: a bound per host keeps one key from filling state.
  const std::string count_key = "agr/nprem/" + std::string(ctx.tx.sender.view());
  const uint64_t registered = get_u64(ctx.state, count_key);
  const uint64_t bound = read_u64_param(ctx.state, "agreements.max_premises_per_account");
  if (registered >= bound)
    return error(kTooManyPremises, "an account may register at most " + std::to_string(bound) +
                                       " premises (agreements.max_premises_per_account)");
  ctx.state.put(count_key, encode_u64(registered + 1));
  p.id = next_id(ctx.state, "agr/next/prem");
  p.host = ctx.tx.sender;
  ctx.state.put(premises_key(p.id), encode_premises_state(p));
  Log log(ctx.state, ctx.block.height);
  log.add(LogKind::kPremises, p.id);
  ctx.events.push_back(make_event(PremisesEvent{p.id, p.host}));
  return ok();
}

Status transfer_asset(TxContext& ctx, const TransferAssetPayload& p) {
  auto a = find_asset(ctx.state, p.asset);
  if (!a) return error(kAssetNotFound, "no asset " + std::to_string(p.asset));
  if (a->owner != ctx.tx.sender)
    return error(kNotAssetOwner, "you do not own asset " + std::to_string(p.asset));
  if (a->agreement)
    return error(kAssetInUse, "asset serves agreement " + std::to_string(a->agreement));
  if (p.to == ctx.tx.sender) return error(Code::kInvalidArgument, "transfer to self");
  a->owner = p.to;
  Log log(ctx.state, ctx.block.height);
  put_asset(ctx.state, *a, log);
  ctx.events.push_back(make_event(AssetTransferEvent{p.asset, ctx.tx.sender, p.to}));
  return ok();
}

}  // namespace gridpact::agreements
