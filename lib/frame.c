/* SPDX-License-Identifier: MIT */
/* Frame header decoding and encoding (RFC 6455 5.2), as pure functions. */
#include "wsm_internal.h"

static int opcode_is_known(unsigned op) {
  /* RFC 6455 5.2: 0x3-0x7 and 0xB-0xF are reserved. */
  return op <= WSM_OP_BINARY || (op >= WSM_OP_CLOSE && op <= WSM_OP_PONG);
}

int wsm_frame_decode(struct wsm_frame_header *h, const uint8_t *data,
                     size_t len, unsigned flags) {
  size_t need = 2;
  uint64_t plen;
  unsigned len7, op;

  if (len < 2) return 0;
  op = data[0] & 0x0Fu;
  h->fin = (uint8_t)(data[0] >> 7);
  h->rsv = (uint8_t)((data[0] >> 4) & 0x7u);
  h->opcode = (uint8_t)op;
  h->masked = (uint8_t)(data[1] >> 7);
  len7 = data[1] & 0x7Fu;

  /* Judge what the first two bytes already tell, so that a hostile header
   * fails before its length bytes arrive. */
  if (!opcode_is_known(op)) return WSM_E_RESERVED_OPCODE;
  if (op >= WSM_OP_CLOSE) {
    /* RFC 6455 5.5: control frames are never fragmented and carry at most
     * 125 bytes, so their length is always in the 7-bit form. */
    if (!h->fin) return WSM_E_CONTROL_FRAGMENTED;
    if (len7 > WSM_CONTROL_PAYLOAD_MAX) return WSM_E_CONTROL_TOO_LONG;
  }

  if (len7 == 126) need += 2;
  else if (len7 == 127) need += 8;
  if (h->masked) need += 4;
  if (len < need) return 0;

  if (len7 == 126) {
    plen = wsm_load16_be(data + 2);
    if (plen < 126 && !(flags & WSM_FRAME_ALLOW_NON_MINIMAL_LENGTH))
      return WSM_E_LENGTH_NOT_MINIMAL;
  } else if (len7 == 127) {
    plen = wsm_load64_be(data + 2);
    /* RFC 6455 5.2: the most significant bit MUST be 0. */
    if (plen >> 63) return WSM_E_LENGTH_TOP_BIT;
    if (plen <= 0xFFFFu && !(flags & WSM_FRAME_ALLOW_NON_MINIMAL_LENGTH))
      return WSM_E_LENGTH_NOT_MINIMAL;
  } else {
    plen = len7;
  }
  h->payload_len = plen;
  if (h->masked) memcpy(h->mask_key, data + need - 4, 4);
  else memset(h->mask_key, 0, 4);
  return (int)need;
}

size_t wsm_frame_header_size(uint64_t payload_len, int masked) {
  size_t n = 2;
  if (payload_len > 0xFFFFu) n += 8;
  else if (payload_len >= 126) n += 2;
  return masked ? n + 4 : n;
}

size_t wsm_frame_encode(uint8_t out[WSM_FRAME_HEADER_MAX],
                        const struct wsm_frame_header *h) {
  size_t n = 2;
  uint8_t mask_bit = h->masked ? 0x80u : 0u;

  out[0] = (uint8_t)((h->fin ? 0x80u : 0u) | (unsigned)(h->rsv & 0x7u) << 4 |
                     (h->opcode & 0x0Fu));
  if (h->payload_len > 0xFFFFu) {
    out[1] = (uint8_t)(mask_bit | 127u);
    wsm_store64_be(out + 2, h->payload_len);
    n += 8;
  } else if (h->payload_len >= 126) {
    out[1] = (uint8_t)(mask_bit | 126u);
    wsm_store16_be(out + 2, (uint16_t)h->payload_len);
    n += 2;
  } else {
    out[1] = (uint8_t)(mask_bit | h->payload_len);
  }
  if (h->masked) {
    memcpy(out + n, h->mask_key, 4);
    n += 4;
  }
  return n;
}
