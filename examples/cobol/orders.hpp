// orders.hpp — the C++ partners' mirror of the COBOL copybooks: the test
// orders of ordload.cpy and the field encodings of orders.cpy (80-byte
// records, DISPLAY digits, SIGN IS LEADING SEPARATE with V99 implied).
// Shared by cobol_consumer.cpp and cobol_producer.cpp.
#pragma once

#include <array>
#include <cstddef>
#include <cstdio>
#include <string>
#include <string_view>

namespace cobol {

struct Order {
  unsigned id;
  const char* customer;
  long long cents;  // PIC S9(7)V99
  unsigned quantity;
  unsigned date;
  char status;
};

inline constexpr std::array<Order, 5> kOrders{{
    {1, "ACME WIDGETS LTD", 123456, 10, 20231105, 'N'},
    {2, "BLUE LAGOON TRADING", 99, 1, 20231106, 'N'},
    {3, "CARTWRIGHT & SONS", -1250, 1, 20231107, 'R'},
    {99999999, "DELTA FREIGHT GMBH", 999999999, 99999, 20231231, 'H'},
    {5, "ZENITH OPTICAL INSTRUMENTS INC", 0, 0, 20240101, 'C'},
}};

inline constexpr std::size_t kRecordSize = 80;

/// PIC 9(width): zero-padded digits.
inline std::string digits(unsigned long long v, int width) {
  char b[32];
  std::snprintf(b, sizeof b, "%0*llu", width, v);
  return b;
}

inline unsigned long long magnitude(long long v) { return static_cast<unsigned long long>(v < 0 ? -v : v); }

/// SIGN IS LEADING SEPARATE: '+' or '-', then the digits (no decimal point:
/// V99 is implied).
inline std::string signed_digits(long long v, int width) { return (v < 0 ? "-" : "+") + digits(magnitude(v), width); }

/// PIC X(width): `s` cut or padded with spaces.
inline std::string padded(std::string_view s, std::size_t width) {
  std::string out(s.substr(0, width));
  out.resize(width, ' ');
  return out;
}

}  // namespace cobol
