// The file-drop channel part of the C ABI: thin handles over DropChannel,
// DropConsumer and DropClaim.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <memory>
#include <optional>
#include <string>

#include "c_boundary.hpp"
#include "ringdrop/drop_channel.hpp"
#include "ringdrop/drop_consumer.hpp"
#include "ringdrop/drop_reply.hpp"

using namespace ringdrop;
using c::invalid;

struct ringdrop_drop {
  DropChannel channel;
};

struct ringdrop_drop_consumer {
  DropConsumer consumer;
};

struct ringdrop_drop_claim {
  DropClaim claim;
  std::string path;                   ///< for ringdrop_drop_claim_path
  std::optional<MappedFile> mapping;  ///< for ringdrop_drop_claim_data
};

namespace {

std::optional<std::chrono::milliseconds> ms(long long v) {
  if (v < 0) return std::nullopt;
  return std::chrono::milliseconds(v);
}

// Every field's default (the library's own copy of the struct: the plain
// init symbol fills the first version's fields only).
void fill_defaults(ringdrop_drop_options* o) {
  std::memset(o, 0, sizeof *o);
  const DropOptions d;
  o->size = sizeof *o;
  o->create = d.create;
  o->dir_mode = d.dir_mode;
  o->lease_ms = d.lease.count();
  o->max_attempts = d.max_attempts;
  o->retry_backoff_ms = d.retry_backoff.count();
  o->retry_backoff_max_ms = d.retry_backoff_max.count();
  o->archive = d.archive;
  o->durable = d.durable;
  o->completion = RINGDROP_COMPLETION_SETTLE;
  o->settle_ms = d.ingest.settle_time.count();
  o->marker_suffix = nullptr;
  o->discovery = RINGDROP_DISCOVERY_AUTOMATIC;
  o->scan_interval_ms = d.scan_interval.count();
  o->key_retention_hours = d.key_retention.count();
  o->dead_letter_retention_hours = d.dead_letter_retention.count();
  o->receipt_retention_hours = d.receipt_retention.count();
  o->stale_tmp_after_hours = d.stale_tmp_after.count();
}

/// The C options as DropOptions (defaults where the C struct is shorter).
Result<DropOptions> drop_options(const ringdrop_drop_options* c) {
  ringdrop_drop_options o;
  if (auto ec = c::copy_options(c, o, fill_defaults, "ringdrop_drop_options_init")) return ec;
  const auto lease = ms(o.lease_ms), backoff = ms(o.retry_backoff_ms),
             backoff_max = ms(o.retry_backoff_max_ms), settle = ms(o.settle_ms),
             scan = ms(o.scan_interval_ms);
  if (!lease || !backoff || !backoff_max || !settle || !scan || o.key_retention_hours < 0 ||
      o.dead_letter_retention_hours < 0 || o.receipt_retention_hours < 0 || o.stale_tmp_after_hours < 0) {
    return invalid("options: times must not be negative");
  }
  if (o.completion != RINGDROP_COMPLETION_SETTLE && o.completion != RINGDROP_COMPLETION_MARKER) {
    return invalid("options->completion must be RINGDROP_COMPLETION_SETTLE or _MARKER");
  }
  if (o.discovery < RINGDROP_DISCOVERY_AUTOMATIC || o.discovery > RINGDROP_DISCOVERY_POLLING) {
    return invalid("options->discovery must be one of RINGDROP_DISCOVERY_*");
  }
  DropOptions d;
  d.create = o.create != 0;
  d.dir_mode = o.dir_mode;
  d.lease = *lease;
  d.max_attempts = o.max_attempts;
  d.retry_backoff = *backoff;
  d.retry_backoff_max = *backoff_max;
  d.archive = o.archive != 0;
  d.durable = o.durable != 0;
  d.ingest.completion = o.completion == RINGDROP_COMPLETION_MARKER ? Completion::marker : Completion::settle;
  d.ingest.settle_time = *settle;
  if (o.marker_suffix) d.ingest.marker_suffix = o.marker_suffix;
  d.discovery = o.discovery == RINGDROP_DISCOVERY_INOTIFY   ? Discovery::inotify
                : o.discovery == RINGDROP_DISCOVERY_POLLING ? Discovery::polling
                                                            : Discovery::automatic;
  d.scan_interval = *scan;
  d.key_retention = std::chrono::hours(o.key_retention_hours);
  d.dead_letter_retention = std::chrono::hours(o.dead_letter_retention_hours);
  d.receipt_retention = std::chrono::hours(o.receipt_retention_hours);
  d.stale_tmp_after = std::chrono::hours(o.stale_tmp_after_hours);
  return d;
}

Result<DropHeaders> headers_of(const char* const* keys, const char* const* values, unsigned long count) {
  if (count > 0 && (!keys || !values)) return invalid("keys or values is NULL with count > 0");
  DropHeaders h;
  for (unsigned long i = 0; i < count; ++i) {
    if (!keys[i] || !values[i]) return invalid("a header key or value is NULL");
    if (!h.emplace(keys[i], values[i]).second) {
      return detail::fail(errc::invalid_argument, std::string("header ") + keys[i] + " given twice");
    }
  }
  return h;
}

/// The id buffer is checked before publishing: once a message is out, a
/// failure to hand back its id would invite a duplicate publish.
std::error_code check_id_room(const char* id, unsigned long capacity) {
  if (id && capacity < RINGDROP_DROP_ID_MAX) return invalid("id_capacity must be at least RINGDROP_DROP_ID_MAX");
  return {};
}

template <class Publish>
std::error_code publish_with(ringdrop_drop* channel, const char* const* keys,
                             const char* const* values, unsigned long count, char* id,
                             unsigned long id_capacity, Publish&& publish) {
  if (!channel) return invalid("channel is NULL");
  if (auto ec = check_id_room(id, id_capacity)) return ec;
  auto headers = headers_of(keys, values, count);
  if (!headers) return headers.error();
  auto published = publish(*headers);
  if (!published) return published.error();
  if (id) std::memcpy(id, published->c_str(), published->size() + 1);  // ids are < RINGDROP_DROP_ID_MAX
  return {};
}

}  // namespace

extern "C" {

static_assert(offsetof(ringdrop_drop_options, key_retention_hours) == RINGDROP_DROP_OPTIONS_FIRST_SIZE,
              "the struct's first version ends where key_retention_hours begins");

RINGDROP_API void ringdrop_drop_options_init_size(ringdrop_drop_options* o, unsigned long size) {
  if (!o || size < RINGDROP_DROP_OPTIONS_FIRST_SIZE) return;  // every version holds the first one's fields
  const unsigned long n = size < sizeof *o ? size : sizeof *o;
  ringdrop_drop_options d;  // every field's default here, then as much of it as the caller has
  fill_defaults(&d);
  d.size = n;
  std::memcpy(o, &d, n);
}

// The plain symbol, for programs built before the struct grew (and
// bindings that call it by name): the first version's fields only. The
// parentheses keep ringdrop.h's macro of the same name out.
RINGDROP_API void(ringdrop_drop_options_init)(ringdrop_drop_options* o) {
  ringdrop_drop_options_init_size(o, RINGDROP_DROP_OPTIONS_FIRST_SIZE);
}

RINGDROP_API int ringdrop_drop_open(const char* root, const ringdrop_drop_options* options,
                                    ringdrop_drop** channel) {
  return c::guard([&]() -> std::error_code {
    if (!channel) return invalid("channel (the out parameter) is NULL");
    *channel = nullptr;
    if (!root) return invalid("root is NULL");
    auto o = drop_options(options);
    if (!o) return o.error();
    auto opened = DropChannel::open(root, std::move(*o));
    if (!opened) return opened.error();
    *channel = new ringdrop_drop{std::move(*opened)};
    return {};
  });
}

RINGDROP_API void ringdrop_drop_close(ringdrop_drop* channel) { delete channel; }

RINGDROP_API int ringdrop_drop_publish(ringdrop_drop* channel, const void* data,
                                       unsigned long long size, const char* const* keys,
                                       const char* const* values, unsigned long count, char* id,
                                       unsigned long id_capacity) {
  return c::guard([&]() -> std::error_code {
    if (!data && size > 0) return invalid("data is NULL");
    return publish_with(channel, keys, values, count, id, id_capacity, [&](const DropHeaders& h) {
      return channel->channel.publish({static_cast<const std::byte*>(data), static_cast<std::size_t>(size)}, h);
    });
  });
}

RINGDROP_API int ringdrop_drop_reply(const ringdrop_drop_claim* request, const void* data, unsigned long long size,
                                     const char* const* keys, const char* const* values, unsigned long count,
                                     char* id, unsigned long id_capacity) {
  return c::guard([&]() -> std::error_code {
    if (!request) return invalid("request is NULL");
    if (!data && size > 0) return invalid("data is NULL");
    if (auto ec = check_id_room(id, id_capacity)) return ec;
    auto headers = headers_of(keys, values, count);
    if (!headers) return headers.error();
    auto published = drop_reply(request->claim, {static_cast<const std::byte*>(data), static_cast<std::size_t>(size)},
                                std::move(*headers));
    if (!published) return published.error();
    if (id) std::memcpy(id, published->c_str(), published->size() + 1);  // ids are < RINGDROP_DROP_ID_MAX
    return {};
  });
}

RINGDROP_API int ringdrop_drop_publish_file(ringdrop_drop* channel, const char* path,
                                            const char* const* keys, const char* const* values,
                                            unsigned long count, char* id, unsigned long id_capacity) {
  return c::guard([&]() -> std::error_code {
    if (!path) return invalid("path is NULL");
    return publish_with(channel, keys, values, count, id, id_capacity,
                        [&](const DropHeaders& h) { return channel->channel.publish_file(path, h); });
  });
}

RINGDROP_API int ringdrop_drop_dead_letters(ringdrop_drop* channel, char* ids,
                                            unsigned long capacity, unsigned long* needed) {
  return c::guard([&]() -> std::error_code {
    if (!channel || !needed) return invalid("channel or needed is NULL");
    auto all = channel->channel.dead_letters();
    if (!all) return all.error();
    std::string text;
    for (const auto& d : *all) text += d.id + "\n";
    *needed = text.size() + 1;
    if (!ids || capacity < text.size() + 1) {
      return detail::fail(errc::message_too_large, "dead_letters: the list needs " +
                                                       std::to_string(text.size() + 1) + " bytes");
    }
    std::memcpy(ids, text.c_str(), text.size() + 1);
    return {};
  });
}

RINGDROP_API int ringdrop_drop_requeue(ringdrop_drop* channel, const char* id) {
  return c::guard([&]() -> std::error_code {
    if (!channel || !id) return invalid("channel or id is NULL");
    return channel->channel.requeue(id);
  });
}

RINGDROP_API int ringdrop_drop_purge(ringdrop_drop* channel, const char* id) {
  return c::guard([&]() -> std::error_code {
    if (!channel || !id) return invalid("channel or id is NULL");
    return channel->channel.purge(id);
  });
}

RINGDROP_API int ringdrop_drop_receipt(ringdrop_drop* channel, const char* name, const char* id,
                                       long long timeout_ns, int* outcome, char* reason,
                                       unsigned long reason_capacity) {
  return c::guard([&]() -> std::error_code {
    if (!channel || !name || !id || !outcome) return invalid("channel, name, id or outcome is NULL");
    if (!reason && reason_capacity > 0) return invalid("reason is NULL but reason_capacity is not 0");
    const auto timeout = c::timeout_of(timeout_ns);
    if (!timeout) return invalid("the timeout is negative");
    *outcome = 0;
    if (reason_capacity > 0) reason[0] = '\0';
    // floor: 1 ns to 999 us becomes 0 (a look); ceil could overflow at LLONG_MAX.
    const auto ms = std::max(std::chrono::floor<std::chrono::milliseconds>(*timeout),
                             std::chrono::milliseconds(*timeout > std::chrono::nanoseconds::zero() ? 1 : 0));
    auto got = channel->channel.receipt(name, id, ms);
    if (!got) return got.error();
    switch (got->outcome) {
      case DropReceipt::Outcome::taken: *outcome = RINGDROP_RECEIPT_TAKEN; break;
      case DropReceipt::Outcome::processed: *outcome = RINGDROP_RECEIPT_PROCESSED; break;
      case DropReceipt::Outcome::dead_lettered: *outcome = RINGDROP_RECEIPT_DEAD_LETTERED; break;
    }
    if (reason_capacity > 0) {
      const size_t n = std::min<size_t>(got->reason.size(), reason_capacity - 1);
      std::memcpy(reason, got->reason.data(), n);
      reason[n] = '\0';
    }
    return {};
  });
}

RINGDROP_API int ringdrop_drop_consumer_open(ringdrop_drop* channel, ringdrop_drop_consumer** consumer) {
  return c::guard([&]() -> std::error_code {
    if (!consumer) return invalid("consumer (the out parameter) is NULL");
    *consumer = nullptr;
    if (!channel) return invalid("channel is NULL");
    auto opened = DropConsumer::open(channel->channel);
    if (!opened) return opened.error();
    *consumer = new ringdrop_drop_consumer{std::move(*opened)};
    return {};
  });
}

RINGDROP_API void ringdrop_drop_consumer_close(ringdrop_drop_consumer* consumer) { delete consumer; }

RINGDROP_API int ringdrop_drop_consumer_claim(ringdrop_drop_consumer* consumer, long long timeout_ns,
                                              ringdrop_drop_claim** claim) {
  return c::guard([&]() -> std::error_code {
    if (!claim) return invalid("claim (the out parameter) is NULL");
    *claim = nullptr;
    const auto timeout = c::timeout_of(timeout_ns);
    if (!consumer || !timeout) return invalid("consumer is NULL or the timeout negative");
    auto got = consumer->consumer.claim(*timeout);
    if (!got) return got.error();
    std::string path = got->path();
    *claim = new ringdrop_drop_claim{std::move(*got), std::move(path), std::nullopt};
    return {};
  });
}

RINGDROP_API int ringdrop_drop_claim_id(const ringdrop_drop_claim* claim, const char** id) {
  return c::guard([&]() -> std::error_code {
    if (!claim || !id) return invalid("claim or id is NULL");
    *id = claim->claim.id().c_str();
    return {};
  });
}

RINGDROP_API int ringdrop_drop_claim_attempt(const ringdrop_drop_claim* claim, unsigned int* attempt) {
  return c::guard([&]() -> std::error_code {
    if (!claim || !attempt) return invalid("claim or attempt is NULL");
    *attempt = claim->claim.attempt();
    return {};
  });
}

RINGDROP_API int ringdrop_drop_claim_header(const ringdrop_drop_claim* claim, const char* key,
                                            const char** value) {
  return c::guard([&]() -> std::error_code {
    if (!claim || !key || !value) return invalid("claim, key or value is NULL");
    *value = nullptr;
    const auto& h = claim->claim.headers();
    const auto it = h.find(std::string_view(key));
    if (it == h.end()) return detail::fail(errc::not_found, std::string("no header ") + key);
    *value = it->second.c_str();
    return {};
  });
}

RINGDROP_API int ringdrop_drop_claim_path(const ringdrop_drop_claim* claim, const char** path) {
  return c::guard([&]() -> std::error_code {
    if (!claim || !path) return invalid("claim or path is NULL");
    *path = claim->path.c_str();
    return {};
  });
}

RINGDROP_API int ringdrop_drop_claim_data(ringdrop_drop_claim* claim, const void** data,
                                          unsigned long long* size) {
  return c::guard([&]() -> std::error_code {
    if (!claim || !data || !size) return invalid("claim, data or size is NULL");
    if (!claim->mapping) {
      auto mapped = claim->claim.map();
      if (!mapped) return mapped.error();
      claim->mapping.emplace(std::move(*mapped));
    }
    *data = claim->mapping->bytes().data();
    *size = claim->mapping->bytes().size();
    return {};
  });
}

RINGDROP_API int ringdrop_drop_claim_extend(ringdrop_drop_claim* claim, long long lease_ms) {
  return c::guard([&]() -> std::error_code {
    if (!claim || lease_ms < 0) return invalid("claim is NULL or the lease negative");
    auto ec = claim->claim.extend(std::chrono::milliseconds(lease_ms));
    if (!ec) claim->path = claim->claim.path();
    return ec;
  });
}

RINGDROP_API int ringdrop_drop_claim_ack(ringdrop_drop_claim* claim) {
  return c::guard([&]() -> std::error_code {
    if (!claim) return invalid("claim is NULL");
    return claim->claim.ack();
  });
}

RINGDROP_API int ringdrop_drop_claim_nack(ringdrop_drop_claim* claim, const char* reason) {
  return c::guard([&]() -> std::error_code {
    if (!claim) return invalid("claim is NULL");
    return claim->claim.nack(reason ? reason : "");
  });
}

RINGDROP_API int ringdrop_drop_claim_reject(ringdrop_drop_claim* claim, const char* reason) {
  return c::guard([&]() -> std::error_code {
    if (!claim) return invalid("claim is NULL");
    return claim->claim.reject(reason ? reason : "");
  });
}

RINGDROP_API void ringdrop_drop_claim_close(ringdrop_drop_claim* claim) {
  delete claim;  // ~DropClaim nacks an unsettled claim and never throws
}

}  // extern "C"
