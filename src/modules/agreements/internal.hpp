// Shared inside the agreements library only.
#pragma once

#include "codec/codec.hpp"
#include "modules/agreements/agreements.hpp"

namespace gridpact::agreements {

Terms read_terms(codec::Reader& r);

}  // namespace gridpact::agreements
