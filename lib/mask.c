/* SPDX-License-Identifier: MIT */
/*
 * Masking (RFC 6455 5.3): payload byte i is XORed with key[i % 4]. The key is
 * repeated into a 64-bit pattern so that the payload can be XORed a word at a
 * time; memcpy keeps every load and store legal at any alignment and byte
 * order, and compilers turn it into plain moves.
 */
#include "wsm_internal.h"

unsigned wsm_mask(uint8_t *data, size_t len, const uint8_t key[4],
                  unsigned phase) {
  uint8_t pattern[8];
  uint64_t k, w0, w1, w2, w3;
  size_t i = 0;

  phase &= 3u;
  for (unsigned j = 0; j < 8; j++) pattern[j] = key[(phase + j) & 3u];
  memcpy(&k, pattern, sizeof k);

  /* A multiple of 4 bytes leaves the phase unchanged, so the pattern holds
   * for every word. */
  for (; len - i >= 32; i += 32) {
    memcpy(&w0, data + i, 8);
    memcpy(&w1, data + i + 8, 8);
    memcpy(&w2, data + i + 16, 8);
    memcpy(&w3, data + i + 24, 8);
    w0 ^= k;
    w1 ^= k;
    w2 ^= k;
    w3 ^= k;
    memcpy(data + i, &w0, 8);
    memcpy(data + i + 8, &w1, 8);
    memcpy(data + i + 16, &w2, 8);
    memcpy(data + i + 24, &w3, 8);
  }
  for (; len - i >= 8; i += 8) {
    memcpy(&w0, data + i, 8);
    w0 ^= k;
    memcpy(data + i, &w0, 8);
  }
  for (; i < len; i++) data[i] ^= pattern[i & 7u];
  return (unsigned)((phase + len) & 3u);
}
