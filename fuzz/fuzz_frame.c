/* SPDX-License-Identifier: MIT */
/*
 * Harness: the receive path of one connection started in OPEN, in the role
 * FUZZ_FRAME_ROLE (built twice: frame_server and frame_client).
 *
 * Input: 4 configuration bytes (fuzz_common.h), 1 host byte, then the byte
 * stream from the peer. The host byte chooses how the stream arrives (all at
 * once, byte by byte, or in random pieces) and how the queued output is
 * drained (after every call, never, or randomly and partly); configuration
 * byte 3 may add timers (time passes between reads, and after the stream
 * while the peer is silent) and host calls between reads. The host keeps
 * to the API's contract: unconsumed bytes are presented again first, and the
 * buffer is a writable heap copy of exactly the bytes that have arrived.
 *
 * Checked after every call, with abort() on violation: consumed <= len;
 * bytes beyond the consumed ones are left untouched; event pointers lie in
 * the consumed bytes or the message buffer; events obey their flags, the
 * limits and UTF-8; bytes left with no event never exceed WSM_RECV_HOLD_MAX
 * and are an incomplete frame; an error is an ERROR event with its close
 * frame queued, and afterwards every call returns it and consumes nothing;
 * the queue never exceeds 270 bytes and holds whole, well-formed control
 * frames: one close at most, only pongs after it (RFC 6455 5.5.2), a close
 * reason that is a prefix of the intended one cut between characters, and
 * for every ping a pong not yet begun that carries the latest ping's payload.
 */
#include "fuzz_common.h"

#ifndef FUZZ_FRAME_ROLE
#error "define FUZZ_FRAME_ROLE as WSM_ROLE_SERVER or WSM_ROLE_CLIENT"
#endif

/* wsm_conn_output() documents this bound. */
#define QUEUE_MAX 270u
/* How far past the consumed bytes the host checks that nothing changed. */
#define UNTOUCHED_WINDOW (2u * WSM_RECV_HOLD_MAX)

/* ---- the output the connection queues for the peer ---------------------- */

struct out_frame {
  uint8_t opcode;
  uint8_t payload[WSM_CONTROL_PAYLOAD_MAX];
  size_t len;
  size_t at; /* offset in the stream of written-then-queued bytes */
};

struct out_check {
  int client;      /* frames must be masked */
  int manual_pong; /* no pong may ever be queued */
  int allow_ping;  /* keepalive pings may be queued */
  uint8_t part[WSM_CONTROL_FRAME_MAX]; /* written bytes of an unfinished frame */
  size_t part_len;
  int close_seen;    /* a close frame was queued at some point */
  int close_written; /* ... and written completely */
  uint8_t ping[WSM_CONTROL_PAYLOAD_MAX]; /* the latest ping */
  size_t ping_len;
  int have_ping;
  unsigned pings;        /* pings received so far */
  struct out_frame last; /* the last frame of the latest look at the queue */
  int have_last;
  int pong_waiting;      /* ... which held a pong not yet begun */
  /* what that look saw, to skip looking again at the same thing */
  uint8_t seen[QUEUE_MAX];
  size_t seen_len, seen_part;
  unsigned seen_pings;
  int seen_valid;
};

/*
 * Parse one queued frame from p (avail bytes). Returns its size, or 0 if it
 * is not complete. Every frame wsm queues is a final, unextended control
 * frame in the 7-bit length form, masked exactly when we are a client, and a
 * close frame's body is empty or a valid code and a UTF-8 reason.
 */
static size_t parse_out_frame(const struct out_check *oc, const uint8_t *p,
                              size_t avail, struct out_frame *f) {
  size_t hlen, len, i;
  unsigned op;
  if (avail < 2) return 0;
  op = p[0] & 0x0Fu;
  FZ_CHECK((p[0] & 0xF0u) == 0x80u); /* FIN, no RSV bits */
  FZ_CHECK(op == WSM_OP_CLOSE || op == WSM_OP_PING || op == WSM_OP_PONG);
  FZ_CHECK((p[1] >> 7) == (unsigned)oc->client);
  len = p[1] & 0x7Fu;
  FZ_CHECK(len <= WSM_CONTROL_PAYLOAD_MAX);
  hlen = oc->client ? 6u : 2u;
  if (avail < hlen + len) return 0;
  f->opcode = (uint8_t)op;
  f->len = len;
  for (i = 0; i < len; i++)
    f->payload[i] = (uint8_t)(p[hlen + i] ^ (oc->client ? p[2 + (i & 3u)] : 0u));
  if (op == WSM_OP_CLOSE) {
    FZ_CHECK(len != 1);
    if (len >= 2) {
      uint16_t code = (uint16_t)(f->payload[0] << 8 | f->payload[1]);
      FZ_CHECK(wsm_close_code_is_valid(code));
      FZ_CHECK(fz_ref_utf8_valid(f->payload + 2, len - 2));
    }
  }
  if (op == WSM_OP_PING) FZ_CHECK(oc->allow_ping && len == 0); /* keepalive */
  if (op == WSM_OP_PONG) FZ_CHECK(!oc->manual_pong);
  return hlen + len;
}

/* What may follow what: one close frame, and after it only pongs. */
static void check_order(int *close_before, const struct out_frame *f) {
  if (*close_before) FZ_CHECK(f->opcode == WSM_OP_PONG);
  if (f->opcode == WSM_OP_CLOSE) *close_before = 1;
}

/* Look at the queue (without draining it): whole frames after the partly
 * written one, within the bound, in a valid order, at most one pong not yet
 * begun and that one answering the latest ping. */
static void check_queue(struct out_check *oc, struct wsm_conn *c) {
  uint8_t all[WSM_CONTROL_FRAME_MAX + QUEUE_MAX];
  const uint8_t *q;
  size_t qn = wsm_conn_output(c, &q), total, pos = 0;
  int close_before = oc->close_written, waiting_pongs = 0;
  struct out_frame f;

  FZ_CHECK(qn <= QUEUE_MAX);
  FZ_CHECK(qn == 0 || q != NULL);
  if (oc->seen_valid && qn == oc->seen_len && oc->part_len == oc->seen_part &&
      oc->pings == oc->seen_pings && (qn == 0 || memcmp(q, oc->seen, qn) == 0))
    return; /* nothing changed since the last look */
  memcpy(all, oc->part, oc->part_len);
  if (qn) memcpy(all + oc->part_len, q, qn);
  total = oc->part_len + qn;
  oc->have_last = 0;
  while (pos < total) {
    size_t n = parse_out_frame(oc, all + pos, total - pos, &f);
    FZ_CHECK(n != 0); /* the queue holds whole frames only */
    check_order(&close_before, &f);
    if (f.opcode == WSM_OP_CLOSE) oc->close_seen = 1;
    if (f.opcode == WSM_OP_PONG && pos >= oc->part_len) {
      waiting_pongs++;
      FZ_CHECK(oc->have_ping && f.len == oc->ping_len &&
               memcmp(f.payload, oc->ping, f.len) == 0);
    }
    f.at = pos;
    oc->last = f;
    oc->have_last = 1;
    pos += n;
  }
  FZ_CHECK(waiting_pongs <= 1);
  oc->pong_waiting = waiting_pongs;
  if (qn) memcpy(oc->seen, q, qn);
  oc->seen_len = qn;
  oc->seen_part = oc->part_len;
  oc->seen_pings = oc->pings;
  oc->seen_valid = 1;
}

/* Write (acknowledge) n queued bytes, following frame boundaries. */
static void write_queue(struct out_check *oc, struct wsm_conn *c, size_t n) {
  const uint8_t *q;
  size_t qn = wsm_conn_output(c, &q), i;
  struct out_frame f;
  FZ_CHECK(n <= qn);
  for (i = 0; i < n; i++) {
    size_t fn;
    FZ_CHECK(oc->part_len < sizeof oc->part);
    oc->part[oc->part_len++] = q[i];
    fn = parse_out_frame(oc, oc->part, oc->part_len, &f);
    if (fn) {
      FZ_CHECK(fn == oc->part_len);
      check_order(&oc->close_written, &f);
      oc->part_len = 0;
    }
  }
  FZ_CHECK(wsm_conn_output_ack(c, n) == 0);
  check_queue(oc, c);
}

/* The last queued frame is a close with code (0: an empty body) and a
 * reason that is a prefix of reason (parse_out_frame() saw that it is
 * UTF-8, so any cut fell between characters). */
static void check_last_is_close(const struct out_check *oc, uint16_t code,
                                const char *reason, size_t reason_len) {
  const struct out_frame *f = &oc->last;
  FZ_CHECK(oc->have_last && f->opcode == WSM_OP_CLOSE);
  if (code == 0) {
    FZ_CHECK(f->len == 0);
  } else {
    FZ_CHECK(f->len >= 2 && f->len - 2 <= reason_len);
    FZ_CHECK((uint16_t)(f->payload[0] << 8 | f->payload[1]) == code);
    FZ_CHECK(f->len == 2 || memcmp(f->payload + 2, reason, f->len - 2) == 0);
  }
}

/* ---- the host ------------------------------------------------------------ */

struct host {
  struct fz_setup setup;
  struct wsm_conn conn;
  struct fz_rng rng;
  unsigned feed_mode;  /* 0 all, 1 byte by byte, 2 pieces <= 16, 3 pieces <= 512 */
  unsigned drain_mode; /* 0 after every call, 1 never, 2 random, 3 random bytes */
  uint8_t *stream;     /* the arrived bytes, unmasked in place by wsm */
  uint8_t *pristine;   /* the same bytes as they arrived */
  size_t n;            /* bytes the peer sends in all */
  size_t start;        /* first unconsumed byte */
  size_t avail;        /* bytes arrived so far */
  uint8_t *msg_buf;
  uint64_t now;
  struct out_check out;
  /* the message being received */
  int in_msg;
  unsigned msg_opcode;
  uint64_t msg_len;
  uint64_t frame_len;
  uint64_t frame_ends;
  unsigned msg_rsv;
  struct fz_buf text;
};

#define DATA_RSV (WSM_DATA_RSV1 | WSM_DATA_RSV2 | WSM_DATA_RSV3)

/* RSV flags on a data event: only bits an extension claimed (the flags are
 * the RSV bits shifted left by 4). */
static void check_rsv_flags(const struct host *h, unsigned flags) {
  FZ_CHECK(((flags & DATA_RSV) >> 4 & ~(unsigned)h->setup.cfg.rsv_allowed) == 0);
}

static void drain(struct host *h) {
  const uint8_t *q;
  size_t qn = wsm_conn_output(&h->conn, &q);
  size_t n = 0;
  switch (h->drain_mode) {
  case 0: n = qn; break;
  case 1: n = 0; break;
  case 2:
    switch (fz_rng_below(&h->rng, 4)) {
    case 0: n = 0; break;
    case 1: n = qn; break;
    default: n = fz_rng_below(&h->rng, (uint32_t)qn + 1u); break;
    }
    break;
  default: n = qn ? fz_rng_below(&h->rng, 3) : 0; break;
  }
  if (n > qn) n = qn;
  /* Acknowledging more than is queued is refused and changes nothing. */
  if (fz_rng_below(&h->rng, 16) == 0)
    FZ_CHECK(wsm_conn_output_ack(&h->conn, qn + 1) == WSM_E_INVALID_ARGUMENT);
  write_queue(&h->out, &h->conn, n);
}

static void check_data_pointer(const struct host *h, const struct wsm_event *ev,
                               size_t consumed) {
  if (ev->len == 0) {
    FZ_CHECK(ev->data == NULL);
    return;
  }
  FZ_CHECK(ev->data != NULL);
  FZ_CHECK(fz_inside(ev->data, ev->len, h->stream + h->start, consumed) ||
           (h->msg_buf && fz_inside(ev->data, ev->len, h->msg_buf, h->setup.msg_cap)));
}

static void check_data(struct host *h, const struct wsm_event *ev) {
  const struct wsm_config *cfg = &h->setup.cfg;
  FZ_CHECK(!h->setup.whole_message);
  FZ_CHECK(ev->opcode == WSM_OP_TEXT || ev->opcode == WSM_OP_BINARY);
  FZ_CHECK((ev->flags & ~(WSM_DATA_BEGIN | WSM_DATA_END | WSM_DATA_FRAME_END | DATA_RSV)) == 0);
  check_rsv_flags(h, ev->flags);
  FZ_CHECK(((ev->flags & WSM_DATA_BEGIN) != 0) == !h->in_msg);
  FZ_CHECK(!(ev->flags & WSM_DATA_END) || (ev->flags & WSM_DATA_FRAME_END));
  FZ_CHECK(ev->len > 0 || (ev->flags & WSM_DATA_END)); /* no empty chunks */
  if (!h->in_msg) {
    h->in_msg = 1;
    h->msg_opcode = ev->opcode;
    h->msg_len = h->frame_len = h->frame_ends = 0;
    h->msg_rsv = ev->flags & DATA_RSV;
    h->text.len = 0;
  }
  FZ_CHECK(ev->opcode == h->msg_opcode);
  FZ_CHECK((ev->flags & DATA_RSV) == h->msg_rsv); /* on every chunk */
  h->frame_len += ev->len;
  h->msg_len += ev->len;
  FZ_CHECK(h->frame_len <= cfg->max_frame_payload);
  FZ_CHECK(h->msg_len <= cfg->max_message);
  if (ev->flags & WSM_DATA_FRAME_END) {
    h->frame_len = 0;
    h->frame_ends++;
    /* Empty non-final frames make no event: this count is a lower bound. */
    FZ_CHECK(h->frame_ends <= cfg->max_fragments);
  }
  /* Text with RSV bits is the extension's to decode: UTF-8 only after. */
  if (ev->opcode == WSM_OP_TEXT && !h->msg_rsv) {
    int complete;
    fz_buf_append(&h->text, ev->data, ev->len);
    FZ_CHECK(fz_ref_utf8(h->text.p, h->text.len, &complete) == h->text.len);
    if (ev->flags & WSM_DATA_END) FZ_CHECK(complete);
  }
  if (ev->flags & WSM_DATA_END) h->in_msg = 0;
}

static void check_message(struct host *h, const struct wsm_event *ev) {
  FZ_CHECK(h->setup.whole_message);
  FZ_CHECK(ev->opcode == WSM_OP_TEXT || ev->opcode == WSM_OP_BINARY);
  FZ_CHECK((ev->flags & ~(WSM_DATA_END | WSM_DATA_FRAME_END | DATA_RSV)) == 0);
  check_rsv_flags(h, ev->flags);
  FZ_CHECK(ev->len <= h->setup.msg_cap);
  FZ_CHECK(ev->len <= h->setup.cfg.max_message);
  if (ev->opcode == WSM_OP_TEXT && !(ev->flags & DATA_RSV))
    FZ_CHECK(fz_ref_utf8_valid(ev->data, ev->len));
}

/* After a failure: the same error from every call, nothing consumed. */
static void check_sticky(struct host *h, int err) {
  struct wsm_event ev;
  struct wsm_close_info info;
  size_t consumed = 1, written = 0;
  uint8_t out[32];
  uint8_t byte = 0x81;

  FZ_CHECK(wsm_conn_recv(&h->conn, h->stream + h->start, h->avail - h->start,
                         &consumed, &ev) == err);
  FZ_CHECK(consumed == 0 && ev.type == WSM_EV_NONE);
  FZ_CHECK(wsm_conn_recv(&h->conn, &byte, 1, &consumed, &ev) == err);
  FZ_CHECK(consumed == 0 && byte == 0x81);
  FZ_CHECK(wsm_conn_recv(&h->conn, NULL, 0, &consumed, &ev) == err);
  FZ_CHECK(consumed == 0);
  FZ_CHECK(wsm_conn_send(&h->conn, WSM_OP_BINARY, &byte, 1, WSM_SEND_FIN, out,
                         sizeof out, &written) == err);
  FZ_CHECK(wsm_conn_send_control(&h->conn, WSM_OP_PING, NULL, 0, out, sizeof out,
                                 &written) == err);
  FZ_CHECK(wsm_conn_close(&h->conn, WSM_CLOSE_NORMAL, NULL, 0) == err);
  FZ_CHECK(wsm_conn_tick(&h->conn, h->now) == err);
  FZ_CHECK(wsm_conn_set_message_buffer(&h->conn, NULL, 0) == err);
  wsm_conn_close_info(&h->conn, &info);
  FZ_CHECK(info.error == err);
  check_queue(&h->out, &h->conn);
}

static void check_error(struct host *h, int rc, const struct wsm_event *ev,
                        int close_seen_before) {
  uint16_t code = wsm_err_close_code(rc);
  FZ_CHECK(ev->type == WSM_EV_ERROR && ev->error == rc);
  /* Only protocol errors fail a connection here, or a client that could
   * not mask its automatic reply. */
  FZ_CHECK(code != 0 || rc == WSM_E_RANDOM_FAILED || rc == WSM_E_NO_RANDOM);
  if (ev->close_code) {
    const char *why = wsm_strerror(rc);
    FZ_CHECK(ev->close_code == code && !close_seen_before);
    check_last_is_close(&h->out, code, why, strlen(why));
  } else {
    /* Nothing queued: a close was already out, or masking it failed. */
    FZ_CHECK(code == 0 || close_seen_before || h->setup.random.failed);
  }
  check_sticky(h, rc);
}

/* Nothing is read after a close: input is swallowed, no event. */
static void check_after_close(struct host *h) {
  struct wsm_event ev;
  size_t len = h->avail - h->start, consumed;
  FZ_CHECK(wsm_conn_recv(&h->conn, h->stream + h->start, len, &consumed, &ev) == 0);
  FZ_CHECK(consumed == len && ev.type == WSM_EV_NONE);
  h->start += consumed;
}

/* Bytes left with no event: an incomplete frame header, or an incomplete
 * control frame, never more than WSM_RECV_HOLD_MAX. */
static void check_hold(struct host *h) {
  size_t hold = h->avail - h->start;
  struct wsm_frame_header fh;
  unsigned flags = (h->setup.cfg.flags & WSM_CFG_ALLOW_NON_MINIMAL_LENGTH)
                       ? WSM_FRAME_ALLOW_NON_MINIMAL_LENGTH
                       : 0u;
  int r;
  FZ_CHECK(hold <= WSM_RECV_HOLD_MAX);
  if (hold == 0) return;
  r = wsm_frame_decode(&fh, h->stream + h->start, hold, flags);
  FZ_CHECK(r >= 0);
  if (r > 0) {
    FZ_CHECK(fh.opcode >= WSM_OP_CLOSE);
    FZ_CHECK((uint64_t)(hold - (size_t)r) < fh.payload_len);
  }
}

/* Time passes; run the timers when they are due. Returns a timer's error. */
static int host_tick(struct host *h) {
  int rc, close_seen_before = h->out.close_seen;
  uint64_t due;
  h->now += fz_rng_below(&h->rng, 8);
  due = wsm_conn_expiry(&h->conn);
  if (due > h->now) return 0;
  rc = wsm_conn_tick(&h->conn, h->now);
  check_queue(&h->out, &h->conn);
  if (rc) {
    /* (The transport is checked once the queue is written, at the end.) */
    FZ_CHECK(rc == WSM_E_PING_TIMEOUT || rc == WSM_E_CLOSE_TIMEOUT ||
             rc == WSM_E_RANDOM_FAILED);
    if (rc == WSM_E_PING_TIMEOUT && !close_seen_before && !h->setup.random.failed) {
      const char *why = wsm_strerror(rc);
      check_last_is_close(&h->out, wsm_err_close_code(rc), why, strlen(why));
    }
    return rc;
  }
  /* A host that calls when told must not be told "now" again. */
  FZ_CHECK(wsm_conn_expiry(&h->conn) > h->now);
  return 0;
}

/* A reason of 123 bytes (the most a close can carry) in 1- to 4-byte
 * characters, so that cuts, ours and the queue's, land inside characters. */
static const char long_reason[] =
    "bye "
    "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"
    "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"
    "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"
    "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"
    "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"
    "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"
    "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80!!";

static void host_close(struct host *h) {
  static const uint16_t codes[] = {0, 1000, 1001, 1011, 3000, 4999, 1005, 999};
  uint16_t code = codes[fz_rng_below(&h->rng, 8)];
  size_t max = sizeof long_reason - 1, rlen = 0;
  int sent_before = h->out.close_seen, bad_reason, rc;
  if (code) rlen = fz_rng_below(&h->rng, 2) ? max - fz_rng_below(&h->rng, 16)
                                             : fz_rng_below(&h->rng, (uint32_t)max + 1);
  rc = wsm_conn_close(&h->conn, code, long_reason, rlen);
  bad_reason = !fz_ref_utf8_valid((const uint8_t *)long_reason, rlen);
  check_queue(&h->out, &h->conn);
  if (rc == 0) {
    FZ_CHECK(!sent_before && wsm_close_code_is_valid(code) == (code != 0) && !bad_reason);
    check_last_is_close(&h->out, code, long_reason, rlen);
    FZ_CHECK(wsm_conn_state(&h->conn) == WSM_STATE_CLOSING);
  } else if (rc == WSM_E_CLOSE_SENT) {
    FZ_CHECK(sent_before);
  } else if (rc == WSM_E_INVALID_CLOSE_CODE) {
    FZ_CHECK(!wsm_close_code_is_valid(code) && code != 0);
  } else if (rc == WSM_E_INVALID_UTF8_SEND) {
    FZ_CHECK(bad_reason);
  } else {
    FZ_CHECK(rc == WSM_E_RANDOM_FAILED && h->setup.random.failed);
  }
}

/* The host sends frames of its own (they go straight to its socket, not
 * through the queue): before our close anything, after it only pongs
 * (RFC 6455 5.5.2); the peer's close ends the run before we get here. */
static void host_send(struct host *h) {
  uint8_t out[WSM_FRAME_HEADER_MAX + 8], byte = 0x41;
  size_t written = 0;
  int closed = h->out.close_seen, rc;
  rc = wsm_conn_send_control(&h->conn, WSM_OP_PONG, &byte, 1, out, sizeof out, &written);
  FZ_CHECK(rc == 0 || (rc == WSM_E_RANDOM_FAILED && h->setup.random.failed));
  rc = wsm_conn_send_control(&h->conn, WSM_OP_PING, &byte, 1, out, sizeof out, &written);
  FZ_CHECK(closed ? rc == WSM_E_CLOSE_SENT
                  : rc == 0 || (rc == WSM_E_RANDOM_FAILED && h->setup.random.failed));
  rc = wsm_conn_send(&h->conn, WSM_OP_TEXT, &byte, 1, WSM_SEND_FIN, out, sizeof out,
                     &written);
  FZ_CHECK(closed ? rc == WSM_E_CLOSE_SENT
                  : rc == 0 || (rc == WSM_E_RANDOM_FAILED && h->setup.random.failed));
  check_queue(&h->out, &h->conn);
}

/* Between messages the host may change what extensions claim and whether
 * messages are gathered; inside one wsm refuses, and nothing changes. */
static void host_modes(struct host *h) {
  unsigned rsv = fz_rng_below(&h->rng, 9);
  int rc = wsm_conn_set_rsv_allowed(&h->conn, rsv);
  if (rsv > 7) {
    FZ_CHECK(rc == WSM_E_INVALID_ARGUMENT);
  } else if (rc == 0) {
    FZ_CHECK(!h->in_msg);
    h->setup.cfg.rsv_allowed = (uint8_t)rsv;
  } else {
    FZ_CHECK(rc == WSM_E_WRONG_STATE);
  }
  if (!h->msg_buf) return;
  FZ_CHECK(wsm_conn_set_message_buffer(&h->conn, NULL, 1) == WSM_E_INVALID_ARGUMENT);
  rc = h->setup.whole_message
           ? wsm_conn_set_message_buffer(&h->conn, NULL, 0)
           : wsm_conn_set_message_buffer(&h->conn, h->msg_buf, h->setup.msg_cap);
  if (rc == 0) {
    FZ_CHECK(!h->in_msg);
    h->setup.whole_message = !h->setup.whole_message;
  } else {
    FZ_CHECK(rc == WSM_E_WRONG_STATE);
  }
}

static void run(const uint8_t *data, size_t size) {
  struct host *h = (struct host *)calloc(1, sizeof *h);
  struct fz_reader r;
  uint8_t mode;
  int need_more = 0, failed = 0;
  size_t calls = 0;

  FZ_CHECK(h != NULL);
  r.p = data;
  r.n = size;
  fz_setup_read(&h->setup, FUZZ_FRAME_ROLE, &r);
  mode = fz_u8(&r);
  h->feed_mode = mode & 3u;
  h->drain_mode = mode >> 2 & 3u;
  fz_rng_seed(&h->rng, (uint64_t)mode << 32 | size);
  h->n = r.n;
  h->stream = fz_dup(r.p, r.n);
  h->pristine = fz_dup(r.p, r.n);
  if (h->setup.host & FZ_HOST_TIMERS) {
    h->setup.cfg.ping_interval_ms = 10;
    h->setup.cfg.ping_timeout_ms = 20;
    h->setup.cfg.close_timeout_ms = 30;
    h->out.allow_ping = 1;
  }
  fz_setup_conn(&h->setup, &h->conn, &h->msg_buf);
  h->out.client = FUZZ_FRAME_ROLE == WSM_ROLE_CLIENT;
  h->out.manual_pong = (h->setup.cfg.flags & WSM_CFG_MANUAL_PONG) != 0;

  for (;;) {
    struct wsm_event ev;
    size_t len, consumed = 0, i, end;
    int rc, close_seen_before = h->out.close_seen;

    if (need_more) {
      size_t left = h->n - h->avail, piece;
      if (left == 0) break;
      switch (h->feed_mode) {
      case 0: piece = left; break;
      case 1: piece = 1; break;
      case 2: piece = 1 + fz_rng_below(&h->rng, 16); break;
      default: piece = 1 + fz_rng_below(&h->rng, 512); break;
      }
      h->avail += piece < left ? piece : left;
      need_more = 0;
    }
    len = h->avail - h->start;
    rc = wsm_conn_recv(&h->conn, h->stream + h->start, len, &consumed, &ev);
    FZ_CHECK(consumed <= len);
    /* Each event eats at least a frame header and each quiet call is
     * followed by new bytes: a host loop must end. */
    FZ_CHECK(++calls <= 2 * h->n + 8);
    /* Unconsumed bytes will be presented again: wsm must not change them.
     * (A failing call may have unmasked the chunk it rejected.) */
    end = rc == 0 ? h->start + consumed + UNTOUCHED_WINDOW : 0;
    if (end > h->avail) end = h->avail;
    for (i = h->start + consumed; i < end; i++) FZ_CHECK(h->stream[i] == h->pristine[i]);
    if (rc == 0 && ev.type == WSM_EV_PING) {
      /* A waiting pong must answer this ping from now on. */
      FZ_CHECK(ev.len <= WSM_CONTROL_PAYLOAD_MAX);
      check_data_pointer(h, &ev, consumed);
      if (ev.len) memcpy(h->out.ping, ev.data, ev.len);
      h->out.ping_len = ev.len;
      h->out.have_ping = 1;
      h->out.pings++;
    }
    check_queue(&h->out, &h->conn);

    if (rc < 0) {
      h->start += consumed;
      check_error(h, rc, &ev, close_seen_before);
      failed = 1;
      break;
    }
    FZ_CHECK(rc == 0);
    check_data_pointer(h, &ev, consumed);
    switch (ev.type) {
    case WSM_EV_NONE:
      FZ_CHECK(ev.len == 0);
      h->start += consumed;
      check_hold(h);
      need_more = 1;
      break;
    case WSM_EV_DATA:
      check_data(h, &ev);
      break;
    case WSM_EV_MESSAGE:
      check_message(h, &ev);
      break;
    case WSM_EV_PING:
      /* Every ping is answered until the peer's close, even after ours
       * (RFC 6455 5.5.2): check_queue() saw the pong has its payload. */
      if (!h->out.manual_pong) FZ_CHECK(h->out.pong_waiting);
      break;
    case WSM_EV_PONG:
      FZ_CHECK(ev.len <= WSM_CONTROL_PAYLOAD_MAX);
      break;
    case WSM_EV_CLOSE:
      if (ev.close_code == WSM_CLOSE_NO_STATUS) FZ_CHECK(ev.len == 0);
      else FZ_CHECK(wsm_close_code_is_valid(ev.close_code));
      FZ_CHECK(ev.len <= WSM_CLOSE_REASON_MAX);
      FZ_CHECK(fz_ref_utf8_valid(ev.data, ev.len));
      if (!close_seen_before) /* the echo: the code alone */
        check_last_is_close(&h->out, ev.close_code == WSM_CLOSE_NO_STATUS ? 0 : ev.close_code,
                            NULL, 0);
      FZ_CHECK(wsm_conn_state(&h->conn) == WSM_STATE_CLOSING ||
               wsm_conn_state(&h->conn) == WSM_STATE_CLOSED);
      break;
    default:
      FZ_CHECK(0 && "unexpected event type");
    }
    if (ev.type != WSM_EV_NONE) h->start += consumed;
    if (ev.type == WSM_EV_CLOSE) {
      check_after_close(h);
      drain(h);
      break;
    }
    drain(h);
    if (h->setup.host & FZ_HOST_TIMERS) {
      rc = host_tick(h);
      if (rc) {
        check_sticky(h, rc);
        failed = 1;
        break;
      }
    }
    if ((h->setup.host & FZ_HOST_CALLS) && fz_rng_below(&h->rng, 8) == 0) {
      switch (fz_rng_below(&h->rng, 4)) {
      case 0: host_close(h); break;
      case 1: host_send(h); break;
      default: host_modes(h); break;
      }
    }
  }

  /* The peer falls silent and time goes on: the keepalive ping, its
   * deadline, the wait for the peer's close. */
  if (!failed && (h->setup.host & FZ_HOST_TIMERS)) {
    int k;
    for (k = 0; k < 16 && !failed; k++) {
      int rc = host_tick(h);
      if (rc) {
        check_sticky(h, rc);
        failed = 1;
      } else {
        drain(h);
      }
    }
  }

  /* The transport ends. */
  if (!failed) {
    struct wsm_close_info info;
    int rc = wsm_conn_recv_eof(&h->conn);
    wsm_conn_close_info(&h->conn, &info);
    FZ_CHECK(rc == 0 || rc == WSM_E_ABNORMAL_CLOSURE);
    FZ_CHECK(info.error == rc);
    FZ_CHECK(wsm_conn_state(&h->conn) == WSM_STATE_CLOSED);
    FZ_CHECK(wsm_conn_transport(&h->conn) == WSM_TRANSPORT_CLOSE);
    if (rc) check_sticky(h, rc);
  }
  {
    const uint8_t *q;
    write_queue(&h->out, &h->conn, wsm_conn_output(&h->conn, &q));
  }
  /* A failed connection says close once its queue is written. */
  if (failed) FZ_CHECK(wsm_conn_transport(&h->conn) == WSM_TRANSPORT_CLOSE);

  fz_buf_free(&h->text);
  free(h->msg_buf);
  free(h->stream);
  free(h->pristine);
  free(h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  run(data, size);
  return 0;
}
