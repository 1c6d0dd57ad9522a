/* SPDX-License-Identifier: MIT */
#include "wsm_internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* Deterministic xorshift32, so a failing split can be reproduced. */
static uint32_t rng_next(uint32_t *state) {
  uint32_t x = *state;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  *state = x;
  return x;
}

static void to_hex(const uint8_t digest[20], char hex[41]) {
  static const char digits[17] = "0123456789abcdef";
  for (size_t i = 0; i < 20; i++) {
    hex[2 * i] = digits[digest[i] >> 4];
    hex[2 * i + 1] = digits[digest[i] & 15];
  }
  hex[40] = '\0';
}

static void sha1_whole(const uint8_t *msg, size_t len, char hex[41]) {
  struct wsm_sha1 s;
  uint8_t digest[20];
  wsm_sha1_init(&s);
  wsm_sha1_update(&s, msg, len);
  wsm_sha1_final(&s, digest);
  to_hex(digest, hex);
}

static void sha1_bytewise(const uint8_t *msg, size_t len, char hex[41]) {
  struct wsm_sha1 s;
  uint8_t digest[20];
  wsm_sha1_init(&s);
  for (size_t i = 0; i < len; i++) wsm_sha1_update(&s, msg + i, 1);
  wsm_sha1_final(&s, digest);
  to_hex(digest, hex);
}

/* Chunks of 0 to 150 bytes: empty updates, partial blocks, and chunks that
 * span more than one block boundary. */
static void sha1_random_splits(const uint8_t *msg, size_t len, uint32_t seed,
                               char hex[41]) {
  struct wsm_sha1 s;
  uint8_t digest[20];
  uint32_t state = seed;
  size_t off = 0;
  wsm_sha1_init(&s);
  while (off < len) {
    size_t n = (size_t)(rng_next(&state) % 151);
    if (n > len - off) n = len - off;
    wsm_sha1_update(&s, msg + off, n);
    off += n;
  }
  wsm_sha1_final(&s, digest);
  to_hex(digest, hex);
}

/* Every way of feeding msg must give the digest want. */
static void check_all_ways(const uint8_t *msg, size_t len, const char *want) {
  char hex[41];
  sha1_whole(msg, len, hex);
  assert_string_equal(hex, want);
  sha1_bytewise(msg, len, hex);
  assert_string_equal(hex, want);
  for (uint32_t seed = 1; seed <= 16; seed++) {
    sha1_random_splits(msg, len, seed * 2654435761u, hex);
    assert_string_equal(hex, want);
  }
}

static void check_string(const char *msg, const char *want) {
  check_all_ways((const uint8_t *)msg, strlen(msg), want);
}

/* FIPS 180-2 appendix A.1 and RFC 3174 section 7.3, TEST1. */
static void test_sha1_digest_abc(void **state) {
  (void)state;
  check_string("abc", "a9993e364706816aba3e25717850c26c9cd0d89d");
}

static void test_sha1_digest_empty(void **state) {
  (void)state;
  check_string("", "da39a3ee5e6b4b0d3255bfef95601890afd80709");
}

/* FIPS 180-2 appendix A.2 and RFC 3174 section 7.3, TEST2. */
static void test_sha1_digest_two_blocks(void **state) {
  (void)state;
  check_string("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
               "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
}

/* FIPS 180-2 appendix A.3 and RFC 3174 section 7.3, TEST3. */
static void test_sha1_digest_million_a(void **state) {
  uint8_t *msg = malloc(1000000);
  (void)state;
  assert_non_null(msg);
  memset(msg, 'a', 1000000);
  check_all_ways(msg, 1000000, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
  free(msg);
}

/* The message is the bytes 0, 1, 2, ..., len - 1. Expected digests were
 * computed on the development machine with GNU coreutils:
 *   python3 -c "import sys;sys.stdout.buffer.write(bytes(range(LEN)))" |
 *   sha1sum */
static void check_counting(size_t len, const char *want) {
  uint8_t msg[128];
  assert_true(len <= sizeof msg);
  for (size_t i = 0; i < len; i++) msg[i] = (uint8_t)i;
  check_all_ways(msg, len, want);
}

/* 55 bytes: the 0x80 byte and the length just fit in one block. */
static void test_sha1_padding_len55(void **state) {
  (void)state;
  check_counting(55, "8ae2d46729cfe68ff927af5eec9c7d1b66d65ac2");
}

/* 56 bytes: the length no longer fits, an extra block is needed. */
static void test_sha1_padding_len56(void **state) {
  (void)state;
  check_counting(56, "636e2ec698dac903498e648bd2f3af641d3c88cb");
}

/* 63 bytes: the 0x80 byte is the last byte of the first block. */
static void test_sha1_padding_len63(void **state) {
  (void)state;
  check_counting(63, "6d942da0c4392b123528f2905c713a3ce28364bd");
}

/* 64 bytes: the message fills a block, padding starts a new one. */
static void test_sha1_padding_len64(void **state) {
  (void)state;
  check_counting(64, "c6138d514ffa2135bfce0ed0b8fac65669917ec7");
}

static void test_sha1_padding_len65(void **state) {
  (void)state;
  check_counting(65, "69bd728ad6e13cd76ff19751fde427b00e395746");
}

/* The same boundaries in the second block. */
static void test_sha1_padding_len119(void **state) {
  (void)state;
  check_counting(119, "41c89d06001bab4ab78736b44efe7ce18ce6ae08");
}

static void test_sha1_padding_len120(void **state) {
  (void)state;
  check_counting(120, "d3dbd653bd8597b7475321b60a36891278e6a04a");
}

static void test_sha1_padding_len128(void **state) {
  (void)state;
  check_counting(128, "e6434bc401f98603d7eda504790c98c67385d535");
}

/* Every cut point of a two-block message, in two updates. */
static void test_sha1_update_every_cut(void **state) {
  const char *msg = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  size_t len = strlen(msg);
  (void)state;
  for (size_t cut = 0; cut <= len; cut++) {
    struct wsm_sha1 s;
    uint8_t digest[20];
    char hex[41];
    wsm_sha1_init(&s);
    wsm_sha1_update(&s, (const uint8_t *)msg, cut);
    wsm_sha1_update(&s, (const uint8_t *)msg + cut, len - cut);
    wsm_sha1_final(&s, digest);
    to_hex(digest, hex);
    assert_string_equal(hex, "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
  }
}

/* Whole, byte by byte and random splits must agree for every length that
 * puts the end of the message at each offset of the first three blocks. */
static void test_sha1_update_splits_agree_len0to200(void **state) {
  uint8_t msg[200];
  uint32_t rng = 0x12345678u;
  (void)state;
  for (size_t i = 0; i < sizeof msg; i++) msg[i] = (uint8_t)rng_next(&rng);
  for (size_t len = 0; len <= sizeof msg; len++) {
    char want[41], hex[41];
    sha1_whole(msg, len, want);
    sha1_bytewise(msg, len, hex);
    assert_string_equal(hex, want);
    for (uint32_t seed = 1; seed <= 4; seed++) {
      sha1_random_splits(msg, len, seed * 40503u + (uint32_t)len, hex);
      assert_string_equal(hex, want);
    }
  }
}

/* NULL with length 0 is the empty string, anywhere in the stream. */
static void test_sha1_update_null_empty(void **state) {
  struct wsm_sha1 s;
  uint8_t digest[20];
  char hex[41];
  (void)state;
  wsm_sha1_init(&s);
  wsm_sha1_update(&s, NULL, 0);
  wsm_sha1_update(&s, (const uint8_t *)"ab", 2);
  wsm_sha1_update(&s, NULL, 0);
  wsm_sha1_update(&s, (const uint8_t *)"c", 1);
  wsm_sha1_update(&s, NULL, 0);
  wsm_sha1_final(&s, digest);
  to_hex(digest, hex);
  assert_string_equal(hex, "a9993e364706816aba3e25717850c26c9cd0d89d");
}

/* init must set every field that matters, whatever the struct held. */
static void test_sha1_init_reuses_state(void **state) {
  struct wsm_sha1 s;
  uint8_t digest[20];
  char hex[41];
  (void)state;
  memset(&s, 0xa5, sizeof s);
  wsm_sha1_init(&s);
  wsm_sha1_update(&s, (const uint8_t *)"some earlier message", 20);
  wsm_sha1_final(&s, digest);
  wsm_sha1_init(&s);
  wsm_sha1_update(&s, (const uint8_t *)"abc", 3);
  wsm_sha1_final(&s, digest);
  to_hex(digest, hex);
  assert_string_equal(hex, "a9993e364706816aba3e25717850c26c9cd0d89d");
}

/* RFC 6455 section 1.3: the key with the GUID appended, hashed and
 * base64-encoded, is the Sec-WebSocket-Accept value. */
static void test_sha1_accept_rfc6455(void **state) {
  static const char input[] =
      "dGhlIHNhbXBsZSBub25jZQ==258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  struct wsm_sha1 s;
  uint8_t digest[20];
  char accept[WSM_BASE64_LEN(20) + 1];
  size_t n;
  (void)state;
  wsm_sha1_init(&s);
  wsm_sha1_update(&s, (const uint8_t *)input, sizeof input - 1);
  wsm_sha1_final(&s, digest);
  n = wsm_base64_encode(accept, digest, sizeof digest);
  assert_int_equal(n, 28);
  accept[n] = '\0';
  assert_string_equal(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sha1_digest_abc),
      cmocka_unit_test(test_sha1_digest_empty),
      cmocka_unit_test(test_sha1_digest_two_blocks),
      cmocka_unit_test(test_sha1_digest_million_a),
      cmocka_unit_test(test_sha1_padding_len55),
      cmocka_unit_test(test_sha1_padding_len56),
      cmocka_unit_test(test_sha1_padding_len63),
      cmocka_unit_test(test_sha1_padding_len64),
      cmocka_unit_test(test_sha1_padding_len65),
      cmocka_unit_test(test_sha1_padding_len119),
      cmocka_unit_test(test_sha1_padding_len120),
      cmocka_unit_test(test_sha1_padding_len128),
      cmocka_unit_test(test_sha1_update_every_cut),
      cmocka_unit_test(test_sha1_update_splits_agree_len0to200),
      cmocka_unit_test(test_sha1_update_null_empty),
      cmocka_unit_test(test_sha1_init_reuses_state),
      cmocka_unit_test(test_sha1_accept_rfc6455),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
