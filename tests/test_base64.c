/* SPDX-License-Identifier: MIT */
#include "wsm_internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#define GUARD 0xa5

/* RFC 4648 section 10. */
static const struct {
  const char *plain;
  const char *encoded;
} rfc4648_vectors[] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};
#define N_VECTORS (sizeof rfc4648_vectors / sizeof rfc4648_vectors[0])

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static uint32_t rng_next(uint32_t *state) {
  uint32_t x = *state;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  *state = x;
  return x;
}

static long decode_str(uint8_t *out, size_t cap, const char *text) {
  return wsm_base64_decode(out, cap, text, strlen(text));
}

/* Asserts that decoding text fails and leaves out[cap..] alone. */
static void check_rejected(const char *text, size_t cap) {
  uint8_t out[64];
  assert_true(cap <= sizeof out);
  memset(out, GUARD, sizeof out);
  assert_int_equal(decode_str(out, cap, text), -1);
  for (size_t i = cap; i < sizeof out; i++) assert_int_equal(out[i], GUARD);
}

static void test_base64_encode_rfc4648(void **state) {
  (void)state;
  for (size_t v = 0; v < N_VECTORS; v++) {
    const char *plain = rfc4648_vectors[v].plain;
    const char *want = rfc4648_vectors[v].encoded;
    size_t len = strlen(plain);
    char out[16];
    memset(out, GUARD, sizeof out);
    assert_int_equal(wsm_base64_encode(out, (const uint8_t *)plain, len),
                     strlen(want));
    assert_int_equal(WSM_BASE64_LEN(len), strlen(want));
    assert_memory_equal(out, want, strlen(want));
    /* No terminator, nothing past the encoded length. */
    for (size_t i = strlen(want); i < sizeof out; i++)
      assert_int_equal((uint8_t)out[i], GUARD);
  }
}

static void test_base64_decode_rfc4648(void **state) {
  (void)state;
  for (size_t v = 0; v < N_VECTORS; v++) {
    const char *want = rfc4648_vectors[v].plain;
    const char *text = rfc4648_vectors[v].encoded;
    size_t len = strlen(want);
    uint8_t out[16];
    /* With an exact buffer and with room to spare. */
    memset(out, GUARD, sizeof out);
    assert_int_equal(decode_str(out, len, text), (long)len);
    assert_memory_equal(out, want, len);
    for (size_t i = len; i < sizeof out; i++) assert_int_equal(out[i], GUARD);
    memset(out, GUARD, sizeof out);
    assert_int_equal(decode_str(out, sizeof out, text), (long)len);
    assert_memory_equal(out, want, len);
    for (size_t i = len; i < sizeof out; i++) assert_int_equal(out[i], GUARD);
  }
}

/* NULL with length 0 is the empty string on both sides. */
static void test_base64_empty_null(void **state) {
  (void)state;
  assert_int_equal(wsm_base64_encode(NULL, NULL, 0), 0);
  assert_int_equal(wsm_base64_decode(NULL, 0, NULL, 0), 0);
}

/* RFC 6455 section 1.3: the sample key is 16 bytes, as 4.2.1 requires. */
static void test_base64_decode_rfc6455_key(void **state) {
  uint8_t out[16];
  (void)state;
  assert_int_equal(decode_str(out, sizeof out, "dGhlIHNhbXBsZSBub25jZQ=="),
                   16);
  assert_memory_equal(out, "the sample nonce", 16);
}

/* RFC 6455 section 1.3: the digest bytes of the example accept value. */
static void test_base64_encode_rfc6455_accept(void **state) {
  static const uint8_t digest[20] = {0xb3, 0x7a, 0x4f, 0x2c, 0xc0, 0x62, 0x4f,
                                     0x16, 0x90, 0xf6, 0x46, 0x06, 0xcf, 0x38,
                                     0x59, 0x45, 0xb2, 0xbe, 0xc4, 0xea};
  char out[28];
  (void)state;
  assert_int_equal(wsm_base64_encode(out, digest, sizeof digest), 28);
  assert_memory_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", 28);
}

/* RFC 4648 3.2: without padding the length is not a multiple of 4. */
static void test_base64_decode_bad_length(void **state) {
  static const char *const cases[] = {"Z",    "Zg",      "Zg=",     "Zm8",
                                      "Zm9vY", "Zm9vYg",  "Zm9vYg=", "Zm9vYmE",
                                      "Zg===", "Zm9vYmFy="};
  static const char *const longer[] = {"Zm9vYmFyZm9v", "Zm9vYg==Zg==",
                                       "Zm9vYmE=Zm8="};
  (void)state;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    check_rejected(cases[i], 16);
  /* Prefixes of valid text: the bytes past the given length would make a
   * whole quantum for a decoder that read past it. */
  for (size_t i = 0; i < sizeof longer / sizeof longer[0]; i++) {
    for (size_t len = 1; len < 12; len++) {
      uint8_t out[16];
      if (len % 4 == 0) continue;
      assert_int_equal(wsm_base64_decode(out, sizeof out, longer[i], len), -1);
    }
  }
}

/* Every byte outside the alphabet, at each data position of a full
 * quantum and of padded quanta, is rejected. Every alphabet byte is
 * accepted there, except in the last symbol before '=', whose pad bits
 * test_base64_decode_nonzero_pad_bits covers. */
static void test_base64_decode_bad_chars(void **state) {
  static const char *const bases[] = {"Zm9vYmFy", "Zm9vYg==", "Zm9vYmE="};
  (void)state;
  for (size_t b = 0; b < sizeof bases / sizeof bases[0]; b++) {
    size_t len = strlen(bases[b]);
    size_t data_len = strcspn(bases[b], "=");
    for (size_t pos = 0; pos < data_len; pos++) {
      int has_pad_bits = data_len < len && pos == data_len - 1;
      for (unsigned c = 0; c < 256; c++) {
        char text[8];
        uint8_t out[8];
        int in_alphabet = c != 0 && strchr(alphabet, (int)c) != NULL;
        long r;
        memcpy(text, bases[b], len);
        text[pos] = (char)c;
        r = wsm_base64_decode(out, sizeof out, text, len);
        if (!in_alphabet)
          assert_int_equal(r, -1);
        else if (!has_pad_bits)
          assert_int_equal(r, (long)(len / 4 * 3 - (len - data_len)));
      }
    }
  }
  /* White space and URL-safe symbols (RFC 4648 5) are not allowed. */
  check_rejected("Zm9v Zg==", 16);
  check_rejected("Zm9v\r\nZg==", 16);
  check_rejected(" Zm9vZg==", 16);
  check_rejected("Zm9vZg==\n", 16);
  check_rejected("-_-_", 16);
}

/* '=' anywhere but the last one or two positions. */
static void test_base64_decode_pad_in_middle(void **state) {
  static const char *const cases[] = {
      "====",     "Z===",     "=Zg=",     "Z=g=",     "=m9v",     "Z=9v",
      "Zm=v",     "Zg==Zg==", "Zm8=Zm9v", "Zm9v====", "Zm9vZ===", "Zm9vZ=g=",
      "Zm9=Zm9v"};
  (void)state;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    check_rejected(cases[i], 16);
  /* Embedded NUL after valid padding: length is explicit, so it counts. */
  {
    uint8_t out[16];
    assert_int_equal(wsm_base64_decode(out, sizeof out, "Zg==\0\0\0\0", 8),
                     -1);
  }
}

/* RFC 4648 3.5: pad bits must be zero. "dGhlIHNhbXBsZSBub25jZR==" differs
 * from the RFC 6455 key only in the last symbol: Q is 010000, R is 010001,
 * and with "==" only the top 2 bits of that symbol are data. */
static void test_base64_decode_nonzero_pad_bits(void **state) {
  (void)state;
  check_rejected("dGhlIHNhbXBsZSBub25jZR==", 16);
  check_rejected("Zh==", 16);
  check_rejected("Zm9=", 16);
  /* Sweep the last symbol of "Z?==" (4 pad bits) and "Zm?=" (2 pad bits):
   * accepted exactly when the pad bits are zero, with the right byte. */
  for (int v = 0; v < 64; v++) {
    char text[5];
    uint8_t out[4];
    long r;
    memcpy(text, "Z?==", 5);
    text[1] = alphabet[v];
    r = decode_str(out, sizeof out, text);
    if (v & 15) {
      assert_int_equal(r, -1);
    } else {
      assert_int_equal(r, 1);
      assert_int_equal(out[0], (25 << 2) | (v >> 4));
    }
    memcpy(text, "Zm?=", 5);
    text[2] = alphabet[v];
    r = decode_str(out, sizeof out, text);
    if (v & 3) {
      assert_int_equal(r, -1);
    } else {
      assert_int_equal(r, 2);
      assert_int_equal(out[0], 'f');
      assert_int_equal(out[1], ((38 & 15) << 4) | (v >> 2));
    }
  }
}

/* A too-small buffer fails and is not written past cap. */
static void test_base64_decode_cap_too_small(void **state) {
  (void)state;
  for (size_t v = 0; v < N_VECTORS; v++) {
    size_t len = strlen(rfc4648_vectors[v].plain);
    for (size_t cap = 0; cap < len; cap++)
      check_rejected(rfc4648_vectors[v].encoded, cap);
  }
  check_rejected("dGhlIHNhbXBsZSBub25jZQ==", 15);
  check_rejected("dGhlIHNhbXBsZSBub25jZQ==", 0);
}

/* Pseudo-random bytes of every length 0..64 encode to the published length
 * in the alphabet and decode back, with an exact buffer and not one byte
 * less. */
static void test_base64_roundtrip_len0to64(void **state) {
  uint32_t rng = 0x9e3779b9u;
  (void)state;
  for (size_t len = 0; len <= 64; len++) {
    uint8_t data[64], back[64 + 1];
    char text[WSM_BASE64_LEN(64) + 1];
    size_t n;
    for (size_t i = 0; i < len; i++) data[i] = (uint8_t)rng_next(&rng);
    memset(text, GUARD, sizeof text);
    n = wsm_base64_encode(text, data, len);
    assert_int_equal(n, WSM_BASE64_LEN(len));
    assert_int_equal((uint8_t)text[n], GUARD);
    for (size_t i = 0; i < n; i++) {
      size_t pad = (3 - len % 3) % 3;
      if (i >= n - pad)
        assert_int_equal(text[i], '=');
      else
        assert_non_null(memchr(alphabet, text[i], 64));
    }
    memset(back, GUARD, sizeof back);
    assert_int_equal(wsm_base64_decode(back, len, text, n), (long)len);
    assert_memory_equal(back, data, len);
    assert_int_equal(back[len], GUARD);
    if (len > 0)
      assert_int_equal(wsm_base64_decode(back, len - 1, text, n), -1);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_base64_encode_rfc4648),
      cmocka_unit_test(test_base64_decode_rfc4648),
      cmocka_unit_test(test_base64_empty_null),
      cmocka_unit_test(test_base64_decode_rfc6455_key),
      cmocka_unit_test(test_base64_encode_rfc6455_accept),
      cmocka_unit_test(test_base64_decode_bad_length),
      cmocka_unit_test(test_base64_decode_bad_chars),
      cmocka_unit_test(test_base64_decode_pad_in_middle),
      cmocka_unit_test(test_base64_decode_nonzero_pad_bits),
      cmocka_unit_test(test_base64_decode_cap_too_small),
      cmocka_unit_test(test_base64_roundtrip_len0to64),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
