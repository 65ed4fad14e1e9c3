// The rings part of the C ABI: one opaque handle over the six C++ ring
// endpoints (c_ring.hpp), dispatched with std::visit.
#include <chrono>
#include <cstddef>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <variant>

#include "c_boundary.hpp"
#include "c_ring.hpp"
#include "ringdrop/ring_dead_letters.hpp"
#include "ringdrop/ringdrop.hpp"

using namespace ringdrop;
using c::invalid;
using c::is_consumer;
using c::RingEnd;
using c::timeout_of;

namespace {

/// The C options as the C++ options of every kind (each takes what it knows).
BroadcastOptions cpp_options(const ringdrop_ring_options& o) {
  BroadcastOptions b;
  b.capacity = o.capacity;
  b.cell_size = o.cell_size;
  if (o.mode != 0) b.mode = static_cast<mode_t>(o.mode);
  b.wait = c::wait_of(o.wait_mode, o.spin_ns, o.liveness_ns);
  b.policy = o.overwrite ? SlowSubscriber::overwrite : SlowSubscriber::block;
  b.max_deliveries = o.max_deliveries != 0 ? o.max_deliveries : 5;
  if (o.dead_letters) b.dead_letters = o.dead_letters;
  return b;
}

MpmcOptions mpmc_options(const ringdrop_ring_options& o) {
  MpmcOptions m;
  static_cast<RingOptions&>(m) = cpp_options(o);
  m.cell_size = o.cell_size;
  m.on_consumer_death = o.drop_on_consumer_death ? OnConsumerDeath::drop : OnConsumerDeath::redeliver;
  return m;
}

using Handle = std::unique_ptr<ringdrop_ring>;

template <class End>
Result<Handle> emplace(Result<End> opened) {
  if (!opened) return opened.error();
  return Handle(new ringdrop_ring{RingEnd(std::in_place_type<End>, std::move(*opened)), std::nullopt});
}

Result<Handle> open_end(const Location& where, int kind, int role, OpenMode how,
                        const ringdrop_ring_options& o) {
  const bool producer = role == RINGDROP_ROLE_PRODUCER;
  switch (kind) {
    case RINGDROP_RING_SPSC: {
      const RingOptions ro = cpp_options(o);
      return producer ? emplace(SpscProducer::open(where, how, ro))
                      : emplace(SpscConsumer::open(where, how, ro));
    }
    case RINGDROP_RING_MPMC:
      return producer ? emplace(MpmcProducer::open(where, how, mpmc_options(o)))
                      : emplace(MpmcConsumer::open(where, how, mpmc_options(o)));
    case RINGDROP_RING_BROADCAST:
      return producer ? emplace(BroadcastPublisher::open(where, how, cpp_options(o)))
                      : emplace(BroadcastSubscriber::open(where, how, cpp_options(o),
                                                             o.start_at_oldest ? StartAt::oldest
                                                                               : StartAt::newest));
    default:
      return Result<Handle>(invalid("kind must be RINGDROP_RING_SPSC, _MPMC or _BROADCAST"));
  }
}

/// The next message in place: the pending one first.
template <class End>
Result<std::span<const std::byte>> next_message(ringdrop_ring& r, End& end,
                                                std::chrono::nanoseconds timeout) {
  if (r.pending) return *std::exchange(r.pending, std::nullopt);
  return end.read(timeout);
}

std::error_code release_end(ringdrop_ring& r) {
  r.pending.reset();
  return std::visit(
      [](auto& end) -> std::error_code {
        if constexpr (is_consumer<std::decay_t<decltype(end)>>) {
          return end.release();
        } else {
          return invalid("release: this handle is a producer");
        }
      },
      r.end);
}

}  // namespace

extern "C" {

static_assert(offsetof(ringdrop_ring_options, max_deliveries) == RINGDROP_RING_OPTIONS_FIRST_SIZE,
              "the struct's first version ends where max_deliveries begins");

RINGDROP_API void ringdrop_ring_options_init_size(ringdrop_ring_options* o, unsigned long size) {
  if (!o || size < RINGDROP_RING_OPTIONS_FIRST_SIZE) return;  // every version holds the first one's fields
  const unsigned long n = size < sizeof *o ? size : sizeof *o;
  std::memset(o, 0, n);  // never past what the caller says it has
  o->size = n;
  o->wait_mode = RINGDROP_WAIT_SPIN_BLOCK;
  o->spin_ns = -1;
  o->liveness_ns = -1;
}

// The plain symbol, for programs built before the struct grew (and
// bindings that call it by name): the first version's fields only. The
// parentheses keep ringdrop.h's macro of the same name out.
RINGDROP_API void(ringdrop_ring_options_init)(ringdrop_ring_options* o) {
  ringdrop_ring_options_init_size(o, RINGDROP_RING_OPTIONS_FIRST_SIZE);
}

// Every field's default, for the library's own copy of the struct (the plain
// symbol above fills the first version's fields only: through it,
// max_deliveries and dead_letters were left uninitialized).
static void init_every_ring_option(ringdrop_ring_options* o) { ringdrop_ring_options_init_size(o, sizeof *o); }

RINGDROP_API int ringdrop_ring_open(const char* name, int kind, int role, int how,
                                    const ringdrop_ring_options* options, ringdrop_ring** ring) {
  return c::guard([&]() -> std::error_code {
    if (!ring) return invalid("ring (the out parameter) is NULL");
    *ring = nullptr;
    if (!name) return invalid("name is NULL");
    if (role != RINGDROP_ROLE_PRODUCER && role != RINGDROP_ROLE_CONSUMER) {
      return invalid("role must be RINGDROP_ROLE_PRODUCER or RINGDROP_ROLE_CONSUMER");
    }
    if (how < RINGDROP_OPEN || how > RINGDROP_OPEN_OR_CREATE) {
      return invalid("how must be RINGDROP_OPEN, _CREATE or _OPEN_OR_CREATE");
    }
    if (options && options->size >= offsetof(ringdrop_ring_options, spin_ns) &&
        !c::wait_mode_ok(options->wait_mode)) {
      return invalid("options->wait_mode must be one of RINGDROP_WAIT_*");
    }
    ringdrop_ring_options o;
    if (auto ec = c::copy_options(options, o, init_every_ring_option, "ringdrop_ring_options_init")) return ec;
    const Location where = o.file_backed ? Location::file(name) : Location::shm(name);
    const OpenMode mode = how == RINGDROP_CREATE ? OpenMode::create
                          : how == RINGDROP_OPEN ? OpenMode::open
                                                 : OpenMode::open_or_create;
    auto handle = open_end(where, kind, role, mode, o);
    if (!handle) return handle.error();
    *ring = handle->release();
    return {};
  });
}

RINGDROP_API void ringdrop_ring_close(ringdrop_ring* ring) { delete ring; }

RINGDROP_API int ringdrop_ring_remove(const char* name, int file_backed) {
  return c::guard([&]() -> std::error_code {
    if (!name) return invalid("name is NULL");
    return Segment::remove(file_backed ? Location::file(name) : Location::shm(name));
  });
}

RINGDROP_API int ringdrop_ring_max_message_size(const ringdrop_ring* ring, unsigned long long* size) {
  return c::guard([&]() -> std::error_code {
    if (!ring || !size) return invalid("ring or size is NULL");
    *size = std::visit([](const auto& end) -> unsigned long long { return end.max_message_size(); },
                       ring->end);
    return {};
  });
}

RINGDROP_API int ringdrop_ring_send(ringdrop_ring* ring, const void* data, unsigned long long size,
                                    long long timeout_ns) {
  return c::guard([&]() -> std::error_code {
    const auto timeout = timeout_of(timeout_ns);
    if (!ring || (!data && size > 0) || !timeout) return invalid("send: NULL ring or data, or negative timeout");
    const std::span bytes(static_cast<const std::byte*>(data), static_cast<std::size_t>(size));
    return std::visit(
        [&](auto& end) -> std::error_code {
          if constexpr (is_consumer<std::decay_t<decltype(end)>>) {
            return invalid("send: this handle is a consumer");
          } else {
            return end.send(bytes, *timeout);
          }
        },
        ring->end);
  });
}

RINGDROP_API int ringdrop_ring_reserve(ringdrop_ring* ring, unsigned long long size,
                                       long long timeout_ns, void** data) {
  return c::guard([&]() -> std::error_code {
    const auto timeout = timeout_of(timeout_ns);
    if (!ring || !data || !timeout) return invalid("reserve: NULL ring or data, or negative timeout");
    *data = nullptr;
    return std::visit(
        [&](auto& end) -> std::error_code {
          if constexpr (is_consumer<std::decay_t<decltype(end)>>) {
            return invalid("reserve: this handle is a consumer");
          } else {
            auto span = end.reserve(static_cast<std::size_t>(size), *timeout);
            if (!span) return span.error();
            *data = span->data();
            return {};
          }
        },
        ring->end);
  });
}

RINGDROP_API int ringdrop_ring_commit(ringdrop_ring* ring, unsigned long long used) {
  return c::guard([&]() -> std::error_code {
    if (!ring) return invalid("commit: ring is NULL");
    return std::visit(
        [&](auto& end) -> std::error_code {
          if constexpr (is_consumer<std::decay_t<decltype(end)>>) {
            return invalid("commit: this handle is a consumer");
          } else {
            const auto ec = end.commit(static_cast<std::size_t>(used));
            if (ec == errc::invalid_argument) {
              return detail::fail(ec, "commit: nothing reserved, or more than was reserved");
            }
            return ec;
          }
        },
        ring->end);
  });
}

RINGDROP_API int ringdrop_ring_read(ringdrop_ring* ring, long long timeout_ns, const void** data,
                                    unsigned long long* size) {
  return c::guard([&]() -> std::error_code {
    const auto timeout = timeout_of(timeout_ns);
    if (!ring || !data || !size || !timeout) return invalid("read: NULL argument or negative timeout");
    return std::visit(
        [&](auto& end) -> std::error_code {
          if constexpr (!is_consumer<std::decay_t<decltype(end)>>) {
            return invalid("read: this handle is a producer");
          } else {
            auto view = next_message(*ring, end, *timeout);
            if (!view) return view.error();
            *data = view->data();
            *size = view->size();
            return {};
          }
        },
        ring->end);
  });
}

RINGDROP_API int ringdrop_ring_release(ringdrop_ring* ring) {
  return c::guard([&]() -> std::error_code {
    if (!ring) return invalid("release: ring is NULL");
    return release_end(*ring);
  });
}

RINGDROP_API int ringdrop_ring_receive(ringdrop_ring* ring, void* buffer, unsigned long long capacity,
                                       unsigned long long* size, long long timeout_ns) {
  return c::guard([&]() -> std::error_code {
    const auto timeout = timeout_of(timeout_ns);
    if (!ring || !size || (!buffer && capacity > 0) || !timeout) {
      return invalid("receive: NULL argument or negative timeout");
    }
    return std::visit(
        [&](auto& end) -> std::error_code {
          if constexpr (!is_consumer<std::decay_t<decltype(end)>>) {
            return invalid("receive: this handle is a producer");
          } else {
            auto view = next_message(*ring, end, *timeout);
            if (!view) return view.error();
            *size = view->size();
            if (view->size() > capacity) {
              ring->pending = *view;  // kept, not released: the next call returns it
              return detail::fail(errc::message_too_large, "receive: the buffer holds " +
                                                               std::to_string(capacity) + " bytes, the message " +
                                                               std::to_string(view->size()));
            }
            if (!view->empty()) std::memcpy(buffer, view->data(), view->size());  // buffer may be NULL
            return release_end(*ring);
          }
        },
        ring->end);
  });
}

RINGDROP_API int ringdrop_ring_delivery_count(const ringdrop_ring* ring, unsigned int* count) {
  return c::guard([&]() -> std::error_code {
    if (!ring || !count) return invalid("delivery_count: NULL argument");
    if (const auto* m = std::get_if<MpmcConsumer>(&ring->end)) {
      *count = m->delivery_count();
    } else if (const auto* s = std::get_if<SpscConsumer>(&ring->end)) {
      *count = s->delivery_count();
    } else {
      return invalid("delivery_count: only MPMC and SPSC consumers count deliveries");
    }
    return {};
  });
}

RINGDROP_API int ringdrop_ring_reject(ringdrop_ring* ring, const char* reason) {
  return c::guard([&]() -> std::error_code {
    if (!ring) return invalid("reject: ring is NULL");
    const std::string why = reason ? reason : "";
    if (auto* m = std::get_if<MpmcConsumer>(&ring->end)) return m->reject(why);
    if (auto* s = std::get_if<SpscConsumer>(&ring->end)) return s->reject(why);
    return invalid("reject: only MPMC and SPSC consumers reject");
  });
}

RINGDROP_API int ringdrop_ring_dead_letter_dir(const char* name, int file_backed, char* buffer,
                                               unsigned long capacity, unsigned long* size) {
  return c::guard([&]() -> std::error_code {
    if (!name || !size) return invalid("dead_letter_dir: name or size is NULL");
    const std::string dir = dead_letter_dir(file_backed ? Location::file(name) : Location::shm(name));
    *size = static_cast<unsigned long>(dir.size() + 1);
    if (!buffer || capacity < dir.size() + 1) {
      return detail::fail(errc::message_too_large, "dead_letter_dir: needs " + std::to_string(dir.size() + 1) +
                                                       " bytes");
    }
    std::memcpy(buffer, dir.c_str(), dir.size() + 1);
    return {};
  });
}

RINGDROP_API int ringdrop_ring_dead_letter_requeue(const char* name, int file_backed, const char* dir,
                                                   const char* id, long long timeout_ns) {
  return c::guard([&]() -> std::error_code {
    const auto timeout = timeout_of(timeout_ns);
    if (!name || !id || !timeout) return invalid("dead_letter_requeue: NULL name or id, or negative timeout");
    auto store = RingDeadLetters::open(file_backed ? Location::file(name) : Location::shm(name), dir ? dir : "");
    if (!store) return store.error();
    return store->requeue(id, *timeout);
  });
}

RINGDROP_API int ringdrop_ring_last_missed(const ringdrop_ring* ring, unsigned long long* missed) {
  return c::guard([&]() -> std::error_code {
    if (!ring || !missed) return invalid("last_missed: NULL argument");
    const auto* sub = std::get_if<BroadcastSubscriber>(&ring->end);
    if (!sub) return invalid("last_missed: only broadcast subscribers miss messages");
    *missed = sub->last_missed();
    return {};
  });
}

}  // extern "C"
