/* SPDX-License-Identifier: MIT */
/*
 * Harness: split invariance of the whole receive path. The same bytes fed
 * whole and fed in the pieces a pattern chooses (with the queued output
 * drained at points the pattern chooses) must give the same events, the same
 * final return code, the same unconsumed remainder and the same final state.
 *
 * Input: 4 configuration bytes (fuzz_common.h; the role is bit 0 of the
 * fifth), a pattern length byte (its low 4 bits, k), k pattern bytes, then
 * the stream. Pattern byte i % k gives the i-th piece: bits 0-5 its length
 * (0: present the same bytes again, with nothing new), bits 6-7 how much
 * output to acknowledge before it (none, all, half, one byte). With k = 0 the
 * stream arrives byte by byte. The whole feed drains all output after every
 * call. At every piece boundary the split run also makes a call that must be
 * refused (data NULL with a length) and so change nothing.
 *
 * Events are normalised before comparing: the chunks of a frame are joined
 * (frame ends are kept), a message is recorded when it ends, and the data of
 * a message that ends in an error is dropped (a split run may deliver the
 * valid front of a chunk that a whole run rejects at once).
 */
#include "fuzz_common.h"

struct norm {
  struct fz_buf log;   /* normalised events */
  struct fz_buf msg;   /* finished frames of the message being received */
  struct fz_buf frame; /* bytes of the frame being received */
  int in_msg;
  unsigned opcode;
};

struct outcome {
  struct norm nm;
  int rc;
  size_t leftover;
  struct wsm_close_info info;
  enum wsm_state state;
  enum wsm_transport transport;
};

static void norm_bytes(struct fz_buf *b, const uint8_t *data, size_t len) {
  fz_buf_u64(b, len);
  fz_buf_append(b, data, len);
}

static void norm_event(struct norm *nm, const struct wsm_event *ev) {
  switch (ev->type) {
  case WSM_EV_NONE:
    break;
  case WSM_EV_DATA:
    nm->in_msg = 1;
    nm->opcode = ev->opcode;
    fz_buf_append(&nm->frame, ev->data, ev->len);
    if (ev->flags & WSM_DATA_FRAME_END) {
      fz_buf_byte(&nm->msg, 'F');
      norm_bytes(&nm->msg, nm->frame.p, nm->frame.len);
      nm->frame.len = 0;
    }
    if (ev->flags & WSM_DATA_END) {
      fz_buf_byte(&nm->log, 'M');
      fz_buf_byte(&nm->log, ev->opcode);
      fz_buf_byte(&nm->log, ev->flags & ~(unsigned)WSM_DATA_BEGIN); /* RSV bits */
      norm_bytes(&nm->log, nm->msg.p, nm->msg.len);
      nm->msg.len = 0;
      nm->in_msg = 0;
    }
    break;
  case WSM_EV_MESSAGE:
    fz_buf_byte(&nm->log, 'W');
    fz_buf_byte(&nm->log, ev->opcode);
    fz_buf_byte(&nm->log, ev->flags);
    norm_bytes(&nm->log, ev->data, ev->len);
    break;
  case WSM_EV_PING:
  case WSM_EV_PONG:
    fz_buf_byte(&nm->log, ev->type == WSM_EV_PING ? 'I' : 'O');
    norm_bytes(&nm->log, ev->data, ev->len);
    break;
  case WSM_EV_CLOSE:
    fz_buf_byte(&nm->log, 'C');
    fz_buf_u64(&nm->log, ev->close_code);
    norm_bytes(&nm->log, ev->data, ev->len);
    break;
  case WSM_EV_ERROR:
    nm->msg.len = nm->frame.len = 0;
    nm->in_msg = 0;
    fz_buf_byte(&nm->log, 'E');
    fz_buf_u64(&nm->log, (uint64_t)(-(int64_t)ev->error));
    fz_buf_u64(&nm->log, ev->close_code);
    break;
  default:
    FZ_CHECK(0 && "unexpected event type");
  }
}

/* The stream ended inside a message: record what arrived of it. */
static void norm_finish(struct norm *nm) {
  if (!nm->in_msg) return;
  fz_buf_byte(&nm->log, 'P');
  fz_buf_byte(&nm->log, nm->opcode);
  norm_bytes(&nm->log, nm->msg.p, nm->msg.len);
  norm_bytes(&nm->log, nm->frame.p, nm->frame.len);
}

static void norm_free(struct norm *nm) {
  fz_buf_free(&nm->log);
  fz_buf_free(&nm->msg);
  fz_buf_free(&nm->frame);
}

/* Acknowledge none, all, half or one byte of the queued output. */
static void drain(struct wsm_conn *c, unsigned how) {
  const uint8_t *q;
  size_t qn = wsm_conn_output(c, &q), n;
  switch (how & 3u) {
  case 0: n = 0; break;
  case 1: n = qn; break;
  case 2: n = qn / 2; break;
  default: n = qn ? 1 : 0; break;
  }
  FZ_CHECK(wsm_conn_output_ack(c, n) == 0);
}

static void run(const struct fz_setup *setup, const uint8_t *src, size_t n,
                const uint8_t *pattern, size_t k, int split, struct outcome *o) {
  struct fz_setup s = *setup;
  struct wsm_conn c;
  uint8_t *msg_buf, *buf = fz_dup(src, n);
  size_t start = 0, avail = split ? 0 : n, pi = 0, calls = 0;
  int last_empty = 0;

  s.cfg.random_ctx = &s.random; /* this run's own copy of the source */
  fz_setup_conn(&s, &c, &msg_buf);
  memset(o, 0, sizeof *o);
  for (;;) {
    struct wsm_event ev;
    size_t consumed = 0, piece;
    unsigned p;
    int rc = wsm_conn_recv(&c, buf + start, avail - start, &consumed, &ev);
    FZ_CHECK(consumed <= avail - start);
    /* Each event eats at least a frame header, and each quiet call is
     * followed by new bytes (or one repeat): the loop must end. */
    FZ_CHECK(++calls <= 3 * n + 8);
    start += consumed;
    FZ_CHECK(rc <= 0);
    FZ_CHECK(rc == 0 ? ev.type != WSM_EV_ERROR : ev.type == WSM_EV_ERROR);
    norm_event(&o->nm, &ev);
    if (rc < 0) {
      o->rc = rc;
      break;
    }
    if (!split) drain(&c, 1);
    if (ev.type != WSM_EV_NONE) continue;
    if (avail == n) break; /* (the whole run always ends here) */
    p = k ? pattern[pi++ % k] : 1u;
    piece = p & 0x3Fu;
    if (piece == 0 && last_empty) piece = 1;
    last_empty = piece == 0;
    drain(&c, p >> 6);
    /* A refused call changes nothing: the comparison with the whole run
     * checks that. */
    FZ_CHECK(wsm_conn_recv(&c, NULL, 1, &consumed, &ev) == WSM_E_INVALID_ARGUMENT);
    FZ_CHECK(consumed == 0 && ev.type == WSM_EV_NONE);
    avail += piece < n - avail ? piece : n - avail;
  }
  norm_finish(&o->nm);
  drain(&c, 1);
  o->leftover = o->rc ? 0 : avail - start;
  wsm_conn_close_info(&c, &o->info);
  o->state = wsm_conn_state(&c);
  o->transport = wsm_conn_transport(&c);
  free(msg_buf);
  free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct fz_reader r;
  struct fz_setup setup;
  struct outcome whole, pieces;
  const uint8_t *pattern;
  size_t k;
  enum wsm_role role;

  /* The role bit comes after the configuration bytes that depend on it. */
  if (size < 5) return 0;
  role = (data[4] & 1u) ? WSM_ROLE_CLIENT : WSM_ROLE_SERVER;
  r.p = data;
  r.n = 4;
  fz_setup_read(&setup, role, &r);
  r.p = data + 5;
  r.n = size - 5;
  k = fz_u8(&r) & 15u;
  if (k > r.n) k = r.n;
  pattern = r.p;
  r.p += k;
  r.n -= k;

  run(&setup, r.p, r.n, pattern, k, 0, &whole);
  run(&setup, r.p, r.n, pattern, k, 1, &pieces);

  FZ_CHECK(whole.rc == pieces.rc);
  FZ_CHECK(whole.nm.log.len == pieces.nm.log.len);
  FZ_CHECK(whole.nm.log.len == 0 ||
           memcmp(whole.nm.log.p, pieces.nm.log.p, whole.nm.log.len) == 0);
  FZ_CHECK(whole.leftover == pieces.leftover);
  FZ_CHECK(whole.state == pieces.state);
  FZ_CHECK(whole.transport == pieces.transport);
  FZ_CHECK(whole.info.code_received == pieces.info.code_received);
  FZ_CHECK(whole.info.code_sent == pieces.info.code_sent);
  FZ_CHECK(whole.info.error == pieces.info.error);
  FZ_CHECK(whole.info.peer_closed_first == pieces.info.peer_closed_first);

  norm_free(&whole.nm);
  norm_free(&pieces.nm);
  return 0;
}
