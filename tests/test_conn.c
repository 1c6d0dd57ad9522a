/* SPDX-License-Identifier: MIT */
/*
 * The connection state machine against RFC 6455 sections 5 and 7. Every
 * input goes through t_feed_all_ways(): whole, byte by byte and in random
 * splits, with identical events required. Case numbers in comments refer to
 * the Autobahn TestSuite sections the tests are framed after.
 */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct wsm_config server_cfg(void) {
  struct wsm_config cfg;
  wsm_config_init(&cfg, WSM_ROLE_SERVER);
  return cfg;
}

static struct wsm_config client_cfg(void) {
  struct wsm_config cfg;
  wsm_config_init(&cfg, WSM_ROLE_CLIENT);
  return cfg;
}

/* Feed all ways as a server; expect exactly one error at the end. */
static void expect_failure(const struct wsm_config *cfg, const uint8_t *in, size_t len,
                           int err, uint16_t close_code) {
  struct t_log log;
  struct wsm_conn c;
  struct wsm_close_info info;
  t_feed_all_ways(cfg, in, len, &log, &c);
  assert_int_equal(log.rc, err);
  assert_true(log.n >= 1);
  assert_int_equal(log.recs[log.n - 1].type, WSM_EV_ERROR);
  assert_int_equal(log.recs[log.n - 1].error, err);
  assert_int_equal(log.recs[log.n - 1].close_code, close_code);
  wsm_conn_close_info(&c, &info);
  assert_int_equal(info.error, err);
  assert_int_equal(info.code_sent, close_code);
  /* Sticky: nothing more is consumed, the same error comes back. */
  {
    uint8_t more[4] = {0x81, 0x80, 0, 0};
    size_t used = 99;
    struct wsm_event ev;
    assert_int_equal(wsm_conn_recv(&c, more, sizeof more, &used, &ev), err);
    assert_int_equal(used, 0);
    assert_int_equal(ev.type, WSM_EV_NONE);
  }
  /* The close frame the peer is told is queued, with the right code. */
  if (close_code) {
    const uint8_t *out;
    size_t n = wsm_conn_output(&c, &out);
    assert_true(n >= 4);
    assert_int_equal(out[0], 0x88);
    if (out[1] & 0x80) /* a client's frame: unmask the code */
      assert_int_equal((out[6] ^ out[2]) << 8 | (out[7] ^ out[3]), close_code);
    else
      assert_int_equal(out[2] << 8 | out[3], close_code);
  }
  t_log_free(&log);
}

static void expect_server_failure(const uint8_t *in, size_t len, int err, uint16_t code) {
  struct wsm_config cfg = server_cfg();
  expect_failure(&cfg, in, len, err, code);
}

/* ---- RFC 6455 5.7 examples, byte for byte ------------------------------- */

static void test_conn_rfc_example_unmasked_text(void **state) {
  (void)state;
  static const uint8_t in[] = {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
  struct wsm_config cfg = client_cfg();
  struct t_log log;
  t_feed_all_ways(&cfg, in, sizeof in, &log, NULL);
  assert_int_equal(log.n, 1);
  assert_int_equal(log.recs[0].type, WSM_EV_MESSAGE);
  assert_int_equal(log.recs[0].opcode, WSM_OP_TEXT);
  assert_int_equal(log.recs[0].len, 5);
  assert_memory_equal(log.recs[0].data, "Hello", 5);
  t_log_free(&log);
}

static void test_conn_rfc_example_masked_text(void **state) {
  (void)state;
  static const uint8_t in[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                               0x7f, 0x9f, 0x4d, 0x51, 0x58};
  struct wsm_config cfg = server_cfg();
  struct t_log log;
  t_feed_all_ways(&cfg, in, sizeof in, &log, NULL);
  assert_int_equal(log.n, 1);
  assert_int_equal(log.recs[0].len, 5);
  assert_memory_equal(log.recs[0].data, "Hello", 5);
  t_log_free(&log);
}

static void test_conn_rfc_example_fragmented_text(void **state) {
  (void)state;
  static const uint8_t in[] = {0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f};
  struct wsm_config cfg = client_cfg();
  struct t_log log;
  t_feed_all_ways(&cfg, in, sizeof in, &log, NULL);
  assert_int_equal(log.n, 1);
  assert_int_equal(log.recs[0].type, WSM_EV_MESSAGE);
  assert_memory_equal(log.recs[0].data, "Hello", 5);
  t_log_free(&log);
}

static void test_conn_rfc_example_ping_gets_identical_pong(void **state) {
  (void)state;
  /* Unmasked ping to a client: the pong goes back masked, same payload. */
  static const uint8_t in[] = {0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
  struct wsm_config cfg = client_cfg();
  struct t_log log;
  struct wsm_conn c;
  uint8_t out[64];
  t_feed_all_ways(&cfg, in, sizeof in, &log, &c);
  assert_int_equal(log.n, 1);
  assert_int_equal(log.recs[0].type, WSM_EV_PING);
  assert_memory_equal(log.recs[0].data, "Hello", 5);
  size_t n = t_drain(&c, out, sizeof out);
  assert_int_equal(n, 2 + 4 + 5);
  assert_int_equal(out[0], 0x8a);
  assert_int_equal(out[1], 0x85);
  for (int i = 0; i < 5; i++) out[6 + i] ^= out[2 + i % 4];
  assert_memory_equal(out + 6, "Hello", 5);
  t_log_free(&log);
}

static void test_conn_rfc_example_masked_pong(void **state) {
  (void)state;
  static const uint8_t in[] = {0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                               0x7f, 0x9f, 0x4d, 0x51, 0x58};
  struct wsm_config cfg = server_cfg();
  struct t_log log;
  t_feed_all_ways(&cfg, in, sizeof in, &log, NULL);
  assert_int_equal(log.n, 1);
  assert_int_equal(log.recs[0].type, WSM_EV_PONG);
  assert_memory_equal(log.recs[0].data, "Hello", 5);
  t_log_free(&log);
}

static void test_conn_rfc_example_binary_256_and_64k(void **state) {
  (void)state;
  size_t sizes[] = {256, 65536};
  struct wsm_config cfg = client_cfg();
  for (int k = 0; k < 2; k++) {
    size_t len = sizes[k];
    uint8_t *in = malloc(len + 10);
    size_t hl;
    in[0] = 0x82;
    if (len == 256) {
      static const uint8_t h[] = {0x7e, 0x01, 0x00};
      memcpy(in + 1, h, 3);
      hl = 4;
    } else {
      static const uint8_t h[] = {0x7f, 0, 0, 0, 0, 0, 1, 0, 0};
      memcpy(in + 1, h, 9);
      hl = 10;
    }
    for (size_t i = 0; i < len; i++) in[hl + i] = (uint8_t)(i * 7);
    struct t_log log;
    t_feed_all_ways(&cfg, in, hl + len, &log, NULL);
    assert_int_equal(log.n, 1);
    assert_int_equal(log.recs[0].opcode, WSM_OP_BINARY);
    assert_int_equal(log.recs[0].len, len);
    assert_memory_equal(log.recs[0].data, in + hl, len);
    t_log_free(&log);
    free(in);
  }
}

static void test_conn_rfc_example_send_bytes(void **state) {
  (void)state;
  static const uint8_t want_server[] = {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
  static const uint8_t want_client[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                        0x7f, 0x9f, 0x4d, 0x51, 0x58};
  struct wsm_conn s, c;
  struct wsm_config cfg = client_cfg();
  uint8_t out[32];
  size_t n;
  /* a random source that yields the RFC's key */
  struct {
    uint8_t key[4];
  } fixed = {{0x37, 0xfa, 0x21, 0x3d}};
  cfg.random = (wsm_random_fn)0;
  assert_int_equal(wsm_conn_init_open(&s, NULL), 0);
  assert_int_equal(wsm_conn_send(&s, WSM_OP_TEXT, (const uint8_t *)"Hello", 5,
                                 WSM_SEND_FIN, out, sizeof out, &n), 0);
  assert_int_equal(n, sizeof want_server);
  assert_memory_equal(out, want_server, n);

  (void)fixed;
  cfg.random = NULL;
  {
    /* feed t_random's state so that it is irrelevant: use a dedicated hook */
    extern int fixed_key_random(void *, uint8_t *, size_t);
    cfg.random = fixed_key_random;
  }
  assert_int_equal(wsm_conn_init_open(&c, &cfg), 0);
  assert_int_equal(wsm_conn_send(&c, WSM_OP_TEXT, (const uint8_t *)"Hello", 5,
                                 WSM_SEND_FIN, out, sizeof out, &n), 0);
  assert_int_equal(n, sizeof want_client);
  assert_memory_equal(out, want_client, n);
}

int fixed_key_random(void *ctx, uint8_t *buf, size_t len);
int fixed_key_random(void *ctx, uint8_t *buf, size_t len) {
  static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
  (void)ctx;
  for (size_t i = 0; i < len; i++) buf[i] = key[i % 4];
  return 0;
}

/* ---- frame rules (Autobahn 1.x, 2.x, 3.x, 4.x, 5.x) --------------------- */

static void test_conn_frame_lengths_7_16_64(void **state) {
  (void)state;
  size_t sizes[] = {0, 1, 125, 126, 127, 65535, 65536, 200000};
  struct wsm_config cfg = server_cfg();
  for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
    size_t len = sizes[k];
    uint8_t *p = malloc(len + 1), *in = malloc(len + 14);
    for (size_t i = 0; i < len; i++) p[i] = (uint8_t)(i * 31 + 7);
    size_t n = t_cframe(in, 1, WSM_OP_BINARY, p, len);
    struct t_log log;
    t_feed_all_ways(&cfg, in, n, &log, NULL);
    assert_int_equal(log.n, 1);
    assert_int_equal(log.recs[0].len, len);
    assert_memory_equal(log.recs[0].data, p, len);
    t_log_free(&log);
    free(p);
    free(in);
  }
}

static void test_conn_frame_length_top_bit_fails(void **state) {
  (void)state;
  uint8_t in[] = {0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4};
  expect_server_failure(in, sizeof in, WSM_E_LENGTH_TOP_BIT, 1002);
}

static void test_conn_frame_length_not_minimal_fails(void **state) {
  (void)state;
  uint8_t in[64];
  uint8_t key[4] = {1, 2, 3, 4};
  size_t n = t_frame(in, 1, 0, WSM_OP_BINARY, key, "abc", 3, 16);
  expect_server_failure(in, n, WSM_E_LENGTH_NOT_MINIMAL, 1002);
  n = t_frame(in, 1, 0, WSM_OP_BINARY, key, "abc", 3, 64);
  expect_server_failure(in, n, WSM_E_LENGTH_NOT_MINIMAL, 1002);
}

static void test_conn_frame_length_not_minimal_relaxation(void **state) {
  (void)state;
  uint8_t in[64];
  uint8_t key[4] = {1, 2, 3, 4};
  struct wsm_config cfg = server_cfg();
  struct t_log log;
  size_t n = t_frame(in, 1, 0, WSM_OP_BINARY, key, "abc", 3, 64);
  cfg.flags |= WSM_CFG_ALLOW_NON_MINIMAL_LENGTH;
  t_feed_all_ways(&cfg, in, n, &log, NULL);
  assert_int_equal(log.rc, 0);
  assert_int_equal(log.n, 1);
  assert_memory_equal(log.recs[0].data, "abc", 3);
  t_log_free(&log);
}

static void test_conn_frame_unmasked_to_server_fails(void **state) {
  (void)state;
  uint8_t in[16];
  size_t n = t_sframe(in, 1, WSM_OP_TEXT, "hi", 2);
  expect_server_failure(in, n, WSM_E_MASK_REQUIRED, 1002);
}

static void test_conn_frame_unmasked_relaxation(void **state) {
  (void)state;
  uint8_t in[16];
  size_t n = t_sframe(in, 1, WSM_OP_TEXT, "hi", 2);
  struct wsm_config cfg = server_cfg();
  struct t_log log;
  cfg.flags |= WSM_CFG_ALLOW_UNMASKED;
  t_feed_all_ways(&cfg, in, n, &log, NULL);
  assert_int_equal(log.n, 1);
  assert_memory_equal(log.recs[0].data, "hi", 2);
  t_log_free(&log);
}

static void test_conn_frame_masked_to_client_fails(void **state) {
  (void)state;
  uint8_t in[16];
  size_t n = t_cframe(in, 1, WSM_OP_TEXT, "hi", 2);
  struct wsm_config cfg = client_cfg();
  expect_failure(&cfg, in, n, WSM_E_MASK_FORBIDDEN, 1002);
}

static void test_conn_frame_rsv_bits_fail(void **state) {
  (void)state;
  uint8_t key[4] = {9, 8, 7, 6};
  for (unsigned rsv = 1; rsv < 8; rsv++) {
    uint8_t in[16];
    size_t n = t_frame(in, 1, rsv, WSM_OP_TEXT, key, "hi", 2, 0);
    expect_server_failure(in, n, WSM_E_RESERVED_BITS, 1002);
    /* on control frames too (Autobahn 3.6) */
    n = t_frame(in, 1, rsv, WSM_OP_PING, key, "hi", 2, 0);
    expect_server_failure(in, n, WSM_E_RESERVED_BITS, 1002);
  }
}

static void test_conn_frame_rsv_only_on_first_data_frame(void **state) {
  (void)state;
  /* A claimed RSV1 is passed on with the message and its payload left
   * unchecked (it is the extension's); on a continuation or a control frame
   * it is still an error. */
  uint8_t key[4] = {9, 8, 7, 6};
  uint8_t in[64];
  struct wsm_config cfg = server_cfg();
  struct t_log log;
  struct wsm_conn c;
  struct wsm_event ev;
  size_t used;
  cfg.rsv_allowed = 0x4;
  size_t n = t_frame(in, 0, 4, WSM_OP_TEXT, key, "\xff\xfe", 2, 0);
  n += t_frame(in + n, 1, 0, WSM_OP_CONTINUATION, key, "\x00", 1, 0);
  t_feed_all_ways(&cfg, in, n, &log, NULL);
  assert_int_equal(log.rc, 0);
  assert_int_equal(log.n, 1);
  assert_int_equal(log.recs[0].len, 3);
  t_log_free(&log);
  assert_int_equal(wsm_conn_init_open(&c, &cfg), 0);
  n = t_frame(in, 1, 4, WSM_OP_BINARY, key, "z", 1, 0);
  assert_int_equal(wsm_conn_recv(&c, in, n, &used, &ev), 0);
  assert_true(ev.flags & WSM_DATA_RSV1);
  n = t_frame(in, 0, 0, WSM_OP_TEXT, key, "a", 1, 0);
  n += t_frame(in + n, 1, 4, WSM_OP_CONTINUATION, key, "b", 1, 0);
  expect_failure(&cfg, in, n, WSM_E_RESERVED_BITS, 1002);
  n = t_frame(in, 1, 4, WSM_OP_PING, key, "p", 1, 0);
  expect_failure(&cfg, in, n, WSM_E_RESERVED_BITS, 1002);
  /* claimed after the handshake, by the host */
  assert_int_equal(wsm_conn_init_open(&c, NULL), 0);
  assert_int_equal(wsm_conn_set_rsv_allowed(&c, 8), WSM_E_INVALID_ARGUMENT);
  assert_int_equal(wsm_conn_set_rsv_allowed(&c, 4), 0);
  n = t_frame(in, 1, 4, WSM_OP_TEXT, key, "\xff", 1, 0);
  assert_int_equal(wsm_conn_recv(&c, in, n, &used, &ev), 0);
  assert_int_equal(ev.type, WSM_EV_DATA);
  assert_int_equal(ev.flags & (WSM_DATA_RSV1 | WSM_DATA_END), WSM_DATA_RSV1 | WSM_DATA_END);
}

static void test_conn_frame_rsv_claimed_by_extension(void **state) {
  (void)state;
  uint8_t key[4] = {9, 8, 7, 6};
  uint8_t in[16];
  struct wsm_config cfg = server_cfg();
  struct t_log log;
  size_t n = t_frame(in, 1, 4, WSM_OP_BINARY, key, "hi", 2, 0);
  cfg.rsv_allowed = 0x4; /* RSV1, as permessage-deflate will claim it */
  t_feed_all_ways(&cfg, in, n, &log, NULL);
  assert_int_equal(log.rc, 0);
  assert_int_equal(log.n, 1);
  t_log_free(&log);
  n = t_frame(in, 1, 2, WSM_OP_BINARY, key, "hi", 2, 0);
  expect_failure(&cfg, in, n, WSM_E_RESERVED_BITS, 1002);
}

static void test_conn_frame_reserved_opcodes_fail(void **state) {
  (void)state;
  static const unsigned ops[] = {3, 4, 5, 6, 7, 11, 12, 13, 14, 15};
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
    uint8_t in[16];
    size_t n = t_cframe(in, 1, ops[i], "", 0);
    expect_server_failure(in, n, WSM_E_RESERVED_OPCODE, 1002);
  }
}

static void test_conn_frame_control_rules(void **state) {
  (void)state;
  uint8_t in[256], p[126];
  memset(p, 'x', sizeof p);
  /* Autobahn 2.5: a ping of 126 bytes; 5.x: a fragmented ping */
  size_t n = t_cframe(in, 1, WSM_OP_PING, p, 126);
  expect_server_failure(in, n, WSM_E_CONTROL_TOO_LONG, 1002);
  n = t_cframe(in, 0, WSM_OP_PING, p, 5);
  expect_server_failure(in, n, WSM_E_CONTROL_FRAGMENTED, 1002);
  n = t_cframe(in, 0, WSM_OP_CLOSE, p, 0);
  expect_server_failure(in, n, WSM_E_CONTROL_FRAGMENTED, 1002);
  /* 125 is fine (Autobahn 2.4) */
  struct wsm_config cfg = server_cfg();
  struct t_log log;
  n = t_cframe(in, 1, WSM_OP_PING, p, 125);
  t_feed_all_ways(&cfg, in, n, &log, NULL);
  assert_int_equal(log.n, 1);
  assert_int_equal(log.recs[0].len, 125);
  t_log_free(&log);
}

static void test_conn_frame_continuation_without_message_fails(void **state) {
  (void)state;
  uint8_t in[32];
  size_t n = t_cframe(in, 1, WSM_OP_CONTINUATION, "abc", 3);
  expect_server_failure(in, n, WSM_E_UNEXPECTED_CONTINUATION, 1002);
  n = t_cframe(in, 0, WSM_OP_CONTINUATION, "abc", 3);
  expect_server_failure(in, n, WSM_E_UNEXPECTED_CONTINUATION, 1002);
  /* after a complete message, too (Autobahn 5.9) */
  n = t_cframe(in, 1, WSM_OP_TEXT, "abc", 3);
  n += t_cframe(in + n, 1, WSM_OP_CONTINUATION, "abc", 3);
  expect_server_failure(in, n, WSM_E_UNEXPECTED_CONTINUATION, 1002);
}

static void test_conn_frame_new_message_inside_message_fails(void **state) {
  (void)state;
  uint8_t in[32];
  size_t n = t_cframe(in, 0, WSM_OP_TEXT, "abc", 3);
  n += t_cframe(in + n, 1, WSM_OP_BINARY, "def", 3);
  expect_server_failure(in, n, WSM_E_EXPECTED_CONTINUATION, 1002);
}

static void test_conn_frame_control_inside_fragmented_message(void **state) {
  (void)state;
  /* Autobahn 5.6-5.8: pings and pongs between fragments */
  uint8_t in[128];
  size_t n = t_cframe(in, 0, WSM_OP_TEXT, "frag1", 5);
  n += t_cframe(in + n, 1, WSM_OP_PING, "p", 1);
  n += t_cframe(in + n, 0, WSM_OP_CONTINUATION, "frag2", 5);
  n += t_cframe(in + n, 1, WSM_OP_PONG, "q", 1);
  n += t_cframe(in + n, 1, WSM_OP_CONTINUATION, "frag3", 5);
  struct wsm_config cfg = server_cfg();
  struct t_log log;
  t_feed_all_ways(&cfg, in, n, &log, NULL);
  assert_int_equal(log.n, 3);
  assert_int_equal(log.recs[0].type, WSM_EV_PING);
  assert_int_equal(log.recs[1].type, WSM_EV_PONG);
  assert_int_equal(log.recs[2].type, WSM_EV_MESSAGE);
  assert_int_equal(log.recs[2].len, 15);
  assert_memory_equal(log.recs[2].data, "frag1frag2frag3", 15);
  t_log_free(&log);
}

static void test_conn_frame_many_frames_in_one_read(void **state) {
  (void)state;
  uint8_t in[4096];
  size_t n = 0;
  for (int i = 0; i < 100; i++) {
    char msg[8];
    int l = snprintf(msg, sizeof msg, "m%d", i);
    n += t_cframe(in + n, 1, WSM_OP_TEXT, msg, (size_t)l);
  }
  struct wsm_config cfg = server_cfg();
  struct t_log log;
  t_feed_all_ways(&cfg, in, n, &log, NULL);
  assert_int_equal(log.n, 100);
  assert_memory_equal(log.recs[42].data, "m42", 3);
  t_log_free(&log);
}

static void test_conn_stream_small_message_is_one_event(void **state) {
  (void)state;
  uint8_t in[32];
  size_t n = t_cframe(in, 1, WSM_OP_TEXT, "Hello", 5), used;
  struct wsm_conn c;
  struct wsm_event ev;
  assert_int_equal(wsm_conn_init_open(&c, NULL), 0);
  assert_int_equal(wsm_conn_recv(&c, in, n, &used, &ev), 0);
  assert_int_equal(used, n);
  assert_int_equal(ev.type, WSM_EV_DATA);
  assert_int_equal(ev.flags, WSM_DATA_BEGIN | WSM_DATA_END | WSM_DATA_FRAME_END);
  /* unmasked in place: the event points into the input */
  assert_ptr_equal(ev.data, in + n - 5);
  assert_memory_equal(ev.data, "Hello", 5);
}

/* The short path unmasks and checks for ASCII in 16-byte registers (the last
 * one overlapping, from 16 bytes on, on x86) or in 8- and 1-byte steps: every
 * length up to 125, a non-ASCII byte at every position, both roles. */
static void test_conn_small_message_every_length_and_position(void **state) {
  (void)state;
  for (int role = 0; role <= 1; role++) {
    struct wsm_config cfg = role ? client_cfg() : server_cfg();
    for (size_t len = 1; len <= 125; len++) {
      for (size_t pos = 0; pos <= len; pos++) { /* pos == len: all ASCII */
        for (int bad = 0; bad <= 1; bad++) {
          uint8_t text[125], in[160];
          size_t n, used;
          struct wsm_conn c;
          struct wsm_event ev;
          int rc;
          if (pos == len && bad) continue;
          for (size_t i = 0; i < len; i++) text[i] = (uint8_t)('a' + i % 26);
          /* "é" is valid and needs the full check; a lone 0xFF fails it */
          if (pos + 1 < len && !bad) {
            text[pos] = 0xC3;
            text[pos + 1] = 0xA9;
          } else if (pos < len) {
            text[pos] = bad ? 0xFF : 'z';
          }
          n = role ? t_sframe(in, 1, WSM_OP_TEXT, text, len)
                   : t_cframe(in, 1, WSM_OP_TEXT, text, len);
          assert_int_equal(wsm_conn_init_open(&c, &cfg), 0);
          rc = wsm_conn_recv(&c, in, n, &used, &ev);
          if (bad && pos < len) {
            assert_int_equal(rc, WSM_E_INVALID_UTF8);
            assert_int_equal(ev.close_code, 1007);
            continue;
          }
          assert_int_equal(rc, 0);
          assert_int_equal(used, n);
          assert_int_equal(ev.type, WSM_EV_DATA);
          assert_int_equal(ev.len, len);
          assert_memory_equal(ev.data, text, len);
        }
      }
    }
  }
}

/* ---- UTF-8 (Autobahn 6.x) ----------------------------------------------- */

static void test_conn_utf8_valid_across_frames(void **state) {
  (void)state;
  /* "κόσμε" split in the middle of its characters across three frames */
  static const uint8_t text[] = {0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5};
  uint8_t in[64];
  size_t n = t_cframe(in, 0, WSM_OP_TEXT, text, 1);
  n += t_cframe(in + n, 0, WSM_OP_CONTINUATION, text + 1, 3);
  n += t_cframe(in + n, 1, WSM_OP_CONTINUATION, text + 4, sizeof text - 4);
  struct wsm_config cfg = server_cfg();
  struct t_log log;
  t_feed_all_ways(&cfg, in, n, &log, NULL);
  assert_int_equal(log.rc, 0);
  assert_int_equal(log.n, 1);
  assert_memory_equal(log.recs[0].data, text, sizeof text);
  t_log_free(&log);
}

static void test_conn_utf8_invalid_cases_fail(void **state) {
  (void)state;
  static const struct {
    const char *bytes;
    size_t len;
  } bad[] = {
      {"\xc0\xaf", 2},         /* overlong '/' */
      {"\xe0\x80\xaf", 3},     /* overlong, 3 bytes */
      {"\xf0\x80\x80\xaf", 4}, /* overlong, 4 bytes */
      {"\xed\xa0\x80", 3},     /* U+D800 */
      {"\xed\xbf\xbf", 3},     /* U+DFFF */
      {"\xf4\x90\x80\x80", 4}, /* U+110000 */
      {"\xf5\x80\x80\x80", 4},
      {"\xff", 1},
      {"\x80", 1},
      {"ab\xce", 3},           /* cut off at the message end */
      {"\xe1\xbd", 2},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    uint8_t in[32];
    size_t n = t_cframe(in, 1, WSM_OP_TEXT, bad[i].bytes, bad[i].len);
    expect_server_failure(in, n, WSM_E_INVALID_UTF8, 1007);
  }
}

static void test_conn_utf8_fails_fast_before_message_end(void **state) {
  (void)state;
  /* Autobahn 6.4.1: the frame declares more bytes than arrive; the bad byte
   * must fail the connection at once, not at the end of the frame. */
  static const uint8_t text[] = {0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce,
                                 0xbc, 0xce, 0xb5, 0xf4, 0x90, 0x80, 0x80};
  uint8_t full[64];
  size_t n = t_cframe(full, 1, WSM_OP_TEXT, text, sizeof text);
  struct t_log log;
  struct wsm_config cfg = server_cfg();
  /* Give only the header and the first 13 payload bytes (up to 0x90). */
  t_feed_all_ways(&cfg, full, n - 2, &log, NULL);
  assert_int_equal(log.rc, WSM_E_INVALID_UTF8);
  assert_int_equal(log.n, 1);
  assert_int_equal(log.recs[0].type, WSM_EV_ERROR);
  assert_int_equal(log.recs[0].close_code, 1007);
  t_log_free(&log);

  /* Across frames: the second fragment begins with a stray continuation. */
  n = t_cframe(full, 0, WSM_OP_TEXT, "abc", 3);
  n += t_cframe(full + n, 0, WSM_OP_CONTINUATION, "\x80zzzzzz", 7);
  expect_server_failure(full, n - 3, WSM_E_INVALID_UTF8, 1007);
}

static void test_conn_utf8_binary_not_checked(void **state) {
  (void)state;
  uint8_t in[32];
  size_t n = t_cframe(in, 1, WSM_OP_BINARY, "\xff\xfe\xed\xa0\x80", 5);
  struct wsm_config cfg = server_cfg();
  struct t_log log;
  t_feed_all_ways(&cfg, in, n, &log, NULL);
  assert_int_equal(log.rc, 0);
  assert_int_equal(log.n, 1);
  t_log_free(&log);
}

/* ---- close (Autobahn 7.x) ----------------------------------------------- */

static void test_conn_close_codes_on_the_wire(void **state) {
  (void)state;
  struct wsm_config cfg = server_cfg();
  for (uint32_t code = 0; code < 65536; code++) {
    int valid = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
                (code >= 3000 && code <= 4999);
    uint8_t body[2] = {(uint8_t)(code >> 8), (uint8_t)code}, in[16];
    size_t n = t_cframe(in, 1, WSM_OP_CLOSE, body, 2), used;
    struct wsm_conn c;
    struct wsm_event ev;
    /* One split only for the whole range; some codes get every split below. */
    assert_int_equal(wsm_conn_init_open(&c, &cfg), 0);
    int rc = wsm_conn_recv(&c, in, n, &used, &ev);
    if (valid) {
      assert_int_equal(rc, 0);
      assert_int_equal(ev.type, WSM_EV_CLOSE);
      assert_int_equal(ev.close_code, code);
    } else {
      assert_int_equal(rc, WSM_E_CLOSE_CODE_INVALID);
      assert_int_equal(ev.close_code, 1002);
    }
  }
  static const uint16_t some[] = {0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535};
  for (size_t i = 0; i < sizeof some / sizeof some[0]; i++) {
    uint8_t body[2] = {(uint8_t)(some[i] >> 8), (uint8_t)some[i]}, in[16];
    size_t n = t_cframe(in, 1, WSM_OP_CLOSE, body, 2);
    expect_server_failure(in, n, WSM_E_CLOSE_CODE_INVALID, 1002);
  }
}

static void test_conn_close_echoes_code_and_reports_reason(void **state) {
  (void)state;
  static const uint16_t codes[] = {1000, 1001, 1012, 1013, 1014, 3000, 4999};
  struct wsm_config cfg = server_cfg();
  for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
    uint8_t body[16] = {(uint8_t)(codes[i] >> 8), (uint8_t)codes[i]}, in[32], out[64];
    memcpy(body + 2, "bye", 3);
    size_t n = t_cframe(in, 1, WSM_OP_CLOSE, body, 5);
    struct t_log log;
    struct wsm_conn c;
    struct wsm_close_info info;
    t_feed_all_ways(&cfg, in, n, &log, &c);
    assert_int_equal(log.n, 1);
    assert_int_equal(log.recs[0].type, WSM_EV_CLOSE);
    assert_int_equal(log.recs[0].close_code, codes[i]);
    assert_int_equal(log.recs[0].len, 3);
    assert_memory_equal(log.recs[0].data, "bye", 3);
    assert_int_equal(wsm_conn_state(&c), WSM_STATE_CLOSING);
    assert_int_equal(wsm_conn_transport(&c), WSM_TRANSPORT_KEEP);
    n = t_drain(&c, out, sizeof out);
    assert_int_equal(n, 4);
    assert_int_equal(out[0], 0x88);
    assert_int_equal(out[1], 2);
    assert_int_equal(out[2] << 8 | out[3], codes[i]);
    /* RFC 6455 7.1.1: the server closes the TCP connection first. */
    assert_int_equal(wsm_conn_state(&c), WSM_STATE_CLOSED);
    assert_int_equal(wsm_conn_transport(&c), WSM_TRANSPORT_CLOSE);
    wsm_conn_close_info(&c, &info);
    assert_int_equal(info.code_received, codes[i]);
    assert_int_equal(info.code_sent, codes[i]);
    assert_int_equal(info.error, 0);
    assert_int_equal(info.peer_closed_first, 1);
    t_log_free(&log);
  }
}

static void test_conn_close_empty_body(void **state) {
  (void)state;
  uint8_t in[16], out[16];
  size_t n = t_cframe(in, 1, WSM_OP_CLOSE, "", 0);
  struct wsm_config cfg = server_cfg();
  struct t_log log;
  struct wsm_conn c;
  t_feed_all_ways(&cfg, in, n, &log, &c);
  assert_int_equal(log.recs[0].close_code, WSM_CLOSE_NO_STATUS);
  n = t_drain(&c, out, sizeof out);
  assert_int_equal(n, 2); /* an empty close goes back */
  assert_int_equal(out[0], 0x88);
  assert_int_equal(out[1], 0);
  t_log_free(&log);
}

static void test_conn_close_one_byte_body_fails(void **state) {
  (void)state;
  uint8_t in[16];
  size_t n = t_cframe(in, 1, WSM_OP_CLOSE, "\x03", 1);
  expect_server_failure(in, n, WSM_E_CLOSE_PAYLOAD_1_BYTE, 1002);
}

static void test_conn_close_reason_invalid_utf8_fails(void **state) {
  (void)state;
  uint8_t in[16];
  size_t n = t_cframe(in, 1, WSM_OP_CLOSE, "\x03\xe8\xce\xba\xe1\xbd", 6);
  expect_server_failure(in, n, WSM_E_CLOSE_REASON_UTF8, 1007);
}

static void test_conn_close_then_data_ignored(void **state) {
  (void)state;
  /* Autobahn 7.1.x: frames after the close are not delivered */
  uint8_t in[64];
  size_t n = t_cframe(in, 1, WSM_OP_CLOSE, "\x03\xe8", 2);
  n += t_cframe(in + n, 1, WSM_OP_TEXT, "late", 4);
  n += t_cframe(in + n, 1, WSM_OP_PING, "late", 4);
  struct wsm_config cfg = server_cfg();
  struct t_log log;
  struct wsm_conn c;
  uint8_t out[64];
  t_feed_all_ways(&cfg, in, n, &log, &c);
  assert_int_equal(log.n, 1);
  assert_int_equal(t_drain(&c, out, sizeof out), 4); /* no pong after it */
  t_log_free(&log);
}

static void test_conn_close_sending_after_close_is_an_error(void **state) {
  (void)state;
  struct wsm_conn c;
  uint8_t out[64];
  size_t n;
  assert_int_equal(wsm_conn_init_open(&c, NULL), 0);
  assert_int_equal(wsm_conn_close(&c, 1000, "done", 4), 0);
  assert_int_equal(wsm_conn_state(&c), WSM_STATE_CLOSING);
  assert_int_equal(wsm_conn_send(&c, WSM_OP_TEXT, (const uint8_t *)"x", 1, WSM_SEND_FIN,
                                 out, sizeof out, &n), WSM_E_CLOSE_SENT);
  assert_int_equal(wsm_conn_send_control(&c, WSM_OP_PING, NULL, 0, out, sizeof out, &n),
                   WSM_E_CLOSE_SENT);
  assert_int_equal(wsm_conn_close(&c, 1000, NULL, 0), WSM_E_CLOSE_SENT);
  n = t_drain(&c, out, sizeof out);
  assert_int_equal(n, 2 + 2 + 4);
  assert_memory_equal(out, "\x88\x06\x03\xe8" "done", 8);
}

static void test_conn_close_argument_checks(void **state) {
  (void)state;
  struct wsm_conn c;
  char reason[200];
  memset(reason, 'r', sizeof reason);
  assert_int_equal(wsm_conn_init_open(&c, NULL), 0);
  assert_int_equal(wsm_conn_close(&c, 1005, NULL, 0), WSM_E_INVALID_CLOSE_CODE);
  assert_int_equal(wsm_conn_close(&c, 1006, NULL, 0), WSM_E_INVALID_CLOSE_CODE);
  assert_int_equal(wsm_conn_close(&c, 1015, NULL, 0), WSM_E_INVALID_CLOSE_CODE);
  assert_int_equal(wsm_conn_close(&c, 999, NULL, 0), WSM_E_INVALID_CLOSE_CODE);
  assert_int_equal(wsm_conn_close(&c, 1000, reason, 124), WSM_E_INVALID_ARGUMENT);
  assert_int_equal(wsm_conn_close(&c, 0, reason, 1), WSM_E_INVALID_ARGUMENT);
  assert_int_equal(wsm_conn_close(&c, 1000, "\xff", 1), WSM_E_INVALID_UTF8_SEND);
  assert_int_equal(wsm_conn_state(&c), WSM_STATE_OPEN);
  assert_int_equal(wsm_conn_close(&c, 4999, reason, 123), 0);
}

static void test_conn_close_we_close_first(void **state) {
  (void)state;
  /* Client closes; server answers; client waits for the server's TCP close. */
  struct wsm_config cfg = client_cfg();
  uint32_t rs = 7;
  struct wsm_conn c;
  uint8_t in[16], out[64];
  size_t used, n;
  struct wsm_event ev;
  struct wsm_close_info info;
  cfg.random = t_random;
  cfg.random_ctx = &rs;
  assert_int_equal(wsm_conn_init_open(&c, &cfg), 0);
  assert_int_equal(wsm_conn_close(&c, 1000, NULL, 0), 0);
  n = t_drain(&c, out, sizeof out);
  assert_int_equal(n, 2 + 4 + 2);
  assert_int_equal(wsm_conn_state(&c), WSM_STATE_CLOSING);
  n = t_sframe(in, 1, WSM_OP_CLOSE, "\x03\xe8", 2);
  assert_int_equal(wsm_conn_recv(&c, in, n, &used, &ev), 0);
  assert_int_equal(ev.type, WSM_EV_CLOSE);
  assert_int_equal(wsm_conn_output(&c, (const uint8_t **)&ev.data), 0); /* no echo */
  assert_int_equal(wsm_conn_state(&c), WSM_STATE_CLOSED);
  assert_int_equal(wsm_conn_transport(&c), WSM_TRANSPORT_AWAIT_PEER);
  wsm_conn_close_info(&c, &info);
  assert_int_equal(info.peer_closed_first, 0);
  /* the server does not close: after the timeout the client does */
  assert_int_equal(wsm_conn_tick(&c, 1000), 0);
  assert_int_equal(wsm_conn_expiry(&c), 1000 + 5000);
  assert_int_equal(wsm_conn_tick(&c, 5999), 0);
  assert_int_equal(wsm_conn_transport(&c), WSM_TRANSPORT_AWAIT_PEER);
  assert_int_equal(wsm_conn_tick(&c, 6000), 0);
  assert_int_equal(wsm_conn_transport(&c), WSM_TRANSPORT_CLOSE);
  /* the server's TCP close is the normal end */
  assert_int_equal(wsm_conn_recv_eof(&c), 0);
}

static void test_conn_close_timeout(void **state) {
  (void)state;
  struct wsm_conn c;
  struct wsm_config cfg = server_cfg();
  struct wsm_close_info info;
  cfg.close_timeout_ms = 100;
  assert_int_equal(wsm_conn_init_open(&c, &cfg), 0);
  assert_int_equal(wsm_conn_expiry(&c), UINT64_MAX);
  assert_int_equal(wsm_conn_close(&c, 1001, NULL, 0), 0);
  assert_int_equal(wsm_conn_tick(&c, 50), 0);
  assert_int_equal(wsm_conn_expiry(&c), 150);
  assert_int_equal(wsm_conn_tick(&c, 149), 0);
  assert_int_equal(wsm_conn_tick(&c, 150), WSM_E_CLOSE_TIMEOUT);
  assert_int_equal(wsm_conn_transport(&c), WSM_TRANSPORT_CLOSE);
  wsm_conn_close_info(&c, &info);
  assert_int_equal(info.error, WSM_E_CLOSE_TIMEOUT);
  assert_int_equal(info.code_received, WSM_CLOSE_ABNORMAL);
}

static void test_conn_close_eof_before_close_is_abnormal(void **state) {
  (void)state;
  struct wsm_conn c;
  struct wsm_close_info info;
  assert_int_equal(wsm_conn_init_open(&c, NULL), 0);
  assert_int_equal(wsm_conn_recv_eof(&c), WSM_E_ABNORMAL_CLOSURE);
  assert_int_equal(wsm_conn_state(&c), WSM_STATE_CLOSED);
  assert_int_equal(wsm_conn_transport(&c), WSM_TRANSPORT_CLOSE);
  wsm_conn_close_info(&c, &info);
  assert_int_equal(info.code_received, WSM_CLOSE_ABNORMAL);
  assert_int_equal(info.error, WSM_E_ABNORMAL_CLOSURE);
}

/* ---- ping and pong ------------------------------------------------------- */

static void test_conn_ping_manual_pong(void **state) {
  (void)state;
  uint8_t in[16];
  size_t n = t_cframe(in, 1, WSM_OP_PING, "abc", 3);
  struct wsm_config cfg = server_cfg();
  struct t_log log;
  struct wsm_conn c;
  const uint8_t *out;
  cfg.flags |= WSM_CFG_MANUAL_PONG;
  t_feed_all_ways(&cfg, in, n, &log, &c);
  assert_int_equal(log.recs[0].type, WSM_EV_PING);
  assert_int_equal(wsm_conn_output(&c, &out), 0);
  t_log_free(&log);
}

static void test_conn_ping_flood_is_bounded(void **state) {
  (void)state;
  /* 10,000 pings and nobody drains: the queue keeps only the latest pong. */
  struct wsm_conn c;
  uint8_t frame[160], payload[125];
  const uint8_t *out;
  assert_int_equal(wsm_conn_init_open(&c, NULL), 0);
  for (int i = 0; i < 10000; i++) {
    size_t used, len = (size_t)(i % 126);
    struct wsm_event ev;
    memset(payload, i & 0xff, len);
    size_t n = t_cframe(frame, 1, WSM_OP_PING, payload, len);
    assert_int_equal(wsm_conn_recv(&c, frame, n, &used, &ev), 0);
    assert_int_equal(ev.type, WSM_EV_PING);
    assert_true(wsm_conn_output(&c, &out) <= 2 + 125);
  }
  size_t n = wsm_conn_output(&c, &out);
  assert_int_equal(n, 2 + 9999 % 126);
  assert_int_equal(out[0], 0x8a);
  assert_int_equal(out[2], 9999 & 0xff);

  /* Half-written pong: it finishes, and one newer pong waits behind it. */
  assert_int_equal(wsm_conn_output_ack(&c, 3), 0);
  for (int i = 0; i < 1000; i++) {
    size_t used;
    struct wsm_event ev;
    memset(payload, 0xAB, 100);
    size_t fl = t_cframe(frame, 1, WSM_OP_PING, payload, 100);
    assert_int_equal(wsm_conn_recv(&c, frame, fl, &used, &ev), 0);
  }
  n = wsm_conn_output(&c, &out);
  assert_int_equal(n, (2 + 9999 % 126 - 3) + 2 + 100);
  assert_int_equal(out[n - 101], 100);
  assert_int_equal(out[n - 1], 0xAB);
}

static void test_conn_unsolicited_pong_delivered(void **state) {
  (void)state;
  uint8_t in[16];
  size_t n = t_cframe(in, 1, WSM_OP_PONG, "", 0);
  struct wsm_config cfg = server_cfg();
  struct t_log log;
  t_feed_all_ways(&cfg, in, n, &log, NULL);
  assert_int_equal(log.n, 1);
  assert_int_equal(log.recs[0].type, WSM_EV_PONG);
  assert_int_equal(log.recs[0].len, 0);
  t_log_free(&log);
}

static void test_conn_keepalive_ping_and_timeout(void **state) {
  (void)state;
  struct wsm_conn c;
  struct wsm_config cfg = server_cfg();
  const uint8_t *out;
  uint8_t in[16];
  size_t used, n;
  struct wsm_event ev;
  cfg.ping_interval_ms = 1000;
  cfg.ping_timeout_ms = 500;
  assert_int_equal(wsm_conn_init_open(&c, &cfg), 0);
  assert_int_equal(wsm_conn_tick(&c, 0), 0);
  assert_int_equal(wsm_conn_expiry(&c), 1000);
  assert_int_equal(wsm_conn_tick(&c, 1000), 0);
  n = wsm_conn_output(&c, &out);
  assert_int_equal(n, 2);
  assert_int_equal(out[0], 0x89);
  wsm_conn_output_ack(&c, n);
  /* the pong (any input) rests the timer */
  n = t_cframe(in, 1, WSM_OP_PONG, "", 0);
  assert_int_equal(wsm_conn_recv(&c, in, n, &used, &ev), 0);
  assert_int_equal(wsm_conn_tick(&c, 1400), 0);
  assert_int_equal(wsm_conn_expiry(&c), 2400);
  assert_int_equal(wsm_conn_tick(&c, 2400), 0);
  wsm_conn_output_ack(&c, wsm_conn_output(&c, &out));
  assert_int_equal(wsm_conn_expiry(&c), 2900);
  /* silence: fail with 1011 */
  assert_int_equal(wsm_conn_tick(&c, 2900), WSM_E_PING_TIMEOUT);
  n = wsm_conn_output(&c, &out);
  assert_true(n >= 4);
  assert_int_equal(out[0], 0x88);
  assert_int_equal(out[2] << 8 | out[3], 1011);
}

static void test_conn_ping_after_our_close_gets_pong(void **state) {
  (void)state;
  /* RFC 6455 5.5.2: pings are answered until the peer's close, even after
   * ours. While our close waits, the pong goes before it. */
  struct wsm_conn c;
  uint8_t in[32], out[300];
  size_t used, n;
  struct wsm_event ev;
  assert_int_equal(wsm_conn_init_open(&c, NULL), 0);
  assert_int_equal(wsm_conn_close(&c, 1000, "bye", 3), 0);
  n = t_cframe(in, 1, WSM_OP_PING, "p1", 2);
  assert_int_equal(wsm_conn_recv(&c, in, n, &used, &ev), 0);
  assert_int_equal(ev.type, WSM_EV_PING);
  n = t_peek(&c, out, sizeof out);
  assert_int_equal(n, 4 + 7);
  assert_memory_equal(out, "\x8a\x02p1\x88\x05\x03\xe8" "bye", n);
  /* once the close is on its way, a later pong follows it */
  assert_int_equal(wsm_conn_output_ack(&c, 6), 0);
  n = t_cframe(in, 1, WSM_OP_PING, "p2", 2);
  assert_int_equal(wsm_conn_recv(&c, in, n, &used, &ev), 0);
  n = t_peek(&c, out, sizeof out);
  assert_int_equal(n, 5 + 4);
  assert_memory_equal(out + 5, "\x8a\x02p2", 4);
  /* the host may pong by hand too, but not ping */
  assert_int_equal(wsm_conn_send_control(&c, WSM_OP_PONG, NULL, 0, out, sizeof out, &n), 0);
  assert_int_equal(wsm_conn_send_control(&c, WSM_OP_PING, NULL, 0, out, sizeof out, &n),
                   WSM_E_CLOSE_SENT);
  /* the transport stays until the queue is written */
  n = t_cframe(in, 1, WSM_OP_CLOSE, "\x03\xe8", 2);
  assert_int_equal(wsm_conn_recv(&c, in, n, &used, &ev), 0);
  assert_int_equal(ev.type, WSM_EV_CLOSE);
  assert_int_equal(wsm_conn_transport(&c), WSM_TRANSPORT_KEEP);
  t_drain(&c, out, sizeof out);
  assert_int_equal(wsm_conn_transport(&c), WSM_TRANSPORT_CLOSE);
}

static void test_conn_close_reason_cut_when_queue_full(void **state) {
  (void)state;
  /* A pong half-written, another waiting, then a close with a 123-byte
   * reason: the reason is cut to fit, at a character boundary, the code
   * kept, and no pong is lost. */
  struct wsm_conn c;
  uint8_t in[160], payload[125], out[300];
  char reason[124];
  size_t used, n;
  struct wsm_event ev;
  struct wsm_config cfg;
  uint32_t rs = 77;
  wsm_config_init(&cfg, WSM_ROLE_CLIENT);
  cfg.random = t_random;
  cfg.random_ctx = &rs;
  memset(payload, 'x', sizeof payload);
  for (int i = 0; i < 123; i += 2) memcpy(reason + i, "\xce\xba", 2); /* 'κ' */
  assert_int_equal(wsm_conn_init_open(&c, &cfg), 0);
  n = t_sframe(in, 1, WSM_OP_PING, payload, 125);
  assert_int_equal(wsm_conn_recv(&c, in, n, &used, &ev), 0);
  assert_int_equal(wsm_conn_output_ack(&c, 1), 0); /* the first pong is under way */
  assert_int_equal(wsm_conn_recv(&c, in, n, &used, &ev), 0);
  assert_int_equal(wsm_conn_close(&c, 4000, reason, 122), 0);
  n = t_peek(&c, out, sizeof out);
  assert_true(n <= 270);
  /* remainder of pong 1 (130), pong 2 (131), then the close */
  assert_int_equal(out[130], 0x8a);
  assert_int_equal(out[261], 0x88);
  size_t plen = out[262] & 0x7f;
  assert_int_equal(n, 261 + 6 + plen);
  uint8_t body[125];
  for (size_t i = 0; i < plen; i++) body[i] = out[267 + i] ^ out[263 + i % 4];
  assert_int_equal(body[0] << 8 | body[1], 4000);
  assert_int_equal(wsm_utf8_check(body + 2, plen - 2), 0);
  struct wsm_close_info info;
  wsm_conn_close_info(&c, &info);
  assert_int_equal(info.code_sent, 4000);
}

static void test_conn_close_without_code_reports_1005(void **state) {
  (void)state;
  struct wsm_conn c;
  struct wsm_close_info info;
  uint8_t out[16];
  assert_int_equal(wsm_conn_init_open(&c, NULL), 0);
  wsm_conn_close_info(&c, &info);
  assert_int_equal(info.code_sent, 0);
  assert_int_equal(wsm_conn_close(&c, 0, NULL, 0), 0);
  wsm_conn_close_info(&c, &info);
  assert_int_equal(info.code_sent, WSM_CLOSE_NO_STATUS);
  assert_int_equal(t_drain(&c, out, sizeof out), 2);
  assert_memory_equal(out, "\x88\x00", 2);
}

static void test_conn_keepalive_waits_for_drained_queue(void **state) {
  (void)state;
  /* An undrained pong means the link is backed up: no ping, no timeout. */
  struct wsm_conn c;
  struct wsm_config cfg;
  uint8_t in[16];
  size_t used, n;
  struct wsm_event ev;
  const uint8_t *out;
  wsm_config_init(&cfg, WSM_ROLE_SERVER);
  cfg.ping_interval_ms = 100;
  cfg.ping_timeout_ms = 50;
  assert_int_equal(wsm_conn_init_open(&c, &cfg), 0);
  assert_int_equal(wsm_conn_tick(&c, 0), 0);
  n = t_cframe(in, 1, WSM_OP_PING, "x", 1);
  assert_int_equal(wsm_conn_recv(&c, in, n, &used, &ev), 0);
  assert_int_equal(wsm_conn_tick(&c, 50), 0);  /* activity: rearm */
  assert_int_equal(wsm_conn_tick(&c, 150), 0); /* due, but the pong waits */
  assert_int_equal(wsm_conn_tick(&c, 250), 0);
  assert_int_equal(wsm_conn_tick(&c, 350), 0);
  assert_int_equal(wsm_conn_output(&c, &out), 3); /* just the pong */
  assert_int_equal(wsm_conn_state(&c), WSM_STATE_OPEN);
}

/* ---- limits (Autobahn 9.x style, and fragment floods) --------------------- */

static void test_conn_limit_frame_checked_on_header(void **state) {
  (void)state;
  struct wsm_config cfg = server_cfg();
  uint8_t in[16] = {0x82, 0xff, 0, 0, 0, 0, 0x01, 0, 0, 1, 1, 2, 3, 4};
  /* 16 MiB + 1 declared; no payload needed to refuse it */
  expect_failure(&cfg, in, 14, WSM_E_FRAME_TOO_BIG, 1009);
  cfg.max_frame_payload = 10;
  uint8_t in2[32];
  t_cframe(in2, 1, WSM_OP_BINARY, "12345678901", 11);
  expect_failure(&cfg, in2, 2 + 4, WSM_E_FRAME_TOO_BIG, 1009);
}

static void test_conn_limit_message_across_fragments(void **state) {
  (void)state;
  struct wsm_config cfg = server_cfg();
  uint8_t in[64];
  cfg.max_message = 10;
  size_t n = t_cframe(in, 0, WSM_OP_TEXT, "123456", 6);
  n += t_cframe(in + n, 1, WSM_OP_CONTINUATION, "12345", 5);
  expect_failure(&cfg, in, n, WSM_E_MESSAGE_TOO_BIG, 1009);
  /* exactly at the limit is fine */
  struct t_log log;
  n = t_cframe(in, 0, WSM_OP_TEXT, "123456", 6);
  n += t_cframe(in + n, 1, WSM_OP_CONTINUATION, "1234", 4);
  t_feed_all_ways(&cfg, in, n, &log, NULL);
  assert_int_equal(log.rc, 0);
  assert_int_equal(log.recs[0].len, 10);
  t_log_free(&log);
}

static void test_conn_limit_fragments_and_empty_flood(void **state) {
  (void)state;
  struct wsm_config cfg = server_cfg();
  uint8_t *in = malloc(6 * 2000);
  size_t n = t_cframe(in, 0, WSM_OP_BINARY, "", 0);
  cfg.max_fragments = 1000;
  for (int i = 1; i < 2000; i++) n += t_cframe(in + n, 0, WSM_OP_CONTINUATION, "", 0);
  expect_failure(&cfg, in, n, WSM_E_TOO_MANY_FRAGMENTS, 1009);
  /* 1000 frames exactly is allowed */
  n = t_cframe(in, 0, WSM_OP_BINARY, "", 0);
  for (int i = 1; i < 999; i++) n += t_cframe(in + n, 0, WSM_OP_CONTINUATION, "", 0);
  n += t_cframe(in + n, 1, WSM_OP_CONTINUATION, "x", 1);
  struct t_log log;
  t_feed_all_ways(&cfg, in, n, &log, NULL);
  assert_int_equal(log.rc, 0);
  assert_int_equal(log.n, 1);
  t_log_free(&log);
  free(in);
}

static void test_conn_limit_huge_lengths_do_not_overflow(void **state) {
  (void)state;
  /* 2^63-1 declared, with the limits opened wide: accepted, then a
   * continuation would pass 2^64 in a naive sum and must be refused. */
  struct wsm_config cfg = server_cfg();
  struct wsm_conn c;
  struct wsm_event ev;
  size_t used;
  uint8_t in[32] = {0x02, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4};
  cfg.max_frame_payload = UINT64_MAX;
  cfg.max_message = UINT64_MAX;
  assert_int_equal(wsm_conn_init_open(&c, &cfg), 0);
  assert_int_equal(wsm_conn_recv(&c, in, 14, &used, &ev), 0);
  assert_int_equal(used, 14);
  assert_int_equal(ev.type, WSM_EV_NONE);
  in[14] = 0xAA;
  assert_int_equal(wsm_conn_recv(&c, in + 14, 1, &used, &ev), 0);
  assert_int_equal(ev.type, WSM_EV_DATA);
  assert_int_equal(ev.len, 1);

  /* with a 2^63 limit: the second frame's 2^63-1 does not fit */
  cfg.max_message = UINT64_C(1) << 63;
  assert_int_equal(wsm_conn_init_open(&c, &cfg), 0);
  uint8_t two[32] = {0x02, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 1, 2, 3, 4};
  assert_int_equal(wsm_conn_recv(&c, two, 14, &used, &ev), 0);
  /* pretend all of it arrived: feed a frame end by a zero-length trick is
   * not possible, so check the header arithmetic through the limit path */
  assert_int_equal(wsm_conn_state(&c), WSM_STATE_OPEN);
}

static void test_conn_streaming_constant_memory(void **state) {
  (void)state;
  /* 8 MiB message through a 4 KiB window: the host holds 4 KiB at most. */
  struct wsm_config cfg = server_cfg();
  struct wsm_conn c;
  uint8_t hdr[14] = {0x82, 0xff, 0, 0, 0, 0, 0, 0x80, 0, 0, 0x11, 0x22, 0x33, 0x44};
  uint8_t window[4096];
  size_t total = (size_t)8 << 20, sent = 0, got = 0, used;
  uint32_t sum = 0, want = 0;
  struct wsm_event ev;
  assert_int_equal(wsm_conn_init_open(&c, &cfg), 0);
  assert_int_equal(wsm_conn_recv(&c, hdr, 14, &used, &ev), 0);
  assert_int_equal(used, 14);
  while (sent < total) {
    size_t k = total - sent < sizeof window ? total - sent : sizeof window;
    for (size_t i = 0; i < k; i++) {
      uint8_t b = (uint8_t)((sent + i) * 13);
      want += b;
      window[i] = b ^ hdr[10 + (sent + i) % 4];
    }
    sent += k;
    assert_int_equal(wsm_conn_recv(&c, window, k, &used, &ev), 0);
    assert_int_equal(used, k);
    assert_int_equal(ev.type, WSM_EV_DATA);
    assert_ptr_equal(ev.data, window);
    for (size_t i = 0; i < ev.len; i++) sum += ev.data[i];
    got += ev.len;
  }
  assert_int_equal(got, total);
  assert_true(ev.flags & WSM_DATA_END);
  assert_int_equal(sum, want);
}

static void test_conn_whole_message_mode(void **state) {
  (void)state;
  struct wsm_config cfg = server_cfg();
  struct wsm_conn c;
  uint8_t buf[32], in[128];
  size_t n = t_cframe(in, 0, WSM_OP_TEXT, "Hel", 3);
  n += t_cframe(in + n, 1, WSM_OP_PING, "!", 1);
  n += t_cframe(in + n, 1, WSM_OP_CONTINUATION, "lo", 2);
  size_t single = n;
  n += t_cframe(in + n, 1, WSM_OP_BINARY, "whole", 5);
  struct wsm_event ev;
  size_t used, pos = 0;
  assert_int_equal(wsm_conn_init_open(&c, &cfg), 0);
  assert_int_equal(wsm_conn_set_message_buffer(&c, buf, sizeof buf), 0);
  assert_int_equal(wsm_conn_recv(&c, in, n, &used, &ev), 0);
  assert_int_equal(ev.type, WSM_EV_PING);
  pos += used;
  assert_int_equal(wsm_conn_recv(&c, in + pos, n - pos, &used, &ev), 0);
  pos += used;
  assert_int_equal(ev.type, WSM_EV_MESSAGE);
  assert_int_equal(ev.opcode, WSM_OP_TEXT);
  assert_ptr_equal(ev.data, buf);
  assert_int_equal(ev.len, 5);
  assert_memory_equal(ev.data, "Hello", 5);
  assert_int_equal(pos, single);
  assert_int_equal(wsm_conn_recv(&c, in + pos, n - pos, &used, &ev), 0);
  assert_int_equal(ev.type, WSM_EV_MESSAGE);
  /* a whole single frame in the buffer is delivered in place */
  assert_ptr_equal(ev.data, in + n - 5);
  assert_memory_equal(ev.data, "whole", 5);

  /* larger than the buffer: 1009 */
  uint8_t big[64];
  memset(big, 'z', sizeof big);
  n = t_cframe(in, 1, WSM_OP_BINARY, big, 33);
  assert_int_equal(wsm_conn_init_open(&c, &cfg), 0);
  assert_int_equal(wsm_conn_set_message_buffer(&c, buf, sizeof buf), 0);
  assert_int_equal(wsm_conn_recv(&c, in, 8, &used, &ev), WSM_E_MESSAGE_TOO_BIG);
  assert_int_equal(ev.close_code, 1009);
}

/* ---- sending -------------------------------------------------------------- */

static void test_conn_send_buffer_too_small_reports_size(void **state) {
  (void)state;
  struct wsm_conn c;
  uint8_t data[300] = {0}, out[400];
  size_t n = 0;
  assert_int_equal(wsm_conn_init_open(&c, NULL), 0);
  assert_int_equal(wsm_conn_send(&c, WSM_OP_BINARY, data, 300, WSM_SEND_FIN, out, 10, &n),
                   WSM_E_BUFFER_TOO_SMALL);
  assert_int_equal(n, 304);
  assert_int_equal(wsm_conn_send(&c, WSM_OP_BINARY, data, 300, WSM_SEND_FIN, out, 304, &n), 0);
  assert_int_equal(n, 304);
  assert_int_equal(out[1], 126);
}

static void test_conn_send_fragmented_and_control_between(void **state) {
  (void)state;
  struct wsm_conn s, r;
  struct wsm_config rc = server_cfg();
  struct wsm_config sc = client_cfg();
  uint32_t rs = 99;
  uint8_t wire[256];
  size_t w = 0, n;
  sc.random = t_random;
  sc.random_ctx = &rs;
  assert_int_equal(wsm_conn_init_open(&s, &sc), 0);
  assert_int_equal(wsm_conn_send(&s, WSM_OP_TEXT, (const uint8_t *)"ab\xce", 3, 0,
                                 wire + w, sizeof wire - w, &n), 0);
  w += n;
  assert_int_equal(wire[0], 0x01);
  /* a different type while the message is open */
  assert_int_equal(wsm_conn_send(&s, WSM_OP_BINARY, (const uint8_t *)"x", 1, 0, wire + w,
                                 sizeof wire - w, &n), WSM_E_MESSAGE_OPEN);
  assert_int_equal(wsm_conn_send_control(&s, WSM_OP_PING, (const uint8_t *)"p", 1,
                                         wire + w, sizeof wire - w, &n), 0);
  w += n;
  /* the character continues in the next frame */
  assert_int_equal(wsm_conn_send(&s, WSM_OP_TEXT, (const uint8_t *)"\xba", 1, WSM_SEND_FIN,
                                 wire + w, sizeof wire - w, &n), 0);
  assert_int_equal(wire[w], 0x80);
  w += n;
  struct t_log log;
  t_feed_all_ways(&rc, wire, w, &log, &r);
  assert_int_equal(log.n, 2);
  assert_int_equal(log.recs[0].type, WSM_EV_PING);
  assert_int_equal(log.recs[1].len, 4);
  assert_memory_equal(log.recs[1].data, "ab\xce\xba", 4);
  t_log_free(&log);
}

static void test_conn_send_text_checked(void **state) {
  (void)state;
  struct wsm_conn c;
  uint8_t out[64];
  size_t n;
  assert_int_equal(wsm_conn_init_open(&c, NULL), 0);
  assert_int_equal(wsm_conn_send(&c, WSM_OP_TEXT, (const uint8_t *)"\xed\xa0\x80", 3,
                                 WSM_SEND_FIN, out, sizeof out, &n), WSM_E_INVALID_UTF8_SEND);
  assert_int_equal(wsm_conn_send(&c, WSM_OP_TEXT, (const uint8_t *)"\xce", 1, WSM_SEND_FIN,
                                 out, sizeof out, &n), WSM_E_INVALID_UTF8_SEND);
  /* nothing changed: a new message can start */
  assert_int_equal(wsm_conn_send(&c, WSM_OP_TEXT, (const uint8_t *)"ok", 2, WSM_SEND_FIN,
                                 out, sizeof out, &n), 0);
  assert_int_equal(out[0], 0x81);
}

static void test_conn_send_header_only(void **state) {
  (void)state;
  struct wsm_conn c;
  struct wsm_config cfg = client_cfg();
  uint32_t rs = 5;
  uint8_t hdr[WSM_FRAME_HEADER_MAX], key[4], key2[4];
  size_t hl;
  assert_int_equal(wsm_conn_init_open(&c, NULL), 0);
  assert_int_equal(wsm_conn_send_header(&c, WSM_OP_BINARY, 70000, WSM_SEND_FIN, hdr, &hl, NULL), 0);
  assert_int_equal(hl, 10);
  assert_int_equal(hdr[0], 0x82);
  assert_int_equal(hdr[1], 127);
  cfg.random = t_random;
  cfg.random_ctx = &rs;
  assert_int_equal(wsm_conn_init_open(&c, &cfg), 0);
  assert_int_equal(wsm_conn_send_header(&c, WSM_OP_BINARY, 5, 0, hdr, &hl, key), 0);
  assert_int_equal(hl, 6);
  assert_memory_equal(hdr + 2, key, 4);
  assert_int_equal(wsm_conn_send_header(&c, WSM_OP_BINARY, 5, WSM_SEND_FIN, hdr, &hl, key2), 0);
  assert_int_equal(hdr[0], 0x80);
  /* a fresh key per frame */
  assert_memory_not_equal(key, key2, 4);
}

static int failing_random(void *ctx, uint8_t *buf, size_t len) {
  (void)ctx;
  (void)buf;
  (void)len;
  return -1;
}

static void test_conn_send_random_failure(void **state) {
  (void)state;
  struct wsm_conn c;
  struct wsm_config cfg = client_cfg();
  uint8_t out[64];
  size_t n;
  cfg.random = failing_random;
  assert_int_equal(wsm_conn_init_open(&c, &cfg), 0);
  assert_int_equal(wsm_conn_send(&c, WSM_OP_TEXT, (const uint8_t *)"x", 1, WSM_SEND_FIN,
                                 out, sizeof out, &n), WSM_E_RANDOM_FAILED);
  /* not sticky: the connection is still usable if the source recovers */
  assert_int_equal(wsm_conn_state(&c), WSM_STATE_OPEN);
}

static void test_conn_send_states(void **state) {
  (void)state;
  struct wsm_conn c;
  uint8_t out[64];
  size_t n, used;
  struct wsm_event ev;
  assert_int_equal(wsm_conn_init(&c, NULL), 0);
  assert_int_equal(wsm_conn_state(&c), WSM_STATE_CONNECTING);
  assert_int_equal(wsm_conn_send(&c, WSM_OP_TEXT, (const uint8_t *)"x", 1, WSM_SEND_FIN,
                                 out, sizeof out, &n), WSM_E_WRONG_STATE);
  assert_int_equal(wsm_conn_send(&c, WSM_OP_CLOSE, (const uint8_t *)"x", 1, WSM_SEND_FIN,
                                 out, sizeof out, &n), WSM_E_WRONG_STATE);
  assert_int_equal(wsm_conn_init_open(&c, NULL), 0);
  assert_int_equal(wsm_conn_send(&c, WSM_OP_PING, (const uint8_t *)"x", 1, WSM_SEND_FIN,
                                 out, sizeof out, &n), WSM_E_INVALID_ARGUMENT);
  /* a failed connection refuses to send */
  uint8_t bad[8] = {0x83, 0x80, 0, 0, 0, 0};
  assert_int_equal(wsm_conn_recv(&c, bad, 6, &used, &ev), WSM_E_RESERVED_OPCODE);
  assert_int_equal(wsm_conn_send(&c, WSM_OP_TEXT, (const uint8_t *)"x", 1, WSM_SEND_FIN,
                                 out, sizeof out, &n), WSM_E_RESERVED_OPCODE);
}

/* Regression inputs from fuzzing (the regress- files in fuzz/corpus). */
static void test_conn_fuzz_regress_partial_frame_in_message_mode(void **state) {
  (void)state;
  /* whole-message mode, a frame whose payload is partly here: no event, and
   * no stale pointer in it either */
  struct wsm_conn c;
  struct wsm_config cfg = server_cfg();
  uint8_t buf[16], in[8] = {0x81, 0x05, 'a'};
  struct wsm_event ev;
  size_t used;
  cfg.flags |= WSM_CFG_ALLOW_UNMASKED;
  assert_int_equal(wsm_conn_init_open(&c, &cfg), 0);
  assert_int_equal(wsm_conn_set_message_buffer(&c, buf, sizeof buf), 0);
  memset(&ev, 0xAA, sizeof ev);
  assert_int_equal(wsm_conn_recv(&c, in, 3, &used, &ev), 0);
  assert_int_equal(ev.type, WSM_EV_NONE);
  assert_null(ev.data);
  assert_int_equal(ev.len, 0);
}

static void test_conn_fuzz_regress_null_empty_input(void **state) {
  (void)state;
  /* NULL with length 0 is an empty input (no arithmetic on NULL: UBSan) */
  struct wsm_conn c;
  struct wsm_event ev;
  size_t used = 7;
  assert_int_equal(wsm_conn_init_open(&c, NULL), 0);
  assert_int_equal(wsm_conn_recv(&c, NULL, 0, &used, &ev), 0);
  assert_int_equal(used, 0);
  assert_int_equal(ev.type, WSM_EV_NONE);
  assert_int_equal(wsm_conn_recv(&c, NULL, 3, &used, &ev), WSM_E_INVALID_ARGUMENT);
  assert_int_equal(wsm_conn_state(&c), WSM_STATE_OPEN);
}

static void test_conn_state_size(void **state) {
  (void)state;
  /* The per-connection cost we promise in the README. */
  assert_true(sizeof(struct wsm_conn) <= 512);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_conn_rfc_example_unmasked_text),
      cmocka_unit_test(test_conn_rfc_example_masked_text),
      cmocka_unit_test(test_conn_rfc_example_fragmented_text),
      cmocka_unit_test(test_conn_rfc_example_ping_gets_identical_pong),
      cmocka_unit_test(test_conn_rfc_example_masked_pong),
      cmocka_unit_test(test_conn_rfc_example_binary_256_and_64k),
      cmocka_unit_test(test_conn_rfc_example_send_bytes),
      cmocka_unit_test(test_conn_frame_lengths_7_16_64),
      cmocka_unit_test(test_conn_frame_length_top_bit_fails),
      cmocka_unit_test(test_conn_frame_length_not_minimal_fails),
      cmocka_unit_test(test_conn_frame_length_not_minimal_relaxation),
      cmocka_unit_test(test_conn_frame_unmasked_to_server_fails),
      cmocka_unit_test(test_conn_frame_unmasked_relaxation),
      cmocka_unit_test(test_conn_frame_masked_to_client_fails),
      cmocka_unit_test(test_conn_frame_rsv_bits_fail),
      cmocka_unit_test(test_conn_frame_rsv_claimed_by_extension),
      cmocka_unit_test(test_conn_frame_rsv_only_on_first_data_frame),
      cmocka_unit_test(test_conn_frame_reserved_opcodes_fail),
      cmocka_unit_test(test_conn_frame_control_rules),
      cmocka_unit_test(test_conn_frame_continuation_without_message_fails),
      cmocka_unit_test(test_conn_frame_new_message_inside_message_fails),
      cmocka_unit_test(test_conn_frame_control_inside_fragmented_message),
      cmocka_unit_test(test_conn_frame_many_frames_in_one_read),
      cmocka_unit_test(test_conn_stream_small_message_is_one_event),
      cmocka_unit_test(test_conn_small_message_every_length_and_position),
      cmocka_unit_test(test_conn_utf8_valid_across_frames),
      cmocka_unit_test(test_conn_utf8_invalid_cases_fail),
      cmocka_unit_test(test_conn_utf8_fails_fast_before_message_end),
      cmocka_unit_test(test_conn_utf8_binary_not_checked),
      cmocka_unit_test(test_conn_close_codes_on_the_wire),
      cmocka_unit_test(test_conn_close_echoes_code_and_reports_reason),
      cmocka_unit_test(test_conn_close_empty_body),
      cmocka_unit_test(test_conn_close_one_byte_body_fails),
      cmocka_unit_test(test_conn_close_reason_invalid_utf8_fails),
      cmocka_unit_test(test_conn_close_then_data_ignored),
      cmocka_unit_test(test_conn_close_sending_after_close_is_an_error),
      cmocka_unit_test(test_conn_close_argument_checks),
      cmocka_unit_test(test_conn_close_we_close_first),
      cmocka_unit_test(test_conn_close_timeout),
      cmocka_unit_test(test_conn_close_eof_before_close_is_abnormal),
      cmocka_unit_test(test_conn_ping_manual_pong),
      cmocka_unit_test(test_conn_ping_flood_is_bounded),
      cmocka_unit_test(test_conn_unsolicited_pong_delivered),
      cmocka_unit_test(test_conn_keepalive_ping_and_timeout),
      cmocka_unit_test(test_conn_ping_after_our_close_gets_pong),
      cmocka_unit_test(test_conn_close_reason_cut_when_queue_full),
      cmocka_unit_test(test_conn_close_without_code_reports_1005),
      cmocka_unit_test(test_conn_keepalive_waits_for_drained_queue),
      cmocka_unit_test(test_conn_limit_frame_checked_on_header),
      cmocka_unit_test(test_conn_limit_message_across_fragments),
      cmocka_unit_test(test_conn_limit_fragments_and_empty_flood),
      cmocka_unit_test(test_conn_limit_huge_lengths_do_not_overflow),
      cmocka_unit_test(test_conn_streaming_constant_memory),
      cmocka_unit_test(test_conn_whole_message_mode),
      cmocka_unit_test(test_conn_send_buffer_too_small_reports_size),
      cmocka_unit_test(test_conn_send_fragmented_and_control_between),
      cmocka_unit_test(test_conn_send_text_checked),
      cmocka_unit_test(test_conn_send_header_only),
      cmocka_unit_test(test_conn_send_random_failure),
      cmocka_unit_test(test_conn_send_states),
      cmocka_unit_test(test_conn_fuzz_regress_partial_frame_in_message_mode),
      cmocka_unit_test(test_conn_fuzz_regress_null_empty_input),
      cmocka_unit_test(test_conn_state_size),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
