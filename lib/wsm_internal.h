/* SPDX-License-Identifier: MIT */
/* Internals shared by the files of lib/. Not installed. */
#ifndef WSM_INTERNAL_H
#define WSM_INTERNAL_H

#define WSM_ALLOW_PRIVATE_ACCESS 1
#include "wsm.h"

#include <string.h>

#ifndef WSM_INTERNAL
#if (defined(__GNUC__) || defined(__clang__)) && !defined(_WIN32)
#define WSM_INTERNAL __attribute__((visibility("hidden")))
#else
#define WSM_INTERNAL
#endif
#endif

/* Byte order through shifts, never through pointer casts. */
static inline uint16_t wsm_load16_be(const uint8_t *p) {
  return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}
static inline uint64_t wsm_load64_be(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = v << 8 | p[i];
  return v;
}
static inline void wsm_store16_be(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}
static inline void wsm_store64_be(uint8_t *p, uint64_t v) {
  for (int i = 7; i >= 0; i--) {
    p[i] = (uint8_t)v;
    v >>= 8;
  }
}

/* sha1.c: FIPS 180-4 SHA-1, only for Sec-WebSocket-Accept. */
struct wsm_sha1 {
  uint32_t h[5];
  uint64_t total;   /* bytes fed */
  uint8_t block[64];
};
WSM_INTERNAL void wsm_sha1_init(struct wsm_sha1 *s);
WSM_INTERNAL void wsm_sha1_update(struct wsm_sha1 *s, const uint8_t *data,
                                  size_t len);
WSM_INTERNAL void wsm_sha1_final(struct wsm_sha1 *s, uint8_t digest[20]);

/* base64.c: RFC 4648 section 4 alphabet, with padding. */
#define WSM_BASE64_LEN(n) (((n) + 2) / 3 * 4)
/* Writes WSM_BASE64_LEN(len) characters (no terminator); returns that. */
WSM_INTERNAL size_t wsm_base64_encode(char *out, const uint8_t *data,
                                      size_t len);
/* Strict decode: padding required, no white space, no stray characters,
 * unused bits zero. Returns the decoded length, or -1 if malformed or larger
 * than cap. */
WSM_INTERNAL long wsm_base64_decode(uint8_t *out, size_t cap, const char *text,
                                    size_t len);

/* random.c: the platform's CSPRNG, or NULL where libc has none. */
WSM_INTERNAL wsm_random_fn wsm_default_random(void);

/* utf8.c: the DFA step, for callers that inline their own loop. */
#define WSM_UTF8_ACCEPT 0u
#define WSM_UTF8_REJECT 1u

#endif /* WSM_INTERNAL_H */
