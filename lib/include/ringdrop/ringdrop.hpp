// ringdrop/ringdrop.hpp — everything, in one include.
#pragma once

#include "ringdrop/broadcast_ring.hpp"
#include "ringdrop/drop_channel.hpp"
#include "ringdrop/drop_consumer.hpp"
#include "ringdrop/error.hpp"
#include "ringdrop/mpmc_ring.hpp"
#include "ringdrop/result.hpp"
#include "ringdrop/segment.hpp"
#include "ringdrop/spsc_ring.hpp"
#include "ringdrop/version.hpp"
#include "ringdrop/wait.hpp"
