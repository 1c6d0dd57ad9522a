/* SPDX-License-Identifier: MIT */
/*
 * Cost of one small message, for instruction counting: decode K masked text
 * messages of 16 bytes each (a 6-byte header and 16 bytes of ASCII), held one
 * after another in one buffer, end to end: header, unmasking, UTF-8, event.
 *
 *   small_msg K [wsm|wslay]
 *
 * bench/instructions.sh runs it under callgrind for two values of K and
 * divides the difference in instructions by the difference in K, so that
 * building the buffer and setting up cancel out. Only decode() is counted
 * (callgrind --toggle-collect=decode_*).
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wsm.h"

#ifdef WSM_BENCH_HAVE_WSLAY
#include <sys/types.h>
#include <wslay/wslay.h>
#endif

#if defined(__GNUC__) || defined(__clang__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE
#endif

#define PAYLOAD 16
#define FRAME (2 + 4 + PAYLOAD)

struct tally {
  uint64_t msgs;
  uint64_t sink;
};

/* The whole buffer is presented at once; one wsm_conn_recv() per message. */
NOINLINE static int decode_wsm(uint8_t *buf, size_t len, struct tally *t) {
  struct wsm_conn c;
  struct wsm_config cfg;
  size_t off = 0;
  wsm_config_init(&cfg, WSM_ROLE_SERVER);
  if (wsm_conn_init_open(&c, &cfg) != 0) return -1;
  while (off < len) {
    struct wsm_event ev;
    size_t used;
    int rc = wsm_conn_recv(&c, buf + off, len - off, &used, &ev);
    if (rc != 0) return rc;
    off += used;
    if (ev.type == WSM_EV_NONE) break;
    if (ev.type != WSM_EV_DATA) return -1;
    if (ev.flags & WSM_DATA_END) t->msgs++;
    t->sink = t->sink * 31 + ev.data[0] + ev.data[ev.len - 1];
  }
  return off == len ? 0 : -1;
}

#ifdef WSM_BENCH_HAVE_WSLAY
struct source {
  const uint8_t *p;
  size_t len, pos;
};

static ssize_t recv_cb(uint8_t *buf, size_t len, int flags, void *user) {
  struct source *s = user;
  size_t n = s->len - s->pos;
  (void)flags;
  if (n > len) n = len;
  memcpy(buf, s->p + s->pos, n);
  s->pos += n;
  return (ssize_t)n;
}

static ssize_t send_cb(const uint8_t *data, size_t len, int flags, void *user) {
  (void)data;
  (void)flags;
  (void)user;
  return (ssize_t)len;
}

static int genmask_cb(uint8_t *buf, size_t len, void *user) {
  (void)user;
  memset(buf, 0, len);
  return 0;
}

/* wslay's frame API, with the same UTF-8 check wsm does (wsm's validator),
 * and frame ends tracked the way an application must. */
NOINLINE static int decode_wslay(uint8_t *buf, size_t len, struct tally *t) {
  static const struct wslay_frame_callbacks cbs = {send_cb, recv_cb, genmask_cb};
  struct source src;
  wslay_frame_context_ptr ctx;
  struct wsm_utf8 utf8;
  uint64_t off = 0;
  int rc = 0;
  src.p = buf;
  src.len = len;
  src.pos = 0;
  if (wslay_frame_context_init(&ctx, &cbs, &src) != 0) return -1;
  for (;;) {
    struct wslay_frame_iocb iocb;
    ssize_t r = wslay_frame_recv(ctx, &iocb);
    if (r == WSLAY_ERR_WANT_READ) {
      if (src.pos == src.len) break;
      continue;
    }
    if (r <= 0) {
      rc = -1;
      break;
    }
    if (off == 0) wsm_utf8_init(&utf8);
    if (iocb.opcode == WSLAY_TEXT_FRAME &&
        wsm_utf8_feed(&utf8, iocb.data, (size_t)r, NULL) != 0) {
      rc = -1;
      break;
    }
    off += (uint64_t)r;
    if (off == iocb.payload_length) {
      if (iocb.opcode == WSLAY_TEXT_FRAME && wsm_utf8_finish(&utf8) != 0) {
        rc = -1;
        break;
      }
      off = 0;
      t->msgs++;
    }
    t->sink = t->sink * 31 + iocb.data[0] + iocb.data[r - 1];
  }
  wslay_frame_context_free(ctx);
  return rc;
}
#endif

int main(int argc, char **argv) {
  const char *who = argc > 2 ? argv[2] : "wsm";
  long k = argc > 1 ? atol(argv[1]) : 0;
  struct tally t = {0, 0};
  uint8_t *buf;
  size_t i, len;
  uint32_t x = 12345;
  int rc;

  if (k < 1 || k > 100000000L) {
    fprintf(stderr, "usage: small_msg K [wsm|wslay]\n");
    return 2;
  }
  len = (size_t)k * FRAME;
  buf = malloc(len);
  if (!buf) return 2;
  for (i = 0; i < (size_t)k; i++) {
    uint8_t *f = buf + i * FRAME;
    size_t j;
    f[0] = 0x80 | WSM_OP_TEXT;
    f[1] = 0x80 | PAYLOAD;
    for (j = 0; j < 4; j++) {
      x = x * 1103515245u + 12345u;
      f[2 + j] = (uint8_t)(x >> 16);
    }
    for (j = 0; j < PAYLOAD; j++)
      f[6 + j] = (uint8_t)(('a' + (i + j) % 26) ^ f[2 + (j & 3)]);
  }

  if (strcmp(who, "wsm") == 0) {
    rc = decode_wsm(buf, len, &t);
#ifdef WSM_BENCH_HAVE_WSLAY
  } else if (strcmp(who, "wslay") == 0) {
    rc = decode_wslay(buf, len, &t);
#endif
  } else {
    fprintf(stderr, "small_msg: unknown decoder %s\n", who);
    return 2;
  }
  free(buf);
  if (rc != 0 || t.msgs != (uint64_t)k) {
    fprintf(stderr, "small_msg: %s failed (rc %d, %llu of %ld messages)\n", who,
            rc, (unsigned long long)t.msgs, k);
    return 1;
  }
  printf("%s: %ld messages, sink %016llx\n", who, k, (unsigned long long)t.sink);
  return 0;
}
