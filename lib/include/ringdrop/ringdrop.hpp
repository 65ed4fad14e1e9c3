// ringdrop/ringdrop.hpp — everything, in one include: the rings, the
// file-drop channel, typed messages and request/response. Each header
// below is the manual for its part; include one alone to compile less.
#pragma once

// core
#include "ringdrop/error.hpp"
#include "ringdrop/result.hpp"
#include "ringdrop/version.hpp"
#include "ringdrop/wait.hpp"
// segment
#include "ringdrop/segment.hpp"
// ring
#include "ringdrop/broadcast_ring.hpp"
#include "ringdrop/mpmc_ring.hpp"
#include "ringdrop/ring_contract.hpp"
#include "ringdrop/ring_dead_letters.hpp"
#include "ringdrop/ring_options.hpp"
#include "ringdrop/spsc_ring.hpp"
// drop
#include "ringdrop/drop_channel.hpp"
#include "ringdrop/drop_consumer.hpp"
#include "ringdrop/drop_reply.hpp"
// message
#include "ringdrop/message.hpp"
#include "ringdrop/owned_message.hpp"
#include "ringdrop/typed_ring.hpp"
// rpc
#include "ringdrop/circuit_breaker.hpp"
#include "ringdrop/rpc.hpp"
#include "ringdrop/reply_queue.hpp"
#include "ringdrop/rpc_client.hpp"
#include "ringdrop/rpc_server.hpp"
#include "ringdrop/service_registry.hpp"
