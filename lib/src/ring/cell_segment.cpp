#include <bit>
#include <string>

#include "ring/cell_layout.hpp"
#include "ringdrop/error.hpp"

namespace ringdrop::detail {
namespace {

bool valid_cell_size(uint64_t cell_size, uint64_t capacity) noexcept {
  return cell_size >= kMinCellSize && std::has_single_bit(cell_size) && cell_size <= capacity / 2;
}

}  // namespace

Result<Segment> open_cell_segment(const Location& where, OpenMode how, RingKind kind,
                                  const RingOptions& o, uint32_t cell_size, uint32_t policy,
                                  uint32_t max_deliveries) {
  SegmentSpec spec;
  spec.kind = kind;
  spec.capacity = o.capacity;
  spec.mode = o.mode;
  spec.init_timeout = o.init_timeout;
  spec.params[kCellSizeParam] = cell_size != 0 ? cell_size : kDefaultCellSize;
  spec.params[kPolicyParam] = policy;
  spec.params[kMaxDeliveriesParam] = max_deliveries;
  if (how != OpenMode::open &&
      !valid_cell_size(spec.params[kCellSizeParam], o.capacity ? o.capacity : kDefaultCapacity)) {
    return fail(errc::invalid_argument,
                "cell size " + std::to_string(spec.params[kCellSizeParam]) +
                    ": must be a power of two >= 64, at most half the capacity");
  }
  auto seg = Segment::open(where, how, spec);
  if (!seg) return seg;
  const SegmentInfo info = seg->info();
  if (!valid_cell_size(info.params[kCellSizeParam], info.capacity) || info.params[kPolicyParam] > 1 ||
      info.params[kMaxDeliveriesParam] > 1000) {
    return fail(errc::corrupted, where.describe() + ": impossible " + to_string(kind) + " parameters");
  }
  if (cell_size != 0 && cell_size != info.params[kCellSizeParam]) {
    return fail(errc::capacity_mismatch, where.describe() + " has cells of " +
                                             std::to_string(info.params[kCellSizeParam]) +
                                             " bytes, asked for " + std::to_string(cell_size));
  }
  return seg;
}

}  // namespace ringdrop::detail
