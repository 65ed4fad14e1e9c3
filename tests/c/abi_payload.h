/* abi_payload.h — the hand-encoded Cap'n Proto payloads the C ABI tests of
 * typed messages and request/response share (C99; static functions, so
 * include it once, in the test's only translation unit, after abi_check.h).
 *
 * The payload is the struct `struct Value { v @0 :UInt64; }` as a flat
 * (unpacked, single-segment) message of 3 words, little-endian:
 *   word 0  segment table: uint32 segment count - 1 = 0, then uint32 size
 *           of segment 0 in words = 2
 *   word 1  (segment word 0) the root pointer: a struct pointer —
 *           bits 0-1 = 0 (struct), bits 2-31 = offset 0 (its data follows
 *           the pointer), bits 32-47 = 1 data word, bits 48-63 = 0
 *           pointers: 0x0000000100000000
 *   word 2  (segment word 1) the struct's data section: v */
#ifndef RINGDROP_ABI_PAYLOAD_H
#define RINGDROP_ABI_PAYLOAD_H

#include <stdint.h>
#include <string.h>

#include "ringdrop.h"

#define VALUE_WORDS 3

/* Word 0 of a flat single-segment message: the segment table of one
 * segment of `segment_words` words (the words after the table). */
static void set_segment_table(uint64_t* message, uint32_t segment_words) {
  const uint32_t table[2] = {0, segment_words};
  memcpy(&message[0], table, sizeof table);
}

/* The Value `v` as a flat message of VALUE_WORDS words, into `out`. */
static void encode_value(uint64_t out[VALUE_WORDS], uint64_t v) {
  set_segment_table(out, VALUE_WORDS - 1);
  out[1] = 0x0000000100000000ULL;
  out[2] = v;
}

/* Reads `v` back from a flat single-segment message whose root is a struct
 * (any data size; the library re-encodes payloads, so the layout is read,
 * not assumed). A null root, or no data word, is v = 0. 0 if it is not such
 * a message. */
static int decode_value(const void* data, unsigned long long size, uint64_t* v) {
  uint64_t w[64];
  uint32_t table[2];
  uint64_t ptr;
  int32_t offset;
  unsigned long long at;
  if (size < 16 || size % 8 != 0 || size > sizeof w) return 0;
  memcpy(w, data, (size_t)size);
  memcpy(table, &w[0], sizeof table);
  if (table[0] != 0 || (unsigned long long)table[1] + 1 != size / 8) return 0;
  ptr = w[1];
  *v = 0;
  if (ptr == 0) return 1;      /* null root: the defaults */
  if ((ptr & 3) != 0) return 0; /* not a struct pointer */
  offset = (int32_t)(uint32_t)(ptr & 0xffffffffu) / 4;
  if (((ptr >> 32) & 0xffff) == 0) return 1; /* no data section */
  at = 2 + (unsigned long long)(long long)offset; /* table, pointer, then the offset */
  if (at >= size / 8) return 0;
  *v = w[at];
  return 1;
}

/* 1 if message `m` (NULL: 0) has a Value payload of `expected`. With
 * `aligned`, the payload must also start on an 8-byte boundary. */
static int payload_value_is(const ringdrop_message* m, uint64_t expected, int aligned) {
  const void* data = NULL;
  unsigned long long size = 0;
  uint64_t v = 0;
  if (m == NULL || ringdrop_message_payload(m, &data, &size) != RINGDROP_OK) return 0;
  if (aligned && ((uintptr_t)data) % 8 != 0) return 0;
  return decode_value(data, size, &v) && v == expected;
}

#endif /* RINGDROP_ABI_PAYLOAD_H */
