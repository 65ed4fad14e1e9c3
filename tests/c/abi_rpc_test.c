/* The request/response part of the C ABI, from C99 (compiled -std=c99
 * -pedantic -Werror, linked against libringdrop.so): a server and a client
 * in one process (asynchronous calls, served in between), then servers in
 * forked children for blocking calls, remote errors, timeouts, the circuit
 * breaker and a server killed with kill -9 mid-call; shared reply queues
 * (send_request to a forked server, replies taken, acked and rejected by
 * correlation id, by another process after the sender exited, again after
 * their taker was killed, or dead-lettered once expired) and a caller built
 * with the older, shorter ringdrop_client_options. Children announce on
 * pipes; no check depends on timing (a timeout only ever meets a server
 * that cannot answer yet; the one wait on the clock lets a reply's time to
 * live run out). Exit 0 when all checks pass. */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "abi_check.h"
#include "abi_payload.h"
#include "ringdrop.h"

/* Type ids both sides agree on. */
#define T_ECHO 0x1000000000000001ULL       /* Value -> Value: v + 1 (+ header "add") */
#define T_ECHO_REPLY 0x1000000000000002ULL
#define T_FAIL 0x1000000000000003ULL       /* answered with error 42 */
#define T_RETURN 0x1000000000000004ULL     /* the handler returns v (as an int) */
#define T_HOLD 0x1000000000000005ULL       /* blocks until the parent says go */
#define T_DIE 0x1000000000000006ULL        /* the server kills itself (kill -9) */
#define T_STRANGER 0x1000000000000007ULL   /* nobody handles it */
#define T_NOTE 0x1000000000000008ULL       /* a notification */
#define T_STOP 0x1000000000000009ULL       /* a notification: the server ends */

/* How often a waiting client checks its servers live. */
#define LIVENESS (2 * MS)

/* The payloads, Values, are hand-encoded by abi_payload.h. */
static int reply_is(ringdrop_message* reply, uint64_t expected) {
  return payload_value_is(reply, expected, 0);
}

static char registry[64]; /* a registry directory of this test's own */
#define NAME_LEN 96
static void make_service(char* out, const char* what) {
  static int serial = 0;
  snprintf(out, NAME_LEN, "rdctest-%ld-%s-%d", (long)getpid(), what, serial++);
}
static void remove_request_ring(const char* service) {
  char ring[NAME_LEN + 16];
  snprintf(ring, sizeof ring, "ringdrop.svc.%s", service);
  (void)ringdrop_ring_remove(ring, 0);
}

static ringdrop_client_options client_options(void) {
  ringdrop_client_options o;
  ringdrop_client_options_init(&o);
  o.registry_dir = registry;
  o.liveness_ns = LIVENESS;
  return o;
}
static ringdrop_server_options server_options(void) {
  ringdrop_server_options o;
  ringdrop_server_options_init(&o);
  o.registry_dir = registry;
  return o;
}

/* ------------------------------------------------------------- handlers
 * The server side of every case. `user` of request handlers is a
 * struct handler_state (in the forked servers: its pipes). */

struct handler_state {
  int up, down;     /* forked servers: to and from the parent */
  int held;         /* a HOLD request was answered */
  int stop;         /* a STOP notification came */
  int notes;        /* NOTE notifications seen */
  uint64_t note_v;  /* the last one's value */
  int checks_failed;
};

static void put_byte(int fd, char b) {
  if (write(fd, &b, 1) != 1) { /* the other side went: its checks say so */
  }
}
static char get_byte(int fd) {
  char b = 0;
  return read(fd, &b, 1) == 1 ? b : 0;
}

static int value_of(const void* payload, unsigned long long size, uint64_t* v) {
  return decode_value(payload, size, v);
}

static int echo(void* user, const ringdrop_message* request, const void* payload, unsigned long long size,
                ringdrop_reply* reply) {
  struct handler_state* st = (struct handler_state*)user;
  uint64_t v = 0, out[VALUE_WORDS];
  const char* add = NULL;
  int kind = -1;
  if (!value_of(payload, size, &v)) ++st->checks_failed;
  if (ringdrop_message_kind(request, &kind) != RINGDROP_OK || kind != RINGDROP_MESSAGE_REQUEST) ++st->checks_failed;
  if (ringdrop_message_header(request, "add", &add) == RINGDROP_OK) v += (uint64_t)strtoull(add, NULL, 10);
  encode_value(out, v + 1);
  return ringdrop_reply_set_payload(reply, out, sizeof out);
}

static int fail(void* user, const ringdrop_message* request, const void* payload, unsigned long long size,
                ringdrop_reply* reply) {
  uint64_t out[VALUE_WORDS];
  (void)user, (void)request, (void)payload, (void)size;
  encode_value(out, 1);
  (void)ringdrop_reply_set_payload(reply, out, sizeof out); /* the error wins over it */
  return ringdrop_reply_set_error(reply, 42, "refused: no such order");
}

static int return_v(void* user, const ringdrop_message* request, const void* payload, unsigned long long size,
                    ringdrop_reply* reply) {
  uint64_t v = 0;
  (void)request, (void)reply;
  if (!value_of(payload, size, &v)) ++((struct handler_state*)user)->checks_failed;
  return (int)(int64_t)v;
}

static int hold(void* user, const ringdrop_message* request, const void* payload, unsigned long long size,
                ringdrop_reply* reply) {
  struct handler_state* st = (struct handler_state*)user;
  uint64_t out[VALUE_WORDS];
  (void)request, (void)payload, (void)size;
  put_byte(st->up, 'H');
  (void)get_byte(st->down); /* the parent says go (or went) */
  st->held = 1;
  encode_value(out, 7);
  return ringdrop_reply_set_payload(reply, out, sizeof out);
}

static int die(void* user, const ringdrop_message* request, const void* payload, unsigned long long size,
               ringdrop_reply* reply) {
  (void)user, (void)request, (void)payload, (void)size, (void)reply;
  kill(getpid(), SIGKILL); /* mid-call, holding the request */
  return 0;
}

static void note(void* user, const ringdrop_message* message, const void* payload, unsigned long long size) {
  struct handler_state* st = (struct handler_state*)user;
  int kind = -1;
  if (ringdrop_message_kind(message, &kind) != RINGDROP_OK || kind != RINGDROP_MESSAGE_NOTIFICATION) {
    ++st->checks_failed;
  }
  if (!value_of(payload, size, &st->note_v)) ++st->checks_failed;
  ++st->notes;
}

static void stop(void* user, const ringdrop_message* message, const void* payload, unsigned long long size) {
  (void)message, (void)payload, (void)size;
  ((struct handler_state*)user)->stop = 1;
}

/* The in-process handler that tries the reply API's refusals. */
static int picky(void* user, const ringdrop_message* request, const void* payload, unsigned long long size,
                 ringdrop_reply* reply) {
  struct handler_state* st = (struct handler_state*)user;
  uint64_t out[VALUE_WORDS];
  (void)request;
  CHECK_FAILS(ringdrop_reply_set_payload(reply, payload, size - 3), RINGDROP_EBADMESSAGE);
  CHECK_FAILS(ringdrop_reply_set_payload(reply, NULL, 8), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_reply_set_payload(NULL, payload, size), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_reply_set_error(reply, 0, "no"), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_reply_set_error(reply, -4, "no"), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_reply_set_error(NULL, 4, "no"), RINGDROP_EINVAL);
  encode_value(out, 1000);
  CHECK_OK(ringdrop_reply_set_payload(reply, out, sizeof out));
  encode_value(out, 2000);
  CHECK_OK(ringdrop_reply_set_payload(reply, out, sizeof out)); /* replaces */
  ++st->notes;
  return 0;
}

/* A handler that sets nothing: a response without payload. */
static int silent(void* user, const ringdrop_message* request, const void* payload, unsigned long long size,
                  ringdrop_reply* reply) {
  (void)user, (void)request, (void)payload, (void)size, (void)reply;
  return 0;
}

/* ---------------------------------------------------- async completions */

struct done_record {
  int calls;
  int result;
  unsigned long long id;
  ringdrop_message* reply;
};

static void record_done(void* user, unsigned long long call_id, int result, ringdrop_message* reply) {
  struct done_record* d = (struct done_record*)user;
  ++d->calls;
  d->result = result;
  d->id = call_id;
  ringdrop_message_close(d->reply);
  d->reply = reply;
}

/* Sends `type` with v asynchronously, serves one message, polls: the result. */
static int round_trip(ringdrop_client* c, ringdrop_server* s, uint64_t type, uint64_t v, uint64_t resp_type,
                      struct done_record* d) {
  uint64_t p[VALUE_WORDS];
  unsigned long long id = 0;
  int rc;
  encode_value(p, v);
  d->calls = 0;
  rc = ringdrop_client_call_async(c, type, p, sizeof p, resp_type, LONG_WAIT, NULL, record_done, d, &id);
  if (rc != RINGDROP_OK) return rc;
  CHECK(id != 0);
  CHECK_OK(ringdrop_server_serve_one(s, LONG_WAIT));
  CHECK_OK(ringdrop_client_poll(c, LONG_WAIT));
  CHECK(d->calls == 1 && d->id == id);
  return d->result;
}

/* ------------------------------------------------------------------ cases */

static void options_and_null_handles(void) {
  ringdrop_client_options co;
  ringdrop_server_options so;
  ringdrop_call_options ca;
  context = "options";
  memset(&co, 0xab, sizeof co);
  ringdrop_client_options_init(&co);
  CHECK(co.size == sizeof co && co.retry_attempts == 1 && co.retry_multiplier == 2);
  CHECK(co.reply_queue == NULL && co.reply_ttl_ns == 0);
  CHECK(co.breaker_threshold == 5 && co.breaker_cool_down_ns == 1000 * MS);
  CHECK(co.reply_cell_size == 4096 && co.reply_cells == 64 && co.registry_dir == NULL);
  CHECK(co.spin_ns < 0 && co.liveness_ns < 0 && co.wait_mode == RINGDROP_WAIT_SPIN_BLOCK);
  ringdrop_server_options_init(&so);
  CHECK(so.size == sizeof so && so.cell_size == 4096 && so.cells == 256 && so.remembered_replies == 1024);
  CHECK(so.reply_rings == 32 && so.reply_timeout_ns == 100 * MS && so.scratch_bytes == 65536);
  CHECK(so.registry_dir == NULL && so.info == NULL);
  ringdrop_call_options_init(&ca);
  CHECK(ca.size == sizeof ca && ca.idempotent == 0 && ca.attempt_timeout_ns == 0 && ca.header_count == 0);
  ringdrop_client_options_init(NULL);
  ringdrop_client_options_init_size(NULL, sizeof co);
  ringdrop_server_options_init(NULL);
  ringdrop_call_options_init(NULL);
  ringdrop_client_close(NULL);
  ringdrop_server_close(NULL);
}

static void bad_arguments_are_einval(void) {
  char service[NAME_LEN];
  ringdrop_client_options co = client_options();
  ringdrop_server_options so = server_options();
  ringdrop_client* c = NULL;
  ringdrop_server* s = NULL;
  context = "bad arguments";
  make_service(service, "args");
  CHECK_FAILS(ringdrop_client_connect(service, &co, NULL), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_client_connect(NULL, &co, &c), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_client_connect_ring(NULL, &co, &c), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_client_connect_ring("no-scheme", &co, &c), RINGDROP_EINVAL);
  CHECK(c == NULL);
  co.size = 0;
  CHECK_FAILS(ringdrop_client_connect(service, &co, &c), RINGDROP_EINVAL);
  co = client_options();
  co.wait_mode = 9;
  CHECK_FAILS(ringdrop_client_connect(service, &co, &c), RINGDROP_EINVAL);
  co = client_options();
  co.retry_backoff_ns = -1;
  CHECK_FAILS(ringdrop_client_connect(service, &co, &c), RINGDROP_EINVAL);
  co = client_options();
  /* Nothing to find. */
  CHECK_FAILS(ringdrop_client_connect(service, &co, &c), RINGDROP_ENOTFOUND);
  CHECK_FAILS(ringdrop_client_connect_ring("shm:rdctest-no-such-ring", &co, &c), RINGDROP_ENOTFOUND);
  CHECK(c == NULL);

  CHECK_FAILS(ringdrop_server_open(service, &so, NULL), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_server_open(NULL, &so, &s), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_server_open("bad/name", &so, &s), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_server_open_ring("neither", &so, &s), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_server_open_ring(NULL, &so, &s), RINGDROP_EINVAL);
  so.reply_timeout_ns = -1;
  CHECK_FAILS(ringdrop_server_open(service, &so, &s), RINGDROP_EINVAL);
  so = server_options();
  so.size = sizeof so + 1;
  CHECK_FAILS(ringdrop_server_open(service, &so, &s), RINGDROP_EINVAL);
  CHECK(s == NULL);

  /* NULL handles. */
  {
    uint64_t p[VALUE_WORDS];
    ringdrop_message* reply = NULL;
    ringdrop_client_stats cs;
    ringdrop_server_stats ss;
    int code;
    const char* text;
    encode_value(p, 1);
    CHECK_FAILS(ringdrop_client_call(NULL, T_ECHO, p, sizeof p, T_ECHO_REPLY, 0, &reply), RINGDROP_EINVAL);
    CHECK_FAILS(ringdrop_client_call_ex(NULL, T_ECHO, p, sizeof p, T_ECHO_REPLY, 0, NULL, &reply),
                RINGDROP_EINVAL);
    CHECK_FAILS(ringdrop_client_call_async(NULL, T_ECHO, p, sizeof p, T_ECHO_REPLY, 0, NULL, record_done, NULL,
                                           NULL),
                RINGDROP_EINVAL);
    CHECK_FAILS(ringdrop_client_poll(NULL, 0), RINGDROP_EINVAL);
    CHECK_FAILS(ringdrop_client_notify(NULL, T_NOTE, p, sizeof p, NULL, 0), RINGDROP_EINVAL);
    CHECK_FAILS(ringdrop_client_last_remote_error(NULL, &code, &text), RINGDROP_EINVAL);
    cs.size = sizeof cs;
    CHECK_FAILS(ringdrop_client_get_stats(NULL, &cs), RINGDROP_EINVAL);
    CHECK_FAILS(ringdrop_server_handle(NULL, T_ECHO, T_ECHO_REPLY, echo, NULL), RINGDROP_EINVAL);
    CHECK_FAILS(ringdrop_server_on_notification(NULL, T_NOTE, note, NULL), RINGDROP_EINVAL);
    CHECK_FAILS(ringdrop_server_serve_one(NULL, 0), RINGDROP_EINVAL);
    CHECK_FAILS(ringdrop_server_serve(NULL, 0), RINGDROP_EINVAL);
    CHECK_FAILS(ringdrop_server_request_ring(NULL, &text), RINGDROP_EINVAL);
    ss.size = sizeof ss;
    CHECK_FAILS(ringdrop_server_get_stats(NULL, &ss), RINGDROP_EINVAL);
  }
}

/* Server and client in this process: asynchronous calls, the server served
 * in between, so that every outcome is in sequence. */
static void in_process(void) {
  static const char* const keys[] = {"add"};
  static const char* const values[] = {"100"};
  char service[NAME_LEN];
  ringdrop_client_options co = client_options();
  ringdrop_server_options so = server_options();
  ringdrop_client* c = NULL;
  ringdrop_client* c2 = NULL;
  ringdrop_server* s = NULL;
  struct handler_state st;
  struct done_record d;
  ringdrop_call_options ca;
  ringdrop_client_stats cs;
  ringdrop_server_stats ss;
  uint64_t p[VALUE_WORDS];
  const char* text = NULL;
  const char* location = NULL;
  int code = 0;
  unsigned long long u = 0, id = 0;
  ringdrop_message* reply = (ringdrop_message*)(void*)&st;
  context = "in process";
  memset(&st, 0, sizeof st);
  memset(&d, 0, sizeof d);
  make_service(service, "inproc");
  so.cell_size = 256; /* requests up to 240 bytes */
  so.info = "abi_rpc_test";
  CHECK_OK(ringdrop_server_open(service, &so, &s));
  if (s == NULL) return;
  CHECK_OK(ringdrop_server_request_ring(s, &location));
  CHECK(location != NULL && strncmp(location, "shm:ringdrop.svc.", 17) == 0 && strstr(location, service) != NULL);
  CHECK_OK(ringdrop_server_handle(s, T_ECHO, T_ECHO_REPLY, echo, &st));
  CHECK_OK(ringdrop_server_handle(s, T_FAIL, T_ECHO_REPLY, fail, &st));
  CHECK_OK(ringdrop_server_handle(s, T_RETURN, T_ECHO_REPLY, return_v, &st));
  CHECK_OK(ringdrop_server_handle(s, T_HOLD, T_ECHO_REPLY, picky, &st)); /* HOLD: picky here */
  CHECK_OK(ringdrop_server_handle(s, T_DIE, T_ECHO_REPLY, silent, &st)); /* DIE: silent here */
  CHECK_OK(ringdrop_server_on_notification(s, T_NOTE, note, &st));
  CHECK_FAILS(ringdrop_server_handle(s, T_ECHO, T_ECHO_REPLY, NULL, &st), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_server_on_notification(s, T_NOTE, NULL, &st), RINGDROP_EINVAL);
  CHECK_OK(ringdrop_client_connect(service, &co, &c));
  if (c == NULL) goto done;
  CHECK_OK(ringdrop_client_connect_ring(location, &co, &c2));

  /* A plain call and its reply's envelope. */
  CHECK_RC(round_trip(c, s, T_ECHO, 41, T_ECHO_REPLY, &d), RINGDROP_OK);
  CHECK(reply_is(d.reply, 42));
  if (d.reply) {
    int kind = -1;
    CHECK_OK(ringdrop_message_kind(d.reply, &kind));
    CHECK(kind == RINGDROP_MESSAGE_RESPONSE);
    CHECK_OK(ringdrop_message_correlation_id(d.reply, &u));
    CHECK(u == d.id); /* the call id is the request's message id */
    CHECK_OK(ringdrop_message_type_id(d.reply, &u));
    CHECK(u == T_ECHO_REPLY);
  }
  /* Per-call options travel: the header adds 100. */
  ringdrop_call_options_init(&ca);
  ca.header_keys = keys;
  ca.header_values = values;
  ca.header_count = 1;
  ca.schema_version = 2;
  encode_value(p, 1);
  d.calls = 0;
  CHECK_OK(ringdrop_client_call_async(c, T_ECHO, p, sizeof p, T_ECHO_REPLY, LONG_WAIT, &ca, record_done, &d, NULL));
  CHECK_OK(ringdrop_server_serve_one(s, LONG_WAIT));
  CHECK_OK(ringdrop_client_poll(c, LONG_WAIT));
  CHECK(d.calls == 1 && d.result == RINGDROP_OK && reply_is(d.reply, 102));
  /* The second client, connected by location. */
  if (c2) {
    CHECK_RC(round_trip(c2, s, T_ECHO, 9, T_ECHO_REPLY, &d), RINGDROP_OK);
    CHECK(reply_is(d.reply, 10));
  }

  /* The handler's own error: EREMOTE, its code and text. */
  CHECK_RC(round_trip(c, s, T_FAIL, 0, T_ECHO_REPLY, &d), RINGDROP_EREMOTE);
  CHECK(d.reply == NULL);
  CHECK_OK(ringdrop_client_last_remote_error(c, &code, &text));
  CHECK(code == 42 && strcmp(text, "refused: no such order") == 0);
  /* A handler returning a positive code, then a negative one. */
  CHECK_RC(round_trip(c, s, T_RETURN, 17, T_ECHO_REPLY, &d), RINGDROP_EREMOTE);
  CHECK_OK(ringdrop_client_last_remote_error(c, &code, &text));
  CHECK(code == 17);
  CHECK_RC(round_trip(c, s, T_RETURN, (uint64_t)(int64_t)RINGDROP_ENOTFOUND, T_ECHO_REPLY, &d), RINGDROP_EREMOTE);
  CHECK_OK(ringdrop_client_last_remote_error(c, &code, &text));
  CHECK(code == RINGDROP_HANDLER_FAILED && strstr(text, ringdrop_strerror(RINGDROP_ENOTFOUND)) != NULL);
  /* Nobody handles the type. */
  CHECK_RC(round_trip(c, s, T_STRANGER, 0, T_ECHO_REPLY, &d), RINGDROP_EUNKNOWNTYPE);
  CHECK_OK(ringdrop_client_last_remote_error(c, &code, &text));
  CHECK(code == RINGDROP_EUNKNOWNTYPE);
  /* A reply of another type than expected. */
  CHECK_RC(round_trip(c, s, T_ECHO, 1, T_NOTE, &d), RINGDROP_EBADMESSAGE);
  /* The reply API's refusals (checked in the handler), then a payload. */
  CHECK_RC(round_trip(c, s, T_HOLD, 5, T_ECHO_REPLY, &d), RINGDROP_OK);
  CHECK(reply_is(d.reply, 2000));
  /* A response without payload: the payload of none. */
  CHECK_RC(round_trip(c, s, T_DIE, 5, T_ECHO_REPLY, &d), RINGDROP_OK);
  CHECK(reply_is(d.reply, 0));

  /* A malformed request payload is refused before sending. */
  encode_value(p, 1);
  CHECK_FAILS(ringdrop_client_call_async(c, T_ECHO, p, 20, T_ECHO_REPLY, LONG_WAIT, NULL, record_done, &d, &id),
              RINGDROP_EBADMESSAGE);
  CHECK_FAILS(ringdrop_client_call(c, T_ECHO, p, 20, T_ECHO_REPLY, LONG_WAIT, &reply), RINGDROP_EBADMESSAGE);
  CHECK(reply == NULL);
  CHECK_FAILS(ringdrop_client_notify(c, T_NOTE, p, 20, NULL, LONG_WAIT), RINGDROP_EBADMESSAGE);
  /* Too large for the request ring's 256-byte cells. */
  {
    uint64_t big[40];
    const uint32_t table[2] = {0, 39};
    memset(big, 0, sizeof big);
    memcpy(&big[0], table, sizeof table);
    big[1] = 0x0000002600000000ULL; /* struct: 38 data words */
    CHECK_FAILS(ringdrop_client_call_async(c, T_ECHO, big, sizeof big, T_ECHO_REPLY, LONG_WAIT, NULL, record_done,
                                           &d, &id),
                RINGDROP_EMSGSIZE);
  }
  CHECK_RC(ringdrop_server_serve_one(s, 0), RINGDROP_ETIMEDOUT); /* nothing was sent */
  /* Bad arguments on live handles. */
  CHECK_FAILS(ringdrop_client_call(c, T_ECHO, p, sizeof p, T_ECHO_REPLY, -1, &reply), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_client_call(c, T_ECHO, p, sizeof p, T_ECHO_REPLY, 0, NULL), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_client_call_async(c, T_ECHO, p, sizeof p, T_ECHO_REPLY, 0, NULL, NULL, &d, &id),
              RINGDROP_EINVAL);
  ca.size = 3;
  CHECK_FAILS(ringdrop_client_call_ex(c, T_ECHO, p, sizeof p, T_ECHO_REPLY, 0, &ca, &reply), RINGDROP_EINVAL);
  ringdrop_call_options_init(&ca);
  ca.attempt_timeout_ns = -5;
  CHECK_FAILS(ringdrop_client_call_ex(c, T_ECHO, p, sizeof p, T_ECHO_REPLY, 0, &ca, &reply), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_client_poll(c, -1), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_client_notify(c, T_NOTE, p, sizeof p, NULL, -1), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_client_last_remote_error(c, NULL, &text), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_client_last_remote_error(c, &code, NULL), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_server_serve_one(s, -1), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_server_serve(s, -1), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_server_request_ring(s, NULL), RINGDROP_EINVAL);

  /* Notifications: handled, and one nobody handles. */
  encode_value(p, 5150);
  CHECK_OK(ringdrop_client_notify(c, T_NOTE, p, sizeof p, NULL, LONG_WAIT));
  CHECK_OK(ringdrop_server_serve_one(s, LONG_WAIT));
  CHECK(st.notes == 2 && st.note_v == 5150); /* picky counted one */
  CHECK_OK(ringdrop_client_notify(c, T_STRANGER, p, sizeof p, NULL, LONG_WAIT));
  CHECK_FAILS(ringdrop_server_serve_one(s, LONG_WAIT), RINGDROP_EUNKNOWNTYPE);

  /* An async call nobody serves in time: ETIMEDOUT from poll's callback;
   * the server then finds it past its deadline and does not run it. */
  encode_value(p, 1);
  d.calls = 0;
  CHECK_OK(ringdrop_client_call_async(c, T_ECHO, p, sizeof p, T_ECHO_REPLY, 1 * MS, NULL, record_done, &d, &id));
  CHECK_OK(ringdrop_client_poll(c, LONG_WAIT));
  CHECK(d.calls == 1 && d.result == RINGDROP_ETIMEDOUT && d.reply == NULL && d.id == id);
  CHECK_FAILS(ringdrop_server_serve_one(s, LONG_WAIT), RINGDROP_EDEADLINE);
  /* poll with nothing in flight: at once. */
  CHECK_OK(ringdrop_client_poll(c, LONG_WAIT));
  /* serve for a moment: nothing comes, 0. */
  CHECK_OK(ringdrop_server_serve(s, 1 * MS));

  /* The counters. */
  cs.size = sizeof cs;
  CHECK_OK(ringdrop_client_get_stats(c, &cs));
  CHECK(cs.size == sizeof cs);
  CHECK(cs.calls == 10 && cs.ok == 4 && cs.remote_errors == 4 && cs.bad_replies == 1);
  CHECK(cs.timed_out == 1 && cs.notifications == 2 && cs.in_flight == 0 && cs.rejected == 0);
  CHECK(cs.breaker_state == RINGDROP_CIRCUIT_CLOSED && cs.breaker_consecutive_failures == 1);
  ss.size = sizeof ss;
  CHECK_OK(ringdrop_server_get_stats(s, &ss));
  CHECK(ss.requests == 11 && ss.replies == 10 && ss.notifications == 1 && ss.unknown_type == 2);
  CHECK(ss.handler_errors == 3 && ss.expired == 1 && ss.malformed == 0);
  /* An older program's shorter struct: only its fields are written. */
  {
    unsigned char raw[sizeof(ringdrop_client_stats) + 16];
    ringdrop_client_stats* small = (ringdrop_client_stats*)(void*)raw;
    const size_t small_size = sizeof(unsigned long) + 2 * sizeof(unsigned long long);
    memset(raw, 0xab, sizeof raw);
    small->size = small_size;
    CHECK_OK(ringdrop_client_get_stats(c, small));
    CHECK(small->calls == 10 && small->ok == 4);
    CHECK(raw[small_size] == 0xab);
    small->size = 2;
    CHECK_FAILS(ringdrop_client_get_stats(c, small), RINGDROP_EINVAL);
    CHECK_FAILS(ringdrop_client_get_stats(c, NULL), RINGDROP_EINVAL);
  }
  CHECK(st.checks_failed == 0);
done:
  ringdrop_message_close(d.reply);
  ringdrop_client_close(c);
  ringdrop_client_close(c2);
  ringdrop_server_close(s);
  remove_request_ring(service);
}

/* The forked server: serves `service` until STOP, announcing 'R' when it
 * is ready, 'H' when a HOLD request is in its handler and 'D' once that
 * one is answered. Exits with the number of its own failed checks. */
static void server_child(const char* service, int up, int down) {
  ringdrop_server_options so = server_options();
  ringdrop_server* s = NULL;
  struct handler_state st;
  memset(&st, 0, sizeof st);
  st.up = up;
  st.down = down;
  if (ringdrop_server_open(service, &so, &s) != RINGDROP_OK ||
      ringdrop_server_handle(s, T_ECHO, T_ECHO_REPLY, echo, &st) != RINGDROP_OK ||
      ringdrop_server_handle(s, T_FAIL, T_ECHO_REPLY, fail, &st) != RINGDROP_OK ||
      ringdrop_server_handle(s, T_HOLD, T_ECHO_REPLY, hold, &st) != RINGDROP_OK ||
      ringdrop_server_handle(s, T_DIE, T_ECHO_REPLY, die, &st) != RINGDROP_OK ||
      ringdrop_server_on_notification(s, T_STOP, stop, &st) != RINGDROP_OK) {
    fprintf(stderr, "server child: %s\n", ringdrop_last_error_message());
    put_byte(up, 'F');
    _exit(100);
  }
  put_byte(up, 'R');
  while (!st.stop) {
    const int rc = ringdrop_server_serve_one(s, LONG_WAIT);
    if (st.held) {
      st.held = 0;
      put_byte(up, 'D');
    }
    if (rc != RINGDROP_OK && rc != RINGDROP_ETIMEDOUT && rc != RINGDROP_EUNKNOWNTYPE) {
      fprintf(stderr, "server child: serve_one: %d %s\n", rc, ringdrop_last_error_message());
      ++st.checks_failed;
      break;
    }
  }
  ringdrop_server_close(s);
  _exit(st.checks_failed);
}

/* Forks a server of `service`; its pipes into up/down. 0 if it failed. */
static pid_t spawn_server(const char* service, int* up, int* down) {
  int u[2], d[2];
  pid_t pid;
  if (pipe(u) != 0 || pipe(d) != 0) {
    CHECK(!"pipe");
    return 0;
  }
  fflush(NULL);
  pid = fork();
  if (pid < 0) {
    CHECK(!"fork");
    return 0;
  }
  if (pid == 0) {
    close(u[0]);
    close(d[1]);
    server_child(service, u[1], d[0]);
  }
  close(u[1]);
  close(d[0]);
  *up = u[0];
  *down = d[1];
  if (get_byte(*up) != 'R') {
    CHECK(!"the server child is ready");
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return 0;
  }
  return pid;
}

/* Blocking calls against a server in another process. */
static void blocking_calls(void) {
  static const char* const keys[] = {"add"};
  static const char* const values[] = {"1000"};
  char service[NAME_LEN];
  ringdrop_client_options co = client_options();
  ringdrop_client *c = NULL, *c2 = NULL;
  ringdrop_message* reply = NULL;
  ringdrop_call_options ca;
  ringdrop_client_stats cs;
  uint64_t p[VALUE_WORDS];
  int up = -1, down = -1, status = 0, code = 0;
  const char* text = NULL;
  pid_t pid;
  context = "blocking calls";
  make_service(service, "blocking");
  pid = spawn_server(service, &up, &down);
  if (pid == 0) return;
  /* Opens at the first failure, and stays open for this test. */
  co.breaker_threshold = 1;
  co.breaker_cool_down_ns = LONG_WAIT * 10;
  CHECK_OK(ringdrop_client_connect(service, &co, &c));
  if (c == NULL) goto done;

  encode_value(p, 1);
  CHECK_OK(ringdrop_client_call(c, T_ECHO, p, sizeof p, T_ECHO_REPLY, LONG_WAIT, &reply));
  CHECK(reply_is(reply, 2));
  ringdrop_message_close(reply);
  reply = NULL;
  ringdrop_call_options_init(&ca);
  ca.header_keys = keys;
  ca.header_values = values;
  ca.header_count = 1;
  ca.idempotent = 1;
  CHECK_OK(ringdrop_client_call_ex(c, T_ECHO, p, sizeof p, T_ECHO_REPLY, LONG_WAIT, &ca, &reply));
  CHECK(reply_is(reply, 1002));
  ringdrop_message_close(reply);
  reply = NULL;

  CHECK_FAILS(ringdrop_client_call(c, T_FAIL, p, sizeof p, T_ECHO_REPLY, LONG_WAIT, &reply), RINGDROP_EREMOTE);
  CHECK(reply == NULL);
  CHECK_OK(ringdrop_client_last_remote_error(c, &code, &text));
  CHECK(code == 42 && strcmp(text, "refused: no such order") == 0);
  CHECK_FAILS(ringdrop_client_call(c, T_STRANGER, p, sizeof p, T_ECHO_REPLY, LONG_WAIT, &reply),
              RINGDROP_EUNKNOWNTYPE);
  CHECK_FAILS(ringdrop_client_call(c, T_ECHO, p, sizeof p, T_NOTE, LONG_WAIT, &reply), RINGDROP_EBADMESSAGE);

  /* The server holds the request until told: the call times out. */
  CHECK_RC(ringdrop_client_call(c, T_HOLD, p, sizeof p, T_ECHO_REPLY, 10 * MS, &reply), RINGDROP_ETIMEDOUT);
  CHECK(reply == NULL);
  CHECK(get_byte(up) == 'H');
  /* One failure opened the breaker: the next call fails fast, unsent. */
  CHECK_FAILS(ringdrop_client_call(c, T_ECHO, p, sizeof p, T_ECHO_REPLY, LONG_WAIT, &reply),
              RINGDROP_ECIRCUITOPEN);
  /* The held request is answered now: a late reply, counted and dropped. */
  put_byte(down, 'G');
  CHECK(get_byte(up) == 'D');
  CHECK_OK(ringdrop_client_poll(c, 0));
  cs.size = sizeof cs;
  CHECK_OK(ringdrop_client_get_stats(c, &cs));
  CHECK(cs.calls == 6 && cs.ok == 2 && cs.remote_errors == 2 && cs.bad_replies == 1 && cs.timed_out == 1);
  CHECK(cs.late_replies == 1 && cs.rejected == 1 && cs.in_flight == 0);
  CHECK(cs.breaker_state == RINGDROP_CIRCUIT_OPEN && cs.breaker_opened == 1);

  /* The server kills itself (kill -9) in the handler: EPEERGONE, not a
   * timeout (the call would wait LONG_WAIT). */
  CHECK_OK(ringdrop_client_connect(service, &co, &c2));
  if (c2 != NULL) {
    CHECK_RC(ringdrop_client_call(c2, T_DIE, p, sizeof p, T_ECHO_REPLY, LONG_WAIT, &reply), RINGDROP_EPEERGONE);
    CHECK(reply == NULL);
    cs.size = sizeof cs;
    CHECK_OK(ringdrop_client_get_stats(c2, &cs));
    CHECK(cs.peer_gone == 1);
  }
  CHECK(waitpid(pid, &status, 0) == pid);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  pid = 0;
done:
  ringdrop_client_close(c);
  ringdrop_client_close(c2);
  if (pid != 0) {
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
  }
  close(up);
  close(down);
  remove_request_ring(service);
}

/* An async call in flight when the parent kills the server (kill -9). */
static void server_killed_mid_async_call(void) {
  char service[NAME_LEN];
  ringdrop_client_options co = client_options();
  ringdrop_client* c = NULL;
  struct done_record d;
  uint64_t p[VALUE_WORDS];
  int up = -1, down = -1, status = 0;
  pid_t pid;
  context = "kill -9 mid async call";
  memset(&d, 0, sizeof d);
  make_service(service, "killed");
  pid = spawn_server(service, &up, &down);
  if (pid == 0) return;
  CHECK_OK(ringdrop_client_connect(service, &co, &c));
  if (c != NULL) {
    encode_value(p, 3);
    CHECK_OK(ringdrop_client_call_async(c, T_HOLD, p, sizeof p, T_ECHO_REPLY, LONG_WAIT, NULL, record_done, &d,
                                        NULL));
    CHECK(get_byte(up) == 'H'); /* in the handler */
  }
  kill(pid, SIGKILL);
  CHECK(waitpid(pid, &status, 0) == pid);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  if (c != NULL) {
    CHECK_OK(ringdrop_client_poll(c, LONG_WAIT));
    CHECK(d.calls == 1 && d.result == RINGDROP_EPEERGONE && d.reply == NULL);
  }
  ringdrop_client_close(c);
  close(up);
  close(down);
  remove_request_ring(service);
}

/* A server that stops on a notification, and exits cleanly. */
static void notify_stops_a_forked_server(void) {
  char service[NAME_LEN];
  ringdrop_client_options co = client_options();
  ringdrop_client* c = NULL;
  int up = -1, down = -1, status = 0;
  pid_t pid;
  context = "notify";
  make_service(service, "stop");
  pid = spawn_server(service, &up, &down);
  if (pid == 0) return;
  CHECK_OK(ringdrop_client_connect(service, &co, &c));
  CHECK_OK(ringdrop_client_notify(c, T_STOP, NULL, 0, NULL, LONG_WAIT));
  CHECK(waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ringdrop_client_close(c);
  close(up);
  close(down);
  remove_request_ring(service);
}

/* ------------------------------------------------- shared reply queues */

/* A program built against the header before reply_queue and reply_ttl_ns
 * were appended: its struct ends where reply_queue begins. */
#define OLD_CLIENT_OPTIONS_SIZE offsetof(ringdrop_client_options, reply_queue)

/* Removes reply queue `queue`'s ring, "ringdrop.replies.<queue>". */
static void remove_reply_queue(const char* queue) {
  char ring[NAME_LEN + 32];
  snprintf(ring, sizeof ring, "ringdrop.replies.%s", queue);
  CHECK_OK(ringdrop_ring_remove(ring, 0));
}

/* A dead-letter store of this test's own ("" if it could not be made), so
 * that nothing is left in the rings' default stores. */
static void make_store(char store[64]) {
  strcpy(store, "/dev/shm/rdc-rq-dlq-XXXXXX");
  if (mkdtemp(store) == NULL) {
    CHECK(!"mkdtemp");
    store[0] = '\0';
  }
}
static void remove_store(const char* store) {
  char cmd[128];
  if (store[0] == '\0') return;
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", store);
  CHECK(system(cmd) == 0);
}

/* The ids of the dead letters in `store` (a drop channel), one a line;
 * the number of them, or -1. */
static int dead_letters_in(const char* store, char* ids, unsigned long capacity) {
  ringdrop_drop* channel = NULL;
  unsigned long needed = 0;
  int n = 0;
  const char* at;
  if (ringdrop_drop_open(store, NULL, &channel) != RINGDROP_OK) return -1;
  if (ringdrop_drop_dead_letters(channel, ids, capacity, &needed) != RINGDROP_OK) n = -1;
  ringdrop_drop_close(channel);
  for (at = ids; n >= 0 && (at = strchr(at, '\n')) != NULL; ++at) ++n;
  return n;
}

static ringdrop_reply_queue* open_queue(const char* name, const char* store) {
  ringdrop_reply_queue_options qo;
  ringdrop_reply_queue* q = NULL;
  ringdrop_reply_queue_options_init(&qo);
  qo.dead_letters = store;
  CHECK_OK(ringdrop_reply_queue_open(name, &qo, &q));
  return q;
}

/* A client of `service` whose requests' replies go to reply queue `queue`. */
static ringdrop_client* connect_with_queue(const char* service, const char* queue, long long ttl_ns) {
  ringdrop_client_options co = client_options();
  ringdrop_client* c = NULL;
  co.reply_queue = queue;
  co.reply_ttl_ns = ttl_ns;
  CHECK_OK(ringdrop_client_connect(service, &co, &c));
  return c;
}

/* The header "request-id" of `reply` is `id` in decimal. */
static int request_id_header_is(const ringdrop_message* reply, unsigned long long id) {
  char text[32];
  const char* value = NULL;
  snprintf(text, sizeof text, "%llu", id);
  return ringdrop_message_header(reply, "request-id", &value) == RINGDROP_OK && strcmp(value, text) == 0;
}

/* Stops the forked server (a STOP notification) and reaps it: it exited 0. */
static void stop_server(const char* service, pid_t pid) {
  ringdrop_client_options co = client_options();
  ringdrop_client* c = NULL;
  int status = 0;
  CHECK_OK(ringdrop_client_connect(service, &co, &c));
  if (c != NULL) CHECK_OK(ringdrop_client_notify(c, T_STOP, NULL, 0, NULL, LONG_WAIT));
  ringdrop_client_close(c);
  if (c == NULL) kill(pid, SIGKILL);
  CHECK(waitpid(pid, &status, 0) == pid);
  CHECK(c == NULL || (WIFEXITED(status) && WEXITSTATUS(status) == 0));
}

/* The plain ringdrop_client_options_init symbol (what a program built
 * against the older header calls) writes the first fields only, and such a
 * program's shorter struct is read only as far as its size: it connects,
 * calls, and has no reply queue whatever lies past its end. */
static void client_options_of_an_older_program(void) {
  char service[NAME_LEN];
  unsigned char bytes[sizeof(ringdrop_client_options) + 16];
  ringdrop_client_options* old = (ringdrop_client_options*)(void*)bytes;
  ringdrop_client* c = NULL;
  ringdrop_message* reply = NULL;
  uint64_t p[VALUE_WORDS];
  unsigned long long id = 99;
  int up = -1, down = -1;
  size_t i;
  pid_t pid;
  context = "older client options";
  CHECK(OLD_CLIENT_OPTIONS_SIZE == RINGDROP_CLIENT_OPTIONS_FIRST_SIZE);
  memset(bytes, 0xab, sizeof bytes);
  (ringdrop_client_options_init)(old); /* the symbol, not the header's macro */
  CHECK(old->size == OLD_CLIENT_OPTIONS_SIZE);
  CHECK(old->retry_attempts == 1 && old->reply_cells == 64 && old->registry_dir == NULL);
  CHECK(old->wait_mode == RINGDROP_WAIT_SPIN_BLOCK && old->liveness_ns < 0);
  for (i = OLD_CLIENT_OPTIONS_SIZE; i < sizeof bytes; ++i) CHECK(bytes[i] == 0xab);
  memset(bytes, 0xab, sizeof bytes);
  ringdrop_client_options_init_size(old, 8); /* smaller than any version: nothing written */
  CHECK(bytes[0] == 0xab);
  ringdrop_client_options_init_size(old, sizeof bytes); /* larger than this library's: its own size */
  CHECK(old->size == sizeof(ringdrop_client_options) && old->reply_queue == NULL && old->reply_ttl_ns == 0);
  CHECK(bytes[sizeof(ringdrop_client_options)] == 0xab);

  make_service(service, "oldopts");
  pid = spawn_server(service, &up, &down);
  if (pid == 0) return;
  memset(bytes, 0xab, sizeof bytes);
  (ringdrop_client_options_init)(old);
  old->registry_dir = registry;
  old->liveness_ns = LIVENESS;
  /* Past the old size: never read (a bad name and a negative ttl would be EINVAL). */
  old->reply_queue = "bad/name";
  old->reply_ttl_ns = -1;
  old->size = OLD_CLIENT_OPTIONS_SIZE;
  CHECK_OK(ringdrop_client_connect(service, old, &c));
  if (c != NULL) {
    encode_value(p, 6);
    CHECK_OK(ringdrop_client_call(c, T_ECHO, p, sizeof p, T_ECHO_REPLY, LONG_WAIT, &reply));
    CHECK(reply_is(reply, 7));
    ringdrop_message_close(reply);
    CHECK_FAILS(ringdrop_client_send_request(c, T_ECHO, p, sizeof p, LONG_WAIT, 1, NULL, &id), RINGDROP_EINVAL);
    CHECK(id == 0);
  }
  ringdrop_client_close(c);
  stop_server(service, pid);
  close(up);
  close(down);
  remove_request_ring(service);
}

/* Every refusal of the reply queue calls: RINGDROP_EINVAL, with a reason,
 * never a crash; and the option defaults. */
static void reply_queue_bad_arguments(void) {
  char queue[NAME_LEN], store[64];
  ringdrop_reply_queue_options qo;
  ringdrop_reply_queue* q = (ringdrop_reply_queue*)(void*)&qo;
  ringdrop_reply_queue_stats qs;
  ringdrop_message* reply = (ringdrop_message*)(void*)&qo;
  ringdrop_client_options co = client_options();
  ringdrop_client* c = NULL;
  ringdrop_call_options ca;
  uint64_t p[VALUE_WORDS];
  unsigned long long id = 99, request_id = 99;
  unsigned int count = 99;
  context = "reply queue arguments";
  encode_value(p, 1);

  memset(&qo, 0xab, sizeof qo);
  ringdrop_reply_queue_options_init(&qo);
  CHECK(qo.size == sizeof qo && qo.cell_size == 4096 && qo.cells == 1024 && qo.max_deliveries == 5);
  CHECK(qo.dead_letters == NULL && qo.wait_mode == RINGDROP_WAIT_SPIN_BLOCK && qo.spin_ns < 0);
  ringdrop_reply_queue_options_init(NULL);
  ringdrop_reply_queue_close(NULL);

  /* NULL handles and out parameters. */
  CHECK_FAILS(ringdrop_client_send_request(NULL, T_ECHO, p, sizeof p, LONG_WAIT, 1, NULL, &id), RINGDROP_EINVAL);
  CHECK(id == 0);
  CHECK_FAILS(ringdrop_reply_queue_take(NULL, 0, &reply, &request_id, &count), RINGDROP_EINVAL);
  CHECK(reply == NULL);
  CHECK_FAILS(ringdrop_reply_queue_ack(NULL), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_reply_queue_reject(NULL, "why"), RINGDROP_EINVAL);
  qs.size = sizeof qs;
  CHECK_FAILS(ringdrop_reply_queue_get_stats(NULL, &qs), RINGDROP_EINVAL);

  make_service(queue, "rq-args");
  make_store(store);
  CHECK_FAILS(ringdrop_reply_queue_open(queue, NULL, NULL), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_reply_queue_open(NULL, NULL, &q), RINGDROP_EINVAL);
  CHECK(q == NULL);
  CHECK_FAILS(ringdrop_reply_queue_open("bad/name", NULL, &q), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_reply_queue_open("", NULL, &q), RINGDROP_EINVAL);
  ringdrop_reply_queue_options_init(&qo);
  qo.size = sizeof qo + 1; /* from a newer header than the library's */
  CHECK_FAILS(ringdrop_reply_queue_open(queue, &qo, &q), RINGDROP_EINVAL);
  qo.size = 2;
  CHECK_FAILS(ringdrop_reply_queue_open(queue, &qo, &q), RINGDROP_EINVAL);
  ringdrop_reply_queue_options_init(&qo);
  qo.wait_mode = 9;
  CHECK_FAILS(ringdrop_reply_queue_open(queue, &qo, &q), RINGDROP_EINVAL);
  ringdrop_reply_queue_options_init(&qo);
  qo.max_deliveries = 1001;
  CHECK_FAILS(ringdrop_reply_queue_open(queue, &qo, &q), RINGDROP_EINVAL);
  CHECK(q == NULL);

  /* A live queue: nothing held, nothing to take. */
  q = open_queue(queue, store);
  if (q == NULL) goto done;
  CHECK_FAILS(ringdrop_reply_queue_ack(q), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_reply_queue_reject(q, "nothing held"), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_reply_queue_reject(q, NULL), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_reply_queue_take(q, 0, NULL, &request_id, &count), RINGDROP_EINVAL);
  reply = (ringdrop_message*)(void*)&qo;
  CHECK_FAILS(ringdrop_reply_queue_take(q, -1, &reply, &request_id, &count), RINGDROP_EINVAL);
  CHECK(reply == NULL);
  CHECK_RC(ringdrop_reply_queue_take(q, 0, &reply, NULL, NULL), RINGDROP_ETIMEDOUT);
  CHECK(reply == NULL);
  CHECK_FAILS(ringdrop_reply_queue_get_stats(q, NULL), RINGDROP_EINVAL);
  qs.size = 2;
  CHECK_FAILS(ringdrop_reply_queue_get_stats(q, &qs), RINGDROP_EINVAL);
  memset(&qs, 0xab, sizeof qs);
  qs.size = sizeof qs;
  CHECK_OK(ringdrop_reply_queue_get_stats(q, &qs));
  CHECK(qs.size == sizeof qs && qs.taken == 0 && qs.acked == 0 && qs.rejected == 0 && qs.redelivered == 0);
  CHECK(qs.expired == 0 && qs.malformed == 0);

  /* Clients, of a request ring of our own (nothing is served: each
   * refusal comes before anything is sent). */
  {
    char service[NAME_LEN], location[NAME_LEN + 32];
    ringdrop_server_options so = server_options();
    ringdrop_server* s = NULL;
    ringdrop_client* cq = NULL;
    make_service(service, "rq-args-svc");
    CHECK_OK(ringdrop_server_open(service, &so, &s));
    snprintf(location, sizeof location, "shm:ringdrop.svc.%s", service);
    /* A bad queue name, a negative ttl, a struct from a newer header. */
    co.reply_queue = "bad/name";
    CHECK_FAILS(ringdrop_client_connect_ring(location, &co, &c), RINGDROP_EINVAL);
    co = client_options();
    co.reply_queue = queue;
    co.reply_ttl_ns = -1;
    CHECK_FAILS(ringdrop_client_connect_ring(location, &co, &c), RINGDROP_EINVAL);
    co = client_options();
    co.size = sizeof co + 8;
    CHECK_FAILS(ringdrop_client_connect_ring(location, &co, &c), RINGDROP_EINVAL);
    CHECK(c == NULL);
    /* No reply queue: send_request is refused; with one, its bad arguments. */
    co = client_options();
    CHECK_OK(ringdrop_client_connect_ring(location, &co, &c));
    if (c != NULL) {
      CHECK_FAILS(ringdrop_client_send_request(c, T_ECHO, p, sizeof p, LONG_WAIT, 1, NULL, &id), RINGDROP_EINVAL);
      CHECK(id == 0);
    }
    co.reply_queue = queue;
    CHECK_OK(ringdrop_client_connect_ring(location, &co, &cq));
    if (cq != NULL) {
      CHECK_FAILS(ringdrop_client_send_request(cq, T_ECHO, NULL, 24, LONG_WAIT, 1, NULL, &id), RINGDROP_EINVAL);
      CHECK_FAILS(ringdrop_client_send_request(cq, T_ECHO, p, sizeof p, -1, 1, NULL, &id), RINGDROP_EINVAL);
      CHECK_FAILS(ringdrop_client_send_request(cq, T_ECHO, p, 20, LONG_WAIT, 1, NULL, &id), RINGDROP_EBADMESSAGE);
      ca.size = 3;
      CHECK_FAILS(ringdrop_client_send_request(cq, T_ECHO, p, sizeof p, LONG_WAIT, 1, &ca, &id), RINGDROP_EINVAL);
      ringdrop_call_options_init(&ca);
      ca.schema_version = 70000;
      CHECK_FAILS(ringdrop_client_send_request(cq, T_ECHO, p, sizeof p, LONG_WAIT, 1, &ca, &id), RINGDROP_EINVAL);
      ringdrop_call_options_init(&ca);
      ca.header_count = 1; /* and no arrays */
      CHECK_FAILS(ringdrop_client_send_request(cq, T_ECHO, p, sizeof p, LONG_WAIT, 1, &ca, &id), RINGDROP_EINVAL);
      CHECK(id == 0);
      /* Nothing was sent. */
      CHECK_RC(ringdrop_server_serve_one(s, 0), RINGDROP_ETIMEDOUT);
    }
    ringdrop_client_close(cq);
    ringdrop_server_close(s);
    remove_request_ring(service);
  }
done:
  ringdrop_client_close(c);
  ringdrop_reply_queue_close(q);
  if (q != NULL) remove_reply_queue(queue);
  remove_store(store);
}

/* send_request to a forked server; the replies taken from the queue, by
 * correlation id, then acked or rejected (a dead letter); the counters. */
static void shared_reply_queue(void) {
  static const char* const keys[] = {"add"};
  static const char* const values[] = {"100"};
  char service[NAME_LEN], queue[NAME_LEN], store[64], ids[512];
  ringdrop_reply_queue* q = NULL;
  ringdrop_client* c = NULL;
  ringdrop_message* reply = NULL;
  ringdrop_message* again = (ringdrop_message*)(void*)&c;
  ringdrop_call_options ca;
  ringdrop_client_stats cs;
  ringdrop_reply_queue_stats qs;
  uint64_t p[VALUE_WORDS];
  unsigned long long id1 = 0, id2 = 0, id3 = 0, request_id = 0, u = 0;
  unsigned int count = 0;
  int up = -1, down = -1, kind = -1, code = -1;
  const char* text = NULL;
  pid_t pid;
  context = "shared reply queue";
  make_service(service, "rq");
  make_service(queue, "rq-replies");
  make_store(store);
  pid = spawn_server(service, &up, &down);
  if (pid == 0) goto done;
  q = open_queue(queue, store);
  c = connect_with_queue(service, queue, 0);
  if (q == NULL || c == NULL) goto done;

  /* A correlation id of the caller's own (an order number) comes back. */
  encode_value(p, 41);
  CHECK_OK(ringdrop_client_send_request(c, T_ECHO, p, sizeof p, LONG_WAIT, 0xC0FFEE, NULL, &id1));
  CHECK(id1 != 0);
  CHECK_OK(ringdrop_reply_queue_take(q, LONG_WAIT, &reply, &request_id, &count));
  CHECK(reply_is(reply, 42));
  CHECK(request_id == id1 && count == 1);
  if (reply != NULL) {
    CHECK_OK(ringdrop_message_correlation_id(reply, &u));
    CHECK(u == 0xC0FFEE);
    CHECK(request_id_header_is(reply, id1));
    CHECK_OK(ringdrop_message_kind(reply, &kind));
    CHECK(kind == RINGDROP_MESSAGE_RESPONSE);
    CHECK_OK(ringdrop_message_type_id(reply, &u));
    CHECK(u == T_ECHO_REPLY);
    CHECK_OK(ringdrop_message_error(reply, &code, &text));
    CHECK(code == 0 && strcmp(text, "") == 0);
  }
  /* Held until acked: taking another first is refused. */
  CHECK_FAILS(ringdrop_reply_queue_take(q, 0, &again, NULL, NULL), RINGDROP_EINVAL);
  CHECK(again == NULL);
  CHECK_OK(ringdrop_reply_queue_ack(q));
  CHECK_FAILS(ringdrop_reply_queue_ack(q), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_reply_queue_reject(q, "twice"), RINGDROP_EINVAL);
  /* The reply is the caller's copy: it outlives the ack. */
  CHECK(reply_is(reply, 42));
  ringdrop_message_close(reply);
  reply = NULL;

  /* Correlation id 0: the request's message id; call options travel; the
   * out parameters may be NULL. Rejected: a dead letter with the reason. */
  ringdrop_call_options_init(&ca);
  ca.header_keys = keys;
  ca.header_values = values;
  ca.header_count = 1;
  encode_value(p, 1);
  CHECK_OK(ringdrop_client_send_request(c, T_ECHO, p, sizeof p, LONG_WAIT, 0, &ca, &id2));
  CHECK(id2 != 0 && id2 != id1);
  CHECK_OK(ringdrop_reply_queue_take(q, LONG_WAIT, &reply, NULL, NULL));
  CHECK(reply_is(reply, 102));
  if (reply != NULL) {
    CHECK_OK(ringdrop_message_correlation_id(reply, &u));
    CHECK(u == id2);
    CHECK(request_id_header_is(reply, id2));
  }
  ringdrop_message_close(reply);
  reply = NULL;
  CHECK_OK(ringdrop_reply_queue_reject(q, "cannot use it"));
  CHECK_FAILS(ringdrop_reply_queue_ack(q), RINGDROP_EINVAL);
  CHECK(dead_letters_in(store, ids, sizeof ids) == 1);

  /* The handler's error is the reply's; no message id wanted back. */
  CHECK_OK(ringdrop_client_send_request(c, T_FAIL, p, sizeof p, LONG_WAIT, 7, NULL, NULL));
  CHECK_OK(ringdrop_reply_queue_take(q, LONG_WAIT, &reply, &request_id, &count));
  if (reply != NULL) {
    CHECK_OK(ringdrop_message_error(reply, &code, &text));
    CHECK(code == 42 && strcmp(text, "refused: no such order") == 0);
    CHECK_OK(ringdrop_message_correlation_id(reply, &u));
    CHECK(u == 7);
    CHECK(request_id != 0 && request_id != id1 && request_id != id2 && count == 1);
    CHECK(request_id_header_is(reply, request_id));
  }
  ringdrop_message_close(reply);
  reply = NULL;
  CHECK_OK(ringdrop_reply_queue_ack(q));
  /* A type nobody handles: the server's library says so, in the reply. */
  CHECK_OK(ringdrop_client_send_request(c, T_STRANGER, p, sizeof p, LONG_WAIT, 8, NULL, &id3));
  CHECK_OK(ringdrop_reply_queue_take(q, LONG_WAIT, &reply, &request_id, NULL));
  CHECK(request_id == id3);
  if (reply != NULL) {
    CHECK_OK(ringdrop_message_error(reply, &code, &text));
    CHECK(code == RINGDROP_EUNKNOWNTYPE);
  }
  ringdrop_message_close(reply);
  reply = NULL;
  CHECK_OK(ringdrop_reply_queue_ack(q));
  CHECK_RC(ringdrop_reply_queue_take(q, 0, &reply, NULL, NULL), RINGDROP_ETIMEDOUT);

  qs.size = sizeof qs;
  CHECK_OK(ringdrop_reply_queue_get_stats(q, &qs));
  CHECK(qs.taken == 4 && qs.acked == 3 && qs.rejected == 1);
  CHECK(qs.redelivered == 0 && qs.expired == 0 && qs.malformed == 0);
  cs.size = sizeof cs;
  CHECK_OK(ringdrop_client_get_stats(c, &cs));
  CHECK(cs.requests_sent == 4 && cs.calls == 0 && cs.in_flight == 0 && cs.notifications == 0);
  /* An older program's shorter stats struct: its fields only. */
  {
    unsigned char raw[sizeof(ringdrop_reply_queue_stats) + 8];
    ringdrop_reply_queue_stats* small = (ringdrop_reply_queue_stats*)(void*)raw;
    const size_t small_size = sizeof(unsigned long) + 2 * sizeof(unsigned long long);
    memset(raw, 0xab, sizeof raw);
    small->size = small_size;
    CHECK_OK(ringdrop_reply_queue_get_stats(q, small));
    CHECK(small->taken == 4 && small->acked == 3 && raw[small_size] == 0xab);
  }
done:
  ringdrop_client_close(c);
  ringdrop_reply_queue_close(q);
  if (pid != 0) stop_server(service, pid);
  close(up);
  close(down);
  if (q != NULL) remove_reply_queue(queue);
  remove_request_ring(service);
  remove_store(store);
}

/* The sender is a process that exits right after sending: its reply waits
 * in the queue, and this process takes it. */
static void replies_outlive_their_sender(void) {
  char service[NAME_LEN], queue[NAME_LEN], store[64];
  ringdrop_reply_queue* q = NULL;
  ringdrop_message* reply = NULL;
  unsigned long long id = 0, request_id = 0, u = 0;
  unsigned int count = 0;
  int up = -1, down = -1, ids[2] = {-1, -1}, status = 0;
  pid_t pid, sender;
  context = "replies outlive their sender";
  make_service(service, "rq-exit");
  make_service(queue, "rq-exit-replies");
  make_store(store);
  pid = spawn_server(service, &up, &down);
  if (pid == 0) goto done;
  q = open_queue(queue, store);
  if (q == NULL || pipe(ids) != 0) goto done;
  fflush(NULL);
  sender = fork();
  if (sender == 0) { /* the sender: its own client, one request, then gone */
    ringdrop_client* c = connect_with_queue(service, queue, 0);
    uint64_t p[VALUE_WORDS];
    unsigned long long sent = 0;
    encode_value(p, 99);
    if (c == NULL || ringdrop_client_send_request(c, T_ECHO, p, sizeof p, LONG_WAIT, 4242, NULL, &sent) != 0) {
      fprintf(stderr, "sender: %s\n", ringdrop_last_error_message());
    }
    ringdrop_client_close(c);
    _exit(write(ids[1], &sent, sizeof sent) == (ssize_t)sizeof sent && sent != 0 ? 0 : 1);
  }
  CHECK(sender > 0);
  close(ids[1]);
  ids[1] = -1;
  CHECK(read(ids[0], &id, sizeof id) == (ssize_t)sizeof id);
  CHECK(waitpid(sender, &status, 0) == sender);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  CHECK_OK(ringdrop_reply_queue_take(q, LONG_WAIT, &reply, &request_id, &count));
  CHECK(reply_is(reply, 100));
  CHECK(id != 0 && request_id == id && count == 1);
  if (reply != NULL) {
    CHECK_OK(ringdrop_message_correlation_id(reply, &u));
    CHECK(u == 4242);
  }
  CHECK_OK(ringdrop_reply_queue_ack(q));
done:
  ringdrop_message_close(reply);
  ringdrop_reply_queue_close(q);
  if (pid != 0) stop_server(service, pid);
  close(up);
  close(down);
  if (ids[0] >= 0) close(ids[0]);
  if (ids[1] >= 0) close(ids[1]);
  if (q != NULL) remove_reply_queue(queue);
  remove_request_ring(service);
  remove_store(store);
}

/* A taker killed (kill -9) while it holds a reply: the reply goes to
 * another taker, its delivery count 2. */
static void a_taker_killed_holding_a_reply(void) {
  char service[NAME_LEN], queue[NAME_LEN], store[64];
  ringdrop_reply_queue* q = NULL;
  ringdrop_client* c = NULL;
  ringdrop_message* reply = NULL;
  ringdrop_reply_queue_stats qs;
  uint64_t p[VALUE_WORDS];
  unsigned long long id = 0, request_id = 0, u = 0;
  unsigned int count = 0;
  int up = -1, down = -1, taken[2] = {-1, -1}, status = 0;
  pid_t pid, taker = 0;
  context = "taker killed holding a reply";
  make_service(service, "rq-kill");
  make_service(queue, "rq-kill-replies");
  make_store(store);
  pid = spawn_server(service, &up, &down);
  if (pid == 0) goto done;
  q = open_queue(queue, store);
  c = connect_with_queue(service, queue, 0);
  if (q == NULL || c == NULL || pipe(taken) != 0) goto done;
  encode_value(p, 10);
  CHECK_OK(ringdrop_client_send_request(c, T_ECHO, p, sizeof p, LONG_WAIT, 77, NULL, &id));
  fflush(NULL);
  taker = fork();
  if (taker == 0) { /* takes the reply, says so, and holds it until killed */
    ringdrop_reply_queue* mine = NULL;
    ringdrop_message* m = NULL;
    unsigned long long corr = 0;
    ringdrop_reply_queue_options qo;
    ringdrop_reply_queue_options_init(&qo);
    qo.dead_letters = store;
    if (ringdrop_reply_queue_open(queue, &qo, &mine) == 0 &&
        ringdrop_reply_queue_take(mine, LONG_WAIT, &m, NULL, NULL) == 0 &&
        ringdrop_message_correlation_id(m, &corr) == 0 && corr == 77) {
      put_byte(taken[1], 'T');
    } else {
      put_byte(taken[1], 'F');
    }
    for (;;) pause();
  }
  CHECK(taker > 0);
  CHECK(get_byte(taken[0]) == 'T');
  kill(taker, SIGKILL);
  CHECK(waitpid(taker, &status, 0) == taker);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  CHECK_OK(ringdrop_reply_queue_take(q, LONG_WAIT, &reply, &request_id, &count));
  CHECK(reply_is(reply, 11));
  CHECK(request_id == id && count == 2);
  if (reply != NULL) {
    CHECK_OK(ringdrop_message_correlation_id(reply, &u));
    CHECK(u == 77);
  }
  CHECK_OK(ringdrop_reply_queue_ack(q));
  qs.size = sizeof qs;
  CHECK_OK(ringdrop_reply_queue_get_stats(q, &qs));
  CHECK(qs.taken == 1 && qs.redelivered == 1 && qs.acked == 1);
done:
  ringdrop_message_close(reply);
  ringdrop_client_close(c);
  ringdrop_reply_queue_close(q);
  if (pid != 0) stop_server(service, pid);
  close(up);
  close(down);
  if (taken[0] >= 0) close(taken[0]);
  if (taken[1] >= 0) close(taken[1]);
  if (q != NULL) remove_reply_queue(queue);
  remove_request_ring(service);
  remove_store(store);
}

/* Waits until CLOCK_MONOTONIC has passed `after` + `ns`: only to let a
 * reply's time to live run out (no check depends on how long it took). */
static void let_time_pass(const struct timespec* after, long long ns) {
  struct timespec now, pause_for = {0, 1000000};
  for (;;) {
    clock_gettime(CLOCK_MONOTONIC, &now);
    if ((now.tv_sec - after->tv_sec) * 1000000000LL + (now.tv_nsec - after->tv_nsec) > ns) return;
    nanosleep(&pause_for, NULL);
  }
}

/* A reply whose time to live (reply_ttl_ns) ran out before it was taken is
 * dead-lettered and counted, not yielded. */
static void an_expired_reply_is_dead_lettered(void) {
  char service[NAME_LEN], queue[NAME_LEN], store[64], ids[512];
  ringdrop_reply_queue* q = NULL;
  ringdrop_client* c = NULL;
  ringdrop_message* reply = NULL;
  ringdrop_reply_queue_stats qs;
  struct timespec held;
  uint64_t p[VALUE_WORDS];
  int up = -1, down = -1;
  pid_t pid;
  context = "expired reply";
  make_service(service, "rq-ttl");
  make_service(queue, "rq-ttl-replies");
  make_store(store);
  pid = spawn_server(service, &up, &down);
  if (pid == 0) goto done;
  q = open_queue(queue, store);
  c = connect_with_queue(service, queue, 1 * MS);
  if (q == NULL || c == NULL) goto done;
  encode_value(p, 0);
  CHECK_OK(ringdrop_client_send_request(c, T_HOLD, p, sizeof p, LONG_WAIT, 5, NULL, NULL));
  CHECK(get_byte(up) == 'H');
  put_byte(down, 'G');
  CHECK(get_byte(up) == 'D'); /* answered: the reply is in the queue, its 1 ms counted from before */
  clock_gettime(CLOCK_MONOTONIC, &held);
  let_time_pass(&held, 2 * MS);
  CHECK_RC(ringdrop_reply_queue_take(q, 0, &reply, NULL, NULL), RINGDROP_ETIMEDOUT);
  CHECK(reply == NULL);
  qs.size = sizeof qs;
  CHECK_OK(ringdrop_reply_queue_get_stats(q, &qs));
  CHECK(qs.expired == 1 && qs.taken == 0 && qs.malformed == 0);
  CHECK(dead_letters_in(store, ids, sizeof ids) == 1);
done:
  ringdrop_message_close(reply);
  ringdrop_client_close(c);
  ringdrop_reply_queue_close(q);
  if (pid != 0) stop_server(service, pid);
  close(up);
  close(down);
  if (q != NULL) remove_reply_queue(queue);
  remove_request_ring(service);
  remove_store(store);
}

static void remove_registry(void) {
  DIR* dir = opendir(registry);
  struct dirent* e;
  char path[512];
  if (dir == NULL) return;
  while ((e = readdir(dir)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    snprintf(path, sizeof path, "%s/%s", registry, e->d_name);
    (void)unlink(path);
  }
  closedir(dir);
  (void)rmdir(registry);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN); /* a child that died early shows as a failed check */
  strcpy(registry, "/tmp/ringdrop-c-rpc-XXXXXX");
  if (mkdtemp(registry) == NULL) {
    perror("mkdtemp");
    return 1;
  }
  options_and_null_handles();
  bad_arguments_are_einval();
  in_process();
  blocking_calls();
  server_killed_mid_async_call();
  notify_stops_a_forked_server();
  client_options_of_an_older_program();
  reply_queue_bad_arguments();
  shared_reply_queue();
  replies_outlive_their_sender();
  a_taker_killed_holding_a_reply();
  an_expired_reply_is_dead_lettered();
  remove_registry();
  if (failures == 0) printf("abi_rpc_test: all checks passed\n");
  return failures == 0 ? 0 : 1;
}
