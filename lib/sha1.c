/* SPDX-License-Identifier: MIT */
/* SHA-1 as specified in FIPS 180-4. RFC 6455 4.2.2 needs it to compute
 * Sec-WebSocket-Accept; it is not used for anything that needs collision
 * resistance. */
#include "wsm_internal.h"

static uint32_t load32_be(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         (uint32_t)p[3];
}

static void store32_be(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

/* FIPS 180-4 3.2: ROTL^n(x); n is always in 1..31 here. */
static uint32_t rotl32(uint32_t x, unsigned n) {
  return (uint32_t)(x << n | x >> (32u - n));
}

/* FIPS 180-4 6.1.2, with the message schedule kept in 16 words as in the
 * alternate method of 6.1.3, so the stack holds 64 bytes instead of 320. */
static void sha1_compress(uint32_t h[5], const uint8_t block[64]) {
  uint32_t w[16];
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];

  for (unsigned t = 0; t < 16; t++) w[t] = load32_be(block + 4 * t);

  for (unsigned t = 0; t < 80; t++) {
    uint32_t f, k, tmp;
    if (t >= 16) {
      unsigned s = t & 15;
      w[s] = rotl32(w[(s + 13) & 15] ^ w[(s + 8) & 15] ^ w[(s + 2) & 15] ^
                        w[s],
                    1);
    }
    /* FIPS 180-4 4.1.1 and 4.2.1, in equal forms: Ch as z ^ (x & (y ^ z))
     * avoids ~ on a type that may be promoted to int; Maj as
     * (x & y) | (z & (x | y)) saves an operation. */
    if (t < 20) {
      f = d ^ (b & (c ^ d));
      k = 0x5a827999u;
    } else if (t < 40) {
      f = b ^ c ^ d;
      k = 0x6ed9eba1u;
    } else if (t < 60) {
      f = (b & c) | (d & (b | c));
      k = 0x8f1bbcdcu;
    } else {
      f = b ^ c ^ d;
      k = 0xca62c1d6u;
    }
    tmp = (uint32_t)(rotl32(a, 5) + f + e + k + w[t & 15]);
    e = d;
    d = c;
    c = rotl32(b, 30);
    b = a;
    a = tmp;
  }

  h[0] = (uint32_t)(h[0] + a);
  h[1] = (uint32_t)(h[1] + b);
  h[2] = (uint32_t)(h[2] + c);
  h[3] = (uint32_t)(h[3] + d);
  h[4] = (uint32_t)(h[4] + e);
}

void wsm_sha1_init(struct wsm_sha1 *s) {
  /* FIPS 180-4 5.3.1 */
  s->h[0] = 0x67452301u;
  s->h[1] = 0xefcdab89u;
  s->h[2] = 0x98badcfeu;
  s->h[3] = 0x10325476u;
  s->h[4] = 0xc3d2e1f0u;
  s->total = 0;
}

void wsm_sha1_update(struct wsm_sha1 *s, const uint8_t *data, size_t len) {
  size_t used = (size_t)(s->total & 63);

  /* data may be NULL when len is 0; memcpy must not see it. */
  if (len == 0) return;
  s->total += (uint64_t)len;

  if (used > 0) {
    size_t take = 64 - used;
    if (take > len) take = len;
    memcpy(s->block + used, data, take);
    data += take;
    len -= take;
    if (used + take < 64) return;
    sha1_compress(s->h, s->block);
  }
  /* Whole blocks are hashed straight from the caller's buffer. */
  for (; len >= 64; data += 64, len -= 64) sha1_compress(s->h, data);
  if (len > 0) memcpy(s->block, data, len);
}

void wsm_sha1_final(struct wsm_sha1 *s, uint8_t digest[20]) {
  size_t used = (size_t)(s->total & 63);
  /* FIPS 180-4 5.1.1: the length is in bits, modulo 2^64. */
  uint64_t bits = s->total << 3;

  /* FIPS 180-4 5.1.1: a 1 bit, zeros, then the 64-bit length, ending on a
   * block boundary; if fewer than 8 bytes remain, the length goes into an
   * extra block. */
  s->block[used++] = 0x80;
  if (used > 56) {
    memset(s->block + used, 0, 64 - used);
    sha1_compress(s->h, s->block);
    used = 0;
  }
  memset(s->block + used, 0, 56 - used);
  wsm_store64_be(s->block + 56, bits);
  sha1_compress(s->h, s->block);

  for (unsigned i = 0; i < 5; i++) store32_be(digest + 4 * i, s->h[i]);
}
