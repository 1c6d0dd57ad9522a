/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the harnesses in fuzz/: reading the input, a
 * deterministic random source, growing buffers, a reference UTF-8 checker
 * and the connection configuration that leading input bytes choose.
 * Everything is static inline so that each harness stays one translation
 * unit and unused helpers draw no warning.
 */
#ifndef WSM_FUZZ_COMMON_H
#define WSM_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wsm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#if defined(__GNUC__) || defined(__clang__)
#define FZ_NORETURN __attribute__((noreturn))
#else
#define FZ_NORETURN
#endif

/* An invariant failed: say which, then abort so that the fuzzer keeps the
 * input. */
static inline FZ_NORETURN void fz_fail(const char *what, const char *file,
                                       int line) {
  fprintf(stderr, "%s:%d: invariant violated: %s\n", file, line, what);
  abort();
}

#define FZ_CHECK(cond) ((cond) ? (void)0 : fz_fail(#cond, __FILE__, __LINE__))

/* ---- reading the input -------------------------------------------------- */

struct fz_reader {
  const uint8_t *p;
  size_t n;
};

/* Next byte, or 0 once the input is used up (so every input means something). */
static inline uint8_t fz_u8(struct fz_reader *r) {
  uint8_t b;
  if (r->n == 0) return 0;
  b = *r->p++;
  r->n--;
  return b;
}

/* ---- deterministic randomness ------------------------------------------- */

/* xorshift64*: small, fast and good enough to pick split points. */
struct fz_rng {
  uint64_t s;
};

static inline void fz_rng_seed(struct fz_rng *g, uint64_t seed) {
  g->s = seed * UINT64_C(0x9E3779B97F4A7C15) + UINT64_C(0x2545F4914F6CDD1D);
  if (g->s == 0) g->s = 1;
}

static inline uint32_t fz_rng_next(struct fz_rng *g) {
  uint64_t x = g->s;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  g->s = x;
  return (uint32_t)((x * UINT64_C(0x2545F4914F6CDD1D)) >> 32);
}

/* Uniform-ish value in [0, n), n > 0. */
static inline uint32_t fz_rng_below(struct fz_rng *g, uint32_t n) {
  return fz_rng_next(g) % n;
}

/* The wsm_config.random hook: deterministic bytes, and optionally failures
 * after a number of good calls, to reach the RANDOM_FAILED paths. */
struct fz_random {
  struct fz_rng rng;
  long fail_after; /* good calls before every call fails; -1: never fails */
  long calls;
  int failed;      /* a call has failed */
};

static inline int fz_random_fill(void *ctx, uint8_t *buf, size_t len) {
  struct fz_random *r = (struct fz_random *)ctx;
  size_t i;
  if (r->fail_after >= 0 && r->calls >= r->fail_after) {
    r->failed = 1;
    return -1;
  }
  r->calls++;
  for (i = 0; i < len; i++) buf[i] = (uint8_t)fz_rng_next(&r->rng);
  return 0;
}

/* ---- growing buffers ---------------------------------------------------- */

struct fz_buf {
  uint8_t *p;
  size_t len;
  size_t cap;
};

static inline void fz_buf_reserve(struct fz_buf *b, size_t extra) {
  size_t cap;
  uint8_t *p;
  FZ_CHECK(extra <= SIZE_MAX / 2 - b->len);
  if (b->len + extra <= b->cap) return;
  cap = b->cap ? b->cap : 64;
  while (cap < b->len + extra) cap *= 2;
  p = (uint8_t *)realloc(b->p, cap);
  FZ_CHECK(p != NULL);
  b->p = p;
  b->cap = cap;
}

static inline void fz_buf_append(struct fz_buf *b, const void *data, size_t len) {
  if (len == 0) return;
  fz_buf_reserve(b, len);
  memcpy(b->p + b->len, data, len);
  b->len += len;
}

static inline void fz_buf_byte(struct fz_buf *b, unsigned v) {
  uint8_t x = (uint8_t)v;
  fz_buf_append(b, &x, 1);
}

static inline void fz_buf_u64(struct fz_buf *b, uint64_t v) {
  uint8_t x[8];
  int i;
  for (i = 7; i >= 0; i--) {
    x[i] = (uint8_t)v;
    v >>= 8;
  }
  fz_buf_append(b, x, sizeof x);
}

/* Drop the first n bytes. */
static inline void fz_buf_shift(struct fz_buf *b, size_t n) {
  FZ_CHECK(n <= b->len);
  if (n < b->len) memmove(b->p, b->p + n, b->len - n);
  b->len -= n;
}

static inline void fz_buf_free(struct fz_buf *b) {
  free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
}

/* A heap copy of exactly len bytes, so that AddressSanitizer sees any read
 * past the end (malloc(0) is avoided: the copy is never NULL). */
static inline uint8_t *fz_dup(const uint8_t *data, size_t len) {
  uint8_t *p = (uint8_t *)malloc(len ? len : 1);
  FZ_CHECK(p != NULL);
  if (len) memcpy(p, data, len);
  return p;
}

/* 1 if [p, p + len) lies inside [base, base + size). Compared as integers:
 * the pointers may belong to different objects. */
static inline int fz_inside(const void *p, size_t len, const void *base,
                            size_t size) {
  uintptr_t a = (uintptr_t)p, b = (uintptr_t)base;
  return a >= b && a - b <= size && len <= size - (size_t)(a - b);
}

/* ---- reference UTF-8 (RFC 3629) ------------------------------------------ */

/* Could a code point in [lo, hi] be one that a sequence with smallest value
 * min encodes? Valid: [min, U+10FFFF] without the surrogates U+D800-DFFF. */
static inline int fz_ref_utf8_possible(uint32_t lo, uint32_t hi, uint32_t min) {
  if (hi < min || lo > 0x10FFFFu) return 0;
  if (lo < min) lo = min;
  if (hi > 0x10FFFFu) hi = 0x10FFFFu;
  return !(lo >= 0xD800u && hi <= 0xDFFFu);
}

/*
 * Deliberately plain reference, independent of lib/utf8.c: decode code point
 * by code point. Returns the offset of the first byte at which s stops being
 * a prefix of valid UTF-8 (the lead byte or continuation byte after which no
 * valid completion exists), or len when all of s is such a prefix; then
 * *complete says whether it ends between characters.
 *
 * A lead byte fixes how many continuation bytes follow; after each byte the
 * code point is known to lie in an interval (the remaining bits free), and
 * the sequence is hopeless as soon as that interval misses the valid range
 * for its length: overlong forms, surrogates and values above U+10FFFF.
 */
static inline size_t fz_ref_utf8(const uint8_t *s, size_t len, int *complete) {
  size_t i = 0;
  *complete = 1;
  while (i < len) {
    uint8_t b = s[i];
    size_t need, j;
    uint32_t cp, min;
    if (b < 0x80u) {
      i++;
      continue;
    }
    if (b >= 0xC0u && b <= 0xDFu) {
      need = 1;
      cp = b & 0x1Fu;
      min = 0x80u;
    } else if (b >= 0xE0u && b <= 0xEFu) {
      need = 2;
      cp = b & 0x0Fu;
      min = 0x800u;
    } else if (b >= 0xF0u && b <= 0xF7u) {
      need = 3;
      cp = b & 0x07u;
      min = 0x10000u;
    } else {
      return i; /* a continuation byte, or F8-FF: no character starts so */
    }
    for (j = 0;; j++) {
      unsigned free_bits = (unsigned)(6 * (need - j));
      uint32_t lo = cp << free_bits;
      uint32_t hi = lo | ((UINT32_C(1) << free_bits) - 1u);
      uint8_t c;
      if (!fz_ref_utf8_possible(lo, hi, min)) return i + j;
      if (j == need) break;
      if (i + j + 1 >= len) {
        *complete = 0; /* valid so far, cut inside a character */
        return len;
      }
      c = s[i + j + 1];
      if ((c & 0xC0u) != 0x80u) return i + j + 1;
      cp = cp << 6 | (c & 0x3Fu);
    }
    i += need + 1;
  }
  return len;
}

/* 1 if s is complete, valid UTF-8. */
static inline int fz_ref_utf8_valid(const uint8_t *s, size_t len) {
  int complete;
  return fz_ref_utf8(s, len, &complete) == len && complete;
}

/* Append code point cp (not a surrogate, at most U+10FFFF) as UTF-8. */
static inline void fz_utf8_put(struct fz_buf *b, uint32_t cp) {
  uint8_t x[4];
  size_t n;
  if (cp < 0x80u) {
    x[0] = (uint8_t)cp;
    n = 1;
  } else if (cp < 0x800u) {
    x[0] = (uint8_t)(0xC0u | cp >> 6);
    x[1] = (uint8_t)(0x80u | (cp & 0x3Fu));
    n = 2;
  } else if (cp < 0x10000u) {
    x[0] = (uint8_t)(0xE0u | cp >> 12);
    x[1] = (uint8_t)(0x80u | (cp >> 6 & 0x3Fu));
    x[2] = (uint8_t)(0x80u | (cp & 0x3Fu));
    n = 3;
  } else {
    x[0] = (uint8_t)(0xF0u | cp >> 18);
    x[1] = (uint8_t)(0x80u | (cp >> 12 & 0x3Fu));
    x[2] = (uint8_t)(0x80u | (cp >> 6 & 0x3Fu));
    x[3] = (uint8_t)(0x80u | (cp & 0x3Fu));
    n = 4;
  }
  fz_buf_append(b, x, n);
}

/* ---- the configuration leading bytes choose ------------------------------ */

/*
 * Four bytes (all zero: the defaults, streaming mode):
 *   b0 bits 0-1  frame payload limit: default, 1 + b1, 0xFFFF + (b1 & 3) - 1
 *                (around the 16-bit length boundary), unlimited (UINT64_MAX)
 *      bits 2-3  message limit: default, 1 + b2, 0x10000, unlimited
 *      bit 4     WSM_CFG_ALLOW_NON_MINIMAL_LENGTH
 *      bit 5     WSM_CFG_MANUAL_PONG
 *      bit 6     whole-message mode with a buffer of b2 bytes
 *      bit 7     server: WSM_CFG_ALLOW_UNMASKED; client: the random source
 *                fails after (b1 & 3) good calls
 *   b3 bits 0-2  max_fragments (0: default)
 *      bits 3-5  rsv_allowed
 *      bits 6-7  host actions (harnesses that use them): timers, and calls
 *                between reads (close, sending, changing modes)
 */
struct fz_setup {
  struct wsm_config cfg;
  int whole_message;
  size_t msg_cap;
  unsigned host;
  struct fz_random random;
};

#define FZ_HOST_TIMERS 0x1u
#define FZ_HOST_CALLS 0x2u

static inline void fz_setup_read(struct fz_setup *s, enum wsm_role role,
                                 struct fz_reader *r) {
  uint8_t b0 = fz_u8(r), b1 = fz_u8(r), b2 = fz_u8(r), b3 = fz_u8(r);
  struct wsm_config *cfg = &s->cfg;

  memset(s, 0, sizeof *s);
  wsm_config_init(cfg, role);
  switch (b0 & 3u) {
  case 1: cfg->max_frame_payload = 1u + (uint64_t)b1; break;
  case 2: cfg->max_frame_payload = 0xFFFFu + (uint64_t)(b1 & 3u) - 1u; break;
  case 3: cfg->max_frame_payload = UINT64_MAX; break;
  default: break;
  }
  switch (b0 >> 2 & 3u) {
  case 1: cfg->max_message = 1u + (uint64_t)b2; break;
  case 2: cfg->max_message = 0x10000u; break;
  case 3: cfg->max_message = UINT64_MAX; break;
  default: break;
  }
  if (b0 & 0x10u) cfg->flags |= WSM_CFG_ALLOW_NON_MINIMAL_LENGTH;
  if (b0 & 0x20u) cfg->flags |= WSM_CFG_MANUAL_PONG;
  if (b0 & 0x40u) {
    s->whole_message = 1;
    s->msg_cap = b2;
  }
  s->random.fail_after = -1;
  fz_rng_seed(&s->random.rng, (uint64_t)b1 << 8 | b3);
  if (b0 & 0x80u) {
    if (role == WSM_ROLE_SERVER) cfg->flags |= WSM_CFG_ALLOW_UNMASKED;
    else s->random.fail_after = b1 & 3;
  }
  if (b3 & 7u) cfg->max_fragments = b3 & 7u;
  cfg->rsv_allowed = (uint8_t)(b3 >> 3 & 7u);
  s->host = b3 >> 6 & 3u;
  /* Every client gets the deterministic source: the default one reads the
   * operating system's, which would make runs irreproducible. */
  cfg->random = fz_random_fill;
  cfg->random_ctx = &s->random;
}

/* Start a connection in OPEN as the setup says; *msg_buf gets the whole-
 * message buffer (exactly msg_cap bytes on the heap) or NULL. */
static inline void fz_setup_conn(struct fz_setup *s, struct wsm_conn *c,
                                 uint8_t **msg_buf) {
  FZ_CHECK(wsm_conn_init_open(c, &s->cfg) == 0);
  FZ_CHECK(wsm_conn_state(c) == WSM_STATE_OPEN);
  *msg_buf = NULL;
  if (s->whole_message) {
    *msg_buf = (uint8_t *)malloc(s->msg_cap ? s->msg_cap : 1);
    FZ_CHECK(*msg_buf != NULL);
    FZ_CHECK(wsm_conn_set_message_buffer(c, *msg_buf, s->msg_cap) == 0);
  }
}

#endif /* WSM_FUZZ_COMMON_H */
