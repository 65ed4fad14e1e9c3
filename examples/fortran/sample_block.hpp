// sample_block.hpp — the C++ partners' mirror of publisher.f90: its
// bind(C) type sample_block as C lays it out, and the samples it sends.
// Shared by fortran_subscriber.cpp and fortran_sender.cpp.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace fortran {

inline constexpr int kMaxSamples = 64;

// The Fortran type sample_block (bind(C)), as C lays it out.
struct SampleBlock {
  std::int64_t sequence;
  std::int32_t count;
  std::int32_t last;
  double samples[kMaxSamples];
};
static_assert(sizeof(SampleBlock) == 16 + 8 * kMaxSamples);
inline constexpr std::size_t kHeader = offsetof(SampleBlock, samples);
static_assert(kHeader == 16);

// Sample i (1-based) of block k (0-based): publisher.f90's sample().
inline double sample(int k, int i) {
  switch (i) {
    case 1: return 1.0 / static_cast<double>(3 + k);
    case 2: return -0.0;
    case 3: return std::numeric_limits<double>::max();
    case 4: return std::numeric_limits<double>::min();
    case 5: return std::numeric_limits<double>::denorm_min();
    case 6: return std::numeric_limits<double>::infinity();
    case 7: return -std::numeric_limits<double>::infinity();
    case 8: return std::numeric_limits<double>::quiet_NaN();
    case 9: return std::sqrt(2.0 + static_cast<double>(k));
    default: return static_cast<double>(k * kMaxSamples + i - 1) / 8.0 - 100.0;
  }
}

}  // namespace fortran
