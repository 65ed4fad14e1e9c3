/* ringdrop-demo-subscriber — an old C program subscribing to the order
 * service's events (README.md). C99, ringdrop.h and libringdrop.so only.
 *
 *   ringdrop-demo-subscriber <ring-name> [--status-fd FD]
 *
 * Subscribes to the broadcast ring <ring-name> (creating it if missing), reads
 * each event in place (ringdrop_ring_read / _release: no copy), prints the
 * orders, counts the ticks, and stops at the END event, which says how many
 * events came before it and their CRC-32: the program checks it got exactly
 * those, in order. Status lines for ringdrop-demo go to --status-fd
 * ("ready" once subscribed, then "result key=value ..."), else to stdout.
 * Exit status 0 when everything checked out. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "demo_event.h"
#include "ringdrop.h"

#define MAX_ORDERS 4096
#define TIMEOUT_NS 60000000000LL /* a bound for a broken service, never reached */

static int status_fd = -1;

static void status(const char* line) {
  if (status_fd < 0) {
    printf("[c] status: %s\n", line);
    return;
  }
  {
    size_t len = strlen(line), done = 0;
    while (done < len) {
      ssize_t n = write(status_fd, line + done, len - done);
      if (n < 0) return;
      done += (size_t)n;
    }
    if (write(status_fd, "\n", 1) < 0) return;
  }
}

static long long now_ns(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp_ll(const void* a, const void* b) {
  const long long x = *(const long long*)a, y = *(const long long*)b;
  return (x > y) - (x < y);
}

/* The p-th fraction of v[0..n) (sorted in place); 0 when empty. */
static long long percentile(long long* v, size_t n, double p) {
  size_t i;
  if (n == 0) return 0;
  qsort(v, n, sizeof *v, cmp_ll);
  i = (size_t)(p * (double)n);
  return v[i < n ? i : n - 1];
}

static void fail_call(const char* what, int rc) {
  fprintf(stderr, "[c] %s: %s %s\n", what, ringdrop_strerror(rc), ringdrop_last_error_message());
}

int main(int argc, char** argv) {
  const char* ring_name = NULL;
  ringdrop_ring* ring = NULL;
  int i, rc, ok = 0, done = 0;
  unsigned long long events = 0, orders = 0, accepted = 0, rejected = 0, ticks = 0, bytes = 0;
  unsigned long long tick_gaps = 0;
  unsigned int crc = 0;
  long long first_order_mono = 0, last_order_mono = 0, first_tick_mono = 0, last_tick_mono = 0;
  static long long latency[MAX_ORDERS], e2e[MAX_ORDERS];
  size_t n_latency = 0, n_e2e = 0;
  char line[768];

  setvbuf(stdout, NULL, _IOLBF, 0); /* several processes share the terminal */
  for (i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--status-fd") == 0 && i + 1 < argc) {
      status_fd = atoi(argv[++i]);
    } else if (ring_name == NULL) {
      ring_name = argv[i];
    } else {
      ring_name = NULL;
      break;
    }
  }
  if (ring_name == NULL) {
    fprintf(stderr, "usage: ringdrop-demo-subscriber <ring-name> [--status-fd FD]\n");
    return 2;
  }

  /* Default options: start at the newest message, i.e. everything
   * published from now on. The ring exists when ringdrop-demo runs this
   * (its cell size and policy are kept); by hand, the first subscriber
   * creates it with the defaults. */
  rc = ringdrop_ring_open(ring_name, RINGDROP_RING_BROADCAST, RINGDROP_ROLE_CONSUMER,
                          RINGDROP_OPEN_OR_CREATE, NULL, &ring);
  if (rc != RINGDROP_OK) {
    fail_call("ringdrop_ring_open", rc);
    return 1;
  }
  printf("[c] pid %d: subscribed to shm:%s\n", (int)getpid(), ring_name);
  status("ready");

  while (!done) {
    const void* data = NULL;
    unsigned long long size = 0;
    long long mono, wall;
    demo_event e;

    rc = ringdrop_ring_read(ring, TIMEOUT_NS, &data, &size);
    mono = now_ns(CLOCK_MONOTONIC);
    wall = now_ns(CLOCK_REALTIME);
    if (rc != RINGDROP_OK) {
      fail_call("ringdrop_ring_read", rc); /* RINGDROP_EPEERGONE: the service left before END */
      break;
    }
    if (demo_event_decode((const unsigned char*)data, size, &e) != 0) {
      fprintf(stderr, "[c] FAIL: a message of %llu bytes that is not an event\n", size);
      break;
    }
    bytes += size;
    if (e.seq != events) {
      fprintf(stderr, "[c] FAIL: event %llu arrived as number %llu\n",
              (unsigned long long)e.seq, events);
      break;
    }
    switch (e.kind) {
      case DEMO_EVENT_ACCEPTED:
      case DEMO_EVENT_REJECTED:
        ++orders;
        if (e.kind == DEMO_EVENT_ACCEPTED) ++accepted; else ++rejected;
        if (first_order_mono == 0) first_order_mono = mono;
        last_order_mono = mono;
        if (n_latency < MAX_ORDERS) latency[n_latency++] = mono - e.published_mono_ns;
        if (e.dropped_wall_ns != 0 && n_e2e < MAX_ORDERS) e2e[n_e2e++] = wall - e.dropped_wall_ns;
        printf("[c] event %3llu: order %08llu %.30s %c %9.2f x%-3u %s%s (%.1f us after publish)\n",
               (unsigned long long)e.seq, (unsigned long long)e.order_id, e.customer, e.status,
               (double)e.amount_cents / 100.0, (unsigned)e.quantity,
               e.kind == DEMO_EVENT_ACCEPTED ? "accepted" : "rejected: ", demo_reason_text(e.reason),
               (double)(mono - e.published_mono_ns) / 1e3);
        break;
      case DEMO_EVENT_TICK:
        if (e.order_id != ticks) ++tick_gaps;
        if (ticks == 0) first_tick_mono = mono;
        last_tick_mono = mono;
        ++ticks;
        break;
      case DEMO_EVENT_END:
        done = 1;
        ok = e.seq == events && (unsigned int)e.amount_cents == crc && e.quantity == orders &&
             e.order_id == ticks && tick_gaps == 0;
        printf("[c] END: %llu events (%llu orders, %llu ticks), CRC-32 %08x: %s\n", events, orders,
               ticks, crc, ok ? "all received, in order" : "MISMATCH");
        break;
      default:
        fprintf(stderr, "[c] FAIL: unknown event kind %u\n", (unsigned)e.kind);
        done = 1;
        break;
    }
    if (e.kind != DEMO_EVENT_END) {
      crc = demo_crc32(crc, data, (size_t)size);
      ++events;
    }
    /* Hand the cell back (one release could cover several reads). */
    rc = ringdrop_ring_release(ring);
    if (rc != RINGDROP_OK) {
      fail_call("ringdrop_ring_release", rc);
      ok = 0;
      break;
    }
  }
  ringdrop_ring_close(ring);

  {
    const long long lat_p50 = percentile(latency, n_latency, 0.5);
    const long long lat_max = percentile(latency, n_latency, 1.0);
    const long long e2e_p50 = percentile(e2e, n_e2e, 0.5);
    const long long e2e_max = percentile(e2e, n_e2e, 1.0);
    snprintf(line, sizeof line,
             "result ok=%d events=%llu orders=%llu accepted=%llu rejected=%llu ticks=%llu bytes=%llu"
             " crc=%u first_order_mono=%lld last_order_mono=%lld first_tick_mono=%lld"
             " last_tick_mono=%lld lat_p50=%lld lat_max=%lld e2e_p50=%lld e2e_max=%lld",
             ok, events, orders, accepted, rejected, ticks, bytes, crc, first_order_mono,
             last_order_mono, first_tick_mono, last_tick_mono, lat_p50, lat_max, e2e_p50, e2e_max);
  }
  status(line);
  return ok ? 0 : 1;
}
