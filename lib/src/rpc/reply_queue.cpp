// A shared reply queue: replies any instance of a calling service takes,
// held until acked (see reply_queue.hpp).
#include "ringdrop/reply_queue.hpp"

#include <charconv>
#include <optional>

#include "ringdrop/service_registry.hpp"
#include "rpc/rpc_internal.hpp"

namespace ringdrop {

namespace {

constexpr std::string_view kPrefix = "ringdrop.replies.";

uint64_t parse_id(std::string_view text) noexcept {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  return ec == std::errc{} && end == text.data() + text.size() ? v : 0;
}

}  // namespace

MpmcOptions detail::reply_queue_ring_options(const ReplyQueueOptions& o) {
  MpmcOptions ro;
  ro.wait = o.wait;
  ro.cell_size = o.cell_size;
  ro.capacity = uint64_t{o.cell_size} * o.cells;
  ro.on_consumer_death = OnConsumerDeath::redeliver;  // a crashed instance's reply goes to another
  ro.max_deliveries = o.max_deliveries;              // ... but not for ever
  ro.dead_letters = o.dead_letters;
  return ro;
}

Location reply_queue_location(std::string_view name) { return Location::shm(std::string(kPrefix) + std::string(name)); }

bool is_reply_queue(std::string_view reply_to) noexcept {
  constexpr std::string_view shm = "shm:";
  return reply_to.starts_with(shm) && reply_to.substr(shm.size()).starts_with(kPrefix) &&
         reply_to.size() > shm.size() + kPrefix.size();
}

Status SharedReply::status() const {
  auto err = message_.envelope().getError();
  return Status{err.getCode(), std::string(err.getMessage().cStr(), err.getMessage().size())};
}

struct ReplyQueue::State {
  Location where;
  MpmcConsumer replies;
  MpmcProducer keeper;  // so the queue never reports its producers gone between requests
  bool holding = false;
  // Why the reply held could not be yielded (expired, malformed) when
  // setting it aside failed: take() tries again; "" otherwise.
  std::string unfit_reason;
  ReplyQueueStats stats;

  // Sets the unfit reply held aside; it stays held if that fails.
  std::error_code set_aside(bool expired) {
    if (auto ec = replies.reject(unfit_reason)) return ec;
    unfit_reason.clear();
    holding = false;
    ++(expired ? stats.expired : stats.malformed);
    return {};
  }

  State(Location w, MpmcConsumer r, MpmcProducer k) : where(std::move(w)), replies(std::move(r)), keeper(std::move(k)) {}

  // Why a reply read from the queue is not one to yield; "" when it is.
  static std::string unfit(const Result<IncomingMessage>& m) {
    if (!m) return "malformed: " + m.error().message();
    if (m->kind() != MessageKind::RESPONSE) return "not a response (kind " + std::to_string(int(m->kind())) + ")";
    if (m->deadline() <= Clock::now()) {
      return "expired: its expiration passed " +
             std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - m->deadline()).count()) +
             " ms before it was taken";
    }
    return {};
  }
};

ReplyQueue::ReplyQueue(std::unique_ptr<State> s) noexcept : s_(std::move(s)) {}
ReplyQueue::ReplyQueue(ReplyQueue&&) noexcept = default;
ReplyQueue& ReplyQueue::operator=(ReplyQueue&&) noexcept = default;
ReplyQueue::~ReplyQueue() = default;

Result<ReplyQueue> ReplyQueue::open(std::string_view name, const ReplyQueueOptions& options) {
  if (!ServiceRegistry::valid_service_name(name)) {
    return detail::fail(errc::invalid_argument, "\"" + std::string(name) + "\" is not a reply queue name");
  }
  const Location where = reply_queue_location(name);
  auto replies = detail::open_reply_queue_end<MpmcConsumer>(where, options);
  if (!replies) return replies.error();
  auto keeper = detail::open_reply_queue_end<MpmcProducer>(where, options);
  if (!keeper) return keeper.error();
  return ReplyQueue(std::make_unique<State>(where, std::move(*replies), std::move(*keeper)));
}

Result<SharedReply> ReplyQueue::take(Deadline deadline) {
  State& s = *s_;
  if (s.holding && !s.unfit_reason.empty()) {
    if (auto ec = s.set_aside(s.unfit_reason.starts_with("expired"))) return ec;  // the store still fails
  }
  if (s.holding) return detail::fail(errc::invalid_argument, "ack or reject the reply taken before taking another");
  for (;;) {
    auto view = s.replies.read(deadline);
    if (!view) return view.error();
    auto m = IncomingMessage::open(*view);
    if (std::string why = State::unfit(m); !why.empty()) {
      // Set aside with its reason; if even that fails (its dead-letter
      // store), it stays held, the caller hears why, and the next take()
      // tries again.
      s.holding = true;
      s.unfit_reason = std::move(why);
      if (auto ec = s.set_aside(m && m->kind() == MessageKind::RESPONSE)) return ec;
      continue;
    }
    const uint32_t deliveries = s.replies.delivery_count();
    const uint64_t request_id = parse_id(m->header(rpc_header::request_id));
    s.holding = true;
    ++s.stats.taken;
    if (deliveries > 1) ++s.stats.redelivered;
    return SharedReply(std::move(*m), request_id != 0 ? request_id : m->envelope().getCorrelationId(), deliveries);
  }
}

std::error_code ReplyQueue::ack() {
  State& s = *s_;
  if (!s.holding || !s.unfit_reason.empty()) {
    return detail::fail(errc::invalid_argument, "no reply is held: take() one first");
  }
  s.holding = false;
  ++s.stats.acked;
  return s.replies.release();
}

std::error_code ReplyQueue::reject(std::string_view reason) {
  State& s = *s_;
  if (!s.holding) return detail::fail(errc::invalid_argument, "no reply is held: take() one first");
  if (auto ec = s.replies.reject(reason)) return ec;
  s.holding = false;
  s.unfit_reason.clear();
  ++s.stats.rejected;
  return {};
}

ReplyQueueStats ReplyQueue::stats() const noexcept { return s_->stats; }
const Location& ReplyQueue::location() const noexcept { return s_->where; }

}  // namespace ringdrop
