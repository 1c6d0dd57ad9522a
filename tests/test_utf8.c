/* SPDX-License-Identifier: MIT */
#include "wsm.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* Expected outcome of a byte string: valid and complete, valid so far but
 * ending inside a sequence, or invalid at a byte offset (>= 0). */
#define VALID (-1)
#define TRUNCATED (-2)

static uint64_t rng_next(uint64_t *s) {
  uint64_t x = *s;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  *s = x;
  return x;
}

static size_t rng_below(uint64_t *s, size_t n) {
  return (size_t)(rng_next(s) % n);
}

/* Writes code point cp in UTF-8 (surrogates encoded like any other value, so
 * that tests can build them); returns the length. */
static size_t encode_cp(uint8_t *out, uint32_t cp) {
  if (cp < 0x80) {
    out[0] = (uint8_t)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (uint8_t)(0xC0 | cp >> 6);
    out[1] = (uint8_t)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (uint8_t)(0xE0 | cp >> 12);
    out[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
    out[2] = (uint8_t)(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (uint8_t)(0xF0 | cp >> 18);
  out[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3F));
  out[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
  out[3] = (uint8_t)(0x80 | (cp & 0x3F));
  return 4;
}

/*
 * Reference decoder, written for clarity rather than speed. It decodes one
 * code point at a time (RFC 3629 section 3) and, after each byte of a
 * sequence, asks whether any completion of the bits seen so far could still
 * be a scalar value of the right length class: that byte is the first
 * invalid one when none could. Returns VALID, TRUNCATED or the offset.
 */
static int in_scalar_ranges(uint32_t lo, uint32_t hi, uint32_t min) {
  /* [lo, hi] meets [min, U+D7FF] or [max(min, U+E000), U+10FFFF]? */
  uint32_t low_start = min;
  uint32_t high_start = min > 0xE000 ? min : 0xE000;
  if (lo <= 0xD7FF && hi >= low_start && low_start <= 0xD7FF) return 1;
  return lo <= 0x10FFFF && hi >= high_start;
}

static long ref_validate(const uint8_t *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    uint8_t b = s[i];
    size_t seq_len;
    uint32_t value, min;
    if (b < 0x80) {
      i++;
      continue;
    }
    if (b >= 0xC0 && b <= 0xDF) {
      seq_len = 2;
      value = b & 0x1Fu;
      min = 0x80;
    } else if (b >= 0xE0 && b <= 0xEF) {
      seq_len = 3;
      value = b & 0x0Fu;
      min = 0x800;
    } else if (b >= 0xF0 && b <= 0xF7) {
      seq_len = 4;
      value = b & 0x07u;
      min = 0x10000;
    } else {
      return (long)i; /* a continuation byte, or F8-FF */
    }
    for (size_t k = 0; k < seq_len; k++) {
      size_t unknown_bits;
      uint32_t lo, hi;
      if (k > 0) {
        if (i + k >= n) return TRUNCATED;
        if ((s[i + k] & 0xC0) != 0x80) return (long)(i + k);
        value = value << 6 | (s[i + k] & 0x3Fu);
      }
      unknown_bits = 6 * (seq_len - 1 - k);
      lo = value << unknown_bits;
      hi = lo | ((UINT32_C(1) << unknown_bits) - 1);
      if (!in_scalar_ranges(lo, hi, min)) return (long)(i + k);
    }
    i += seq_len;
  }
  return VALID;
}

/* Feeds data in the chunks ending at cuts[0..ncuts-1] (then the rest) and
 * returns what the stream amounted to, checking on the way that chunks
 * before the faulty one were accepted whole and that the fault sticks. Each
 * chunk is fed from a heap copy that keeps its alignment and ends where the
 * allocation ends, so that a read past its end trips AddressSanitizer. */
static long feed_in_chunks(const uint8_t *data, size_t len, const size_t *cuts,
                           size_t ncuts) {
  struct wsm_utf8 v;
  size_t start = 0;
  wsm_utf8_init(&v);
  for (size_t c = 0; c <= ncuts; c++) {
    size_t end = c < ncuts ? cuts[c] : len;
    size_t valid_len = (size_t)-1;
    int rc;
    uint8_t *block = NULL, *chunk = NULL;
    assert_true(end >= start && end <= len);
    if (end > start) {
      /* Keep the chunk's alignment (malloc gives 16), end at the block's end. */
      size_t skew = (size_t)((uintptr_t)(data + start) % 16);
      block = malloc(skew + (end - start));
      assert_non_null(block);
      chunk = block + skew;
      memcpy(chunk, data + start, end - start);
    }
    rc = wsm_utf8_feed(&v, chunk, end - start, &valid_len);
    free(block);
    if (rc != 0) {
      size_t after = (size_t)-1;
      assert_int_equal(rc, WSM_E_INVALID_UTF8);
      assert_true(valid_len < end - start);
      assert_int_equal(wsm_utf8_finish(&v), WSM_E_INVALID_UTF8);
      /* Sticky: anything after the fault is refused at once. */
      assert_int_equal(wsm_utf8_feed(&v, (const uint8_t *)"a", 1, &after),
                       WSM_E_INVALID_UTF8);
      assert_int_equal(after, 0);
      return (long)(start + valid_len);
    }
    assert_int_equal(valid_len, end - start);
    start = end;
  }
  return wsm_utf8_finish(&v) == 0 ? VALID : TRUNCATED;
}

static long feed_whole(const uint8_t *data, size_t len) {
  return feed_in_chunks(data, len, NULL, 0);
}

/* Every way of feeding data must give want: whole, byte by byte, each 2-way
 * split, and some random splits; wsm_utf8_check must agree on the verdict. */
static void check_all_splits(const uint8_t *data, size_t len, long want,
                             uint64_t *rng) {
  size_t cuts[64];
  assert_int_equal(feed_whole(data, len), want);
  assert_int_equal(wsm_utf8_check(data, len),
                   want == VALID ? 0 : WSM_E_INVALID_UTF8);
  if (len <= sizeof cuts / sizeof cuts[0]) {
    for (size_t i = 0; i < len; i++) cuts[i] = i;
    assert_int_equal(feed_in_chunks(data, len, cuts, len), want);
  }
  for (size_t cut = 0; cut <= len; cut++) {
    cuts[0] = cut;
    assert_int_equal(feed_in_chunks(data, len, cuts, 1), want);
  }
  for (int round = 0; round < 20; round++) {
    size_t ncuts = rng_below(rng, 8), pos = 0;
    for (size_t c = 0; c < ncuts; c++) {
      pos += rng_below(rng, len - pos + 1);
      cuts[c] = pos;
    }
    assert_int_equal(feed_in_chunks(data, len, cuts, ncuts), want);
  }
}

struct vector {
  const char *name;
  const char *bytes;
  size_t len;
  long want;
};

#define V(name, bytes, want) {name, bytes, sizeof bytes - 1, want}

static void check_vectors(const struct vector *vs, size_t n) {
  uint64_t rng = 0x9E3779B97F4A7C15u;
  for (size_t i = 0; i < n; i++) {
    const uint8_t *data = (const uint8_t *)vs[i].bytes;
    long got = feed_whole(data, vs[i].len);
    if (got != vs[i].want)
      fail_msg("%s: got %ld, want %ld", vs[i].name, got, vs[i].want);
    /* The reference decoder must agree, or the vector is wrong. */
    assert_int_equal(ref_validate(data, vs[i].len), vs[i].want);
    check_all_splits(data, vs[i].len, vs[i].want, &rng);
  }
}

static void test_utf8_ascii_all(void **state) {
  uint8_t all[128];
  uint64_t rng = 1;
  (void)state;
  for (int b = 0; b < 128; b++) {
    uint8_t one = (uint8_t)b;
    all[b] = one;
    assert_int_equal(wsm_utf8_check(&one, 1), 0);
    assert_int_equal(feed_whole(&one, 1), VALID);
  }
  check_all_splits(all, sizeof all, VALID, &rng);
}

static void test_utf8_empty_input(void **state) {
  struct wsm_utf8 v;
  size_t valid_len = 99;
  (void)state;
  assert_int_equal(wsm_utf8_check(NULL, 0), 0);
  wsm_utf8_init(&v);
  assert_int_equal(wsm_utf8_finish(&v), 0);
  assert_int_equal(wsm_utf8_feed(&v, NULL, 0, &valid_len), 0);
  assert_int_equal(valid_len, 0);
  assert_int_equal(wsm_utf8_finish(&v), 0);
  /* valid_len may be NULL, whatever the verdict. */
  assert_int_equal(wsm_utf8_feed(&v, (const uint8_t *)"ok", 2, NULL), 0);
  assert_int_equal(wsm_utf8_feed(&v, (const uint8_t *)"\xff", 1, NULL),
                   WSM_E_INVALID_UTF8);
}

static void test_utf8_boundaries_valid(void **state) {
  static const uint32_t cps[] = {0x0,    0x7F,    0x80,     0x7FF,
                                 0x800,  0xD7FF,  0xE000,   0xFFFD,
                                 0xFFFF, 0x10000, 0x10FFFF};
  static const size_t lens[] = {1, 1, 2, 2, 3, 3, 3, 3, 3, 4, 4};
  uint64_t rng = 2;
  uint8_t all[64];
  size_t all_len = 0;
  (void)state;
  for (size_t i = 0; i < sizeof cps / sizeof cps[0]; i++) {
    uint8_t buf[8];
    size_t n = encode_cp(buf + 1, cps[i]);
    assert_int_equal(n, lens[i]);
    check_all_splits(buf + 1, n, VALID, &rng);
    /* Between ASCII neighbours too. */
    buf[0] = 'x';
    buf[n + 1] = 'y';
    check_all_splits(buf, n + 2, VALID, &rng);
    memcpy(all + all_len, buf + 1, n);
    all_len += n;
  }
  check_all_splits(all, all_len, VALID, &rng);
  /* Spelled out, so that encode_cp is not the only witness. */
  check_all_splits((const uint8_t *)"\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80"
                                    "\xef\xbf\xbf\xf0\x90\x80\x80\xf4\x8f\xbf\xbf",
                   19, VALID, &rng);
}

/* Every scalar value alone is valid; every surrogate alone is not. */
static void test_utf8_every_code_point(void **state) {
  static uint8_t stream[4 * 0x110000];
  size_t stream_len = 0;
  uint64_t rng = 3;
  struct wsm_utf8 v;
  size_t pos = 0;
  (void)state;
  for (uint32_t cp = 0; cp <= 0x10FFFF; cp++) {
    uint8_t buf[4];
    size_t n = encode_cp(buf, cp);
    int surrogate = cp >= 0xD800 && cp <= 0xDFFF;
    if (wsm_utf8_check(buf, n) != (surrogate ? WSM_E_INVALID_UTF8 : 0))
      fail_msg("U+%04lX judged wrongly", (unsigned long)cp);
    if (!surrogate) {
      memcpy(stream + stream_len, buf, n);
      stream_len += n;
    }
  }
  assert_int_equal(wsm_utf8_check(stream, stream_len), 0);
  wsm_utf8_init(&v);
  while (pos < stream_len) {
    size_t n = 1 + rng_below(&rng, 5000), valid_len = 0;
    if (n > stream_len - pos) n = stream_len - pos;
    assert_int_equal(wsm_utf8_feed(&v, stream + pos, n, &valid_len), 0);
    assert_int_equal(valid_len, n);
    pos += n;
  }
  assert_int_equal(wsm_utf8_finish(&v), 0);
}

static void test_utf8_overlong_rejected(void **state) {
  static const struct vector vs[] = {
      V("C0 80", "\xc0\x80", 0),
      V("C1 BF", "\xc1\xbf", 0),
      V("C0 AF", "\xc0\xaf", 0),
      V("E0 80 80", "\xe0\x80\x80", 1),
      V("E0 9F BF", "\xe0\x9f\xbf", 1),
      V("E0 80 AF", "\xe0\x80\xaf", 1),
      V("F0 80 80 80", "\xf0\x80\x80\x80", 1),
      V("F0 8F BF BF", "\xf0\x8f\xbf\xbf", 1),
      V("F0 80 80 AF", "\xf0\x80\x80\xaf", 1),
      V("F8 80 80 80 AF", "\xf8\x80\x80\x80\xaf", 0),
      V("FC 80 80 80 80 AF", "\xfc\x80\x80\x80\x80\xaf", 0),
      V("ab C0 80", "ab\xc0\x80", 2),
      V("ab E0 9F BF", "ab\xe0\x9f\xbf", 3),
      /* The smallest value of each class is not overlong. */
      V("C2 80", "\xc2\x80", VALID),
      V("E0 A0 80", "\xe0\xa0\x80", VALID),
      V("F0 90 80 80", "\xf0\x90\x80\x80", VALID),
  };
  (void)state;
  check_vectors(vs, sizeof vs / sizeof vs[0]);
}

static void test_utf8_surrogates_rejected(void **state) {
  static const struct vector vs[] = {
      V("U+D7FF", "\xed\x9f\xbf", VALID),
      V("U+E000", "\xee\x80\x80", VALID),
      V("ED A0 80", "\xed\xa0\x80", 1),
      V("ED BF BF", "\xed\xbf\xbf", 1),
      V("ED A0 alone", "\xed\xa0", 1),
      V("pair", "\xed\xa0\x80\xed\xb0\x80", 1),
      V("after text", "abc\xed\xad\xbf", 4),
  };
  uint64_t rng = 4;
  (void)state;
  check_vectors(vs, sizeof vs / sizeof vs[0]);
  for (uint32_t cp = 0xD800; cp <= 0xDFFF; cp++) {
    uint8_t buf[3];
    assert_int_equal(encode_cp(buf, cp), 3);
    assert_int_equal(buf[0], 0xED);
    if (feed_whole(buf, 3) != 1)
      fail_msg("U+%04lX not rejected at its second byte", (unsigned long)cp);
    if ((cp & 0xFF) == 0) check_all_splits(buf, 3, 1, &rng);
  }
}

static void test_utf8_above_max_rejected(void **state) {
  static const struct vector vs[] = {
      V("U+10FFFF", "\xf4\x8f\xbf\xbf", VALID),
      V("F4 90 80 80", "\xf4\x90\x80\x80", 1),
      V("F4 BF BF BF", "\xf4\xbf\xbf\xbf", 1),
      V("F4 90 alone", "\xf4\x90", 1),
      V("F7 BF BF BF", "\xf7\xbf\xbf\xbf", 0),
      V("x F5", "x\xf5", 1),
  };
  uint64_t rng = 5;
  (void)state;
  check_vectors(vs, sizeof vs / sizeof vs[0]);
  for (unsigned b = 0xF5; b <= 0xFF; b++) {
    uint8_t buf[4] = {(uint8_t)b, 0x80, 0x80, 0x80};
    check_all_splits(buf, 4, 0, &rng);
    check_all_splits(buf, 1, 0, &rng);
  }
  /* C0 and C1 can only start overlongs, so they too fail at once. */
  for (unsigned b = 0xC0; b <= 0xC1; b++) {
    uint8_t buf[2] = {(uint8_t)b, 0x80};
    check_all_splits(buf, 1, 0, &rng);
    check_all_splits(buf, 2, 0, &rng);
  }
}

static void test_utf8_lone_continuation_rejected(void **state) {
  uint64_t rng = 6;
  uint8_t all[64];
  (void)state;
  for (unsigned b = 0x80; b <= 0xBF; b++) {
    uint8_t buf[4] = {(uint8_t)b, 'a', 0xC3, 0xA9};
    all[b - 0x80] = (uint8_t)b;
    check_all_splits(buf, 1, 0, &rng);
    check_all_splits(buf, 4, 0, &rng);
    /* After ASCII, and after a complete two-byte sequence. */
    buf[0] = 'a';
    buf[1] = (uint8_t)b;
    check_all_splits(buf, 2, 1, &rng);
    buf[0] = 0xC3;
    buf[1] = 0xA9;
    buf[2] = (uint8_t)b;
    check_all_splits(buf, 3, 2, &rng);
  }
  /* Autobahn 6.7/6.8 style: all 64 continuation bytes in a row. */
  check_all_splits(all, sizeof all, 0, &rng);
}

/* Every proper prefix of a multi-byte sequence is fine to feed but does not
 * finish; the rest completes it. */
static void test_utf8_truncated_at_end(void **state) {
  static const uint32_t cps[] = {0x80, 0x7FF, 0x800, 0xD7FF, 0xE000,
                                 0xFFFF, 0x10000, 0x10FFFF, 0x3BA};
  uint64_t rng = 7;
  (void)state;
  for (size_t i = 0; i < sizeof cps / sizeof cps[0]; i++) {
    uint8_t buf[8] = {'h', 'i'};
    size_t n = encode_cp(buf + 2, cps[i]);
    for (size_t cut = 1; cut < n; cut++) {
      struct wsm_utf8 v;
      size_t valid_len = 0;
      check_all_splits(buf, 2 + cut, TRUNCATED, &rng);
      wsm_utf8_init(&v);
      assert_int_equal(wsm_utf8_feed(&v, buf, 2 + cut, &valid_len), 0);
      assert_int_equal(valid_len, 2 + cut);
      assert_int_equal(wsm_utf8_finish(&v), WSM_E_INVALID_UTF8);
      /* finish does not consume the state: still truncated, then whole. */
      assert_int_equal(wsm_utf8_finish(&v), WSM_E_INVALID_UTF8);
      assert_int_equal(wsm_utf8_feed(&v, buf + 2 + cut, n - cut, &valid_len), 0);
      assert_int_equal(valid_len, n - cut);
      assert_int_equal(wsm_utf8_finish(&v), 0);
    }
  }
}

/* A sequence cut short by something that is not a continuation byte fails
 * at that byte. */
static void test_utf8_truncated_in_middle(void **state) {
  static const struct vector vs[] = {
      V("C3 then A", "\xc3" "A", 1),
      V("E2 82 then A", "\xe2\x82" "A", 2),
      V("F0 9F 98 then C3 A9", "\xf0\x9f\x98\xc3\xa9", 3),
      V("E2 then E2 82 AC", "\xe2\xe2\x82\xac", 1),
      V("DF then space", "\xdf ", 1),
      V("EF BF then space", "\xef\xbf ", 2),
      V("F4 8F BF then 00", "\xf4\x8f\xbf\x00", 3),
  };
  uint64_t rng = 8;
  (void)state;
  check_vectors(vs, sizeof vs / sizeof vs[0]);
  /* Autobahn 6.9-6.11 style: each lead byte followed by a space. */
  for (unsigned b = 0xC2; b <= 0xF4; b++) {
    uint8_t buf[2] = {(uint8_t)b, ' '};
    check_all_splits(buf, 2, 1, &rng);
  }
}

static void test_utf8_failfast_offset_split(void **state) {
  static const struct vector vs[] = {
      V("ab ED A0 80", "ab\xed\xa0\x80", 3),
      /* Autobahn 6.4.x style: "kosme", then a surrogate, then "edited". */
      V("kosme surrogate edited",
        "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80"
        "edited",
        12),
      V("kosme F4 90 80 80 edited",
        "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90\x80\x80"
        "edited",
        12),
      V("kosme C0 80", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xc0\x80",
        11),
      V("long ASCII then E0 80",
        "0123456789abcdef0123456789abcdef0123\xe0\x80", 37),
  };
  (void)state;
  check_vectors(vs, sizeof vs / sizeof vs[0]);
}

static void test_utf8_sticky_rejection(void **state) {
  struct wsm_utf8 v;
  size_t valid_len = 99;
  (void)state;
  wsm_utf8_init(&v);
  assert_int_equal(wsm_utf8_feed(&v, (const uint8_t *)"ok\xc0", 3, &valid_len),
                   WSM_E_INVALID_UTF8);
  assert_int_equal(valid_len, 2);
  for (int i = 0; i < 3; i++) {
    valid_len = 99;
    assert_int_equal(wsm_utf8_feed(&v, (const uint8_t *)"fine", 4, &valid_len),
                     WSM_E_INVALID_UTF8);
    assert_int_equal(valid_len, 0);
    assert_int_equal(wsm_utf8_feed(&v, NULL, 0, NULL), WSM_E_INVALID_UTF8);
    assert_int_equal(wsm_utf8_finish(&v), WSM_E_INVALID_UTF8);
  }
  /* init starts afresh. */
  wsm_utf8_init(&v);
  assert_int_equal(wsm_utf8_feed(&v, (const uint8_t *)"fine", 4, &valid_len), 0);
  assert_int_equal(wsm_utf8_finish(&v), 0);
  /* A fault in the middle of a sequence sticks as well. */
  assert_int_equal(wsm_utf8_feed(&v, (const uint8_t *)"\xe0", 1, NULL), 0);
  assert_int_equal(wsm_utf8_feed(&v, (const uint8_t *)"\x80", 1, &valid_len),
                   WSM_E_INVALID_UTF8);
  assert_int_equal(valid_len, 0);
  assert_int_equal(wsm_utf8_feed(&v, (const uint8_t *)"\xa0\x80", 2, &valid_len),
                   WSM_E_INVALID_UTF8);
  assert_int_equal(valid_len, 0);
}

/* In the spirit of Autobahn section 6 (cases 6.1-6.23). */
static void test_utf8_autobahn_vectors(void **state) {
  static const struct vector vs[] = {
      V("6.1 empty", "", VALID),
      V("6.2 mixed", "Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0"
                     "\xc3\xa1-UTF-8!!", VALID),
      V("6.3 kosme", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", VALID),
      V("6.3.1-like", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80"
                      "edited", 12),
      V("6.4 kosme cut after E1", "\xce\xba\xe1", TRUNCATED),
      V("6.4 F4 90", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90", 12),
      V("6.5 first 1", "\x00", VALID),
      V("6.5 first 2", "\xc2\x80", VALID),
      V("6.5 first 3", "\xe0\xa0\x80", VALID),
      V("6.5 first 4", "\xf0\x90\x80\x80", VALID),
      V("6.6 last 1", "\x7f", VALID),
      V("6.6 last 2", "\xdf\xbf", VALID),
      V("6.6 last 3", "\xef\xbf\xbf", VALID),
      V("6.6 last 4", "\xf4\x8f\xbf\xbf", VALID),
      V("6.7 U+FFFD", "\xef\xbf\xbd", VALID),
      V("6.8 5-byte", "\xf8\x88\x80\x80\x80", 0),
      V("6.8 6-byte", "\xfc\x84\x80\x80\x80\x80", 0),
      V("6.9 2 continuations", "\x80\xbf", 0),
      V("6.12 concatenated truncations",
        "\xc0\xe0\x80\xf0\x80\x80\xf8\x80\x80\x80\xfc\x80\x80\x80\x80"
        "\xdf\xef\xbf\xf7\xbf\xbf",
        0),
      V("6.13 last byte missing 3", "\xe0\x80", 1),
      V("6.13 last byte missing 4", "\xf0\x9f\x98", TRUNCATED),
      V("6.14 FE", "\xfe", 0),
      V("6.14 FF", "\xff", 0),
      V("6.14 FE FE FF FF", "\xfe\xfe\xff\xff", 0),
      V("6.17 overlong NUL 2", "\xc0\x80", 0),
      V("6.17 overlong NUL 4", "\xf0\x80\x80\x80", 1),
      V("6.18 ED AD BF", "\xed\xad\xbf", 1),
      V("6.18 ED AE 80", "\xed\xae\x80", 1),
      V("6.18 ED AF BF", "\xed\xaf\xbf", 1),
      V("6.18 ED B0 80", "\xed\xb0\x80", 1),
      V("6.18 ED BE 80", "\xed\xbe\x80", 1),
      V("6.19 paired", "\xed\xaf\xbf\xed\xbf\xbf", 1),
      V("6.20 U+FFFE", "\xef\xbf\xbe", VALID),
      V("6.20 U+FDD0", "\xef\xb7\x90", VALID),
      V("6.20 U+10FFFE", "\xf4\x8f\xbf\xbe", VALID),
      V("6.21 long valid", "\xe2\x82\xac\xf0\x9d\x84\x9e\xe4\xb8\xad\xf0\x9f"
                           "\x98\x80 plain text \xc3\xa9\xc3\xa8", VALID),
  };
  (void)state;
  check_vectors(vs, sizeof vs / sizeof vs[0]);
}

/*
 * ASCII runs with one bad byte at each position 0..70, placed at every
 * alignment 0..7 at the very end of a heap block (so that a read past the
 * end trips AddressSanitizer). This walks the 16-byte fast path, its
 * fallback and the byte-wise tail.
 */
static void test_utf8_ascii_run_one_bad_byte(void **state) {
  /* A bad byte that fails where it stands, and a lead byte that fails at
   * the next (ASCII) byte; both with what follows. */
  static const uint8_t bad[] = {0x80, 0xBF, 0xC0, 0xF5, 0xFF};
  static const uint8_t leads[] = {0xC3, 0xE2, 0xF0};
  (void)state;
  for (size_t total = 0; total <= 80; total++) {
    for (size_t align = 0; align < 8; align++) {
      uint8_t *block = malloc(align + total + 1);
      uint8_t *p = block + align;
      assert_non_null(block);
      for (size_t i = 0; i < total; i++) p[i] = (uint8_t)(0x20 + (i * 7) % 0x5F);
      assert_int_equal(feed_whole(p, total), VALID);
      for (size_t pos = 0; pos < total && pos <= 70; pos++) {
        uint8_t saved = p[pos];
        for (size_t b = 0; b < sizeof bad; b++) {
          p[pos] = bad[b];
          if (feed_whole(p, total) != (long)pos)
            fail_msg("byte %02x at %zu of %zu, align %zu", bad[b], pos, total,
                     align);
          assert_int_equal(wsm_utf8_check(p, total), WSM_E_INVALID_UTF8);
        }
        for (size_t b = 0; b < sizeof leads; b++) {
          p[pos] = leads[b];
          assert_int_equal(feed_whole(p, total),
                           pos + 1 < total ? (long)(pos + 1) : TRUNCATED);
        }
        /* A valid two-byte sequence inside the run leaves it valid. */
        if (pos + 1 < total) {
          uint8_t saved2 = p[pos + 1];
          p[pos] = 0xC3;
          p[pos + 1] = 0xA9;
          assert_int_equal(feed_whole(p, total), VALID);
          p[pos + 1] = saved2;
        }
        p[pos] = saved;
      }
      /* The run as the tail of the block, exactly at its end. */
      memmove(block + 1 + align, p, total);
      p = block + 1 + align;
      assert_int_equal(feed_whole(p, total), VALID);
      if (total > 0) {
        p[total - 1] = 0xE0;
        assert_int_equal(feed_whole(p, total), TRUNCATED);
        p[total - 1] = 0x80;
        assert_int_equal(feed_whole(p, total), (long)(total - 1));
      }
      free(block);
    }
  }
}

/* Bytes biased towards the interesting corners of UTF-8. */
static uint8_t random_byte(uint64_t *rng) {
  static const uint8_t corners[] = {
      0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0,
      0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0,
      0xF1, 0xF3, 0xF4, 0xF5, 0xF7, 0xF8, 0xFE, 0xFF};
  uint64_t r = rng_next(rng);
  switch (r % 8) {
  case 0: return (uint8_t)(r >> 8);                     /* anything */
  case 1: case 2: return (uint8_t)(0x80 + (r >> 8) % 0x40); /* continuation */
  case 3: return (uint8_t)(0xC0 + (r >> 8) % 0x40);     /* lead */
  case 4: return (uint8_t)((r >> 8) % 0x80);            /* ASCII */
  default: return corners[(r >> 8) % sizeof corners];
  }
}

static size_t random_string(uint8_t *out, size_t cap, uint64_t *rng) {
  size_t len = rng_below(rng, cap + 1), i = 0;
  int mostly_valid = rng_below(rng, 2) == 0;
  while (i < len) {
    uint64_t r = rng_next(rng);
    if (mostly_valid && r % 16 != 0) {
      /* A whole code point (surrogates included, now and then). */
      uint8_t buf[4];
      uint32_t cp;
      size_t n;
      switch ((r >> 4) % 5) {
      case 0: cp = (uint32_t)((r >> 8) % 0x80); break;
      case 1: cp = (uint32_t)(0x80 + (r >> 8) % 0x780); break;
      case 2: cp = (uint32_t)(0x800 + (r >> 8) % 0xF800); break;
      case 3: cp = (uint32_t)(0xD700 + (r >> 8) % 0xA00); break;
      default: cp = (uint32_t)(0x10000 + (r >> 8) % 0x100000); break;
      }
      n = encode_cp(buf, cp);
      for (size_t k = 0; k < n && i < len; k++) out[i++] = buf[k];
    } else {
      out[i++] = random_byte(rng);
    }
  }
  return len;
}

/* ~200k pseudo-random strings: the library and the reference decoder must
 * agree on the verdict and on the offset of the first bad byte, and the
 * verdict must not depend on how the string is split. */
static void test_utf8_differential_random(void **state) {
  uint64_t rng = 0x243F6A8885A308D3u;
  uint8_t buf[96];
  size_t counts[3] = {0, 0, 0};
  (void)state;
  for (int iter = 0; iter < 200000; iter++) {
    size_t len = random_string(buf, iter % 4 == 0 ? sizeof buf : 12, &rng);
    long want = ref_validate(buf, len);
    long got = feed_whole(buf, len);
    if (got != want)
      fail_msg("iteration %d (len %zu): got %ld, reference %ld", iter, len, got,
               want);
    assert_int_equal(wsm_utf8_check(buf, len),
                     want == VALID ? 0 : WSM_E_INVALID_UTF8);
    if (iter % 16 == 0) {
      size_t cuts[4], ncuts = rng_below(&rng, 5), pos = 0;
      for (size_t c = 0; c < ncuts; c++) {
        pos += rng_below(&rng, len - pos + 1);
        cuts[c] = pos;
      }
      assert_int_equal(feed_in_chunks(buf, len, cuts, ncuts), want);
    }
    counts[want == VALID ? 0 : want == TRUNCATED ? 1 : 2]++;
  }
  /* The generator must actually reach all three outcomes. */
  assert_true(counts[0] > 20000);
  assert_true(counts[1] > 5000);
  assert_true(counts[2] > 20000);
}

/* Long strings, so that the vector path (runs of 128 bytes and more) is taken:
 * valid text of every character length with ASCII runs, then a corruption
 * at a random place (or none), at a random alignment; checked whole and in
 * pieces against the reference. */
static void test_utf8_differential_long(void **state) {
  static const uint8_t reps[] = {0x80, 0xBF, 0xC0, 0xC1, 0xC2, 0xE0, 0xED, 0xEF,
                                 0xF0, 0xF4, 0xF5, 0xFF, 0x41, 0x00, 0xA0, 0x90};
  uint64_t rng = 0x13198A2E03707344u;
  uint8_t *buf = malloc(8192 + 16);
  (void)state;
  assert_non_null(buf);
  for (int iter = 0; iter < 20000; iter++) {
    size_t align = rng_below(&rng, 16), len = 0, target = 128 + rng_below(&rng, 4000);
    uint8_t *s = buf + align;
    unsigned mix = (unsigned)rng_below(&rng, 4); /* 0: mostly ASCII .. 3: mostly 4-byte */
    while (len + 4 <= target) {
      uint32_t cp;
      size_t kind = rng_below(&rng, 8);
      if (kind < 4 - mix) cp = (uint32_t)rng_below(&rng, 0x80);
      else if (kind < 5) cp = 0x80 + (uint32_t)rng_below(&rng, 0x800 - 0x80);
      else if (kind < 7) {
        cp = 0x800 + (uint32_t)rng_below(&rng, 0x10000 - 0x800);
        if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xE000;
      } else cp = 0x10000 + (uint32_t)rng_below(&rng, 0x110000 - 0x10000);
      len += encode_cp(s + len, cp);
    }
    if (iter % 3 != 0) {
      size_t at = rng_below(&rng, len);
      s[at] = iter % 3 == 1 ? reps[rng_below(&rng, sizeof reps)] : (uint8_t)rng_next(&rng);
    }
    long want = ref_validate(s, len);
    long got = feed_whole(s, len);
    if (got != want) fail_msg("iteration %d (len %zu): got %ld, reference %ld", iter, len, got, want);
    if (iter % 8 == 0) {
      size_t cuts[4], ncuts = rng_below(&rng, 5), pos = 0;
      for (size_t c = 0; c < ncuts; c++) {
        pos += rng_below(&rng, len - pos + 1);
        cuts[c] = pos;
      }
      assert_int_equal(feed_in_chunks(s, len, cuts, ncuts), want);
    }
  }
  free(buf);
}

/* Text of one kind: ASCII, 2-, 3- or 4-byte characters only, or ASCII with
 * one 4-byte character every 37 bytes (so that characters end just before
 * ASCII runs at many offsets). Ends on a character boundary. */
static size_t block_text(uint8_t *out, size_t len, unsigned kind) {
  static const uint32_t cps[] = {'a', 0xE9, 0x20AC, 0x1F600};
  size_t n = 0;
  for (;;) {
    uint32_t cp = kind < 4 ? cps[kind]
                  : n % 37 == 36 ? 0x10348 : (uint32_t)('A' + n % 26);
    uint8_t c[4];
    size_t k = encode_cp(c, cp);
    if (n + k > len) break;
    memcpy(out + n, c, k);
    n += k;
  }
  while (n < len) out[n++] = 'z';
  return n;
}

/*
 * The vector path checks 64-byte pairs of 32-byte blocks, then at most one
 * more block, and skips ASCII pairs when the text before them ends on a
 * character boundary. A faulty (or valid) sequence is written at each
 * offset 0..199 of texts of 128..224 bytes, so that it lies in the first
 * block, across every block and pair edge, in the last block and in the
 * tail the automaton finishes; the result must match the reference, whole
 * and in two pieces.
 */
static void test_utf8_vector_block_edges(void **state) {
  static const struct {
    const char *bytes;
    size_t len;
  } seqs[] = {
#define S(b) {b, sizeof b - 1}
      S("\x80"), S("\xbf\xbf"), S("\xc0\x80"), S("\xc1\xbf"), S("\xc3"),
      S("\xe2\x82"), S("\xe0\x80\x80"), S("\xe0\x9f\xbf"), S("\xed\xa0\x80"),
      S("\xf0\x9f\x98"), S("\xf0\x80\x80\x80"), S("\xf0\x8f\xbf\xbf"),
      S("\xf4\x90\x80\x80"), S("\xf5\x80\x80\x80"), S("\xff"),
      S("\xe2\x82\xac\x80"), S("\xf0\x9f\x98\x80\x80"), S("\xc3\xa9"),
      S("\xe2\x82\xac"), S("\xef\xbf\xbf"), S("\xf0\x90\x80\x80"),
      S("\xf4\x8f\xbf\xbf"), S("\xed\x9f\xbf"),
#undef S
  };
  static const size_t lens[] = {128, 131, 159, 160, 161, 191, 192, 193, 224};
  uint8_t *block = malloc(256);
  (void)state;
  assert_non_null(block);
  for (unsigned kind = 0; kind < 5; kind++) {
    for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++) {
      size_t len = lens[l];
      uint8_t *p = block + 256 - len; /* ends where the block ends */
      for (size_t at = 0; at < 200 && at < len; at++) {
        for (size_t q = 0; q < sizeof seqs / sizeof seqs[0]; q++) {
          size_t n = seqs[q].len < len - at ? seqs[q].len : len - at;
          long want, got;
          size_t cut;
          block_text(p, len, kind);
          memcpy(p + at, seqs[q].bytes, n);
          want = ref_validate(p, len);
          got = feed_whole(p, len);
          if (got != want)
            fail_msg("kind %u, len %zu, seq %zu at %zu: got %ld, reference %ld", kind,
                     len, q, at, got, want);
          assert_int_equal(wsm_utf8_check(p, len), want == VALID ? 0 : WSM_E_INVALID_UTF8);
          /* Cut just before, inside and after the sequence, and at the far
           * end, so that a piece of 128 bytes or more ends mid-character. */
          for (cut = at; cut <= at + n + 1 && cut <= len; cut++)
            assert_int_equal(feed_in_chunks(p, len, &cut, 1), want);
        }
      }
    }
  }
  free(block);
}

/* Text that ends inside a character at every length from 128 to 260 bytes:
 * valid so far, carried as state (never rejected), and completed by the
 * next piece; also when that piece is long enough for the vector path. */
static void test_utf8_vector_truncated_carried(void **state) {
  uint8_t text[600];
  (void)state;
  for (unsigned kind = 1; kind < 5; kind++) {
    size_t total = block_text(text, sizeof text, kind);
    for (size_t len = 128; len <= 260; len++) {
      struct wsm_utf8 v;
      size_t valid_len = 0, end = len;
      int mid = (text[len] & 0xC0) == 0x80; /* len cuts a character */
      wsm_utf8_init(&v);
      assert_int_equal(wsm_utf8_feed(&v, text, len, &valid_len), 0);
      assert_int_equal(valid_len, len);
      assert_int_equal(wsm_utf8_finish(&v), mid ? WSM_E_INVALID_UTF8 : 0);
      assert_int_equal(feed_whole(text, len), mid ? TRUNCATED : VALID);
      /* The rest, short or long, completes it. */
      while (end < total && (text[end] & 0xC0) == 0x80) end++;
      assert_int_equal(wsm_utf8_feed(&v, text + len, end - len, &valid_len), 0);
      assert_int_equal(wsm_utf8_finish(&v), 0);
      assert_int_equal(wsm_utf8_feed(&v, text + end, total - end, &valid_len), 0);
      assert_int_equal(valid_len, total - end);
      assert_int_equal(wsm_utf8_finish(&v), 0);
    }
  }
}

/* All strings of up to 4 bytes drawn from representatives of every byte
 * class boundary, against the reference. */
static void test_utf8_differential_exhaustive_short(void **state) {
  static const uint8_t reps[] = {
      0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1,
      0xC2, 0xDF, 0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3,
      0xF4, 0xF5, 0xF7, 0xF8, 0xFF};
  const size_t n = sizeof reps / sizeof reps[0];
  (void)state;
  for (size_t len = 0; len <= 4; len++) {
    size_t total = 1;
    for (size_t k = 0; k < len; k++) total *= n;
    for (size_t idx = 0; idx < total; idx++) {
      uint8_t buf[4];
      size_t rest = idx;
      long want, got;
      for (size_t k = 0; k < len; k++) {
        buf[k] = reps[rest % n];
        rest /= n;
      }
      want = ref_validate(buf, len);
      got = feed_whole(buf, len);
      if (got != want)
        fail_msg("%02x %02x %02x %02x (len %zu): got %ld, reference %ld",
                 buf[0], len > 1 ? buf[1] : 0, len > 2 ? buf[2] : 0,
                 len > 3 ? buf[3] : 0, len, got, want);
    }
  }
  /* And every two-byte string. */
  for (unsigned a = 0; a < 256; a++) {
    for (unsigned b = 0; b < 256; b++) {
      uint8_t buf[2] = {(uint8_t)a, (uint8_t)b};
      assert_int_equal(feed_whole(buf, 2), ref_validate(buf, 2));
    }
  }
}

/* The reference itself, and the library, on cases whose answer is known
 * independently of both. */
static void test_utf8_reference_agrees_known(void **state) {
  static const struct vector vs[] = {
      V("U+D7FF", "\xed\x9f\xbf", VALID),
      V("U+D800", "\xed\xa0\x80", 1),
      V("overlong U+07FF", "\xe0\x9f\xbf", 1),
      V("U+110000", "\xf4\x90\x80\x80", 1),
      V("F5", "\xf5", 0),
      V("C1 BF", "\xc1\xbf", 0),
      V("E0 alone", "\xe0", TRUNCATED),
      V("a 80", "a\x80", 1),
  };
  (void)state;
  for (size_t i = 0; i < sizeof vs / sizeof vs[0]; i++) {
    const uint8_t *data = (const uint8_t *)vs[i].bytes;
    assert_int_equal(ref_validate(data, vs[i].len), vs[i].want);
    assert_int_equal(feed_whole(data, vs[i].len), vs[i].want);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_utf8_reference_agrees_known),
      cmocka_unit_test(test_utf8_ascii_all),
      cmocka_unit_test(test_utf8_empty_input),
      cmocka_unit_test(test_utf8_boundaries_valid),
      cmocka_unit_test(test_utf8_every_code_point),
      cmocka_unit_test(test_utf8_overlong_rejected),
      cmocka_unit_test(test_utf8_surrogates_rejected),
      cmocka_unit_test(test_utf8_above_max_rejected),
      cmocka_unit_test(test_utf8_lone_continuation_rejected),
      cmocka_unit_test(test_utf8_truncated_at_end),
      cmocka_unit_test(test_utf8_truncated_in_middle),
      cmocka_unit_test(test_utf8_failfast_offset_split),
      cmocka_unit_test(test_utf8_sticky_rejection),
      cmocka_unit_test(test_utf8_autobahn_vectors),
      cmocka_unit_test(test_utf8_ascii_run_one_bad_byte),
      cmocka_unit_test(test_utf8_differential_random),
      cmocka_unit_test(test_utf8_differential_exhaustive_short),
      cmocka_unit_test(test_utf8_differential_long),
      cmocka_unit_test(test_utf8_vector_block_edges),
      cmocka_unit_test(test_utf8_vector_truncated_carried),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
