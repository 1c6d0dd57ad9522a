/* SPDX-License-Identifier: MIT */
/*
 * A program that uses wsm the way an outside project would: it includes only
 * "wsm.h" and links whichever wsm the build route provides (installed static
 * or shared library, pkg-config, add_subdirectory, FetchContent, or the
 * single header). As a server it reads the masked "Hello" of RFC 6455 5.7 and
 * answers with the unmasked "Hello" of the same section. Exit status 0 means
 * every byte and event was as the RFC says.
 */
#include "wsm.h"

#include <stdio.h>
#include <string.h>

#ifdef CONSUMER_SECOND_TU
/* consumer_impl.c: the other translation unit of the single-header route. */
int consumer_second_tu(void);
#endif

static int consumer_fail(const char *what) {
  fprintf(stderr, "consumer: %s\n", what);
  return 1;
}

int main(void) {
  /* RFC 6455 5.7: a single-frame masked text message containing "Hello". */
  uint8_t in[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
  /* RFC 6455 5.7: a single-frame unmasked text message containing "Hello". */
  static const uint8_t hello_out[] = {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
  struct wsm_config cfg;
  struct wsm_conn conn;
  struct wsm_event ev;
  uint8_t out[32];
  size_t used = 0, written = 0;
  int rc;

  wsm_config_init(&cfg, WSM_ROLE_SERVER);
  if (wsm_conn_init_open(&conn, &cfg) != 0) return consumer_fail("wsm_conn_init_open failed");

  rc = wsm_conn_recv(&conn, in, sizeof in, &used, &ev);
  if (rc != 0) {
    fprintf(stderr, "consumer: wsm_conn_recv: %s (%s)\n", wsm_strerror(rc), wsm_err_name(rc));
    return 1;
  }
  if (used != sizeof in) return consumer_fail("the frame was not consumed whole");
  if (ev.type != WSM_EV_DATA || ev.opcode != WSM_OP_TEXT) return consumer_fail("no text data event");
  if ((ev.flags & (WSM_DATA_BEGIN | WSM_DATA_END)) != (WSM_DATA_BEGIN | WSM_DATA_END))
    return consumer_fail("the message is not whole");
  if (ev.len != 5 || memcmp(ev.data, "Hello", 5) != 0) return consumer_fail("payload is not Hello");

  rc = wsm_conn_send(&conn, WSM_OP_TEXT, (const uint8_t *)"Hello", 5, WSM_SEND_FIN, out,
                     sizeof out, &written);
  if (rc != 0) return consumer_fail(wsm_strerror(rc));
  if (written != sizeof hello_out || memcmp(out, hello_out, sizeof hello_out) != 0)
    return consumer_fail("the frame sent differs from RFC 6455 5.7");
  if (wsm_conn_state(&conn) != WSM_STATE_OPEN) return consumer_fail("the connection is not open");

#ifdef CONSUMER_SECOND_TU
  if (consumer_second_tu() != 0) return consumer_fail("the second translation unit failed");
#endif
  printf("consumer: wsm %s, received and sent RFC 6455 5.7 \"Hello\"\n", WSM_VERSION_STRING);
  return 0;
}
