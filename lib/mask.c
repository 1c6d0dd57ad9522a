/* SPDX-License-Identifier: MIT */
/*
 * Masking (RFC 6455 5.3): payload byte i is XORed with key[i % 4]. The key is
 * repeated into a pattern as wide as the widest register in use, and the
 * payload is XORed a register at a time; only the loads and stores that
 * stay inside the buffer are made, so nothing outside it is read or written.
 *
 * Paths: AVX2 (chosen at run time on x86, so a plain -O2 build gets it),
 * SSE2 (always there on x86-64), NEON (AArch64), and a portable path of
 * 64-bit words through memcpy, which compilers turn into plain moves.
 * WSM_NO_SIMD keeps only the portable path.
 */
#include "wsm_internal.h"

#if !defined(WSM_NO_SIMD) && (defined(__x86_64__) || defined(_M_X64) || \
                              (defined(__i386__) && defined(__SSE2__)))
#define MASK_SSE2 1
#include <emmintrin.h>
#if (defined(__GNUC__) || defined(__clang__)) && !defined(__AVX2__)
#define MASK_AVX2_DISPATCH 1
#include <immintrin.h>
#elif defined(__AVX2__)
#define MASK_AVX2 1
#include <immintrin.h>
#endif
#elif !defined(WSM_NO_SIMD) && defined(__aarch64__)
#define MASK_NEON 1
#include <arm_neon.h>
#endif

/* The 64-bit word loop: the portable path, and every path's tail. */
static size_t mask_words(uint8_t *data, size_t len, const uint8_t pattern[8]) {
  uint64_t k, w;
  size_t i = 0;
  memcpy(&k, pattern, sizeof k);
  for (; len - i >= 8; i += 8) {
    memcpy(&w, data + i, 8);
    w ^= k;
    memcpy(data + i, &w, 8);
  }
  return i;
}

#if defined(MASK_AVX2) || defined(MASK_AVX2_DISPATCH)
#if defined(MASK_AVX2_DISPATCH)
__attribute__((target("avx2")))
#endif
static size_t mask_avx2(uint8_t *data, size_t len, const uint8_t pattern[8]) {
  uint64_t k;
  __m256i key;
  size_t i = 0;
  memcpy(&k, pattern, sizeof k);
  key = _mm256_set1_epi64x((long long)k);
  for (; len - i >= 64; i += 64) {
    __m256i a = _mm256_loadu_si256((const __m256i *)(const void *)(data + i));
    __m256i b = _mm256_loadu_si256((const __m256i *)(const void *)(data + i + 32));
    _mm256_storeu_si256((__m256i *)(void *)(data + i), _mm256_xor_si256(a, key));
    _mm256_storeu_si256((__m256i *)(void *)(data + i + 32), _mm256_xor_si256(b, key));
  }
  for (; len - i >= 32; i += 32) {
    __m256i a = _mm256_loadu_si256((const __m256i *)(const void *)(data + i));
    _mm256_storeu_si256((__m256i *)(void *)(data + i), _mm256_xor_si256(a, key));
  }
  return i;
}
#endif

#if defined(MASK_SSE2) && !defined(MASK_AVX2)
static size_t mask_sse2(uint8_t *data, size_t len, const uint8_t pattern[8]) {
  uint64_t k;
  __m128i key;
  size_t i = 0;
  memcpy(&k, pattern, sizeof k);
  key = _mm_set1_epi64x((long long)k);
  for (; len - i >= 32; i += 32) {
    __m128i a = _mm_loadu_si128((const __m128i *)(const void *)(data + i));
    __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(data + i + 16));
    _mm_storeu_si128((__m128i *)(void *)(data + i), _mm_xor_si128(a, key));
    _mm_storeu_si128((__m128i *)(void *)(data + i + 16), _mm_xor_si128(b, key));
  }
  return i;
}
#endif

#if defined(MASK_NEON)
static size_t mask_neon(uint8_t *data, size_t len, const uint8_t pattern[8]) {
  uint8x16_t key = vcombine_u8(vld1_u8(pattern), vld1_u8(pattern));
  size_t i = 0;
  for (; len - i >= 16; i += 16) vst1q_u8(data + i, veorq_u8(vld1q_u8(data + i), key));
  return i;
}
#endif

/* The widest path this machine runs: a register-sized prefix of the data. */
static size_t mask_wide(uint8_t *data, size_t len, const uint8_t pattern[8]) {
#if defined(MASK_AVX2)
  return mask_avx2(data, len, pattern);
#elif defined(MASK_AVX2_DISPATCH)
  /* Below a few registers the dispatch costs more than it saves. */
  if (len >= 256 && __builtin_cpu_supports("avx2")) return mask_avx2(data, len, pattern);
  return mask_sse2(data, len, pattern);
#elif defined(MASK_SSE2)
  return mask_sse2(data, len, pattern);
#elif defined(MASK_NEON)
  return mask_neon(data, len, pattern);
#else
  (void)data;
  (void)len;
  (void)pattern;
  return 0;
#endif
}

unsigned wsm_mask(uint8_t *data, size_t len, const uint8_t key[4], unsigned phase) {
  uint8_t pattern[8];
  size_t i;

  phase &= 3u;
  if (len == 0) return phase;
  /* A multiple of 4 bytes leaves the phase unchanged, so one pattern that
   * starts at the current phase holds for every register. */
  if (phase == 0) {
    memcpy(pattern, key, 4);
    memcpy(pattern + 4, key, 4);
  } else {
    for (unsigned j = 0; j < 8; j++) pattern[j] = key[(phase + j) & 3u];
  }
  i = len >= 32 ? mask_wide(data, len, pattern) : 0;
  i += mask_words(data + i, len - i, pattern);
  for (; i < len; i++) data[i] ^= pattern[i & 7u];
  return (unsigned)((phase + len) & 3u);
}

/* The copying variants: the same paths, reading src and writing dst. */
static size_t mask_copy_words(uint8_t *dst, const uint8_t *src, size_t len,
                              const uint8_t pattern[8]) {
  uint64_t k, w;
  size_t i = 0;
  memcpy(&k, pattern, sizeof k);
  for (; len - i >= 8; i += 8) {
    memcpy(&w, src + i, 8);
    w ^= k;
    memcpy(dst + i, &w, 8);
  }
  return i;
}

#if defined(MASK_AVX2) || defined(MASK_AVX2_DISPATCH)
#if defined(MASK_AVX2_DISPATCH)
__attribute__((target("avx2")))
#endif
static size_t mask_copy_avx2(uint8_t *dst, const uint8_t *src, size_t len,
                             const uint8_t pattern[8]) {
  uint64_t k;
  __m256i key;
  size_t i = 0;
  memcpy(&k, pattern, sizeof k);
  key = _mm256_set1_epi64x((long long)k);
  for (; len - i >= 32; i += 32) {
    __m256i a = _mm256_loadu_si256((const __m256i *)(const void *)(src + i));
    _mm256_storeu_si256((__m256i *)(void *)(dst + i), _mm256_xor_si256(a, key));
  }
  return i;
}
#endif

#if defined(MASK_SSE2) && !defined(MASK_AVX2)
static size_t mask_copy_sse2(uint8_t *dst, const uint8_t *src, size_t len,
                             const uint8_t pattern[8]) {
  uint64_t k;
  __m128i key;
  size_t i = 0;
  memcpy(&k, pattern, sizeof k);
  key = _mm_set1_epi64x((long long)k);
  for (; len - i >= 16; i += 16) {
    __m128i a = _mm_loadu_si128((const __m128i *)(const void *)(src + i));
    _mm_storeu_si128((__m128i *)(void *)(dst + i), _mm_xor_si128(a, key));
  }
  return i;
}
#endif

#if defined(MASK_NEON)
static size_t mask_copy_neon(uint8_t *dst, const uint8_t *src, size_t len,
                             const uint8_t pattern[8]) {
  uint8x16_t key = vcombine_u8(vld1_u8(pattern), vld1_u8(pattern));
  size_t i = 0;
  for (; len - i >= 16; i += 16) vst1q_u8(dst + i, veorq_u8(vld1q_u8(src + i), key));
  return i;
}
#endif

void wsm_mask_copy(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4]) {
  uint8_t pattern[8];
  size_t i = 0;
  if (len == 0) return;
  memcpy(pattern, key, 4);
  memcpy(pattern + 4, key, 4);
  if (len >= 32) {
#if defined(MASK_AVX2)
    i = mask_copy_avx2(dst, src, len, pattern);
#elif defined(MASK_AVX2_DISPATCH)
    i = len >= 256 && __builtin_cpu_supports("avx2") ? mask_copy_avx2(dst, src, len, pattern)
                                                     : mask_copy_sse2(dst, src, len, pattern);
#elif defined(MASK_SSE2)
    i = mask_copy_sse2(dst, src, len, pattern);
#elif defined(MASK_NEON)
    i = mask_copy_neon(dst, src, len, pattern);
#endif
  }
  i += mask_copy_words(dst + i, src + i, len - i, pattern);
  for (; i < len; i++) dst[i] = (uint8_t)(src[i] ^ pattern[i & 7u]);
}
