/* SPDX-License-Identifier: MIT */
/*
 * The connection state machine: bytes in, events out (RFC 6455 5 and 7);
 * send calls in, frames out; the close handshake, limits and timers.
 */
#include "wsm_internal.h"

/* close_flags */
#define CLOSE_SENT 0x01u       /* our close frame is queued or written */
#define CLOSE_RECEIVED 0x02u   /* the peer's close frame arrived */
#define CLOSE_WRITTEN 0x04u    /* our close frame left the queue */
#define CLOSE_PEER_FIRST 0x08u /* the peer's close came before ours */
#define CLOSE_FAILED 0x10u     /* wsm failed the connection */
#define CLOSE_EOF 0x20u        /* the transport ended */
#define CLOSE_EXPIRED 0x40u    /* a timer ended the wait: close the transport */
#define CLOSE_STARTED 0x80u    /* some of our close frame was written */

#define DEFAULT_MAX_FRAME_PAYLOAD (UINT64_C(16) << 20)
#define DEFAULT_MAX_MESSAGE (UINT64_C(64) << 20)
#define DEFAULT_MAX_FRAGMENTS 65536u
#define DEFAULT_CLOSE_TIMEOUT_MS 5000u
#define DEFAULT_PING_TIMEOUT_MS 10000u
#define DEFAULT_HANDSHAKE_TIMEOUT_MS 10000u

/* hs_stage */
#define HS_IDLE 0u         /* client: no request written yet */
#define HS_REQUEST_SENT 1u /* client: waiting for the response */
#define HS_ANSWER_DUE 2u   /* server: request delivered, accept or reject */

/* The one timer: what it is for depends on the state. */
#define TIMER_NONE 0u
#define TIMER_KEEPALIVE 1u /* OPEN: ping after silence, then wait for input */
#define TIMER_CLOSE 2u     /* the wait for the peer's close, or its TCP close */
#define TIMER_HANDSHAKE 3u /* CONNECTING: the opening handshake */
/* deadline value of a timer that waits for wsm_conn_tick() to learn the time */
#define DEADLINE_UNARMED UINT64_C(0)

void wsm_config_init(struct wsm_config *cfg, enum wsm_role role) {
  memset(cfg, 0, sizeof *cfg);
  cfg->role = role;
  cfg->max_frame_payload = DEFAULT_MAX_FRAME_PAYLOAD;
  cfg->max_message = DEFAULT_MAX_MESSAGE;
  cfg->max_fragments = DEFAULT_MAX_FRAGMENTS;
  cfg->close_timeout_ms = DEFAULT_CLOSE_TIMEOUT_MS;
  cfg->ping_timeout_ms = DEFAULT_PING_TIMEOUT_MS;
  cfg->handshake_timeout_ms = DEFAULT_HANDSHAKE_TIMEOUT_MS;
  cfg->max_head = WSM_HTTP_HEAD_MAX_DEFAULT;
}

static int apply_config(struct wsm_conn *c, const struct wsm_config *cfg) {
  struct wsm_config defaults;
  if (!c) return WSM_E_INVALID_ARGUMENT;
  if (!cfg) {
    wsm_config_init(&defaults, WSM_ROLE_SERVER);
    cfg = &defaults;
  }
  if (cfg->role != WSM_ROLE_SERVER && cfg->role != WSM_ROLE_CLIENT)
    return WSM_E_INVALID_ARGUMENT;
  memset(c, 0, sizeof *c);
  c->role = (uint8_t)cfg->role;
  c->cfg_flags = (uint16_t)cfg->flags;
  c->rsv_allowed = (uint8_t)(cfg->rsv_allowed & 0x7u);
  c->max_frame_payload =
      cfg->max_frame_payload ? cfg->max_frame_payload : DEFAULT_MAX_FRAME_PAYLOAD;
  c->max_message = cfg->max_message ? cfg->max_message : DEFAULT_MAX_MESSAGE;
  c->max_fragments = cfg->max_fragments ? cfg->max_fragments : DEFAULT_MAX_FRAGMENTS;
  c->close_timeout_ms =
      cfg->close_timeout_ms ? cfg->close_timeout_ms : DEFAULT_CLOSE_TIMEOUT_MS;
  c->ping_interval_ms = cfg->ping_interval_ms;
  c->ping_timeout_ms =
      cfg->ping_timeout_ms ? cfg->ping_timeout_ms : DEFAULT_PING_TIMEOUT_MS;
  c->handshake_timeout_ms = cfg->handshake_timeout_ms ? cfg->handshake_timeout_ms
                                                      : DEFAULT_HANDSHAKE_TIMEOUT_MS;
  c->max_head = cfg->max_head ? cfg->max_head : WSM_HTTP_HEAD_MAX_DEFAULT;
  c->random = cfg->random ? cfg->random : wsm_default_random();
  c->random_ctx = cfg->random ? cfg->random_ctx : NULL;
  c->close_code_received = WSM_CLOSE_ABNORMAL;
  /* the short path's size bound: a 7-bit length within both limits */
  c->rx_small_max = (uint8_t)(c->max_frame_payload < WSM_CONTROL_PAYLOAD_MAX
                                  ? c->max_frame_payload
                                  : WSM_CONTROL_PAYLOAD_MAX);
  if (c->max_message < c->rx_small_max) c->rx_small_max = (uint8_t)c->max_message;
  wsm_utf8_init(&c->rx_utf8);
  wsm_utf8_init(&c->tx_utf8);
  if (c->ping_interval_ms) c->timer = TIMER_KEEPALIVE;
  return 0;
}

int wsm_conn_init(struct wsm_conn *c, const struct wsm_config *cfg) {
  int rc = apply_config(c, cfg);
  if (rc) return rc;
  c->state = WSM_STATE_CONNECTING;
  c->timer = TIMER_HANDSHAKE;
  c->deadline = DEADLINE_UNARMED;
  return 0;
}

int wsm_conn_init_open(struct wsm_conn *c, const struct wsm_config *cfg) {
  int rc = apply_config(c, cfg);
  if (rc == 0) c->state = WSM_STATE_OPEN;
  return rc;
}

int wsm_conn_set_message_buffer(struct wsm_conn *c, uint8_t *buf, size_t cap) {
  if (!c || (!buf && cap)) return WSM_E_INVALID_ARGUMENT;
  if (c->error) return c->error;
  if (c->rx_msg_begun) return WSM_E_WRONG_STATE;
  c->msg_buf = buf;
  c->msg_cap = buf ? cap : 0;
  return 0;
}

int wsm_conn_set_rsv_allowed(struct wsm_conn *c, unsigned rsv) {
  if (!c || rsv > 7u) return WSM_E_INVALID_ARGUMENT;
  if (c->error) return c->error;
  if (c->rx_msg_begun) return WSM_E_WRONG_STATE;
  c->rsv_allowed = (uint8_t)rsv;
  return 0;
}

enum wsm_state wsm_conn_state(const struct wsm_conn *c) {
  return (enum wsm_state)c->state;
}

/* ---- the output queue --------------------------------------------------- */

static int is_client(const struct wsm_conn *c) { return c->role == WSM_ROLE_CLIENT; }

static int new_mask_key(struct wsm_conn *c, uint8_t key[4]) {
  if (!c->random) return WSM_E_NO_RANDOM;
  if (c->random(c->random_ctx, key, 4) != 0) return WSM_E_RANDOM_FAILED;
  return 0;
}

/*
 * Write one frame (header and payload) into out, which has room for it, and
 * set *size to its size. Clients mask with a fresh key (RFC 6455 5.3).
 */
static int write_frame(struct wsm_conn *c, uint8_t *out, unsigned opcode, int fin,
                       const uint8_t *payload, size_t len, size_t *size) {
  struct wsm_frame_header h;
  size_t n;
  h.fin = (uint8_t)(fin != 0);
  h.rsv = 0;
  h.opcode = (uint8_t)opcode;
  h.masked = (uint8_t)is_client(c);
  h.payload_len = len;
  if (h.masked) {
    int rc = new_mask_key(c, h.mask_key);
    if (rc) return rc;
  }
  n = wsm_frame_encode(out, &h);
  if (len) {
    uintptr_t dst = (uintptr_t)(out + n), src = (uintptr_t)payload;
    int overlap = src < dst + len && dst < src + len;
    if (h.masked && !overlap) {
      wsm_mask_copy(out + n, payload, len, h.mask_key); /* one pass */
    } else {
      memmove(out + n, payload, len);
      if (h.masked) wsm_mask(out + n, len, h.mask_key, 0);
    }
  }
  *size = n + len;
  return 0;
}

/* A control frame's header: 2 bytes, and a 4-byte key from a client. */
static size_t control_header_size(const struct wsm_conn *c) { return is_client(c) ? 6 : 2; }

/* Keep live bytes at the front so that appends always find their room. */
static void compact_output(struct wsm_conn *c) {
  uint16_t head = c->out_head;
  if (head == 0) return;
  memmove(c->out, c->out + head, (size_t)(c->out_tail - head));
  c->out_tail = (uint16_t)(c->out_tail - head);
  if (c->out_pong_len) c->out_pong_at = (uint16_t)(c->out_pong_at - head);
  if (c->out_close_len) c->out_close_at = (uint16_t)(c->out_close_at - head);
  if ((c->close_flags & (CLOSE_STARTED | CLOSE_WRITTEN)) == CLOSE_STARTED)
    c->out_close_end = (uint16_t)(c->out_close_end - head);
  c->out_head = 0;
}

static size_t output_room(const struct wsm_conn *c) { return sizeof c->out - c->out_tail; }

/* Append a control frame at the tail; the caller made room. */
static int append_control(struct wsm_conn *c, unsigned opcode, const uint8_t *payload,
                          size_t len, size_t *size) {
  int rc;
  compact_output(c);
  if (output_room(c) < control_header_size(c) + len) return WSM_E_BUFFER_TOO_SMALL;
  rc = write_frame(c, c->out + c->out_tail, opcode, 1, payload, len, size);
  if (rc) return rc;
  c->out_tail = (uint16_t)(c->out_tail + *size);
  return 0;
}

static void drop_waiting_pong(struct wsm_conn *c) {
  size_t end = (size_t)c->out_pong_at + c->out_pong_len;
  if (!c->out_pong_len) return;
  memmove(c->out + c->out_pong_at, c->out + end, c->out_tail - end);
  c->out_tail = (uint16_t)(c->out_tail - c->out_pong_len);
  if (c->out_close_len && c->out_close_at > c->out_pong_at)
    c->out_close_at = (uint16_t)(c->out_close_at - c->out_pong_len);
  c->out_pong_len = 0;
}

/* The close frame is queued and not one byte of it written yet. */
static int close_waiting(const struct wsm_conn *c) {
  return c->out_close_len && c->out_head <= c->out_close_at;
}

/* Longest prefix of reason, at most max bytes, that ends between characters. */
static size_t utf8_cut(const uint8_t *reason, size_t len, size_t max) {
  if (len <= max) return len;
  while (max > 0 && (reason[max] & 0xC0u) == 0x80u) max--;
  return max;
}

/*
 * Rewrite the waiting close frame (the last frame in the queue) so that it
 * takes at most max bytes: the reason is cut short, never the code.
 */
static int shrink_waiting_close(struct wsm_conn *c, size_t max) {
  uint8_t body[WSM_CONTROL_PAYLOAD_MAX], *frame = c->out + c->out_close_at;
  size_t hlen = control_header_size(c), len = frame[1] & 0x7Fu, size;
  int rc;
  if (c->out_close_len <= max) return 0;
  memcpy(body, frame + hlen, len);
  if (is_client(c)) wsm_mask(body, len, frame + 2, 0);
  len = 2 + utf8_cut(body + 2, len - 2, max - hlen - 2);
  rc = write_frame(c, frame, WSM_OP_CLOSE, 1, body, len, &size);
  if (rc) return rc;
  c->out_close_len = (uint16_t)size;
  c->out_tail = (uint16_t)(c->out_close_at + size);
  return 0;
}

/*
 * RFC 6455 5.5.2 and 5.5.3: answer every ping until the peer's close, or
 * only the latest of several. A pong not yet begun is replaced; one being
 * written finishes first. The pong goes before our close while the close is
 * still waiting (the close then gives up reason bytes if the room needs
 * them), after it once the close is on its way.
 */
static int queue_pong(struct wsm_conn *c, const uint8_t *payload, size_t len) {
  size_t need = control_header_size(c) + len, size;
  uint16_t at;
  int rc;
  drop_waiting_pong(c);
  compact_output(c);
  if (!close_waiting(c)) {
    at = c->out_tail;
    rc = append_control(c, WSM_OP_PONG, payload, len, &size);
  } else {
    if (output_room(c) < need) {
      rc = shrink_waiting_close(c, c->out_close_len - (need - output_room(c)));
      if (rc) return rc;
    }
    uint8_t pong[2 + 4 + WSM_CONTROL_PAYLOAD_MAX];
    rc = write_frame(c, pong, WSM_OP_PONG, 1, payload, len, &size);
    if (rc) return rc;
    at = c->out_close_at;
    memmove(c->out + at + size, c->out + at, c->out_close_len);
    memcpy(c->out + at, pong, size);
    c->out_close_at = (uint16_t)(at + size);
    c->out_tail = (uint16_t)(c->out_tail + size);
  }
  if (rc) return rc;
  c->out_pong_at = at;
  c->out_pong_len = (uint16_t)size;
  return 0;
}

static void arm_close_timer(struct wsm_conn *c) {
  c->timer = TIMER_CLOSE;
  c->deadline = DEADLINE_UNARMED;
}

/*
 * Queue our close frame: code 0 sends an empty body (RFC 6455 5.5.1). The
 * queue holds the frame being written and a waiting pong, and the close
 * after them; when all three are as large as they can be, the close's reason
 * is cut to fit (the code always fits).
 */
static int queue_close(struct wsm_conn *c, uint16_t code, const uint8_t *reason,
                       size_t reason_len) {
  uint8_t body[WSM_CONTROL_PAYLOAD_MAX] = {0};
  size_t len = 0, size, hlen = control_header_size(c);
  uint16_t at;
  int rc;
  compact_output(c);
  if (code) {
    wsm_store16_be(body, code);
    size_t room = output_room(c) > hlen + 2 ? output_room(c) - hlen - 2 : 0;
    reason_len = utf8_cut(reason, reason_len, room);
    if (reason_len) memcpy(body + 2, reason, reason_len);
    len = 2 + reason_len;
  }
  at = c->out_tail;
  rc = append_control(c, WSM_OP_CLOSE, body, len, &size);
  if (rc) return rc;
  c->out_close_at = at;
  c->out_close_len = (uint16_t)size;
  c->close_flags |= CLOSE_SENT;
  c->close_code_sent = code ? code : WSM_CLOSE_NO_STATUS;
  if (c->state == WSM_STATE_OPEN) c->state = WSM_STATE_CLOSING;
  arm_close_timer(c);
  return 0;
}

static void update_closed(struct wsm_conn *c) {
  unsigned f = c->close_flags;
  int done = (f & CLOSE_EXPIRED) || (f & CLOSE_EOF) ||
             ((f & CLOSE_WRITTEN) && (f & (CLOSE_RECEIVED | CLOSE_FAILED))) ||
             ((f & CLOSE_FAILED) && !(f & CLOSE_SENT));
  if (done && c->state != WSM_STATE_CLOSED) {
    c->state = WSM_STATE_CLOSED;
    /* RFC 6455 7.1.1: the client waits, a while, for the server to close
     * the TCP connection first. */
    if (is_client(c) && !(f & (CLOSE_FAILED | CLOSE_EOF | CLOSE_EXPIRED)))
      arm_close_timer(c);
    else
      c->timer = TIMER_NONE;
  }
}

size_t wsm_conn_output(struct wsm_conn *c, const uint8_t **data) {
  *data = c->out + c->out_head;
  return (size_t)(c->out_tail - c->out_head);
}

int wsm_conn_output_ack(struct wsm_conn *c, size_t n) {
  if (n > (size_t)(c->out_tail - c->out_head)) return WSM_E_INVALID_ARGUMENT;
  c->out_head = (uint16_t)(c->out_head + n);
  if (c->out_pong_len && c->out_head > c->out_pong_at) c->out_pong_len = 0;
  if (c->out_close_len && c->out_head > c->out_close_at) {
    /* the close is on its way: from now on only its end matters */
    c->out_close_end = (uint16_t)(c->out_close_at + c->out_close_len);
    c->out_close_len = 0;
    c->close_flags |= CLOSE_STARTED;
  }
  if ((c->close_flags & (CLOSE_STARTED | CLOSE_WRITTEN)) == CLOSE_STARTED &&
      c->out_head >= c->out_close_end) {
    c->close_flags |= CLOSE_WRITTEN;
    update_closed(c);
  }
  if (c->out_head == c->out_tail) {
    c->out_head = c->out_tail = 0;
    c->out_pong_len = 0;
    /* an HTTP error response, queued in place of a close frame */
    if ((c->close_flags & CLOSE_SENT) && !(c->close_flags & CLOSE_WRITTEN)) {
      c->close_flags |= CLOSE_WRITTEN;
      update_closed(c);
    }
  }
  return 0;
}

/* ---- failing ------------------------------------------------------------ */

/* RFC 6455 7.1.7: fail the connection, telling the peer why with the close
 * code for the error and its text as the reason. */
static int fail(struct wsm_conn *c, int err, struct wsm_event *ev) {
  uint16_t code = wsm_err_close_code(err);
  uint16_t queued = 0;
  c->error = (int16_t)err;
  c->close_flags |= CLOSE_FAILED;
  if (code && !(c->close_flags & CLOSE_SENT)) {
    const char *why = wsm_strerror(err);
    size_t len = strlen(why);
    if (len > WSM_CLOSE_REASON_MAX) len = WSM_CLOSE_REASON_MAX;
    if (queue_close(c, code, (const uint8_t *)why, len) == 0) queued = code;
  }
  update_closed(c);
  if (ev) {
    ev->type = WSM_EV_ERROR;
    ev->flags = 0;
    ev->data = NULL;
    ev->len = 0;
    ev->error = err;
    ev->close_code = queued;
  }
  return err;
}

/* ---- receiving ---------------------------------------------------------- */

static uint64_t message_limit(const struct wsm_conn *c) {
  if (c->msg_buf && (uint64_t)c->msg_cap < c->max_message) return c->msg_cap;
  return c->max_message;
}

/* Judge a complete header against the role, the extensions and the message
 * in progress; limits are checked on the declared length, before payload. */
static int check_header(struct wsm_conn *c, const struct wsm_frame_header *h) {
  /* RFC 6455 5.2: RSV bits only with an extension that gives them meaning;
   * extensions claim them on a message's first frame (RFC 7692 6). */
  unsigned allowed = h->opcode == WSM_OP_TEXT || h->opcode == WSM_OP_BINARY ? c->rsv_allowed : 0;
  if (h->rsv & ~allowed) return WSM_E_RESERVED_BITS;
  if (is_client(c)) {
    if (h->masked) return WSM_E_MASK_FORBIDDEN; /* RFC 6455 5.1 */
  } else if (!h->masked && !(c->cfg_flags & WSM_CFG_ALLOW_UNMASKED)) {
    return WSM_E_MASK_REQUIRED; /* RFC 6455 5.1 */
  }
  if (h->opcode >= WSM_OP_CLOSE) return 0;
  /* RFC 6455 5.4: continuations continue an open message; a new message
   * waits for the open one to end. */
  if (h->opcode == WSM_OP_CONTINUATION) {
    if (!c->rx_msg_begun) return WSM_E_UNEXPECTED_CONTINUATION;
  } else if (c->rx_msg_begun) {
    return WSM_E_EXPECTED_CONTINUATION;
  }
  if (h->payload_len > c->max_frame_payload) return WSM_E_FRAME_TOO_BIG;
  {
    uint64_t limit = message_limit(c);
    uint64_t so_far = h->opcode == WSM_OP_CONTINUATION ? c->rx_msg_len : 0;
    uint32_t frames = h->opcode == WSM_OP_CONTINUATION ? c->rx_fragments : 0;
    if (h->payload_len > limit - so_far) return WSM_E_MESSAGE_TOO_BIG;
    if (frames >= c->max_fragments) return WSM_E_TOO_MANY_FRAGMENTS;
  }
  return 0;
}

static void start_data_frame(struct wsm_conn *c, const struct wsm_frame_header *h) {
  if (h->opcode != WSM_OP_CONTINUATION) {
    c->rx_msg_begun = 1;
    c->rx_msg_delivered = 0;
    c->rx_msg_opcode = h->opcode;
    c->rx_msg_rsv = h->rsv;
    c->rx_msg_len = 0;
    c->rx_fragments = 0;
    wsm_utf8_init(&c->rx_utf8);
  }
  c->rx_fragments++;
  c->rx_msg_len += h->payload_len;
  c->rx_frame_open = 1;
  c->rx_fin = h->fin;
  c->rx_masked = h->masked;
  memcpy(c->rx_mask_key, h->mask_key, 4);
  c->rx_mask_phase = 0;
  c->rx_remaining = h->payload_len;
}

static int handle_close(struct wsm_conn *c, uint8_t *p, size_t len,
                        struct wsm_event *ev) {
  uint16_t code = WSM_CLOSE_NO_STATUS;
  /* RFC 6455 5.5.1: a body, if any, starts with a 2-byte code, then UTF-8. */
  if (len == 1) return fail(c, WSM_E_CLOSE_PAYLOAD_1_BYTE, ev);
  if (len >= 2) {
    code = wsm_load16_be(p);
    if (!wsm_close_code_is_valid(code)) return fail(c, WSM_E_CLOSE_CODE_INVALID, ev);
    if (wsm_utf8_check(p + 2, len - 2) != 0) return fail(c, WSM_E_CLOSE_REASON_UTF8, ev);
  }
  c->close_flags |= CLOSE_RECEIVED;
  c->close_code_received = code;
  if (!(c->close_flags & CLOSE_SENT)) {
    /* RFC 6455 5.5.1: answer with a close, echoing the code. */
    int rc;
    c->close_flags |= CLOSE_PEER_FIRST;
    rc = queue_close(c, code == WSM_CLOSE_NO_STATUS ? 0 : code, NULL, 0);
    if (rc) return fail(c, rc, ev);
  }
  update_closed(c);
  ev->type = WSM_EV_CLOSE;
  ev->close_code = code;
  ev->data = len > 2 ? p + 2 : NULL;
  ev->len = len > 2 ? len - 2 : 0;
  return 0;
}

static int handle_control(struct wsm_conn *c, unsigned opcode, uint8_t *p,
                          size_t len, struct wsm_event *ev) {
  if (opcode == WSM_OP_CLOSE) return handle_close(c, p, len, ev);
  ev->data = len ? p : NULL;
  ev->len = len;
  if (opcode == WSM_OP_PING) {
    ev->type = WSM_EV_PING;
    if (!(c->cfg_flags & WSM_CFG_MANUAL_PONG) && !(c->close_flags & CLOSE_RECEIVED)) {
      int rc = queue_pong(c, p, len);
      if (rc) return fail(c, rc, ev);
    }
  } else {
    ev->type = WSM_EV_PONG;
  }
  return 0;
}

/*
 * Take avail payload bytes of the open data frame: unmask them in place,
 * validate text, and say whether they make an event (1), not (0), or failed.
 */
static int take_payload(struct wsm_conn *c, uint8_t *p, size_t avail,
                        size_t *taken, struct wsm_event *ev) {
  /* the RSV bits an extension set are passed on; its payload (compressed,
   * say) is UTF-8 only after the extension undid it */
  unsigned flags = (unsigned)c->rx_msg_rsv << 4;
  int text = c->rx_msg_opcode == WSM_OP_TEXT && !c->rx_msg_rsv;
  unsigned phase = c->rx_mask_phase;

  *taken = 0;

  if (c->rx_masked && avail) c->rx_mask_phase = (uint8_t)wsm_mask(p, avail, c->rx_mask_key, phase);
  /* RFC 6455 8.1 and Autobahn 6.4: fail at the first invalid byte. */
  if (text && avail && wsm_utf8_feed(&c->rx_utf8, p, avail, NULL) != 0)
    return fail(c, WSM_E_INVALID_UTF8, ev);
  *taken = avail;
  c->rx_remaining -= avail;
  if (c->rx_remaining == 0) {
    flags |= WSM_DATA_FRAME_END;
    c->rx_frame_open = 0;
    if (c->rx_fin) {
      flags |= WSM_DATA_END;
      /* RFC 6455 8.1: a text message ends on a character boundary. */
      if (text && wsm_utf8_finish(&c->rx_utf8) != 0) return fail(c, WSM_E_INVALID_UTF8, ev);
      c->rx_msg_begun = 0;
    }
  }

  if (c->msg_buf) {
    /* Every byte before this chunk was gathered: the limit check on each
     * header keeps the total within msg_cap. */
    size_t fill = (size_t)(c->rx_msg_len - c->rx_remaining - avail);
    int in_place = (flags & WSM_DATA_END) && fill == 0; /* all here: no copy */
    if (!in_place && avail) memcpy(c->msg_buf + fill, p, avail);
    if (!(flags & WSM_DATA_END)) return 0;
    ev->type = WSM_EV_MESSAGE;
    ev->flags = flags;
    ev->opcode = (enum wsm_opcode)c->rx_msg_opcode;
    ev->len = fill + avail;
    ev->data = ev->len == 0 ? NULL : in_place ? p : c->msg_buf;
    return 1;
  }

  if (avail == 0 && !(flags & WSM_DATA_END)) return 0;
  if (!c->rx_msg_delivered) flags |= WSM_DATA_BEGIN;
  c->rx_msg_delivered = 1;
  ev->type = WSM_EV_DATA;
  ev->flags = flags;
  ev->opcode = (enum wsm_opcode)c->rx_msg_opcode;
  ev->data = avail ? p : NULL;
  ev->len = avail;
  return 1;
}

/* The event's base fields; the HTTP head is written only by handshake events,
 * so that the frame path stays cheap. */
static void clear_event(struct wsm_event *ev) {
  ev->type = WSM_EV_NONE;
  ev->flags = 0;
  ev->opcode = WSM_OP_CONTINUATION;
  ev->data = NULL;
  ev->len = 0;
  ev->close_code = 0;
  ev->error = 0;
}

/* ---- the opening handshake ----------------------------------------------- */

static void handshake_done(struct wsm_conn *c) {
  c->state = WSM_STATE_OPEN;
  c->hs_stage = HS_IDLE;
  c->hs_scanned = 0;
  c->hs_protocols = NULL;
  c->hs_protocol_count = 0;
  c->hs_extensions = NULL;
  c->timer = c->ping_interval_ms ? TIMER_KEEPALIVE : TIMER_NONE;
  c->deadline = DEADLINE_UNARMED;
}

/*
 * The handshake failed: a server queues the HTTP error response for it
 * (wsm_handshake_status), and the connection ends once that is written.
 */
static int handshake_fail(struct wsm_conn *c, int err, struct wsm_event *ev) {
  int status = c->role == WSM_ROLE_SERVER ? wsm_handshake_status(err) : 0;
  c->error = (int16_t)err;
  c->close_flags |= CLOSE_FAILED;
  c->timer = TIMER_NONE;
  if (status) {
    size_t n;
    compact_output(c);
    if (wsm_hs_write_reject(status, NULL, 0, NULL, 0, c->out + c->out_tail,
                            sizeof c->out - c->out_tail, &n) == 0) {
      c->out_tail = (uint16_t)(c->out_tail + n);
      c->close_flags |= CLOSE_SENT; /* the last bytes we send are queued */
    }
  }
  c->state = WSM_STATE_CLOSING;
  update_closed(c);
  if (ev) {
    ev->type = WSM_EV_ERROR;
    ev->error = err;
    if (status) ev->http.status = status;
  }
  return err;
}

static int recv_handshake(struct wsm_conn *c, uint8_t *data, size_t len,
                          size_t *consumed, struct wsm_event *ev) {
  int rc;
  if (c->role == WSM_ROLE_SERVER) {
    if (c->hs_stage == HS_ANSWER_DUE) return WSM_E_WRONG_STATE;
    memset(&ev->http, 0, sizeof ev->http);
    rc = wsm_http_parse_request(&ev->http, data, len, c->max_head, &c->hs_scanned);
    if (rc == 0) return 0;
    if (rc < 0) memset(&ev->http, 0, sizeof ev->http); /* no head to show */
    if (rc > 0) rc = wsm_hs_check_request(&ev->http, c->hs_accept);
    if (rc < 0) return handshake_fail(c, rc, ev);
    *consumed = ev->http.head_len;
    c->hs_stage = HS_ANSWER_DUE;
    ev->type = WSM_EV_REQUEST;
    return 0;
  }
  if (c->hs_stage != HS_REQUEST_SENT) return WSM_E_WRONG_STATE;
  memset(&ev->http, 0, sizeof ev->http);
  rc = wsm_http_parse_response(&ev->http, data, len, c->max_head, &c->hs_scanned);
  if (rc == 0) return 0;
  if (rc < 0) memset(&ev->http, 0, sizeof ev->http);
  if (rc > 0)
    rc = wsm_hs_check_response(&ev->http, c->hs_accept, c->hs_protocols,
                               c->hs_protocol_count, c->hs_extensions);
  if (rc < 0) return handshake_fail(c, rc, ev);
  /* RFC 6455 4.1: bytes after the response are frames; they stay unconsumed
   * and come back with the next call. */
  *consumed = ev->http.head_len;
  handshake_done(c);
  ev->type = WSM_EV_RESPONSE;
  return 0;
}

int wsm_conn_client_request(struct wsm_conn *c, const struct wsm_client_request *req,
                            uint8_t *out, size_t out_cap, size_t *written) {
  uint8_t nonce[16], digest[20];
  int rc;
  if (!c || !req || !written || (!out && out_cap)) return WSM_E_INVALID_ARGUMENT;
  if (c->error) return c->error;
  if (c->role != WSM_ROLE_CLIENT || c->state != WSM_STATE_CONNECTING ||
      c->hs_stage != HS_IDLE)
    return WSM_E_WRONG_STATE;
  /* RFC 6455 4.1 item 7: a fresh random 16-byte nonce. */
  if (!c->random) return WSM_E_NO_RANDOM;
  if (c->random(c->random_ctx, nonce, sizeof nonce) != 0) return WSM_E_RANDOM_FAILED;
  rc = wsm_hs_write_request(req, nonce, digest, out, out_cap, written);
  if (rc) return rc;
  memcpy(c->hs_accept, digest, sizeof digest);
  c->hs_protocols = req->protocols;
  c->hs_protocol_count = req->protocol_count;
  c->hs_extensions = req->extensions;
  c->hs_stage = HS_REQUEST_SENT;
  return 0;
}

static int check_answer_due(const struct wsm_conn *c) {
  if (c->error) return c->error;
  if (c->role != WSM_ROLE_SERVER || c->state != WSM_STATE_CONNECTING ||
      c->hs_stage != HS_ANSWER_DUE)
    return WSM_E_WRONG_STATE;
  return 0;
}

int wsm_conn_accept(struct wsm_conn *c, const struct wsm_server_accept *a,
                    uint8_t *out, size_t out_cap, size_t *written) {
  int rc;
  if (!c || !written || (!out && out_cap)) return WSM_E_INVALID_ARGUMENT;
  rc = check_answer_due(c);
  if (rc) return rc;
  rc = wsm_hs_write_accept(a, c->hs_accept, out, out_cap, written);
  if (rc) return rc;
  handshake_done(c);
  return 0;
}

int wsm_conn_reject(struct wsm_conn *c, int status, const struct wsm_http_header *headers,
                    size_t header_count, const uint8_t *body, size_t body_len,
                    uint8_t *out, size_t out_cap, size_t *written) {
  int rc;
  if (!c || !written || (!out && out_cap)) return WSM_E_INVALID_ARGUMENT;
  rc = check_answer_due(c);
  if (rc) return rc;
  rc = wsm_hs_write_reject(status, headers, header_count, body, body_len, out, out_cap,
                           written);
  if (rc) return rc;
  c->hs_stage = HS_IDLE;
  handshake_fail(c, WSM_E_HANDSHAKE_REJECTED, NULL);
  return 0;
}

#if !defined(WSM_NO_SIMD) && (defined(__x86_64__) || defined(_M_X64) || \
                              (defined(__i386__) && defined(__SSE2__)))
#define SHORT_SSE2 1
#include <emmintrin.h>

/*
 * 16 to 125 bytes, 16 at a time, with no byte loop: the last 16 bytes are
 * one more register that overlaps the one before it. It is loaded before any
 * store and stored last, so its overlapping bytes are unmasked once, from
 * the original bytes, like every other. Returns 0x80 if a byte is above 0x7F.
 */
static uint64_t unmask_short_sse2(uint8_t *p, size_t len, const uint8_t *key) {
  __m128i k = _mm_setzero_si128(), k_last = k, last, acc;
  size_t i;
  if (key) {
    uint8_t twice[8];
    int32_t k0, k_at_last;
    memcpy(twice, key, 4);
    memcpy(twice + 4, key, 4);
    memcpy(&k0, twice, 4);
    memcpy(&k_at_last, twice + (len & 3u), 4); /* the last register's phase */
    k = _mm_set1_epi32(k0);
    k_last = _mm_set1_epi32(k_at_last);
  }
  last = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(const void *)(p + len - 16)), k_last);
  acc = last;
  for (i = 0; i + 16 < len; i += 16) {
    __m128i v = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(const void *)(p + i)), k);
    _mm_storeu_si128((__m128i *)(void *)(p + i), v);
    acc = _mm_or_si128(acc, v);
  }
  _mm_storeu_si128((__m128i *)(void *)(p + len - 16), last);
  return _mm_movemask_epi8(acc) ? 0x80u : 0u;
}
#endif

/*
 * Unmask (when key is not NULL) at most a control frame's worth of bytes,
 * inlined, and return a value with a bit of 0x8080808080808080 set if any
 * unmasked byte is above 0x7F (the OR of the bytes, on the word path), so
 * that one pass also tells whether they are all ASCII. The 64-bit key is
 * the 4-byte key twice, which reads the same in either byte order.
 */
static uint64_t unmask_short(uint8_t *p, size_t len, const uint8_t *key) {
  uint64_t k = 0, w, acc = 0;
  uint32_t k32;
  uint8_t *end = p + len, *words_end = p + (len & ~(size_t)7);
#ifdef SHORT_SSE2
  if (len >= 16) return unmask_short_sse2(p, len, key);
#endif
  if (key) {
    memcpy(&k32, key, 4);
    k = (uint64_t)k32 << 32 | k32;
  }
  for (; p != words_end; p += 8) {
    memcpy(&w, p, 8);
    w ^= k;
    acc |= w;
    memcpy(p, &w, 8);
  }
  /* the tail starts at a multiple of 8: key byte i % 4 for its i-th byte */
  for (unsigned i = 0; p != end; p++, i++) acc |= *p ^= key ? key[i & 3u] : 0;
  return acc;
}

static void small_message_event(struct wsm_event *ev, unsigned b0, uint8_t *p, size_t plen) {
  ev->type = WSM_EV_DATA;
  ev->flags = WSM_DATA_BEGIN | WSM_DATA_END | WSM_DATA_FRAME_END;
  ev->opcode = (enum wsm_opcode)(b0 & 0x0Fu);
  ev->data = plen ? p : NULL;
  ev->len = plen;
  ev->close_code = 0;
  ev->error = 0;
}

/* A short text message with bytes above 0x7F: the full UTF-8 check, out of
 * the short path's way. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((noinline))
#endif
static int small_text_check(struct wsm_conn *c, uint8_t *p, size_t plen, size_t frame_len,
                            size_t *consumed, struct wsm_event *ev) {
  /* RFC 6455 8.1: text must be valid UTF-8, whole. */
  if (wsm_utf8_check(p, plen) != 0) {
    clear_event(ev);
    *consumed = 0;
    return fail(c, WSM_E_INVALID_UTF8, ev);
  }
  *consumed = frame_len;
  small_message_event(ev, WSM_OP_TEXT | 0x80u, p, plen);
  return 1;
}

/*
 * The common case, on a short path: in OPEN with no frame or message open
 * and no message buffer, a whole unfragmented text or binary frame of at
 * most 125 bytes, no RSV bits, masked as the role requires. It makes one
 * event. Returns 1 when it took the frame, 0 when the general path must
 * look, or a failure.
 */
static int recv_small_message(struct wsm_conn *c, uint8_t *p, size_t avail,
                              size_t *consumed, struct wsm_event *ev) {
  unsigned b0 = p[0], b1 = p[1], masked = b1 >> 7;
  size_t plen = b1 & 0x7Fu, hlen = masked ? 6 : 2;
  uint64_t seen;
  /* masked == role: an unmasked frame to a server (role 0) or a masked one
   * to a client (role 1); the general path reports those */
  if ((b0 != 0x81u && b0 != 0x82u) || plen > c->rx_small_max || masked == c->role ||
      avail < hlen + plen)
    return 0;
  c->rx_activity = 1;
  p += hlen;
  seen = unmask_short(p, plen, masked ? p - 4 : NULL);
  if (b0 == 0x81u && (seen & UINT64_C(0x8080808080808080)))
    return small_text_check(c, p, plen, hlen + plen, consumed, ev);
  *consumed = hlen + plen;
  small_message_event(ev, b0, p, plen);
  return 1;
}

/* Everything but the short path: kept out of line, so that the short path
 * does not pay for its registers. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((noinline))
#endif
static int recv_general(struct wsm_conn *c, uint8_t *data, size_t len,
                        size_t *consumed, struct wsm_event *ev) {
  size_t pos = 0;
  unsigned decode_flags;

  clear_event(ev);
  *consumed = 0;
  if (c->error) return c->error;
  if (!data && len) return WSM_E_INVALID_ARGUMENT;
  if (c->state == WSM_STATE_CONNECTING) return recv_handshake(c, data, len, consumed, ev);
  if (c->close_flags & (CLOSE_RECEIVED | CLOSE_EOF | CLOSE_EXPIRED)) {
    *consumed = len; /* RFC 6455 5.5.1: nothing is read after a close */
    return 0;
  }
  if (len == 0) return 0;
  c->rx_activity = 1;
  decode_flags = (c->cfg_flags & WSM_CFG_ALLOW_NON_MINIMAL_LENGTH)
                     ? WSM_FRAME_ALLOW_NON_MINIMAL_LENGTH
                     : 0u;

  for (;;) {
    size_t avail, taken;
    int rc;
    if (!c->rx_frame_open) {
      struct wsm_frame_header h;
      size_t hlen;
      rc = wsm_frame_decode(&h, data + pos, len - pos, decode_flags);
      if (rc == 0) break;
      hlen = rc > 0 ? (size_t)rc : 0;
      if (rc > 0) rc = check_header(c, &h);
      if (rc < 0) {
        *consumed = pos;
        return fail(c, rc, ev);
      }
      if (h.opcode >= WSM_OP_CLOSE) {
        uint8_t *payload = data + pos + hlen;
        size_t plen = (size_t)h.payload_len;
        if (len - pos - hlen < plen) break; /* present the whole frame again */
        if (h.masked) wsm_mask(payload, plen, h.mask_key, 0);
        pos += hlen + plen;
        *consumed = pos;
        return handle_control(c, h.opcode, payload, plen, ev);
      }
      start_data_frame(c, &h);
      pos += hlen;
    }
    avail = len - pos;
    if ((uint64_t)avail > c->rx_remaining) avail = (size_t)c->rx_remaining;
    if (avail == 0 && c->rx_remaining != 0) break;
    rc = take_payload(c, data + pos, avail, &taken, ev);
    pos += taken;
    if (rc != 0) {
      *consumed = pos;
      return rc < 0 ? rc : 0;
    }
  }
  *consumed = pos;
  return 0;
}

int wsm_conn_recv(struct wsm_conn *c, uint8_t *data, size_t len,
                  size_t *consumed, struct wsm_event *ev) {
  if (c->state == WSM_STATE_OPEN && !c->rx_frame_open && !c->rx_msg_begun && !c->msg_buf &&
      len >= 2 && data) {
    int rc = recv_small_message(c, data, len, consumed, ev);
    if (rc) return rc < 0 ? rc : 0;
  }
  return recv_general(c, data, len, consumed, ev);
}

int wsm_conn_recv_eof(struct wsm_conn *c) {
  unsigned f = c->close_flags;
  int clean = (f & CLOSE_RECEIVED) && (f & CLOSE_SENT);
  c->close_flags |= CLOSE_EOF;
  update_closed(c);
  c->timer = TIMER_NONE; /* nothing is left to wait for */
  if (clean || c->error) return c->error;
  c->error = WSM_E_ABNORMAL_CLOSURE;
  return WSM_E_ABNORMAL_CLOSURE;
}

/* ---- sending ------------------------------------------------------------ */

static int check_can_send(const struct wsm_conn *c) {
  if (c->error) return c->error;
  if (c->close_flags & CLOSE_SENT) return WSM_E_CLOSE_SENT;
  if (c->state != WSM_STATE_OPEN) return WSM_E_WRONG_STATE;
  return 0;
}

/* Which opcode the next frame of a message of type opcode carries. */
static int data_frame_opcode(const struct wsm_conn *c, enum wsm_opcode opcode,
                             unsigned *frame_opcode) {
  if (opcode != WSM_OP_TEXT && opcode != WSM_OP_BINARY) return WSM_E_INVALID_ARGUMENT;
  if (c->tx_msg_open) {
    if (opcode != c->tx_msg_opcode) return WSM_E_MESSAGE_OPEN;
    *frame_opcode = WSM_OP_CONTINUATION;
  } else {
    *frame_opcode = opcode;
  }
  return 0;
}

static void commit_data_frame(struct wsm_conn *c, enum wsm_opcode opcode,
                              unsigned flags, int checked) {
  if (!c->tx_msg_open) {
    c->tx_msg_opcode = (uint8_t)opcode;
    c->tx_check = (uint8_t)checked;
    wsm_utf8_init(&c->tx_utf8);
  }
  c->tx_msg_open = !(flags & WSM_SEND_FIN);
}

int wsm_conn_send(struct wsm_conn *c, enum wsm_opcode opcode,
                  const uint8_t *data, size_t len, unsigned flags,
                  uint8_t *out, size_t out_cap, size_t *written) {
  unsigned frame_opcode;
  size_t need;
  int fin = (flags & WSM_SEND_FIN) != 0;
  int check;
  struct wsm_utf8 utf8;
  int rc = check_can_send(c);

  if (rc) return rc;
  if ((!data && len) || !written || (!out && out_cap)) return WSM_E_INVALID_ARGUMENT;
  rc = data_frame_opcode(c, opcode, &frame_opcode);
  if (rc) return rc;
  need = wsm_frame_header_size(len, is_client(c));
  *written = len > SIZE_MAX - need ? SIZE_MAX : need + len;
  if (out_cap < need || out_cap - need < len) return WSM_E_BUFFER_TOO_SMALL;

  /* RFC 6455 5.6: text is UTF-8, checked across the frames of a message. */
  check = opcode == WSM_OP_TEXT && !(c->cfg_flags & WSM_CFG_NO_SEND_UTF8_CHECK) &&
          (c->tx_msg_open ? c->tx_check : 1);
  if (check) {
    if (c->tx_msg_open) utf8 = c->tx_utf8;
    else wsm_utf8_init(&utf8);
    if (wsm_utf8_feed(&utf8, data, len, NULL) != 0 ||
        (fin && wsm_utf8_finish(&utf8) != 0))
      return WSM_E_INVALID_UTF8_SEND;
  }
  rc = write_frame(c, out, frame_opcode, fin, data, len, written);
  if (rc) return rc;
  commit_data_frame(c, opcode, flags, check);
  if (check) c->tx_utf8 = utf8;
  return 0;
}

int wsm_conn_send_header(struct wsm_conn *c, enum wsm_opcode opcode,
                         uint64_t len, unsigned flags,
                         uint8_t hdr[WSM_FRAME_HEADER_MAX], size_t *hdr_len,
                         uint8_t mask_key[4]) {
  struct wsm_frame_header h;
  unsigned frame_opcode;
  int rc = check_can_send(c);
  if (rc) return rc;
  if (!hdr || !hdr_len || (is_client(c) && !mask_key)) return WSM_E_INVALID_ARGUMENT;
  if (len >> 63) return WSM_E_INVALID_ARGUMENT;
  rc = data_frame_opcode(c, opcode, &frame_opcode);
  if (rc) return rc;
  h.fin = (uint8_t)((flags & WSM_SEND_FIN) != 0);
  h.rsv = 0;
  h.opcode = (uint8_t)frame_opcode;
  h.masked = (uint8_t)is_client(c);
  h.payload_len = len;
  if (h.masked) {
    rc = new_mask_key(c, h.mask_key);
    if (rc) return rc;
    memcpy(mask_key, h.mask_key, 4);
  }
  *hdr_len = wsm_frame_encode(hdr, &h);
  /* The payload is not seen here, so the rest of this message goes
   * unchecked too. */
  commit_data_frame(c, opcode, flags, 0);
  c->tx_check = 0;
  return 0;
}

int wsm_conn_send_control(struct wsm_conn *c, enum wsm_opcode opcode,
                          const uint8_t *data, size_t len, uint8_t *out,
                          size_t out_cap, size_t *written) {
  size_t need;
  if (c->error) return c->error;
  /* RFC 6455 5.5.2: a pong is owed to every ping until the peer's close,
   * even after ours; pings stop with our close. */
  if ((c->close_flags & CLOSE_SENT) &&
      (opcode != WSM_OP_PONG || (c->close_flags & CLOSE_RECEIVED)))
    return WSM_E_CLOSE_SENT;
  if (c->state != WSM_STATE_OPEN && c->state != WSM_STATE_CLOSING) return WSM_E_WRONG_STATE;
  if ((opcode != WSM_OP_PING && opcode != WSM_OP_PONG) || (!data && len) ||
      !written || (!out && out_cap))
    return WSM_E_INVALID_ARGUMENT;
  if (len > WSM_CONTROL_PAYLOAD_MAX) return WSM_E_CONTROL_TOO_LONG;
  need = control_header_size(c) + len;
  *written = need;
  if (out_cap < need) return WSM_E_BUFFER_TOO_SMALL;
  return write_frame(c, out, opcode, 1, data, len, written);
}

int wsm_conn_close(struct wsm_conn *c, uint16_t code, const char *reason,
                   size_t reason_len) {
  if (c->error) return c->error;
  if (c->close_flags & CLOSE_SENT) return WSM_E_CLOSE_SENT;
  if (c->state != WSM_STATE_OPEN) return WSM_E_WRONG_STATE;
  if (code == 0 && reason_len) return WSM_E_INVALID_ARGUMENT;
  if (code && !wsm_close_code_is_valid(code)) return WSM_E_INVALID_CLOSE_CODE;
  if (reason_len > WSM_CLOSE_REASON_MAX || (!reason && reason_len))
    return WSM_E_INVALID_ARGUMENT;
  if (wsm_utf8_check((const uint8_t *)reason, reason_len) != 0)
    return WSM_E_INVALID_UTF8_SEND;
  return queue_close(c, code, (const uint8_t *)reason, reason_len);
}

/* ---- lifecycle and time ------------------------------------------------- */

enum wsm_transport wsm_conn_transport(const struct wsm_conn *c) {
  if (c->close_flags & (CLOSE_EOF | CLOSE_EXPIRED)) return WSM_TRANSPORT_CLOSE;
  if (c->state != WSM_STATE_CLOSED) return WSM_TRANSPORT_KEEP;
  /* what is queued (a pong after our close) goes out first */
  if (c->out_tail != c->out_head) return WSM_TRANSPORT_KEEP;
  if (!is_client(c) || (c->close_flags & CLOSE_FAILED)) return WSM_TRANSPORT_CLOSE;
  return WSM_TRANSPORT_AWAIT_PEER;
}

void wsm_conn_close_info(const struct wsm_conn *c, struct wsm_close_info *info) {
  info->code_received = c->close_code_received;
  info->code_sent = c->close_code_sent;
  info->error = c->error;
  info->peer_closed_first = (c->close_flags & CLOSE_PEER_FIRST) != 0;
}

static uint64_t deadline_after(uint64_t now, uint32_t ms) {
  uint64_t t = now + ms;
  if (t < now) return UINT64_MAX;
  return t == DEADLINE_UNARMED ? 1 : t;
}

static int tick_close(struct wsm_conn *c, uint64_t now_ms) {
  if (c->deadline == DEADLINE_UNARMED) {
    c->deadline = deadline_after(now_ms, c->close_timeout_ms);
    return c->error;
  }
  if (now_ms < c->deadline) return c->error;
  c->timer = TIMER_NONE;
  c->close_flags |= CLOSE_EXPIRED;
  /* A client in CLOSED only gave the server time to close first. */
  if (c->state != WSM_STATE_CLOSED && !c->error) c->error = WSM_E_CLOSE_TIMEOUT;
  update_closed(c);
  return c->error;
}

static int tick_keepalive(struct wsm_conn *c, uint64_t now_ms) {
  if (c->deadline == DEADLINE_UNARMED || c->rx_activity) {
    /* Anything from the peer proves it alive: restart the wait. */
    c->rx_activity = 0;
    c->ping_outstanding = 0;
    c->deadline = deadline_after(now_ms, c->ping_interval_ms);
    return 0;
  }
  if (now_ms < c->deadline) return 0;
  if (c->ping_outstanding) return fail(c, WSM_E_PING_TIMEOUT, NULL);
  /* Queue the ping only into an empty queue: while the host is not
   * draining, the link is backed up and a ping would prove nothing; try
   * again after another interval. */
  if (c->out_tail != c->out_head) {
    c->deadline = deadline_after(now_ms, c->ping_interval_ms);
    return 0;
  }
  {
    size_t size;
    int rc = append_control(c, WSM_OP_PING, NULL, 0, &size);
    if (rc) return fail(c, rc, NULL);
  }
  c->ping_outstanding = 1;
  c->deadline = deadline_after(now_ms, c->ping_timeout_ms);
  return 0;
}

int wsm_conn_tick(struct wsm_conn *c, uint64_t now_ms) {
  if (c->timer == TIMER_CLOSE) return tick_close(c, now_ms);
  if (c->timer == TIMER_HANDSHAKE) {
    if (c->deadline == DEADLINE_UNARMED)
      c->deadline = deadline_after(now_ms, c->handshake_timeout_ms);
    else if (now_ms >= c->deadline)
      return handshake_fail(c, WSM_E_HANDSHAKE_TIMEOUT, NULL);
    return c->error;
  }
  if (c->timer == TIMER_KEEPALIVE && c->state == WSM_STATE_OPEN && !c->error)
    return tick_keepalive(c, now_ms);
  return c->error;
}

uint64_t wsm_conn_expiry(const struct wsm_conn *c) {
  if (c->timer == TIMER_NONE) return UINT64_MAX;
  if (c->timer == TIMER_KEEPALIVE && c->state != WSM_STATE_OPEN) return UINT64_MAX;
  return c->deadline; /* 0 when a timer waits to learn the time */
}
