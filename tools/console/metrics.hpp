// metrics.hpp — the inventory in the Prometheus text format (0.0.4), for
// /metrics: counters (_total) and gauges per ring, channel and service,
// named ringdrop_<object>_<what>, labelled with the object's name.
#pragma once

#include <string>

#include "inventory.hpp"

namespace ringdrop::console {

std::string prometheus_text(const ops::Inventory& inv);

}  // namespace ringdrop::console
