/* SPDX-License-Identifier: MIT */
/*
 * The opening handshake (RFC 6455 section 4) in both roles, every input fed
 * whole, byte by byte and in random splits; and the framing-only helpers.
 */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SAMPLE_KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define SAMPLE_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

static const char sample_request[] =
    "GET /chat?room=1 HTTP/1.1\r\n"
    "Host: server.example.com\r\n"
    "Upgrade: websocket\r\n"
    "Connection: Upgrade\r\n"
    "Sec-WebSocket-Key: " SAMPLE_KEY "\r\n"
    "Origin: http://example.com\r\n"
    "Sec-WebSocket-Protocol: chat, superchat\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "\r\n";

/* memmem is not C99 */
static const void *find_bytes(const void *hay, size_t n, const char *needle, size_t m) {
  const uint8_t *h = hay;
  for (size_t i = 0; m <= n && i <= n - m; i++)
    if (memcmp(h + i, needle, m) == 0) return h + i;
  return NULL;
}

static struct wsm_config server_cfg(void) {
  struct wsm_config cfg;
  wsm_config_init(&cfg, WSM_ROLE_SERVER);
  return cfg;
}

static void setup_server(struct wsm_conn *c, const struct wsm_config *cfg, void *ctx) {
  (void)ctx;
  assert_int_equal(wsm_conn_init(c, cfg), 0);
}

/* ---- framing-only helpers ------------------------------------------------ */

static void test_handshake_accept_key_rfc_sample(void **state) {
  (void)state;
  char accept[WSM_ACCEPT_SIZE];
  assert_int_equal(wsm_accept_key(SAMPLE_KEY, strlen(SAMPLE_KEY), accept), 0);
  assert_string_equal(accept, SAMPLE_ACCEPT);
  /* 15 and 17 bytes, bad characters, non-canonical padding bits */
  assert_int_equal(wsm_accept_key("AAAAAAAAAAAAAAAAAAAA", 20, accept), WSM_E_HANDSHAKE_KEY);
  assert_int_equal(wsm_accept_key("AAAAAAAAAAAAAAAAAAAAAAA=", 24, accept), WSM_E_HANDSHAKE_KEY);
  assert_int_equal(wsm_accept_key("dGhlIHNhbXBsZSBub25jZR==", 24, accept), WSM_E_HANDSHAKE_KEY);
  assert_int_equal(wsm_accept_key("dGhlIHNhbXBsZSBub25jZQ", 22, accept), WSM_E_HANDSHAKE_KEY);
  assert_int_equal(wsm_accept_key("dGhlIHNhbXBsZSBub25j!Q==", 24, accept), WSM_E_HANDSHAKE_KEY);
}

#define H(n, v) {n, sizeof n - 1, v, sizeof v - 1}

static void test_handshake_upgrade_check_http1(void **state) {
  (void)state;
  struct wsm_http_header h[] = {
      H("host", "a"), H("upgrade", "WebSocket"), H("connection", "keep-alive, upgrade"),
      H("sec-websocket-key", SAMPLE_KEY), H("sec-websocket-version", "13"),
  };
  struct wsm_upgrade_request r = {1, 1, "GET", 3, h, 5};
  char accept[WSM_ACCEPT_SIZE];
  assert_int_equal(wsm_upgrade_check(&r, accept), 0);
  assert_string_equal(accept, SAMPLE_ACCEPT);
  r.method = "POST";
  r.method_len = 4;
  assert_int_equal(wsm_upgrade_check(&r, accept), WSM_E_HANDSHAKE_METHOD);
  r.method = "GET";
  r.method_len = 3;
  r.http_minor = 0;
  assert_int_equal(wsm_upgrade_check(&r, accept), WSM_E_HANDSHAKE_HTTP_VERSION);
  r.http_minor = 1;
  h[4] = (struct wsm_http_header)H("sec-websocket-version", "8");
  assert_int_equal(wsm_upgrade_check(&r, accept), WSM_E_HANDSHAKE_VERSION);
  assert_int_equal(wsm_handshake_status(WSM_E_HANDSHAKE_VERSION), 426);
  h[4] = (struct wsm_http_header)H("sec-websocket-version", "13");
  h[2] = (struct wsm_http_header)H("connection", "keep-alive");
  assert_int_equal(wsm_upgrade_check(&r, accept), WSM_E_HANDSHAKE_CONNECTION);
  assert_int_equal(wsm_handshake_status(WSM_E_HANDSHAKE_CONNECTION), 400);
}

static void test_handshake_upgrade_check_rfc8441(void **state) {
  (void)state;
  struct wsm_http_header h[] = {
      H(":method", "CONNECT"), H(":protocol", "websocket"), H(":scheme", "https"),
      H(":path", "/chat"),     H(":authority", "server.example.com"),
      H("sec-websocket-version", "13"), H("sec-websocket-protocol", "chat, superchat"),
      H("sec-websocket-extensions", "permessage-deflate; client_max_window_bits"),
  };
  struct wsm_upgrade_request r = {2, 0, NULL, 0, h, 8};
  char accept[WSM_ACCEPT_SIZE] = "x";
  assert_int_equal(wsm_upgrade_check(&r, accept), 0);
  assert_string_equal(accept, ""); /* no key and no accept over HTTP/2 */
  h[1] = (struct wsm_http_header)H(":protocol", "websockets");
  assert_int_equal(wsm_upgrade_check(&r, accept), WSM_E_HANDSHAKE_H2);
  h[1] = (struct wsm_http_header)H(":protocol", "websocket");
  h[0] = (struct wsm_http_header)H(":method", "GET");
  assert_int_equal(wsm_upgrade_check(&r, accept), WSM_E_HANDSHAKE_METHOD);
  h[0] = (struct wsm_http_header)H(":method", "CONNECT");
  h[7] = (struct wsm_http_header)H("sec-websocket-extensions", "a; b=\"unterminated");
  assert_int_equal(wsm_upgrade_check(&r, accept), WSM_E_HANDSHAKE_SYNTAX);
  h[7] = (struct wsm_http_header)H("sec-websocket-extensions", "permessage-deflate");
  assert_int_equal(wsm_upgrade_check(&r, accept), 0);
  /* RFC 8441 5: no Connection or Upgrade; scheme http(s); lower-case names */
  h[7] = (struct wsm_http_header)H("connection", "upgrade");
  assert_int_equal(wsm_upgrade_check(&r, accept), WSM_E_HANDSHAKE_H2);
  h[7] = (struct wsm_http_header)H("Sec-WebSocket-Protocol", "chat");
  assert_int_equal(wsm_upgrade_check(&r, accept), WSM_E_HANDSHAKE_H2);
  h[7] = (struct wsm_http_header)H(":method", "CONNECT");
  assert_int_equal(wsm_upgrade_check(&r, accept), WSM_E_HANDSHAKE_H2);
  h[7] = (struct wsm_http_header)H("sec-websocket-protocol", "chat");
  h[2] = (struct wsm_http_header)H(":scheme", "ftp");
  assert_int_equal(wsm_upgrade_check(&r, accept), WSM_E_HANDSHAKE_H2);
  h[2] = (struct wsm_http_header)H(":scheme", "https");
  r.header_count = 4; /* no :authority */
  assert_int_equal(wsm_upgrade_check(&r, accept), WSM_E_HANDSHAKE_H2);
}

/* ---- server ---------------------------------------------------------------- */

static void test_handshake_server_sample_request(void **state) {
  (void)state;
  struct wsm_conn c;
  struct wsm_event ev;
  struct wsm_http_header hdr;
  uint8_t buf[1024], out[1024];
  size_t used, n;
  struct wsm_config cfg = server_cfg();
  memcpy(buf, sample_request, sizeof sample_request - 1);
  assert_int_equal(wsm_conn_init(&c, &cfg), 0);
  assert_int_equal(wsm_conn_state(&c), WSM_STATE_CONNECTING);
  assert_int_equal(wsm_conn_recv(&c, buf, sizeof sample_request - 1, &used, &ev), 0);
  assert_int_equal(ev.type, WSM_EV_REQUEST);
  assert_int_equal(used, sizeof sample_request - 1);
  assert_int_equal(ev.http.method_len, 3);
  assert_memory_equal(ev.http.target, "/chat?room=1", 12);
  assert_int_equal(wsm_http_header_find(&ev.http, "origin", &hdr), 1);
  assert_memory_equal(hdr.value, "http://example.com", hdr.value_len);
  /* the client's preference wins among what the server supports */
  {
    const char *mine[] = {"superchat", "chat"}, *none[] = {"other"};
    assert_string_equal(wsm_select_protocol(&ev.http, mine, 2), "chat");
    assert_null(wsm_select_protocol(&ev.http, none, 1));
  }
  /* a protocol that was not offered is refused */
  struct wsm_server_accept a = {"nope", NULL, NULL, 0, &ev.http};
  assert_int_equal(wsm_conn_accept(&c, &a, out, sizeof out, &n), WSM_E_INVALID_ARGUMENT);
  a.protocol = "chat";
  /* an extension the client did not offer, or a header we write ourselves */
  a.extensions = "permessage-deflate";
  assert_int_equal(wsm_conn_accept(&c, &a, out, sizeof out, &n), WSM_E_INVALID_ARGUMENT);
  a.extensions = NULL;
  struct wsm_http_header dup = H("Sec-WebSocket-Accept", "x");
  a.headers = &dup;
  a.header_count = 1;
  assert_int_equal(wsm_conn_accept(&c, &a, out, sizeof out, &n), WSM_E_INVALID_ARGUMENT);
  struct wsm_http_header cookie = H("Set-Cookie", "id=1");
  a.headers = &cookie;
  a.header_count = 1;
  /* too small: told the size */
  assert_int_equal(wsm_conn_accept(&c, &a, out, 10, &n), WSM_E_BUFFER_TOO_SMALL);
  size_t need = n;
  assert_int_equal(wsm_conn_accept(&c, &a, out, sizeof out, &n), 0);
  assert_int_equal(n, need);
  static const char want[] = "HTTP/1.1 101 Switching Protocols\r\n"
                             "Upgrade: websocket\r\n"
                             "Connection: Upgrade\r\n"
                             "Sec-WebSocket-Accept: " SAMPLE_ACCEPT "\r\n"
                             "Sec-WebSocket-Protocol: chat\r\n"
                             "Set-Cookie: id=1\r\n"
                             "\r\n";
  assert_int_equal(n, sizeof want - 1);
  assert_memory_equal(out, want, n);
  assert_int_equal(wsm_conn_state(&c), WSM_STATE_OPEN);
}

static void test_handshake_server_frames_in_same_read(void **state) {
  (void)state;
  /* request + two frames + ping in one buffer, fed every way */
  uint8_t in[1024];
  size_t n = sizeof sample_request - 1;
  memcpy(in, sample_request, n);
  n += t_cframe(in + n, 1, WSM_OP_TEXT, "first", 5);
  n += t_cframe(in + n, 1, WSM_OP_PING, "p", 1);
  n += t_cframe(in + n, 1, WSM_OP_BINARY, "second", 6);
  struct wsm_config cfg = server_cfg();
  struct t_log proto, log;
  struct wsm_server_accept a = {NULL, NULL, NULL, 0, NULL};
  struct wsm_conn c;
  t_log_init(&proto);
  proto.auto_accept = 1;
  proto.accept = &a;
  t_feed_all_ways_setup(&cfg, setup_server, NULL, &proto, in, n, &log, &c);
  assert_int_equal(log.rc, 0);
  assert_int_equal(log.n, 5);
  assert_int_equal(log.recs[0].type, WSM_EV_REQUEST);
  assert_memory_equal(log.recs[0].data, "/chat?room=1", 12);
  assert_int_equal(log.recs[1].type, T_ACCEPTED);
  assert_int_equal(log.recs[2].type, WSM_EV_MESSAGE);
  assert_memory_equal(log.recs[2].data, "first", 5);
  assert_int_equal(log.recs[3].type, WSM_EV_PING);
  assert_int_equal(log.recs[4].type, WSM_EV_MESSAGE);
  assert_memory_equal(log.recs[4].data, "second", 6);
  t_log_free(&log);
}

struct bad_request {
  const char *text;
  int err;
  int status;
};

static const struct bad_request bad_requests[] = {
    {"POST / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Key: " SAMPLE_KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n",
     WSM_E_HANDSHAKE_METHOD, 400},
    {"GET / HTTP/1.0\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Key: " SAMPLE_KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n",
     WSM_E_HANDSHAKE_HTTP_VERSION, 400},
    {"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Key: " SAMPLE_KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n",
     WSM_E_HANDSHAKE_HOST, 400},
    {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Key: " SAMPLE_KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n",
     WSM_E_HANDSHAKE_HOST, 400},
    {"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Key: " SAMPLE_KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n",
     WSM_E_HANDSHAKE_UPGRADE, 400},
    {"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: keep-alive\r\n"
     "Sec-WebSocket-Key: " SAMPLE_KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n",
     WSM_E_HANDSHAKE_CONNECTION, 400},
    {"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Version: 13\r\n\r\n",
     WSM_E_HANDSHAKE_KEY, 400},
    {"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Key: c2hvcnQ=\r\nSec-WebSocket-Version: 13\r\n\r\n",
     WSM_E_HANDSHAKE_KEY, 400},
    {"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Key: " SAMPLE_KEY "\r\nSec-WebSocket-Key: " SAMPLE_KEY "\r\n"
     "Sec-WebSocket-Version: 13\r\n\r\n",
     WSM_E_HANDSHAKE_DUPLICATE, 400},
    {"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Key: " SAMPLE_KEY "\r\nSec-WebSocket-Version: 8\r\n\r\n",
     WSM_E_HANDSHAKE_VERSION, 426},
    {"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Key: " SAMPLE_KEY "\r\n\r\n",
     WSM_E_HANDSHAKE_VERSION, 426},
    {"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Key: " SAMPLE_KEY "\r\nSec-WebSocket-Version: 13\r\n"
     "Sec-WebSocket-Protocol: chat, a b\r\n\r\n",
     WSM_E_HANDSHAKE_SYNTAX, 400},
    {"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Key: " SAMPLE_KEY "\r\nSec-WebSocket-Version: 13\r\n"
     "Sec-WebSocket-Extensions: permessage-deflate; x=\"open\r\n\r\n",
     WSM_E_HANDSHAKE_SYNTAX, 400},
    /* a body would be read as frames (request smuggling) */
    {"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     "Content-Length: 5\r\nSec-WebSocket-Key: " SAMPLE_KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n",
     WSM_E_HANDSHAKE_BODY, 400},
    {"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     "Transfer-Encoding: chunked\r\nSec-WebSocket-Key: " SAMPLE_KEY
     "\r\nSec-WebSocket-Version: 13\r\n\r\n",
     WSM_E_HANDSHAKE_BODY, 400},
    {"GET / HTTP/1.1\r\nHost: a, b\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Key: " SAMPLE_KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n",
     WSM_E_HANDSHAKE_HOST, 400},
    {"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Key: " SAMPLE_KEY "\r\nSec-WebSocket-Version: 13\r\n"
     "Sec-WebSocket-Protocol:\r\n\r\n",
     WSM_E_HANDSHAKE_SYNTAX, 400},
    {"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Key: " SAMPLE_KEY "\r\nSec-WebSocket-Version: 13\r\n"
     "Sec-WebSocket-Extensions: foo; a=\"x y\"\r\n\r\n",
     WSM_E_HANDSHAKE_SYNTAX, 400},
    {"GET / HTTP/2.0\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Key: " SAMPLE_KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n",
     WSM_E_HANDSHAKE_HTTP_VERSION, 400},
    {"GET * HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Key: " SAMPLE_KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n",
     WSM_E_HANDSHAKE_TARGET, 400},
    /* malformed HTTP: obs-fold, bare LF, bare CR, NUL, space before colon */
    {"GET / HTTP/1.1\r\nHost: a\r\n continued\r\n\r\n", WSM_E_HTTP_MALFORMED, 400},
    {"GET / HTTP/1.1\nHost: a\r\n\r\n", WSM_E_HTTP_MALFORMED, 400},
    {"GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", WSM_E_HTTP_MALFORMED, 400},
    {"GET / HTTP/1.1\r\nHost : a\r\n\r\n", WSM_E_HTTP_MALFORMED, 400},
    {"GET /\x01 HTTP/1.1\r\nHost: a\r\n\r\n", WSM_E_HTTP_MALFORMED, 400},
    {"GET / HTTP/1.1\r\nX: \x7f\r\n\r\n", WSM_E_HTTP_MALFORMED, 400},
};

static void test_handshake_server_bad_requests(void **state) {
  (void)state;
  struct wsm_config cfg = server_cfg();
  for (size_t i = 0; i < sizeof bad_requests / sizeof bad_requests[0]; i++) {
    const struct bad_request *b = &bad_requests[i];
    struct t_log log;
    struct wsm_conn c;
    const uint8_t *out;
    char status_line[32];
    t_feed_all_ways_setup(&cfg, setup_server, NULL, NULL, (const uint8_t *)b->text,
                          strlen(b->text), &log, &c);
    assert_int_equal(log.rc, b->err);
    assert_int_equal(log.n, 1);
    assert_int_equal(log.recs[0].type, WSM_EV_ERROR);
    assert_int_equal(log.recs[0].opcode, b->status); /* the status queued */
    size_t n = wsm_conn_output(&c, &out);
    snprintf(status_line, sizeof status_line, "HTTP/1.1 %d ", b->status);
    assert_true(n > strlen(status_line));
    assert_memory_equal(out, status_line, strlen(status_line));
    if (b->status == 426)
      assert_non_null(strstr((const char *)out, "Sec-WebSocket-Version: 13\r\n"));
    assert_int_equal(wsm_conn_transport(&c), WSM_TRANSPORT_KEEP);
    assert_int_equal(wsm_conn_output_ack(&c, n), 0);
    assert_int_equal(wsm_conn_transport(&c), WSM_TRANSPORT_CLOSE);
    t_log_free(&log);
  }
}

static void test_handshake_server_head_too_large(void **state) {
  (void)state;
  struct wsm_config cfg = server_cfg();
  char *big = malloc(20000);
  size_t n = 0;
  n += (size_t)sprintf(big + n, "GET / HTTP/1.1\r\nHost: a\r\n");
  while (n < 9000) n += (size_t)sprintf(big + n, "X-Filler: %s\r\n", "0123456789abcdef");
  n += (size_t)sprintf(big + n, "\r\n");
  struct t_log log;
  struct wsm_conn c;
  t_feed_all_ways_setup(&cfg, setup_server, NULL, NULL, (const uint8_t *)big, n, &log, &c);
  assert_int_equal(log.rc, WSM_E_HTTP_HEAD_TOO_LARGE);
  assert_int_equal(log.recs[0].opcode, 431);
  t_log_free(&log);
  /* a bigger limit lets it through */
  cfg.max_head = 16384;
  memcpy(big + n - 2, "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Key: " SAMPLE_KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n",
         strlen("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " SAMPLE_KEY
                "\r\nSec-WebSocket-Version: 13\r\n\r\n"));
  n += strlen("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " SAMPLE_KEY
              "\r\nSec-WebSocket-Version: 13\r\n\r\n") - 2;
  t_feed_all_ways_setup(&cfg, setup_server, NULL, NULL, (const uint8_t *)big, n, &log, &c);
  assert_int_equal(log.recs[0].type, WSM_EV_REQUEST);
  t_log_free(&log);
  free(big);
}

static void test_handshake_server_reject(void **state) {
  (void)state;
  struct wsm_conn c;
  struct wsm_event ev;
  uint8_t buf[1024], out[1024];
  size_t used, n;
  memcpy(buf, sample_request, sizeof sample_request - 1);
  assert_int_equal(wsm_conn_init(&c, NULL), 0);
  assert_int_equal(wsm_conn_recv(&c, buf, sizeof sample_request - 1, &used, &ev), 0);
  assert_int_equal(ev.type, WSM_EV_REQUEST);
  /* before an answer, recv waits */
  assert_int_equal(wsm_conn_recv(&c, buf, 0, &used, &ev), WSM_E_WRONG_STATE);
  struct wsm_http_header www = H("WWW-Authenticate", "Bearer");
  assert_int_equal(wsm_conn_reject(&c, 200, NULL, 0, NULL, 0, out, sizeof out, &n),
                   WSM_E_INVALID_ARGUMENT);
  struct wsm_http_header length = H("Content-Length", "0");
  assert_int_equal(wsm_conn_reject(&c, 401, &length, 1, NULL, 0, out, sizeof out, &n),
                   WSM_E_INVALID_ARGUMENT);
  struct wsm_http_header evil = H("X-Evil", "a\r\nInjected: yes");
  assert_int_equal(wsm_conn_reject(&c, 401, &evil, 1, NULL, 0, out, sizeof out, &n),
                   WSM_E_INVALID_ARGUMENT);
  assert_int_equal(wsm_conn_reject(&c, 401, &www, 1, (const uint8_t *)"no", 2, out,
                                   sizeof out, &n), 0);
  static const char want[] = "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer\r\n"
                             "Content-Length: 2\r\nConnection: close\r\n\r\nno";
  assert_int_equal(n, sizeof want - 1);
  assert_memory_equal(out, want, n);
  assert_int_equal(wsm_conn_state(&c), WSM_STATE_CLOSED);
  assert_int_equal(wsm_conn_transport(&c), WSM_TRANSPORT_CLOSE);
}

static void test_handshake_server_timeout(void **state) {
  (void)state;
  struct wsm_conn c;
  struct wsm_config cfg = server_cfg();
  cfg.handshake_timeout_ms = 300;
  assert_int_equal(wsm_conn_init(&c, &cfg), 0);
  assert_int_equal(wsm_conn_expiry(&c), 0);
  assert_int_equal(wsm_conn_tick(&c, 1000), 0);
  assert_int_equal(wsm_conn_expiry(&c), 1300);
  assert_int_equal(wsm_conn_tick(&c, 1299), 0);
  assert_int_equal(wsm_conn_tick(&c, 1300), WSM_E_HANDSHAKE_TIMEOUT);
  assert_int_equal(wsm_conn_transport(&c), WSM_TRANSPORT_CLOSE);
}

/* ---- client ---------------------------------------------------------------- */

static const char *const offered[] = {"chat", "superchat"};

static struct wsm_client_request sample_client_request(void) {
  struct wsm_client_request r;
  memset(&r, 0, sizeof r);
  r.host = "server.example.com";
  r.port = 8080;
  r.path = "/chat";
  r.query = "room=1";
  r.origin = "http://example.com";
  r.protocols = offered;
  r.protocol_count = 2;
  r.extensions = "permessage-deflate; client_max_window_bits";
  return r;
}

struct client_ctx {
  char accept[WSM_ACCEPT_SIZE];
  char request[1024];
};

static void setup_client(struct wsm_conn *c, const struct wsm_config *cfg, void *ctx) {
  struct client_ctx *x = ctx;
  struct wsm_client_request r = sample_client_request();
  size_t n;
  assert_int_equal(wsm_conn_init(c, cfg), 0);
  assert_int_equal(wsm_conn_client_request(c, &r, (uint8_t *)x->request,
                                           sizeof x->request - 1, &n), 0);
  x->request[n] = '\0';
  /* the key the client chose, and the accept a server would send */
  const char *k = strstr(x->request, "Sec-WebSocket-Key: ");
  assert_non_null(k);
  k += strlen("Sec-WebSocket-Key: ");
  assert_int_equal(wsm_accept_key(k, 24, x->accept), 0);
}

static void test_handshake_client_request_bytes(void **state) {
  (void)state;
  struct client_ctx x;
  struct wsm_conn c;
  struct wsm_config cfg;
  uint32_t rs = 3;
  wsm_config_init(&cfg, WSM_ROLE_CLIENT);
  cfg.random = t_random;
  cfg.random_ctx = &rs;
  setup_client(&c, &cfg, &x);
  /* parse it back as a server would, and check it passes RFC 6455 4.2.1 */
  struct wsm_http_head h;
  size_t scanned = 0;
  int n = wsm_http_parse_request(&h, (const uint8_t *)x.request, strlen(x.request), 0, &scanned);
  assert_int_equal(n, (int)strlen(x.request));
  assert_memory_equal(h.target, "/chat?room=1", 12);
  struct wsm_http_header v;
  assert_int_equal(wsm_http_header_find(&h, "Host", &v), 1);
  assert_memory_equal(v.value, "server.example.com:8080", v.value_len);
  assert_int_equal(wsm_http_header_find(&h, "Sec-WebSocket-Protocol", &v), 1);
  assert_memory_equal(v.value, "chat, superchat", v.value_len);
  assert_int_equal(wsm_http_header_find(&h, "Origin", &v), 1);
  struct wsm_conn s;
  struct wsm_event ev;
  size_t used;
  assert_int_equal(wsm_conn_init(&s, NULL), 0);
  assert_int_equal(wsm_conn_recv(&s, (uint8_t *)x.request, strlen(x.request), &used, &ev), 0);
  assert_int_equal(ev.type, WSM_EV_REQUEST);
  /* a second request from the same connection uses a fresh key */
  struct client_ctx y;
  setup_client(&c, &cfg, &y);
  assert_string_not_equal(x.accept, y.accept);
}

static void test_handshake_client_request_arguments(void **state) {
  (void)state;
  struct wsm_conn c;
  uint8_t out[1024];
  size_t n;
  struct wsm_client_request r = sample_client_request();
  const char *bad_protocols[] = {"a b"};
  assert_int_equal(wsm_conn_init(&c, NULL), 0); /* a server */
  assert_int_equal(wsm_conn_client_request(&c, &r, out, sizeof out, &n), WSM_E_WRONG_STATE);
  struct wsm_config cfg;
  wsm_config_init(&cfg, WSM_ROLE_CLIENT);
  assert_int_equal(wsm_conn_init(&c, &cfg), 0);
  r.path = "no-slash";
  assert_int_equal(wsm_conn_client_request(&c, &r, out, sizeof out, &n), WSM_E_INVALID_ARGUMENT);
  r = sample_client_request();
  r.origin = "http://a\r\nX: y";
  assert_int_equal(wsm_conn_client_request(&c, &r, out, sizeof out, &n), WSM_E_INVALID_ARGUMENT);
  r = sample_client_request();
  r.protocols = bad_protocols;
  r.protocol_count = 1;
  assert_int_equal(wsm_conn_client_request(&c, &r, out, sizeof out, &n), WSM_E_INVALID_ARGUMENT);
  r = sample_client_request();
  r.host = "::1";
  r.extensions = "";
  assert_int_equal(wsm_conn_client_request(&c, &r, out, sizeof out, &n), 0);
  assert_non_null(find_bytes(out, n, "Host: [::1]:8080\r\n", 18));
  /* no empty extensions header */
  assert_null(find_bytes(out, n, "Extensions", 10));
  /* "name:port" belongs in the port field; duplicate protocols; a header
   * the writer sends itself */
  r = sample_client_request();
  r.host = "example.com:8080";
  assert_int_equal(wsm_conn_client_request(&c, &r, out, sizeof out, &n), WSM_E_WRONG_STATE);
  assert_int_equal(wsm_conn_init(&c, &cfg), 0);
  assert_int_equal(wsm_conn_client_request(&c, &r, out, sizeof out, &n), WSM_E_INVALID_ARGUMENT);
  r = sample_client_request();
  const char *twice[] = {"chat", "chat"};
  r.protocols = twice;
  assert_int_equal(wsm_conn_client_request(&c, &r, out, sizeof out, &n), WSM_E_INVALID_ARGUMENT);
  r = sample_client_request();
  struct wsm_http_header key = H("Sec-WebSocket-Key", SAMPLE_KEY);
  r.headers = &key;
  r.header_count = 1;
  assert_int_equal(wsm_conn_client_request(&c, &r, out, sizeof out, &n), WSM_E_INVALID_ARGUMENT);
}

/* The key (and accept) a client made from cfg will use in
 * t_feed_all_ways_setup, whose random source starts from 12345. */
static void learn_client_key(const struct wsm_config *cfg, struct client_ctx *x) {
  uint32_t rs = 12345;
  struct wsm_config k = *cfg;
  struct wsm_conn probe;
  k.random = t_random;
  k.random_ctx = &rs;
  setup_client(&probe, &k, x);
}

static size_t build_response(char *out, const struct client_ctx *x, const char *extra) {
  return (size_t)sprintf(out,
                         "HTTP/1.1 101 Switching Protocols\r\n"
                         "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                         "Sec-WebSocket-Accept: %s\r\n%s\r\n",
                         x->accept, extra);
}

static void test_handshake_client_response_and_frames(void **state) {
  (void)state;
  struct client_ctx x;
  struct wsm_config cfg;
  struct t_log log;
  struct wsm_conn c;
  uint8_t in[2048];
  wsm_config_init(&cfg, WSM_ROLE_CLIENT);
  learn_client_key(&cfg, &x);
  size_t n = build_response((char *)in, &x, "Sec-WebSocket-Protocol: superchat\r\n");
  n += t_sframe(in + n, 1, WSM_OP_TEXT, "hello", 5);
  n += t_sframe(in + n, 1, WSM_OP_CLOSE, "\x03\xe8", 2);
  t_feed_all_ways_setup(&cfg, setup_client, &x, NULL, in, n, &log, &c);
  assert_int_equal(log.rc, 0);
  assert_int_equal(log.n, 3);
  assert_int_equal(log.recs[0].type, WSM_EV_RESPONSE);
  assert_int_equal(log.recs[0].opcode, 101);
  assert_int_equal(log.recs[1].type, WSM_EV_MESSAGE);
  assert_memory_equal(log.recs[1].data, "hello", 5);
  assert_int_equal(log.recs[2].type, WSM_EV_CLOSE);
  t_log_free(&log);
}

static void test_handshake_client_bad_responses(void **state) {
  (void)state;
  struct client_ctx x;
  struct wsm_config cfg;
  wsm_config_init(&cfg, WSM_ROLE_CLIENT);
  learn_client_key(&cfg, &x);
  char good_accept[64];
  snprintf(good_accept, sizeof good_accept, "Sec-WebSocket-Accept: %s\r\n", x.accept);
  struct {
    const char *head;
    int err;
    int status;
  } cases[] = {
      {"HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\n\r\n", WSM_E_HANDSHAKE_STATUS, 302},
      {"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic\r\n\r\n", WSM_E_HANDSHAKE_STATUS, 401},
      {"HTTP/1.1 101 OK\r\nConnection: Upgrade\r\nACCEPT\r\n", WSM_E_HANDSHAKE_UPGRADE, 101},
      {"HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nACCEPT\r\n", WSM_E_HANDSHAKE_CONNECTION, 101},
      {"HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
       "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
       WSM_E_HANDSHAKE_ACCEPT, 101},
      {"HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
       WSM_E_HANDSHAKE_ACCEPT, 101},
      {"HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nACCEPT"
       "Sec-WebSocket-Protocol: other\r\n\r\n",
       WSM_E_HANDSHAKE_PROTOCOL, 101},
      {"HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nACCEPT"
       "Sec-WebSocket-Protocol: chat, superchat\r\n\r\n",
       WSM_E_HANDSHAKE_SYNTAX, 101},
      {"HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nACCEPT"
       "Sec-WebSocket-Extensions: x-unknown\r\n\r\n",
       WSM_E_HANDSHAKE_EXTENSION, 101},
      {"HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nACCEPT"
       "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n\r\n",
       0, 101},
      {"HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nACCEPTACCEPT\r\n",
       WSM_E_HANDSHAKE_DUPLICATE, 101},
      {"HTTP/1.1 101\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nACCEPT\r\n", 0, 101},
      {"HTTP/1.1 10 OK\r\n\r\n", WSM_E_HTTP_MALFORMED, 0},
      {"HTTP/1.1 101 OK\r\nUpgrade: websocket, h2c\r\nConnection: Upgrade\r\nACCEPT\r\n",
       WSM_E_HANDSHAKE_UPGRADE, 101},
      {"HTTP/1.0 101 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nACCEPT\r\n",
       WSM_E_HANDSHAKE_HTTP_VERSION, 101},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char head[1024] = "";
    const char *p = cases[i].head, *a;
    /* expand ACCEPT into the right accept header */
    while ((a = strstr(p, "ACCEPT")) != NULL) {
      strncat(head, p, (size_t)(a - p));
      strcat(head, good_accept);
      p = a + 6;
    }
    strcat(head, p);
    struct t_log log;
    struct wsm_conn c;
    t_feed_all_ways_setup(&cfg, setup_client, &x, NULL, (const uint8_t *)head, strlen(head),
                          &log, &c);
    assert_int_equal(log.rc, cases[i].err);
    assert_int_equal(log.n, 1);
    assert_int_equal(log.recs[0].type, cases[i].err ? WSM_EV_ERROR : WSM_EV_RESPONSE);
    assert_int_equal(log.recs[0].opcode, cases[i].status);
    if (cases[i].err) assert_int_equal(wsm_conn_transport(&c), WSM_TRANSPORT_CLOSE);
    else assert_int_equal(wsm_conn_state(&c), WSM_STATE_OPEN);
    t_log_free(&log);
  }
}

/* ---- both ends in memory ---------------------------------------------------- */

static void test_handshake_client_and_server_in_memory(void **state) {
  (void)state;
  struct wsm_conn cl, sv;
  struct wsm_config ccfg;
  struct wsm_event ev;
  struct wsm_client_request r = sample_client_request();
  uint8_t wire[2048];
  size_t n, used;
  wsm_config_init(&ccfg, WSM_ROLE_CLIENT);
  assert_int_equal(wsm_conn_init(&cl, &ccfg), 0);
  assert_int_equal(wsm_conn_init(&sv, NULL), 0);
  assert_int_equal(wsm_conn_client_request(&cl, &r, wire, sizeof wire, &n), 0);
  assert_int_equal(wsm_conn_recv(&sv, wire, n, &used, &ev), 0);
  assert_int_equal(ev.type, WSM_EV_REQUEST);
  struct wsm_server_accept a = {"superchat", "permessage-deflate", NULL, 0, &ev.http};
  assert_int_equal(wsm_conn_accept(&sv, &a, wire, sizeof wire, &n), 0);
  /* the server's first message rides in the same write as the 101 */
  size_t m;
  assert_int_equal(wsm_conn_send(&sv, WSM_OP_TEXT, (const uint8_t *)"hi", 2, WSM_SEND_FIN,
                                 wire + n, sizeof wire - n, &m), 0);
  n += m;
  assert_int_equal(wsm_conn_recv(&cl, wire, n, &used, &ev), 0);
  assert_int_equal(ev.type, WSM_EV_RESPONSE);
  assert_int_equal(ev.http.status, 101);
  assert_int_equal(wsm_conn_state(&cl), WSM_STATE_OPEN);
  size_t pos = used;
  assert_int_equal(wsm_conn_recv(&cl, wire + pos, n - pos, &used, &ev), 0);
  assert_int_equal(ev.type, WSM_EV_DATA);
  assert_memory_equal(ev.data, "hi", 2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_handshake_accept_key_rfc_sample),
      cmocka_unit_test(test_handshake_upgrade_check_http1),
      cmocka_unit_test(test_handshake_upgrade_check_rfc8441),
      cmocka_unit_test(test_handshake_server_sample_request),
      cmocka_unit_test(test_handshake_server_frames_in_same_read),
      cmocka_unit_test(test_handshake_server_bad_requests),
      cmocka_unit_test(test_handshake_server_head_too_large),
      cmocka_unit_test(test_handshake_server_reject),
      cmocka_unit_test(test_handshake_server_timeout),
      cmocka_unit_test(test_handshake_client_request_bytes),
      cmocka_unit_test(test_handshake_client_request_arguments),
      cmocka_unit_test(test_handshake_client_response_and_frames),
      cmocka_unit_test(test_handshake_client_bad_responses),
      cmocka_unit_test(test_handshake_client_and_server_in_memory),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
