/* SPDX-License-Identifier: MIT */
/*
 * wsm on a Cortex-M4 with no operating system and no libc beyond the memory
 * and string functions: a client and a server in static memory do the
 * opening handshake, exchange RFC 6455 5.7's "Hello" both ways (the client's
 * mask key comes from the host's random source, here a fixed one so that the
 * frame can be compared byte for byte) and close. Built freestanding with
 * -DWSM_NO_DEFAULT_RANDOM by .ci/portability and run under qemu-system-arm.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cortex_m4.h"
#include "wsm.h"

static struct wsm_conn client, server;
static uint8_t wire[512];
static int failures;

/* The host's random source: the mask key of RFC 6455 5.7's example. */
static int example_key(void *ctx, uint8_t *buf, size_t len) {
  static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
  size_t i;
  (void)ctx;
  for (i = 0; i < len; i++) buf[i] = key[i % 4u];
  return 0;
}

static void check(int cond, const char *what) {
  if (!cond) {
    m4_print("cortex-m4: FAILED: ");
    m4_print(what);
    m4_print("\n");
    failures++;
  }
}

static void print_size(const char *what, size_t n) {
  char digits[24];
  size_t i = sizeof digits - 1;
  digits[i] = '\0';
  do {
    digits[--i] = (char)('0' + n % 10u);
    n /= 10u;
  } while (n != 0 && i > 0);
  m4_print("cortex-m4: sizeof(");
  m4_print(what);
  m4_print(") = ");
  m4_print(digits + i);
  m4_print("\n");
}

/* Feed len bytes of wire to c and return the first event (all bytes must be
 * consumed by then: these tests send one thing at a time). */
static int feed(struct wsm_conn *c, size_t len, struct wsm_event *ev) {
  size_t used = 0;
  int rc = wsm_conn_recv(c, wire, len, &used, ev);
  return rc == 0 && used == len ? 0 : -1;
}

int main(void) {
  static const uint8_t masked_hello[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                         0x7f, 0x9f, 0x4d, 0x51, 0x58};
  static const uint8_t unmasked_hello[] = {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
  struct wsm_config ccfg, scfg;
  struct wsm_client_request req;
  struct wsm_server_accept acc;
  struct wsm_event ev;
  const uint8_t *out;
  size_t n = 0;

  print_size("struct wsm_conn", sizeof(struct wsm_conn));
  print_size("struct wsm_event", sizeof(struct wsm_event));
  print_size("struct wsm_config", sizeof(struct wsm_config));

  wsm_config_init(&ccfg, WSM_ROLE_CLIENT);
  ccfg.random = example_key;
  wsm_config_init(&scfg, WSM_ROLE_SERVER);
  check(wsm_conn_init(&client, &ccfg) == 0 && wsm_conn_init(&server, &scfg) == 0, "init");

  memset(&req, 0, sizeof req);
  req.host = "device.local";
  req.path = "/ws";
  check(wsm_conn_client_request(&client, &req, wire, sizeof wire, &n) == 0, "request");
  check(feed(&server, n, &ev) == 0 && ev.type == WSM_EV_REQUEST, "server sees request");
  memset(&acc, 0, sizeof acc);
  check(wsm_conn_accept(&server, &acc, wire, sizeof wire, &n) == 0, "accept");
  check(feed(&client, n, &ev) == 0 && ev.type == WSM_EV_RESPONSE, "client sees 101");

  check(wsm_conn_send(&client, WSM_OP_TEXT, (const uint8_t *)"Hello", 5, WSM_SEND_FIN, wire,
                      sizeof wire, &n) == 0 &&
            n == sizeof masked_hello && memcmp(wire, masked_hello, n) == 0,
        "client frame is RFC 6455 5.7's masked Hello");
  check(feed(&server, n, &ev) == 0 && ev.type == WSM_EV_DATA && ev.len == 5 &&
            memcmp(ev.data, "Hello", 5) == 0,
        "server receives Hello");
  check(wsm_conn_send(&server, WSM_OP_TEXT, (const uint8_t *)"Hello", 5, WSM_SEND_FIN, wire,
                      sizeof wire, &n) == 0 &&
            n == sizeof unmasked_hello && memcmp(wire, unmasked_hello, n) == 0,
        "server frame is RFC 6455 5.7's unmasked Hello");
  check(feed(&client, n, &ev) == 0 && ev.type == WSM_EV_DATA && ev.len == 5, "client receives");

  check(wsm_conn_close(&client, WSM_CLOSE_GOING_AWAY, NULL, 0) == 0, "client closes");
  n = wsm_conn_output(&client, &out);
  check(n > 0 && n <= sizeof wire, "close frame queued");
  memcpy(wire, out, n);
  check(wsm_conn_output_ack(&client, n) == 0, "ack");
  check(feed(&server, n, &ev) == 0 && ev.type == WSM_EV_CLOSE &&
            ev.close_code == WSM_CLOSE_GOING_AWAY,
        "server sees close 1001");
  check(wsm_conn_transport(&server) == WSM_TRANSPORT_CLOSE ||
            wsm_conn_output(&server, &out) > 0,
        "server echoes the close");

  m4_print(failures ? "cortex-m4: FAILED\n" : "cortex-m4: handshake, Hello both ways, close: ok\n");
  return failures ? 1 : 0;
}
