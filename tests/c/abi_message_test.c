/* The typed-message part of the C ABI, from C99 (compiled -std=c99
 * -pedantic -Werror, linked against libringdrop.so): building envelopes
 * around hand-encoded Cap'n Proto payloads, into buffers and straight into
 * rings; opening, viewing and reading them back; malformed payloads and
 * messages; bad arguments. One process; no check depends on timing. Exit 0
 * when all checks pass. */
#define _POSIX_C_SOURCE 200809L

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "abi_check.h"
#include "abi_payload.h"
#include "ringdrop.h"

/* Type ids both sides agree on (a real schema's would be its struct ids).
 * The payloads, Values, are hand-encoded by abi_payload.h. */
#define TYPE_VALUE 0xa1b2c3d4e5f60718ULL

/* A message of `v` built with `options`, into `buf` (aligned); its size. */
static unsigned long long build_value(uint64_t* buf, size_t words, uint64_t v,
                                      const ringdrop_message_options* options) {
  uint64_t payload[VALUE_WORDS];
  unsigned long long size = 0;
  encode_value(payload, v);
  CHECK_OK(ringdrop_message_build(TYPE_VALUE, payload, sizeof payload, options, buf, words * 8, &size));
  return size;
}

/* `m` has a Value payload of `expected`, 8-byte aligned as ringdrop.h
 * promises. */
static int payload_is(const ringdrop_message* m, uint64_t expected) {
  return payload_value_is(m, expected, 1);
}

#define NAME_LEN 96
static void make_name(char* out, const char* what) {
  static int serial = 0;
  snprintf(out, NAME_LEN, "rdctest-msg-%ld-%s-%d", (long)getpid(), what, serial++);
}

/* ------------------------------------------------------------------ cases */

static void options_init_and_null_close(void) {
  ringdrop_message_options o;
  context = "options";
  memset(&o, 0x5a, sizeof o);
  ringdrop_message_options_init(&o);
  CHECK(o.size == sizeof o);
  CHECK(o.kind == RINGDROP_MESSAGE_NOTIFICATION);
  CHECK(o.correlation_id == 0 && o.reply_to == NULL && o.timeout_ns == 0);
  CHECK(o.schema_version == 0 && o.attempt == 1 && o.idempotent == 0);
  CHECK(o.header_keys == NULL && o.header_values == NULL && o.header_count == 0);
  ringdrop_message_options_init(NULL); /* no-op */
  ringdrop_message_close(NULL);        /* no-op */
}

static void build_open_and_read_every_field(void) {
  static const char* const keys[] = {"content-type", "trace", "empty"};
  static const char* const values[] = {"application/capnp", "abc-123", ""};
  uint64_t buf[64];
  ringdrop_message_options o;
  ringdrop_message* m = NULL;
  unsigned long long size = 0, needed = 0, id = 0, u = 0;
  uint64_t payload[VALUE_WORDS];
  unsigned int ui = 0;
  unsigned long count = 0;
  long long ns = 0, deadline = 0, left = 0;
  int i = 0, code = 0;
  const char *s = NULL, *k = NULL;
  const void* bytes = NULL;
  context = "build and read";

  ringdrop_message_options_init(&o);
  o.kind = RINGDROP_MESSAGE_REQUEST;
  o.correlation_id = 77;
  o.reply_to = "shm:some-reply-ring";
  o.timeout_ns = LONG_WAIT;
  o.schema_version = 3;
  o.attempt = 2;
  o.idempotent = 1;
  o.header_keys = keys;
  o.header_values = values;
  o.header_count = 3;
  encode_value(payload, 4242);

  /* Asking for the size, then a buffer one word short, then the right one. */
  CHECK_FAILS(ringdrop_message_build(TYPE_VALUE, payload, sizeof payload, &o, NULL, 0, &needed),
              RINGDROP_EMSGSIZE);
  CHECK(needed > sizeof payload && needed % 8 == 0 && needed <= sizeof buf);
  memset(buf, 0xee, sizeof buf);
  CHECK_FAILS(ringdrop_message_build(TYPE_VALUE, payload, sizeof payload, &o, buf, needed - 8, &size),
              RINGDROP_EMSGSIZE);
  CHECK(size == needed);
  CHECK(buf[0] == 0xeeeeeeeeeeeeeeeeULL); /* nothing written */
  CHECK_OK(ringdrop_message_build(TYPE_VALUE, payload, sizeof payload, &o, buf, sizeof buf, &size));
  CHECK(size == needed);

  CHECK_OK(ringdrop_message_open(buf, size, &m));
  if (m == NULL) return;
  memset(buf, 0, sizeof buf); /* open copied: the handle does not need buf */
  CHECK_OK(ringdrop_message_id(m, &id));
  CHECK(id != 0);
  CHECK_OK(ringdrop_message_correlation_id(m, &u));
  CHECK(u == 77);
  CHECK_OK(ringdrop_message_type_id(m, &u));
  CHECK(u == TYPE_VALUE);
  CHECK_OK(ringdrop_message_kind(m, &i));
  CHECK(i == RINGDROP_MESSAGE_REQUEST);
  CHECK_OK(ringdrop_message_schema_version(m, &ui));
  CHECK(ui == 3);
  CHECK_OK(ringdrop_message_attempt(m, &ui));
  CHECK(ui == 2);
  CHECK_OK(ringdrop_message_idempotent(m, &i));
  CHECK(i == 1);
  CHECK_OK(ringdrop_message_deadline(m, &deadline));
  CHECK(deadline > 0);
  CHECK_OK(ringdrop_message_time_left(m, &left));
  CHECK(left > 0 && left <= LONG_WAIT); /* set LONG_WAIT from the build on */
  CHECK_OK(ringdrop_message_sent_at(m, &ns));
  CHECK(ns > 0);
  CHECK_OK(ringdrop_message_reply_to(m, &s));
  CHECK(s != NULL && strcmp(s, "shm:some-reply-ring") == 0);
  CHECK_OK(ringdrop_message_header_count(m, &count));
  CHECK(count == 3);
  CHECK_OK(ringdrop_message_header(m, "trace", &s));
  CHECK(s != NULL && strcmp(s, "abc-123") == 0);
  CHECK_OK(ringdrop_message_header(m, "empty", &s));
  CHECK(s != NULL && strcmp(s, "") == 0);
  CHECK_FAILS(ringdrop_message_header(m, "absent", &s), RINGDROP_ENOTFOUND);
  CHECK_OK(ringdrop_message_header_at(m, 0, &k, &s));
  CHECK(strcmp(k, "content-type") == 0 && strcmp(s, "application/capnp") == 0);
  CHECK_OK(ringdrop_message_header_at(m, 2, &k, &s));
  CHECK(strcmp(k, "empty") == 0 && strcmp(s, "") == 0);
  CHECK_FAILS(ringdrop_message_header_at(m, 3, &k, &s), RINGDROP_ENOTFOUND);
  CHECK_OK(ringdrop_message_error(m, &code, &s));
  CHECK(code == 0 && s != NULL && s[0] == '\0');
  CHECK(payload_is(m, 4242));
  CHECK(payload_is(m, 4242)); /* made once, kept */
  CHECK_OK(ringdrop_message_bytes(m, &bytes, &u));
  CHECK(u == size && bytes != NULL);
  /* Every header read many times over: the fields were read once. */
  for (i = 0; i < 20000; ++i) {
    if (ringdrop_message_header_at(m, (unsigned long)(i % 3), &k, &s) != RINGDROP_OK) {
      CHECK(!"header_at in a loop");
      break;
    }
  }
  ringdrop_message_close(m);
}

static void defaults_and_no_payload(void) {
  uint64_t buf[32];
  unsigned long long size = 0, u = 1;
  ringdrop_message* m = NULL;
  long long ns = 0;
  unsigned long count = 9;
  unsigned int ui = 0;
  int i = -1;
  const char* s = NULL;
  const void* data = NULL;
  uint64_t v = 1;
  context = "defaults, no payload";
  /* NULL options, NULL payload of size 0: no payload at all. */
  CHECK_OK(ringdrop_message_build(5, NULL, 0, NULL, buf, sizeof buf, &size));
  CHECK_OK(ringdrop_message_view(buf, size, &m));
  if (m == NULL) return;
  CHECK_OK(ringdrop_message_kind(m, &i));
  CHECK(i == RINGDROP_MESSAGE_NOTIFICATION);
  CHECK_OK(ringdrop_message_correlation_id(m, &u));
  CHECK(u == 0);
  CHECK_OK(ringdrop_message_attempt(m, &ui));
  CHECK(ui == 1);
  CHECK_OK(ringdrop_message_deadline(m, &ns));
  CHECK(ns == 0);
  CHECK_OK(ringdrop_message_time_left(m, &ns));
  CHECK(ns == LLONG_MAX);
  CHECK_OK(ringdrop_message_reply_to(m, &s));
  CHECK(s != NULL && s[0] == '\0');
  CHECK_OK(ringdrop_message_header_count(m, &count));
  CHECK(count == 0);
  CHECK_OK(ringdrop_message_idempotent(m, &i));
  CHECK(i == 0);
  /* The payload of none: a message with a null root (16 bytes). */
  CHECK_OK(ringdrop_message_payload(m, &data, &u));
  CHECK(u == 16 && decode_value(data, u, &v) && v == 0);
  ringdrop_message_close(m);
}

static void unaligned_buffers(void) {
  uint64_t storage[40];
  uint64_t payload_storage[VALUE_WORDS + 1];
  unsigned char* odd = (unsigned char*)storage + 4;
  unsigned char* odd_payload = (unsigned char*)payload_storage + 4;
  uint64_t payload[VALUE_WORDS];
  unsigned long long size = 0;
  ringdrop_message* m = NULL;
  context = "unaligned";
  encode_value(payload, 99);
  memcpy(odd_payload, payload, sizeof payload);
  /* An unaligned payload in, an unaligned buffer out. */
  CHECK_OK(ringdrop_message_build(TYPE_VALUE, odd_payload, sizeof payload, NULL, odd,
                                  sizeof storage - 8, &size));
  /* _open copies, so unaligned bytes are fine; _view refuses them. */
  CHECK_OK(ringdrop_message_open(odd, size, &m));
  CHECK(m != NULL && payload_is(m, 99));
  ringdrop_message_close(m);
  m = (ringdrop_message*)(void*)storage;
  CHECK_FAILS(ringdrop_message_view(odd, size, &m), RINGDROP_EINVAL);
  CHECK(m == NULL);
}

/* Value 1 spoiled: word `word` (-1: none) set to `value` (word 0, the
 * segment table: `value` is the segment's size in words), then built from
 * its first `size` bytes. */
struct spoiled_value {
  const char* what;
  int word;
  uint64_t value;
  unsigned long long size;
};

static void bad_payloads_are_ebadmessage(void) {
  static const struct spoiled_value spoiled[] = {
      {"bad payloads: not whole words", -1, 0, 20},
      {"bad payloads: the segment table promises more words than there are", 0, 9, 24},
      {"bad payloads: the root pointer points past the segment", 1, 0x0000000100000000ULL | (5u << 2), 24},
      {"bad payloads: the root is a list (of 8 bytes), not a struct", 1, 0x0000004200000001ULL, 24},
      {"bad payloads: bytes after the message's end", 3, 0, 32},
  };
  uint64_t buf[64];
  uint64_t p[8];
  unsigned long long size = 0;
  size_t c;
  for (c = 0; c < sizeof spoiled / sizeof spoiled[0]; ++c) {
    context = spoiled[c].what;
    encode_value(p, 1);
    if (spoiled[c].word == 0) {
      set_segment_table(p, (uint32_t)spoiled[c].value);
    } else if (spoiled[c].word > 0) {
      p[spoiled[c].word] = spoiled[c].value;
    }
    CHECK_FAILS(ringdrop_message_build(TYPE_VALUE, p, spoiled[c].size, NULL, buf, sizeof buf, &size),
                RINGDROP_EBADMESSAGE);
  }
  context = "bad payloads";
  /* Aliased pointers: a struct of two pointers both to one 8-byte list.
   *   word 0  table {0, 4}
   *   word 1  root: struct, offset 0, 0 data words, 2 pointers
   *   word 2  pointer A: list, offset 1 (-> word 4), byte elements, 8 of them
   *   word 3  pointer B: list, offset 0 (-> word 4), the same list
   *   word 4  the bytes */
  set_segment_table(p, 4);
  p[1] = 0x0002000000000000ULL;
  p[2] = 0x0000004200000005ULL;
  p[3] = 0x0000004200000001ULL;
  p[4] = 0x0807060504030201ULL;
  CHECK_FAILS(ringdrop_message_build(TYPE_VALUE, p, 40, NULL, buf, sizeof buf, &size), RINGDROP_EBADMESSAGE);
  /* The same struct with its second pointer null is a plain message. */
  p[3] = 0;
  CHECK_OK(ringdrop_message_build(TYPE_VALUE, p, 40, NULL, buf, sizeof buf, &size));
  /* A null root is no payload. */
  set_segment_table(p, 1);
  p[1] = 0;
  CHECK_OK(ringdrop_message_build(TYPE_VALUE, p, 16, NULL, buf, sizeof buf, &size));
}

static void bad_messages_are_ebadmessage(void) {
  uint64_t buf[64], garbage[8];
  unsigned long long size;
  ringdrop_message* m = NULL;
  int i;
  context = "bad messages";
  size = build_value(buf, 64, 5, NULL);
  /* Truncated by one word, by half. */
  CHECK_FAILS(ringdrop_message_open(buf, size - 8, &m), RINGDROP_EBADMESSAGE);
  CHECK(m == NULL);
  CHECK_FAILS(ringdrop_message_view(buf, size / 2 - (size / 2) % 8, &m), RINGDROP_EBADMESSAGE);
  /* Not whole words; empty (a cancelled record). */
  CHECK_FAILS(ringdrop_message_open(buf, size - 3, &m), RINGDROP_EBADMESSAGE);
  CHECK_FAILS(ringdrop_message_open(buf, 0, &m), RINGDROP_EBADMESSAGE);
  CHECK_FAILS(ringdrop_message_view(buf, 0, &m), RINGDROP_EBADMESSAGE);
  /* Garbage. */
  for (i = 0; i < 8; ++i) garbage[i] = 0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1);
  CHECK_FAILS(ringdrop_message_open(garbage, sizeof garbage, &m), RINGDROP_EBADMESSAGE);
  CHECK(m == NULL);
  /* A flat payload is not an envelope: its root struct is too small. */
  {
    uint64_t p[VALUE_WORDS];
    encode_value(p, 1);
    /* Read as an envelope, fields past the struct read as defaults: it
     * opens, and says so by its type id 0. */
    if (ringdrop_message_open(p, sizeof p, &m) == RINGDROP_OK) {
      unsigned long long t = 1;
      CHECK_OK(ringdrop_message_type_id(m, &t));
      CHECK(t == 0);
      ringdrop_message_close(m);
      m = NULL;
    }
  }
  /* Every byte of a good message flipped in turn: never a crash. */
  for (i = 0; i < (int)size; ++i) {
    uint64_t copy[64];
    memcpy(copy, buf, (size_t)size);
    ((unsigned char*)copy)[i] ^= 0xff;
    if (ringdrop_message_open(copy, size, &m) == RINGDROP_OK) {
      const void* d;
      unsigned long long n;
      (void)ringdrop_message_payload(m, &d, &n);
      ringdrop_message_close(m);
      m = NULL;
    }
  }
}

/* The rc of ringdrop_message_build of Value 1 with `options`, into a
 * buffer large enough. */
static int build_rc(const ringdrop_message_options* options) {
  uint64_t payload[VALUE_WORDS], buf[64];
  unsigned long long size = 0;
  encode_value(payload, 1);
  return ringdrop_message_build(TYPE_VALUE, payload, sizeof payload, options, buf, sizeof buf, &size);
}

/* Message options of the defaults but `field` = `value` are refused. */
#define CHECK_OPTION_REFUSED(field, value)                \
  do {                                                    \
    ringdrop_message_options o_;                          \
    ringdrop_message_options_init(&o_);                   \
    o_.field = (value);                                   \
    CHECK_FAILS(build_rc(&o_), RINGDROP_EINVAL);          \
  } while (0)

/* Accessor `get` refuses a NULL handle and each NULL out-pointer (`m` is a
 * message, `out`... valid out-pointers): RINGDROP_EINVAL. */
#define CHECK_GET1_REFUSES_NULLS(get, m, out)  \
  do {                                         \
    CHECK_FAILS(get(NULL, out), RINGDROP_EINVAL); \
    CHECK_FAILS(get(m, NULL), RINGDROP_EINVAL);   \
  } while (0)
#define CHECK_GET2_REFUSES_NULLS(get, m, out1, out2)     \
  do {                                                   \
    CHECK_FAILS(get(NULL, out1, out2), RINGDROP_EINVAL); \
    CHECK_FAILS(get(m, NULL, out2), RINGDROP_EINVAL);    \
    CHECK_FAILS(get(m, out1, NULL), RINGDROP_EINVAL);    \
  } while (0)

static void bad_arguments_are_einval(void) {
  static const char* const keys[] = {"a", NULL};
  static const char* const values[] = {"1", "2"};
  uint64_t buf[64];
  uint64_t p[VALUE_WORDS];
  unsigned long long size = 0, u;
  ringdrop_message_options o;
  ringdrop_message* m = NULL;
  int i;
  unsigned int ui;
  long long ll;
  unsigned long count;
  const char *s, *k;
  const void* d;
  context = "bad arguments";
  encode_value(p, 1);
  CHECK_FAILS(ringdrop_message_build(TYPE_VALUE, p, sizeof p, NULL, buf, sizeof buf, NULL), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_message_build(TYPE_VALUE, NULL, 24, NULL, buf, sizeof buf, &size), RINGDROP_EINVAL);
  CHECK_OPTION_REFUSED(kind, 9);
  CHECK_OPTION_REFUSED(timeout_ns, -1);
  CHECK_OPTION_REFUSED(attempt, 70000);
  CHECK_OPTION_REFUSED(schema_version, 65536);
  CHECK_OPTION_REFUSED(header_count, 1); /* arrays NULL */
  CHECK_OPTION_REFUSED(size, 0);
  CHECK_OPTION_REFUSED(size, sizeof o + 8);
  ringdrop_message_options_init(&o);
  o.header_keys = keys;
  o.header_values = values;
  o.header_count = 2; /* keys[1] NULL */
  CHECK_FAILS(build_rc(&o), RINGDROP_EINVAL);
  /* An older program's shorter struct: the fields it knows, defaults after. */
  ringdrop_message_options_init(&o);
  o.size = sizeof(unsigned long) + sizeof(int);
  CHECK_OK(ringdrop_message_build(TYPE_VALUE, p, sizeof p, &o, buf, sizeof buf, &size));

  CHECK_FAILS(ringdrop_message_open(buf, size, NULL), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_message_view(buf, size, NULL), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_message_open(NULL, 8, &m), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_message_view(NULL, 8, &m), RINGDROP_EINVAL);

  /* Accessors: a NULL handle, and a NULL out-pointer. */
  CHECK_OK(ringdrop_message_open(buf, size, &m));
  if (m == NULL) return;
  CHECK_GET1_REFUSES_NULLS(ringdrop_message_id, m, &u);
  CHECK_GET1_REFUSES_NULLS(ringdrop_message_correlation_id, m, &u);
  CHECK_GET1_REFUSES_NULLS(ringdrop_message_type_id, m, &u);
  CHECK_GET1_REFUSES_NULLS(ringdrop_message_kind, m, &i);
  CHECK_GET1_REFUSES_NULLS(ringdrop_message_schema_version, m, &ui);
  CHECK_GET1_REFUSES_NULLS(ringdrop_message_attempt, m, &ui);
  CHECK_GET1_REFUSES_NULLS(ringdrop_message_idempotent, m, &i);
  CHECK_GET1_REFUSES_NULLS(ringdrop_message_deadline, m, &ll);
  CHECK_GET1_REFUSES_NULLS(ringdrop_message_time_left, m, &ll);
  CHECK_GET1_REFUSES_NULLS(ringdrop_message_sent_at, m, &ll);
  CHECK_GET1_REFUSES_NULLS(ringdrop_message_reply_to, m, &s);
  CHECK_GET1_REFUSES_NULLS(ringdrop_message_header_count, m, &count);
  CHECK_GET2_REFUSES_NULLS(ringdrop_message_error, m, &i, &s);
  CHECK_GET2_REFUSES_NULLS(ringdrop_message_payload, m, &d, &u);
  CHECK_GET2_REFUSES_NULLS(ringdrop_message_bytes, m, &d, &u);
  /* Those with an argument besides the handle. */
  CHECK_FAILS(ringdrop_message_header(NULL, "a", &s), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_message_header(m, NULL, &s), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_message_header(m, "a", NULL), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_message_header_at(NULL, 0, &k, &s), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_message_header_at(m, 0, NULL, &s), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_message_header_at(m, 0, &k, NULL), RINGDROP_EINVAL);
  ringdrop_message_close(m);

  CHECK_FAILS(ringdrop_message_send(NULL, TYPE_VALUE, p, sizeof p, NULL, 0), RINGDROP_EINVAL);
}

/* A consumer of `kind` on a new ring, and its producer. */
static int open_pair(int kind, char* name, ringdrop_ring** tx, ringdrop_ring** rx) {
  ringdrop_ring_options ro;
  ringdrop_ring_options_init(&ro);
  ro.capacity = 4096;
  ro.cell_size = 1024;
  make_name(name, kind == RINGDROP_RING_SPSC ? "spsc" : "mpmc");
  *tx = *rx = NULL;
  CHECK_OK(ringdrop_ring_open(name, kind, RINGDROP_ROLE_CONSUMER, RINGDROP_CREATE, &ro, rx));
  CHECK_OK(ringdrop_ring_open(name, kind, RINGDROP_ROLE_PRODUCER, RINGDROP_OPEN, &ro, tx));
  return *tx != NULL && *rx != NULL;
}

static void send_on_rings(void) {
  static const int kinds[] = {RINGDROP_RING_SPSC, RINGDROP_RING_MPMC};
  size_t k;
  for (k = 0; k < sizeof kinds / sizeof kinds[0]; ++k) {
    char name[NAME_LEN];
    ringdrop_ring *tx, *rx;
    ringdrop_message* m = NULL;
    ringdrop_message_options o;
    uint64_t p[VALUE_WORDS];
    uint64_t big[96]; /* a struct of one data word and a 90-word Data list */
    const void* data;
    unsigned long long size = 0, u = 0;
    uint64_t copy[128];
    uint64_t v;
    int rc, sent;
    context = kinds[k] == RINGDROP_RING_SPSC ? "send on spsc" : "send on mpmc";
    if (!open_pair(kinds[k], name, &tx, &rx)) goto done;

    /* In place, read in place. */
    ringdrop_message_options_init(&o);
    o.kind = RINGDROP_MESSAGE_EVENT;
    o.correlation_id = 9;
    encode_value(p, 31337);
    CHECK_OK(ringdrop_message_send(tx, TYPE_VALUE, p, sizeof p, &o, 0));
    CHECK_OK(ringdrop_ring_read(rx, 0, &data, &size));
    CHECK_OK(ringdrop_message_view(data, size, &m));
    if (m) {
      int kind = -1;
      CHECK_OK(ringdrop_message_kind(m, &kind));
      CHECK(kind == RINGDROP_MESSAGE_EVENT);
      CHECK_OK(ringdrop_message_correlation_id(m, &u));
      CHECK(u == 9);
      CHECK(payload_is(m, 31337));
    }
    ringdrop_message_close(m); /* before the view goes */
    m = NULL;
    CHECK_OK(ringdrop_ring_release(rx));

    /* Larger than the first message's estimate (256 bytes): sized exactly. */
    set_segment_table(big, 93); /* words 1-93 */
    big[1] = 0x0001000100000000ULL; /* root: struct, offset 0, 1 data word, 1 pointer */
    big[2] = 7;                     /* the data word */
    /* The pointer: a list (bits 0-1 = 1) at offset 0 (the next word), of
     * bytes (bits 32-34 = 2), 720 of them (bits 35-63): 720 << 3 | 2. */
    big[3] = 0x0000168200000001ULL;
    for (v = 0; v < 90; ++v) big[4 + v] = v * 0x0101010101010101ULL;
    CHECK_OK(ringdrop_message_send(tx, TYPE_VALUE, big, 94 * 8, NULL, 0));
    CHECK_OK(ringdrop_ring_receive(rx, copy, sizeof copy, &size, 0));
    CHECK_OK(ringdrop_message_open(copy, size, &m));
    if (m) {
      CHECK_OK(ringdrop_message_payload(m, &data, &u));
      CHECK(u == 94 * 8 && memcmp(data, big, (size_t)u) == 0); /* re-encoded as it was */
    }
    ringdrop_message_close(m);
    m = NULL;

    /* Consumer handles cannot send; too large for the ring; full. */
    CHECK_FAILS(ringdrop_message_send(rx, TYPE_VALUE, p, sizeof p, NULL, 0), RINGDROP_EINVAL);
    {
      static uint64_t huge[1 + 1 + 1 + 8192 / 8];
      set_segment_table(huge, 2 + 8192 / 8);
      huge[1] = 0x0001000000000000ULL; /* struct: 0 data, 1 pointer */
      huge[2] = 0x0000000200000001ULL | ((uint64_t)(8192u << 3) << 32);
      CHECK_FAILS(ringdrop_message_send(tx, TYPE_VALUE, huge, sizeof huge, NULL, 0), RINGDROP_EMSGSIZE);
    }
    /* An MPMC ring whose build failed may hold an empty record: readers of
     * typed messages skip them (ringdrop_message_view says EBADMESSAGE). */
    while (ringdrop_ring_read(rx, 0, &data, &size) == RINGDROP_OK) {
      CHECK(size == 0);
      CHECK_FAILS(ringdrop_message_view(data, size, &m), RINGDROP_EBADMESSAGE);
      CHECK_OK(ringdrop_ring_release(rx));
    }
    sent = 0;
    while ((rc = ringdrop_message_send(tx, TYPE_VALUE, p, sizeof p, NULL, 0)) == RINGDROP_OK) ++sent;
    CHECK(sent > 0);
    CHECK_RC(rc, RINGDROP_ETIMEDOUT);
  done:
    ringdrop_ring_close(tx);
    ringdrop_ring_close(rx);
    (void)ringdrop_ring_remove(name, 0);
  }
}

int main(void) {
  options_init_and_null_close();
  build_open_and_read_every_field();
  defaults_and_no_payload();
  unaligned_buffers();
  bad_payloads_are_ebadmessage();
  bad_messages_are_ebadmessage();
  bad_arguments_are_einval();
  send_on_rings();
  if (failures == 0) printf("abi_message_test: all checks passed\n");
  return failures == 0 ? 0 : 1;
}
