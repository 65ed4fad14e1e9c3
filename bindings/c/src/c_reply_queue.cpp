// The shared reply queue part of the C ABI: a handle over ReplyQueue whose
// takes hand out copies (the ring slot stays held until ack or reject).
#include <cstring>
#include <string>

#include "c_message.hpp"
#include "ringdrop/reply_queue.hpp"

using namespace ringdrop;
using c::invalid;

struct ringdrop_reply_queue {
  ReplyQueue queue;
};

namespace {

Result<ReplyQueueOptions> queue_options(const ringdrop_reply_queue_options* c) {
  ringdrop_reply_queue_options o;
  if (auto ec = c::copy_options(c, o, ringdrop_reply_queue_options_init, "ringdrop_reply_queue_options_init")) {
    return ec;
  }
  if (!c::wait_mode_ok(o.wait_mode)) return invalid("options->wait_mode must be one of RINGDROP_WAIT_*");
  ReplyQueueOptions q;
  if (o.cell_size != 0) q.cell_size = o.cell_size;
  if (o.cells != 0) q.cells = o.cells;
  q.max_deliveries = o.max_deliveries;
  if (o.dead_letters) q.dead_letters = o.dead_letters;
  q.wait = c::wait_of(o.wait_mode, o.spin_ns, -1);
  return q;
}

}  // namespace

extern "C" {

RINGDROP_API void ringdrop_reply_queue_options_init(ringdrop_reply_queue_options* o) {
  if (!o) return;
  std::memset(o, 0, sizeof *o);
  const ReplyQueueOptions d;
  o->size = sizeof *o;
  o->cell_size = d.cell_size;
  o->cells = d.cells;
  o->max_deliveries = d.max_deliveries;
  o->wait_mode = RINGDROP_WAIT_SPIN_BLOCK;
  o->spin_ns = -1;
}

RINGDROP_API int ringdrop_reply_queue_open(const char* name, const ringdrop_reply_queue_options* options,
                                           ringdrop_reply_queue** queue) {
  return c::guard([&]() -> std::error_code {
    if (!queue) return invalid("reply_queue_open: queue (the out parameter) is NULL");
    *queue = nullptr;
    if (!name) return invalid("reply_queue_open: name is NULL");
    auto o = queue_options(options);
    if (!o) return o.error();
    auto q = ReplyQueue::open(name, *o);
    if (!q) return q.error();
    *queue = new ringdrop_reply_queue{std::move(*q)};
    return {};
  });
}

RINGDROP_API void ringdrop_reply_queue_close(ringdrop_reply_queue* queue) { delete queue; }

RINGDROP_API int ringdrop_reply_queue_take(ringdrop_reply_queue* queue, long long timeout_ns,
                                           ringdrop_message** reply, unsigned long long* request_id,
                                           unsigned int* delivery_count) {
  return c::guard([&]() -> std::error_code {
    if (!reply) return invalid("reply_queue_take: reply (the out parameter) is NULL");
    *reply = nullptr;
    const auto timeout = c::timeout_of(timeout_ns);
    if (!queue || !timeout) return invalid("reply_queue_take: queue is NULL, or the timeout negative");
    auto r = queue->queue.take(deadline_after(*timeout));
    if (!r) return r.error();
    // A copy the caller owns; should copying fail the reply stays held
    // (ack or reject decide), as the C++ take leaves it.
    auto copy = OwnedMessage::copy_of(r->message().bytes());
    if (!copy) return copy.error();
    auto h = c::owning(std::move(*copy));
    if (auto ec = c::index_fields(*h)) return ec;
    if (request_id) *request_id = r->request_id();
    if (delivery_count) *delivery_count = r->delivery_count();
    *reply = h.release();
    return {};
  });
}

RINGDROP_API int ringdrop_reply_queue_ack(ringdrop_reply_queue* queue) {
  return c::guard([&]() -> std::error_code {
    if (!queue) return invalid("reply_queue_ack: queue is NULL");
    return queue->queue.ack();
  });
}

RINGDROP_API int ringdrop_reply_queue_reject(ringdrop_reply_queue* queue, const char* reason) {
  return c::guard([&]() -> std::error_code {
    if (!queue || !reason) return invalid("reply_queue_reject: NULL argument");
    return queue->queue.reject(reason);
  });
}

RINGDROP_API int ringdrop_reply_queue_get_stats(const ringdrop_reply_queue* queue,
                                                ringdrop_reply_queue_stats* stats) {
  return c::guard([&]() -> std::error_code {
    if (!queue || !stats) return invalid("reply_queue_get_stats: NULL argument");
    const ReplyQueueStats s = queue->queue.stats();
    return c::give_stats(ringdrop_reply_queue_stats{0, s.taken, s.acked, s.rejected, s.redelivered, s.expired,
                                                    s.malformed},
                         stats);
  });
}

}  // extern "C"
