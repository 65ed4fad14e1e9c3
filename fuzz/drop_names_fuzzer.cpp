// drop_names_fuzzer — the drop channel's parsers of names and header text,
// called directly (lib/src/drop/drop_name.*, drop_headers.*).
//
// Every file name in a channel's directories was chosen by whoever wrote
// the file, and so was the text of a header file. The input is both: as a
// name (new/, work/, retry/ and failed/ names, ids, consumer ids, keys) and
// as the text of state/meta/<id>. Beyond "no crash, no undefined
// behaviour", it checks the parsers against the writers:
//   - a parsed name, written again, parses to the same fields;
//   - an id or consumer id never holds a '.' or a '/';
//   - key_file_name always gives one plain file name, never hidden, and a
//     safe key itself;
//   - headers that pass check_headers survive encode + decode unchanged,
//     and decoding never yields a key check_headers refuses.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "drop/drop_headers.hpp"
#include "drop/drop_name.hpp"
#include "fuzz_support.hpp"

using namespace ringdrop;
using namespace ringdrop::detail;

namespace {

bool plain_id_chars(std::string_view s) {
  return s.find('.') == std::string_view::npos && s.find('/') == std::string_view::npos;
}

void names(std::string_view s) {
  if (is_message_id(s)) {
    FUZZ_CHECK(plain_id_chars(s), "a message id holds '.' or '/'");
    FUZZ_CHECK(id_time_ns(s) > 0, "a message id without its publish time");
  }
  if (is_consumer_id(s)) FUZZ_CHECK(plain_id_chars(s), "a consumer id holds '.' or '/'");
  (void)id_time_ns(s);
  (void)is_plain_name(s);

  if (const auto r = parse_ready(s)) {
    FUZZ_CHECK(is_message_id(r->id), "parse_ready gave an id that is not one");
    const auto again = parse_ready(ready_name(r->id, r->attempts));
    FUZZ_CHECK(again && again->id == r->id && again->attempts == r->attempts, "ready name does not round-trip");
    (void)iso_time(id_time_ns(r->id));
  }
  if (const auto w = parse_work(s)) {
    FUZZ_CHECK(is_message_id(w->id) && is_consumer_id(w->consumer), "parse_work gave bad fields");
    const auto again = parse_work(work_name(w->id, w->attempts, w->consumer, w->lease_end_ms));
    FUZZ_CHECK(again && again->id == w->id && again->attempts == w->attempts && again->consumer == w->consumer &&
                   again->lease_end_ms == w->lease_end_ms,
               "work name does not round-trip");
  }
  if (const auto r = parse_retry(s)) {
    FUZZ_CHECK(is_message_id(r->id), "parse_retry gave an id that is not one");
    const auto again = parse_retry(retry_name(r->id, r->attempts, r->not_before_ms));
    FUZZ_CHECK(again && again->id == r->id && again->attempts == r->attempts &&
                   again->not_before_ms == r->not_before_ms,
               "retry name does not round-trip");
  }

  const std::string key = key_file_name(s);
  FUZZ_CHECK(is_plain_name(key), "key_file_name gave something that is not a plain file name");
  FUZZ_CHECK(key.front() != '.', "key_file_name gave a hidden name");
  FUZZ_CHECK(key.size() <= 128 || key.starts_with("h-"), "key_file_name gave a long name");
  if (key != s) FUZZ_CHECK(key.starts_with("h-") && key.size() == 34, "key_file_name changed a key without hashing it");
}

void headers(std::string_view s) {
  const DropHeaders h = decode_headers(s);
  for (const auto& [k, v] : h) {
    DropHeaders one{{k, ""}};
    FUZZ_CHECK(!check_headers(one), "decode_headers gave a key that check_headers refuses");
  }
  if (!check_headers(h)) {
    FUZZ_CHECK(decode_headers(encode_headers(h)) == h, "checked headers do not survive encode + decode");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view s(reinterpret_cast<const char*>(data), size);
  names(s);
  headers(s);
  // The number in an 8-byte prefix as a publish time (iso_time formats
  // times read from names).
  if (size >= 8) {
    int64_t ns = 0;
    std::memcpy(&ns, data, sizeof ns);
    (void)iso_time(ns);
  }
  return 0;
}
