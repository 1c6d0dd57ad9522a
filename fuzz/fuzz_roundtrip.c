/* SPDX-License-Identifier: MIT */
/*
 * Harness: what one connection encodes, the other decodes exactly. A script
 * read from the input sends text messages (valid UTF-8 made from the input),
 * binary messages, pings and pongs, fragments messages at sizes the input
 * chooses, slips control frames and refused calls between fragments, and may
 * end with the close handshake. It runs twice: client to server, then server
 * to client. Client masks come from a deterministic wsm_config.random.
 *
 * The receiver must see exactly the messages, pings, pongs and close that
 * were sent, in order; the sender must get one pong per ping (the receiver's
 * automatic answers, drained after every call) and the close echo; refused
 * calls (wrong opcode mid-message, buffer too small, invalid text, oversized
 * control payload) must change nothing.
 *
 * Input: 2 configuration bytes, then operations.
 *   byte 0  bit 0: the receiver gathers whole messages (else it streams)
 *           bit 1: the sender does not check its text (NO_SEND_UTF8_CHECK)
 *           bit 2: the wire reaches the receiver byte by byte (its
 *                  first 1 KiB each time)
 *           bit 3: the script ends with a close handshake (during which
 *                  the receiver may ping the sender whose close waits)
 *           bit 4: operation 6 sends one message larger than 64 KiB (the
 *                  64-bit length form; slow, so only when asked)
 *   byte 1  seed of the mask keys
 *   operation byte & 7: 0-1 text message, 2-3 binary message, 4 ping,
 *           5 unsolicited pong, 6 large binary message (else as 2),
 *           7 text message sent with header-only frames
 */
#include "fuzz_common.h"

#define BUDGET (1u << 20) /* payload bytes sent per direction, at most */
#define LARGE_MAX (0x10000u + 255u * 16u)

struct peer {
  struct wsm_conn conn;
  struct fz_random random;
  int client;
  uint8_t *msg_buf;
  size_t msg_cap;
  struct fz_buf wire;   /* sent to this peer, not yet arrived */
  struct fz_buf in;     /* arrived; consumed up to in_off */
  size_t in_off;
  struct fz_buf events; /* what it received, normalised */
  struct fz_buf expect; /* what it should have received */
  struct fz_buf msg;    /* the message being received, in streaming mode */
  int in_msg;
};

struct pair {
  struct peer *tx, *rx;
  int byte_by_byte;
  int check_text;       /* the sender validates its text */
  int allow_large;      /* operation 6 may send one message > 64 KiB */
  size_t sent;          /* payload bytes so far, against BUDGET */
};

static void record(struct fz_buf *log, unsigned tag, uint64_t code,
                   const uint8_t *data, size_t len) {
  fz_buf_byte(log, tag);
  fz_buf_u64(log, code);
  fz_buf_u64(log, len);
  fz_buf_append(log, data, len);
}

/* The harness's own buffers outlive a run (emptied, not freed): runs with
 * 64 KiB messages would otherwise spend their time mapping fresh memory. */
static void peer_init(struct peer *p, enum wsm_role role, unsigned flags,
                      size_t msg_cap, uint8_t seed) {
  struct wsm_config cfg;
  struct fz_buf keep[5];
  keep[0] = p->wire;
  keep[1] = p->in;
  keep[2] = p->events;
  keep[3] = p->expect;
  keep[4] = p->msg;
  memset(p, 0, sizeof *p);
  p->wire = keep[0];
  p->in = keep[1];
  p->events = keep[2];
  p->expect = keep[3];
  p->msg = keep[4];
  p->wire.len = p->in.len = p->events.len = p->expect.len = p->msg.len = 0;
  wsm_config_init(&cfg, role);
  cfg.flags = flags;
  p->random.fail_after = -1;
  fz_rng_seed(&p->random.rng, seed);
  cfg.random = fz_random_fill;
  cfg.random_ctx = &p->random;
  p->client = role == WSM_ROLE_CLIENT;
  FZ_CHECK(wsm_conn_init_open(&p->conn, &cfg) == 0);
  if (msg_cap) {
    p->msg_cap = msg_cap;
    p->msg_buf = (uint8_t *)malloc(msg_cap);
    FZ_CHECK(p->msg_buf != NULL);
    FZ_CHECK(wsm_conn_set_message_buffer(&p->conn, p->msg_buf, msg_cap) == 0);
  }
}

static void peer_done(struct peer *p) {
  free(p->msg_buf);
  p->msg_buf = NULL;
}

/* Move everything p queued (pongs, close frames) onto the other's wire. */
static void flush_queue(struct peer *p, struct peer *to) {
  const uint8_t *q;
  size_t n = wsm_conn_output(&p->conn, &q);
  FZ_CHECK(n <= 270);
  fz_buf_append(&to->wire, q, n);
  FZ_CHECK(wsm_conn_output_ack(&p->conn, n) == 0);
}

/* Read everything that has arrived at p; its replies go to `to`. */
static void pump(struct peer *p, struct peer *to) {
  for (;;) {
    struct wsm_event ev;
    size_t consumed = 0;
    size_t len = p->in.len - p->in_off;
    int rc = wsm_conn_recv(&p->conn, len ? p->in.p + p->in_off : NULL, len,
                           &consumed, &ev);
    FZ_CHECK(rc == 0);
    FZ_CHECK(consumed <= len);
    switch (ev.type) {
    case WSM_EV_NONE:
      break;
    case WSM_EV_DATA:
      FZ_CHECK(!p->msg_buf);
      fz_buf_append(&p->msg, ev.data, ev.len);
      if (ev.flags & WSM_DATA_END) {
        record(&p->events, 'M', ev.opcode, p->msg.p, p->msg.len);
        p->msg.len = 0;
      }
      break;
    case WSM_EV_MESSAGE:
      FZ_CHECK(p->msg_buf != NULL);
      record(&p->events, 'M', ev.opcode, ev.data, ev.len);
      break;
    case WSM_EV_PING:
      record(&p->events, 'I', 0, ev.data, ev.len);
      break;
    case WSM_EV_PONG:
      record(&p->events, 'O', 0, ev.data, ev.len);
      break;
    case WSM_EV_CLOSE:
      record(&p->events, 'C', ev.close_code, ev.data, ev.len);
      break;
    default:
      FZ_CHECK(0 && "unexpected event");
    }
    p->in_off += consumed;
    flush_queue(p, to);
    if (ev.type == WSM_EV_NONE) break;
  }
}

/* Let the wire to p arrive (all at once or byte by byte), and read it. */
static void deliver(struct pair *pr, struct peer *p, struct peer *from) {
  size_t off = 0;
  /* pump() adds to from->wire only, so p->wire holds still meanwhile. */
  while (off < p->wire.len) {
    /* Byte by byte through the first 1 KiB; larger steps after that keep
     * the 64 KiB messages cheap. */
    size_t n = !pr->byte_by_byte ? p->wire.len - off : off < 1024 ? 1 : 4093;
    if (n > p->wire.len - off) n = p->wire.len - off;
    /* Unconsumed bytes stay first; newer ones are appended. */
    fz_buf_shift(&p->in, p->in_off);
    p->in_off = 0;
    fz_buf_append(&p->in, p->wire.p + off, n);
    off += n;
    pump(p, from);
  }
  p->wire.len = 0;
}

/* Both ways until nothing moves. */
static void settle(struct pair *pr) {
  while (pr->rx->wire.len || pr->tx->wire.len) {
    deliver(pr, pr->rx, pr->tx);
    deliver(pr, pr->tx, pr->rx);
  }
}

/* ---- sending ------------------------------------------------------------ */

static void send_data(struct pair *pr, enum wsm_opcode opcode, const uint8_t *data,
                      size_t len, int fin, int header_only) {
  struct peer *tx = pr->tx;
  unsigned flags = fin ? WSM_SEND_FIN : 0u;
  size_t hsize = wsm_frame_header_size(len, tx->client);

  if (header_only) {
    uint8_t hdr[WSM_FRAME_HEADER_MAX], key[4];
    size_t hlen = 0;
    FZ_CHECK(wsm_conn_send_header(&tx->conn, opcode, len, flags, hdr, &hlen, key) == 0);
    FZ_CHECK(hlen == hsize);
    fz_buf_append(&pr->rx->wire, hdr, hlen);
    if (tx->client && len) {
      uint8_t *masked = fz_dup(data, len);
      FZ_CHECK(wsm_mask(masked, len, key, 0) == (len & 3u));
      fz_buf_append(&pr->rx->wire, masked, len);
      free(masked);
    } else {
      fz_buf_append(&pr->rx->wire, data, len);
    }
  } else {
    /* Exactly the size needed, after a refused try one byte short. */
    uint8_t *out = (uint8_t *)malloc(hsize + len);
    size_t written = 0;
    FZ_CHECK(out != NULL);
    FZ_CHECK(wsm_conn_send(&tx->conn, opcode, data, len, flags, out, hsize + len - 1,
                           &written) == WSM_E_BUFFER_TOO_SMALL);
    FZ_CHECK(written == hsize + len);
    written = 0;
    FZ_CHECK(wsm_conn_send(&tx->conn, opcode, data, len, flags, out, hsize + len,
                           &written) == 0);
    FZ_CHECK(written == hsize + len);
    fz_buf_append(&pr->rx->wire, out, written);
    free(out);
  }
}

static void send_control(struct pair *pr, enum wsm_opcode opcode,
                         const uint8_t *data, size_t len) {
  struct peer *tx = pr->tx;
  uint8_t out[WSM_CONTROL_FRAME_MAX];
  size_t written = 0, need = wsm_frame_header_size(len, tx->client) + len;
  FZ_CHECK(wsm_conn_send_control(&tx->conn, opcode, data, len, out, need - 1,
                                 &written) == WSM_E_BUFFER_TOO_SMALL);
  FZ_CHECK(written == need);
  FZ_CHECK(wsm_conn_send_control(&tx->conn, opcode, data, len, out, sizeof out,
                                 &written) == 0);
  FZ_CHECK(written == need);
  fz_buf_append(&pr->rx->wire, out, written);
  record(&pr->rx->expect, opcode == WSM_OP_PING ? 'I' : 'O', 0, data, len);
  /* The receiver answers every ping (its queue is drained after each call). */
  if (opcode == WSM_OP_PING) record(&tx->expect, 'O', 0, data, len);
}

static size_t read_payload(struct fz_reader *r, uint8_t *buf, size_t max) {
  size_t len = fz_u8(r) % (max + 1), i;
  for (i = 0; i < len; i++) buf[i] = fz_u8(r);
  return len;
}

/* Calls the sender must refuse in the middle of a message, changing nothing. */
static void refused_calls(struct pair *pr, enum wsm_opcode opcode, int text_checked) {
  struct peer *tx = pr->tx;
  uint8_t out[WSM_CONTROL_FRAME_MAX + 1], big[WSM_CONTROL_PAYLOAD_MAX + 1];
  static const uint8_t bad_text[] = {0xED, 0xA0, 0x80}; /* a surrogate */
  size_t written;
  memset(big, 'x', sizeof big);
  FZ_CHECK(wsm_conn_send(&tx->conn, opcode == WSM_OP_TEXT ? WSM_OP_BINARY : WSM_OP_TEXT,
                         big, 1, WSM_SEND_FIN, out, sizeof out, &written) ==
           WSM_E_MESSAGE_OPEN);
  FZ_CHECK(wsm_conn_send(&tx->conn, WSM_OP_PING, big, 1, WSM_SEND_FIN, out,
                         sizeof out, &written) == WSM_E_INVALID_ARGUMENT);
  FZ_CHECK(wsm_conn_send_control(&tx->conn, WSM_OP_PING, big, sizeof big, out,
                                 sizeof out, &written) == WSM_E_CONTROL_TOO_LONG);
  FZ_CHECK(wsm_conn_send_control(&tx->conn, WSM_OP_TEXT, big, 1, out, sizeof out,
                                 &written) == WSM_E_INVALID_ARGUMENT);
  if (opcode == WSM_OP_TEXT && text_checked)
    FZ_CHECK(wsm_conn_send(&tx->conn, WSM_OP_TEXT, bad_text, sizeof bad_text, 0, out,
                           sizeof out, &written) == WSM_E_INVALID_UTF8_SEND);
}

/* Send msg as a message in fragments whose sizes the input chooses, with
 * control frames and refused calls between them. */
static void send_message(struct pair *pr, struct fz_reader *r, enum wsm_opcode opcode,
                         const struct fz_buf *msg, int header_only) {
  size_t off = 0;
  int checked = pr->check_text;
  for (;;) {
    uint8_t fb = fz_u8(r), ctl = fz_u8(r);
    size_t left = msg->len - off, size;
    int fin, hdr = header_only || (ctl & 4u);
    if ((fb & 0x80u) || r->n == 0) {
      size = left;
      fin = 1;
    } else {
      size = (size_t)(fb & 0x1Fu) << ((fb >> 5 & 3u) * 4u);
      if (size > left) size = left;
      fin = 0;
    }
    /* Header-only frames are not checked, nor is the rest of the message. */
    if (hdr) checked = 0;
    send_data(pr, opcode, size ? msg->p + off : NULL, size, fin, hdr);
    off += size;
    if (fin) break;
    switch (ctl & 3u) {
    case 1: {
      uint8_t payload[WSM_CONTROL_PAYLOAD_MAX];
      size_t len = read_payload(r, payload, WSM_CONTROL_PAYLOAD_MAX);
      send_control(pr, (ctl & 8u) ? WSM_OP_PONG : WSM_OP_PING, payload, len);
      break;
    }
    case 2:
      refused_calls(pr, opcode, checked);
      break;
    default:
      break;
    }
    if (ctl & 0x10u) settle(pr);
  }
  FZ_CHECK(off == msg->len);
  record(&pr->rx->expect, 'M', opcode, msg->p, msg->len);
}

/* Valid UTF-8 from the input: each character's class and value come from
 * input bytes, spread over every encoded length (no surrogates). */
static void make_text(struct fz_reader *r, struct fz_buf *out, size_t max_bytes) {
  size_t units = fz_u8(r);
  if (units & 0x80u) units = (units & 0x7Fu) << 8 | fz_u8(r);
  while (units-- && r->n) {
    uint8_t b = fz_u8(r);
    uint32_t cp, x = (uint32_t)(b >> 2) << 8 | fz_u8(r);
    switch (b & 3u) {
    case 0: cp = x & 0x7Fu; break;
    case 1: cp = 0x80u + x % 0x780u; break;
    case 2:
      cp = 0x800u + (x << 2 | (fz_u8(r) & 3u)) % (0x10000u - 0x800u - 0x800u);
      if (cp >= 0xD800u) cp += 0x800u;
      break;
    default: cp = 0x10000u + (x << 6 | (fz_u8(r) & 0x3Fu)) % 0x100000u; break;
    }
    if (out->len + 4 > max_bytes) break;
    fz_utf8_put(out, cp);
  }
  FZ_CHECK(fz_ref_utf8_valid(out->p, out->len));
}

static void script(struct pair *pr, const uint8_t *ops, size_t n, int closing) {
  static struct fz_buf msg; /* kept across runs, as the peers' buffers */
  struct fz_reader r;
  struct fz_rng fill;
  int large = 0;

  r.p = ops;
  r.n = n;
  fz_rng_seed(&fill, n);
  while (r.n && pr->sent < BUDGET) {
    uint8_t op = fz_u8(&r);
    unsigned kind = op & 7u;
    if (kind == 6 && (!pr->allow_large || large)) kind = 2;
    msg.len = 0;
    switch (kind) {
    case 0:
    case 1:
    case 7:
      make_text(&r, &msg, SIZE_MAX);
      send_message(pr, &r, WSM_OP_TEXT, &msg, kind == 7);
      break;
    case 6: {
      /* Larger than 64 KiB: the 64-bit length form. */
      size_t len = 0x10000u + (size_t)fz_u8(&r) * 16u, i;
      large = 1;
      fz_buf_reserve(&msg, len);
      for (i = 0; i < len; i++) msg.p[i] = (uint8_t)fz_rng_next(&fill);
      msg.len = len;
      send_message(pr, &r, WSM_OP_BINARY, &msg, (op & 0x40u) != 0);
      break;
    }
    case 2:
    case 3: {
      size_t len = fz_u8(&r);
      if (op & 0x80u) len = len << 8 | fz_u8(&r);
      while (len-- && r.n) fz_buf_byte(&msg, fz_u8(&r));
      send_message(pr, &r, WSM_OP_BINARY, &msg, (op & 0x40u) != 0);
      break;
    }
    default: {
      uint8_t payload[WSM_CONTROL_PAYLOAD_MAX];
      size_t len = read_payload(&r, payload, WSM_CONTROL_PAYLOAD_MAX);
      send_control(pr, kind == 4 ? WSM_OP_PING : WSM_OP_PONG, payload, len);
      break;
    }
    }
    pr->sent += msg.len;
    if (op & 0x08u || pr->byte_by_byte) settle(pr);
  }
  settle(pr);

  if (closing) {
    static const uint16_t codes[] = {0, 1000, 1001, 1002, 1003, 1007, 1008, 1009,
                                     1010, 1011, 1012, 1013, 1014, 3000, 4000, 4999};
    struct fz_reader rr;
    struct wsm_close_info info;
    uint16_t code;
    uint16_t echo;
    rr.p = ops;
    rr.n = n;
    code = codes[(n + (n ? ops[n - 1] : 0u)) % 16u];
    echo = code ? code : (uint16_t)WSM_CLOSE_NO_STATUS;
    msg.len = 0;
    if (code) make_text(&rr, &msg, WSM_CLOSE_REASON_MAX);
    FZ_CHECK(wsm_conn_close(&pr->tx->conn, code, (const char *)msg.p, msg.len) == 0);
    FZ_CHECK(wsm_conn_state(&pr->tx->conn) == WSM_STATE_CLOSING);
    FZ_CHECK(wsm_conn_close(&pr->tx->conn, code, NULL, 0) == WSM_E_CLOSE_SENT);
    if (n >= 2 && (ops[n - 2] & 1u)) {
      /* A ping reaches the sender while its close waits in the queue: the
       * pong is still owed (RFC 6455 5.5.2) and goes out before the close,
       * which the receiver would otherwise end its reading with. */
      uint8_t payload[WSM_CONTROL_PAYLOAD_MAX], out[WSM_CONTROL_FRAME_MAX];
      size_t len = read_payload(&rr, payload, WSM_CONTROL_PAYLOAD_MAX), written = 0;
      FZ_CHECK(wsm_conn_send_control(&pr->rx->conn, WSM_OP_PING, payload, len, out,
                                     sizeof out, &written) == 0);
      fz_buf_append(&pr->tx->wire, out, written);
      record(&pr->tx->expect, 'I', 0, payload, len);
      record(&pr->rx->expect, 'O', 0, payload, len);
      /* In one piece: the queue is flushed after every call, and the close
       * must still be waiting when the ping is read. */
      {
        int bytewise = pr->byte_by_byte;
        pr->byte_by_byte = 0;
        deliver(pr, pr->tx, pr->rx);
        pr->byte_by_byte = bytewise;
      }
    } else {
      flush_queue(pr->tx, pr->rx);
    }
    record(&pr->rx->expect, 'C', echo, msg.p, msg.len);
    record(&pr->tx->expect, 'C', echo, NULL, 0);
    settle(pr);

    FZ_CHECK(wsm_conn_state(&pr->tx->conn) == WSM_STATE_CLOSED);
    FZ_CHECK(wsm_conn_state(&pr->rx->conn) == WSM_STATE_CLOSED);
    FZ_CHECK(wsm_conn_transport(&pr->tx->conn) ==
             (pr->tx->client ? WSM_TRANSPORT_AWAIT_PEER : WSM_TRANSPORT_CLOSE));
    FZ_CHECK(wsm_conn_transport(&pr->rx->conn) ==
             (pr->rx->client ? WSM_TRANSPORT_AWAIT_PEER : WSM_TRANSPORT_CLOSE));
    /* A close without a code counts as 1005 both ways. */
    wsm_conn_close_info(&pr->tx->conn, &info);
    FZ_CHECK(info.code_sent == echo && info.code_received == echo);
    FZ_CHECK(!info.peer_closed_first && info.error == 0);
    wsm_conn_close_info(&pr->rx->conn, &info);
    FZ_CHECK(info.code_sent == echo && info.code_received == echo);
    FZ_CHECK(info.peer_closed_first && info.error == 0);
    FZ_CHECK(wsm_conn_recv_eof(&pr->tx->conn) == 0);
    FZ_CHECK(wsm_conn_recv_eof(&pr->rx->conn) == 0);
  } else {
    FZ_CHECK(wsm_conn_state(&pr->tx->conn) == WSM_STATE_OPEN);
    FZ_CHECK(wsm_conn_state(&pr->rx->conn) == WSM_STATE_OPEN);
  }

  /* Everything arrived, nothing is left half read. */
  FZ_CHECK(pr->rx->in.len == pr->rx->in_off && pr->tx->in.len == pr->tx->in_off);
  FZ_CHECK(pr->rx->msg.len == 0);
  FZ_CHECK(pr->rx->events.len == pr->rx->expect.len);
  FZ_CHECK(pr->rx->events.len == 0 ||
           memcmp(pr->rx->events.p, pr->rx->expect.p, pr->rx->events.len) == 0);
  FZ_CHECK(pr->tx->events.len == pr->tx->expect.len);
  FZ_CHECK(pr->tx->events.len == 0 ||
           memcmp(pr->tx->events.p, pr->tx->expect.p, pr->tx->events.len) == 0);
}

static void one_way(enum wsm_role sender_role, uint8_t cfg, uint8_t seed,
                    const uint8_t *ops, size_t n) {
  static struct peer peers[2];
  struct peer *tx = &peers[0], *rx = &peers[1];
  struct pair pr;
  enum wsm_role receiver_role =
      sender_role == WSM_ROLE_CLIENT ? WSM_ROLE_SERVER : WSM_ROLE_CLIENT;
  /* Whole-message mode gets a buffer just big enough for any message the
   * script can make: at most 4 bytes of text per input byte. */
  size_t msg_cap = (cfg & 1u) ? 4 * n + 4 + ((cfg & 0x10u) ? LARGE_MAX : 0u) : 0;
  peer_init(tx, sender_role, (cfg & 2u) ? WSM_CFG_NO_SEND_UTF8_CHECK : 0u, 0, seed);
  peer_init(rx, receiver_role, 0u, msg_cap, (uint8_t)(seed ^ 0x5Au));
  memset(&pr, 0, sizeof pr);
  pr.tx = tx;
  pr.rx = rx;
  pr.byte_by_byte = (cfg & 4u) != 0;
  pr.check_text = !(cfg & 2u);
  pr.allow_large = (cfg & 0x10u) != 0;
  script(&pr, ops, n, (cfg & 8u) != 0);
  peer_done(tx);
  peer_done(rx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t cfg, seed;
  if (size < 2) return 0;
  cfg = data[0];
  seed = data[1];
  one_way(WSM_ROLE_CLIENT, cfg, seed, data + 2, size - 2);
  one_way(WSM_ROLE_SERVER, cfg, seed, data + 2, size - 2);
  return 0;
}
