/* demo_event.h — the event the order service publishes on the broadcast
 * ring, as C99 (shared by order_service.cpp, subscriber.c and ringdrop-demo;
 * subscriber.py mirrors it with struct.Struct("<HHIQQqqqcB30s")).
 *
 * Why fixed bytes and not Cap'n Proto: the C and Python subscribers have no
 * Cap'n Proto decoder (the C ABI hands typed payloads over as encoded bytes
 * for the caller's own decoder, and neither capnp-c nor pycapnp is a
 * dependency here). A fixed little-endian record is what a C struct, a
 * Python struct.unpack, a COBOL copybook or a Fortran derived type can all
 * read with no library, so that is the wire format of this ring. A service
 * whose subscribers all speak Cap'n Proto would publish typed messages
 * instead (examples/messaging.cpp).
 *
 * The record: 80 bytes, little-endian, no padding, encoded and decoded byte
 * by byte (so it is the same on any host):
 *
 *   offset size  field
 *        0    2  version            DEMO_EVENT_VERSION
 *        2    2  kind               DEMO_EVENT_*
 *        4    4  quantity           order: the quantity;  END: order events before it
 *        8    8  seq                0, 1, 2... per event published (END too)
 *       16    8  order_id           order: its id;        END: ticks before it
 *       24    8  amount_cents       order: signed cents;  END: CRC-32 of every event before it
 *       32    8  dropped_wall_ns    order: when the batch job published the file
 *                                   (CLOCK_REALTIME ns, the drop message id's time)
 *       40    8  published_mono_ns  CLOCK_MONOTONIC ns when the service published
 *                                   the event (the clock every process on the host shares)
 *       48    1  status             order: its status letter ('N' new, 'R' refund)
 *       49    1  reason             REJECTED: DEMO_REASON_*; else 0
 *       50   30  customer           order: the customer, space-padded as in the record
 *
 * The CRC-32 is zlib's (IEEE 802.3, reflected, as Python's zlib.crc32),
 * chained over the 80 bytes of each event in order: a subscriber that got
 * exactly what was published, in order, computes the same value. */
#ifndef RINGDROP_DEMO_EVENT_H
#define RINGDROP_DEMO_EVENT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define DEMO_EVENT_SIZE 80
#define DEMO_EVENT_VERSION 1

/* Event kinds. */
#define DEMO_EVENT_ACCEPTED 1 /* an order that passed validation (acked) */
#define DEMO_EVENT_REJECTED 2 /* an order that did not (a dead letter now) */
#define DEMO_EVENT_TICK 3     /* the throughput stream after the batch */
#define DEMO_EVENT_END 4      /* the last event: counts and CRC to check against */

/* Why an order was rejected. */
#define DEMO_REASON_NONE 0
#define DEMO_REASON_MALFORMED 1     /* not an 80-byte 'D' record of orders.cpy */
#define DEMO_REASON_QUANTITY 2      /* quantity zero */
#define DEMO_REASON_SIGN 3          /* amount sign does not fit the status */
#define DEMO_REASON_DATE 4          /* not a calendar date */
#define DEMO_REASON_STATUS 5        /* a status this service does not take */

typedef struct demo_event {
  uint16_t version;
  uint16_t kind;
  uint32_t quantity;
  uint64_t seq;
  uint64_t order_id;
  int64_t amount_cents;
  int64_t dropped_wall_ns;
  int64_t published_mono_ns;
  char status;
  uint8_t reason;
  char customer[30];
} demo_event;

static inline const char* demo_reason_text(unsigned reason) {
  switch (reason) {
    case DEMO_REASON_NONE: return "";
    case DEMO_REASON_MALFORMED: return "malformed record";
    case DEMO_REASON_QUANTITY: return "quantity is zero";
    case DEMO_REASON_SIGN: return "amount sign does not match status";
    case DEMO_REASON_DATE: return "not a calendar date";
    case DEMO_REASON_STATUS: return "unknown status";
    default: return "unknown reason";
  }
}

static inline void demo_put_le(unsigned char* p, uint64_t v, int bytes) {
  int i;
  for (i = 0; i < bytes; ++i) p[i] = (unsigned char)(v >> (8 * i));
}

static inline uint64_t demo_get_le(const unsigned char* p, int bytes) {
  uint64_t v = 0;
  int i;
  for (i = 0; i < bytes; ++i) v |= (uint64_t)p[i] << (8 * i);
  return v;
}

/* Writes `e` as DEMO_EVENT_SIZE bytes at `out`. */
static inline void demo_event_encode(const demo_event* e, unsigned char* out) {
  demo_put_le(out + 0, e->version, 2);
  demo_put_le(out + 2, e->kind, 2);
  demo_put_le(out + 4, e->quantity, 4);
  demo_put_le(out + 8, e->seq, 8);
  demo_put_le(out + 16, e->order_id, 8);
  demo_put_le(out + 24, (uint64_t)e->amount_cents, 8);
  demo_put_le(out + 32, (uint64_t)e->dropped_wall_ns, 8);
  demo_put_le(out + 40, (uint64_t)e->published_mono_ns, 8);
  out[48] = (unsigned char)e->status;
  out[49] = e->reason;
  memcpy(out + 50, e->customer, 30);
}

/* Reads `size` bytes at `in` into *e: 0, or -1 when it is not an event of
 * this version (wrong size or version). */
static inline int demo_event_decode(const unsigned char* in, size_t size, demo_event* e) {
  if (size != DEMO_EVENT_SIZE) return -1;
  e->version = (uint16_t)demo_get_le(in + 0, 2);
  if (e->version != DEMO_EVENT_VERSION) return -1;
  e->kind = (uint16_t)demo_get_le(in + 2, 2);
  e->quantity = (uint32_t)demo_get_le(in + 4, 4);
  e->seq = demo_get_le(in + 8, 8);
  e->order_id = demo_get_le(in + 16, 8);
  e->amount_cents = (int64_t)demo_get_le(in + 24, 8);
  e->dropped_wall_ns = (int64_t)demo_get_le(in + 32, 8);
  e->published_mono_ns = (int64_t)demo_get_le(in + 40, 8);
  e->status = (char)in[48];
  e->reason = in[49];
  memcpy(e->customer, in + 50, 30);
  return 0;
}

/* CRC-32 (zlib's): crc = demo_crc32(crc, data, n), starting from 0. */
static inline uint32_t demo_crc32(uint32_t crc, const void* data, size_t n) {
  const unsigned char* p = (const unsigned char*)data;
  size_t i;
  int bit;
  crc = ~crc;
  for (i = 0; i < n; ++i) {
    crc ^= p[i];
    for (bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

#endif /* RINGDROP_DEMO_EVENT_H */
