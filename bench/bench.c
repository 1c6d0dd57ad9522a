/* SPDX-License-Identifier: MIT */
/*
 * Throughput of wsm against wslay's frame codec and against plain memcpy, on
 * the same in-memory streams, in one run. Repetitions go round-robin over the
 * contenders (starting with a different one each time), so that whatever
 * else the machine does hits all of them alike; the median is reported.
 *
 * Decoding: a stream of wire bytes (64 MiB by default, more than the
 * last-level cache a core sees) is delivered in 64 KiB reads, each copied
 * from the stream into a reusable read buffer, as recv() would. Every
 * payload byte is unmasked and every text byte validated. memcpy copies each
 * payload out of the read buffer: the physical reference, one more pass over
 * every byte (an in-place unmask can beat it on binary frames).
 *
 * Encoding: frames are written into a reusable output buffer (a socket's
 * send buffer), client frames masked, server frames as a header for
 * writev(header, payload).
 *
 * Every contender consumes what it produces (a few bytes of every chunk are
 * folded into a sink that is printed), and every contender is checked once
 * against the original payloads before anything is timed.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wsm.h"

#ifdef WSM_BENCH_HAVE_WSLAY
#include <sys/types.h>
#include <wslay/wslay.h>
#endif

#ifndef WSM_BENCH_CFLAGS
#define WSM_BENCH_CFLAGS "(unknown)"
#endif
#ifndef WSM_BENCH_WSLAY_VERSION
#define WSM_BENCH_WSLAY_VERSION "(version unknown)"
#endif

#define KIB ((size_t)1024)
#define MIB (KIB * KIB)
#define READ_SIZE (64 * KIB)
/* Bytes a decoder may leave unconsumed at the end of a read: at most a frame
 * header here (wsm promises WSM_RECV_HOLD_MAX in general). */
#define CARRY_MAX ((size_t)WSM_RECV_HOLD_MAX)
/* The sink takes the byte at every multiple of this offset in a message, and
 * the last byte: the same bytes whatever the chunking. */
#define FOLD_STRIDE ((size_t)4096)
#define FOLD_MUL UINT64_C(0x100000001B3)
#define MAX_REPS 101
#define MIN_SAMPLE_SECONDS 0.01

enum contender { C_MEMCPY, C_WSM, C_WSLAY, C_COUNT };
static const char *const contender_name[C_COUNT] = {"memcpy", "wsm", "wslay"};

enum kind { K_DECODE, K_ENC_CLIENT, K_ENC_SERVER };
enum content { T_BINARY, T_ASCII, T_MIXED, T_EMOJI };

struct workload {
  const char *name;
  enum kind kind;
  int masked; /* decoding: client-to-server frames */
  int text;
  enum content content;
  size_t payload;
};

static const struct workload workloads[] = {
    {"c2s-bin-64K", K_DECODE, 1, 0, T_BINARY, 64 * KIB},
    {"c2s-bin-1M", K_DECODE, 1, 0, T_BINARY, MIB},
    {"c2s-txt-16", K_DECODE, 1, 1, T_ASCII, 16},
    {"c2s-txt-125", K_DECODE, 1, 1, T_ASCII, 125},
    {"c2s-txt-64K-ascii", K_DECODE, 1, 1, T_ASCII, 64 * KIB},
    {"c2s-txt-64K-mixed", K_DECODE, 1, 1, T_MIXED, 64 * KIB},
    {"c2s-txt-64K-emoji", K_DECODE, 1, 1, T_EMOJI, 64 * KIB},
    {"s2c-bin-64K", K_DECODE, 0, 0, T_BINARY, 64 * KIB},
    {"s2c-bin-1M", K_DECODE, 0, 0, T_BINARY, MIB},
    {"s2c-txt-16", K_DECODE, 0, 1, T_ASCII, 16},
    {"s2c-txt-125", K_DECODE, 0, 1, T_ASCII, 125},
    {"s2c-txt-64K-ascii", K_DECODE, 0, 1, T_ASCII, 64 * KIB},
    {"s2c-txt-64K-mixed", K_DECODE, 0, 1, T_MIXED, 64 * KIB},
    {"s2c-txt-64K-emoji", K_DECODE, 0, 1, T_EMOJI, 64 * KIB},
    {"enc-client-16", K_ENC_CLIENT, 1, 0, T_BINARY, 16},
    {"enc-client-125", K_ENC_CLIENT, 1, 0, T_BINARY, 125},
    {"enc-client-64K", K_ENC_CLIENT, 1, 0, T_BINARY, 64 * KIB},
    {"enc-client-1M", K_ENC_CLIENT, 1, 0, T_BINARY, MIB},
    {"enc-server-16", K_ENC_SERVER, 0, 0, T_BINARY, 16},
    {"enc-server-125", K_ENC_SERVER, 0, 0, T_BINARY, 125},
    {"enc-server-64K", K_ENC_SERVER, 0, 0, T_BINARY, 64 * KIB},
    {"enc-server-1M", K_ENC_SERVER, 0, 0, T_BINARY, MIB},
};
#define WORKLOAD_COUNT (sizeof workloads / sizeof workloads[0])

struct options {
  size_t stream_bytes;
  int reps;
  int markdown;
  int wslay_staged;
  int cpu_time;
  int only; /* -1, or the one contender to time (for profiling) */
  const char *filter;
};

/* One workload's bytes. */
struct data {
  const struct workload *w;
  size_t frames;
  size_t header;    /* size of each frame's header */
  size_t frame;     /* header + payload */
  uint8_t *wire;    /* decoding: the stream; NULL when encoding */
  size_t wire_len;  /* bytes on the wire, what MB/s counts */
  uint8_t *plain;   /* the payloads, one after another */
  size_t plain_len;
};

/* Reusable buffers, shared by the contenders. */
struct buffers {
  uint8_t *rbuf; /* CARRY_MAX + READ_SIZE: a read, after leftover bytes */
  uint8_t *dst;  /* READ_SIZE: where memcpy puts payloads */
  uint8_t *out;  /* out_cap: encoder output */
  size_t out_cap;
};

/* Verification state: what the chunks of a decoded stream must be. */
struct check {
  const uint8_t *plain;
  size_t payload;
  size_t off;
  size_t msgs;
  int bad;
};

struct result {
  uint64_t sink;
  uint64_t msgs;
};

/* ---- small helpers -------------------------------------------------------- */

/* CLOCK_MONOTONIC by default; --cpu-time counts only the time this thread
 * ran, which keeps other processes' time slices out (not their effect on
 * the caches). */
static clockid_t bench_clock = CLOCK_MONOTONIC;

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(bench_clock, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* xorshift64*: fast, deterministic, good enough for test data and keys. */
static uint64_t rng_next(uint64_t *s) {
  uint64_t x = *s;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *s = x;
  return x * UINT64_C(2685821657736338717);
}

static void rng_fill(uint64_t *s, uint8_t *buf, size_t len) {
  while (len) {
    uint64_t r = rng_next(s);
    size_t n = len < 8 ? len : 8;
    memcpy(buf, &r, n);
    buf += n;
    len -= n;
  }
}

/* Mask keys for wsm (wsm_config.random) from the same sequence wslay gets. */
static int mask_random(void *ctx, uint8_t *buf, size_t len) {
  rng_fill(ctx, buf, len);
  return 0;
}

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) {
    fprintf(stderr, "bench: out of memory (%zu bytes)\n", n);
    exit(2);
  }
  return p;
}

static size_t put_utf8(uint8_t *p, uint32_t cp) {
  if (cp < 0x80) {
    p[0] = (uint8_t)cp;
    return 1;
  }
  if (cp < 0x800) {
    p[0] = (uint8_t)(0xC0 | (cp >> 6));
    p[1] = (uint8_t)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    p[0] = (uint8_t)(0xE0 | (cp >> 12));
    p[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    p[2] = (uint8_t)(0x80 | (cp & 0x3F));
    return 3;
  }
  p[0] = (uint8_t)(0xF0 | (cp >> 18));
  p[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
  p[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
  p[3] = (uint8_t)(0x80 | (cp & 0x3F));
  return 4;
}

/* One message's payload of exactly n bytes; text ends on a character
 * boundary (short tails are padded with ASCII letters). */
static void fill_payload(uint8_t *p, size_t n, enum content t, uint64_t *rng) {
  size_t i = 0;
  if (t == T_BINARY) {
    rng_fill(rng, p, n);
    return;
  }
  while (i < n) {
    uint64_t r = rng_next(rng);
    size_t left = n - i;
    uint32_t pick = (uint32_t)(r % 3);
    r >>= 8;
    if (t == T_ASCII) {
      p[i++] = (uint8_t)(0x20 + r % 95);
    } else if (t == T_EMOJI && left >= 4) {
      i += put_utf8(p + i, 0x1F300u + (uint32_t)(r % 0x800)); /* U+1F300-U+1FAFF */
    } else if (t == T_MIXED && pick == 2 && left >= 3) {
      i += put_utf8(p + i, 0x4E00u + (uint32_t)(r % 0x5200)); /* CJK U+4E00-U+9FFF */
    } else if (t == T_MIXED && left >= 2) {
      uint32_t cp = pick == 0 ? 0xC0u + (uint32_t)(r % 0x190)  /* Latin U+00C0-U+024F */
                              : 0x391u + (uint32_t)(r % 0x39); /* Greek U+0391-U+03C9 */
      i += put_utf8(p + i, cp);
    } else {
      p[i++] = (uint8_t)('a' + r % 26);
    }
  }
}

static size_t header_size(size_t payload, int masked) {
  size_t n = payload < 126 ? 2 : payload <= 0xFFFF ? 4 : 10;
  return masked ? n + 4 : n;
}

/* A final data frame's header, written independently of wsm's encoder so
 * that the check of wsm's decoder does not lean on wsm. */
static size_t put_header(uint8_t *p, unsigned opcode, size_t len,
                         const uint8_t *key) {
  size_t n = 0;
  uint8_t m = key ? 0x80 : 0;
  p[n++] = (uint8_t)(0x80u | opcode);
  if (len < 126) {
    p[n++] = (uint8_t)(m | len);
  } else if (len <= 0xFFFF) {
    p[n++] = (uint8_t)(m | 126);
    p[n++] = (uint8_t)(len >> 8);
    p[n++] = (uint8_t)len;
  } else {
    int s;
    p[n++] = (uint8_t)(m | 127);
    for (s = 56; s >= 0; s -= 8) p[n++] = (uint8_t)((uint64_t)len >> s);
  }
  if (key) {
    memcpy(p + n, key, 4);
    n += 4;
  }
  return n;
}

/* Check one encoded frame: final, binary, masked as asked, carrying payload.
 * Returns 0 when it is right. */
static int check_frame(const uint8_t *f, size_t flen, const uint8_t *payload,
                       size_t plen, int masked) {
  size_t n = 2, len, i;
  const uint8_t *key = NULL;
  if (flen < 2 || f[0] != (0x80u | WSM_OP_BINARY)) return -1;
  if ((f[1] >> 7) != (masked ? 1u : 0u)) return -1;
  len = f[1] & 0x7Fu;
  if (len == 126) {
    len = (size_t)f[2] << 8 | f[3];
    n += 2;
  } else if (len == 127) {
    len = 0;
    for (i = 0; i < 8; i++) len = len << 8 | f[2 + i];
    n += 8;
  }
  if (masked) {
    key = f + n;
    n += 4;
  }
  if (len != plen || n + len != flen) return -1;
  for (i = 0; i < len; i++)
    if ((uint8_t)(f[n + i] ^ (key ? key[i & 3] : 0)) != payload[i]) return -1;
  return 0;
}

static int make_data(struct data *d, const struct workload *w, size_t stream_bytes) {
  uint64_t rng = UINT64_C(0x9E3779B97F4A7C15) ^ w->payload ^ (uint64_t)w->content;
  int masked = w->kind == K_DECODE ? w->masked : w->kind == K_ENC_CLIENT;
  size_t k;
  memset(d, 0, sizeof *d);
  d->w = w;
  d->header = header_size(w->payload, masked);
  d->frame = d->header + w->payload;
  d->frames = stream_bytes / d->frame;
  if (d->frames == 0) d->frames = 1;
  d->wire_len = d->frames * d->frame;
  d->plain_len = d->frames * w->payload;
  d->plain = xmalloc(d->plain_len);
  for (k = 0; k < d->frames; k++)
    fill_payload(d->plain + k * w->payload, w->payload, w->content, &rng);
  if (w->kind != K_DECODE) return 0;
  d->wire = xmalloc(d->wire_len);
  for (k = 0; k < d->frames; k++) {
    uint8_t key[4], *f = d->wire + k * d->frame;
    const uint8_t *src = d->plain + k * w->payload;
    size_t i, h;
    rng_fill(&rng, key, 4);
    h = put_header(f, w->text ? WSM_OP_TEXT : WSM_OP_BINARY, w->payload,
                   w->masked ? key : NULL);
    for (i = 0; i < w->payload; i++)
      f[h + i] = (uint8_t)(src[i] ^ (w->masked ? key[i & 3] : 0));
  }
  return 0;
}

static void free_data(struct data *d) {
  free(d->wire);
  free(d->plain);
}

/* Fold the bytes at message offsets that are multiples of FOLD_STRIDE, and
 * the last byte, so that every contender's sink agrees however it chunks. */
static uint64_t fold_chunk(uint64_t s, const uint8_t *p, size_t n,
                           size_t msg_off, int end) {
  size_t o = (msg_off + FOLD_STRIDE - 1) / FOLD_STRIDE * FOLD_STRIDE;
  for (; o < msg_off + n; o += FOLD_STRIDE) s = s * FOLD_MUL + p[o - msg_off];
  if (end && n) s = s * FOLD_MUL + p[n - 1] + 1;
  return s;
}

static void check_chunk(struct check *ck, const uint8_t *p, size_t n, int begin,
                        int end) {
  if (begin != (ck->off % ck->payload == 0)) ck->bad = 1;
  if (n && memcmp(p, ck->plain + ck->off, n) != 0) ck->bad = 1;
  ck->off += n;
  if (end != (ck->off % ck->payload == 0)) ck->bad = 1;
  if (end) ck->msgs++;
}

/* ---- decoding --------------------------------------------------------------- */

static int decode_memcpy(const struct data *d, struct buffers *b,
                         struct check *ck, struct result *res) {
  const size_t fsize = d->frame, hsize = d->header, psize = d->w->payload;
  size_t pos = 0, k = 0;
  uint64_t sink = 0, msgs = 0;
  while (pos < d->wire_len) {
    size_t n = d->wire_len - pos;
    size_t w0 = pos, w1;
    if (n > READ_SIZE) n = READ_SIZE;
    memcpy(b->rbuf, d->wire + pos, n);
    w1 = pos + n;
    /* Copy out the part of each payload that lies in this read. */
    while (k < d->frames) {
      size_t ps = k * fsize + hsize, pe = ps + psize;
      size_t s = ps > w0 ? ps : w0, e = pe < w1 ? pe : w1;
      int end = pe <= w1;
      if (ps >= w1) break;
      memcpy(b->dst + (s - w0), b->rbuf + (s - w0), e - s);
      sink = fold_chunk(sink, b->dst + (s - w0), e - s, s - ps, end);
      if (ck && memcmp(b->dst + (s - w0), d->wire + s, e - s) != 0) ck->bad = 1;
      if (!end) break;
      msgs++;
      k++;
    }
    pos = w1;
  }
  if (ck) ck->msgs = msgs;
  res->sink = sink;
  res->msgs = msgs;
  return 0;
}

static int decode_wsm(const struct data *d, struct buffers *b, struct check *ck,
                      struct result *res) {
  struct wsm_config cfg;
  struct wsm_conn c;
  uint64_t rng = 1, sink = 0, msgs = 0;
  size_t pos = 0, carry = 0, msg_off = 0;
  uint8_t *rb = b->rbuf;

  /* Client-to-server frames are what a server receives. */
  wsm_config_init(&cfg, d->w->masked ? WSM_ROLE_SERVER : WSM_ROLE_CLIENT);
  cfg.random = mask_random;
  cfg.random_ctx = &rng;
  if (wsm_conn_init_open(&c, &cfg) != 0) return -1;

  while (pos < d->wire_len) {
    size_t n = d->wire_len - pos, len, off = 0;
    if (n > READ_SIZE) n = READ_SIZE;
    memcpy(rb + carry, d->wire + pos, n);
    pos += n;
    len = carry + n;
    while (off < len) {
      struct wsm_event ev;
      size_t used;
      int end, rc = wsm_conn_recv(&c, rb + off, len - off, &used, &ev);
      if (rc != 0) return rc;
      off += used;
      if (ev.type == WSM_EV_NONE) break; /* the rest needs more bytes */
      if (ev.type != WSM_EV_DATA) return -1;
      if (ev.flags & WSM_DATA_BEGIN) msg_off = 0;
      end = (ev.flags & WSM_DATA_END) != 0;
      sink = fold_chunk(sink, ev.data, ev.len, msg_off, end);
      msg_off += ev.len;
      msgs += (uint64_t)end;
      if (ck) check_chunk(ck, ev.data, ev.len, (ev.flags & WSM_DATA_BEGIN) != 0, end);
    }
    /* Present what was not consumed again, with the next read after it. */
    carry = len - off;
    if (carry > CARRY_MAX) return -1;
    memmove(rb, rb + off, carry);
  }
  if (carry) return -1;
  res->sink = sink;
  res->msgs = msgs;
  return 0;
}

#ifdef WSM_BENCH_HAVE_WSLAY
/* What wslay's callbacks read from and write to. */
struct wslay_io {
  const uint8_t *src; /* decoding: the stream */
  size_t src_len, src_pos;
  int staged;         /* copy 64 KiB reads into stage first, then into wslay */
  uint8_t *stage;
  size_t stage_len, stage_pos;
  uint64_t rng;       /* mask keys */
  uint8_t *out;       /* encoding, client: frames are copied here */
  size_t out_pos;
  int header_only;    /* encoding, server: keep the header, point at payload */
  int calls;
  uint8_t hdr[WSM_FRAME_HEADER_MAX];
  size_t hdr_len;
  const uint8_t *payload;
  size_t payload_len;
};

static ssize_t wslay_recv_cb(uint8_t *buf, size_t len, int flags, void *user) {
  struct wslay_io *io = user;
  size_t n;
  (void)flags;
  if (io->staged) {
    if (io->stage_pos == io->stage_len) {
      n = io->src_len - io->src_pos;
      if (n == 0) return 0; /* end of stream: wslay says WANT_READ */
      if (n > READ_SIZE) n = READ_SIZE;
      memcpy(io->stage, io->src + io->src_pos, n);
      io->src_pos += n;
      io->stage_len = n;
      io->stage_pos = 0;
    }
    n = io->stage_len - io->stage_pos;
    if (n > len) n = len;
    memcpy(buf, io->stage + io->stage_pos, n);
    io->stage_pos += n;
    return (ssize_t)n;
  }
  /* Straight into wslay's own buffer, as recv() on a socket would. */
  n = io->src_len - io->src_pos;
  if (n > len) n = len;
  if (n == 0) return 0;
  memcpy(buf, io->src + io->src_pos, n);
  io->src_pos += n;
  return (ssize_t)n;
}

static ssize_t wslay_send_cb(const uint8_t *data, size_t len, int flags,
                             void *user) {
  struct wslay_io *io = user;
  (void)flags;
  if (io->header_only) {
    /* Like filling an iovec for writev: the header is small and kept, the
     * payload is only pointed at. */
    if (io->calls++ == 0) {
      if (len > sizeof io->hdr) return -1;
      memcpy(io->hdr, data, len);
      io->hdr_len = len;
    } else {
      io->payload = data;
      io->payload_len = len;
    }
    return (ssize_t)len;
  }
  memcpy(io->out + io->out_pos, data, len);
  io->out_pos += len;
  return (ssize_t)len;
}

static int wslay_genmask_cb(uint8_t *buf, size_t len, void *user) {
  struct wslay_io *io = user;
  rng_fill(&io->rng, buf, len);
  return 0;
}

static const struct wslay_frame_callbacks wslay_cbs = {
    wslay_send_cb, wslay_recv_cb, wslay_genmask_cb};

static int decode_wslay(const struct data *d, struct buffers *b, struct check *ck,
                        struct result *res, int staged) {
  struct wslay_io io;
  wslay_frame_context_ptr ctx;
  struct wsm_utf8 utf8;
  uint64_t sink = 0, msgs = 0, frame_off = 0;
  int text = 0, rc = 0;

  memset(&io, 0, sizeof io);
  io.src = d->wire;
  io.src_len = d->wire_len;
  io.staged = staged;
  io.stage = b->rbuf;
  if (wslay_frame_context_init(&ctx, &wslay_cbs, &io) != 0) return -1;
  wsm_utf8_init(&utf8);
  for (;;) {
    struct wslay_frame_iocb iocb;
    ssize_t r = wslay_frame_recv(ctx, &iocb);
    size_t n;
    int begin, end;
    if (r == WSLAY_ERR_WANT_READ) {
      if (io.src_pos == io.src_len && io.stage_pos == io.stage_len) break;
      continue;
    }
    if (r < 0) {
      rc = -1;
      break;
    }
    n = (size_t)r;
    begin = frame_off == 0;
    if (begin) {
      /* One frame per message: text frames start a text message. */
      text = iocb.opcode == WSLAY_TEXT_FRAME;
      wsm_utf8_init(&utf8);
    }
    /* The same validator as wsm's, so that text costs both the same. */
    if (text && n && wsm_utf8_feed(&utf8, iocb.data, n, NULL) != 0) {
      rc = -1;
      break;
    }
    frame_off += n;
    end = frame_off == iocb.payload_length;
    if (end && text && wsm_utf8_finish(&utf8) != 0) {
      rc = -1;
      break;
    }
    sink = fold_chunk(sink, iocb.data, n, (size_t)(frame_off - n), end);
    if (ck) check_chunk(ck, iocb.data, n, begin, end);
    if (end) {
      frame_off = 0;
      msgs++;
    }
  }
  wslay_frame_context_free(ctx);
  if (rc == 0 && frame_off != 0) rc = -1;
  res->sink = sink;
  res->msgs = msgs;
  return rc;
}
#endif

/* ---- encoding ----------------------------------------------------------------- */

/* Where the next frame goes: the output buffer is emptied (as if written to
 * the socket) when the frame would not fit. */
static size_t out_slot(const struct buffers *b, size_t pos, size_t need) {
  return b->out_cap - pos < need ? 0 : pos;
}

static int encode_memcpy(const struct data *d, struct buffers *b, struct check *ck,
                         struct result *res) {
  const size_t psize = d->w->payload;
  size_t k, pos = 0;
  uint64_t sink = 0;
  for (k = 0; k < d->frames; k++) {
    const uint8_t *src = d->plain + k * psize;
    pos = out_slot(b, pos, psize);
    memcpy(b->out + pos, src, psize);
    sink = sink * FOLD_MUL + b->out[pos + psize - 1];
    if (ck && memcmp(b->out + pos, src, psize) != 0) ck->bad = 1;
    pos += psize;
  }
  res->sink = sink;
  res->msgs = d->frames;
  return 0;
}

static int encode_wsm(const struct data *d, struct buffers *b, struct check *ck,
                      struct result *res) {
  const size_t psize = d->w->payload;
  const int client = d->w->kind == K_ENC_CLIENT;
  struct wsm_config cfg;
  struct wsm_conn c;
  uint64_t rng = 1, sink = 0;
  size_t k, pos = 0;

  wsm_config_init(&cfg, client ? WSM_ROLE_CLIENT : WSM_ROLE_SERVER);
  cfg.random = mask_random;
  cfg.random_ctx = &rng;
  if (wsm_conn_init_open(&c, &cfg) != 0) return -1;
  for (k = 0; k < d->frames; k++) {
    const uint8_t *src = d->plain + k * psize;
    if (client) {
      size_t written;
      pos = out_slot(b, pos, psize + WSM_FRAME_HEADER_MAX);
      if (wsm_conn_send(&c, WSM_OP_BINARY, src, psize, WSM_SEND_FIN, b->out + pos,
                        b->out_cap - pos, &written) != 0)
        return -1;
      sink = sink * FOLD_MUL + b->out[pos + written - 1];
      if (ck && check_frame(b->out + pos, written, src, psize, 1) != 0) ck->bad = 1;
      pos += written;
    } else {
      uint8_t hdr[WSM_FRAME_HEADER_MAX];
      size_t hdr_len;
      if (wsm_conn_send_header(&c, WSM_OP_BINARY, psize, WSM_SEND_FIN, hdr,
                               &hdr_len, NULL) != 0)
        return -1;
      /* writev(hdr, src) would follow. */
      sink = sink * FOLD_MUL + (uint64_t)(hdr[hdr_len - 1] ^ src[0]);
      if (ck) {
        memcpy(b->out, hdr, hdr_len);
        memcpy(b->out + hdr_len, src, psize);
        if (check_frame(b->out, hdr_len + psize, src, psize, 0) != 0) ck->bad = 1;
      }
    }
  }
  res->sink = sink;
  res->msgs = d->frames;
  return 0;
}

#ifdef WSM_BENCH_HAVE_WSLAY
static int encode_wslay(const struct data *d, struct buffers *b, struct check *ck,
                        struct result *res) {
  const size_t psize = d->w->payload;
  const int client = d->w->kind == K_ENC_CLIENT;
  struct wslay_io io;
  wslay_frame_context_ptr ctx;
  uint64_t sink = 0;
  size_t k;
  int rc = 0;

  memset(&io, 0, sizeof io);
  io.rng = 1;
  io.out = b->out;
  io.header_only = !client;
  if (wslay_frame_context_init(&ctx, &wslay_cbs, &io) != 0) return -1;
  for (k = 0; k < d->frames; k++) {
    const uint8_t *src = d->plain + k * psize;
    struct wslay_frame_iocb iocb;
    size_t pos = 0;
    memset(&iocb, 0, sizeof iocb);
    iocb.fin = 1;
    iocb.opcode = WSLAY_BINARY_FRAME;
    iocb.payload_length = psize;
    iocb.mask = (uint8_t)client;
    iocb.data = src;
    iocb.data_length = psize;
    if (client) {
      io.out_pos = out_slot(b, io.out_pos, psize + WSM_FRAME_HEADER_MAX);
      pos = io.out_pos;
    } else {
      io.calls = 0;
    }
    if (wslay_frame_send(ctx, &iocb) != (ssize_t)psize) {
      rc = -1;
      break;
    }
    if (client) {
      sink = sink * FOLD_MUL + b->out[io.out_pos - 1];
      if (ck && check_frame(b->out + pos, io.out_pos - pos, src, psize, 1) != 0)
        ck->bad = 1;
    } else {
      sink = sink * FOLD_MUL + (uint64_t)(io.hdr[io.hdr_len - 1] ^ io.payload[0]);
      if (ck) {
        if (io.payload != src || io.payload_len != psize) ck->bad = 1;
        memcpy(b->out, io.hdr, io.hdr_len);
        memcpy(b->out + io.hdr_len, io.payload, psize);
        if (check_frame(b->out, io.hdr_len + psize, src, psize, 0) != 0) ck->bad = 1;
      }
    }
  }
  wslay_frame_context_free(ctx);
  res->sink = sink;
  res->msgs = d->frames;
  return rc;
}
#endif

/* ---- driver ------------------------------------------------------------------- */

static int have_contender(enum contender c) {
#ifdef WSM_BENCH_HAVE_WSLAY
  (void)c;
  return 1;
#else
  return c != C_WSLAY;
#endif
}

static int run_one(enum contender c, const struct data *d, struct buffers *b,
                   struct check *ck, struct result *res, const struct options *o) {
  (void)o;
  memset(res, 0, sizeof *res);
  if (d->w->kind == K_DECODE) {
    switch (c) {
    case C_MEMCPY: return decode_memcpy(d, b, ck, res);
    case C_WSM: return decode_wsm(d, b, ck, res);
#ifdef WSM_BENCH_HAVE_WSLAY
    case C_WSLAY: return decode_wslay(d, b, ck, res, o->wslay_staged);
#endif
    default: return -1;
    }
  }
  switch (c) {
  case C_MEMCPY: return encode_memcpy(d, b, ck, res);
  case C_WSM: return encode_wsm(d, b, ck, res);
#ifdef WSM_BENCH_HAVE_WSLAY
  case C_WSLAY: return encode_wslay(d, b, ck, res);
#endif
  default: return -1;
  }
}

/* Decode one text frame holding invalid UTF-8 (a lone continuation byte):
 * both decoders must refuse it, or they are not doing the work. */
static int check_rejects_bad_text(struct buffers *b, const struct options *o) {
  struct data d;
  struct workload w = {"bad-utf8", K_DECODE, 1, 1, T_ASCII, 125};
  struct result res;
  int c, failures = 0;
  uint8_t key[4] = {0x12, 0x34, 0x56, 0x78};
  memset(&d, 0, sizeof d);
  d.w = &w;
  d.frames = 1;
  d.header = header_size(w.payload, 1);
  d.frame = d.wire_len = d.header + w.payload;
  d.plain = xmalloc(w.payload);
  d.plain_len = w.payload;
  d.wire = xmalloc(d.wire_len);
  memset(d.plain, 'a', w.payload);
  d.plain[60] = 0x80;
  put_header(d.wire, WSM_OP_TEXT, w.payload, key);
  for (size_t i = 0; i < w.payload; i++)
    d.wire[d.header + i] = (uint8_t)(d.plain[i] ^ key[i & 3]);
  for (c = C_WSM; c < C_COUNT; c++) {
    if (!have_contender((enum contender)c)) continue;
    if (run_one((enum contender)c, &d, b, NULL, &res, o) == 0) {
      fprintf(stderr, "bench: %s accepted invalid UTF-8\n", contender_name[c]);
      failures++;
    }
  }
  free_data(&d);
  return failures;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void cpu_model(char *buf, size_t cap) {
  FILE *f = fopen("/proc/cpuinfo", "r");
  char line[512];
  int cpus = 0;
  snprintf(buf, cap, "unknown CPU");
  if (!f) return;
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "model name", 10) == 0) {
      char *v = strchr(line, ':');
      if (v && cpus++ == 0) {
        v += 1 + (v[1] == ' ');
        v[strcspn(v, "\n")] = 0;
        snprintf(buf, cap, "%s", v);
      }
    }
  }
  fclose(f);
  if (cpus > 1) {
    size_t len = strlen(buf);
    snprintf(buf + len, cap - len, " (%d logical CPUs)", cpus);
  }
}

static const char *compiler_name(void) {
#if defined(__clang__)
  return "clang " __clang_version__;
#elif defined(__GNUC__)
  return "gcc " __VERSION__;
#else
  return "unknown compiler";
#endif
}

static void format_rate(char *buf, size_t cap, double per_second) {
  if (per_second >= 1e6) snprintf(buf, cap, "%.2fM", per_second / 1e6);
  else snprintf(buf, cap, "%.0fk", per_second / 1e3);
}

static void format_ratio(char *buf, size_t cap, double a, double b) {
  if (a > 0 && b > 0) snprintf(buf, cap, "%.2f", a / b);
  else snprintf(buf, cap, "-");
}

static void print_header(const struct options *o) {
  char cpu[256];
  cpu_model(cpu, sizeof cpu);
  if (o->markdown) {
    printf("Machine: %s; %s; flags `%s`.\n\n", cpu, compiler_name(), WSM_BENCH_CFLAGS);
    printf("Streams of %zu MiB in 64 KiB reads; median of %d repetitions, "
           "contenders interleaved; %s time. MB/s counts wire bytes (10^6 B/s).\n\n",
           o->stream_bytes / MIB, o->reps, o->cpu_time ? "thread CPU" : "wall-clock");
#ifdef WSM_BENCH_HAVE_WSLAY
    printf("wslay %s: frame API (wslay_frame_recv/_send), %s; its text is "
           "validated with wsm_utf8_feed, the same validator as wsm's.\n\n",
           WSM_BENCH_WSLAY_VERSION,
           o->wslay_staged ? "fed from the 64 KiB read buffer through its recv callback"
                           : "its recv callback copies the stream straight into its own 4 KiB buffer");
#endif
    printf("| workload | memcpy MB/s | wsm MB/s | wslay MB/s | wsm/memcpy | "
           "wslay/memcpy | wsm/wslay | wsm msg/s | wslay msg/s |\n");
    printf("|---|--:|--:|--:|--:|--:|--:|--:|--:|\n");
  } else {
    printf("machine:  %s\ncompiler: %s\nflags:    %s\n", cpu, compiler_name(),
           WSM_BENCH_CFLAGS);
    printf("streams:  %zu MiB, 64 KiB reads, %d repetitions (median), interleaved; %s\n",
           o->stream_bytes / MIB, o->reps,
           o->cpu_time ? "thread CPU time" : "wall-clock time");
#ifdef WSM_BENCH_HAVE_WSLAY
    printf("wslay:    %s, frame API; text validated with wsm_utf8_feed (same cost); "
           "reads %s\n",
           WSM_BENCH_WSLAY_VERSION,
           o->wslay_staged ? "staged through the 64 KiB read buffer"
                           : "straight from the stream into its 4 KiB buffer");
#else
    printf("wslay:    not built (libwslay-dev missing)\n");
#endif
    printf("MB/s = 10^6 wire bytes per second; spread = (max-min)/median, worst "
           "contender\n\n");
    printf("%-18s %9s %9s %9s %7s %7s %7s %9s %9s %6s\n", "workload", "memcpy",
           "wsm", "wslay", "wsm/", "wslay/", "wsm/", "wsm", "wslay", "spread");
    printf("%-18s %9s %9s %9s %7s %7s %7s %9s %9s %6s\n", "", "MB/s", "MB/s",
           "MB/s", "memcpy", "memcpy", "wslay", "msg/s", "msg/s", "");
  }
}

static int bench_workload(const struct workload *w, struct buffers *b,
                          const struct options *o, uint64_t sinks[C_COUNT]) {
  static double times[C_COUNT][MAX_REPS];
  double mbs[C_COUNT] = {0}, msgs_per_s[C_COUNT] = {0}, spread = 0;
  uint64_t reference[C_COUNT];
  int inner[C_COUNT];
  struct data d;
  struct result res;
  int c, r;
  char cell[C_COUNT][32], ratio[3][32], rate[2][32];

  make_data(&d, w, o->stream_bytes);

  /* Correctness, once, before any timing. */
  for (c = 0; c < C_COUNT; c++) {
    struct check ck;
    if (!have_contender((enum contender)c)) continue;
    memset(&ck, 0, sizeof ck);
    ck.plain = d.plain;
    ck.payload = w->payload;
    if (run_one((enum contender)c, &d, b, &ck, &res, o) != 0 || ck.bad ||
        res.msgs != d.frames || (w->kind == K_DECODE && c != C_MEMCPY &&
                                 (ck.msgs != d.frames || ck.off != d.plain_len))) {
      fprintf(stderr, "bench: %s: %s decoded or encoded wrongly\n", w->name,
              contender_name[c]);
      free_data(&d);
      return -1;
    }
    reference[c] = res.sink;
  }
  /* wsm and wslay see the same bytes (decoders) and make the same frames
   * from the same mask keys (encoders): their sinks must agree. */
  if (have_contender(C_WSLAY) && reference[C_WSM] != reference[C_WSLAY]) {
    fprintf(stderr, "bench: %s: wsm and wslay disagree\n", w->name);
    free_data(&d);
    return -1;
  }

  /* A run shorter than MIN_SAMPLE_SECONDS (a header-only encoder does not
   * touch the payload) is repeated within each sample, so that the clock's
   * granularity and one-off stalls do not decide the result. */
  for (c = 0; c < C_COUNT; c++) {
    double t0, t1;
    inner[c] = 1;
    if (!have_contender((enum contender)c) || (o->only >= 0 && c != o->only)) continue;
    t0 = now_seconds();
    if (run_one((enum contender)c, &d, b, NULL, &res, o) != 0) break;
    t1 = now_seconds();
    if (t1 - t0 < MIN_SAMPLE_SECONDS)
      inner[c] = t1 > t0 ? (int)(MIN_SAMPLE_SECONDS / (t1 - t0)) + 1 : 1000;
    if (inner[c] > 100000) inner[c] = 100000;
  }

  for (r = 0; r < o->reps; r++) {
    for (c = 0; c < C_COUNT; c++) {
      enum contender who = (enum contender)((r + c) % C_COUNT);
      double t0, t1;
      int i;
      if (!have_contender(who)) continue;
      if (o->only >= 0 && (int)who != o->only) {
        times[who][r] = 0;
        continue;
      }
      t0 = now_seconds();
      for (i = 0; i < inner[who]; i++) {
        if (run_one(who, &d, b, NULL, &res, o) != 0) {
          fprintf(stderr, "bench: %s: %s failed while timed\n", w->name,
                  contender_name[who]);
          free_data(&d);
          return -1;
        }
      }
      t1 = now_seconds();
      times[who][r] = (t1 - t0) / inner[who];
      if (res.sink != reference[who]) {
        fprintf(stderr, "bench: %s: %s gave a different result\n", w->name,
                contender_name[who]);
        free_data(&d);
        return -1;
      }
      sinks[who] = sinks[who] * FOLD_MUL + res.sink;
    }
  }

  for (c = 0; c < C_COUNT; c++) {
    double lo, hi, med;
    if (!have_contender((enum contender)c)) {
      snprintf(cell[c], sizeof cell[c], "-");
      continue;
    }
    if (o->only >= 0 && c != o->only) {
      snprintf(cell[c], sizeof cell[c], "-");
      continue;
    }
    med = median(times[c], o->reps); /* sorts */
    lo = times[c][0];
    hi = times[c][o->reps - 1];
    mbs[c] = (double)d.wire_len / med / 1e6;
    msgs_per_s[c] = (double)d.frames / med;
    if (med > 0 && (hi - lo) / med > spread) spread = (hi - lo) / med;
    snprintf(cell[c], sizeof cell[c], "%.0f", mbs[c]);
  }
  format_ratio(ratio[0], sizeof ratio[0], mbs[C_WSM], mbs[C_MEMCPY]);
  format_ratio(ratio[1], sizeof ratio[1], mbs[C_WSLAY], mbs[C_MEMCPY]);
  format_ratio(ratio[2], sizeof ratio[2], mbs[C_WSM], mbs[C_WSLAY]);
  if (w->payload <= 125 || w->kind == K_ENC_SERVER) {
    format_rate(rate[0], sizeof rate[0], msgs_per_s[C_WSM]);
    if (have_contender(C_WSLAY)) format_rate(rate[1], sizeof rate[1], msgs_per_s[C_WSLAY]);
    else snprintf(rate[1], sizeof rate[1], "-");
  } else {
    snprintf(rate[0], sizeof rate[0], "-");
    snprintf(rate[1], sizeof rate[1], "-");
  }
  if (o->markdown)
    printf("| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", w->name, cell[0],
           cell[1], cell[2], ratio[0], ratio[1], ratio[2], rate[0], rate[1]);
  else
    printf("%-18s %9s %9s %9s %7s %7s %7s %9s %9s %5.0f%%\n", w->name, cell[0],
           cell[1], cell[2], ratio[0], ratio[1], ratio[2], rate[0], rate[1],
           spread * 100);
  fflush(stdout);
  free_data(&d);
  return 0;
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: wsm_bench [--reps N] [--quick] [--filter NAME] [--markdown]\n"
          "                 [--mib N] [--wslay-staged] [--cpu-time]\n"
          "                 [--only NAME] [--list]\n"
          "  --reps N        repetitions per contender (default 7, median reported)\n"
          "  --quick         8 MiB streams and 3 repetitions, for smoke runs\n"
          "  --filter NAME   only workloads whose name contains NAME\n"
          "  --markdown      print a Markdown table\n"
          "  --mib N         stream size in MiB (default 64)\n"
          "  --wslay-staged  feed wslay from the 64 KiB read buffer (an extra copy\n"
          "                  into its 4 KiB buffer) instead of straight from the stream\n"
          "  --only NAME     time only memcpy, wsm or wslay (for a profiler)\n"
          "  --cpu-time      time with CLOCK_THREAD_CPUTIME_ID instead of CLOCK_MONOTONIC\n"
          "                  (leaves out time slices taken by other processes)\n"
          "  --list          list the workloads\n");
}

int main(int argc, char **argv) {
  struct options o;
  struct buffers b;
  uint64_t sinks[C_COUNT] = {0};
  size_t i, max_payload = 0;
  int a, ran = 0, failed = 0;

  memset(&o, 0, sizeof o);
  o.only = -1;
  o.stream_bytes = 64 * MIB;
  o.reps = 7;
  for (a = 1; a < argc; a++) {
    const char *arg = argv[a];
    if (strcmp(arg, "--reps") == 0 && a + 1 < argc) {
      o.reps = atoi(argv[++a]);
    } else if (strcmp(arg, "--quick") == 0) {
      o.stream_bytes = 8 * MIB;
      o.reps = 3;
    } else if (strcmp(arg, "--filter") == 0 && a + 1 < argc) {
      o.filter = argv[++a];
    } else if (strcmp(arg, "--markdown") == 0) {
      o.markdown = 1;
    } else if (strcmp(arg, "--mib") == 0 && a + 1 < argc) {
      long mib = atol(argv[++a]);
      if (mib < 1 || mib > 4096) {
        fprintf(stderr, "bench: --mib wants 1..4096\n");
        return 2;
      }
      o.stream_bytes = (size_t)mib * MIB;
    } else if (strcmp(arg, "--only") == 0 && a + 1 < argc) {
      const char *name = argv[++a];
      for (o.only = 0; o.only < C_COUNT; o.only++)
        if (strcmp(name, contender_name[o.only]) == 0) break;
      if (o.only == C_COUNT) {
        fprintf(stderr, "bench: --only wants memcpy, wsm or wslay\n");
        return 2;
      }
    } else if (strcmp(arg, "--cpu-time") == 0) {
      o.cpu_time = 1;
      bench_clock = CLOCK_THREAD_CPUTIME_ID;
    } else if (strcmp(arg, "--wslay-staged") == 0) {
      o.wslay_staged = 1;
    } else if (strcmp(arg, "--list") == 0) {
      for (i = 0; i < WORKLOAD_COUNT; i++) printf("%s\n", workloads[i].name);
      return 0;
    } else if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      usage(stdout);
      return 0;
    } else {
      usage(stderr);
      return 2;
    }
  }
  if (o.reps < 1 || o.reps > MAX_REPS) {
    fprintf(stderr, "bench: --reps wants 1..%d\n", MAX_REPS);
    return 2;
  }

  for (i = 0; i < WORKLOAD_COUNT; i++)
    if (workloads[i].payload > max_payload) max_payload = workloads[i].payload;
  b.rbuf = xmalloc(CARRY_MAX + READ_SIZE);
  b.dst = xmalloc(READ_SIZE);
  b.out_cap = max_payload + WSM_FRAME_HEADER_MAX;
  b.out = xmalloc(b.out_cap);
  /* Touch the buffers so that page faults stay out of the first timing. */
  memset(b.rbuf, 0, CARRY_MAX + READ_SIZE);
  memset(b.dst, 0, READ_SIZE);
  memset(b.out, 0, b.out_cap);

  for (i = 0; i < WORKLOAD_COUNT; i++)
    if (!o.filter || strstr(workloads[i].name, o.filter)) ran++;
  if (!ran) {
    fprintf(stderr, "bench: no workload matches \"%s\" (--list shows them)\n", o.filter);
    return 2;
  }
  if (check_rejects_bad_text(&b, &o) != 0) return 1;
  print_header(&o);
  for (i = 0; i < WORKLOAD_COUNT; i++) {
    if (o.filter && !strstr(workloads[i].name, o.filter)) continue;
    if (bench_workload(&workloads[i], &b, &o, sinks) != 0) failed++;
  }
  printf("%ssinks: memcpy %016llx, wsm %016llx, wslay %016llx%s\n",
         o.markdown ? "\n<!-- " : "\n", (unsigned long long)sinks[C_MEMCPY],
         (unsigned long long)sinks[C_WSM], (unsigned long long)sinks[C_WSLAY],
         o.markdown ? " -->" : "");
  free(b.rbuf);
  free(b.dst);
  free(b.out);
  return failed ? 1 : 0;
}
