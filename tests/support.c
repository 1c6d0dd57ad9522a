/* SPDX-License-Identifier: MIT */
#include "support.h"

#include <stdlib.h>
#include <string.h>

static const uint8_t default_key[4] = {0x37, 0xfa, 0x21, 0x3d};

size_t t_frame(uint8_t *out, int fin, unsigned rsv, unsigned opcode,
               const uint8_t *key, const void *payload, size_t len, int len_form) {
  size_t n = 0;
  uint64_t l = len;
  int form = len_form ? len_form : (len < 126 ? 7 : len <= 0xFFFF ? 16 : 64);
  out[n++] = (uint8_t)((fin ? 0x80 : 0) | (rsv & 7) << 4 | (opcode & 0xF));
  uint8_t mbit = key ? 0x80 : 0;
  if (form == 7) {
    out[n++] = (uint8_t)(mbit | l);
  } else if (form == 16) {
    out[n++] = (uint8_t)(mbit | 126);
    out[n++] = (uint8_t)(l >> 8);
    out[n++] = (uint8_t)l;
  } else {
    out[n++] = (uint8_t)(mbit | 127);
    for (int s = 56; s >= 0; s -= 8) out[n++] = (uint8_t)(l >> s);
  }
  if (key) {
    memcpy(out + n, key, 4);
    n += 4;
  }
  for (size_t i = 0; i < len; i++) {
    uint8_t b = ((const uint8_t *)payload)[i];
    out[n + i] = key ? (uint8_t)(b ^ key[i % 4]) : b;
  }
  return n + len;
}

size_t t_cframe(uint8_t *out, int fin, unsigned opcode, const void *payload, size_t len) {
  return t_frame(out, fin, 0, opcode, default_key, payload, len, 0);
}

size_t t_sframe(uint8_t *out, int fin, unsigned opcode, const void *payload, size_t len) {
  return t_frame(out, fin, 0, opcode, NULL, payload, len, 0);
}

int t_random(void *ctx, uint8_t *buf, size_t len) {
  uint32_t *s = ctx;
  for (size_t i = 0; i < len; i++) {
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    buf[i] = (uint8_t)*s;
  }
  return 0;
}

void t_log_init(struct t_log *log) { memset(log, 0, sizeof *log); }

void t_log_free(struct t_log *log) {
  for (size_t i = 0; i < log->n; i++) free(log->recs[i].data);
  free(log->recs);
  free(log->partial);
  memset(log, 0, sizeof *log);
}

static void push(struct t_log *log, int type, int opcode, uint16_t code, int error,
                 const uint8_t *data, size_t len) {
  if (log->n == log->cap) {
    log->cap = log->cap ? log->cap * 2 : 16;
    log->recs = realloc(log->recs, log->cap * sizeof *log->recs);
    assert_non_null(log->recs);
  }
  struct t_rec *r = &log->recs[log->n++];
  r->type = type;
  r->opcode = opcode;
  r->close_code = code;
  r->error = error;
  r->len = len;
  r->data = malloc(len + 1);
  assert_non_null(r->data);
  if (len) memcpy(r->data, data, len);
}

static void append_partial(struct t_log *log, const uint8_t *data, size_t len) {
  if (log->partial_len + len > log->partial_cap) {
    log->partial_cap = (log->partial_len + len) * 2 + 64;
    log->partial = realloc(log->partial, log->partial_cap);
    assert_non_null(log->partial);
  }
  if (len) memcpy(log->partial + log->partial_len, data, len);
  log->partial_len += len;
}

void t_record(struct t_log *log, const struct wsm_event *ev) {
  log->events++;
  switch (ev->type) {
  case WSM_EV_DATA:
    /* The flags must tell a consistent story. */
    if (ev->flags & WSM_DATA_BEGIN) {
      assert_false(log->in_message);
      log->in_message = 1;
      log->partial_len = 0;
      log->partial_opcode = ev->opcode;
    }
    assert_true(log->in_message);
    assert_int_equal(ev->opcode, log->partial_opcode);
    assert_true(ev->len == 0 || ev->data != NULL);
    append_partial(log, ev->data, ev->len);
    if (ev->flags & WSM_DATA_END) {
      assert_true(ev->flags & WSM_DATA_FRAME_END);
      push(log, WSM_EV_MESSAGE, ev->opcode, 0, 0, log->partial, log->partial_len);
      log->in_message = 0;
    }
    break;
  case WSM_EV_REQUEST:
    push(log, ev->type, 0, 0, 0, (const uint8_t *)ev->http.target, ev->http.target_len);
    break;
  case WSM_EV_RESPONSE:
    push(log, ev->type, ev->http.status, 0, 0, (const uint8_t *)ev->http.reason,
         ev->http.reason_len);
    break;
  case WSM_EV_ERROR:
    /* How much of a failed message came before the fault depends on how
     * the input was cut, so it is not recorded. */
    log->in_message = 0;
    push(log, ev->type, ev->http.status, ev->close_code, ev->error, NULL, 0);
    break;
  default:
    push(log, ev->type, ev->opcode, ev->close_code, ev->error, ev->data, ev->len);
    break;
  }
}

static size_t next_piece(enum t_split split, uint32_t *seed, size_t left) {
  size_t k;
  if (split == T_WHOLE) return left;
  if (split == T_BYTES) return 1;
  t_random(seed, (uint8_t *)&k, sizeof k);
  switch (k % 4) {
  case 0: k = 1 + (k >> 8) % 3; break;
  case 1: k = 1 + (k >> 8) % 17; break;
  case 2: k = 1 + (k >> 8) % 200; break;
  default: k = 1 + (k >> 8) % 5000; break;
  }
  return k < left ? k : left;
}

int t_feed(struct wsm_conn *c, const uint8_t *in, size_t len, enum t_split split,
           unsigned seed, struct t_log *log) {
  uint8_t *buf = malloc(len + 1);
  size_t have = 0, fed = 0;
  uint32_t s = seed ? seed : 1;
  int rc = 0;
  assert_non_null(buf);
  while (fed < len || have) {
    size_t k = next_piece(split, &s, len - fed);
    memcpy(buf + have, in + fed, k);
    have += k;
    fed += k;
    for (;;) {
      size_t used = 0;
      struct wsm_event ev;
      memset(&ev, 0, sizeof ev); /* frame events leave ev.http untouched */
      rc = wsm_conn_recv(c, buf, have, &used, &ev);
      assert_true(used <= have);
      if (ev.type != WSM_EV_NONE) t_record(log, &ev); /* before data moves */
      if (ev.type == WSM_EV_REQUEST && log->auto_accept) {
        uint8_t resp[2048];
        size_t n;
        assert_int_equal(wsm_conn_accept(c, log->accept, resp, sizeof resp, &n), 0);
        push(log, T_ACCEPTED, 0, 0, 0, resp, n);
      }
      memmove(buf, buf + used, have - used);
      have -= used;
      if (rc < 0) {
        assert_int_equal(ev.type, ev.error ? WSM_EV_ERROR : WSM_EV_NONE);
        goto out;
      }
      if (ev.type == WSM_EV_NONE) break;
    }
    if (have > log->max_held) log->max_held = have;
    if (fed == len) break;
  }
out:
  if (log->in_message && rc == 0 && log->partial_len) {
    /* input ended inside a message: keep what arrived */
    push(log, WSM_EV_DATA, log->partial_opcode, 0, 0, log->partial, log->partial_len);
    log->in_message = 0;
  }
  log->rc = rc;
  free(buf);
  return rc;
}

void t_assert_logs_equal(const struct t_log *a, const struct t_log *b) {
  assert_int_equal(a->n, b->n);
  assert_int_equal(a->rc, b->rc);
  for (size_t i = 0; i < a->n; i++) {
    const struct t_rec *x = &a->recs[i], *y = &b->recs[i];
    assert_int_equal(x->type, y->type);
    assert_int_equal(x->opcode, y->opcode);
    assert_int_equal(x->close_code, y->close_code);
    assert_int_equal(x->error, y->error);
    assert_int_equal(x->len, y->len);
    assert_memory_equal(x->data, y->data, x->len);
  }
}

size_t t_peek(struct wsm_conn *c, uint8_t *out, size_t cap) {
  const uint8_t *p;
  size_t n = wsm_conn_output(c, &p);
  assert_true(n <= cap);
  memcpy(out, p, n);
  return n;
}

size_t t_drain(struct wsm_conn *c, uint8_t *out, size_t cap) {
  const uint8_t *p;
  size_t n = wsm_conn_output(c, &p);
  assert_true(n <= cap);
  memcpy(out, p, n);
  assert_int_equal(wsm_conn_output_ack(c, n), 0);
  return n;
}

static void setup_open(struct wsm_conn *c, const struct wsm_config *cfg, void *ctx) {
  (void)ctx;
  assert_int_equal(wsm_conn_init_open(c, cfg), 0);
}

void t_feed_all_ways(const struct wsm_config *cfg, const uint8_t *in, size_t len,
                     struct t_log *log_out, struct wsm_conn *c_out) {
  t_feed_all_ways_setup(cfg, setup_open, NULL, NULL, in, len, log_out, c_out);
}

void t_feed_all_ways_setup(const struct wsm_config *cfg, t_setup_fn setup, void *ctx,
                           const struct t_log *proto, const uint8_t *in, size_t len,
                           struct t_log *log_out, struct wsm_conn *c_out) {
  struct wsm_config k = *cfg;
  uint32_t rs;
  struct wsm_conn ref;
  struct t_log ref_log;
  uint8_t ref_out[512], out[512];
  size_t ref_out_len;

  k.random = t_random;
  k.random_ctx = &rs;
  rs = 12345;
  setup(&ref, &k, ctx);
  t_log_init(&ref_log);
  if (proto) {
    ref_log.auto_accept = proto->auto_accept;
    ref_log.accept = proto->accept;
  }
  t_feed(&ref, in, len, T_WHOLE, 0, &ref_log);
  ref_out_len = t_peek(&ref, ref_out, sizeof ref_out);
  /* Framing never makes the host hold more than one control frame. */
  if (setup == setup_open) assert_true(ref_log.max_held <= WSM_RECV_HOLD_MAX);

  for (int run = 0; run < 17; run++) {
    struct wsm_conn c;
    struct t_log log;
    rs = 12345;
    setup(&c, &k, ctx);
    t_log_init(&log);
    log.auto_accept = ref_log.auto_accept;
    log.accept = ref_log.accept;
    t_feed(&c, in, len, run == 0 ? T_BYTES : T_RANDOM, (unsigned)run * 7919u, &log);
    t_assert_logs_equal(&ref_log, &log);
    if (setup == setup_open) assert_true(log.max_held <= WSM_RECV_HOLD_MAX);
    /* Queued replies may differ only where a newer ping replaced a pong
     * that a finer split had not yet been asked for; compare the final
     * state of the queue. */
    size_t n = t_peek(&c, out, sizeof out);
    assert_int_equal(n, ref_out_len);
    assert_memory_equal(out, ref_out, n);
    assert_int_equal(wsm_conn_state(&c), wsm_conn_state(&ref));
    t_log_free(&log);
  }
  if (c_out) *c_out = ref;
  if (log_out) *log_out = ref_log;
  else t_log_free(&ref_log);
}
