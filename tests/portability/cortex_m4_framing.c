/* SPDX-License-Identifier: MIT */
/*
 * The smallest useful wsm program on a Cortex-M4: a server whose host did
 * the upgrade itself (wsm_conn_init_open) reads RFC 6455 5.7's masked
 * "Hello" and answers it. Linked with --gc-sections, its size is what the
 * framing engine costs in flash and RAM; .ci/portability prints it.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cortex_m4.h"
#include "wsm.h"

static struct wsm_conn conn;

int main(void) {
  uint8_t in[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
  static const uint8_t reply[] = {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
  uint8_t out[16];
  struct wsm_config cfg;
  struct wsm_event ev;
  size_t used = 0, n = 0;

  wsm_config_init(&cfg, WSM_ROLE_SERVER);
  if (wsm_conn_init_open(&conn, &cfg) != 0) return 1;
  if (wsm_conn_recv(&conn, in, sizeof in, &used, &ev) != 0 || used != sizeof in) return 1;
  if (ev.type != WSM_EV_DATA || ev.len != 5 || memcmp(ev.data, "Hello", 5) != 0) return 1;
  if (wsm_conn_send(&conn, WSM_OP_TEXT, ev.data, ev.len, WSM_SEND_FIN, out, sizeof out, &n) != 0)
    return 1;
  if (n != sizeof reply || memcmp(out, reply, n) != 0) return 1;
  m4_print("cortex-m4: framing-only server: ok\n");
  return 0;
}
