/* ringdrop/error_table.h — the one table of ringdrop's error codes.
 *
 * Every other list of codes is made from it: the C++ `enum class errc` and
 * its messages (error.hpp, error.cpp), the C RINGDROP_E* codes and
 * ringdrop_strerror (ringdrop.h, c_library.cpp); the Python exception
 * classes (bindings/python/ringdrop/errors.py) are checked against it by a
 * test. A code is added here, at the end, and never changed or removed: the
 * numbers are ABI.
 *
 * Plain C99 (ringdrop.h includes it), in the style of libuv's UV_ERRNO_MAP:
 *
 *   XX(cpp_name, C_SUFFIX, number, "message")
 *
 *   cpp_name  the ringdrop::errc enumerator
 *   C_SUFFIX  the C code is RINGDROP_<C_SUFFIX>, valued -number
 *   number    the errc value, > 0
 *   message   the category's message and ringdrop_strerror text (tests
 *             compare them: change with care)
 *
 * The comment above each row is the code's documentation. */
#ifndef RINGDROP_ERROR_TABLE_H
#define RINGDROP_ERROR_TABLE_H

#define RINGDROP_ERROR_TABLE(XX)                                                                   \
  /* --- flow: the call could not complete now ----------------------------- */                    \
                                                                                                   \
  /* A `try_` call found nothing to read, or no room to write, right now. */                       \
  XX(would_block, EWOULDBLOCK, 1, "would block: nothing to read or no room to write now")          \
  /* A blocking call's timeout or deadline passed: no message arrived, no                          \
   * space freed, no reply came. Nothing was consumed or lost. */                                  \
  XX(timed_out, ETIMEDOUT, 2, "timed out: nothing arrived (or no room was freed) in time")         \
  /* A message's own deadline had already passed when it was to be handled                         \
   * (used by request/response). Distinct from timed_out, which is about the                       \
   * caller's wait. */                                                                             \
  XX(deadline_exceeded, EDEADLINE, 3,                                                              \
      "deadline exceeded: the message expired before it was handled")                              \
                                                                                                   \
  /* --- peers ------------------------------------------------------------- */                    \
                                                                                                   \
  /* The peer process died (e.g. kill -9) or detached. A consumer sees this                        \
   * only after it has received every message the producer committed. It is a                      \
   * state, not an end: when a new peer attaches, traffic resumes. */                              \
  XX(peer_gone, EPEERGONE, 4, "peer gone: the other process died or detached")                     \
  /* The role (e.g. the single producer of an SPSC ring) is held by another                        \
   * live process. */                                                                              \
  XX(role_taken, EROLETAKEN, 5, "role taken: another live process holds this role")                \
  /* A message is known to have been lost (e.g. a lapped subscriber). */                           \
  XX(message_lost, EMESSAGELOST, 6, "message lost")                                                \
                                                                                                   \
  /* --- data -------------------------------------------------------------- */                    \
                                                                                                   \
  /* A message is malformed: truncated, wrong type, fails validation. */                           \
  XX(bad_message, EBADMESSAGE, 7, "bad message: malformed, truncated or of the wrong type")        \
  /* The message is larger than the ring can ever hold (not a wait); in the                        \
   * C ABI also larger than the buffer given to a receive. */                                      \
  XX(message_too_large, EMSGSIZE, 8, "message too large for this ring")                            \
                                                                                                   \
  /* --- segments ---------------------------------------------------------- */                    \
                                                                                                   \
  /* The segment is damaged: truncated, never finished initialising, header                        \
   * checksum wrong, ring indices or record headers impossible. */                                 \
  XX(corrupted, ECORRUPTED, 9, "corrupted segment")                                                \
  /* The object exists but is not a ringdrop segment (no ringdrop magic). */                       \
  XX(foreign_segment, EFOREIGN, 10, "foreign segment: not a ringdrop segment")                     \
  /* A ringdrop segment with a different layout version than this library. */                      \
  XX(incompatible_layout, EINCOMPATIBLE, 11, "incompatible layout version")                        \
  /* A ringdrop segment of another ring kind (e.g. MPMC opened as SPSC). */                        \
  XX(wrong_kind, EWRONGKIND, 12, "wrong ring kind")                                                \
  /* The segment's capacity differs from the one the caller asked for. */                          \
  XX(capacity_mismatch, ECAPACITY, 13, "capacity mismatch")                                        \
                                                                                                   \
  /* --- names and the operating system ------------------------------------ */                    \
                                                                                                   \
  /* The operating system refused access (EACCES, EPERM). */                                       \
  XX(permission_denied, EPERM, 14, "permission denied")                                            \
  /* No such ring, channel, file or message (ENOENT). */                                           \
  XX(not_found, ENOTFOUND, 15, "not found")                                                        \
  /* It already exists (EEXIST), e.g. a ring opened with create. */                                \
  XX(already_exists, EEXISTS, 16, "already exists")                                                \
  /* A name, size or option is malformed (e.g. a segment name with '/'). */                        \
  XX(invalid_argument, EINVAL, 17, "invalid argument")                                             \
                                                                                                   \
  /* --- files (the drop channel) ------------------------------------------ */                    \
                                                                                                   \
  /* The disk or a quota is full (or a file size limit was hit). The message                       \
   * stayed where it was; nothing was published or lost. */                                        \
  XX(no_space, ENOSPACE, 18, "no space: the disk or a quota is full; nothing was moved")           \
  /* A claim's lease had expired and the message was taken back (or by                             \
   * another consumer) before this ack, nack or extend could take effect. */                       \
  XX(lease_lost, ELEASELOST, 19, "lease lost: the claim expired and the message was taken back")   \
  /* A file that is not safe to take was refused: a symlink, a FIFO, a device,                     \
   * a directory, a file with more than one hard link, or a name that is not                       \
   * a plain file name (a path, "..", a control character). */                                     \
  XX(unsafe_file, EUNSAFEFILE, 20,                                                                 \
      "unsafe file refused: symlink, special file, hard link or bad name")                         \
                                                                                                   \
  /* --- request/response -------------------------------------------------- */                    \
                                                                                                   \
  /* The server handled the request and answered with an error of its own;                         \
   * its code and text travel back in the reply's envelope. */                                     \
  XX(remote_error, EREMOTE, 21, "remote error: the server answered with an error")                 \
  /* The client's circuit breaker for this service is open: recent calls                           \
   * failed (timed out, or the server died), so this one failed fast without                       \
   * being sent. It closes again after a cool-down and one good trial call. */                     \
  XX(circuit_open, ECIRCUITOPEN, 22, "circuit open: the service failed recently, call not sent")   \
  /* A well-formed message of a type the receiver has no handler or schema                         \
   * for (e.g. from a newer producer). It is reported, never misread. */                           \
  XX(unknown_type, EUNKNOWNTYPE, 23, "message type not handled: no handler or schema for it")     \
                                                                                                   \
  /* --- poison messages --------------------------------------------------- */                    \
                                                                                                   \
  /* The message was set aside as a dead letter: it had been delivered                             \
   * max_deliveries times and every consumer died holding it (a request:                           \
   * it crashed that many servers), or a consumer rejected it. It is kept in                       \
   * the ring's dead-letter store (ring_dead_letters.hpp), not lost. */                            \
  XX(dead_lettered, EDEADLETTERED, 24, "dead-lettered: set aside after crashing its consumers, or rejected")

/* The codes of the C ABI alone (no errc: C++ reports these as exceptions or
 * std::system_category codes). XX(C_SUFFIX, number, "message"); the C code
 * is RINGDROP_<C_SUFFIX>, valued -number. */
#define RINGDROP_C_ERROR_TABLE(XX)                                                                 \
  /* An operating-system error no code above names; its errno is                                   \
   * ringdrop_last_error_errno(), its text in ringdrop_last_error_message(). */                    \
  XX(ESYSTEM, 100, "operating-system error (see ringdrop_last_error_message)")                     \
  /* Out of memory (a std::bad_alloc inside the library). */                                       \
  XX(ENOMEM, 101, "out of memory")                                                                 \
  /* An exception the library did not expect: a bug in ringdrop, please                            \
   * report it. */                                                                                 \
  XX(EINTERNAL, 102, "internal error in ringdrop")

#endif /* RINGDROP_ERROR_TABLE_H */
