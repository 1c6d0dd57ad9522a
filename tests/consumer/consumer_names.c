/* SPDX-License-Identifier: MIT */
/*
 * The single header's implementation compiled in a file that has names of
 * its own which lib/ uses for itself too: a function fail, a struct writer,
 * an enum constant S_ACCEPT, macros CLOSE_SENT and TIMER_NONE (that one
 * defined before the include). tools/amalgamate.py renamed lib's, so this
 * compiles, and the library still works. route.sh builds it as it is and
 * with WSM_STATIC.
 */
#define TIMER_NONE "defined by the user before the include"
#define WSM_IMPLEMENTATION
#include "wsm.h"

#include <string.h>

#define CLOSE_SENT 3

struct writer {
  const char *text;
};

enum user_state { S_ACCEPT = 5, S_REJECT };

static const unsigned char transition[2] = {1, 2};

static int fail(const char *what) { return what != NULL; }

static void put(struct writer *w, const char *text) { w->text = text; }

int main(void) {
  struct writer w;
  char accept[WSM_ACCEPT_SIZE];
  static const uint8_t text[] = {0x48, 0xC3, 0xA9, 0x21}; /* H, e acute, ! */
  static const uint8_t broken[] = {0x48, 0xED, 0xA0, 0x80}; /* a surrogate */
  put(&w, TIMER_NONE);
  if (!fail(w.text) || strcmp(w.text, "defined by the user before the include") != 0)
    return 1;
  if (CLOSE_SENT != 3 || S_ACCEPT != 5 || S_REJECT != 6 || transition[1] != 2) return 1;
  /* RFC 6455 1.3: the sample key and its accept value. */
  if (wsm_accept_key("dGhlIHNhbXBsZSBub25jZQ==", 24, accept) != 0) return 1;
  if (strcmp(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") != 0) return 1;
  if (wsm_utf8_check(text, sizeof text) != 0) return 1;
  if (wsm_utf8_check(broken, sizeof broken) != WSM_E_INVALID_UTF8) return 1;
  return wsm_close_code_is_valid(WSM_CLOSE_NORMAL) ? 0 : 1;
}
