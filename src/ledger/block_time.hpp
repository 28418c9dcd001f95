// How far a block's time may run ahead: of the previous block's (a chain rule, the same on
// every node) and of the clock of the node that applies it (a local check).
//
// - Chain rule: a block's time is at most the previous block's plus kMaxBlockTimeStepMs,
//   from block 2 on (genesis' time is the document's, often 0). A node's executor clamps
//   every block it builds to it (Executor::bound_time_steps), so a leader never seals one
//   beyond it (after a longer outage block time catches up in steps of an hour, one block
//   each); a sealed block beyond it does not re-execute to the same header, and the node
//   halts saying so, as `verify-chain` refuses it. An hour, not the leader's one-second bound on
//   its own clock (BlockClock): the gap after a stopped chain is chain-visible, its
//   duration is not, and blocks one second apart could never catch up with an outage.
// - Local check: a follower does not apply a block whose time is more than
//   kMaxBlockTimeAheadOfClockMs ahead of its own wall clock (the leader's BlockClock bound):
//   it waits, and applies it once its clock has reached the block's time less that, saying
//   so in its log and in GET /v1/cluster (`waiting_for_clock`). A leader whose clock stepped
//   ahead thus moves no other node's state into its future; a follower whose clock is
//   behind lags by its error, never halts.
#pragma once

#include <cstdint>

namespace gridpact {

inline constexpr uint64_t kMaxBlockTimeStepMs = 3'600'000;
inline constexpr uint64_t kMaxBlockTimeAheadOfClockMs = 1'000;

}  // namespace gridpact
