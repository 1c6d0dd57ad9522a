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
#define PAD 16 /* guard bytes on each side of a buffer under test */

static const uint8_t key_a[4] = {0x37, 0xfa, 0x21, 0x3d};

static uint64_t rng_next(uint64_t *s) {
  uint64_t x = *s;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  *s = x;
  return x;
}

static void fill_random(uint8_t *p, size_t len, uint64_t *rng) {
  for (size_t i = 0; i < len; i++) p[i] = (uint8_t)(rng_next(rng) >> 24);
}

/* RFC 6455 5.3, one byte at a time: octet i uses key octet (i + phase) % 4. */
static void ref_mask(uint8_t *data, size_t len, const uint8_t key[4],
                     unsigned phase) {
  for (size_t i = 0; i < len; i++) data[i] ^= key[(i + phase) % 4];
}

static void check_guards(const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) assert_int_equal(p[i], GUARD);
}

/*
 * Masks len random bytes placed at offset align of a 16-aligned block (with
 * guards before and after) and compares with the reference.
 */
static void check_against_reference(size_t len, unsigned phase, size_t align,
                                    const uint8_t key[4], uint64_t *rng) {
  /* uint64_t storage gives the block a known 8-byte alignment at least;
   * rounding up to 16 gives the offsets their meaning. */
  size_t words = (2 * PAD + 32 + len) / 8 + 1;
  uint64_t *storage = malloc(words * sizeof *storage);
  uint8_t *base, *p, *want;
  unsigned got_phase;
  assert_non_null(storage);
  base = (uint8_t *)storage;
  base += (16 - (uintptr_t)base % 16) % 16;
  p = base + PAD + align;
  want = malloc(len + 1);
  assert_non_null(want);
  memset(base, GUARD, PAD + align);
  fill_random(p, len, rng);
  memset(p + len, GUARD, PAD);
  memcpy(want, p, len);
  ref_mask(want, len, key, phase);
  got_phase = wsm_mask(p, len, key, phase);
  assert_int_equal(got_phase, (phase + len) % 4);
  if (memcmp(p, want, len) != 0)
    fail_msg("len %zu phase %u align %zu differs", len, phase, align);
  check_guards(base, PAD + align);
  check_guards(p + len, PAD);
  free(want);
  free(storage);
}

static void test_mask_rfc6455_example(void **state) {
  static const uint8_t masked[5] = {0x7f, 0x9f, 0x4d, 0x51, 0x58};
  uint8_t buf[5];
  (void)state;
  memcpy(buf, "Hello", 5);
  assert_int_equal(wsm_mask(buf, 5, key_a, 0), 1);
  assert_memory_equal(buf, masked, 5);
  /* Unmasking is the same operation. */
  assert_int_equal(wsm_mask(buf, 5, key_a, 0), 1);
  assert_memory_equal(buf, "Hello", 5);
}

static void test_mask_reference_small_every_phase_align(void **state) {
  static const uint8_t keys[][4] = {
      {0x37, 0xfa, 0x21, 0x3d}, {0x01, 0x02, 0x04, 0x80}, {0xff, 0x00, 0xff, 0x00}};
  uint64_t rng = 0x0123456789ABCDEFu;
  (void)state;
  for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
    for (size_t len = 0; len <= 100; len++)
      for (unsigned phase = 0; phase < 4; phase++)
        for (size_t align = 0; align < 16; align++)
          check_against_reference(len, phase, align, keys[k], &rng);
}

static void test_mask_reference_large(void **state) {
  static const size_t lens[] = {(size_t)1 << 20, ((size_t)1 << 20) + 3,
                                ((size_t)1 << 20) - 1, 65536 + 5};
  uint64_t rng = 42;
  (void)state;
  for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++)
    for (unsigned phase = 0; phase < 4; phase++)
      check_against_reference(lens[i], phase, (i * 5 + phase * 3) % 16, key_a,
                              &rng);
}

static void test_mask_phase_returned(void **state) {
  uint8_t buf[40];
  (void)state;
  for (unsigned phase = 0; phase < 4; phase++) {
    for (size_t len = 0; len <= sizeof buf; len++) {
      memset(buf, 0, sizeof buf);
      assert_int_equal(wsm_mask(buf, len, key_a, phase), (phase + len) % 4);
      /* The first byte used key octet phase. */
      if (len > 0) assert_int_equal(buf[0], key_a[phase]);
    }
  }
}

/* NULL with length 0 is an empty byte string: nothing to do, phase kept. */
static void test_mask_empty_null(void **state) {
  (void)state;
  for (unsigned phase = 0; phase < 4; phase++)
    assert_int_equal(wsm_mask(NULL, 0, key_a, phase), phase);
}

static void test_mask_twice_restores(void **state) {
  uint64_t rng = 7;
  uint8_t orig[300], buf[300], key[4];
  (void)state;
  for (int round = 0; round < 200; round++) {
    size_t len = (size_t)(rng_next(&rng) % (sizeof buf + 1));
    unsigned phase = (unsigned)(rng_next(&rng) % 4);
    fill_random(key, 4, &rng);
    fill_random(orig, len, &rng);
    memcpy(buf, orig, len);
    wsm_mask(buf, len, key, phase);
    /* A zero key would leave the data unchanged; the others must not. */
    if (len >= 4 && (key[0] | key[1] | key[2] | key[3]) != 0)
      assert_memory_not_equal(buf, orig, len);
    wsm_mask(buf, len, key, phase);
    assert_memory_equal(buf, orig, len);
  }
}

/* Splitting a buffer anywhere and carrying the phase gives the same bytes
 * as one call: the way payload arrives in pieces. */
static void test_mask_split_carry_phase(void **state) {
  uint64_t rng = 99;
  uint8_t orig[101], whole[101], split[101];
  (void)state;
  for (size_t len = 0; len <= 100; len++) {
    fill_random(orig, len, &rng);
    for (unsigned phase = 0; phase < 4; phase++) {
      unsigned end_phase;
      memcpy(whole, orig, len);
      end_phase = wsm_mask(whole, len, key_a, phase);
      for (size_t cut = 0; cut <= len; cut++) {
        unsigned ph;
        memcpy(split, orig, len);
        ph = wsm_mask(split, cut, key_a, phase);
        ph = wsm_mask(split + cut, len - cut, key_a, ph);
        assert_int_equal(ph, end_phase);
        assert_memory_equal(split, whole, len);
      }
      /* Random many-way splits, down to single bytes. */
      for (int round = 0; round < 8; round++) {
        size_t pos = 0;
        unsigned ph = phase;
        memcpy(split, orig, len);
        while (pos < len) {
          size_t n = (size_t)(rng_next(&rng) % (round == 0 ? 2 : 40));
          if (n > len - pos) n = len - pos;
          ph = wsm_mask(split + pos, n, key_a, ph);
          pos += n;
        }
        assert_int_equal(ph, end_phase);
        assert_memory_equal(split, whole, len);
      }
    }
  }
}

/* A large buffer split at odd offsets, each piece misaligned. */
static void test_mask_split_large(void **state) {
  const size_t len = (size_t)1 << 20;
  uint8_t *orig = malloc(len), *whole = malloc(len), *split = malloc(len);
  uint64_t rng = 1234;
  size_t pos = 0;
  unsigned ph = 3;
  (void)state;
  assert_non_null(orig);
  assert_non_null(whole);
  assert_non_null(split);
  fill_random(orig, len, &rng);
  memcpy(whole, orig, len);
  memcpy(split, orig, len);
  ref_mask(whole, len, key_a, 3);
  while (pos < len) {
    size_t n = (size_t)(rng_next(&rng) % 5000);
    if (n > len - pos) n = len - pos;
    ph = wsm_mask(split + pos, n, key_a, ph);
    pos += n;
  }
  assert_int_equal(ph, (3 + len) % 4);
  assert_memory_equal(split, whole, len);
  free(orig);
  free(whole);
  free(split);
}

/* The key may sit at any alignment and is only read. */
static void test_mask_key_unaligned_untouched(void **state) {
  uint8_t key_store[8 + 4];
  uint8_t buf[64], want[64];
  (void)state;
  for (size_t off = 0; off < 8; off++) {
    uint8_t *key = key_store + off;
    memset(key_store, GUARD, sizeof key_store);
    memcpy(key, key_a, 4);
    for (size_t i = 0; i < sizeof buf; i++) buf[i] = (uint8_t)i;
    memcpy(want, buf, sizeof buf);
    ref_mask(want, sizeof want, key_a, 2);
    assert_int_equal(wsm_mask(buf, sizeof buf, key, 2), 2);
    assert_memory_equal(buf, want, sizeof buf);
    assert_memory_equal(key, key_a, 4);
    check_guards(key_store, off);
    check_guards(key + 4, sizeof key_store - off - 4);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_mask_rfc6455_example),
      cmocka_unit_test(test_mask_reference_small_every_phase_align),
      cmocka_unit_test(test_mask_reference_large),
      cmocka_unit_test(test_mask_phase_returned),
      cmocka_unit_test(test_mask_empty_null),
      cmocka_unit_test(test_mask_twice_restores),
      cmocka_unit_test(test_mask_split_carry_phase),
      cmocka_unit_test(test_mask_split_large),
      cmocka_unit_test(test_mask_key_unaligned_untouched),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
