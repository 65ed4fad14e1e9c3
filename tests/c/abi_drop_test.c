/* The file-drop-channel part of the C ABI, from C99 (compiled -std=c99
 * -pedantic -Werror, linked against libringdrop.so): opening, publishing
 * (bytes and files), claiming, settling (ack, nack, reject, abandon),
 * dead letters, incoming/ with a completion marker, and a consumer killed
 * in another process (fork). Each case has its own channel under one
 * mkdtemp directory, removed at the end. Children announce on pipes; no
 * check depends on timing. Exit 0 when all checks pass. */
#define _XOPEN_SOURCE 700

#include <dirent.h>
#include <stddef.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "abi_check.h"
#include "ringdrop.h"

/* A well-formed id no message has. */
#define UNKNOWN_ID "1700000000000000000-nohost-1-1-deadbeef"

/* A non-NULL handle value, to see that a failed open sets *out to NULL. */
static char sentinel_byte;
#define SENTINEL(type) ((type*)(void*)&sentinel_byte)

/* ------------------------------------------------------------ the tree */

/* The mkdtemp directory every channel of this run lives in. */
static char base[64];

#define ROOT_LEN 256
/* Paths inside a root. */
#define PATH_LEN 512

/* <base>/<what>, a channel root (or a file) no other case uses. */
static void make_path(char* out, const char* what) {
  snprintf(out, ROOT_LEN, "%s/%s", base, what);
}

/* The entries of <root>/<sub> (without . and ..); -1 if it cannot be read. */
static int count_entries(const char* root, const char* sub) {
  char path[PATH_LEN];
  DIR* d;
  struct dirent* e;
  int n = 0;
  snprintf(path, sizeof path, "%s/%s", root, sub);
  d = opendir(path);
  if (d == NULL) return -1;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) ++n;
  }
  closedir(d);
  return n;
}

/* No message in any state but done/failed: new/, work/ and retry/ are empty. */
static void check_empty(const char* root, int line) {
  static const char* const subs[] = {"new", "work", "retry"};
  size_t k;
  for (k = 0; k < sizeof subs / sizeof subs[0]; ++k) {
    const int n = count_entries(root, subs[k]);
    if (n != 0) {
      fprintf(stderr, "%s:%d [%s]: %s/%s has %d entries, expected none\n", __FILE__, line,
              context, root, subs[k], n);
      ++failures;
    }
  }
}
#define CHECK_EMPTY(root) check_empty(root, __LINE__)

static int write_file(const char* path, const char* text) {
  FILE* f = fopen(path, "w");
  if (f == NULL) return -1;
  if (fputs(text, f) < 0) {
    fclose(f);
    return -1;
  }
  return fclose(f) == 0 ? 0 : -1;
}

static int remove_one(const char* path, const struct stat* st, int flag, struct FTW* ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  if (remove(path) != 0) perror(path);
  return 0;
}

static void remove_tree(const char* path) { (void)nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS); }

/* Options for speed: no fsync, scans every 20 ms, 1 ms backoff. */
static ringdrop_drop_options fast_options(void) {
  ringdrop_drop_options o;
  ringdrop_drop_options_init(&o);
  o.durable = 0;
  o.scan_interval_ms = 20;
  o.retry_backoff_ms = 1;
  return o;
}

/* Opens channel <base>/<what> and a consumer of it. */
static int open_both(const char* what, const ringdrop_drop_options* o, char* root,
                     ringdrop_drop** ch, ringdrop_drop_consumer** rx) {
  *ch = NULL;
  *rx = NULL;
  make_path(root, what);
  CHECK_OK(ringdrop_drop_open(root, o, ch));
  if (*ch) CHECK_OK(ringdrop_drop_consumer_open(*ch, rx));
  return *ch != NULL && *rx != NULL;
}

static void close_both(ringdrop_drop* ch, ringdrop_drop_consumer* rx) {
  ringdrop_drop_consumer_close(rx);
  ringdrop_drop_close(ch);
}

/* Claims with `timeout`; checks the id and the attempt. NULL on failure. */
static ringdrop_drop_claim* claim_expecting(ringdrop_drop_consumer* rx, long long timeout,
                                            const char* id, unsigned int attempt, int line) {
  ringdrop_drop_claim* c = NULL;
  const char* got = NULL;
  unsigned int n = 0;
  const int rc = ringdrop_drop_consumer_claim(rx, timeout, &c);
  if (rc != RINGDROP_OK || c == NULL) {
    fprintf(stderr, "%s:%d [%s]: claim returned %d (%s; \"%s\"), expected a claim of %s\n",
            __FILE__, line, context, rc, ringdrop_strerror(rc), ringdrop_last_error_message(),
            id);
    ++failures;
    return NULL;
  }
  if (ringdrop_drop_claim_id(c, &got) != RINGDROP_OK || got == NULL || strcmp(got, id) != 0 ||
      ringdrop_drop_claim_attempt(c, &n) != RINGDROP_OK || n != attempt) {
    fprintf(stderr, "%s:%d [%s]: claimed %s attempt %u, expected %s attempt %u\n", __FILE__, line,
            context, got ? got : "(null)", n, id, attempt);
    ++failures;
  }
  return c;
}
#define CLAIM(rx, timeout, id, attempt) claim_expecting(rx, timeout, id, attempt, __LINE__)

/* The claim's content is `size` bytes equal to `expected`. */
static int data_is(ringdrop_drop_claim* c, const void* expected, unsigned long long size) {
  const void* data = NULL;
  unsigned long long n = ~0ULL;
  if (ringdrop_drop_claim_data(c, &data, &n) != RINGDROP_OK) return 0;
  if (n != size) return 0;
  return size == 0 || (data != NULL && memcmp(data, expected, size) == 0);
}

static int header_is(const ringdrop_drop_claim* c, const char* key, const char* value) {
  const char* v = NULL;
  return ringdrop_drop_claim_header(c, key, &v) == RINGDROP_OK && v != NULL &&
         strcmp(v, value) == 0;
}

/* An id as docs/file-drop.md describes it: 19 digits, '-', [0-9a-z-]. */
static int id_is_well_formed(const char* id) {
  size_t k, n = strlen(id);
  if (n < 21 || n >= RINGDROP_DROP_ID_MAX || id[19] != '-') return 0;
  for (k = 0; k < 19; ++k)
    if (id[k] < '0' || id[k] > '9') return 0;
  for (k = 0; k < n; ++k)
    if (!((id[k] >= '0' && id[k] <= '9') || (id[k] >= 'a' && id[k] <= 'z') || id[k] == '-'))
      return 0;
  return 1;
}

/* ------------------------------------------------------------ options */

static void options_init_sets_size_and_defaults(void) {
  ringdrop_drop_options o;
  memset(&o, 0xab, sizeof o);
  ringdrop_drop_options_init(&o);
  CHECK(o.size == sizeof o);
  CHECK(o.create == 1);
  CHECK(o.durable == 1);
  CHECK(o.max_attempts == 5);
  CHECK(o.dir_mode == 0770);
  CHECK(o.lease_ms == 30000);
  CHECK(o.retry_backoff_ms == 1000);
  CHECK(o.retry_backoff_max_ms == 300000);
  CHECK(o.archive == 0);
  CHECK(o.completion == RINGDROP_COMPLETION_SETTLE);
  CHECK(o.settle_ms == 2000);
  CHECK(o.marker_suffix == NULL);
  CHECK(o.discovery == RINGDROP_DISCOVERY_AUTOMATIC);
  CHECK(o.scan_interval_ms == 1000);
  CHECK(o.key_retention_hours == 168);
  CHECK(o.dead_letter_retention_hours == 72);
  CHECK(o.receipt_retention_hours == 168);
  CHECK(o.stale_tmp_after_hours == 1);
  ringdrop_drop_options_init(NULL); /* harmless */
}

static void close_null_is_a_no_op(void) {
  ringdrop_drop_close(NULL);
  ringdrop_drop_consumer_close(NULL);
  ringdrop_drop_claim_close(NULL);
}

static void open_with_null_options_and_missing_root(void) {
  char root[ROOT_LEN], missing[ROOT_LEN];
  ringdrop_drop* ch = SENTINEL(ringdrop_drop);
  ringdrop_drop_options o;
  context = "open";
  make_path(root, "defaults");
  CHECK_OK(ringdrop_drop_open(root, NULL, &ch));
  CHECK(ch != NULL && ch != SENTINEL(ringdrop_drop));
  if (ch == SENTINEL(ringdrop_drop)) ch = NULL;
  ringdrop_drop_close(ch);
  CHECK(count_entries(root, "new") == 0); /* the tree was created */
  CHECK(count_entries(root, "state") >= 1);

  /* A tree that exists opens with create 0; a missing one does not. */
  ringdrop_drop_options_init(&o);
  o.create = 0;
  ch = NULL;
  CHECK_OK(ringdrop_drop_open(root, &o, &ch));
  ringdrop_drop_close(ch);
  make_path(missing, "missing");
  ch = SENTINEL(ringdrop_drop);
  CHECK_FAILS(ringdrop_drop_open(missing, &o, &ch), RINGDROP_ENOTFOUND);
  CHECK(ch == NULL);
  CHECK(access(missing, F_OK) != 0); /* not created */
}

static void bad_arguments_are_einval(void) {
  char root[ROOT_LEN], missing[ROOT_LEN];
  ringdrop_drop* ch = SENTINEL(ringdrop_drop);
  ringdrop_drop_consumer* rx = SENTINEL(ringdrop_drop_consumer);
  ringdrop_drop_claim* c = SENTINEL(ringdrop_drop_claim);
  ringdrop_drop_options o;
  unsigned long needed = 0;
  char id[RINGDROP_DROP_ID_MAX];
  context = "arguments";
  make_path(root, "arguments");
  make_path(missing, "arguments-never");

  CHECK_FAILS(ringdrop_drop_open(NULL, NULL, &ch), RINGDROP_EINVAL);
  CHECK(ch == NULL);
  CHECK_FAILS(ringdrop_drop_open(root, NULL, NULL), RINGDROP_EINVAL);
  ringdrop_drop_options_init(&o);
  o.size = 0;
  ch = SENTINEL(ringdrop_drop);
  CHECK_FAILS(ringdrop_drop_open(missing, &o, &ch), RINGDROP_EINVAL);
  CHECK(ch == NULL);
  ringdrop_drop_options_init(&o);
  o.max_attempts = 0;
  CHECK_FAILS(ringdrop_drop_open(missing, &o, &ch), RINGDROP_EINVAL);
  ringdrop_drop_options_init(&o);
  o.lease_ms = 0;
  CHECK_FAILS(ringdrop_drop_open(missing, &o, &ch), RINGDROP_EINVAL);
  ringdrop_drop_options_init(&o);
  o.completion = RINGDROP_COMPLETION_MARKER;
  o.marker_suffix = "/x";
  CHECK_FAILS(ringdrop_drop_open(missing, &o, &ch), RINGDROP_EINVAL);

  CHECK_FAILS(ringdrop_drop_publish(NULL, "x", 1, NULL, NULL, 0, id, sizeof id), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_drop_publish_file(NULL, root, NULL, NULL, 0, id, sizeof id),
              RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_drop_dead_letters(NULL, NULL, 0, &needed), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_drop_requeue(NULL, UNKNOWN_ID), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_drop_purge(NULL, UNKNOWN_ID), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_drop_consumer_open(NULL, &rx), RINGDROP_EINVAL);
  CHECK(rx == NULL);
  CHECK_FAILS(ringdrop_drop_consumer_claim(NULL, 0, &c), RINGDROP_EINVAL);
  CHECK(c == NULL);
  CHECK_FAILS(ringdrop_drop_claim_ack(NULL), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_drop_claim_nack(NULL, "x"), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_drop_claim_reject(NULL, "x"), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_drop_claim_extend(NULL, 0), RINGDROP_EINVAL);
  CHECK(access(missing, F_OK) != 0); /* none of the refused opens created it */

  ch = NULL;
  CHECK_OK(ringdrop_drop_open(root, NULL, &ch));
  if (ch) {
    CHECK_FAILS(ringdrop_drop_publish(ch, NULL, 5, NULL, NULL, 0, id, sizeof id), RINGDROP_EINVAL);
    CHECK_FAILS(ringdrop_drop_publish_file(ch, NULL, NULL, NULL, 0, id, sizeof id),
                RINGDROP_EINVAL);
    CHECK_FAILS(ringdrop_drop_dead_letters(ch, NULL, 0, NULL), RINGDROP_EINVAL);
    CHECK_FAILS(ringdrop_drop_requeue(ch, NULL), RINGDROP_EINVAL);
    CHECK_FAILS(ringdrop_drop_purge(ch, NULL), RINGDROP_EINVAL);
    CHECK_FAILS(ringdrop_drop_consumer_open(ch, NULL), RINGDROP_EINVAL);
    CHECK(count_entries(root, "new") == 0);
  }
  ringdrop_drop_close(ch);
}

/* --------------------------------------------------- publish and claim */

static void publish_claim_ack_round_trip(void) {
  static const char payload[] = "hello, drop channel";
  const char* keys[] = {"content-type", "correlation-id"};
  const char* values[] = {"text/plain", "abc-123"};
  char root[ROOT_LEN], work_prefix[PATH_LEN], id[RINGDROP_DROP_ID_MAX], digits[20];
  ringdrop_drop* ch;
  ringdrop_drop_consumer* rx;
  ringdrop_drop_claim* c;
  ringdrop_drop_options o = fast_options();
  const char *v = NULL, *path = NULL;
  struct stat st;
  context = "round trip";
  if (!open_both("roundtrip", &o, root, &ch, &rx)) goto done;

  memset(id, 'x', sizeof id);
  CHECK_OK(ringdrop_drop_publish(ch, payload, sizeof payload - 1, keys, values, 2, id,
                                 RINGDROP_DROP_ID_MAX));
  CHECK(memchr(id, '\0', sizeof id) != NULL);
  if (memchr(id, '\0', sizeof id) == NULL) goto done;
  CHECK(id_is_well_formed(id));
  CHECK(count_entries(root, "new") == 1);

  c = CLAIM(rx, LONG_WAIT, id, 1);
  if (c == NULL) goto done;
  CHECK(header_is(c, "content-type", "text/plain"));
  CHECK(header_is(c, "correlation-id", "abc-123"));
  /* published-at is the id's time. */
  CHECK_OK(ringdrop_drop_claim_header(c, "published-at", &v));
  memcpy(digits, id, 19);
  digits[19] = '\0';
  CHECK(v != NULL && strtoull(v, NULL, 10) == strtoull(digits, NULL, 10));
  v = NULL;
  CHECK_FAILS(ringdrop_drop_claim_header(c, "no-such-header", &v), RINGDROP_ENOTFOUND);
  CHECK_FAILS(ringdrop_drop_claim_header(c, NULL, &v), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_drop_claim_header(c, "content-type", NULL), RINGDROP_EINVAL);
  CHECK(data_is(c, payload, sizeof payload - 1));
  /* Mapping twice is fine. */
  CHECK(data_is(c, payload, sizeof payload - 1));

  CHECK_OK(ringdrop_drop_claim_path(c, &path));
  snprintf(work_prefix, sizeof work_prefix, "%s/work/", root);
  CHECK(path != NULL && strncmp(path, work_prefix, strlen(work_prefix)) == 0);
  CHECK(path != NULL && stat(path, &st) == 0 && S_ISREG(st.st_mode));
  CHECK(count_entries(root, "new") == 0);
  CHECK(count_entries(root, "work") == 1);

  CHECK_OK(ringdrop_drop_claim_ack(c));
  /* Settled: a second settlement is refused. */
  CHECK_FAILS(ringdrop_drop_claim_ack(c), RINGDROP_EINVAL);
  ringdrop_drop_claim_close(c);
  CHECK_EMPTY(root);
  CHECK(count_entries(root, "failed") == 0);
  /* Nothing else to claim. */
  c = NULL;
  CHECK_RC(ringdrop_drop_consumer_claim(rx, 0, &c), RINGDROP_ETIMEDOUT);
  CHECK(c == NULL);
done:
  close_both(ch, rx);
}

/* Without headers, without an id buffer, and an empty message. */
static void publish_without_headers_or_id(void) {
  char root[ROOT_LEN], id[RINGDROP_DROP_ID_MAX];
  ringdrop_drop* ch;
  ringdrop_drop_consumer* rx;
  ringdrop_drop_claim* c = NULL;
  ringdrop_drop_options o = fast_options();
  const char* got = NULL;
  const char* v = NULL;
  context = "plain publish";
  if (!open_both("plain", &o, root, &ch, &rx)) goto done;

  CHECK_OK(ringdrop_drop_publish(ch, "abc", 3, NULL, NULL, 0, NULL, 0));
  CHECK(count_entries(root, "new") == 1);
  CHECK_OK(ringdrop_drop_consumer_claim(rx, LONG_WAIT, &c));
  if (c) {
    CHECK_OK(ringdrop_drop_claim_id(c, &got));
    CHECK(got != NULL && id_is_well_formed(got));
    CHECK(data_is(c, "abc", 3));
    CHECK_OK(ringdrop_drop_claim_header(c, "published-at", &v)); /* even with no header file */
    CHECK_FAILS(ringdrop_drop_claim_header(c, "content-type", &v), RINGDROP_ENOTFOUND);
    CHECK_OK(ringdrop_drop_claim_ack(c));
    ringdrop_drop_claim_close(c);
  }

  CHECK_OK(ringdrop_drop_publish(ch, NULL, 0, NULL, NULL, 0, id, sizeof id));
  c = CLAIM(rx, LONG_WAIT, id, 1);
  if (c) {
    CHECK(data_is(c, NULL, 0));
    CHECK_OK(ringdrop_drop_claim_ack(c));
    ringdrop_drop_claim_close(c);
  }
  CHECK_EMPTY(root);
done:
  close_both(ch, rx);
}

static void bad_headers_and_small_id_buffer_are_einval(void) {
  const char* upper_key[] = {"Content-Type"};
  const char* good_key[] = {"content-type"};
  const char* plain_value[] = {"text/plain"};
  const char* newline_value[] = {"two\nlines"};
  const char* null_value[] = {NULL};
  char root[ROOT_LEN], id[RINGDROP_DROP_ID_MAX];
  ringdrop_drop* ch = NULL;
  context = "bad headers";
  make_path(root, "badheaders");
  {
    ringdrop_drop_options o = fast_options();
    CHECK_OK(ringdrop_drop_open(root, &o, &ch));
  }
  if (ch == NULL) return;
  CHECK_FAILS(ringdrop_drop_publish(ch, "x", 1, upper_key, plain_value, 1, id, sizeof id),
              RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_drop_publish(ch, "x", 1, good_key, newline_value, 1, id, sizeof id),
              RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_drop_publish(ch, "x", 1, good_key, null_value, 1, id, sizeof id),
              RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_drop_publish(ch, "x", 1, NULL, NULL, 1, id, sizeof id), RINGDROP_EINVAL);
  /* The id buffer must have room for any id. */
  CHECK_FAILS(ringdrop_drop_publish(ch, "x", 1, NULL, NULL, 0, id, 10), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_drop_publish(ch, "x", 1, NULL, NULL, 0, id, RINGDROP_DROP_ID_MAX - 1),
              RINGDROP_EINVAL);
  /* None of them published anything or left anything behind. */
  CHECK(count_entries(root, "new") == 0);
  CHECK(count_entries(root, "tmp") == 0);
  CHECK(count_entries(root, "state/meta") <= 0);
  ringdrop_drop_close(ch);
}

/* ---------------------------------------------- nack and dead letters */

/* The ids of the dead letters, into `buf`; checks the size protocol. */
static int list_dead_letters(ringdrop_drop* ch, char* buf, unsigned long capacity) {
  unsigned long needed = 0, again = 0;
  int rc = ringdrop_drop_dead_letters(ch, buf, capacity, &needed);
  if (rc != RINGDROP_OK) return rc;
  CHECK(needed == strlen(buf) + 1);
  CHECK_RC(ringdrop_drop_dead_letters(ch, NULL, 0, &again), RINGDROP_EMSGSIZE);
  CHECK(again == needed);
  return RINGDROP_OK;
}

/* `list` (one id a line) names `id` as its line number `line` (0-based). */
static int lists_at(const char* list, const char* id, int line) {
  const size_t n = strlen(id);
  while (line-- > 0) {
    list = strchr(list, '\n');
    if (list == NULL) return 0;
    ++list;
  }
  return strncmp(list, id, n) == 0 && (list[n] == '\n' || list[n] == '\0');
}

static void nack_retries_then_dead_letters(void) {
  char root[ROOT_LEN], id[RINGDROP_DROP_ID_MAX], id2[RINGDROP_DROP_ID_MAX];
  char list[4 * RINGDROP_DROP_ID_MAX];
  ringdrop_drop* ch;
  ringdrop_drop_consumer* rx;
  ringdrop_drop_claim* c = NULL;
  ringdrop_drop_options o = fast_options();
  unsigned long needed = 0;
  context = "dead letters";
  o.max_attempts = 2;
  if (!open_both("deadletters", &o, root, &ch, &rx)) goto done;

  /* None yet: an empty list is one NUL. */
  memset(list, 'x', sizeof list);
  CHECK_OK(ringdrop_drop_dead_letters(ch, list, sizeof list, &needed));
  CHECK(list[0] == '\0' && needed == 1);

  CHECK_OK(ringdrop_drop_publish(ch, "poison", 6, NULL, NULL, 0, id, sizeof id));
  c = CLAIM(rx, LONG_WAIT, id, 1);
  if (c == NULL) goto done;
  CHECK_OK(ringdrop_drop_claim_nack(c, "first failure"));
  CHECK_FAILS(ringdrop_drop_claim_nack(c, "again"), RINGDROP_EINVAL); /* already settled */
  ringdrop_drop_claim_close(c);
  c = CLAIM(rx, LONG_WAIT, id, 2); /* after the backoff */
  if (c == NULL) goto done;
  CHECK_OK(ringdrop_drop_claim_nack(c, "second failure"));
  ringdrop_drop_claim_close(c);
  c = NULL;
  /* The last attempt: a dead letter, not retried. */
  CHECK_RC(ringdrop_drop_consumer_claim(rx, 0, &c), RINGDROP_ETIMEDOUT);
  CHECK(c == NULL);
  CHECK_EMPTY(root);

  /* Asking for the size, a buffer too small, then one that fits. */
  needed = 0;
  CHECK_RC(ringdrop_drop_dead_letters(ch, NULL, 0, &needed), RINGDROP_EMSGSIZE);
  CHECK(needed >= strlen(id) + 1 && needed <= strlen(id) + 2);
  memset(list, 'x', sizeof list);
  needed = 0;
  CHECK_RC(ringdrop_drop_dead_letters(ch, list, (unsigned long)strlen(id), &needed),
           RINGDROP_EMSGSIZE);
  CHECK(needed >= strlen(id) + 1);
  CHECK(list[0] == 'x'); /* nothing written */
  CHECK_OK(list_dead_letters(ch, list, sizeof list));
  CHECK(lists_at(list, id, 0));

  /* Bad and unknown ids. */
  CHECK_FAILS(ringdrop_drop_requeue(ch, "../x"), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_drop_purge(ch, "../x"), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_drop_requeue(ch, ""), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_drop_requeue(ch, UNKNOWN_ID), RINGDROP_ENOTFOUND);
  CHECK_FAILS(ringdrop_drop_purge(ch, UNKNOWN_ID), RINGDROP_ENOTFOUND);

  /* Requeued: claimable again, attempts counted from 1. */
  CHECK_OK(ringdrop_drop_requeue(ch, id));
  CHECK_OK(list_dead_letters(ch, list, sizeof list));
  CHECK(list[0] == '\0');
  c = CLAIM(rx, LONG_WAIT, id, 1);
  if (c == NULL) goto done;
  CHECK(data_is(c, "poison", 6));
  /* Rejected: a dead letter at once. */
  CHECK_OK(ringdrop_drop_claim_reject(c, "poison for good"));
  ringdrop_drop_claim_close(c);

  /* A second one, later: listed after the first. */
  CHECK_OK(ringdrop_drop_publish(ch, "second", 6, NULL, NULL, 0, id2, sizeof id2));
  c = CLAIM(rx, LONG_WAIT, id2, 1);
  if (c == NULL) goto done;
  CHECK_OK(ringdrop_drop_claim_reject(c, "also poison"));
  ringdrop_drop_claim_close(c);
  CHECK_OK(list_dead_letters(ch, list, sizeof list));
  CHECK(lists_at(list, id, 0));
  CHECK(lists_at(list, id2, 1));

  /* Purged: gone, reasons and all. */
  CHECK_OK(ringdrop_drop_purge(ch, id));
  CHECK_OK(ringdrop_drop_purge(ch, id2));
  CHECK_OK(list_dead_letters(ch, list, sizeof list));
  CHECK(list[0] == '\0');
  CHECK(count_entries(root, "failed") == 0);
  CHECK_FAILS(ringdrop_drop_requeue(ch, id), RINGDROP_ENOTFOUND);
  CHECK_FAILS(ringdrop_drop_purge(ch, id), RINGDROP_ENOTFOUND);
  CHECK_EMPTY(root);
done:
  close_both(ch, rx);
}

/* A claim closed without settling is nacked: delivered again. */
static void unsettled_claim_is_nacked_on_close(void) {
  char root[ROOT_LEN], id[RINGDROP_DROP_ID_MAX];
  ringdrop_drop* ch;
  ringdrop_drop_consumer* rx;
  ringdrop_drop_claim* c;
  ringdrop_drop_options o = fast_options();
  context = "abandoned claim";
  if (!open_both("abandoned", &o, root, &ch, &rx)) goto done;
  CHECK_OK(ringdrop_drop_publish(ch, "again", 5, NULL, NULL, 0, id, sizeof id));
  c = CLAIM(rx, LONG_WAIT, id, 1);
  ringdrop_drop_claim_close(c);
  CHECK(count_entries(root, "work") == 0);
  c = CLAIM(rx, LONG_WAIT, id, 2);
  if (c) {
    CHECK(data_is(c, "again", 5));
    CHECK_OK(ringdrop_drop_claim_ack(c));
  }
  ringdrop_drop_claim_close(c);
  CHECK_EMPTY(root);
done:
  close_both(ch, rx);
}

/* ------------------------------------------------------- publish_file */

static void publish_file_moves_the_file_in(void) {
  static const char content[] = "a file, moved not copied\n";
  char root[ROOT_LEN], src[ROOT_LEN], target[ROOT_LEN], link_path[ROOT_LEN], second[ROOT_LEN];
  char id[RINGDROP_DROP_ID_MAX];
  const char* keys[] = {"schema-id"};
  const char* values[] = {"orders-v1"};
  ringdrop_drop* ch;
  ringdrop_drop_consumer* rx;
  ringdrop_drop_claim* c;
  ringdrop_drop_options o = fast_options();
  struct stat st;
  context = "publish_file";
  if (!open_both("files", &o, root, &ch, &rx)) goto done;

  make_path(src, "files-source.txt");
  CHECK(write_file(src, content) == 0);
  CHECK_OK(ringdrop_drop_publish_file(ch, src, keys, values, 1, id, sizeof id));
  CHECK(lstat(src, &st) != 0 && errno == ENOENT); /* moved */
  c = CLAIM(rx, LONG_WAIT, id, 1);
  if (c) {
    CHECK(data_is(c, content, sizeof content - 1));
    CHECK(header_is(c, "schema-id", "orders-v1"));
    CHECK_OK(ringdrop_drop_claim_ack(c));
  }
  ringdrop_drop_claim_close(c);
  CHECK_EMPTY(root);

  /* A symlink is refused, and left where it was. */
  make_path(target, "files-target.txt");
  make_path(link_path, "files-link");
  CHECK(write_file(target, content) == 0);
  CHECK(symlink(target, link_path) == 0);
  CHECK_FAILS(ringdrop_drop_publish_file(ch, link_path, NULL, NULL, 0, id, sizeof id),
              RINGDROP_EUNSAFEFILE);
  CHECK(lstat(link_path, &st) == 0 && S_ISLNK(st.st_mode));
  CHECK(stat(target, &st) == 0 && S_ISREG(st.st_mode));

  /* So is a file with a second hard link. */
  make_path(second, "files-second-link");
  CHECK(link(target, second) == 0);
  CHECK_FAILS(ringdrop_drop_publish_file(ch, target, NULL, NULL, 0, id, sizeof id),
              RINGDROP_EUNSAFEFILE);
  CHECK(stat(target, &st) == 0 && st.st_nlink == 2);

  /* A missing file. */
  CHECK_FAILS(ringdrop_drop_publish_file(ch, src, NULL, NULL, 0, id, sizeof id),
              RINGDROP_ENOTFOUND);
  /* Bad headers: refused, and the file stays. */
  CHECK(write_file(src, content) == 0);
  {
    const char* bad[] = {"Schema"};
    CHECK_FAILS(ringdrop_drop_publish_file(ch, src, bad, values, 1, id, sizeof id),
                RINGDROP_EINVAL);
  }
  CHECK(stat(src, &st) == 0 && S_ISREG(st.st_mode));

  c = NULL;
  CHECK_RC(ringdrop_drop_consumer_claim(rx, 0, &c), RINGDROP_ETIMEDOUT);
  CHECK(c == NULL);
  CHECK_EMPTY(root);
done:
  close_both(ch, rx);
}

/* ------------------------------------------------- extend and timeouts */

static void extend_then_ack_and_timeouts(void) {
  char root[ROOT_LEN], id[RINGDROP_DROP_ID_MAX];
  ringdrop_drop* ch;
  ringdrop_drop_consumer* rx;
  ringdrop_drop_claim* c = SENTINEL(ringdrop_drop_claim);
  ringdrop_drop_options o = fast_options();
  const char* path = NULL;
  struct stat st;
  context = "extend, timeouts";
  if (!open_both("extend", &o, root, &ch, &rx)) goto done;

  CHECK_RC(ringdrop_drop_consumer_claim(rx, 0, &c), RINGDROP_ETIMEDOUT);
  CHECK(c == NULL);
  c = SENTINEL(ringdrop_drop_claim);
  CHECK_RC(ringdrop_drop_consumer_claim(rx, 20 * MS, &c), RINGDROP_ETIMEDOUT);
  CHECK(c == NULL);
  CHECK_FAILS(ringdrop_drop_consumer_claim(rx, -1, &c), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_drop_consumer_claim(rx, 0, NULL), RINGDROP_EINVAL);

  CHECK_OK(ringdrop_drop_publish(ch, "long job", 8, NULL, NULL, 0, id, sizeof id));
  c = CLAIM(rx, LONG_WAIT, id, 1);
  if (c == NULL) goto done;
  CHECK_OK(ringdrop_drop_claim_extend(c, 0));
  CHECK_OK(ringdrop_drop_claim_extend(c, 60000));
  CHECK_OK(ringdrop_drop_claim_path(c, &path));
  CHECK(path != NULL && stat(path, &st) == 0);
  CHECK(count_entries(root, "work") == 1);
  CHECK(data_is(c, "long job", 8));

  /* Any closing order: the channel and the consumer go first. */
  ringdrop_drop_consumer_close(rx);
  ringdrop_drop_close(ch);
  ch = NULL;
  rx = NULL;
  CHECK_OK(ringdrop_drop_claim_ack(c));
  CHECK_FAILS(ringdrop_drop_claim_extend(c, 0), RINGDROP_EINVAL); /* settled */
  ringdrop_drop_claim_close(c);
  CHECK_EMPTY(root);
done:
  close_both(ch, rx);
}

/* ------------------------------------------- incoming/ with a marker */

static void incoming_file_waits_for_its_marker(void) {
  static const char content[] = "id,qty\n1,2\n";
  char root[ROOT_LEN], file[PATH_LEN], marker[PATH_LEN];
  ringdrop_drop* ch;
  ringdrop_drop_consumer* rx;
  ringdrop_drop_claim* c = NULL;
  ringdrop_drop_options o = fast_options();
  const char* v = NULL;
  context = "incoming marker";
  o.completion = RINGDROP_COMPLETION_MARKER;
  o.settle_ms = 3600000; /* the settle rule never fires */
  if (!open_both("incoming", &o, root, &ch, &rx)) goto done;

  snprintf(file, sizeof file, "%s/incoming/report.csv", root);
  snprintf(marker, sizeof marker, "%s/incoming/report.csv.done", root);
  CHECK(write_file(file, content) == 0);
  /* Complete only with its marker: several scans leave it alone. */
  CHECK_RC(ringdrop_drop_consumer_claim(rx, 100 * MS, &c), RINGDROP_ETIMEDOUT);
  CHECK_RC(ringdrop_drop_consumer_claim(rx, 0, &c), RINGDROP_ETIMEDOUT);
  CHECK(c == NULL);
  CHECK(count_entries(root, "incoming") == 1);

  CHECK(write_file(marker, "") == 0);
  CHECK_OK(ringdrop_drop_consumer_claim(rx, LONG_WAIT, &c));
  if (c == NULL) goto done;
  CHECK_OK(ringdrop_drop_claim_header(c, "original-name", &v));
  CHECK(v != NULL && strcmp(v, "report.csv") == 0);
  CHECK(data_is(c, content, sizeof content - 1));
  CHECK_OK(ringdrop_drop_claim_ack(c));
  ringdrop_drop_claim_close(c);
  CHECK(count_entries(root, "incoming") == 0); /* the marker went with it */
  CHECK_EMPTY(root);
done:
  close_both(ch, rx);
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

/* Options of both consumers of the kill -9 case: a 100 ms lease. */
static ringdrop_drop_options short_lease_options(void) {
  ringdrop_drop_options o = fast_options();
  o.lease_ms = 100;
  return o;
}

/* The child: claims a message of channel `root`, writes 'C', its id and a
 * newline on `up` (or 'F'), then waits to be killed. */
static void claiming_child(const char* root, int up, int down) {
  ringdrop_drop_options o = short_lease_options();
  ringdrop_drop* ch = NULL;
  ringdrop_drop_consumer* rx = NULL;
  ringdrop_drop_claim* c = NULL;
  const char* id = NULL;
  if (ringdrop_drop_open(root, &o, &ch) != RINGDROP_OK ||
      ringdrop_drop_consumer_open(ch, &rx) != RINGDROP_OK ||
      ringdrop_drop_consumer_claim(rx, LONG_WAIT, &c) != RINGDROP_OK ||
      ringdrop_drop_claim_id(c, &id) != RINGDROP_OK) {
    fprintf(stderr, "claiming child: %s\n", ringdrop_last_error_message());
    put_byte(up, 'F');
    _exit(1);
  }
  put_byte(up, 'C');
  for (; *id; ++id) put_byte(up, *id);
  put_byte(up, '\n');
  (void)get_byte(down); /* killed here; or the parent went */
  _exit(0);
}

/* A consumer killed (kill -9) while holding a claim: after its lease, the
 * message is delivered again, to a consumer of this process. */
static void killed_consumer_message_is_redelivered(void) {
  char root[ROOT_LEN], id[RINGDROP_DROP_ID_MAX], got[RINGDROP_DROP_ID_MAX];
  int up[2], down[2], status = 0;
  size_t n = 0;
  char b;
  pid_t pid;
  ringdrop_drop* ch = NULL;
  ringdrop_drop_consumer* rx = NULL;
  ringdrop_drop_claim* c;
  ringdrop_drop_options o = short_lease_options();
  context = "kill -9 consumer";
  make_path(root, "killed");
  CHECK_OK(ringdrop_drop_open(root, &o, &ch));
  if (ch == NULL) return;
  CHECK_OK(ringdrop_drop_publish(ch, "survivor", 8, NULL, NULL, 0, id, sizeof id));
  if (pipe(up) != 0 || pipe(down) != 0) {
    CHECK(!"pipe");
    ringdrop_drop_close(ch);
    return;
  }
  fflush(NULL);
  pid = fork();
  if (pid < 0) {
    CHECK(!"fork");
    ringdrop_drop_close(ch);
    return;
  }
  if (pid == 0) {
    close(up[0]);
    close(down[1]);
    claiming_child(root, up[1], down[0]);
  }
  close(up[1]);
  close(down[0]);

  CHECK(get_byte(up[0]) == 'C');
  while (n + 1 < sizeof got && (b = get_byte(up[0])) != 0 && b != '\n') got[n++] = b;
  got[n] = '\0';
  CHECK(strcmp(got, id) == 0);
  CHECK(count_entries(root, "work") == 1);
  CHECK(count_entries(root, "new") == 0);
  kill(pid, SIGKILL);
  CHECK(waitpid(pid, &status, 0) == pid);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  close(up[0]);
  close(down[1]);

  /* Its lease runs out; the message comes back with attempt 2. */
  CHECK_OK(ringdrop_drop_consumer_open(ch, &rx));
  if (rx == NULL) goto done;
  c = CLAIM(rx, LONG_WAIT, id, 2);
  if (c) {
    CHECK_OK(ringdrop_drop_claim_extend(c, 30000)); /* no lease runs out here */
    CHECK(data_is(c, "survivor", 8));
    CHECK_OK(ringdrop_drop_claim_ack(c));
  }
  ringdrop_drop_claim_close(c);
  CHECK_EMPTY(root);
  CHECK(count_entries(root, "failed") == 0);
done:
  close_both(ch, rx);
}

/* Receipts: a publisher that names its message (original-name) reads what
 * became of it, by name and id, as a COBOL batch job does. */
static void receipt_of_a_named_message(void) {
  const char* keys[] = {"original-name"};
  const char* values[] = {"ORDER-0001"};
  const char* bad_values[] = {"ORDER-0002"};
  char root[ROOT_LEN], id[RINGDROP_DROP_ID_MAX], bad_id[RINGDROP_DROP_ID_MAX], reason[16];
  ringdrop_drop* ch;
  ringdrop_drop_consumer* rx;
  ringdrop_drop_claim* c;
  ringdrop_drop_options o = fast_options();
  int outcome = -1;
  context = "receipts";
  if (!open_both("receipts", &o, root, &ch, &rx)) return;
  CHECK_OK(ringdrop_drop_publish(ch, "a", 1, keys, values, 1, id, sizeof id));
  CHECK_OK(ringdrop_drop_publish(ch, "b", 1, keys, bad_values, 1, bad_id, sizeof bad_id));

  /* Not settled yet: no receipt now, none in a moment. */
  CHECK_FAILS(ringdrop_drop_receipt(ch, "ORDER-0001", id, 0, &outcome, reason, sizeof reason),
              RINGDROP_ENOTFOUND);
  CHECK(outcome == 0 && reason[0] == '\0');
  CHECK_FAILS(ringdrop_drop_receipt(ch, "ORDER-0001", id, 1000000, &outcome, NULL, 0),
              RINGDROP_ETIMEDOUT);

  c = CLAIM(rx, LONG_WAIT, id, 1);
  if (c != NULL) {
    CHECK_OK(ringdrop_drop_claim_ack(c));
    ringdrop_drop_claim_close(c);
  }
  c = CLAIM(rx, LONG_WAIT, bad_id, 1);
  if (c != NULL) {
    CHECK_OK(ringdrop_drop_claim_reject(c, "quantity 0 on line 1"));
    ringdrop_drop_claim_close(c);
  }
  CHECK_OK(ringdrop_drop_receipt(ch, "ORDER-0001", id, LONG_WAIT, &outcome, reason, sizeof reason));
  CHECK(outcome == RINGDROP_RECEIPT_PROCESSED && reason[0] == '\0');
  /* The reason, cut to the buffer. */
  CHECK_OK(ringdrop_drop_receipt(ch, "ORDER-0002", bad_id, LONG_WAIT, &outcome, reason, sizeof reason));
  CHECK(outcome == RINGDROP_RECEIPT_DEAD_LETTERED && strcmp(reason, "quantity 0 on l") == 0);
  CHECK_OK(ringdrop_drop_receipt(ch, "ORDER-0002", bad_id, 0, &outcome, NULL, 0));

  CHECK_FAILS(ringdrop_drop_receipt(ch, NULL, id, 0, &outcome, NULL, 0), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_drop_receipt(ch, "ORDER-0001", NULL, 0, &outcome, NULL, 0), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_drop_receipt(ch, "ORDER-0001", id, 0, NULL, NULL, 0), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_drop_receipt(ch, "ORDER-0001", id, 0, &outcome, NULL, 5), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_drop_receipt(ch, "ORDER-0001", id, -1, &outcome, NULL, 0), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_drop_receipt(ch, "ORDER-0001", "../x", 0, &outcome, NULL, 0), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_drop_receipt(NULL, "ORDER-0001", id, 0, &outcome, NULL, 0), RINGDROP_EINVAL);
  close_both(ch, rx);
}

/* Whether a consumer opened with `o` on `root` removes the receipt of `id`:
 * its first scan sweeps what is past retention (by the file's ctime). */
static int sweep_removes_receipt(const char* root, const ringdrop_drop_options* o, const char* id) {
  ringdrop_drop* ch = NULL;
  ringdrop_drop_consumer* rx = NULL;
  ringdrop_drop_claim* c = NULL;
  int outcome = 0, gone;
  CHECK_OK(ringdrop_drop_open(root, o, &ch));
  if (ch) CHECK_OK(ringdrop_drop_consumer_open(ch, &rx));
  if (rx) CHECK(ringdrop_drop_consumer_claim(rx, 0, &c) == RINGDROP_ETIMEDOUT);
  gone = ch && ringdrop_drop_receipt(ch, "ORDER-0001", id, 0, &outcome, NULL, 0) == RINGDROP_ENOTFOUND;
  close_both(ch, rx);
  return gone;
}

/* The retention fields came after scan_interval_ms: a caller built before
 * them (a smaller size) gets the defaults; a newer one's are applied. */
static void retention_options_and_an_older_callers_size(void) {
  const char* keys[] = {"original-name"};
  const char* values[] = {"ORDER-0001"};
  char root[ROOT_LEN], id[RINGDROP_DROP_ID_MAX];
  ringdrop_drop* ch;
  ringdrop_drop_consumer* rx;
  ringdrop_drop_claim* c;
  ringdrop_drop_options o = fast_options();
  context = "retention";
  if (!open_both("retention", &o, root, &ch, &rx)) return;
  CHECK_OK(ringdrop_drop_publish(ch, "a", 1, keys, values, 1, id, sizeof id));
  c = CLAIM(rx, LONG_WAIT, id, 1);
  if (c != NULL) {
    CHECK_OK(ringdrop_drop_claim_ack(c));
    ringdrop_drop_claim_close(c);
  }
  close_both(ch, rx);

  /* An older caller, with 0 in fields it does not have: the default (7
   * days) keeps the receipt. A newer one's 0 removes it at once. */
  o.receipt_retention_hours = 0;
  o.size = offsetof(ringdrop_drop_options, key_retention_hours);
  CHECK(!sweep_removes_receipt(root, &o, id));
  o.size = sizeof o;
  CHECK(sweep_removes_receipt(root, &o, id));
  o.receipt_retention_hours = -1;
  CHECK_FAILS(ringdrop_drop_open(root, &o, &ch), RINGDROP_EINVAL);

  /* An older program's init (the plain symbol) fills its first version's
   * fields and never writes past them; _init_size fills what it is told. */
  memset(&o, 0xab, sizeof o);
  (ringdrop_drop_options_init)(&o);
  CHECK(o.size == RINGDROP_DROP_OPTIONS_FIRST_SIZE);
  CHECK(o.size == offsetof(ringdrop_drop_options, key_retention_hours));
  CHECK(o.scan_interval_ms == 1000 && o.create == 1 && o.max_attempts == 5);
  CHECK(((const unsigned char*)&o)[RINGDROP_DROP_OPTIONS_FIRST_SIZE] == 0xab);
  CHECK(((const unsigned char*)&o)[sizeof o - 1] == 0xab);
  memset(&o, 0xab, sizeof o);
  ringdrop_drop_options_init_size(&o, 8); /* smaller than any version: untouched */
  CHECK(((const unsigned char*)&o)[0] == 0xab);
  ringdrop_drop_options_init(&o);
  CHECK(o.size == sizeof o && o.receipt_retention_hours == 168 && o.stale_tmp_after_hours == 1);
}

/* A request names its reply channel in reply-to; the reply goes there with
 * the request's ids; bad reply-to values are refused. */
static void reply_goes_to_the_reply_channel(void) {
  static const char answer[] = "quote: 110.00";
  char root[ROOT_LEN], reply_root[ROOT_LEN], missing[ROOT_LEN], id[RINGDROP_DROP_ID_MAX];
  char request_id[RINGDROP_DROP_ID_MAX], reply_id[RINGDROP_DROP_ID_MAX];
  const char* keys[] = {"reply-to", "correlation-id"};
  const char* values[] = {NULL, "A-1001"};
  const char* status_key[] = {"status"};
  const char* status_value[] = {"0"};
  const char* relative[] = {"replies"};
  const char* missing_value[1];
  ringdrop_drop *ch, *replies;
  ringdrop_drop_consumer *rx, *caller;
  ringdrop_drop_claim *c, *r;
  ringdrop_drop_options o = fast_options();
  context = "drop reply";
  if (!open_both("requests", &o, root, &ch, &rx)) goto done;
  if (!open_both("replies", &o, reply_root, &replies, &caller)) goto done;
  values[0] = reply_root;
  CHECK_OK(ringdrop_drop_publish(ch, "ask", 3, keys, values, 2, request_id, sizeof request_id));
  c = CLAIM(rx, LONG_WAIT, request_id, 1);
  if (c == NULL) goto done;
  CHECK_FAILS(ringdrop_drop_reply(NULL, answer, 1, NULL, NULL, 0, NULL, 0), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_drop_reply(c, NULL, 1, NULL, NULL, 0, NULL, 0), RINGDROP_EINVAL);
  CHECK_FAILS(ringdrop_drop_reply(c, answer, 1, NULL, NULL, 0, id, 8), RINGDROP_EINVAL);
  CHECK(count_entries(reply_root, "new") == 0);
  CHECK_OK(ringdrop_drop_reply(c, answer, sizeof answer - 1, status_key, status_value, 1, reply_id,
                               sizeof reply_id));
  CHECK(id_is_well_formed(reply_id));
  CHECK_OK(ringdrop_drop_claim_ack(c));
  ringdrop_drop_claim_close(c);
  r = CLAIM(caller, LONG_WAIT, reply_id, 1);
  if (r == NULL) goto done;
  CHECK(data_is(r, answer, sizeof answer - 1));
  CHECK(header_is(r, "correlation-id", "A-1001"));
  CHECK(header_is(r, "request-id", request_id));
  CHECK(header_is(r, "status", "0"));
  CHECK_OK(ringdrop_drop_claim_ack(r));
  ringdrop_drop_claim_close(r);

  /* No reply-to; a relative one; a directory that is no channel. */
  make_path(missing, "no-such-channel");
  missing_value[0] = missing;
  CHECK_OK(ringdrop_drop_publish(ch, "a", 1, NULL, NULL, 0, request_id, sizeof request_id));
  CHECK_OK(ringdrop_drop_publish(ch, "b", 1, keys, relative, 1, NULL, 0));
  CHECK_OK(ringdrop_drop_publish(ch, "c", 1, keys, missing_value, 1, NULL, 0));
  {
    const int want[] = {RINGDROP_EINVAL, RINGDROP_EINVAL, RINGDROP_ENOTFOUND};
    int k;
    for (k = 0; k < 3; ++k) {
      c = NULL;
      CHECK_OK(ringdrop_drop_consumer_claim(rx, LONG_WAIT, &c));
      if (c == NULL) break;
      CHECK_FAILS(ringdrop_drop_reply(c, answer, 1, NULL, NULL, 0, NULL, 0), want[k]);
      CHECK_OK(ringdrop_drop_claim_ack(c));
      ringdrop_drop_claim_close(c);
    }
  }
  CHECK(access(missing, F_OK) != 0); /* nothing was created */
  ringdrop_drop_consumer_close(caller);
  ringdrop_drop_close(replies);
done:
  close_both(ch, rx);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN); /* a child that died early shows as a failed check */
  strcpy(base, "/tmp/ringdrop-c-drop-XXXXXX");
  if (mkdtemp(base) == NULL) {
    perror("mkdtemp");
    return 1;
  }

  context = "options";
  options_init_sets_size_and_defaults();
  close_null_is_a_no_op();
  open_with_null_options_and_missing_root();
  bad_arguments_are_einval();
  publish_claim_ack_round_trip();
  publish_without_headers_or_id();
  bad_headers_and_small_id_buffer_are_einval();
  nack_retries_then_dead_letters();
  unsettled_claim_is_nacked_on_close();
  publish_file_moves_the_file_in();
  extend_then_ack_and_timeouts();
  incoming_file_waits_for_its_marker();
  killed_consumer_message_is_redelivered();
  receipt_of_a_named_message();
  retention_options_and_an_older_callers_size();
  reply_goes_to_the_reply_channel();

  remove_tree(base);
  if (failures == 0) printf("abi_drop_test: all checks passed\n");
  return failures == 0 ? 0 : 1;
}
