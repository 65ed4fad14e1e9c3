/* ringdrop.h — the stable C ABI of ringdrop.
 *
 * C99, usable from C and C++, and through any foreign-function interface
 * (Python ctypes, COBOL CALL, Fortran iso_c_binding). It holds no C++ type.
 *
 * Conventions, for every function declared here:
 *   - Names are ringdrop_<noun>_<verb> (or ringdrop_<verb> for the library).
 *   - A function that can fail returns 0 on success or a negative
 *     RINGDROP_E* code; it never throws, never aborts, never exits. No C++
 *     exception crosses this boundary: each entry point catches and converts
 *     (out of memory is RINGDROP_ENOMEM).
 *   - After a failure, ringdrop_last_error_message() says what went wrong in a
 *     sentence (which name, which field, which system call), for this thread.
 *   - Handles are opaque pointers. Destroying a NULL handle is a harmless
 *     no-op; passing a NULL handle or out-pointer elsewhere is
 *     RINGDROP_EINVAL. A function that makes a handle sets it to NULL when
 *     it fails.
 *
 * ABI policy (docs: bindings/README.md): within a major version, functions,
 * codes and struct layouts are only ever added, never changed or removed;
 * the SONAME (libringdrop.so.<major>) changes with the major version. Only
 * ringdrop_* symbols are exported from libringdrop.so.
 *
 * Parts: versions and errors; rings; the file-drop channel; typed
 * messages; request/response. */
#ifndef RINGDROP_H
#define RINGDROP_H

#include "ringdrop/error_table.h"
#include "ringdrop/version.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------- versions */

/* The version this header belongs to, from ringdrop/version.h (generated
 * from the build's one version): RINGDROP_VERSION_MAJOR, _MINOR, _PATCH,
 * RINGDROP_VERSION_STRING ("0.2.0") and RINGDROP_VERSION, one comparable
 * number: major * 10000 + minor * 100 + patch. */

/* The version of the library loaded at run time, as RINGDROP_VERSION: a
 * program can check that it runs against the version it was built for (same
 * major, minor at least its own). */
int ringdrop_version(void);
/* The same as text, as RINGDROP_VERSION_STRING. */
const char* ringdrop_version_string(void);

/* --------------------------------------------------------------- errors */

/* Success. */
#define RINGDROP_OK 0
/* The failure codes, made from ringdrop/error_table.h, which says what
 * each means: the C++ ringdrop::errc values negated (RINGDROP_EWOULDBLOCK
 * -1, RINGDROP_ETIMEDOUT -2, ...), then the C ABI's own: RINGDROP_ESYSTEM
 * -100 (an operating-system error no other code names), RINGDROP_ENOMEM
 * -101, RINGDROP_EINTERNAL -102 (a bug in ringdrop). Enumerators, as in
 * libuv: usable wherever an int constant is, but not in #if. Their values
 * never change. */
enum {
#define RINGDROP_CODE_(cpp_name, c_suffix, number, message) RINGDROP_##c_suffix = -(number),
  RINGDROP_ERROR_TABLE(RINGDROP_CODE_)
#undef RINGDROP_CODE_
#define RINGDROP_C_CODE_(c_suffix, number, message) RINGDROP_##c_suffix = -(number),
  RINGDROP_C_ERROR_TABLE(RINGDROP_C_CODE_)
#undef RINGDROP_C_CODE_
};

/* A short, static description of `code` (0 or a RINGDROP_E* code); never
 * NULL, also for codes this version does not know. */
const char* ringdrop_strerror(int code);

/* The detail of the last failure on this thread ("shm:orders has layout
 * version 7, this library speaks 1"); "" when the last call succeeded or its
 * failure needs no detail (a timeout). The text stays valid until the next
 * ringdrop call on this thread; ringdrop_strerror, ringdrop_version*,
 * ringdrop_last_error_errno and this function itself do not count (they
 * never change it). */
const char* ringdrop_last_error_message(void);

/* The errno behind the last failure on this thread (ENOENT behind a
 * RINGDROP_ENOTFOUND from open(2), ENOTDIR behind a RINGDROP_ESYSTEM...), or
 * 0 when that failure came from no system call. Like
 * ringdrop_last_error_message() it is cleared at each ringdrop call (the
 * same ones do not count): read it right after the failure. For
 * RINGDROP_ESYSTEM the message names the error too (strerror's text). */
int ringdrop_last_error_errno(void);

/* ---------------------------------------------------------------- rings
 *
 * One handle type for every ring kind and role: an SPSC producer or
 * consumer, an MPMC producer or consumer, a broadcast publisher or
 * subscriber. The semantics are those of the C++ classes
 * (lib/include/ringdrop/spsc_ring.hpp, mpmc_ring.hpp, broadcast_ring.hpp).
 *
 * Timeouts are in nanoseconds: 0 looks once (RINGDROP_ETIMEDOUT if there is
 * nothing), a negative timeout is RINGDROP_EINVAL (no call waits forever).
 * A waiter checks that its peer lives every liveness interval (options'
 * liveness_ns, 50 ms by default): a wait shorter than that reports a dead
 * peer as RINGDROP_ETIMEDOUT; wait longer to see RINGDROP_EPEERGONE. (Every
 * message the peer committed is delivered first.)
 *
 * A handle belongs to one thread at a time. */

typedef struct ringdrop_ring ringdrop_ring;

/* Ring kinds. */
#define RINGDROP_RING_SPSC 1      /* one producer, one consumer */
#define RINGDROP_RING_MPMC 2      /* producers, competing consumers */
#define RINGDROP_RING_BROADCAST 3 /* one publisher, every subscriber sees all */

/* Roles (for broadcast: publisher and subscriber). */
#define RINGDROP_ROLE_PRODUCER 1
#define RINGDROP_ROLE_CONSUMER 2

/* Opening. */
#define RINGDROP_OPEN 0           /* it must exist (RINGDROP_ENOTFOUND) */
#define RINGDROP_CREATE 1         /* it must not (RINGDROP_EEXISTS) */
#define RINGDROP_OPEN_OR_CREATE 2

/* How a blocked call waits. */
#define RINGDROP_WAIT_SPIN_BLOCK 0 /* spin briefly, then sleep on a futex (default) */
#define RINGDROP_WAIT_SPIN 1       /* busy-spin: lowest latency, burns a core */
#define RINGDROP_WAIT_SPIN_YIELD 2 /* spin, yielding the CPU between checks */

/* Options of ringdrop_ring_open. Fill with ringdrop_ring_options_init(),
 * then change what you need: fields are only ever added at the end, and
 * `size` tells the library which ones this program knows. */
typedef struct ringdrop_ring_options {
  unsigned long size;            /* sizeof(ringdrop_ring_options), set by _init */
  unsigned long long capacity;   /* data bytes when creating; 0: 1 MiB (or as found) */
  unsigned int cell_size;        /* MPMC/broadcast cell bytes (power of two >= 64); 0: 256 */
  int file_backed;               /* 1: `name` is a file path, not a shm name */
  int wait_mode;                 /* RINGDROP_WAIT_* */
  long long spin_ns;             /* spin before sleeping or yielding; < 0: default */
  long long liveness_ns;         /* how often a waiter checks its peer lives; <= 0: default (50 ms) */
  int overwrite;                 /* broadcast, at creation: lap slow subscribers */
  int drop_on_consumer_death;    /* MPMC, at creation: a dead consumer's messages are lost */
  int start_at_oldest;           /* broadcast subscriber: begin at the oldest message kept */
  unsigned int mode;             /* permission bits when creating; 0: 0600 */
  /* Poison messages (MPMC and SPSC; C++: ringdrop/ring_dead_letters.hpp).
   * At creation: deliveries of one message before it is set aside as a
   * dead letter instead of being delivered again (1..1000; 0: 5). */
  unsigned int max_deliveries;
  /* A consumer's dead-letter directory (it must exist; it becomes a drop
   * channel's root). NULL or "": the default, ringdrop_ring_dead_letter_dir. */
  const char* dead_letters;
} ringdrop_ring_options;

/* Fills `options` with the defaults, `size` bytes of it: sizeof the struct
 * as the caller knows it. The macro below passes it; a program built against
 * an older header calls the plain function, which fills only the fields the
 * struct had first (through `mode`: RINGDROP_RING_OPTIONS_FIRST_SIZE), so a
 * library with a longer struct never writes past the caller's. Bindings that
 * reach the library by symbol (ctypes, Fortran) call the _size form with the
 * size of their own copy of the struct. */
#define RINGDROP_RING_OPTIONS_FIRST_SIZE 64
void ringdrop_ring_options_init(ringdrop_ring_options* options);
void ringdrop_ring_options_init_size(ringdrop_ring_options* options, unsigned long size);
#define ringdrop_ring_options_init(options) ringdrop_ring_options_init_size((options), sizeof(ringdrop_ring_options))

/* Opens (or creates) ring `name` of `kind` in `role`; *ring is the handle.
 * `options` may be NULL for the defaults. */
int ringdrop_ring_open(const char* name, int kind, int role, int how,
                       const ringdrop_ring_options* options, ringdrop_ring** ring);
/* Leaves the ring (the peer sees RINGDROP_EPEERGONE). NULL: no-op. */
void ringdrop_ring_close(ringdrop_ring* ring);
/* Removes the ring's name (a shm name, or a file when file_backed). */
int ringdrop_ring_remove(const char* name, int file_backed);

/* The largest message this ring can carry, into *size: for SPSC half the
 * capacity less 8 bytes, for MPMC and broadcast the cell size less 16. */
int ringdrop_ring_max_message_size(const ringdrop_ring* ring, unsigned long long* size);

/* Copies `size` bytes in as one message; waits up to timeout_ns for room. */
int ringdrop_ring_send(ringdrop_ring* ring, const void* data, unsigned long long size,
                       long long timeout_ns);
/* Copies the next message out into `buffer` (`capacity` bytes); its size
 * into *size. If it does not fit, RINGDROP_EMSGSIZE with *size = the size
 * needed, and the message stays: the next receive or read returns it. */
int ringdrop_ring_receive(ringdrop_ring* ring, void* buffer, unsigned long long capacity,
                          unsigned long long* size, long long timeout_ns);

/* Zero-copy writing: *data points at `size` bytes inside the ring, 8-byte
 * aligned; write the message there, then commit the bytes used (<= size). */
int ringdrop_ring_reserve(ringdrop_ring* ring, unsigned long long size, long long timeout_ns,
                          void** data);
int ringdrop_ring_commit(ringdrop_ring* ring, unsigned long long used);

/* Zero-copy reading: *data and *size describe the next message in place,
 * valid until ringdrop_ring_release. Several reads may precede one release,
 * which hands back everything read — including a message a receive kept
 * because it did not fit (release only after you have it). */
int ringdrop_ring_read(ringdrop_ring* ring, long long timeout_ns, const void** data,
                       unsigned long long* size);
int ringdrop_ring_release(ringdrop_ring* ring);

/* Broadcast subscribers: messages missed at the last RINGDROP_EMESSAGELOST. */
int ringdrop_ring_last_missed(const ringdrop_ring* ring, unsigned long long* missed);

/* Poison messages. A message every consumer dies on is delivered at most
 * max_deliveries times (options), then set aside as a dead letter: a file
 * in the failed/ folder of a drop channel (the ring's dead-letter store),
 * with the ring, its deliveries and the reason. Open the store with
 * ringdrop_drop_open(dir) to list (ringdrop_drop_dead_letters) and purge
 * them; requeue one into its ring with ringdrop_ring_dead_letter_requeue.
 *
 * MPMC and SPSC consumers: how many times the message read last has been
 * delivered, this time included (1 unless consumers died holding it; for an
 * SPSC record a dead consumer had passed, 2: "at least twice"). */
int ringdrop_ring_delivery_count(const ringdrop_ring* ring, unsigned int* count);
/* MPMC and SPSC consumers: sets the message read last aside as a dead letter
 * now, with `reason` (may be NULL). RINGDROP_EINVAL if nothing is held; if
 * the store cannot be written (RINGDROP_ENOTFOUND, _EUNSAFEFILE, _ENOSPACE,
 * ...) the message stays held. */
int ringdrop_ring_reject(ringdrop_ring* ring, const char* reason);
/* The default dead-letter directory of ring `name` into `buffer`
 * (NUL-terminated); *size is the bytes needed with the NUL. RINGDROP_EMSGSIZE
 * when `capacity` is smaller (nothing written): call again. */
int ringdrop_ring_dead_letter_dir(const char* name, int file_backed, char* buffer, unsigned long capacity,
                                  unsigned long* size);
/* Sends dead letter `id` of ring `name` (store `dir`; NULL: the default)
 * back into the ring, waiting up to timeout_ns for room, then removes it;
 * its deliveries count from 0 again. At-least-once: a crash between the two
 * leaves it in both. RINGDROP_EROLETAKEN for an SPSC ring whose producer is
 * attached; on any error the dead letter stays. */
int ringdrop_ring_dead_letter_requeue(const char* name, int file_backed, const char* dir, const char* id,
                                      long long timeout_ns);

/* ----------------------------------------------------- file-drop channel
 *
 * A watched directory as a message channel (C++: ringdrop/drop_channel.hpp
 * and drop_consumer.hpp; the tree: docs/file-drop.md). A channel handle
 * publishes and manages dead letters; a consumer handle claims; a claim
 * handle reads and settles one message. Any closing order is allowed. */

typedef struct ringdrop_drop ringdrop_drop;
typedef struct ringdrop_drop_consumer ringdrop_drop_consumer;
typedef struct ringdrop_drop_claim ringdrop_drop_claim;

/* When a file in incoming/ counts as complete. */
#define RINGDROP_COMPLETION_SETTLE 0 /* unchanged for settle_ms */
#define RINGDROP_COMPLETION_MARKER 1 /* <name><marker_suffix> exists */
/* How consumers notice new files. */
#define RINGDROP_DISCOVERY_AUTOMATIC 0 /* inotify, polling on network file systems */
#define RINGDROP_DISCOVERY_INOTIFY 1
#define RINGDROP_DISCOVERY_POLLING 2

/* Room for a message id and its terminating NUL. */
#define RINGDROP_DROP_ID_MAX 129

/* Options of ringdrop_drop_open; fill with ringdrop_drop_options_init()
 * (fields are only ever added at the end). Times in milliseconds. */
typedef struct ringdrop_drop_options {
  unsigned long size;           /* sizeof(ringdrop_drop_options), set by _init */
  int create;                   /* create a missing tree (default 1) */
  unsigned int dir_mode;        /* default 0770; files get it without x bits */
  long long lease_ms;           /* default 30000 */
  unsigned int max_attempts;    /* default 5 */
  long long retry_backoff_ms;   /* default 1000, doubling per attempt... */
  long long retry_backoff_max_ms; /* ...up to this, default 300000 */
  int archive;                  /* 1: acked messages go to done/ (default 0: deleted) */
  int durable;                  /* 1: fsync on publish (default 1) */
  /* The completion rule: the channel's creator's, kept in state/ingest;
   * a later opener's three fields below are ignored (docs/file-drop.md). */
  int completion;               /* RINGDROP_COMPLETION_* (default SETTLE) */
  long long settle_ms;          /* default 2000 */
  const char* marker_suffix;    /* NULL: ".done"; copied by ringdrop_drop_open */
  int discovery;                /* RINGDROP_DISCOVERY_* */
  long long scan_interval_ms;   /* full scan period, default 1000 */
  /* Added later (a caller built before them gets the defaults). How long
   * maintenance keeps things, in hours: */
  long long key_retention_hours;         /* processed keys (idempotency), default 168 */
  long long dead_letter_retention_hours; /* dead letters, default 72 */
  long long receipt_retention_hours;     /* receipts/, default 168 */
  long long stale_tmp_after_hours;       /* a dead writer's files in tmp/, default 1 */
} ringdrop_drop_options;

/* Fills `options` with the defaults, `size` bytes of it, as
 * ringdrop_ring_options_init_size does: the macro passes sizeof; a program
 * built against an older header calls the plain function, which fills only
 * the fields the struct had first (through scan_interval_ms:
 * RINGDROP_DROP_OPTIONS_FIRST_SIZE). Bindings that call by symbol call the
 * _size form with the size of their own copy of the struct. */
#define RINGDROP_DROP_OPTIONS_FIRST_SIZE 96
void ringdrop_drop_options_init(ringdrop_drop_options* options);
void ringdrop_drop_options_init_size(ringdrop_drop_options* options, unsigned long size);
#define ringdrop_drop_options_init(options) \
  ringdrop_drop_options_init_size((options), sizeof(ringdrop_drop_options))

/* Opens the channel rooted at `root` (options may be NULL). */
int ringdrop_drop_open(const char* root, const ringdrop_drop_options* options,
                       ringdrop_drop** channel);
void ringdrop_drop_close(ringdrop_drop* channel);

/* Publishes `size` bytes as one message with `count` headers (keys[i]:
 * values[i]; keys of [a-z0-9-], each at most once; may be NULL when count is
 * 0). The id is written to `id`, which may be NULL; `id_capacity` below
 * RINGDROP_DROP_ID_MAX is RINGDROP_EINVAL before anything is published.
 * RINGDROP_ENOSPACE when the disk is full: nothing was published. */
int ringdrop_drop_publish(ringdrop_drop* channel, const void* data, unsigned long long size,
                          const char* const* keys, const char* const* values,
                          unsigned long count, char* id, unsigned long id_capacity);
/* Request/response over drop channels (C++: ringdrop/drop_reply.hpp): a
 * request carries the header "reply-to", the reply channel's directory (an
 * absolute path). Publishes `size` bytes as the reply to the claimed
 * `request` into that existing channel, with the headers given (as for
 * ringdrop_drop_publish) and: correlation-id (the request's, else its id),
 * request-id (its id), idempotency-key "reply-<its id>" unless given (so a
 * request answered twice, its consumer having died before the ack, is
 * processed once at the other end). Reply first, then ack the request.
 * RINGDROP_EINVAL: no reply-to, or not absolute; RINGDROP_ENOTFOUND: no
 * channel there (none is created); publish's errors. */
int ringdrop_drop_reply(const ringdrop_drop_claim* request, const void* data, unsigned long long size,
                        const char* const* keys, const char* const* values, unsigned long count,
                        char* id, unsigned long id_capacity);
/* Publishes the file at `path` by moving it in (no copy; same file system;
 * a regular file with one link, else RINGDROP_EUNSAFEFILE). */
int ringdrop_drop_publish_file(ringdrop_drop* channel, const char* path,
                               const char* const* keys, const char* const* values,
                               unsigned long count, char* id, unsigned long id_capacity);

/* The ids of the dead letters, oldest first, one per line, NUL-terminated,
 * into `ids`; *needed is the bytes required (1 for none). RINGDROP_EMSGSIZE
 * when `ids` is NULL or `capacity` smaller (nothing written): call with
 * NULL, 0 to ask for the size. */
int ringdrop_drop_dead_letters(ringdrop_drop* channel, char* ids, unsigned long capacity,
                               unsigned long* needed);
/* Back to new/ with the attempt count reset; or deleted with its reason. */
int ringdrop_drop_requeue(ringdrop_drop* channel, const char* id);
int ringdrop_drop_purge(ringdrop_drop* channel, const char* id);

/* What became of a message that has an original-name (docs/file-drop.md,
 * "Receipts"). */
#define RINGDROP_RECEIPT_TAKEN 1         /* moved from incoming/ into new/; not settled yet */
#define RINGDROP_RECEIPT_PROCESSED 2     /* acknowledged by a consumer */
#define RINGDROP_RECEIPT_DEAD_LETTERED 3 /* in failed/; the reason says why */

/* The receipt of message `id` whose original-name is `name`: a file dropped
 * into incoming/ as `name`, or a message published with the header
 * original-name (ringdrop_drop_publish gave its id). timeout_ns 0: as it is
 * now, RINGDROP_ENOTFOUND while there is none; above 0: waits until it is
 * settled (processed or dead-lettered), RINGDROP_ETIMEDOUT if it is not in
 * time. *outcome gets a RINGDROP_RECEIPT_*. The reason (empty unless
 * dead-lettered) is copied into `reason` (may be NULL when reason_capacity
 * is 0), cut to reason_capacity - 1 bytes and NUL-terminated.
 * RINGDROP_EBADMESSAGE: the file is not a receipt. (C++:
 * DropChannel::receipt.) */
int ringdrop_drop_receipt(ringdrop_drop* channel, const char* name, const char* id, long long timeout_ns,
                          int* outcome, char* reason, unsigned long reason_capacity);

int ringdrop_drop_consumer_open(ringdrop_drop* channel, ringdrop_drop_consumer** consumer);
void ringdrop_drop_consumer_close(ringdrop_drop_consumer* consumer);
/* The oldest ready message, waiting up to timeout_ns (RINGDROP_ETIMEDOUT). */
int ringdrop_drop_consumer_claim(ringdrop_drop_consumer* consumer, long long timeout_ns,
                                 ringdrop_drop_claim** claim);

/* What a claim holds. Strings stay valid until the claim is closed (the
 * path until the next extend). */
int ringdrop_drop_claim_id(const ringdrop_drop_claim* claim, const char** id);
int ringdrop_drop_claim_attempt(const ringdrop_drop_claim* claim, unsigned int* attempt);
/* A header's value; RINGDROP_ENOTFOUND when the message has no such header. */
int ringdrop_drop_claim_header(const ringdrop_drop_claim* claim, const char* key,
                               const char** value);
int ringdrop_drop_claim_path(const ringdrop_drop_claim* claim, const char** path);
/* The content, mapped read-only (no copy), valid until the claim is closed. */
int ringdrop_drop_claim_data(ringdrop_drop_claim* claim, const void** data,
                             unsigned long long* size);

/* Heartbeat: the lease now ends lease_ms from now (0: the channel's lease).
 * RINGDROP_ELEASELOST when another consumer took it back meanwhile. */
int ringdrop_drop_claim_extend(ringdrop_drop_claim* claim, long long lease_ms);
/* Settling: done; failed this time (retried with backoff, or a dead letter
 * after max_attempts); failed for good (a dead letter now). */
int ringdrop_drop_claim_ack(ringdrop_drop_claim* claim);
int ringdrop_drop_claim_nack(ringdrop_drop_claim* claim, const char* reason);
int ringdrop_drop_claim_reject(ringdrop_drop_claim* claim, const char* reason);
/* Frees the claim; one never settled is nacked ("abandoned"). */
void ringdrop_drop_claim_close(ringdrop_drop_claim* claim);

/* -------------------------------------------------------- typed messages
 *
 * A typed message is one Cap'n Proto message whose root is an Envelope
 * (lib/schemas/envelope.capnp; docs/messaging.md) carrying the
 * application's struct as its payload. C has no Cap'n Proto code of its
 * own here: a C program passes the payload as an encoded Cap'n Proto
 * message — the standard flat (unpacked) serialization, segment table
 * first, whose root is the payload struct, as `capnp encode`, capnp-c or
 * pycapnp produce — together with the payload's 64-bit type id (the
 * struct's Cap'n Proto id, or any number both sides agree on), and gets
 * payloads back the same way, to hand to its own decoder.
 *
 * A payload is validated before use (bounds, nesting at most 30 deep, no
 * capabilities, no aliased pointers, no bytes after its last segment):
 * RINGDROP_EBADMESSAGE otherwise, and nothing is built or sent. A NULL
 * payload of size 0 is "no payload" (receivers read the struct's defaults);
 * so is a payload whose root pointer is null. Any alignment will do (an
 * unaligned payload is copied first).
 *
 * Received messages are validated once, when a ringdrop_message handle is
 * made; the accessors then never fail on its content. */

typedef struct ringdrop_message ringdrop_message;

/* Message kinds (Envelope.kind). */
#define RINGDROP_MESSAGE_NOTIFICATION 0 /* one-way */
#define RINGDROP_MESSAGE_REQUEST 1
#define RINGDROP_MESSAGE_RESPONSE 2
#define RINGDROP_MESSAGE_EVENT 3        /* published to subscribers */

/* The envelope fields a sender chooses (the library sets the message id,
 * the type id and the send time). Fill with ringdrop_message_options_init()
 * (fields are only ever added at the end). */
typedef struct ringdrop_message_options {
  unsigned long size;                /* sizeof(ringdrop_message_options), set by _init */
  int kind;                          /* RINGDROP_MESSAGE_* (default NOTIFICATION) */
  unsigned long long correlation_id; /* 0: none (default) */
  const char* reply_to;              /* the ring a response goes to ("shm:<name>"); NULL: none */
  long long timeout_ns;              /* the message's deadline, ns from now; 0: none (default) */
  unsigned int schema_version;       /* 0-65535 (default 0) */
  unsigned int attempt;              /* 0-65535 (default 1) */
  int idempotent;                    /* 1: may be sent again (default 0) */
  const char* const* header_keys;    /* header_count keys and values (any text); */
  const char* const* header_values;  /*   may be NULL when header_count is 0 */
  unsigned long header_count;
} ringdrop_message_options;

void ringdrop_message_options_init(ringdrop_message_options* options);

/* Builds a message around the payload (`payload_size` bytes, type
 * `type_id`; `options` may be NULL) into `buffer`, its size into *size.
 * RINGDROP_EMSGSIZE when `buffer` is NULL or `capacity` smaller, with *size
 * the bytes needed (nothing written): call with NULL, 0 to ask. Each call
 * makes a new message (a new id, send time and deadline). */
int ringdrop_message_build(unsigned long long type_id, const void* payload,
                           unsigned long long payload_size,
                           const ringdrop_message_options* options, void* buffer,
                           unsigned long long capacity, unsigned long long* size);

/* Builds the message straight into a ring (a producer handle of any kind:
 * reserve, build in place, commit; no copy of the envelope), waiting up to
 * timeout_ns for room. The ring's errors (RINGDROP_ETIMEDOUT,
 * RINGDROP_EMSGSIZE when it can never hold the message...). */
int ringdrop_message_send(ringdrop_ring* ring, unsigned long long type_id, const void* payload,
                          unsigned long long payload_size,
                          const ringdrop_message_options* options, long long timeout_ns);

/* Validates `size` bytes as a typed message (RINGDROP_EBADMESSAGE if
 * malformed or truncated) and makes a handle of it. _open copies the bytes:
 * the handle lives on its own. _view does not: `data` (8-byte aligned, as
 * ringdrop_ring_read gives it; else RINGDROP_EINVAL) must stay valid and
 * unchanged until the handle is closed — with a ring view, close the handle
 * before ringdrop_ring_release. An empty record (a sender's cancelled
 * message) is RINGDROP_EBADMESSAGE. */
int ringdrop_message_open(const void* data, unsigned long long size, ringdrop_message** message);
int ringdrop_message_view(const void* data, unsigned long long size, ringdrop_message** message);
/* NULL: no-op. */
void ringdrop_message_close(ringdrop_message* message);

/* What a message says. Strings stay valid while the handle lives (with
 * _view, while its bytes do); a text field holding a NUL byte reads as far
 * as that byte. A handle belongs to one thread at a time. */
int ringdrop_message_id(const ringdrop_message* message, unsigned long long* id);
int ringdrop_message_correlation_id(const ringdrop_message* message, unsigned long long* id);
int ringdrop_message_type_id(const ringdrop_message* message, unsigned long long* type_id);
/* RINGDROP_MESSAGE_* (or a kind a newer sender knows, as its number). */
int ringdrop_message_kind(const ringdrop_message* message, int* kind);
int ringdrop_message_schema_version(const ringdrop_message* message, unsigned int* version);
int ringdrop_message_attempt(const ringdrop_message* message, unsigned int* attempt);
int ringdrop_message_idempotent(const ringdrop_message* message, int* idempotent);
/* The deadline as CLOCK_MONOTONIC nanoseconds (the clock every process on
 * the host shares); 0: none. */
int ringdrop_message_deadline(const ringdrop_message* message, long long* monotonic_ns);
/* Nanoseconds until the deadline: negative once it has passed; LLONG_MAX
 * when there is none. */
int ringdrop_message_time_left(const ringdrop_message* message, long long* ns);
/* When it was sent: wall-clock nanoseconds since the Unix epoch. */
int ringdrop_message_sent_at(const ringdrop_message* message, long long* wall_ns);
/* The ring a response goes to; "" when none. */
int ringdrop_message_reply_to(const ringdrop_message* message, const char** reply_to);
/* Headers: by key (the first with that key; RINGDROP_ENOTFOUND if none),
 * or by index below the count (RINGDROP_ENOTFOUND past it). */
int ringdrop_message_header(const ringdrop_message* message, const char* key, const char** value);
int ringdrop_message_header_count(const ringdrop_message* message, unsigned long* count);
int ringdrop_message_header_at(const ringdrop_message* message, unsigned long index,
                               const char** key, const char** value);
/* A response's error: *code 0 and *text "" when it carries none; > 0 the
 * server's handler's own code; < 0 a RINGDROP_E* code its library sent. */
int ringdrop_message_error(const ringdrop_message* message, int* code, const char** text);
/* The payload as its own flat Cap'n Proto message (root: the payload
 * struct; a null root when there is none), for the caller's decoder. Made
 * on the first call (one copy), then kept: *data is 8-byte aligned and
 * valid while the handle lives. */
int ringdrop_message_payload(const ringdrop_message* message, const void** data,
                             unsigned long long* size);
/* The whole message (envelope and payload) as it was validated. */
int ringdrop_message_bytes(const ringdrop_message* message, const void** data,
                           unsigned long long* size);

/* ------------------------------------------------------ request/response
 *
 * C++: ringdrop/rpc_client.hpp and rpc_server.hpp; the design:
 * docs/messaging.md. A server takes requests from its request ring
 * ("ringdrop.svc.<service>", registered by service name in the registry
 * directory) and answers each on its caller's reply ring; a client calls by
 * service name or by the request ring's location ("shm:<name>" or
 * "file:<path>"). Payloads are flat Cap'n Proto bytes, as above; request
 * and response type ids are chosen per call and per handler.
 *
 * Every call has a timeout (ns; 0 looks once; negative is RINGDROP_EINVAL).
 * A call ends in exactly one of: the reply (a ringdrop_message the caller
 * closes); RINGDROP_ETIMEDOUT; RINGDROP_EPEERGONE (every server of the
 * request ring died or left while it was in flight, seen within the
 * liveness interval); RINGDROP_EBADMESSAGE (the reply did not parse or
 * carried another type than resp_type; or the request payload was
 * malformed: not sent); RINGDROP_EREMOTE (the handler's error: see
 * ringdrop_client_last_remote_error) or the code the server's library sent
 * back (RINGDROP_EUNKNOWNTYPE: no handler for req_type); RINGDROP_ECIRCUITOPEN
 * (the circuit breaker failed it fast, unsent); the request ring's errors
 * when sending (RINGDROP_EMSGSIZE: larger than its cells).
 *
 * A client or server handle belongs to one thread at a time; a forked
 * child must not use its parent's. */

typedef struct ringdrop_client ringdrop_client;
typedef struct ringdrop_server ringdrop_server;
typedef struct ringdrop_reply ringdrop_reply;

/* Options of ringdrop_client_connect*; fill with ringdrop_client_options_init()
 * (fields are only ever added at the end). Times in nanoseconds. */
typedef struct ringdrop_client_options {
  unsigned long size;               /* sizeof(ringdrop_client_options), set by _init */
  unsigned int retry_attempts;      /* tries in all of a call marked idempotent (default 1) */
  long long retry_backoff_ns;       /* pause before the 2nd try (default 10 ms)... */
  long long retry_max_backoff_ns;   /* ...growing up to this (default 1 s)... */
  unsigned int retry_multiplier;    /* ...by this factor per try (default 2) */
  unsigned int breaker_threshold;   /* consecutive timeouts/peer-gones that open the circuit
                                       breaker (default 5; 0: never opens) */
  long long breaker_cool_down_ns;   /* how long it stays open (default 1 s) */
  unsigned int reply_cell_size;     /* reply ring cells (default 4096; a reply is 16 less) */
  unsigned int reply_cells;         /* a power of two (default 64) */
  int wait_mode;                    /* RINGDROP_WAIT_* */
  long long spin_ns;                /* < 0: default */
  long long liveness_ns;            /* how often a call checks its servers live; <= 0: 50 ms */
  const char* registry_dir;         /* NULL: $RINGDROP_SERVICE_DIR, else
                                       /dev/shm/ringdrop-services-<uid>; copied */
  const char* reply_queue;          /* a shared reply queue for ringdrop_client_send_request
                                       (created if missing, with the defaults of
                                       ringdrop_reply_queue_options_init); NULL: none; copied */
  long long reply_ttl_ns;           /* how long a reply may wait there before it expires
                                       (rounded up to ms); 0: never (default) */
} ringdrop_client_options;

/* Fills `options` with the defaults, `size` bytes of it, as
 * ringdrop_ring_options_init_size does: the macro passes sizeof; a program
 * built against an older header calls the plain function, which fills only
 * the fields the struct had first (through registry_dir:
 * RINGDROP_CLIENT_OPTIONS_FIRST_SIZE). Bindings that call by symbol call the
 * _size form with the size of their own copy of the struct. */
#define RINGDROP_CLIENT_OPTIONS_FIRST_SIZE 88
void ringdrop_client_options_init(ringdrop_client_options* options);
void ringdrop_client_options_init_size(ringdrop_client_options* options, unsigned long size);
#define ringdrop_client_options_init(options) \
  ringdrop_client_options_init_size((options), sizeof(ringdrop_client_options))

/* Per-call options (NULL: the defaults); fill with ringdrop_call_options_init(). */
typedef struct ringdrop_call_options {
  unsigned long size;               /* sizeof(ringdrop_call_options), set by _init */
  int idempotent;                   /* 1: retried per the client's policy (blocking calls),
                                       and answered from the server's memory if repeated */
  long long attempt_timeout_ns;     /* one try's wait before the next; 0: the whole timeout */
  unsigned int schema_version;      /* 0-65535 */
  const char* const* header_keys;   /* as in ringdrop_message_options */
  const char* const* header_values;
  unsigned long header_count;
} ringdrop_call_options;

void ringdrop_call_options_init(ringdrop_call_options* options);

/* Connects to the newest live server registered as `service`
 * (RINGDROP_ENOTFOUND if none), or to the request ring at `location`
 * ("shm:<name>" or "file:<path>"; RINGDROP_ENOTFOUND if it does not exist).
 * The client creates its own reply ring, removed when it is closed.
 * `options` may be NULL. */
int ringdrop_client_connect(const char* service, const ringdrop_client_options* options,
                            ringdrop_client** client);
int ringdrop_client_connect_ring(const char* location, const ringdrop_client_options* options,
                                 ringdrop_client** client);
/* Async calls still in flight are dropped (their callbacks never run). NULL: no-op. */
void ringdrop_client_close(ringdrop_client* client);

/* Sends a request (type req_type, payload as above) and waits up to
 * timeout_ns for its reply, which must carry resp_type: *reply is then a
 * message the caller closes (ringdrop_message_payload has the response).
 * *reply is NULL after a failure. _call_ex takes per-call options. */
int ringdrop_client_call(ringdrop_client* client, unsigned long long req_type,
                         const void* req_payload, unsigned long long req_size,
                         unsigned long long resp_type, long long timeout_ns,
                         ringdrop_message** reply);
int ringdrop_client_call_ex(ringdrop_client* client, unsigned long long req_type,
                            const void* req_payload, unsigned long long req_size,
                            unsigned long long resp_type, long long timeout_ns,
                            const ringdrop_call_options* options, ringdrop_message** reply);

/* How an async call ended: `result` is 0 or a code as for ringdrop_client_call;
 * on 0 `reply` is the reply, owned by the callback from then on (close it
 * with ringdrop_message_close, now or later), else NULL. It runs on the
 * thread that calls ringdrop_client_poll or _call, which may make further
 * calls from it, but must not close the client. */
typedef void (*ringdrop_call_done_fn)(void* user, unsigned long long call_id, int result,
                                      ringdrop_message* reply);

/* Sends a request and returns at once; *call_id (may be NULL) identifies it.
 * `done` runs exactly once, from a later ringdrop_client_poll (or _call) on
 * this client, unless the client is closed first. Async calls are not
 * retried. */
int ringdrop_client_call_async(ringdrop_client* client, unsigned long long req_type,
                               const void* req_payload, unsigned long long req_size,
                               unsigned long long resp_type, long long timeout_ns,
                               const ringdrop_call_options* options, ringdrop_call_done_fn done,
                               void* user, unsigned long long* call_id);
/* Delivers replies (and timeouts, and RINGDROP_EPEERGONE) of async calls to
 * their callbacks until none is in flight (0) or timeout_ns passes
 * (RINGDROP_ETIMEDOUT, some still in flight). */
int ringdrop_client_poll(ringdrop_client* client, long long timeout_ns);

/* One-way: sends a notification (no reply), waiting up to timeout_ns for
 * room in the request ring. `options` (may be NULL) as for
 * ringdrop_message_send; its kind is ignored (always a notification). */
int ringdrop_client_notify(ringdrop_client* client, unsigned long long type_id, const void* payload,
                           unsigned long long payload_size,
                           const ringdrop_message_options* options, long long timeout_ns);

/* The server's error of the last call that ended in RINGDROP_EREMOTE (or in
 * a code the server's library sent): its code and text ("" and 0 before
 * any), valid until the next call on this client. */
int ringdrop_client_last_remote_error(const ringdrop_client* client, int* code, const char** text);

/* Circuit breaker states. */
#define RINGDROP_CIRCUIT_CLOSED 0
#define RINGDROP_CIRCUIT_OPEN 1
#define RINGDROP_CIRCUIT_HALF_OPEN 2

/* Counters of a client. Set `size` to sizeof(ringdrop_client_stats) before
 * the call; the library fills that many bytes (fields are only ever added
 * at the end; any it does not know are zeroed). */
typedef struct ringdrop_client_stats {
  unsigned long size;
  unsigned long long calls;          /* sent (a retried call once) */
  unsigned long long ok;
  unsigned long long timed_out;
  unsigned long long peer_gone;
  unsigned long long remote_errors;  /* answered with an error (any code) */
  unsigned long long bad_replies;    /* did not parse, or had the wrong type */
  unsigned long long retries;        /* tries after the first */
  unsigned long long late_replies;   /* came after their call ended: dropped */
  unsigned long long rejected;       /* failed fast with RINGDROP_ECIRCUITOPEN */
  unsigned long long notifications;
  unsigned long long in_flight;
  int breaker_state;                 /* RINGDROP_CIRCUIT_* */
  unsigned int breaker_consecutive_failures;
  unsigned long long breaker_opened;
  unsigned long long breaker_trials;
  unsigned long long requests_sent;  /* by ringdrop_client_send_request */
} ringdrop_client_stats;

int ringdrop_client_get_stats(const ringdrop_client* client, ringdrop_client_stats* stats);

/* ------------------------------------------------- shared reply queues
 *
 * Replies that outlive their caller (C++: ringdrop/reply_queue.hpp). A
 * client connected with options->reply_queue sends requests whose reply
 * goes to that queue, an MPMC ring "shm:ringdrop.replies.<name>" that every
 * instance of the calling program opens with ringdrop_reply_queue_open: any
 * of them takes the reply, even after the sender died. A reply is held
 * until acked; one whose taker died first goes to another (its delivery
 * count says so), up to max_deliveries, then to the ring's dead letters.
 * The server answers such a request even after its deadline, with the
 * request's own correlation id (else its message id) and the header
 * "request-id" (the request's message id, in decimal); a reply whose
 * expiration passed (reply_ttl_ns) is dead-lettered instead of taken. */

/* Sends a request of type req_type whose reply goes to the client's reply
 * queue, waiting up to timeout_ns for room in the request ring (also the
 * request's deadline: a server that takes it later does not run it, and
 * its reply in the queue carries the error RINGDROP_EDEADLINE instead).
 * correlation_id (0: the message id) comes back in the reply; `options`
 * (NULL: defaults) gives schema_version and headers (idempotent and
 * attempt_timeout_ns are not used: the request is sent once). *message_id (may be NULL) gets the
 * request's id. RINGDROP_EINVAL when the client has no reply queue; the
 * request ring's errors. */
int ringdrop_client_send_request(ringdrop_client* client, unsigned long long req_type,
                                 const void* req_payload, unsigned long long req_size,
                                 long long timeout_ns, unsigned long long correlation_id,
                                 const ringdrop_call_options* options,
                                 unsigned long long* message_id);

typedef struct ringdrop_reply_queue ringdrop_reply_queue;

/* The queue's ring, when this call creates it (the first client or queue
 * to open it chooses); fill with ringdrop_reply_queue_options_init(). */
typedef struct ringdrop_reply_queue_options {
  unsigned long size;               /* sizeof(ringdrop_reply_queue_options), set by _init */
  unsigned int cell_size;           /* default 4096 (a reply is 16 less) */
  unsigned int cells;               /* a power of two (default 1024) */
  unsigned int max_deliveries;      /* 1-1000 (default 5) */
  const char* dead_letters;         /* an existing directory; NULL: the ring's default store */
  int wait_mode;                    /* RINGDROP_WAIT_* */
  long long spin_ns;                /* < 0: default */
} ringdrop_reply_queue_options;

void ringdrop_reply_queue_options_init(ringdrop_reply_queue_options* options);

/* Opens reply queue `name` (a service name: [A-Za-z0-9._-], see
 * ringdrop_service_*), creating its ring if missing. RINGDROP_EINVAL for a
 * bad name; the ring's errors. */
int ringdrop_reply_queue_open(const char* name, const ringdrop_reply_queue_options* options,
                              ringdrop_reply_queue** queue);
/* A reply taken and not acked goes to another taker. NULL: no-op. */
void ringdrop_reply_queue_close(ringdrop_reply_queue* queue);

/* Takes the next reply, waiting up to timeout_ns (RINGDROP_ETIMEDOUT):
 * *reply is a copy the caller closes (ringdrop_message_correlation_id,
 * _error, _payload...); *request_id and *delivery_count (either may be
 * NULL) the request's message id and how many takers got it (> 1: one
 * died holding it). It stays held until ringdrop_reply_queue_ack or
 * _reject; taking another first is RINGDROP_EINVAL. */
int ringdrop_reply_queue_take(ringdrop_reply_queue* queue, long long timeout_ns, ringdrop_message** reply,
                              unsigned long long* request_id, unsigned int* delivery_count);
/* Handled: the reply taken last leaves the queue. RINGDROP_EINVAL if none is held. */
int ringdrop_reply_queue_ack(ringdrop_reply_queue* queue);
/* Sets the reply taken last aside as a dead letter with `reason`. */
int ringdrop_reply_queue_reject(ringdrop_reply_queue* queue, const char* reason);

/* Counters of a reply queue handle; `size` as for ringdrop_client_stats. */
typedef struct ringdrop_reply_queue_stats {
  unsigned long size;
  unsigned long long taken;
  unsigned long long acked;
  unsigned long long rejected;
  unsigned long long redelivered;   /* taken with a delivery count > 1 */
  unsigned long long expired;       /* dead-lettered on the way: past their expiration */
  unsigned long long malformed;     /* dead-lettered on the way: not a response */
} ringdrop_reply_queue_stats;

int ringdrop_reply_queue_get_stats(const ringdrop_reply_queue* queue, ringdrop_reply_queue_stats* stats);

/* Options of ringdrop_server_open*; fill with ringdrop_server_options_init()
 * (fields are only ever added at the end). */
typedef struct ringdrop_server_options {
  unsigned long size;               /* sizeof(ringdrop_server_options), set by _init */
  unsigned int cell_size;           /* request ring cells, when creating it (default 4096;
                                       a request is 16 less) */
  unsigned int cells;               /* a power of two (default 256) */
  int wait_mode;                    /* RINGDROP_WAIT_* */
  long long spin_ns;                /* < 0: default */
  long long liveness_ns;            /* <= 0: 50 ms */
  const char* registry_dir;         /* as for clients; copied */
  const char* info;                 /* free text listed with the registration; NULL: none */
  unsigned long long remembered_replies; /* replies of idempotent requests kept (default 1024) */
  unsigned int reply_rings;         /* callers' reply rings kept open (default 32) */
  long long reply_timeout_ns;       /* how long a reply waits for room (default 100 ms) */
  unsigned long long scratch_bytes; /* replies are built in this much reused memory (64 KiB) */
} ringdrop_server_options;

void ringdrop_server_options_init(ringdrop_server_options* options);

/* Opens (or creates) the request ring "ringdrop.svc.<service>" and registers
 * it under `service` (1-100 of [A-Za-z0-9._-]) for as long as the server
 * lives; or serves the request ring at `location`, unregistered. Request
 * rings outlive their servers (remove them with ringdrop_ring_remove).
 * `options` may be NULL. */
int ringdrop_server_open(const char* service, const ringdrop_server_options* options,
                         ringdrop_server** server);
int ringdrop_server_open_ring(const char* location, const ringdrop_server_options* options,
                              ringdrop_server** server);
/* Unregisters and leaves the ring. NULL: no-op. */
void ringdrop_server_close(ringdrop_server* server);

/* The request ring's location ("shm:ringdrop.svc.<service>"), valid while
 * the server lives. */
int ringdrop_server_request_ring(const ringdrop_server* server, const char** location);

/* A request handler. It gets the request (valid during the call only: do
 * not close it), the request's payload as its own flat Cap'n Proto message
 * (8-byte aligned, valid during the call), and the reply to fill: set the
 * response payload with ringdrop_reply_set_payload (none set: a response
 * without payload), or an error with ringdrop_reply_set_error, and return
 * 0. Returning a code instead fails the call with RINGDROP_EREMOTE at the
 * caller: a code > 0 travels as the error code; a negative one (a
 * RINGDROP_E* from a nested call) as RINGDROP_HANDLER_FAILED with its
 * description. A handler must return (no longjmp, no C++ exception). */
typedef int (*ringdrop_handler_fn)(void* user, const ringdrop_message* request,
                                   const void* payload, unsigned long long payload_size,
                                   ringdrop_reply* reply);

/* The error code a caller sees when a handler returned a negative code (or,
 * in C++, threw). */
#define RINGDROP_HANDLER_FAILED 0x7fffffff

/* The response payload (validated as above, and copied; a second call
 * replaces the first). RINGDROP_EBADMESSAGE: nothing set. */
int ringdrop_reply_set_payload(ringdrop_reply* reply, const void* payload,
                               unsigned long long payload_size);
/* Fails the call: the caller gets RINGDROP_EREMOTE with `code` (> 0, else
 * RINGDROP_EINVAL) and `text` (may be NULL). Wins over a payload. */
int ringdrop_reply_set_error(ringdrop_reply* reply, int code, const char* text);

/* Requests of type req_type go to `handler`, answered with type resp_type
 * (replacing any handler of req_type). Other types are answered with
 * RINGDROP_EUNKNOWNTYPE. */
int ringdrop_server_handle(ringdrop_server* server, unsigned long long req_type,
                           unsigned long long resp_type, ringdrop_handler_fn handler, void* user);

/* A notification handler: the message and its payload, as for requests. */
typedef void (*ringdrop_notification_fn)(void* user, const ringdrop_message* message,
                                         const void* payload, unsigned long long payload_size);
/* Notifications (and events) of type `type_id` go to `handler`. */
int ringdrop_server_on_notification(ringdrop_server* server, unsigned long long type_id,
                                    ringdrop_notification_fn handler, void* user);

/* Handles one message, waiting up to timeout_ns for it: 0 when one was
 * handled (answered, even with an error); RINGDROP_ETIMEDOUT when none came;
 * RINGDROP_EBADMESSAGE, RINGDROP_EUNKNOWNTYPE (a notification nobody
 * handles) or RINGDROP_EDEADLINE (a request past its deadline: not run)
 * when one was taken but not run; a damaged ring's errors. */
int ringdrop_server_serve_one(ringdrop_server* server, long long timeout_ns);
/* Handles messages for timeout_ns, then returns 0; or the first error that
 * is not about a single message (a damaged ring). */
int ringdrop_server_serve(ringdrop_server* server, long long timeout_ns);

/* Counters of a server; `size` as for ringdrop_client_stats. */
typedef struct ringdrop_server_stats {
  unsigned long size;
  unsigned long long requests;       /* taken from the ring */
  unsigned long long replies;        /* delivered */
  unsigned long long notifications;  /* handled */
  unsigned long long handler_errors; /* handlers that failed the call */
  unsigned long long unknown_type;   /* messages no handler knew */
  unsigned long long malformed;      /* messages that did not parse */
  unsigned long long expired;        /* requests past their deadline: not run */
  unsigned long long duplicates;     /* idempotent repeats answered from memory */
  unsigned long long undeliverable;  /* replies whose ring was gone, full or too small */
} ringdrop_server_stats;

int ringdrop_server_get_stats(const ringdrop_server* server, ringdrop_server_stats* stats);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* RINGDROP_H */
