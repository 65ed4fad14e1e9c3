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
 * Parts: versions and errors; rings; the file-drop channel.
 * Request/response and typed messages follow. */
#ifndef RINGDROP_H
#define RINGDROP_H

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------- versions */

#define RINGDROP_VERSION_MAJOR 0
#define RINGDROP_VERSION_MINOR 1
#define RINGDROP_VERSION_PATCH 0
/* One number, comparable: major * 10000 + minor * 100 + patch. */
#define RINGDROP_VERSION \
  (RINGDROP_VERSION_MAJOR * 10000 + RINGDROP_VERSION_MINOR * 100 + RINGDROP_VERSION_PATCH)

/* The version of the library loaded at run time, as RINGDROP_VERSION: a
 * program can check that it runs against the version it was built for (same
 * major, minor at least its own). */
int ringdrop_version(void);
/* The same as text, "0.1.0". */
const char* ringdrop_version_string(void);

/* --------------------------------------------------------------- errors */

/* Success. */
#define RINGDROP_OK 0
/* The codes of the C++ ringdrop::errc, negated; see ringdrop_strerror(). */
#define RINGDROP_EWOULDBLOCK (-1)         /* nothing to read or no room now */
#define RINGDROP_ETIMEDOUT (-2)           /* the wait's timeout passed; nothing lost */
#define RINGDROP_EDEADLINE (-3)           /* a message's own deadline passed */
#define RINGDROP_EPEERGONE (-4)           /* the peer process died or left */
#define RINGDROP_EROLETAKEN (-5)          /* another live process holds the role */
#define RINGDROP_EMESSAGELOST (-6)        /* a message is known to be lost */
#define RINGDROP_EBADMESSAGE (-7)         /* malformed, truncated or wrong type */
#define RINGDROP_EMSGSIZE (-8)            /* larger than the ring can ever hold */
#define RINGDROP_ECORRUPTED (-9)          /* the segment is damaged */
#define RINGDROP_EFOREIGN (-10)           /* not a ringdrop segment */
#define RINGDROP_EINCOMPATIBLE (-11)      /* another layout version */
#define RINGDROP_EWRONGKIND (-12)         /* another ring kind */
#define RINGDROP_ECAPACITY (-13)          /* not the capacity asked for */
#define RINGDROP_EPERM (-14)              /* permission denied */
#define RINGDROP_ENOTFOUND (-15)          /* no such ring, channel or message */
#define RINGDROP_EEXISTS (-16)            /* already exists */
#define RINGDROP_EINVAL (-17)             /* a bad argument, name or option */
#define RINGDROP_ENOSPACE (-18)           /* the disk or a quota is full */
#define RINGDROP_ELEASELOST (-19)         /* a drop-channel claim's lease expired */
#define RINGDROP_EUNSAFEFILE (-20)        /* a symlink, FIFO, hard link... refused */
#define RINGDROP_EREMOTE (-21)            /* the server answered with an error */
#define RINGDROP_ECIRCUITOPEN (-22)       /* the service failed recently: not sent */
#define RINGDROP_EUNKNOWNTYPE (-23)       /* a message type nobody handles */
/* Codes of the C ABI itself. */
#define RINGDROP_ESYSTEM (-100)           /* an operating-system error no code above names */
#define RINGDROP_ENOMEM (-101)            /* out of memory */
#define RINGDROP_EINTERNAL (-102)         /* a bug in ringdrop: please report it */

/* A short, static description of `code` (0 or a RINGDROP_E* code); never
 * NULL, also for codes this version does not know. */
const char* ringdrop_strerror(int code);

/* The detail of the last failure on this thread ("shm:orders has layout
 * version 7, this library speaks 1"); "" when the last call succeeded or its
 * failure needs no detail (a timeout). The text stays valid until the next
 * ringdrop call on this thread. */
const char* ringdrop_last_error_message(void);

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
  long long liveness_ns;         /* how often a waiter checks its peer lives; < 0: default */
  int overwrite;                 /* broadcast, at creation: lap slow subscribers */
  int drop_on_consumer_death;    /* MPMC, at creation: a dead consumer's messages are lost */
  int start_at_oldest;           /* broadcast subscriber: begin at the oldest message kept */
  unsigned int mode;             /* permission bits when creating; 0: 0600 */
} ringdrop_ring_options;

void ringdrop_ring_options_init(ringdrop_ring_options* options);

/* Opens (or creates) ring `name` of `kind` in `role`; *ring is the handle.
 * `options` may be NULL for the defaults. */
int ringdrop_ring_open(const char* name, int kind, int role, int how,
                       const ringdrop_ring_options* options, ringdrop_ring** ring);
/* Leaves the ring (the peer sees RINGDROP_EPEERGONE). NULL: no-op. */
void ringdrop_ring_close(ringdrop_ring* ring);
/* Removes the ring's name (a shm name, or a file when file_backed). */
int ringdrop_ring_remove(const char* name, int file_backed);

/* The largest message this ring can carry, into *size. */
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
  int completion;               /* RINGDROP_COMPLETION_* (default SETTLE) */
  long long settle_ms;          /* default 2000 */
  const char* marker_suffix;    /* NULL: ".done"; copied by ringdrop_drop_open */
  int discovery;                /* RINGDROP_DISCOVERY_* */
  long long scan_interval_ms;   /* full scan period, default 1000 */
} ringdrop_drop_options;

void ringdrop_drop_options_init(ringdrop_drop_options* options);

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

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* RINGDROP_H */
