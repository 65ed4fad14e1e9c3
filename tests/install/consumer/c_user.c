/* Out-of-tree C99 user of the installed C ABI: checks the library it runs
 * against is the one it was built for, then sends one message through an
 * SPSC ring and receives it. Exit 0 when it all matched. */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <ringdrop.h>

static int fail(const char* what, int rc) {
  fprintf(stderr, "c_user: %s: %s (%s)\n", what, ringdrop_strerror(rc), ringdrop_last_error_message());
  return 1;
}

int main(void) {
  const char text[] = "hello from an installed ringdrop";
  char name[64], buf[64];
  unsigned long long size = 0;
  ringdrop_ring *tx = NULL, *rx = NULL;
  int rc, status = 1;

  if (ringdrop_version() != RINGDROP_VERSION) {
    fprintf(stderr, "c_user: built against %d, runs against %d (%s)\n", RINGDROP_VERSION,
            ringdrop_version(), ringdrop_version_string());
    return 1;
  }
  snprintf(name, sizeof name, "rdconsumer-c-%ld", (long)getpid());
  rc = ringdrop_ring_open(name, RINGDROP_RING_SPSC, RINGDROP_ROLE_PRODUCER, RINGDROP_CREATE, NULL, &tx);
  if (rc != RINGDROP_OK) return fail("open the producer", rc);
  rc = ringdrop_ring_open(name, RINGDROP_RING_SPSC, RINGDROP_ROLE_CONSUMER, RINGDROP_OPEN, NULL, &rx);
  if (rc != RINGDROP_OK) {
    fail("open the consumer", rc);
  } else if ((rc = ringdrop_ring_send(tx, text, sizeof text, 0)) != RINGDROP_OK) {
    fail("send", rc);
  } else if ((rc = ringdrop_ring_receive(rx, buf, sizeof buf, &size, 0)) != RINGDROP_OK) {
    fail("receive", rc);
  } else if (size != sizeof text || memcmp(buf, text, sizeof text) != 0) {
    fprintf(stderr, "c_user: received %llu bytes, not the %lu sent\n", size, (unsigned long)sizeof text);
  } else {
    printf("c_user: ringdrop %s, one message through %s: ok\n", ringdrop_version_string(), name);
    status = 0;
  }
  ringdrop_ring_close(rx);
  ringdrop_ring_close(tx);
  rc = ringdrop_ring_remove(name, 0);
  if (rc != RINGDROP_OK) return fail("remove", rc);
  return status;
}
