/* SPDX-License-Identifier: MIT */
/*
 * The default source of client mask keys: the operating system's CSPRNG
 * where libc offers one without a file descriptor. Define WSM_NO_DEFAULT_RANDOM
 * (bare metal, or a host that insists on its own source) to leave it out; a
 * client then needs wsm_config.random.
 */
#include "wsm_internal.h"

#if defined(WSM_NO_DEFAULT_RANDOM)

wsm_random_fn wsm_default_random(void) { return NULL; }

#elif defined(__linux__)

#include <errno.h>
#include <sys/random.h>

static int os_random(void *ctx, uint8_t *buf, size_t len) {
  (void)ctx;
  while (len > 0) {
    ssize_t n = getrandom(buf, len, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    buf += n;
    len -= (size_t)n;
  }
  return 0;
}
wsm_random_fn wsm_default_random(void) { return os_random; }

#elif defined(__APPLE__) || defined(__FreeBSD__) || defined(__OpenBSD__) || \
    defined(__NetBSD__) || defined(__DragonFly__)

#include <stdlib.h>

static int os_random(void *ctx, uint8_t *buf, size_t len) {
  (void)ctx;
  arc4random_buf(buf, len);
  return 0;
}
wsm_random_fn wsm_default_random(void) { return os_random; }

#else

wsm_random_fn wsm_default_random(void) { return NULL; }

#endif
