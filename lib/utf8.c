/* SPDX-License-Identifier: MIT */
/*
 * Incremental UTF-8 validation (RFC 3629 section 4) as a deterministic
 * automaton over byte classes. It rejects at the first byte that no valid
 * sequence could contain, which is what fail-fast text handling needs
 * (overlongs, surrogates and code points above U+10FFFF are caught at their
 * second byte). ASCII runs are skipped a word at a time.
 *
 * Long runs go through a vector validator (AVX2, chosen at run time) that
 * checks 32 bytes at once by classifying each pair of adjacent bytes with
 * three nibble lookups. It only says how far the input is surely valid; the
 * automaton then restarts at the last character boundary before that point,
 * so it alone decides where input turns invalid and what state is carried
 * to the next chunk.
 */
#include "wsm_internal.h"

#if !defined(WSM_NO_SIMD) && (defined(__GNUC__) || defined(__clang__)) && \
    (defined(__x86_64__) || defined(__i386__))
#define UTF8_AVX2 1
#include <immintrin.h>
#endif

/* Byte classes: which bytes behave alike in every state. */
enum {
  C_ASCII,   /* 00-7F */
  C_CONT_LO, /* 80-8F */
  C_CONT_MI, /* 90-9F */
  C_CONT_HI, /* A0-BF */
  C_BAD,     /* C0-C1, F5-FF: never in UTF-8 */
  C_LEAD2,   /* C2-DF */
  C_E0,      /* E0: second byte A0-BF (no overlongs) */
  C_LEAD3,   /* E1-EC, EE-EF */
  C_ED,      /* ED: second byte 80-9F (no surrogates) */
  C_F0,      /* F0: second byte 90-BF (no overlongs) */
  C_LEAD4,   /* F1-F3 */
  C_F4,      /* F4: second byte 80-8F (nothing above U+10FFFF) */
  C_COUNT
};

/* States of the automaton. */
enum {
  S_ACCEPT, /* between characters */
  S_REJECT,
  S_NEED1,  /* one continuation byte left */
  S_NEED2,  /* two left */
  S_NEED3,  /* three left */
  S_E0,     /* after E0 */
  S_ED,     /* after ED */
  S_F0,     /* after F0 */
  S_F4,     /* after F4 */
  S_COUNT
};

static const uint8_t byte_class[256] = {
#define R16(c) c, c, c, c, c, c, c, c, c, c, c, c, c, c, c, c
    R16(C_ASCII), R16(C_ASCII), R16(C_ASCII), R16(C_ASCII),
    R16(C_ASCII), R16(C_ASCII), R16(C_ASCII), R16(C_ASCII),
    R16(C_CONT_LO), R16(C_CONT_MI), R16(C_CONT_HI), R16(C_CONT_HI),
    C_BAD, C_BAD, C_LEAD2, C_LEAD2, C_LEAD2, C_LEAD2, C_LEAD2, C_LEAD2,
    C_LEAD2, C_LEAD2, C_LEAD2, C_LEAD2, C_LEAD2, C_LEAD2, C_LEAD2, C_LEAD2,
    R16(C_LEAD2),
    C_E0, C_LEAD3, C_LEAD3, C_LEAD3, C_LEAD3, C_LEAD3, C_LEAD3, C_LEAD3,
    C_LEAD3, C_LEAD3, C_LEAD3, C_LEAD3, C_LEAD3, C_ED, C_LEAD3, C_LEAD3,
    C_F0, C_LEAD4, C_LEAD4, C_LEAD4, C_F4, C_BAD, C_BAD, C_BAD,
    C_BAD, C_BAD, C_BAD, C_BAD, C_BAD, C_BAD, C_BAD, C_BAD,
#undef R16
};

#define X S_REJECT
static const uint8_t transition[S_COUNT][C_COUNT] = {
    /*          ASCII     LO       MI       HI       BAD LEAD2    E0    LEAD3    ED    F0    LEAD4    F4 */
    [S_ACCEPT] = {S_ACCEPT, X, X, X, X, S_NEED1, S_E0, S_NEED2, S_ED, S_F0, S_NEED3, S_F4},
    [S_REJECT] = {X, X, X, X, X, X, X, X, X, X, X, X},
    [S_NEED1] = {X, S_ACCEPT, S_ACCEPT, S_ACCEPT, X, X, X, X, X, X, X, X},
    [S_NEED2] = {X, S_NEED1, S_NEED1, S_NEED1, X, X, X, X, X, X, X, X},
    [S_NEED3] = {X, S_NEED2, S_NEED2, S_NEED2, X, X, X, X, X, X, X, X},
    [S_E0] = {X, X, X, S_NEED1, X, X, X, X, X, X, X, X},
    [S_ED] = {X, S_NEED1, S_NEED1, X, X, X, X, X, X, X, X, X},
    [S_F0] = {X, X, S_NEED2, S_NEED2, X, X, X, X, X, X, X, X},
    [S_F4] = {X, S_NEED2, X, X, X, X, X, X, X, X, X, X},
};
#undef X

void wsm_utf8_init(struct wsm_utf8 *v) { v->state = S_ACCEPT; }

/* 8 bytes of ASCII at p? memcpy keeps the load legal at any alignment. */
static int word_is_ascii(const uint8_t *p) {
  uint64_t w;
  memcpy(&w, p, sizeof w);
  return (w & UINT64_C(0x8080808080808080)) == 0;
}

#if defined(UTF8_AVX2)
/*
 * Error classes of a byte given the byte before it (prev, cur). Each class
 * is a product of a condition on prev's high nibble, prev's low nibble and
 * cur's high nibble, so the AND of three table lookups sets exactly the
 * classes that apply. Two classes share bit 6 without a false product: both
 * need prev = Fx and cur = 8x.
 */
#define TOO_SHORT 0x01u    /* lead byte, then no continuation */
#define TOO_LONG 0x02u     /* ASCII, then a continuation */
#define OVERLONG_3 0x04u   /* E0 80..9F */
#define TOO_LARGE 0x08u    /* F4 90..BF, F5..FF 90..BF */
#define SURROGATE 0x10u    /* ED A0..BF */
#define OVERLONG_2 0x20u   /* C0, C1 */
#define F_8X 0x40u         /* F0 80..8F (overlong), F5..FF 80..8F */
#define TWO_CONTS 0x80u    /* continuation, then continuation */

#define B(x) ((char)(x))
__attribute__((target("avx2"), always_inline)) static inline __m256i utf8_classes(__m256i cur,
                                                                               __m256i prev1) {
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  const __m256i prev_high_table = _mm256_setr_epi8(
      B(TOO_LONG), B(TOO_LONG), B(TOO_LONG), B(TOO_LONG), B(TOO_LONG), B(TOO_LONG),
      B(TOO_LONG), B(TOO_LONG), B(TWO_CONTS), B(TWO_CONTS), B(TWO_CONTS), B(TWO_CONTS),
      B(TOO_SHORT | OVERLONG_2), B(TOO_SHORT), B(TOO_SHORT | OVERLONG_3 | SURROGATE),
      B(TOO_SHORT | TOO_LARGE | F_8X),
      B(TOO_LONG), B(TOO_LONG), B(TOO_LONG), B(TOO_LONG), B(TOO_LONG), B(TOO_LONG),
      B(TOO_LONG), B(TOO_LONG), B(TWO_CONTS), B(TWO_CONTS), B(TWO_CONTS), B(TWO_CONTS),
      B(TOO_SHORT | OVERLONG_2), B(TOO_SHORT), B(TOO_SHORT | OVERLONG_3 | SURROGATE),
      B(TOO_SHORT | TOO_LARGE | F_8X));
#define ANY (TOO_SHORT | TOO_LONG | TWO_CONTS)
  const __m256i prev_low_table = _mm256_setr_epi8(
      B(ANY | OVERLONG_3 | OVERLONG_2 | F_8X), B(ANY | OVERLONG_2), B(ANY), B(ANY),
      B(ANY | TOO_LARGE), B(ANY | TOO_LARGE | F_8X), B(ANY | TOO_LARGE | F_8X),
      B(ANY | TOO_LARGE | F_8X), B(ANY | TOO_LARGE | F_8X), B(ANY | TOO_LARGE | F_8X),
      B(ANY | TOO_LARGE | F_8X), B(ANY | TOO_LARGE | F_8X), B(ANY | TOO_LARGE | F_8X),
      B(ANY | TOO_LARGE | F_8X | SURROGATE), B(ANY | TOO_LARGE | F_8X),
      B(ANY | TOO_LARGE | F_8X),
      B(ANY | OVERLONG_3 | OVERLONG_2 | F_8X), B(ANY | OVERLONG_2), B(ANY), B(ANY),
      B(ANY | TOO_LARGE), B(ANY | TOO_LARGE | F_8X), B(ANY | TOO_LARGE | F_8X),
      B(ANY | TOO_LARGE | F_8X), B(ANY | TOO_LARGE | F_8X), B(ANY | TOO_LARGE | F_8X),
      B(ANY | TOO_LARGE | F_8X), B(ANY | TOO_LARGE | F_8X), B(ANY | TOO_LARGE | F_8X),
      B(ANY | TOO_LARGE | F_8X | SURROGATE), B(ANY | TOO_LARGE | F_8X),
      B(ANY | TOO_LARGE | F_8X));
#undef ANY
#define CONT8 (TOO_LONG | TWO_CONTS | OVERLONG_2 | OVERLONG_3 | F_8X)
#define CONT9 (TOO_LONG | TWO_CONTS | OVERLONG_2 | OVERLONG_3 | TOO_LARGE)
#define CONTAB (TOO_LONG | TWO_CONTS | OVERLONG_2 | SURROGATE | TOO_LARGE)
  const __m256i cur_high_table = _mm256_setr_epi8(
      B(TOO_SHORT), B(TOO_SHORT), B(TOO_SHORT), B(TOO_SHORT), B(TOO_SHORT), B(TOO_SHORT),
      B(TOO_SHORT), B(TOO_SHORT), B(CONT8), B(CONT9), B(CONTAB), B(CONTAB), B(TOO_SHORT),
      B(TOO_SHORT), B(TOO_SHORT), B(TOO_SHORT),
      B(TOO_SHORT), B(TOO_SHORT), B(TOO_SHORT), B(TOO_SHORT), B(TOO_SHORT), B(TOO_SHORT),
      B(TOO_SHORT), B(TOO_SHORT), B(CONT8), B(CONT9), B(CONTAB), B(CONTAB), B(TOO_SHORT),
      B(TOO_SHORT), B(TOO_SHORT), B(TOO_SHORT));
#undef CONT8
#undef CONT9
#undef CONTAB
  __m256i prev_high = _mm256_and_si256(_mm256_srli_epi16(prev1, 4), low4);
  __m256i prev_low = _mm256_and_si256(prev1, low4);
  __m256i cur_high = _mm256_and_si256(_mm256_srli_epi16(cur, 4), low4);
  return _mm256_and_si256(
      _mm256_and_si256(_mm256_shuffle_epi8(prev_high_table, prev_high),
                       _mm256_shuffle_epi8(prev_low_table, prev_low)),
      _mm256_shuffle_epi8(cur_high_table, cur_high));
}
#undef B

#define LOAD(p) _mm256_loadu_si256((const __m256i *)(const void *)(p))

/* Nonzero bytes where the 32 bytes cur break UTF-8, given the same bytes
 * shifted by one, two and three (the bytes before them in front). */
__attribute__((target("avx2"), always_inline)) static inline __m256i utf8_block_errors(
    __m256i cur, __m256i prev1, __m256i prev2, __m256i prev3) {
  /* A continuation after a continuation is right only as the third byte
   * of a 3- or 4-byte character or the fourth of a 4-byte one. */
  __m256i third = _mm256_subs_epu8(prev2, _mm256_set1_epi8((char)(0xE0 - 0x80)));
  __m256i fourth = _mm256_subs_epu8(prev3, _mm256_set1_epi8((char)(0xF0 - 0x80)));
  __m256i must_be_cont = _mm256_and_si256(_mm256_or_si256(third, fourth),
                                          _mm256_set1_epi8((char)0x80));
  return _mm256_xor_si256(utf8_classes(cur, prev1), must_be_cont);
}

/* Nonzero if the 32 bytes in v end inside a character. */
__attribute__((target("avx2"), always_inline)) static inline int utf8_ends_inside(
    __m256i v) {
  __m256i lead = _mm256_subs_epu8(v, _mm256_setr_epi8(
      -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
      -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
      (char)(0xF0 - 1), (char)(0xE0 - 1), (char)(0xC0 - 1)));
  return !_mm256_testz_si256(lead, lead);
}

/*
 * How many bytes from the start are surely valid UTF-8, in whole 32-byte
 * blocks; the input starts at a character boundary, and the last block may
 * end inside a character. Stops before the first block that holds an error.
 *
 * After the first block the shifted inputs are loaded from p + i - 1, - 2
 * and - 3 rather than built with shuffles: loads are cheaper than the
 * vector ALU work that bounds this loop. Blocks go in 64-byte pairs with one
 * branch per pair; a pair of ASCII after a complete character needs no
 * classification. When a pair fails, the single-block step after the loop
 * still takes its first half if that half is clean.
 */
__attribute__((target("avx2"))) static size_t utf8_valid_blocks(const uint8_t *p,
                                                                 size_t len) {
  size_t i = 32;
  __m256i err;
  if (len < 32) return 0;
  {
    /* Before the start there is a character boundary: shift in zeros. */
    __m256i cur = LOAD(p), lo = _mm256_permute2x128_si256(cur, cur, 0x08);
    err = utf8_block_errors(cur, _mm256_alignr_epi8(cur, lo, 15),
                            _mm256_alignr_epi8(cur, lo, 14),
                            _mm256_alignr_epi8(cur, lo, 13));
    if (!_mm256_testz_si256(err, err)) return 0;
  }
  for (; len - i >= 64; i += 64) {
    const uint8_t *q = p + i;
    __m256i a = LOAD(q), b = LOAD(q + 32);
    if (_mm256_movemask_epi8(_mm256_or_si256(a, b)) == 0) {
      if (utf8_ends_inside(LOAD(q - 32))) break; /* a lead byte, then ASCII */
      continue;
    }
    err = _mm256_or_si256(
        utf8_block_errors(a, LOAD(q - 1), LOAD(q - 2), LOAD(q - 3)),
        utf8_block_errors(b, LOAD(q + 31), LOAD(q + 30), LOAD(q + 29)));
    if (!_mm256_testz_si256(err, err)) break;
  }
  if (len - i >= 32) {
    const uint8_t *q = p + i;
    err = utf8_block_errors(LOAD(q), LOAD(q - 1), LOAD(q - 2), LOAD(q - 3));
    if (_mm256_testz_si256(err, err)) i += 32;
  }
  return i;
}
#undef LOAD

/* Use the vector validator from data + i? Returns the new position: a
 * character boundary at or after i. */
static size_t skip_valid_run(const uint8_t *data, size_t i, size_t len) {
  size_t j, k;
  if (!__builtin_cpu_supports("avx2")) return i;
  j = i + utf8_valid_blocks(data + i, len - i);
  /* Back up over a character the last block may have cut. */
  k = j;
  for (int n = 0; n < 3 && k > i && (data[k - 1] & 0xC0u) == 0x80u; n++) k--;
  if (k > i && data[k - 1] >= 0xC0u) k--;
  return k;
}
#endif

int wsm_utf8_feed(struct wsm_utf8 *v, const uint8_t *data, size_t len,
                  size_t *valid_len) {
  uint32_t state = v->state;
  size_t i = 0;
  if (state == S_REJECT) {
    if (valid_len) *valid_len = 0;
    return WSM_E_INVALID_UTF8;
  }
  while (i < len) {
    if (state == S_ACCEPT) {
#if defined(UTF8_AVX2)
      if (len - i >= 128) i = skip_valid_run(data, i, len);
#endif
      while (len - i >= 16 && word_is_ascii(data + i) && word_is_ascii(data + i + 8))
        i += 16;
      while (i < len && data[i] < 0x80) i++;
      if (i == len) break;
    }
    state = transition[state][byte_class[data[i]]];
    if (state == S_REJECT) {
      v->state = state;
      if (valid_len) *valid_len = i;
      return WSM_E_INVALID_UTF8;
    }
    i++;
  }
  v->state = state;
  if (valid_len) *valid_len = len;
  return 0;
}

int wsm_utf8_finish(const struct wsm_utf8 *v) {
  return v->state == S_ACCEPT ? 0 : WSM_E_INVALID_UTF8;
}

int wsm_utf8_check(const uint8_t *data, size_t len) {
  struct wsm_utf8 v;
  wsm_utf8_init(&v);
  if (wsm_utf8_feed(&v, data, len, NULL) != 0) return WSM_E_INVALID_UTF8;
  return wsm_utf8_finish(&v);
}
