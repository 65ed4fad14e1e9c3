/* legacy_client.c — an old C program talking to a new C++ service
 * (partner_service.cpp) through ringdrop's C ABI: C99, ringdrop.h only,
 * linked against libringdrop.so.
 *
 *   legacy_client NAME DROP_DIR [ORDERS [FILES]]
 *
 * The conversation (partner_service.cpp follows the same description):
 *
 *   rings NAME-requests (client -> service) and NAME-replies (service ->
 *   client): SPSC, 64 KiB. Each side opens them with RINGDROP_OPEN_OR_CREATE
 *   and the same capacity, so either may start first: a ring is created by
 *   whichever side comes first, and a waiting reader waits for a writer that
 *   has not arrived yet. Each side removes both names when it is done (the
 *   second gets RINGDROP_ENOTFOUND): a crashed partner leaves nothing behind.
 *
 *   1. ORDERS times, one request and its answer (text, no NUL):
 *        client:  ORDER 000042 QTY 7 ITEM wing nuts
 *        service: SEQ 000042 TOTAL 000000293 ECHO ORDER 000042 QTY 7 ITEM WING NUTS
 *      SEQ counts the service's answers, TOTAL is the sum of the quantities
 *      so far, ECHO the request upper-cased.
 *   2. The client publishes FILES invoices into the drop channel DROP_DIR,
 *      each with headers content-type, invoice and fnv1a (the FNV-1a hash of
 *      its bytes), then tells the service on the ring:
 *        client:  FILES 20
 *      The service claims that many, checks each against its headers, acks
 *      the good ones (rejects the others: dead letters), and reports:
 *        service: FILES 20 BYTES 123456 SUM 0123456789abcdef
 *      (SUM: the sum of the files' hashes, whatever the order of claiming.)
 *
 * Every answer is compared byte for byte with what the client computes
 * itself. Exit 0 only when all of them matched. Every wait is a blocking
 * receive with a timeout: nothing sleeps. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ringdrop.h"

#define SECOND 1000000000LL
/* How long to wait for the service; a dead service is seen sooner
 * (RINGDROP_EPEERGONE after the liveness interval, 50 ms). */
#define TIMEOUT (10 * SECOND)
#define RING_CAPACITY 65536ULL /* both sides must ask for the same */
#define TEXT_MAX 256

static const char* const items[] = {"hex bolts", "wing nuts", "washers", "cotter pins", "springs"};

/* Reports a failed ringdrop call. The detail first: its text is valid only
 * until the next ringdrop call, and ringdrop_strerror() is one. */
static void complain(const char* what, int rc) {
  const char* detail = ringdrop_last_error_message();
  fprintf(stderr, "legacy_client: %s: ", what);
  if (detail[0] != '\0') fprintf(stderr, "%s: ", detail);
  fprintf(stderr, "%s (%d)\n", ringdrop_strerror(rc), rc);
}

/* FNV-1a, 64 bits: the checksum both sides compute. */
static unsigned long long fnv1a(const char* data, size_t size) {
  unsigned long long h = 14695981039346656037ULL;
  size_t i;
  for (i = 0; i < size; ++i) {
    h ^= (unsigned char)data[i];
    h *= 1099511628211ULL;
  }
  return h;
}

static void upper_case(char* s) {
  for (; *s; ++s) {
    if (*s >= 'a' && *s <= 'z') *s = (char)(*s - 'a' + 'A');
  }
}

/* Sends `text` (without its NUL), receives the answer and compares it with
 * `expected`. 1 when they matched. */
static int exchange(ringdrop_ring* requests, ringdrop_ring* replies, const char* text,
                    const char* expected) {
  char answer[TEXT_MAX];
  unsigned long long size = 0;
  int rc = ringdrop_ring_send(requests, text, strlen(text), TIMEOUT);
  if (rc != RINGDROP_OK) {
    complain("send a request", rc);
    return 0;
  }
  rc = ringdrop_ring_receive(replies, answer, sizeof answer, &size, TIMEOUT);
  if (rc != RINGDROP_OK) {
    complain("receive the answer", rc);
    return 0;
  }
  if (size != strlen(expected) || memcmp(answer, expected, size) != 0) {
    fprintf(stderr, "legacy_client: to \"%s\" the service answered \"%.*s\", expected \"%s\"\n",
            text, (int)size, answer, expected);
    return 0;
  }
  return 1;
}

/* Part 1: `orders` requests, each answered exactly. */
static int send_orders(ringdrop_ring* requests, ringdrop_ring* replies, unsigned orders) {
  char request[TEXT_MAX], echo[TEXT_MAX], expected[TEXT_MAX + 64];
  unsigned long total = 0;
  unsigned i;
  for (i = 1; i <= orders; ++i) {
    const unsigned qty = 1 + (i * 7) % 13;
    total += qty;
    snprintf(request, sizeof request, "ORDER %06u QTY %u ITEM %s", i, qty, items[i % 5]);
    strcpy(echo, request);
    upper_case(echo);
    snprintf(expected, sizeof expected, "SEQ %06u TOTAL %09lu ECHO %s", i, total, echo);
    if (!exchange(requests, replies, request, expected)) return 0;
  }
  return 1;
}

/* Invoice `n` as text: a header line and 1 to 400 item lines (up to ~16 KB).
 * Returns its length; `out` holds at least INVOICE_MAX bytes. */
#define INVOICE_MAX (32 + 400 * 48)
static size_t make_invoice(char* out, unsigned n) {
  const unsigned lines = 1 + (n * 97) % 400;
  size_t len = (size_t)sprintf(out, "INVOICE %06u\n", n);
  unsigned j;
  for (j = 1; j <= lines; ++j) {
    len += (size_t)sprintf(out + len, "LINE %04u ITEM %-12s AMOUNT %5u.%02u\n", j,
                           items[(n + j) % 5], (n * j) % 1000, (n + j) % 100);
  }
  return len;
}

/* Part 2: `files` invoices through the drop channel at `root`; the service's
 * report must name exactly their number, bytes and hashes. */
static int drop_invoices(ringdrop_ring* requests, ringdrop_ring* replies, const char* root,
                         unsigned files, unsigned long long* bytes) {
  static const char* const keys[] = {"content-type", "invoice", "fnv1a"};
  ringdrop_drop* channel = NULL;
  char* invoice = malloc(INVOICE_MAX);
  char number[16], hash[24], id[RINGDROP_DROP_ID_MAX], request[TEXT_MAX], expected[TEXT_MAX];
  unsigned long long sum = 0;
  unsigned n;
  int rc, ok = 0;

  *bytes = 0;
  if (invoice == NULL) {
    fprintf(stderr, "legacy_client: out of memory\n");
    return 0;
  }
  rc = ringdrop_drop_open(root, NULL, &channel); /* the defaults: create the tree, fsync */
  if (rc != RINGDROP_OK) {
    complain("open the drop channel", rc);
    goto done;
  }
  for (n = 1; n <= files; ++n) {
    const size_t size = make_invoice(invoice, n);
    const unsigned long long h = fnv1a(invoice, size);
    const char* values[3];
    values[0] = "text/plain";
    values[1] = number;
    values[2] = hash;
    snprintf(number, sizeof number, "%06u", n);
    snprintf(hash, sizeof hash, "%016llx", h);
    rc = ringdrop_drop_publish(channel, invoice, size, keys, values, 3, id, sizeof id);
    if (rc != RINGDROP_OK) {
      complain("publish an invoice", rc);
      goto done;
    }
    *bytes += size;
    sum += h; /* wraps modulo 2^64, as in the service */
  }
  /* Published means complete and in new/: the service may start now. */
  snprintf(request, sizeof request, "FILES %u", files);
  snprintf(expected, sizeof expected, "FILES %u BYTES %llu SUM %016llx", files, *bytes, sum);
  ok = exchange(requests, replies, request, expected);
done:
  ringdrop_drop_close(channel);
  free(invoice);
  return ok;
}

/* Opens ring `name`-`suffix` in `role`. */
static int open_ring(const char* name, const char* suffix, int role, ringdrop_ring** ring) {
  char full[TEXT_MAX];
  ringdrop_ring_options options;
  int rc;
  ringdrop_ring_options_init(&options); /* always: it sets options.size */
  options.capacity = RING_CAPACITY;
  snprintf(full, sizeof full, "%s-%s", name, suffix);
  rc = ringdrop_ring_open(full, RINGDROP_RING_SPSC, role, RINGDROP_OPEN_OR_CREATE, &options, ring);
  if (rc != RINGDROP_OK) complain(full, rc);
  return rc == RINGDROP_OK;
}

static void remove_ring(const char* name, const char* suffix) {
  char full[TEXT_MAX];
  int rc;
  snprintf(full, sizeof full, "%s-%s", name, suffix);
  rc = ringdrop_ring_remove(full, 0);
  if (rc != RINGDROP_OK && rc != RINGDROP_ENOTFOUND) complain("remove a ring", rc);
}

int main(int argc, char** argv) {
  ringdrop_ring *requests = NULL, *replies = NULL;
  unsigned orders = 100, files = 20;
  unsigned long long bytes = 0;
  int ok = 0;

  if (argc < 3 || argc > 5 || strlen(argv[1]) > 64) {
    fprintf(stderr, "usage: legacy_client NAME DROP_DIR [ORDERS [FILES]]\n");
    return 2;
  }
  if (argc > 3) orders = (unsigned)strtoul(argv[3], NULL, 10);
  if (argc > 4) files = (unsigned)strtoul(argv[4], NULL, 10);
  /* The library must be the one this program was built for, or a later
   * minor version of the same major (the ABI policy). */
  if (ringdrop_version() / 10000 != RINGDROP_VERSION_MAJOR || ringdrop_version() < RINGDROP_VERSION) {
    fprintf(stderr, "legacy_client: built for ringdrop %d.%d, found %s\n", RINGDROP_VERSION_MAJOR,
            RINGDROP_VERSION_MINOR, ringdrop_version_string());
    return 1;
  }

  if (open_ring(argv[1], "requests", RINGDROP_ROLE_PRODUCER, &requests) &&
      open_ring(argv[1], "replies", RINGDROP_ROLE_CONSUMER, &replies)) {
    ok = send_orders(requests, replies, orders) &&
         drop_invoices(requests, replies, argv[2], files, &bytes);
  }
  ringdrop_ring_close(replies);
  ringdrop_ring_close(requests);
  remove_ring(argv[1], "requests");
  remove_ring(argv[1], "replies");

  if (!ok) {
    fprintf(stderr, "legacy_client: FAILED\n");
    return 1;
  }
  printf("legacy_client: %u orders answered exactly; %u invoices (%llu bytes) confirmed; ok\n",
         orders, files, bytes);
  return 0;
}
