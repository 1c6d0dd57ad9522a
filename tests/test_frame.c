/* SPDX-License-Identifier: MIT */
#include "wsm.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define GUARD 0xa5
#define MAX_63 UINT64_C(0x7FFFFFFFFFFFFFFF)

static const uint8_t key_a[4] = {0x37, 0xfa, 0x21, 0x3d};
static const uint8_t reserved_opcodes[] = {0x3, 0x4, 0x5, 0x6, 0x7,
                                           0xB, 0xC, 0xD, 0xE, 0xF};
static const uint8_t known_opcodes[] = {WSM_OP_CONTINUATION, WSM_OP_TEXT,
                                        WSM_OP_BINARY, WSM_OP_CLOSE,
                                        WSM_OP_PING, WSM_OP_PONG};

static uint64_t rng_next(uint64_t *s) {
  uint64_t x = *s;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  *s = x;
  return x;
}

static int is_control(unsigned op) { return op >= 0x8; }

/* The header size RFC 6455 5.2 implies for the minimal encoding. */
static size_t minimal_size(uint64_t len, int masked) {
  size_t n = len <= 125 ? 2 : len <= 0xFFFF ? 4 : 10;
  return masked ? n + 4 : n;
}

/* Decodes the first len bytes of data from a heap copy of exactly that
 * size, so that a read past len trips AddressSanitizer. */
static int decode_exact(struct wsm_frame_header *h, const uint8_t *data,
                        size_t len, unsigned flags) {
  uint8_t *copy = NULL;
  int rc;
  if (len > 0) {
    copy = malloc(len);
    assert_non_null(copy);
    memcpy(copy, data, len);
  }
  rc = wsm_frame_decode(h, copy, len, flags);
  free(copy);
  return rc;
}

/* Decodes data (exactly one whole header, maybe followed by payload) and
 * checks that every shorter prefix asks for more. */
static int decode_all_prefixes(struct wsm_frame_header *h, const uint8_t *data,
                               size_t header_len, size_t len, unsigned flags) {
  for (size_t n = 0; n < header_len; n++) {
    struct wsm_frame_header scratch;
    int rc = decode_exact(&scratch, data, n, flags);
    if (rc != 0)
      fail_msg("prefix of %zu bytes (of %zu) gave %d", n, header_len, rc);
  }
  return decode_exact(h, data, len, flags);
}

static void check_header(const struct wsm_frame_header *h, unsigned fin,
                         unsigned rsv, unsigned opcode, unsigned masked,
                         const uint8_t *key, uint64_t payload_len) {
  assert_int_equal(h->fin, fin);
  assert_int_equal(h->rsv, rsv);
  assert_int_equal(h->opcode, opcode);
  assert_int_equal(h->masked, masked);
  if (masked) assert_memory_equal(h->mask_key, key, 4);
  assert_true(h->payload_len == payload_len);
}

/* Encodes h and checks the bytes against want, and that nothing past them
 * was written. */
static void check_encode(const struct wsm_frame_header *h, const uint8_t *want,
                         size_t want_len) {
  uint8_t out[WSM_FRAME_HEADER_MAX + 8];
  memset(out, GUARD, sizeof out);
  assert_int_equal(wsm_frame_encode(out, h), want_len);
  assert_memory_equal(out, want, want_len);
  for (size_t i = want_len; i < sizeof out; i++) assert_int_equal(out[i], GUARD);
  assert_int_equal(wsm_frame_header_size(h->payload_len, h->masked), want_len);
}

static void unmask_and_compare(const uint8_t *payload, size_t len,
                               const uint8_t key[4], const char *want) {
  for (size_t i = 0; i < len; i++)
    assert_int_equal(payload[i] ^ key[i % 4], (uint8_t)want[i]);
}

/* RFC 6455 section 5.7, every example. */
static void test_frame_rfc6455_examples(void **state) {
  static const uint8_t text[] = {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
  static const uint8_t masked_text[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                        0x7f, 0x9f, 0x4d, 0x51, 0x58};
  static const uint8_t frag1[] = {0x01, 0x03, 0x48, 0x65, 0x6c};
  static const uint8_t frag2[] = {0x80, 0x02, 0x6c, 0x6f};
  static const uint8_t ping[] = {0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
  static const uint8_t pong[] = {0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                 0x7f, 0x9f, 0x4d, 0x51, 0x58};
  static const uint8_t bin256[] = {0x82, 0x7E, 0x01, 0x00};
  static const uint8_t bin64k[] = {0x82, 0x7F, 0x00, 0x00, 0x00,
                                   0x00, 0x00, 0x01, 0x00, 0x00};
  struct wsm_frame_header h;
  (void)state;

  assert_int_equal(decode_all_prefixes(&h, text, 2, sizeof text, 0), 2);
  check_header(&h, 1, 0, WSM_OP_TEXT, 0, NULL, 5);
  assert_memory_equal(text + 2, "Hello", 5);
  check_encode(&h, text, 2);

  assert_int_equal(decode_all_prefixes(&h, masked_text, 6, sizeof masked_text, 0), 6);
  check_header(&h, 1, 0, WSM_OP_TEXT, 1, key_a, 5);
  unmask_and_compare(masked_text + 6, 5, h.mask_key, "Hello");
  check_encode(&h, masked_text, 6);

  assert_int_equal(decode_all_prefixes(&h, frag1, 2, sizeof frag1, 0), 2);
  check_header(&h, 0, 0, WSM_OP_TEXT, 0, NULL, 3);
  check_encode(&h, frag1, 2);
  assert_int_equal(decode_all_prefixes(&h, frag2, 2, sizeof frag2, 0), 2);
  check_header(&h, 1, 0, WSM_OP_CONTINUATION, 0, NULL, 2);
  check_encode(&h, frag2, 2);

  assert_int_equal(decode_all_prefixes(&h, ping, 2, sizeof ping, 0), 2);
  check_header(&h, 1, 0, WSM_OP_PING, 0, NULL, 5);
  check_encode(&h, ping, 2);

  assert_int_equal(decode_all_prefixes(&h, pong, 6, sizeof pong, 0), 6);
  check_header(&h, 1, 0, WSM_OP_PONG, 1, key_a, 5);
  unmask_and_compare(pong + 6, 5, h.mask_key, "Hello");
  check_encode(&h, pong, 6);

  assert_int_equal(decode_all_prefixes(&h, bin256, 4, sizeof bin256, 0), 4);
  check_header(&h, 1, 0, WSM_OP_BINARY, 0, NULL, 256);
  check_encode(&h, bin256, 4);

  assert_int_equal(decode_all_prefixes(&h, bin64k, 10, sizeof bin64k, 0), 10);
  check_header(&h, 1, 0, WSM_OP_BINARY, 0, NULL, 65536);
  check_encode(&h, bin64k, 10);
}

/* 7-, 16- and 64-bit lengths at their edges, spelled out byte for byte. */
static void test_frame_length_boundaries(void **state) {
  static const struct {
    uint64_t len;
    uint8_t bytes[10];
    size_t n;
  } cases[] = {
      {0, {0x82, 0x00}, 2},
      {1, {0x82, 0x01}, 2},
      {125, {0x82, 0x7D}, 2},
      {126, {0x82, 0x7E, 0x00, 0x7E}, 4},
      {127, {0x82, 0x7E, 0x00, 0x7F}, 4},
      {256, {0x82, 0x7E, 0x01, 0x00}, 4},
      {0x1234, {0x82, 0x7E, 0x12, 0x34}, 4},
      {65535, {0x82, 0x7E, 0xFF, 0xFF}, 4},
      {65536, {0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00}, 10},
      {UINT64_C(0xFFFFFFFF), {0x82, 0x7F, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF}, 10},
      {UINT64_C(0x100000000), {0x82, 0x7F, 0, 0, 0, 0x01, 0, 0, 0, 0}, 10},
      {UINT64_C(0x0102030405060708),
       {0x82, 0x7F, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08}, 10},
      {MAX_63, {0x82, 0x7F, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}, 10},
  };
  (void)state;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    uint8_t buf[WSM_FRAME_HEADER_MAX + 3];
    size_t n = cases[i].n;
    struct wsm_frame_header h;
    /* Unmasked, with payload bytes after it that must not be read as
     * header. */
    memcpy(buf, cases[i].bytes, n);
    memset(buf + n, 0xFF, sizeof buf - n);
    assert_int_equal(decode_all_prefixes(&h, buf, n, sizeof buf, 0), (int)n);
    check_header(&h, 1, 0, WSM_OP_BINARY, 0, NULL, cases[i].len);
    check_encode(&h, buf, n);
    assert_int_equal(minimal_size(cases[i].len, 0), n);
    /* Masked: the key follows the length. */
    buf[1] |= 0x80;
    memcpy(buf + n, key_a, 4);
    memset(buf + n + 4, 0xFF, sizeof buf - n - 4);
    assert_int_equal(decode_all_prefixes(&h, buf, n + 4, sizeof buf, 0),
                     (int)(n + 4));
    check_header(&h, 1, 0, WSM_OP_BINARY, 1, key_a, cases[i].len);
    check_encode(&h, buf, n + 4);
  }
}

static void test_frame_header_size_boundaries(void **state) {
  static const struct {
    uint64_t len;
    size_t n;
  } cases[] = {{0, 2},       {125, 2},    {126, 4},         {65535, 4},
               {65536, 10},  {MAX_63, 10}, {UINT64_MAX, 10}};
  (void)state;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    assert_int_equal(wsm_frame_header_size(cases[i].len, 0), cases[i].n);
    assert_int_equal(wsm_frame_header_size(cases[i].len, 1), cases[i].n + 4);
  }
  assert_int_equal(wsm_frame_header_size(MAX_63, 1), WSM_FRAME_HEADER_MAX);
}

static void test_frame_decode_empty_needs_more(void **state) {
  struct wsm_frame_header h;
  static const uint8_t one[1] = {0x89};
  (void)state;
  assert_int_equal(wsm_frame_decode(&h, NULL, 0, 0), 0);
  assert_int_equal(decode_exact(&h, one, 1, 0), 0);
  /* One byte says nothing about the length, even for a control frame. */
  for (unsigned b0 = 0; b0 < 256; b0++) {
    uint8_t b = (uint8_t)b0;
    int rc = decode_exact(&h, &b, 1, 0);
    assert_true(rc <= 0);
    if (rc < 0) /* only what the first byte alone can tell */
      assert_true(rc == WSM_E_RESERVED_OPCODE || rc == WSM_E_CONTROL_FRAGMENTED);
  }
}

static void test_frame_decode_length_top_bit(void **state) {
  uint64_t rng = 5;
  (void)state;
  for (int round = 0; round < 2000; round++) {
    uint8_t buf[WSM_FRAME_HEADER_MAX];
    struct wsm_frame_header h;
    int masked = round & 1;
    unsigned flags = round & 2 ? WSM_FRAME_ALLOW_NON_MINIMAL_LENGTH : 0;
    uint64_t r = rng_next(&rng);
    buf[0] = (uint8_t)(round & 4 ? 0x82 : 0x01);
    buf[1] = (uint8_t)(masked ? 0xFF : 0x7F);
    for (int i = 0; i < 8; i++) buf[2 + i] = (uint8_t)(r >> (8 * i));
    if (round < 8) memset(buf + 3, round < 4 ? 0x00 : 0xFF, 7);
    buf[2] |= 0x80;
    memcpy(buf + 10, key_a, 4);
    assert_int_equal(wsm_frame_decode(&h, buf, masked ? 14 : 10, flags),
                     WSM_E_LENGTH_TOP_BIT);
  }
}

static void test_frame_decode_non_minimal_16(void **state) {
  (void)state;
  for (unsigned v = 0; v <= 126; v++) {
    for (int masked = 0; masked <= 1; masked++) {
      uint8_t buf[8] = {0x82, (uint8_t)(masked ? 0xFE : 0x7E), 0x00, (uint8_t)v};
      size_t n = masked ? 8 : 4;
      struct wsm_frame_header h;
      memcpy(buf + 4, key_a, 4);
      if (v < 126) {
        assert_int_equal(wsm_frame_decode(&h, buf, n, 0),
                         WSM_E_LENGTH_NOT_MINIMAL);
      } else {
        assert_int_equal(wsm_frame_decode(&h, buf, n, 0), (int)n);
        check_header(&h, 1, 0, WSM_OP_BINARY, (unsigned)masked, key_a, 126);
      }
      /* The relaxation accepts the value as given, and still needs every
       * header byte first. */
      assert_int_equal(decode_all_prefixes(&h, buf, n, n,
                                           WSM_FRAME_ALLOW_NON_MINIMAL_LENGTH),
                       (int)n);
      check_header(&h, 1, 0, WSM_OP_BINARY, (unsigned)masked, key_a, v);
    }
  }
}

static void test_frame_decode_non_minimal_64(void **state) {
  static const uint64_t values[] = {0, 1, 125, 126, 127, 0x1234, 65535, 65536};
  (void)state;
  for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
    for (int masked = 0; masked <= 1; masked++) {
      uint8_t buf[14];
      size_t n = masked ? 14 : 10;
      struct wsm_frame_header h;
      buf[0] = 0x02;
      buf[1] = (uint8_t)(masked ? 0xFF : 0x7F);
      for (int b = 0; b < 8; b++) buf[2 + b] = (uint8_t)(values[i] >> (56 - 8 * b));
      memcpy(buf + 10, key_a, 4);
      if (values[i] <= 65535) {
        assert_int_equal(wsm_frame_decode(&h, buf, n, 0),
                         WSM_E_LENGTH_NOT_MINIMAL);
      } else {
        assert_int_equal(wsm_frame_decode(&h, buf, n, 0), (int)n);
        check_header(&h, 0, 0, WSM_OP_BINARY, (unsigned)masked, key_a, values[i]);
      }
      assert_int_equal(decode_all_prefixes(&h, buf, n, n,
                                           WSM_FRAME_ALLOW_NON_MINIMAL_LENGTH),
                       (int)n);
      check_header(&h, 0, 0, WSM_OP_BINARY, (unsigned)masked, key_a, values[i]);
    }
  }
}

/* Reserved opcodes fail on the first two bytes, whatever else they say. */
static void test_frame_decode_reserved_opcode(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof reserved_opcodes; i++) {
    for (unsigned high = 0; high < 16; high++) { /* FIN and RSV1-3 */
      for (unsigned b1 = 0; b1 < 256; b1++) {
        uint8_t buf[WSM_FRAME_HEADER_MAX] = {0};
        struct wsm_frame_header h;
        buf[0] = (uint8_t)(high << 4 | reserved_opcodes[i]);
        buf[1] = (uint8_t)b1;
        assert_int_equal(decode_exact(&h, buf, 2, 0), WSM_E_RESERVED_OPCODE);
        assert_int_equal(wsm_frame_decode(&h, buf, sizeof buf,
                                          WSM_FRAME_ALLOW_NON_MINIMAL_LENGTH),
                         WSM_E_RESERVED_OPCODE);
      }
    }
  }
}

/* RFC 6455 5.5: control frames must not be fragmented. */
static void test_frame_decode_control_fragmented(void **state) {
  static const uint8_t controls[] = {WSM_OP_CLOSE, WSM_OP_PING, WSM_OP_PONG};
  (void)state;
  for (size_t i = 0; i < sizeof controls; i++) {
    for (unsigned rsv = 0; rsv < 8; rsv++) {
      for (unsigned b1 = 0; b1 < 256; b1++) {
        uint8_t buf[2] = {(uint8_t)(rsv << 4 | controls[i]), (uint8_t)b1};
        struct wsm_frame_header h;
        int rc = decode_exact(&h, buf, 2, 0);
        if ((b1 & 0x7F) <= 125)
          assert_int_equal(rc, WSM_E_CONTROL_FRAGMENTED);
        else /* both faults at once: either may be named */
          assert_true(rc == WSM_E_CONTROL_FRAGMENTED ||
                      rc == WSM_E_CONTROL_TOO_LONG);
      }
    }
  }
}

/* RFC 6455 5.5: a control payload is at most 125 bytes, so the 16- and
 * 64-bit forms are wrong for it whatever value they hold. */
static void test_frame_decode_control_too_long(void **state) {
  static const uint8_t controls[] = {WSM_OP_CLOSE, WSM_OP_PING, WSM_OP_PONG};
  (void)state;
  for (size_t i = 0; i < sizeof controls; i++) {
    for (int masked = 0; masked <= 1; masked++) {
      uint8_t m = (uint8_t)(masked ? 0x80 : 0);
      uint8_t b0 = (uint8_t)(0x80 | controls[i]);
      uint8_t form16[8] = {b0, (uint8_t)(m | 126), 0x00, 0x7E};
      uint8_t form16_small[8] = {b0, (uint8_t)(m | 126), 0x00, 0x05};
      uint8_t form64[14] = {b0, (uint8_t)(m | 127), 0, 0, 0, 0, 0, 0x01, 0, 0};
      uint8_t form64_small[14] = {b0, (uint8_t)(m | 127), 0, 0, 0, 0, 0, 0, 0, 5};
      struct wsm_frame_header h;
      /* From the first two bytes alone. */
      assert_int_equal(decode_exact(&h, form16, 2, 0), WSM_E_CONTROL_TOO_LONG);
      assert_int_equal(decode_exact(&h, form64, 2, 0), WSM_E_CONTROL_TOO_LONG);
      for (unsigned flags = 0; flags <= WSM_FRAME_ALLOW_NON_MINIMAL_LENGTH; flags++) {
        assert_int_equal(wsm_frame_decode(&h, form16, sizeof form16, flags),
                         WSM_E_CONTROL_TOO_LONG);
        assert_int_equal(wsm_frame_decode(&h, form16_small, sizeof form16_small,
                                          flags),
                         WSM_E_CONTROL_TOO_LONG);
        assert_int_equal(wsm_frame_decode(&h, form64, sizeof form64, flags),
                         WSM_E_CONTROL_TOO_LONG);
        assert_int_equal(wsm_frame_decode(&h, form64_small, sizeof form64_small,
                                          flags),
                         WSM_E_CONTROL_TOO_LONG);
      }
      /* Every 7-bit length is fine. */
      for (unsigned len = 0; len <= WSM_CONTROL_PAYLOAD_MAX; len++) {
        uint8_t buf[6] = {b0, (uint8_t)(m | len)};
        memcpy(buf + 2, key_a, 4);
        assert_int_equal(decode_all_prefixes(&h, buf, masked ? 6 : 2,
                                             masked ? 6 : 2, 0),
                         masked ? 6 : 2);
        check_header(&h, 1, 0, controls[i], (unsigned)masked, key_a, len);
      }
    }
  }
}

/* RSV bits and the mask bit are reported, not judged. */
static void test_frame_decode_reports_rsv_and_mask(void **state) {
  (void)state;
  /* RSV1 is 0x40 on the wire and 0x4 in the struct. */
  {
    static const uint8_t rsv1[] = {0xC1, 0x00};
    static const uint8_t rsv2[] = {0xA1, 0x00};
    static const uint8_t rsv3[] = {0x91, 0x00};
    struct wsm_frame_header h;
    assert_int_equal(wsm_frame_decode(&h, rsv1, 2, 0), 2);
    assert_int_equal(h.rsv, 0x4);
    assert_int_equal(wsm_frame_decode(&h, rsv2, 2, 0), 2);
    assert_int_equal(h.rsv, 0x2);
    assert_int_equal(wsm_frame_decode(&h, rsv3, 2, 0), 2);
    assert_int_equal(h.rsv, 0x1);
  }
  for (size_t i = 0; i < sizeof known_opcodes; i++) {
    unsigned op = known_opcodes[i];
    for (unsigned fin = is_control(op) ? 1 : 0; fin <= 1; fin++) {
      for (unsigned rsv = 0; rsv < 8; rsv++) {
        for (unsigned masked = 0; masked <= 1; masked++) {
          uint8_t buf[6] = {(uint8_t)(fin << 7 | rsv << 4 | op),
                            (uint8_t)(masked << 7 | 17)};
          struct wsm_frame_header h;
          size_t n = masked ? 6 : 2;
          memcpy(buf + 2, key_a, 4);
          assert_int_equal(decode_all_prefixes(&h, buf, n, n, 0), (int)n);
          check_header(&h, fin, rsv, op, masked, key_a, 17);
          check_encode(&h, buf, n);
        }
      }
    }
  }
}

/* Encode then decode, over lengths at and around every boundary. */
static void test_frame_encode_decode_roundtrip(void **state) {
  uint64_t lens[160];
  size_t nlens = 0;
  uint64_t rng = 77;
  uint8_t key[4];
  (void)state;
  for (uint64_t l = 0; l <= 130; l++) lens[nlens++] = l;
  lens[nlens++] = 255;
  lens[nlens++] = 256;
  lens[nlens++] = 65534;
  lens[nlens++] = 65535;
  lens[nlens++] = 65536;
  lens[nlens++] = 65537;
  lens[nlens++] = UINT64_C(0xFFFFFFFF);
  lens[nlens++] = UINT64_C(0x100000000);
  lens[nlens++] = MAX_63 - 1;
  lens[nlens++] = MAX_63;
  for (size_t li = 0; li < nlens + 200; li++) {
    uint64_t len;
    if (li < nlens) {
      len = lens[li];
    } else { /* random lengths of random magnitude */
      uint64_t r = rng_next(&rng);
      len = r >> (1 + r % 63);
    }
    for (size_t i = 0; i < sizeof known_opcodes; i++) {
      unsigned op = known_opcodes[i];
      if (is_control(op) && len > WSM_CONTROL_PAYLOAD_MAX) continue;
      for (unsigned fin = is_control(op) ? 1 : 0; fin <= 1; fin++) {
        for (unsigned rsv = 0; rsv < 8; rsv++) {
          for (unsigned masked = 0; masked <= 1; masked++) {
            struct wsm_frame_header in, out;
            uint8_t buf[WSM_FRAME_HEADER_MAX + 4];
            size_t n;
            uint64_t r = rng_next(&rng);
            for (int k = 0; k < 4; k++) key[k] = (uint8_t)(r >> (8 * k));
            memset(&in, 0, sizeof in);
            in.fin = (uint8_t)fin;
            in.rsv = (uint8_t)rsv;
            in.opcode = (uint8_t)op;
            in.masked = (uint8_t)masked;
            in.payload_len = len;
            if (masked) memcpy(in.mask_key, key, 4);
            memset(buf, GUARD, sizeof buf);
            n = wsm_frame_encode(buf, &in);
            assert_int_equal(n, minimal_size(len, (int)masked));
            assert_int_equal(n, wsm_frame_header_size(len, (int)masked));
            for (size_t g = n; g < sizeof buf; g++)
              assert_int_equal(buf[g], GUARD);
            memset(&out, 0x5A, sizeof out);
            assert_int_equal(wsm_frame_decode(&out, buf, sizeof buf, 0), (int)n);
            check_header(&out, fin, rsv, op, masked, key, len);
            if (li < 8 || len == MAX_63)
              assert_int_equal(decode_all_prefixes(&out, buf, n, n, 0), (int)n);
          }
        }
      }
    }
  }
}

/*
 * Reference decoder, straight from RFC 6455 5.2 and 5.5, for the random
 * differential test. It judges in the order of the wire: opcode, then
 * control rules (first two bytes), then the extended length.
 */
static int ref_decode(struct wsm_frame_header *h, const uint8_t *d, size_t len,
                      unsigned flags) {
  unsigned op, len7;
  size_t ext, need;
  uint64_t plen = 0;
  if (len < 2) return 0;
  op = d[0] & 0x0Fu;
  len7 = d[1] & 0x7Fu;
  if ((op >= 3 && op <= 7) || op >= 11) return WSM_E_RESERVED_OPCODE;
  if (op >= 8 && !(d[0] & 0x80)) return WSM_E_CONTROL_FRAGMENTED;
  if (op >= 8 && len7 > 125) return WSM_E_CONTROL_TOO_LONG;
  ext = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
  need = 2 + ext + (d[1] & 0x80 ? 4 : 0);
  if (len < need) return 0;
  if (ext == 0) plen = len7;
  for (size_t i = 0; i < ext; i++) plen = plen * 256 + d[2 + i];
  if (ext == 8 && plen > MAX_63) return WSM_E_LENGTH_TOP_BIT;
  if (!(flags & WSM_FRAME_ALLOW_NON_MINIMAL_LENGTH) &&
      ((ext == 2 && plen <= 125) || (ext == 8 && plen <= 65535)))
    return WSM_E_LENGTH_NOT_MINIMAL;
  h->fin = (uint8_t)(d[0] >> 7);
  h->rsv = (uint8_t)(d[0] >> 4 & 7);
  h->opcode = (uint8_t)op;
  h->masked = (uint8_t)(d[1] >> 7);
  h->payload_len = plen;
  if (h->masked) memcpy(h->mask_key, d + 2 + ext, 4);
  return (int)need;
}

static void test_frame_decode_differential_random(void **state) {
  uint64_t rng = 0xC0FFEE;
  int seen_ok = 0, seen_err = 0, seen_more = 0;
  (void)state;
  for (int iter = 0; iter < 200000; iter++) {
    uint8_t buf[WSM_FRAME_HEADER_MAX];
    struct wsm_frame_header got, want;
    uint64_t r = rng_next(&rng);
    size_t len = (size_t)(r % (WSM_FRAME_HEADER_MAX + 1));
    unsigned flags = (unsigned)(r >> 8) & WSM_FRAME_ALLOW_NON_MINIMAL_LENGTH;
    int rc, ref;
    for (size_t i = 0; i < sizeof buf; i++) buf[i] = (uint8_t)(rng_next(&rng) >> 32);
    /* Steer towards valid opcodes and the interesting length bytes. */
    if ((r >> 16) % 4 != 0)
      buf[0] = (uint8_t)((buf[0] & 0xF0) | known_opcodes[(r >> 20) % 6]);
    switch ((r >> 24) % 6) {
    case 0: buf[1] = (uint8_t)((buf[1] & 0x80) | 126); break;
    case 1: buf[1] = (uint8_t)((buf[1] & 0x80) | 127); break;
    case 2: buf[1] = (uint8_t)((buf[1] & 0x80) | 125); break;
    default: break;
    }
    if ((r >> 32) % 2) memset(buf + 2, 0, 1 + (r >> 33) % 6);
    rc = decode_exact(&got, buf, len, flags);
    ref = ref_decode(&want, buf, len, flags);
    if (rc != ref)
      fail_msg("iteration %d: got %d, reference %d", iter, rc, ref);
    if (rc > 0) {
      check_header(&got, want.fin, want.rsv, want.opcode, want.masked,
                   want.mask_key, want.payload_len);
      seen_ok++;
    } else if (rc < 0) {
      seen_err++;
    } else {
      seen_more++;
    }
  }
  assert_true(seen_ok > 10000);
  assert_true(seen_err > 10000);
  assert_true(seen_more > 10000);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_frame_rfc6455_examples),
      cmocka_unit_test(test_frame_length_boundaries),
      cmocka_unit_test(test_frame_header_size_boundaries),
      cmocka_unit_test(test_frame_decode_empty_needs_more),
      cmocka_unit_test(test_frame_decode_length_top_bit),
      cmocka_unit_test(test_frame_decode_non_minimal_16),
      cmocka_unit_test(test_frame_decode_non_minimal_64),
      cmocka_unit_test(test_frame_decode_reserved_opcode),
      cmocka_unit_test(test_frame_decode_control_fragmented),
      cmocka_unit_test(test_frame_decode_control_too_long),
      cmocka_unit_test(test_frame_decode_reports_rsv_and_mask),
      cmocka_unit_test(test_frame_encode_decode_roundtrip),
      cmocka_unit_test(test_frame_decode_differential_random),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
