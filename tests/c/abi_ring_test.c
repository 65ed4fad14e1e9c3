/* The rings part of the C ABI, from C99 (compiled -std=c99 -pedantic
 * -Werror, linked against libringdrop.so): opening, copying and zero-copy
 * transfer, timeouts, bad arguments, and peers in other processes (fork),
 * for the SPSC, MPMC and broadcast kinds. Children announce on pipes; no
 * check depends on timing. Exit 0 when all checks pass. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "abi_check.h"
#include "ringdrop.h"

/* How often a waiter checks that its peer lives, in the tests of dead peers. */
#define LIVENESS (2 * MS)

/* A non-NULL handle value, to see that a failed open sets *ring to NULL. */
static char sentinel_byte;
#define SENTINEL ((ringdrop_ring*)(void*)&sentinel_byte)

static const int kinds[] = {RINGDROP_RING_SPSC, RINGDROP_RING_MPMC, RINGDROP_RING_BROADCAST};
#define KINDS (sizeof kinds / sizeof kinds[0])

static const char* kind_name(int kind) {
  switch (kind) {
    case RINGDROP_RING_SPSC: return "spsc";
    case RINGDROP_RING_MPMC: return "mpmc";
    case RINGDROP_RING_BROADCAST: return "broadcast";
    default: return "?";
  }
}

#define NAME_LEN 96

/* A shm name no other process or test uses. */
static void make_name(char* out, const char* what) {
  static int serial = 0;
  snprintf(out, NAME_LEN, "rdctest-%ld-%s-%d", (long)getpid(), what, serial++);
}

/* Message number `i`: its number in the first 4 bytes, then bytes derived
 * from it; 4 to `longest` bytes long. */
static size_t make_message(unsigned char* buf, uint32_t i, size_t longest) {
  const size_t n = 4 + i % (longest - 3);
  size_t j;
  memcpy(buf, &i, 4);
  for (j = 4; j < n; ++j) buf[j] = (unsigned char)(i * 131u + j * 7u);
  return n;
}

static int message_is(const void* data, unsigned long long size, uint32_t i, size_t longest) {
  unsigned char expected[256];
  const size_t n = make_message(expected, i, longest);
  return size == n && memcmp(data, expected, n) == 0;
}

static uint32_t number_of(const void* data) {
  uint32_t i;
  memcpy(&i, data, 4);
  return i;
}

/* Small rings: 4096 data bytes; 256-byte cells (16 of them). */
static ringdrop_ring_options small_options(void) {
  ringdrop_ring_options o;
  ringdrop_ring_options_init(&o);
  o.capacity = 4096;
  o.cell_size = 256;
  return o;
}

/* Creates ring `name` with a producer, then opens a consumer. */
static int open_pair(const char* name, int kind, const ringdrop_ring_options* o,
                     ringdrop_ring** tx, ringdrop_ring** rx) {
  *tx = *rx = NULL;
  CHECK_OK(ringdrop_ring_open(name, kind, RINGDROP_ROLE_PRODUCER, RINGDROP_CREATE, o, tx));
  CHECK_OK(ringdrop_ring_open(name, kind, RINGDROP_ROLE_CONSUMER, RINGDROP_OPEN, o, rx));
  return *tx != NULL && *rx != NULL;
}

static void close_pair(const char* name, ringdrop_ring* tx, ringdrop_ring* rx) {
  ringdrop_ring_close(rx);
  ringdrop_ring_close(tx);
  CHECK_OK(ringdrop_ring_remove(name, 0));
}

/* ------------------------------------------------------------ options */

static void options_init_sets_size_and_defaults(void) {
  ringdrop_ring_options o;
  memset(&o, 0xab, sizeof o);
  ringdrop_ring_options_init(&o);
  CHECK(o.size == sizeof o);
  CHECK(o.capacity == 0);
  CHECK(o.cell_size == 0);
  CHECK(o.file_backed == 0);
  CHECK(o.wait_mode == RINGDROP_WAIT_SPIN_BLOCK);
  CHECK(o.spin_ns < 0);
  CHECK(o.liveness_ns < 0);
  CHECK(o.overwrite == 0);
  CHECK(o.drop_on_consumer_death == 0);
  CHECK(o.start_at_oldest == 0);
  CHECK(o.mode == 0);
  CHECK(o.max_deliveries == 0);
  CHECK(o.dead_letters == NULL);
  ringdrop_ring_options_init(NULL); /* harmless */
}

/* A program built against the first header calls the plain symbol with a
 * struct of the first size: nothing past it is written. */
static void the_plain_init_writes_only_the_first_fields(void) {
  unsigned char bytes[sizeof(ringdrop_ring_options) + 16];
  ringdrop_ring_options* o = (ringdrop_ring_options*)(void*)bytes;
  size_t i;
  memset(bytes, 0xab, sizeof bytes);
  (ringdrop_ring_options_init)(o);
  CHECK(o->size == RINGDROP_RING_OPTIONS_FIRST_SIZE);
  CHECK(o->wait_mode == RINGDROP_WAIT_SPIN_BLOCK && o->mode == 0);
  for (i = RINGDROP_RING_OPTIONS_FIRST_SIZE; i < sizeof bytes; ++i) CHECK(bytes[i] == 0xab);
  memset(bytes, 0xab, sizeof bytes);
  ringdrop_ring_options_init_size(o, 8); /* smaller than any version: nothing written */
  CHECK(bytes[0] == 0xab);
}

/* A program built against an older header passes a smaller struct: only
 * the fields its size covers are read, the rest are the defaults. */
static void options_are_read_up_to_their_size(void) {
  char name[NAME_LEN];
  ringdrop_ring_options o;
  ringdrop_ring* r = NULL;
  unsigned long long max = 0;
  make_name(name, "prefix");
  ringdrop_ring_options_init(&o);
  o.size = sizeof(unsigned long);
  o.capacity = 12345; /* invalid if it were read */
  o.cell_size = 3;
  CHECK_OK(ringdrop_ring_open(name, RINGDROP_RING_SPSC, RINGDROP_ROLE_PRODUCER, RINGDROP_CREATE,
                              &o, &r));
  CHECK_OK(ringdrop_ring_max_message_size(r, &max));
  CHECK(max == 1048576ULL / 2 - 8); /* half the default capacity (1 MiB), less a header */
  ringdrop_ring_close(r);
  CHECK_OK(ringdrop_ring_remove(name, 0));
}

static void close_null_is_a_no_op(void) { ringdrop_ring_close(NULL); }

/* ------------------------------------------------------------ opening */

static void open_create_and_remove(int kind) {
  char name[NAME_LEN];
  ringdrop_ring *tx = SENTINEL, *rx = SENTINEL;
  unsigned char buf[16];
  unsigned long long size = 0;
  make_name(name, "open");

  CHECK_FAILS(ringdrop_ring_open(name, kind, RINGDROP_ROLE_CONSUMER, RINGDROP_OPEN, NULL, &rx),
              RINGDROP_ENOTFOUND);
  CHECK(rx == NULL);
  CHECK_FAILS(ringdrop_ring_open(name, kind, RINGDROP_ROLE_PRODUCER, RINGDROP_OPEN, NULL, &tx),
              RINGDROP_ENOTFOUND);
  CHECK(tx == NULL);

  CHECK_OK(ringdrop_ring_open(name, kind, RINGDROP_ROLE_PRODUCER, RINGDROP_CREATE, NULL, &tx));
  rx = SENTINEL;
  CHECK_FAILS(ringdrop_ring_open(name, kind, RINGDROP_ROLE_CONSUMER, RINGDROP_CREATE, NULL, &rx),
              RINGDROP_EEXISTS);
  CHECK(rx == NULL);
  /* open_or_create opens what exists: the same ring. */
  CHECK_OK(ringdrop_ring_open(name, kind, RINGDROP_ROLE_CONSUMER, RINGDROP_OPEN_OR_CREATE, NULL,
                              &rx));
  CHECK_OK(ringdrop_ring_send(tx, "same", 4, 0));
  CHECK_OK(ringdrop_ring_receive(rx, buf, sizeof buf, &size, LONG_WAIT));
  CHECK(size == 4 && memcmp(buf, "same", 4) == 0);
  ringdrop_ring_close(rx);
  ringdrop_ring_close(tx);

  /* The name outlives its handles until removed. */
  rx = NULL;
  CHECK_OK(ringdrop_ring_open(name, kind, RINGDROP_ROLE_CONSUMER, RINGDROP_OPEN, NULL, &rx));
  ringdrop_ring_close(rx);
  CHECK_OK(ringdrop_ring_remove(name, 0));
  CHECK_FAILS(ringdrop_ring_open(name, kind, RINGDROP_ROLE_CONSUMER, RINGDROP_OPEN, NULL, &rx),
              RINGDROP_ENOTFOUND);
  CHECK_FAILS(ringdrop_ring_remove(name, 0), RINGDROP_ENOTFOUND);

  /* open_or_create creates what does not exist. */
  rx = tx = NULL;
  CHECK_OK(ringdrop_ring_open(name, kind, RINGDROP_ROLE_CONSUMER, RINGDROP_OPEN_OR_CREATE, NULL,
                              &rx));
  CHECK_OK(ringdrop_ring_open(name, kind, RINGDROP_ROLE_PRODUCER, RINGDROP_OPEN, NULL, &tx));
  CHECK_OK(ringdrop_ring_send(tx, "made", 4, 0));
  CHECK_OK(ringdrop_ring_receive(rx, buf, sizeof buf, &size, LONG_WAIT));
  CHECK(size == 4 && memcmp(buf, "made", 4) == 0);
  close_pair(name, tx, rx);
}

static void another_kind_is_refused(int kind) {
  char name[NAME_LEN];
  ringdrop_ring *tx = NULL, *r = SENTINEL;
  size_t k;
  make_name(name, "kind");
  CHECK_OK(ringdrop_ring_open(name, kind, RINGDROP_ROLE_PRODUCER, RINGDROP_CREATE, NULL, &tx));
  for (k = 0; k < KINDS; ++k) {
    if (kinds[k] == kind) continue;
    CHECK_FAILS(ringdrop_ring_open(name, kinds[k], RINGDROP_ROLE_CONSUMER, RINGDROP_OPEN, NULL, &r),
                RINGDROP_EWRONGKIND);
    CHECK(r == NULL);
    CHECK_FAILS(ringdrop_ring_open(name, kinds[k], RINGDROP_ROLE_PRODUCER, RINGDROP_OPEN, NULL, &r),
                RINGDROP_EWRONGKIND);
    CHECK_FAILS(ringdrop_ring_open(name, kinds[k], RINGDROP_ROLE_CONSUMER, RINGDROP_OPEN_OR_CREATE,
                                   NULL, &r),
                RINGDROP_EWRONGKIND);
  }
  ringdrop_ring_close(tx);
  CHECK_OK(ringdrop_ring_remove(name, 0));
}

/* SPSC: one producer and one consumer; broadcast: one publisher; MPMC: many. */
static void single_roles_are_taken(void) {
  char name[NAME_LEN];
  ringdrop_ring *p1 = NULL, *p2 = SENTINEL, *c1 = NULL, *c2 = SENTINEL;
  context = "spsc";
  make_name(name, "roles");
  CHECK_OK(ringdrop_ring_open(name, RINGDROP_RING_SPSC, RINGDROP_ROLE_PRODUCER, RINGDROP_CREATE,
                              NULL, &p1));
  CHECK_FAILS(ringdrop_ring_open(name, RINGDROP_RING_SPSC, RINGDROP_ROLE_PRODUCER, RINGDROP_OPEN,
                                 NULL, &p2),
              RINGDROP_EROLETAKEN);
  CHECK(p2 == NULL);
  CHECK_OK(ringdrop_ring_open(name, RINGDROP_RING_SPSC, RINGDROP_ROLE_CONSUMER, RINGDROP_OPEN, NULL,
                              &c1));
  CHECK_FAILS(ringdrop_ring_open(name, RINGDROP_RING_SPSC, RINGDROP_ROLE_CONSUMER, RINGDROP_OPEN,
                                 NULL, &c2),
              RINGDROP_EROLETAKEN);
  CHECK(c2 == NULL);
  /* A closed handle gives its role back. */
  ringdrop_ring_close(p1);
  CHECK_OK(ringdrop_ring_open(name, RINGDROP_RING_SPSC, RINGDROP_ROLE_PRODUCER, RINGDROP_OPEN, NULL,
                              &p2));
  close_pair(name, p2, c1);

  context = "broadcast";
  make_name(name, "roles");
  p2 = SENTINEL;
  CHECK_OK(ringdrop_ring_open(name, RINGDROP_RING_BROADCAST, RINGDROP_ROLE_PRODUCER,
                              RINGDROP_CREATE, NULL, &p1));
  CHECK_FAILS(ringdrop_ring_open(name, RINGDROP_RING_BROADCAST, RINGDROP_ROLE_PRODUCER,
                                 RINGDROP_OPEN, NULL, &p2),
              RINGDROP_EROLETAKEN);
  CHECK(p2 == NULL);
  CHECK_OK(ringdrop_ring_open(name, RINGDROP_RING_BROADCAST, RINGDROP_ROLE_CONSUMER, RINGDROP_OPEN,
                              NULL, &c1));
  CHECK_OK(ringdrop_ring_open(name, RINGDROP_RING_BROADCAST, RINGDROP_ROLE_CONSUMER, RINGDROP_OPEN,
                              NULL, &c2));
  ringdrop_ring_close(c2);
  close_pair(name, p1, c1);

  context = "mpmc";
  make_name(name, "roles");
  CHECK_OK(ringdrop_ring_open(name, RINGDROP_RING_MPMC, RINGDROP_ROLE_PRODUCER, RINGDROP_CREATE,
                              NULL, &p1));
  CHECK_OK(ringdrop_ring_open(name, RINGDROP_RING_MPMC, RINGDROP_ROLE_PRODUCER, RINGDROP_OPEN, NULL,
                              &p2));
  CHECK_OK(ringdrop_ring_open(name, RINGDROP_RING_MPMC, RINGDROP_ROLE_CONSUMER, RINGDROP_OPEN, NULL,
                              &c1));
  CHECK_OK(ringdrop_ring_open(name, RINGDROP_RING_MPMC, RINGDROP_ROLE_CONSUMER, RINGDROP_OPEN, NULL,
                              &c2));
  ringdrop_ring_close(p2);
  ringdrop_ring_close(c2);
  close_pair(name, p1, c1);
}

static void file_backed_ring_round_trips(void) {
  char path[NAME_LEN];
  ringdrop_ring_options o = small_options();
  ringdrop_ring *tx = NULL, *rx = NULL;
  unsigned char buf[16];
  unsigned long long size = 0;
  context = "spsc file";
  snprintf(path, sizeof path, "/tmp/rdctest-%ld-file", (long)getpid());
  o.file_backed = 1;
  if (open_pair(path, RINGDROP_RING_SPSC, &o, &tx, &rx)) {
    CHECK_OK(ringdrop_ring_send(tx, "on disk", 7, 0));
    CHECK_OK(ringdrop_ring_receive(rx, buf, sizeof buf, &size, LONG_WAIT));
    CHECK(size == 7 && memcmp(buf, "on disk", 7) == 0);
    CHECK(access(path, F_OK) == 0);
  }
  ringdrop_ring_close(rx);
  ringdrop_ring_close(tx);
  CHECK_OK(ringdrop_ring_remove(path, 1));
  CHECK(access(path, F_OK) != 0);
  CHECK_FAILS(ringdrop_ring_remove(path, 1), RINGDROP_ENOTFOUND);
}

/* `mode` sets the permission bits exactly (umask aside); 0 is 0600. */
static void mode_sets_the_permission_bits(void) {
  char path[NAME_LEN];
  ringdrop_ring_options o = small_options();
  ringdrop_ring* tx = NULL;
  struct stat st;
  context = "mode";
  snprintf(path, sizeof path, "/tmp/rdctest-%ld-mode", (long)getpid());
  o.file_backed = 1;
  CHECK_OK(ringdrop_ring_open(path, RINGDROP_RING_MPMC, RINGDROP_ROLE_PRODUCER, RINGDROP_CREATE, &o,
                              &tx));
  CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
  ringdrop_ring_close(tx);
  CHECK_OK(ringdrop_ring_remove(path, 1));
  o.mode = 0640;
  tx = NULL;
  CHECK_OK(ringdrop_ring_open(path, RINGDROP_RING_MPMC, RINGDROP_ROLE_PRODUCER, RINGDROP_CREATE, &o,
                              &tx));
  CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0640);
  ringdrop_ring_close(tx);
  CHECK_OK(ringdrop_ring_remove(path, 1));
}

/* Every wait mode carries messages and honours timeouts. */
static void every_wait_mode_works(int kind) {
  static const int modes[] = {RINGDROP_WAIT_SPIN_BLOCK, RINGDROP_WAIT_SPIN,
                              RINGDROP_WAIT_SPIN_YIELD};
  char name[NAME_LEN];
  ringdrop_ring_options o;
  ringdrop_ring *tx, *rx;
  unsigned char buf[16];
  unsigned long long size = 0;
  size_t m;
  for (m = 0; m < sizeof modes / sizeof modes[0]; ++m) {
    ringdrop_ring_options_init(&o);
    o.wait_mode = modes[m];
    o.spin_ns = m == 0 ? 0 : 1000; /* no spinning at all, or 1 us */
    make_name(name, "wait");
    if (open_pair(name, kind, &o, &tx, &rx)) {
      CHECK_RC(ringdrop_ring_receive(rx, buf, sizeof buf, &size, 1 * MS), RINGDROP_ETIMEDOUT);
      CHECK_OK(ringdrop_ring_send(tx, "w", 1, LONG_WAIT));
      CHECK_OK(ringdrop_ring_receive(rx, buf, sizeof buf, &size, LONG_WAIT));
      CHECK(size == 1 && buf[0] == 'w');
    }
    close_pair(name, tx, rx);
  }
}

/* ----------------------------------------------------------- transfer */

static void messages_round_trip(int kind) {
  char name[NAME_LEN];
  ringdrop_ring *tx, *rx;
  unsigned char msg[64], buf[256];
  unsigned long long size = 0;
  uint32_t i;
  make_name(name, "trip");
  if (!open_pair(name, kind, NULL, &tx, &rx)) goto done;
  for (i = 0; i < 100; ++i) {
    const size_t n = make_message(msg, i, sizeof msg);
    CHECK_OK(ringdrop_ring_send(tx, msg, n, LONG_WAIT));
  }
  for (i = 0; i < 100; ++i) {
    size = 0;
    CHECK_OK(ringdrop_ring_receive(rx, buf, sizeof buf, &size, LONG_WAIT));
    CHECK(message_is(buf, size, i, sizeof msg));
  }
  /* Empty messages, from a pointer or from NULL. */
  CHECK_OK(ringdrop_ring_send(tx, msg, 0, 0));
  CHECK_OK(ringdrop_ring_send(tx, NULL, 0, 0));
  size = 99;
  CHECK_OK(ringdrop_ring_receive(rx, buf, sizeof buf, &size, LONG_WAIT));
  CHECK(size == 0);
  size = 99;
  CHECK_OK(ringdrop_ring_receive(rx, NULL, 0, &size, LONG_WAIT));
  CHECK(size == 0);
  CHECK_RC(ringdrop_ring_receive(rx, buf, sizeof buf, &size, 0), RINGDROP_ETIMEDOUT);
done:
  close_pair(name, tx, rx);
}

/* A receive into a buffer too small keeps the message for the next call. */
static void too_small_buffer_keeps_the_message(int kind) {
  char name[NAME_LEN];
  ringdrop_ring *tx, *rx;
  unsigned char small[4], big[64];
  const void* data = NULL;
  unsigned long long size = 0;
  make_name(name, "small");
  if (!open_pair(name, kind, NULL, &tx, &rx)) goto done;
  CHECK_OK(ringdrop_ring_send(tx, "hello, ring", 11, 0));
  CHECK_OK(ringdrop_ring_send(tx, "second", 6, 0));
  CHECK_OK(ringdrop_ring_send(tx, "third", 5, 0));

  CHECK_FAILS(ringdrop_ring_receive(rx, small, sizeof small, &size, LONG_WAIT), RINGDROP_EMSGSIZE);
  CHECK(size == 11);
  size = 0;
  CHECK_FAILS(ringdrop_ring_receive(rx, small, sizeof small, &size, 0), RINGDROP_EMSGSIZE);
  CHECK(size == 11); /* still the same message */
  size = 0;
  CHECK_OK(ringdrop_ring_receive(rx, big, sizeof big, &size, 0));
  CHECK(size == 11 && memcmp(big, "hello, ring", 11) == 0);

  /* The next read gets it too. */
  CHECK_FAILS(ringdrop_ring_receive(rx, small, sizeof small, &size, LONG_WAIT), RINGDROP_EMSGSIZE);
  CHECK(size == 6);
  size = 0;
  CHECK_OK(ringdrop_ring_read(rx, 0, &data, &size));
  CHECK(size == 6 && data != NULL && memcmp(data, "second", 6) == 0);
  CHECK_OK(ringdrop_ring_release(rx));

  /* Nothing skipped: the third comes next, exactly fitting. */
  CHECK_OK(ringdrop_ring_receive(rx, big, 5, &size, LONG_WAIT));
  CHECK(size == 5 && memcmp(big, "third", 5) == 0);
  CHECK_RC(ringdrop_ring_receive(rx, big, sizeof big, &size, 0), RINGDROP_ETIMEDOUT);
done:
  close_pair(name, tx, rx);
}

static void zero_copy_reserve_commit_read_release(int kind) {
  char name[NAME_LEN];
  ringdrop_ring *tx, *rx;
  void* slot = NULL;
  const void* data = NULL;
  unsigned long long size = 0;
  unsigned char expected[100];
  size_t j;
  make_name(name, "zero");
  if (!open_pair(name, kind, NULL, &tx, &rx)) goto done;
  for (j = 0; j < sizeof expected; ++j) expected[j] = (unsigned char)(j * 3 + 1);

  CHECK_OK(ringdrop_ring_reserve(tx, 100, LONG_WAIT, &slot));
  CHECK(slot != NULL && (uintptr_t)slot % 8 == 0);
  if (slot) memcpy(slot, expected, 60);
  CHECK_OK(ringdrop_ring_commit(tx, 60)); /* fewer bytes than reserved */
  CHECK_OK(ringdrop_ring_read(rx, LONG_WAIT, &data, &size));
  CHECK(size == 60 && data != NULL && memcmp(data, expected, 60) == 0);
  CHECK_OK(ringdrop_ring_release(rx));
  CHECK_RC(ringdrop_ring_read(rx, 0, &data, &size), RINGDROP_ETIMEDOUT);

  /* Committing nothing reserved, or more than reserved. */
  CHECK_FAILS(ringdrop_ring_commit(tx, 1), RINGDROP_EINVAL);
  slot = NULL;
  CHECK_OK(ringdrop_ring_reserve(tx, 16, 0, &slot));
  CHECK(slot != NULL && (uintptr_t)slot % 8 == 0);
  if (slot) memcpy(slot, expected, 16);
  CHECK_FAILS(ringdrop_ring_commit(tx, 17), RINGDROP_EINVAL);
  CHECK_OK(ringdrop_ring_commit(tx, 16));
  CHECK_OK(ringdrop_ring_read(rx, LONG_WAIT, &data, &size));
  CHECK(size == 16 && data != NULL && memcmp(data, expected, 16) == 0);
  CHECK_OK(ringdrop_ring_release(rx));
  /* Releasing with nothing read is harmless. */
  CHECK_OK(ringdrop_ring_release(rx));
done:
  close_pair(name, tx, rx);
}

/* Several reads, all views valid together, then one release hands back the
 * space of them all. */
static void several_reads_then_one_release(int kind) {
  enum { MAXMSG = 64, LEN = 200 };
  char name[NAME_LEN];
  const ringdrop_ring_options o = small_options();
  ringdrop_ring *tx, *rx;
  const void* views[MAXMSG];
  unsigned long long sizes[MAXMSG], size = 0;
  unsigned char msg[LEN], buf[LEN];
  int count = 0, i, rc = RINGDROP_OK;
  const void* data = NULL;
  make_name(name, "batch");
  if (!open_pair(name, kind, &o, &tx, &rx)) goto done;
  memset(msg, 0, sizeof msg);
  /* Fill the ring. */
  while (count < MAXMSG) {
    msg[0] = (unsigned char)count;
    rc = ringdrop_ring_send(tx, msg, LEN, 0);
    if (rc != RINGDROP_OK) break;
    ++count;
  }
  CHECK_RC(rc, RINGDROP_ETIMEDOUT);
  CHECK(count > 2 && count < MAXMSG);
  CHECK_RC(ringdrop_ring_send(tx, msg, LEN, 1 * MS), RINGDROP_ETIMEDOUT);

  for (i = 0; i < count; ++i) {
    views[i] = NULL;
    sizes[i] = 0;
    CHECK_OK(ringdrop_ring_read(rx, LONG_WAIT, &views[i], &sizes[i]));
  }
  for (i = 0; i < count; ++i) {
    CHECK(views[i] != NULL && sizes[i] == LEN);
    if (views[i]) CHECK(((const unsigned char*)views[i])[0] == (unsigned char)i);
  }
  CHECK_RC(ringdrop_ring_read(rx, 0, &data, &size), RINGDROP_ETIMEDOUT);
  /* Read but not released: still no room. */
  CHECK_RC(ringdrop_ring_send(tx, msg, LEN, 0), RINGDROP_ETIMEDOUT);
  CHECK_OK(ringdrop_ring_release(rx));
  CHECK_RC(ringdrop_ring_receive(rx, buf, sizeof buf, &size, 0), RINGDROP_ETIMEDOUT);

  /* Room again (SPSC may lose one record's worth to the wrap). */
  for (i = 0; i < count - 1; ++i) {
    msg[0] = (unsigned char)(100 + i);
    CHECK_OK(ringdrop_ring_send(tx, msg, LEN, 0));
  }
  for (i = 0; i < count - 1; ++i) {
    CHECK_OK(ringdrop_ring_receive(rx, buf, sizeof buf, &size, LONG_WAIT));
    CHECK(size == LEN && buf[0] == (unsigned char)(100 + i));
  }
done:
  close_pair(name, tx, rx);
}

static void max_message_size_is_the_limit(int kind) {
  char name[NAME_LEN];
  ringdrop_ring_options o = small_options();
  ringdrop_ring *tx, *rx;
  unsigned long long max_tx = 0, max_rx = 0, size = 0, expected;
  static unsigned char msg[4097], buf[4097];
  void* slot = NULL;
  size_t j;
  char detail[128];
  o.cell_size = 128;
  expected = kind == RINGDROP_RING_SPSC ? 4096 / 2 - 8 : 128 - 16;
  make_name(name, "max");
  if (!open_pair(name, kind, &o, &tx, &rx)) goto done;
  CHECK_OK(ringdrop_ring_max_message_size(tx, &max_tx));
  CHECK_OK(ringdrop_ring_max_message_size(rx, &max_rx));
  CHECK(max_tx == expected);
  CHECK(max_rx == max_tx);
  for (j = 0; j < sizeof msg; ++j) msg[j] = (unsigned char)(j * 13 + 5);

  CHECK_OK(ringdrop_ring_send(tx, msg, max_tx, LONG_WAIT));
  CHECK_OK(ringdrop_ring_receive(rx, buf, sizeof buf, &size, LONG_WAIT));
  CHECK(size == max_tx && memcmp(buf, msg, (size_t)max_tx) == 0);

  /* Larger: refused at once, whatever the timeout. */
  CHECK_RC(ringdrop_ring_send(tx, msg, max_tx + 1, 0), RINGDROP_EMSGSIZE);
  CHECK_RC(ringdrop_ring_send(tx, msg, max_tx + 1, LONG_WAIT), RINGDROP_EMSGSIZE);
  CHECK_RC(ringdrop_ring_reserve(tx, max_tx + 1, LONG_WAIT, &slot), RINGDROP_EMSGSIZE);
  /* ... saying the size asked and the largest possible. */
  sprintf(detail, "a message of %llu bytes; the largest this ring takes is %llu", max_tx + 1, max_tx);
  CHECK(strstr(ringdrop_last_error_message(), detail) != NULL);
  CHECK_RC(ringdrop_ring_receive(rx, buf, sizeof buf, &size, 0), RINGDROP_ETIMEDOUT);
done:
  close_pair(name, tx, rx);
}

static void empty_ring_times_out(int kind) {
  char name[NAME_LEN];
  ringdrop_ring *tx, *rx;
  unsigned char buf[16];
  unsigned long long size = 0;
  const void* data = NULL;
  void* slot = NULL;
  make_name(name, "timeout");
  if (!open_pair(name, kind, NULL, &tx, &rx)) goto done;
  CHECK_RC(ringdrop_ring_receive(rx, buf, sizeof buf, &size, 0), RINGDROP_ETIMEDOUT);
  CHECK_RC(ringdrop_ring_receive(rx, buf, sizeof buf, &size, 1 * MS), RINGDROP_ETIMEDOUT);
  CHECK_RC(ringdrop_ring_read(rx, 0, &data, &size), RINGDROP_ETIMEDOUT);
  CHECK_RC(ringdrop_ring_read(rx, 1 * MS, &data, &size), RINGDROP_ETIMEDOUT);

  CHECK_FAILS(ringdrop_ring_receive(rx, buf, sizeof buf, &size, -1), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_ring_read(rx, -1, &data, &size), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_ring_send(tx, "x", 1, -1), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_ring_reserve(tx, 1, -1 * MS, &slot), RINGDROP_EINVAL);

  /* Nothing was sent by the refused calls; the ring still works. */
  CHECK_RC(ringdrop_ring_receive(rx, buf, sizeof buf, &size, 0), RINGDROP_ETIMEDOUT);
  CHECK_OK(ringdrop_ring_send(tx, "y", 1, 0));
  CHECK_OK(ringdrop_ring_receive(rx, buf, sizeof buf, &size, LONG_WAIT));
  CHECK(size == 1 && buf[0] == 'y');
  /* The largest timeout is fine (no overflow). */
  CHECK_OK(ringdrop_ring_send(tx, "z", 1, LLONG_MAX));
  CHECK_OK(ringdrop_ring_read(rx, LLONG_MAX, &data, &size));
  CHECK(size == 1 && data != NULL && ((const unsigned char*)data)[0] == 'z');
  CHECK_OK(ringdrop_ring_release(rx));
done:
  close_pair(name, tx, rx);
}

/* ------------------------------------------------------ bad arguments */

static void bad_arguments_are_einval(void) {
  char name[NAME_LEN];
  ringdrop_ring_options o;
  ringdrop_ring *r = SENTINEL, *tx = NULL, *rx = NULL;
  unsigned long long size = 0;
  const void* data = NULL;
  void* slot = NULL;
  unsigned char buf[16];
  context = "arguments";
  make_name(name, "bad");

#define OPEN_FAILS(n, kind, role, how, opts)                                    \
  do {                                                                          \
    r = SENTINEL;                                                               \
    CHECK_FAILS(ringdrop_ring_open(n, kind, role, how, opts, &r), RINGDROP_EINVAL); \
    CHECK(r == NULL);                                                           \
  } while (0)

  OPEN_FAILS(NULL, RINGDROP_RING_SPSC, RINGDROP_ROLE_PRODUCER, RINGDROP_CREATE, NULL);
  OPEN_FAILS("", RINGDROP_RING_SPSC, RINGDROP_ROLE_PRODUCER, RINGDROP_CREATE, NULL);
  OPEN_FAILS("has/slash", RINGDROP_RING_SPSC, RINGDROP_ROLE_PRODUCER, RINGDROP_CREATE, NULL);
  OPEN_FAILS(name, 0, RINGDROP_ROLE_PRODUCER, RINGDROP_CREATE, NULL);
  OPEN_FAILS(name, 4, RINGDROP_ROLE_PRODUCER, RINGDROP_CREATE, NULL);
  OPEN_FAILS(name, -1, RINGDROP_ROLE_CONSUMER, RINGDROP_OPEN_OR_CREATE, NULL);
  OPEN_FAILS(name, RINGDROP_RING_SPSC, 0, RINGDROP_CREATE, NULL);
  OPEN_FAILS(name, RINGDROP_RING_MPMC, 3, RINGDROP_CREATE, NULL);
  OPEN_FAILS(name, RINGDROP_RING_BROADCAST, RINGDROP_ROLE_PRODUCER, -1, NULL);
  OPEN_FAILS(name, RINGDROP_RING_BROADCAST, RINGDROP_ROLE_PRODUCER, 3, NULL);
  ringdrop_ring_options_init(&o);
  o.size = 0;
  OPEN_FAILS(name, RINGDROP_RING_SPSC, RINGDROP_ROLE_PRODUCER, RINGDROP_CREATE, &o);
  o.size = sizeof o + 8; /* a newer program's options: unknown fields */
  OPEN_FAILS(name, RINGDROP_RING_SPSC, RINGDROP_ROLE_PRODUCER, RINGDROP_CREATE, &o);
  ringdrop_ring_options_init(&o);
  o.capacity = 5000; /* not a power of two */
  OPEN_FAILS(name, RINGDROP_RING_SPSC, RINGDROP_ROLE_PRODUCER, RINGDROP_CREATE, &o);
  ringdrop_ring_options_init(&o);
  o.cell_size = 100; /* not a power of two */
  OPEN_FAILS(name, RINGDROP_RING_MPMC, RINGDROP_ROLE_PRODUCER, RINGDROP_CREATE, &o);
  OPEN_FAILS(name, RINGDROP_RING_BROADCAST, RINGDROP_ROLE_PRODUCER, RINGDROP_CREATE, &o);
  CHECK_FAILS(ringdrop_ring_open(name, RINGDROP_RING_SPSC, RINGDROP_ROLE_PRODUCER, RINGDROP_CREATE,
                                 NULL, NULL),
              RINGDROP_EINVAL);
  /* None of them created the ring. */
  CHECK_FAILS(ringdrop_ring_open(name, RINGDROP_RING_SPSC, RINGDROP_ROLE_CONSUMER, RINGDROP_OPEN,
                                 NULL, &r),
              RINGDROP_ENOTFOUND);
#undef OPEN_FAILS
  CHECK_FAILS(ringdrop_ring_remove(NULL, 0), RINGDROP_EINVAL);

  /* A NULL handle. */
  CHECK_FAILS(ringdrop_ring_max_message_size(NULL, &size), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_ring_send(NULL, "x", 1, 0), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_ring_receive(NULL, buf, sizeof buf, &size, 0), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_ring_reserve(NULL, 1, 0, &slot), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_ring_commit(NULL, 1), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_ring_read(NULL, 0, &data, &size), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_ring_release(NULL), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_ring_last_missed(NULL, &size), RINGDROP_EINVAL);

  /* NULL out pointers and data. */
  if (open_pair(name, RINGDROP_RING_BROADCAST, NULL, &tx, &rx)) {
    CHECK_FAILS(ringdrop_ring_max_message_size(tx, NULL), RINGDROP_EINVAL);
    CHECK_FAILS(ringdrop_ring_send(tx, NULL, 5, 0), RINGDROP_EINVAL);
    CHECK_FAILS(ringdrop_ring_reserve(tx, 8, 0, NULL), RINGDROP_EINVAL);
    CHECK_OK(ringdrop_ring_send(tx, "kept", 4, 0));
    CHECK_FAILS(ringdrop_ring_receive(rx, NULL, 10, &size, 0), RINGDROP_EINVAL);
    CHECK_FAILS(ringdrop_ring_receive(rx, buf, sizeof buf, NULL, 0), RINGDROP_EINVAL);
    CHECK_FAILS(ringdrop_ring_read(rx, 0, NULL, &size), RINGDROP_EINVAL);
    CHECK_FAILS(ringdrop_ring_read(rx, 0, &data, NULL), RINGDROP_EINVAL);
    CHECK_FAILS(ringdrop_ring_last_missed(rx, NULL), RINGDROP_EINVAL);
    /* The refused calls took nothing. */
    size = 0;
    CHECK_OK(ringdrop_ring_receive(rx, buf, sizeof buf, &size, LONG_WAIT));
    CHECK(size == 4 && memcmp(buf, "kept", 4) == 0);
  }
  close_pair(name, tx, rx);
}

/* A producer asked to read, a consumer asked to send. */
static void the_wrong_role_is_einval(int kind) {
  char name[NAME_LEN];
  ringdrop_ring *tx, *rx;
  unsigned char buf[16];
  unsigned long long size = 0, missed = 99;
  const void* data = NULL;
  void* slot = NULL;
  make_name(name, "role");
  if (!open_pair(name, kind, NULL, &tx, &rx)) goto done;
  CHECK_FAILS(ringdrop_ring_read(tx, 0, &data, &size), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_ring_receive(tx, buf, sizeof buf, &size, 0), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_ring_release(tx), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_ring_last_missed(tx, &missed), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_ring_send(rx, "x", 1, 0), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_ring_reserve(rx, 1, 0, &slot), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_ring_commit(rx, 1), RINGDROP_EINVAL);
  if (kind == RINGDROP_RING_BROADCAST) {
    CHECK_OK(ringdrop_ring_last_missed(rx, &missed));
    CHECK(missed == 0);
  } else {
    CHECK_FAILS(ringdrop_ring_last_missed(rx, &missed), RINGDROP_EINVAL);
  }
  /* Both still work. */
  CHECK_OK(ringdrop_ring_send(tx, "ok", 2, 0));
  CHECK_OK(ringdrop_ring_receive(rx, buf, sizeof buf, &size, LONG_WAIT));
  CHECK(size == 2 && memcmp(buf, "ok", 2) == 0);
done:
  close_pair(name, tx, rx);
}

/* ---------------------------------------------------------- broadcast */

/* A subscriber lapped by an overwriting publisher is told, and told how
 * many it missed; it goes on with the oldest message still there. */
static void lapped_subscriber_is_told_what_it_missed(int use_read) {
  enum { SENT = 200, LONGEST = 48 };
  char name[NAME_LEN];
  ringdrop_ring_options o;
  ringdrop_ring *tx, *rx;
  unsigned char msg[LONGEST], buf[LONGEST];
  unsigned long long size = 0, missed = 0, received = 0;
  const void* data = NULL;
  uint32_t i, next;
  int rc;
  context = use_read ? "broadcast lapped read" : "broadcast lapped receive";
  ringdrop_ring_options_init(&o);
  o.capacity = 4096;
  o.cell_size = 64; /* 64 cells, messages up to 48 bytes */
  o.overwrite = 1;
  make_name(name, "lapped");
  if (!open_pair(name, RINGDROP_RING_BROADCAST, &o, &tx, &rx)) goto done;
  for (i = 0; i < SENT; ++i) {
    const size_t n = make_message(msg, i, sizeof msg);
    CHECK_OK(ringdrop_ring_send(tx, msg, n, 0)); /* never waits */
  }
  rc = use_read ? ringdrop_ring_read(rx, LONG_WAIT, &data, &size)
                : ringdrop_ring_receive(rx, buf, sizeof buf, &size, LONG_WAIT);
  CHECK_RC(rc, RINGDROP_EMESSAGELOST);
  CHECK_OK(ringdrop_ring_last_missed(rx, &missed));
  CHECK(missed > 0 && missed < SENT);
  /* The rest, in order, from the oldest still there, to the last. */
  next = (uint32_t)missed;
  for (;;) {
    if (use_read) {
      rc = ringdrop_ring_read(rx, 0, &data, &size);
    } else {
      rc = ringdrop_ring_receive(rx, buf, sizeof buf, &size, 0);
      data = buf;
    }
    if (rc != RINGDROP_OK) break;
    CHECK(number_of(data) == next);
    CHECK(message_is(data, size, next, sizeof msg));
    ++next;
    ++received;
  }
  CHECK_RC(rc, RINGDROP_ETIMEDOUT);
  CHECK(next == SENT);
  CHECK(missed + received == SENT);
  if (use_read) CHECK_OK(ringdrop_ring_release(rx));
done:
  close_pair(name, tx, rx);
}

/* A view overwritten while held is caught by the release. */
static void overwritten_view_is_caught_by_release(void) {
  char name[NAME_LEN];
  ringdrop_ring_options o;
  ringdrop_ring *tx, *rx;
  const void* data = NULL;
  unsigned long long size = 0, missed = 0;
  int i;
  context = "broadcast held";
  ringdrop_ring_options_init(&o);
  o.capacity = 4096;
  o.cell_size = 64;
  o.overwrite = 1;
  make_name(name, "held");
  if (!open_pair(name, RINGDROP_RING_BROADCAST, &o, &tx, &rx)) goto done;
  CHECK_OK(ringdrop_ring_send(tx, "first", 5, 0));
  CHECK_OK(ringdrop_ring_read(rx, LONG_WAIT, &data, &size));
  CHECK(size == 5);
  for (i = 0; i < 100; ++i) CHECK_OK(ringdrop_ring_send(tx, "later", 5, 0));
  CHECK_RC(ringdrop_ring_release(rx), RINGDROP_EMESSAGELOST);
  CHECK_OK(ringdrop_ring_last_missed(rx, &missed));
  CHECK(missed > 0);
done:
  close_pair(name, tx, rx);
}

static void late_subscriber_starts_at_newest_or_oldest(void) {
  char name[NAME_LEN];
  ringdrop_ring_options o;
  ringdrop_ring *tx = NULL, *newest = NULL, *oldest = NULL;
  unsigned char buf[16];
  unsigned long long size = 0;
  context = "broadcast start";
  ringdrop_ring_options_init(&o);
  make_name(name, "start");
  CHECK_OK(ringdrop_ring_open(name, RINGDROP_RING_BROADCAST, RINGDROP_ROLE_PRODUCER,
                              RINGDROP_CREATE, &o, &tx));
  CHECK_OK(ringdrop_ring_send(tx, "a", 1, 0));
  CHECK_OK(ringdrop_ring_send(tx, "b", 1, 0));
  CHECK_OK(ringdrop_ring_open(name, RINGDROP_RING_BROADCAST, RINGDROP_ROLE_CONSUMER, RINGDROP_OPEN,
                              &o, &newest));
  o.start_at_oldest = 1;
  CHECK_OK(ringdrop_ring_open(name, RINGDROP_RING_BROADCAST, RINGDROP_ROLE_CONSUMER, RINGDROP_OPEN,
                              &o, &oldest));
  CHECK_OK(ringdrop_ring_send(tx, "c", 1, 0));
  if (newest) {
    CHECK_OK(ringdrop_ring_receive(newest, buf, sizeof buf, &size, LONG_WAIT));
    CHECK(size == 1 && buf[0] == 'c');
    CHECK_RC(ringdrop_ring_receive(newest, buf, sizeof buf, &size, 0), RINGDROP_ETIMEDOUT);
  }
  if (oldest) {
    CHECK_OK(ringdrop_ring_receive(oldest, buf, sizeof buf, &size, LONG_WAIT));
    CHECK(size == 1 && buf[0] == 'a');
    CHECK_OK(ringdrop_ring_receive(oldest, buf, sizeof buf, &size, LONG_WAIT));
    CHECK(size == 1 && buf[0] == 'b');
    CHECK_OK(ringdrop_ring_receive(oldest, buf, sizeof buf, &size, LONG_WAIT));
    CHECK(size == 1 && buf[0] == 'c');
    CHECK_RC(ringdrop_ring_receive(oldest, buf, sizeof buf, &size, 0), RINGDROP_ETIMEDOUT);
  }
  ringdrop_ring_close(oldest);
  close_pair(name, tx, newest);
}

/* MPMC: each message goes to exactly one of the competing consumers. */
static void competing_consumers_share_the_messages(void) {
  char name[NAME_LEN];
  ringdrop_ring *tx, *rx, *rx2 = NULL;
  unsigned char msg[64], buf[64];
  unsigned long long size = 0;
  int seen[20] = {0};
  uint32_t i;
  int rc, taken = 0, k;
  context = "mpmc competing";
  make_name(name, "compete");
  if (!open_pair(name, RINGDROP_RING_MPMC, NULL, &tx, &rx)) goto done;
  CHECK_OK(ringdrop_ring_open(name, RINGDROP_RING_MPMC, RINGDROP_ROLE_CONSUMER, RINGDROP_OPEN, NULL,
                              &rx2));
  for (i = 0; i < 20; ++i) CHECK_OK(ringdrop_ring_send(tx, msg, make_message(msg, i, sizeof msg), 0));
  for (k = 0; k < 7; ++k) {
    CHECK_OK(ringdrop_ring_receive(rx, buf, sizeof buf, &size, LONG_WAIT));
    if (number_of(buf) < 20) ++seen[number_of(buf)];
    ++taken;
  }
  while ((rc = ringdrop_ring_receive(rx2, buf, sizeof buf, &size, 0)) == RINGDROP_OK) {
    CHECK(message_is(buf, size, number_of(buf), sizeof msg));
    if (number_of(buf) < 20) ++seen[number_of(buf)];
    ++taken;
  }
  CHECK_RC(rc, RINGDROP_ETIMEDOUT);
  CHECK(taken == 20);
  for (k = 0; k < 20; ++k) CHECK(seen[k] == 1);
  CHECK_RC(ringdrop_ring_receive(rx, buf, sizeof buf, &size, 0), RINGDROP_ETIMEDOUT);
  ringdrop_ring_close(rx2);
done:
  close_pair(name, tx, rx);
}

/* ------------------------------------------------------ poison messages */

static void poison_reject_requeue_and_count(int kind) {
  char name[NAME_LEN], store[64] = "/dev/shm/rdc-dlq-XXXXXX", dir[256], cmd[128], ids[256];
  ringdrop_ring *tx, *rx;
  ringdrop_drop* channel = NULL;
  ringdrop_ring_options o = small_options();
  unsigned char buf[64];
  unsigned long long size = 0;
  unsigned long needed = 0;
  unsigned int count = 99;
  context = kind == RINGDROP_RING_SPSC ? "spsc poison" : "mpmc poison";
  make_name(name, "poison");
  if (!mkdtemp(store)) {
    CHECK(0 && "mkdtemp");
    return;
  }
  o.dead_letters = store;
  if (!open_pair(name, kind, &o, &tx, &rx)) goto done;
  CHECK_FAILS(ringdrop_ring_delivery_count(tx, &count), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_ring_reject(rx, "nothing held"), RINGDROP_EINVAL);
  CHECK_OK(ringdrop_ring_send(tx, "first", 5, LONG_WAIT));
  CHECK_OK(ringdrop_ring_send(tx, "second", 6, LONG_WAIT));
  CHECK_OK(ringdrop_ring_receive(rx, buf, sizeof buf, &size, LONG_WAIT));
  CHECK(size == 5 && memcmp(buf, "first", 5) == 0);
  CHECK_OK(ringdrop_ring_delivery_count(rx, &count));
  CHECK(count == 1);
  /* receive released it: read the second and reject that one */
  {
    const void* data = NULL;
    CHECK_OK(ringdrop_ring_read(rx, LONG_WAIT, &data, &size));
    CHECK(size == 6 && memcmp(data, "second", 6) == 0);
    CHECK_OK(ringdrop_ring_reject(rx, "cannot parse"));
  }
  CHECK_RC(ringdrop_ring_receive(rx, buf, sizeof buf, &size, 0), RINGDROP_ETIMEDOUT);

  CHECK_OK(ringdrop_drop_open(store, NULL, &channel));
  CHECK_OK(ringdrop_drop_dead_letters(channel, ids, sizeof ids, &needed));
  CHECK(strchr(ids, '\n') != NULL && strchr(ids, '\n') == strrchr(ids, '\n')); /* exactly one */
  if (strchr(ids, '\n')) *strchr(ids, '\n') = '\0';
  if (kind == RINGDROP_RING_SPSC) {
    CHECK_FAILS(ringdrop_ring_dead_letter_requeue(name, 0, store, ids, LONG_WAIT), RINGDROP_EROLETAKEN);
    ringdrop_ring_close(tx); /* the one producer gives its role to the requeue */
    tx = NULL;
  }
  CHECK_OK(ringdrop_ring_dead_letter_requeue(name, 0, store, ids, LONG_WAIT));
  CHECK_OK(ringdrop_ring_receive(rx, buf, sizeof buf, &size, LONG_WAIT));
  CHECK(size == 6 && memcmp(buf, "second", 6) == 0);
  CHECK_OK(ringdrop_ring_delivery_count(rx, &count));
  CHECK(count == 1);
  CHECK_FAILS(ringdrop_ring_dead_letter_requeue(name, 0, store, ids, LONG_WAIT), RINGDROP_ENOTFOUND);
done:
  ringdrop_drop_close(channel);
  close_pair(name, tx, rx);
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", store);
  CHECK(system(cmd) == 0);

  CHECK_FAILS(ringdrop_ring_dead_letter_dir("orders", 0, dir, 4, &needed), RINGDROP_EMSGSIZE);
  CHECK(needed > 4);
  CHECK_OK(ringdrop_ring_dead_letter_dir("orders", 0, dir, sizeof dir, &needed));
  CHECK(strncmp(dir, "/dev/shm/ringdrop-dlq-", 22) == 0 && strlen(dir) + 1 == needed);
  o.max_deliveries = 1001;
  make_name(name, "poison-max");
  CHECK_FAILS(ringdrop_ring_open(name, kind, RINGDROP_ROLE_PRODUCER, RINGDROP_CREATE, &o, &tx), RINGDROP_EINVAL);
}

/* ------------------------------------------------------ other processes */

static void put_byte(int fd, char c) {
  ssize_t n;
  do n = write(fd, &c, 1);
  while (n < 0 && errno == EINTR);
}

/* The next byte from `fd`, or 0 at end of file. */
static char get_byte(int fd) {
  char c = 0;
  ssize_t n;
  do n = read(fd, &c, 1);
  while (n < 0 && errno == EINTR);
  return n == 1 ? c : 0;
}

/* The child of dead_producer_*: creates the ring as producer, says 'R',
 * waits for 'G', sends; with `count` >= 0 sends that many and says 'D', else
 * sends until killed. Then waits to be killed (or for its parent to go). */
static void producer_child(const char* name, int kind, long count, int up, int down) {
  ringdrop_ring* tx = NULL;
  unsigned char msg[64];
  uint32_t i = 0;
  if (ringdrop_ring_open(name, kind, RINGDROP_ROLE_PRODUCER, RINGDROP_CREATE, NULL, &tx) != 0) {
    fprintf(stderr, "producer child: open: %s\n", ringdrop_last_error_message());
    put_byte(up, 'F');
    _exit(1);
  }
  put_byte(up, 'R');
  if (get_byte(down) != 'G') _exit(1);
  for (i = 0; count < 0 || (long)i < count; ++i) {
    const size_t n = make_message(msg, i, sizeof msg);
    int rc;
    do rc = ringdrop_ring_send(tx, msg, n, LONG_WAIT);
    while (rc == RINGDROP_ETIMEDOUT);
    if (rc != RINGDROP_OK) {
      fprintf(stderr, "producer child: send %u: %s\n", (unsigned)i, ringdrop_strerror(rc));
      put_byte(up, 'F');
      break;
    }
  }
  if (count >= 0) put_byte(up, 'D');
  (void)get_byte(down); /* killed here; or the parent went */
  _exit(0);
}

/* A producer in another process is killed (kill -9): the consumer gets
 * every message it committed, then RINGDROP_EPEERGONE. `midstream`: killed
 * while sending, after the consumer has seen some. */
static void dead_producer_is_peer_gone(int kind, int midstream) {
  enum { COUNT = 1000, SEEN_BEFORE_KILL = 2000 };
  char name[NAME_LEN];
  int up[2], down[2];
  pid_t pid;
  int status = 0, rc = RINGDROP_OK;
  ringdrop_ring* rx = NULL;
  ringdrop_ring_options o;
  unsigned char buf[64];
  unsigned long long size = 0;
  uint32_t next = 0;
  make_name(name, midstream ? "kill-mid" : "kill-done");
  if (pipe(up) != 0 || pipe(down) != 0) {
    CHECK(!"pipe");
    return;
  }
  fflush(NULL);
  pid = fork();
  if (pid < 0) {
    CHECK(!"fork");
    return;
  }
  if (pid == 0) {
    close(up[0]);
    close(down[1]);
    producer_child(name, kind, midstream ? -1 : COUNT, up[1], down[0]);
  }
  close(up[1]);
  close(down[0]);

  CHECK(get_byte(up[0]) == 'R');
  ringdrop_ring_options_init(&o);
  o.liveness_ns = LIVENESS;
  CHECK_OK(ringdrop_ring_open(name, kind, RINGDROP_ROLE_CONSUMER, RINGDROP_OPEN, &o, &rx));
  put_byte(down[1], 'G');
  if (rx == NULL) goto reap;

  if (!midstream) {
    CHECK(get_byte(up[0]) == 'D'); /* all sent */
  } else {
    for (; next < SEEN_BEFORE_KILL; ++next) {
      rc = ringdrop_ring_receive(rx, buf, sizeof buf, &size, LONG_WAIT);
      if (rc != RINGDROP_OK) break;
      CHECK(message_is(buf, size, next, sizeof buf));
    }
    CHECK_RC(rc, RINGDROP_OK);
  }
reap:
  kill(pid, SIGKILL);
  CHECK(waitpid(pid, &status, 0) == pid);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  close(up[0]);
  close(down[1]);
  if (rx == NULL) {
    (void)ringdrop_ring_remove(name, 0);
    return;
  }

  /* Everything committed, in order, then the peer is gone. */
  for (;;) {
    rc = ringdrop_ring_receive(rx, buf, sizeof buf, &size, LONG_WAIT);
    if (rc != RINGDROP_OK) break;
    CHECK(message_is(buf, size, next, sizeof buf));
    ++next;
  }
  CHECK_RC(rc, RINGDROP_EPEERGONE);
  if (!midstream) CHECK(next == COUNT);
  if (midstream) CHECK(next >= SEEN_BEFORE_KILL);
  /* And stays gone (a zero timeout only looks: it would say ETIMEDOUT). */
  CHECK_RC(ringdrop_ring_receive(rx, buf, sizeof buf, &size, LONG_WAIT), RINGDROP_EPEERGONE);
  ringdrop_ring_close(rx);
  CHECK_OK(ringdrop_ring_remove(name, 0));
}

/* The child of dead_consumer_*: opens (or creates) the MPMC ring as a
 * consumer with `o`, says 'R', reads one message without releasing it, says
 * 'H', and waits to be killed. */
static void holding_consumer_child(const char* name, const ringdrop_ring_options* o, int up,
                                   int down) {
  ringdrop_ring* rx = NULL;
  const void* data = NULL;
  unsigned long long size = 0;
  if (ringdrop_ring_open(name, RINGDROP_RING_MPMC, RINGDROP_ROLE_CONSUMER, RINGDROP_OPEN_OR_CREATE,
                         o, &rx) != 0) {
    put_byte(up, 'F');
    _exit(1);
  }
  put_byte(up, 'R');
  if (ringdrop_ring_read(rx, LONG_WAIT, &data, &size) != 0) {
    put_byte(up, 'F');
    _exit(1);
  }
  put_byte(up, 'H');
  (void)get_byte(down); /* killed here */
  _exit(0);
}

/* MPMC: a consumer killed while holding a message (read, not released):
 * another consumer gets it again (the default), or it is dropped
 * (drop_on_consumer_death). */
static void dead_consumer_message_is_redelivered_or_dropped(int drop) {
  char name[NAME_LEN];
  int up[2], down[2], status = 0;
  pid_t pid;
  ringdrop_ring_options o;
  ringdrop_ring *tx = NULL, *rx = NULL;
  unsigned char buf[16];
  unsigned long long size = 0;
  context = drop ? "mpmc consumer death, drop" : "mpmc consumer death, redeliver";
  make_name(name, "held");
  ringdrop_ring_options_init(&o);
  o.liveness_ns = LIVENESS;
  o.drop_on_consumer_death = drop;
  if (pipe(up) != 0 || pipe(down) != 0) {
    CHECK(!"pipe");
    return;
  }
  fflush(NULL);
  pid = fork();
  if (pid < 0) {
    CHECK(!"fork");
    return;
  }
  if (pid == 0) {
    close(up[0]);
    close(down[1]);
    holding_consumer_child(name, &o, up[1], down[0]);
  }
  close(up[1]);
  close(down[0]);
  CHECK(get_byte(up[0]) == 'R');
  CHECK_OK(ringdrop_ring_open(name, RINGDROP_RING_MPMC, RINGDROP_ROLE_PRODUCER, RINGDROP_OPEN, &o,
                              &tx));
  if (tx) CHECK_OK(ringdrop_ring_send(tx, "one", 3, LONG_WAIT));
  CHECK(get_byte(up[0]) == 'H');
  kill(pid, SIGKILL);
  CHECK(waitpid(pid, &status, 0) == pid);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  close(up[0]);
  close(down[1]);

  CHECK_OK(ringdrop_ring_open(name, RINGDROP_RING_MPMC, RINGDROP_ROLE_CONSUMER, RINGDROP_OPEN, &o,
                              &rx));
  if (tx && rx) {
    if (!drop) {
      /* Returned once a liveness check has found the dead consumer. */
      CHECK_OK(ringdrop_ring_receive(rx, buf, sizeof buf, &size, LONG_WAIT));
      CHECK(size == 3 && memcmp(buf, "one", 3) == 0);
    } else {
      /* Many liveness checks later, still nothing (this can only pass
       * wrongly, never fail wrongly). */
      CHECK_RC(ringdrop_ring_receive(rx, buf, sizeof buf, &size, 100 * MS), RINGDROP_ETIMEDOUT);
    }
    CHECK_OK(ringdrop_ring_send(tx, "two", 3, LONG_WAIT));
    CHECK_OK(ringdrop_ring_receive(rx, buf, sizeof buf, &size, LONG_WAIT));
    CHECK(size == 3 && memcmp(buf, "two", 3) == 0);
    CHECK_RC(ringdrop_ring_receive(rx, buf, sizeof buf, &size, 0), RINGDROP_ETIMEDOUT);
  }
  ringdrop_ring_close(rx);
  ringdrop_ring_close(tx);
  CHECK_OK(ringdrop_ring_remove(name, 0));
}

/* A subscriber child: says 'R' once subscribed, then checks every message
 * up to `count` and the publisher's leaving. Exit status: 0 when all is well. */
static void subscriber_child(const char* name, uint32_t count, int up) {
  ringdrop_ring* rx = NULL;
  ringdrop_ring_options o;
  unsigned char buf[64];
  unsigned long long size = 0;
  uint32_t next = 0;
  int rc;
  failures = 0; /* this process's own */
  ringdrop_ring_options_init(&o);
  o.liveness_ns = LIVENESS;
  CHECK_OK(ringdrop_ring_open(name, RINGDROP_RING_BROADCAST, RINGDROP_ROLE_CONSUMER,
                              RINGDROP_OPEN_OR_CREATE, &o, &rx));
  if (rx == NULL) {
    put_byte(up, 'F');
    _exit(1);
  }
  put_byte(up, 'R');
  for (;;) {
    rc = ringdrop_ring_receive(rx, buf, sizeof buf, &size, LONG_WAIT);
    if (rc != RINGDROP_OK) break;
    CHECK(message_is(buf, size, next, sizeof buf));
    ++next;
  }
  CHECK_RC(rc, RINGDROP_EPEERGONE); /* the publisher closed */
  CHECK(next == count);
  ringdrop_ring_close(rx);
  _exit(failures == 0 ? 0 : 1);
}

/* One publisher, two subscribers in other processes: each sees every
 * message, in order and intact. */
static void broadcast_reaches_every_subscriber_process(void) {
  enum { COUNT = 5000, SUBSCRIBERS = 2 };
  char name[NAME_LEN];
  int up[2];
  pid_t pids[SUBSCRIBERS];
  int k, status, started = 0;
  ringdrop_ring* tx = NULL;
  unsigned char msg[64];
  uint32_t i;
  context = "broadcast fan-out";
  make_name(name, "fanout");
  if (pipe(up) != 0) {
    CHECK(!"pipe");
    return;
  }
  for (k = 0; k < SUBSCRIBERS; ++k) {
    fflush(NULL);
    pids[k] = fork();
    if (pids[k] < 0) {
      CHECK(!"fork");
      break;
    }
    if (pids[k] == 0) {
      close(up[0]);
      subscriber_child(name, COUNT, up[1]);
    }
    ++started;
  }
  close(up[1]);
  for (k = 0; k < started; ++k) CHECK(get_byte(up[0]) == 'R');
  close(up[0]);

  CHECK_OK(ringdrop_ring_open(name, RINGDROP_RING_BROADCAST, RINGDROP_ROLE_PRODUCER,
                              RINGDROP_OPEN, NULL, &tx));
  if (tx) {
    for (i = 0; i < COUNT; ++i) {
      const size_t n = make_message(msg, i, sizeof msg);
      CHECK_OK(ringdrop_ring_send(tx, msg, n, LONG_WAIT));
    }
  } else {
    for (k = 0; k < started; ++k) kill(pids[k], SIGKILL);
  }
  ringdrop_ring_close(tx); /* the subscribers see RINGDROP_EPEERGONE after the last */
  for (k = 0; k < started; ++k) {
    status = -1;
    CHECK(waitpid(pids[k], &status, 0) == pids[k]);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  CHECK_OK(ringdrop_ring_remove(name, 0));
}

int main(void) {
  size_t k;
  signal(SIGPIPE, SIG_IGN); /* a child that died early shows as a failed check */

  context = "options";
  options_init_sets_size_and_defaults();
  options_are_read_up_to_their_size();
  the_plain_init_writes_only_the_first_fields();
  close_null_is_a_no_op();
  bad_arguments_are_einval();
  single_roles_are_taken();
  file_backed_ring_round_trips();
  mode_sets_the_permission_bits();

  for (k = 0; k < KINDS; ++k) {
    context = kind_name(kinds[k]);
    open_create_and_remove(kinds[k]);
    another_kind_is_refused(kinds[k]);
    messages_round_trip(kinds[k]);
    too_small_buffer_keeps_the_message(kinds[k]);
    zero_copy_reserve_commit_read_release(kinds[k]);
    several_reads_then_one_release(kinds[k]);
    max_message_size_is_the_limit(kinds[k]);
    empty_ring_times_out(kinds[k]);
    the_wrong_role_is_einval(kinds[k]);
    every_wait_mode_works(kinds[k]);
    dead_producer_is_peer_gone(kinds[k], 0);
    dead_producer_is_peer_gone(kinds[k], 1);
  }

  lapped_subscriber_is_told_what_it_missed(0);
  lapped_subscriber_is_told_what_it_missed(1);
  overwritten_view_is_caught_by_release();
  late_subscriber_starts_at_newest_or_oldest();
  competing_consumers_share_the_messages();
  poison_reject_requeue_and_count(RINGDROP_RING_SPSC);
  poison_reject_requeue_and_count(RINGDROP_RING_MPMC);
  dead_consumer_message_is_redelivered_or_dropped(0);
  dead_consumer_message_is_redelivered_or_dropped(1);
  broadcast_reaches_every_subscriber_process();

  if (failures == 0) printf("abi_ring_test: all checks passed\n");
  return failures == 0 ? 0 : 1;
}
