/* SPDX-License-Identifier: MIT */
/* Base64 as in RFC 4648 section 4 (standard alphabet, '=' padding). RFC 6455
 * uses it for Sec-WebSocket-Key (4.1) and Sec-WebSocket-Accept (4.2.2). The
 * text is HTTP header bytes, so characters are compared as ASCII. */
#include "wsm_internal.h"

#include <limits.h>

/* RFC 4648 4, Table 1. Sized 65 for the literal's terminator. */
static const char base64_alphabet[65] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t wsm_base64_encode(char *out, const uint8_t *data, size_t len) {
  size_t o = 0;

  for (; len >= 3; data += 3, len -= 3) {
    uint32_t v = (uint32_t)data[0] << 16 | (uint32_t)data[1] << 8 |
                 (uint32_t)data[2];
    out[o++] = base64_alphabet[v >> 18];
    out[o++] = base64_alphabet[(v >> 12) & 63];
    out[o++] = base64_alphabet[(v >> 6) & 63];
    out[o++] = base64_alphabet[v & 63];
  }
  /* RFC 4648 4: a final quantum of 8 or 16 bits is zero-filled to whole
   * symbols and padded with "==" or "=". */
  if (len > 0) {
    uint32_t v = (uint32_t)data[0] << 16;
    if (len == 2) v |= (uint32_t)data[1] << 8;
    out[o++] = base64_alphabet[v >> 18];
    out[o++] = base64_alphabet[(v >> 12) & 63];
    out[o++] = len == 2 ? base64_alphabet[(v >> 6) & 63] : '=';
    out[o++] = '=';
  }
  return o;
}

/* The 6-bit value of an alphabet character, or -1 for anything else,
 * including '=' (RFC 4648 3.3: non-alphabet characters are rejected). */
static int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

long wsm_base64_decode(uint8_t *out, size_t cap, const char *text,
                       size_t len) {
  size_t pad = 0, n, o = 0;

  /* RFC 4648 3.2: padding is required, so the text is whole quanta. */
  if (len % 4 != 0) return -1;
  if (len == 0) return 0;
  if (text[len - 1] == '=') pad = text[len - 2] == '=' ? 2 : 1;
  n = len / 4 * 3 - pad;
  if (n > cap || n > (size_t)LONG_MAX) return -1;

  for (size_t i = 0; i < len; i += 4) {
    /* Only the last quantum may hold padding; any other '=' is rejected by
     * base64_value() as a data symbol. */
    size_t symbols = i + 4 == len ? 4 - pad : 4;
    size_t bytes = symbols - 1;
    uint32_t v = 0;

    for (size_t j = 0; j < symbols; j++) {
      int x = base64_value(text[i + j]);
      if (x < 0) return -1;
      v = v << 6 | (uint32_t)x;
    }
    v <<= 6 * (4 - symbols);
    /* RFC 4648 3.5: the pad bits of the last symbol must be zero, so each
     * byte string has exactly one encoding. */
    if ((v & (0xffffffu >> (8 * bytes))) != 0) return -1;

    out[o++] = (uint8_t)(v >> 16);
    if (bytes > 1) out[o++] = (uint8_t)(v >> 8);
    if (bytes > 2) out[o++] = (uint8_t)v;
  }
  return (long)o;
}
