/* SPDX-License-Identifier: MIT */
/*
 * End-to-end conversations between a client and a server instance in
 * memory: handshake, messages both ways (whole, fragmented, streamed), pings,
 * and the close handshake, with the wire cut into random pieces.
 */
#include "support.h"

#include <stdlib.h>
#include <string.h>

/* One direction of the wire: bytes written by one end, not yet read by the
 * other. */
struct pipe {
  uint8_t *buf;
  size_t len, cap;
};

static void pipe_put(struct pipe *p, const uint8_t *data, size_t n) {
  if (p->len + n > p->cap) {
    p->cap = (p->len + n) * 2 + 256;
    p->buf = realloc(p->buf, p->cap);
    assert_non_null(p->buf);
  }
  memcpy(p->buf + p->len, data, n);
  p->len += n;
}

struct end {
  struct wsm_conn c;
  struct pipe *in, *out;
  size_t held;     /* unconsumed bytes at the front of in */
  uint32_t rs;     /* random state */
  struct t_log log;
  uint32_t split;  /* random state for read sizes */
};

/* Move queued replies (pongs, close) onto the wire. */
static void flush_queue(struct end *e) {
  const uint8_t *q;
  size_t n = wsm_conn_output(&e->c, &q);
  if (n) {
    pipe_put(e->out, q, n);
    assert_int_equal(wsm_conn_output_ack(&e->c, n), 0);
  }
}

/* Let e read some of what is waiting for it, in a random-sized read. */
static int pump(struct end *e) {
  size_t avail = e->in->len, give;
  int progressed = 0;
  if (avail == 0) return 0;
  t_random(&e->split, (uint8_t *)&give, sizeof give);
  give = 1 + give % (avail < 3000 ? avail : 3000);
  /* present held bytes plus the new ones, as the API asks */
  for (;;) {
    struct wsm_event ev;
    size_t used;
    memset(&ev, 0, sizeof ev);
    int rc = wsm_conn_recv(&e->c, e->in->buf, give, &used, &ev);
    if (rc < 0) {
      /* a failed connection reads nothing more: its host drops the rest */
      assert_int_equal(used, 0);
      e->in->len = 0;
      return progressed;
    }
    if (ev.type != WSM_EV_NONE) t_record(&e->log, &ev);
    memmove(e->in->buf, e->in->buf + used, e->in->len - used);
    e->in->len -= used;
    give -= used;
    if (used) progressed = 1;
    flush_queue(e);
    if (ev.type == WSM_EV_NONE) break;
  }
  return progressed;
}

static void run_until_quiet(struct end *a, struct end *b) {
  for (int rounds = 0; rounds < 1000000; rounds++) {
    int moved = pump(a) | pump(b);
    if (!moved && a->in->len == 0 && b->in->len == 0) return;
  }
  fail_msg("conversation did not settle");
}

static void send_message(struct end *e, enum wsm_opcode op, const uint8_t *data, size_t len,
                         size_t frag) {
  uint8_t *frame = malloc(len + 14 + 1);
  size_t off = 0;
  do {
    size_t n = len - off < frag ? len - off : frag, w;
    unsigned fin = off + n == len ? WSM_SEND_FIN : 0;
    assert_int_equal(wsm_conn_send(&e->c, op, data ? data + off : NULL, n, fin, frame, n + 14, &w), 0);
    pipe_put(e->out, frame, w);
    off += n;
  } while (off < len);
  free(frame);
}

static void handshake(struct end *cl, struct end *sv) {
  struct wsm_config ccfg, scfg;
  struct wsm_client_request r;
  uint8_t buf[1024];
  size_t n;
  wsm_config_init(&ccfg, WSM_ROLE_CLIENT);
  ccfg.random = t_random;
  ccfg.random_ctx = &cl->rs;
  wsm_config_init(&scfg, WSM_ROLE_SERVER);
  assert_int_equal(wsm_conn_init(&cl->c, &ccfg), 0);
  assert_int_equal(wsm_conn_init(&sv->c, &scfg), 0);
  memset(&r, 0, sizeof r);
  r.host = "localhost";
  r.path = "/";
  assert_int_equal(wsm_conn_client_request(&cl->c, &r, buf, sizeof buf, &n), 0);
  pipe_put(cl->out, buf, n);
  /* the server reads the request whole here; splits are test_handshake's */
  {
    struct wsm_event ev;
    size_t used;
    assert_int_equal(wsm_conn_recv(&sv->c, sv->in->buf, sv->in->len, &used, &ev), 0);
    assert_int_equal(ev.type, WSM_EV_REQUEST);
    sv->in->len = 0;
    assert_int_equal(wsm_conn_accept(&sv->c, NULL, buf, sizeof buf, &n), 0);
    pipe_put(sv->out, buf, n);
  }
  pump(cl);
  while (cl->in->len) pump(cl);
  assert_int_equal(wsm_conn_state(&cl->c), WSM_STATE_OPEN);
  assert_int_equal(wsm_conn_state(&sv->c), WSM_STATE_OPEN);
}

/* Two ends joined by two pipes, through the opening handshake; seed picks
 * the client's keys and both ends' read sizes. */
static void connect_ends(struct end *cl, struct end *sv, struct pipe *c2s, struct pipe *s2c,
                         uint32_t seed) {
  memset(cl, 0, sizeof *cl);
  memset(sv, 0, sizeof *sv);
  cl->in = s2c;
  cl->out = c2s;
  sv->in = c2s;
  sv->out = s2c;
  cl->rs = seed;
  cl->split = seed + 1;
  sv->split = seed + 2;
  handshake(cl, sv);
  t_log_free(&cl->log); /* the 101 response is not part of the conversation */
  t_log_init(&cl->log);
}

static void test_conversation_full(void **state) {
  (void)state;
  struct pipe c2s = {0}, s2c = {0};
  struct end cl, sv;
  connect_ends(&cl, &sv, &c2s, &s2c, 1);

  size_t big = 3u << 20;
  uint8_t *payload = malloc(big);
  for (size_t i = 0; i < big; i++) payload[i] = (uint8_t)(i % 251);
  static const char text[] = "grüße, κόσμε, 世界, 🎉";

  send_message(&cl, WSM_OP_TEXT, (const uint8_t *)text, sizeof text - 1, 5);
  send_message(&cl, WSM_OP_BINARY, payload, big, 100000);
  send_message(&sv, WSM_OP_BINARY, payload, 70000, 70000);
  send_message(&sv, WSM_OP_TEXT, NULL, 0, 1);
  {
    uint8_t ping[16];
    size_t w;
    assert_int_equal(wsm_conn_send_control(&cl.c, WSM_OP_PING, (const uint8_t *)"are you", 7,
                                           ping, sizeof ping, &w), 0);
    pipe_put(cl.out, ping, w);
  }
  run_until_quiet(&cl, &sv);

  assert_int_equal(sv.log.n, 3);
  assert_int_equal(sv.log.recs[0].type, WSM_EV_MESSAGE);
  assert_int_equal(sv.log.recs[0].opcode, WSM_OP_TEXT);
  assert_int_equal(sv.log.recs[0].len, sizeof text - 1);
  assert_memory_equal(sv.log.recs[0].data, text, sizeof text - 1);
  assert_int_equal(sv.log.recs[1].len, big);
  assert_memory_equal(sv.log.recs[1].data, payload, big);
  assert_int_equal(sv.log.recs[2].type, WSM_EV_PING);
  assert_int_equal(cl.log.n, 3);
  assert_int_equal(cl.log.recs[0].len, 70000);
  assert_memory_equal(cl.log.recs[0].data, payload, 70000);
  assert_int_equal(cl.log.recs[1].len, 0);
  assert_int_equal(cl.log.recs[2].type, WSM_EV_PONG);
  assert_memory_equal(cl.log.recs[2].data, "are you", 7);

  /* the client closes; the server echoes; the server closes TCP first */
  assert_int_equal(wsm_conn_close(&cl.c, 1000, "bye", 3), 0);
  flush_queue(&cl);
  run_until_quiet(&cl, &sv);
  assert_int_equal(wsm_conn_state(&sv.c), WSM_STATE_CLOSED);
  assert_int_equal(wsm_conn_transport(&sv.c), WSM_TRANSPORT_CLOSE);
  assert_int_equal(wsm_conn_state(&cl.c), WSM_STATE_CLOSED);
  assert_int_equal(wsm_conn_transport(&cl.c), WSM_TRANSPORT_AWAIT_PEER);
  assert_int_equal(wsm_conn_recv_eof(&cl.c), 0);
  assert_int_equal(wsm_conn_transport(&cl.c), WSM_TRANSPORT_CLOSE);
  struct wsm_close_info ci, si;
  wsm_conn_close_info(&cl.c, &ci);
  wsm_conn_close_info(&sv.c, &si);
  assert_int_equal(ci.code_sent, 1000);
  assert_int_equal(ci.code_received, 1000);
  assert_int_equal(ci.peer_closed_first, 0);
  assert_int_equal(si.code_received, 1000);
  assert_int_equal(si.peer_closed_first, 1);
  assert_int_equal(sv.log.recs[sv.log.n - 1].type, WSM_EV_CLOSE);
  assert_memory_equal(sv.log.recs[sv.log.n - 1].data, "bye", 3);

  free(payload);
  free(c2s.buf);
  free(s2c.buf);
  t_log_free(&cl.log);
  t_log_free(&sv.log);
}

static void test_conversation_protocol_error_reaches_peer(void **state) {
  (void)state;
  /* A server that fails the connection tells the client why: the client
   * sees close code 1007 and the reason text, never a bare 1006. */
  struct pipe c2s = {0}, s2c = {0};
  struct end cl, sv;
  connect_ends(&cl, &sv, &c2s, &s2c, 9);
  /* invalid UTF-8 sent as binary by the client, relabelled text on the wire */
  uint8_t frame[32];
  size_t w;
  assert_int_equal(wsm_conn_send(&cl.c, WSM_OP_BINARY, (const uint8_t *)"\xc0\xaf", 2,
                                 WSM_SEND_FIN, frame, sizeof frame, &w), 0);
  frame[0] = 0x81;
  pipe_put(cl.out, frame, w);
  {
    struct wsm_event ev;
    size_t used;
    assert_int_equal(wsm_conn_recv(&sv.c, c2s.buf, c2s.len, &used, &ev), WSM_E_INVALID_UTF8);
    assert_int_equal(ev.type, WSM_EV_ERROR);
    assert_int_equal(ev.close_code, 1007);
    c2s.len = 0;
    flush_queue(&sv);
  }
  run_until_quiet(&cl, &sv);
  assert_int_equal(cl.log.n, 1);
  assert_int_equal(cl.log.recs[0].type, WSM_EV_CLOSE);
  assert_int_equal(cl.log.recs[0].close_code, 1007);
  assert_memory_equal(cl.log.recs[0].data, wsm_strerror(WSM_E_INVALID_UTF8),
                      strlen(wsm_strerror(WSM_E_INVALID_UTF8)));
  assert_int_equal(wsm_conn_transport(&sv.c), WSM_TRANSPORT_CLOSE);
  free(c2s.buf);
  free(s2c.buf);
  t_log_free(&cl.log);
  t_log_free(&sv.log);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_conversation_full),
      cmocka_unit_test(test_conversation_protocol_error_reaches_peer),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
