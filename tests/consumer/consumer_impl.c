/* SPDX-License-Identifier: MIT */
/*
 * The second translation unit of the single-header route. Normally it is the
 * one file that compiles wsm (WSM_IMPLEMENTATION); under WSM_STATIC both files
 * compile their own private copy, and this one uses it too, so that two
 * copies in one program are shown not to collide.
 */
#ifndef WSM_IMPLEMENTATION
#define WSM_IMPLEMENTATION
#endif
#include "wsm.h"

int consumer_second_tu(void);

int consumer_second_tu(void) {
  struct wsm_frame_header h;
  /* RFC 6455 5.7: the header of an unmasked ping carrying "Hello". */
  static const uint8_t ping[] = {0x89, 0x05};
  if (wsm_frame_decode(&h, ping, sizeof ping, 0) != 2) return 1;
  if (h.opcode != WSM_OP_PING || !h.fin || h.masked || h.payload_len != 5) return 1;
  return wsm_close_code_is_valid(WSM_CLOSE_NORMAL) ? 0 : 1;
}
