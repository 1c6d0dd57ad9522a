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

/* http.c: ASCII helpers shared with the handshake. */
WSM_INTERNAL int wsm_is_tchar(unsigned char c); /* RFC 9110 5.6.2 */
WSM_INTERNAL int wsm_ascii_caseeq(const char *a, const char *b, size_t n);

/* handshake.c */
/* SHA-1 behind the accept key of a key that must be base64 of 16 bytes. */
WSM_INTERNAL int wsm_hs_key_digest(const char *key, size_t key_len, uint8_t digest[20]);
/* RFC 6455 4.2.1 on a parsed request; digest gets the accept key's hash. */
WSM_INTERNAL int wsm_hs_check_request(const struct wsm_http_head *head, uint8_t digest[20]);
/* RFC 6455 4.1 on a parsed response to the request that had digest. */
WSM_INTERNAL int wsm_hs_check_response(const struct wsm_http_head *head,
                                       const uint8_t digest[20],
                                       const char *const *protocols,
                                       size_t protocol_count, const char *extensions);
/* Writers: 0, WSM_E_BUFFER_TOO_SMALL (with *written the size needed) or
 * WSM_E_INVALID_ARGUMENT. */
WSM_INTERNAL int wsm_hs_write_request(const struct wsm_client_request *r,
                                      const uint8_t nonce[16], uint8_t digest[20],
                                      uint8_t *out, size_t cap, size_t *written);
WSM_INTERNAL int wsm_hs_write_accept(const struct wsm_server_accept *a,
                                     const uint8_t digest[20], uint8_t *out,
                                     size_t cap, size_t *written);
WSM_INTERNAL int wsm_hs_write_reject(int status, const struct wsm_http_header *headers,
                                     size_t count, const uint8_t *body, size_t body_len,
                                     uint8_t *out, size_t cap, size_t *written);

/* mask.c: copy src to dst masking it on the way, in one pass (the two do
 * not overlap); the key phase is 0. */
WSM_INTERNAL void wsm_mask_copy(uint8_t *dst, const uint8_t *src, size_t len,
                                const uint8_t key[4]);

/* random.c: the platform's CSPRNG, or NULL where libc has none. */
WSM_INTERNAL wsm_random_fn wsm_default_random(void);


#endif /* WSM_INTERNAL_H */
