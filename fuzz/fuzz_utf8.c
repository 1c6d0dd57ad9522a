/* SPDX-License-Identifier: MIT */
/*
 * Harness: lib/utf8.c against the reference decoder in fuzz_common.h
 * (fz_ref_utf8, code point by code point, written apart from the library).
 *
 * Input: 3 control bytes, then the text. Byte 0 chooses how the text is fed
 * besides whole: in 1 to 3 pieces cut where bytes 1 and 2 say, or byte by
 * byte, and at which address alignment it lies. Every way must give the
 * reference's verdict and first invalid offset (the piece that holds it
 * reports it as *valid_len; earlier pieces report their whole length, later
 * ones fail at 0), and wsm_utf8_finish / wsm_utf8_check must agree with
 * "complete" (the text does not end inside a character).
 */
#include "fuzz_common.h"

/* Feed text in pieces ending at the offsets in cuts[] (ascending, the last
 * equal to len) and compare every step with the reference's answer. */
static void feed_pieces(const uint8_t *text, size_t len, const size_t *cuts,
                        size_t ncuts, size_t bad, int complete) {
  struct wsm_utf8 v, w;
  size_t start = 0, i;
  wsm_utf8_init(&v);
  wsm_utf8_init(&w);
  for (i = 0; i < ncuts; i++) {
    size_t end = cuts[i], vl = (size_t)-1;
    int rc = wsm_utf8_feed(&v, text + start, end - start, &vl);
    /* The same without asking for the offset. */
    FZ_CHECK(wsm_utf8_feed(&w, text + start, end - start, NULL) == rc);
    if (bad < start) {
      FZ_CHECK(rc == WSM_E_INVALID_UTF8 && vl == 0); /* stays invalid */
    } else if (bad < end) {
      FZ_CHECK(rc == WSM_E_INVALID_UTF8 && vl == bad - start);
    } else {
      FZ_CHECK(rc == 0 && vl == end - start);
    }
    start = end;
  }
  FZ_CHECK(start == len);
  if (bad < len || !complete) {
    FZ_CHECK(wsm_utf8_finish(&v) == WSM_E_INVALID_UTF8);
  } else {
    FZ_CHECK(wsm_utf8_finish(&v) == 0);
  }
  /* Feeding nothing changes nothing. */
  {
    size_t vl = (size_t)-1;
    int rc = wsm_utf8_feed(&v, NULL, 0, &vl);
    FZ_CHECK(vl == 0);
    FZ_CHECK(rc == (bad < len ? WSM_E_INVALID_UTF8 : 0));
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct fz_reader r;
  uint8_t mode, c1, c2;
  size_t len, bad, cuts[3], a, b, offset, i;
  uint8_t *copy;
  const uint8_t *text;
  int complete;

  r.p = data;
  r.n = size;
  mode = fz_u8(&r);
  c1 = fz_u8(&r);
  c2 = fz_u8(&r);
  len = r.n;
  /* Place the text at a chosen misalignment, in a block that ends exactly
   * where it does. */
  offset = mode >> 4 & 7u;
  copy = (uint8_t *)malloc(offset + len + 1);
  FZ_CHECK(copy != NULL);
  memset(copy, 0xFF, offset);
  if (len) memcpy(copy + offset, r.p, len);
  text = copy + offset;

  bad = fz_ref_utf8(text, len, &complete);
  FZ_CHECK(bad <= len);

  /* Whole. */
  cuts[0] = len;
  feed_pieces(text, len, cuts, 1, bad, complete);
  FZ_CHECK(wsm_utf8_check(text, len) == (bad == len && complete ? 0 : WSM_E_INVALID_UTF8));

  /* Two or three pieces. */
  a = len * c1 / 256;
  b = len * c2 / 256;
  if (a > b) {
    size_t t = a;
    a = b;
    b = t;
  }
  if ((mode & 3u) == 1) {
    cuts[0] = a;
    cuts[1] = len;
    feed_pieces(text, len, cuts, 2, bad, complete);
  } else {
    cuts[0] = a;
    cuts[1] = b;
    cuts[2] = len;
    feed_pieces(text, len, cuts, 3, bad, complete);
  }

  /* Byte by byte (short texts always, longer ones when asked). */
  if ((mode & 0x80u) || len <= 64) {
    struct wsm_utf8 v;
    wsm_utf8_init(&v);
    for (i = 0; i < len; i++) {
      size_t vl = (size_t)-1;
      int rc = wsm_utf8_feed(&v, text + i, 1, &vl);
      if (i < bad) FZ_CHECK(rc == 0 && vl == 1);
      else FZ_CHECK(rc == WSM_E_INVALID_UTF8 && vl == 0);
    }
    FZ_CHECK(wsm_utf8_finish(&v) == (bad == len && complete ? 0 : WSM_E_INVALID_UTF8));
  }

  free(copy);
  return 0;
}
