/* SPDX-License-Identifier: MIT */
/*
 * Incremental UTF-8 validation (RFC 3629 section 4) as a deterministic
 * automaton over byte classes. It rejects at the first byte that no valid
 * sequence could contain, which is what fail-fast text handling needs
 * (overlongs, surrogates and code points above U+10FFFF are caught at their
 * second byte). ASCII runs are skipped a word at a time.
 */
#include "wsm_internal.h"

/* Byte classes: which bytes behave alike in every state. */
enum {
  C_ASCII,   /* 00-7F */
  C_CONT_LO, /* 80-8F */
  C_CONT_MI, /* 90-9F */
  C_CONT_HI, /* A0-BF */
  C_BAD,     /* C0-C1, F5-FF: never in UTF-8 */
  C_LEAD2,   /* C2-DF */
  C_E0,      /* E0: second byte A0-BF (no overlongs) */
  C_LEAD3,   /* E1-EC, EE-EF */
  C_ED,      /* ED: second byte 80-9F (no surrogates) */
  C_F0,      /* F0: second byte 90-BF (no overlongs) */
  C_LEAD4,   /* F1-F3 */
  C_F4,      /* F4: second byte 80-8F (nothing above U+10FFFF) */
  C_COUNT
};

/* States; ACCEPT and REJECT match WSM_UTF8_ACCEPT / WSM_UTF8_REJECT. */
enum {
  S_ACCEPT, /* between characters */
  S_REJECT,
  S_NEED1,  /* one continuation byte left */
  S_NEED2,  /* two left */
  S_NEED3,  /* three left */
  S_E0,     /* after E0 */
  S_ED,     /* after ED */
  S_F0,     /* after F0 */
  S_F4,     /* after F4 */
  S_COUNT
};

static const uint8_t byte_class[256] = {
#define R16(c) c, c, c, c, c, c, c, c, c, c, c, c, c, c, c, c
    R16(C_ASCII), R16(C_ASCII), R16(C_ASCII), R16(C_ASCII),
    R16(C_ASCII), R16(C_ASCII), R16(C_ASCII), R16(C_ASCII),
    R16(C_CONT_LO), R16(C_CONT_MI), R16(C_CONT_HI), R16(C_CONT_HI),
    C_BAD, C_BAD, C_LEAD2, C_LEAD2, C_LEAD2, C_LEAD2, C_LEAD2, C_LEAD2,
    C_LEAD2, C_LEAD2, C_LEAD2, C_LEAD2, C_LEAD2, C_LEAD2, C_LEAD2, C_LEAD2,
    R16(C_LEAD2),
    C_E0, C_LEAD3, C_LEAD3, C_LEAD3, C_LEAD3, C_LEAD3, C_LEAD3, C_LEAD3,
    C_LEAD3, C_LEAD3, C_LEAD3, C_LEAD3, C_LEAD3, C_ED, C_LEAD3, C_LEAD3,
    C_F0, C_LEAD4, C_LEAD4, C_LEAD4, C_F4, C_BAD, C_BAD, C_BAD,
    C_BAD, C_BAD, C_BAD, C_BAD, C_BAD, C_BAD, C_BAD, C_BAD,
#undef R16
};

#define X S_REJECT
static const uint8_t transition[S_COUNT][C_COUNT] = {
    /*          ASCII     LO       MI       HI       BAD LEAD2    E0    LEAD3    ED    F0    LEAD4    F4 */
    [S_ACCEPT] = {S_ACCEPT, X, X, X, X, S_NEED1, S_E0, S_NEED2, S_ED, S_F0, S_NEED3, S_F4},
    [S_REJECT] = {X, X, X, X, X, X, X, X, X, X, X, X},
    [S_NEED1] = {X, S_ACCEPT, S_ACCEPT, S_ACCEPT, X, X, X, X, X, X, X, X},
    [S_NEED2] = {X, S_NEED1, S_NEED1, S_NEED1, X, X, X, X, X, X, X, X},
    [S_NEED3] = {X, S_NEED2, S_NEED2, S_NEED2, X, X, X, X, X, X, X, X},
    [S_E0] = {X, X, X, S_NEED1, X, X, X, X, X, X, X, X},
    [S_ED] = {X, S_NEED1, S_NEED1, X, X, X, X, X, X, X, X, X},
    [S_F0] = {X, X, S_NEED2, S_NEED2, X, X, X, X, X, X, X, X},
    [S_F4] = {X, S_NEED2, X, X, X, X, X, X, X, X, X, X},
};
#undef X

void wsm_utf8_init(struct wsm_utf8 *v) { v->state = S_ACCEPT; }

/* 8 bytes of ASCII at p? memcpy keeps the load legal at any alignment. */
static int word_is_ascii(const uint8_t *p) {
  uint64_t w;
  memcpy(&w, p, sizeof w);
  return (w & UINT64_C(0x8080808080808080)) == 0;
}

int wsm_utf8_feed(struct wsm_utf8 *v, const uint8_t *data, size_t len,
                  size_t *valid_len) {
  uint32_t state = v->state;
  size_t i = 0;
  if (state == S_REJECT) {
    if (valid_len) *valid_len = 0;
    return WSM_E_INVALID_UTF8;
  }
  while (i < len) {
    if (state == S_ACCEPT) {
      while (len - i >= 16 && word_is_ascii(data + i) && word_is_ascii(data + i + 8))
        i += 16;
      while (i < len && data[i] < 0x80) i++;
      if (i == len) break;
    }
    state = transition[state][byte_class[data[i]]];
    if (state == S_REJECT) {
      v->state = state;
      if (valid_len) *valid_len = i;
      return WSM_E_INVALID_UTF8;
    }
    i++;
  }
  v->state = state;
  if (valid_len) *valid_len = len;
  return 0;
}

int wsm_utf8_finish(const struct wsm_utf8 *v) {
  return v->state == S_ACCEPT ? 0 : WSM_E_INVALID_UTF8;
}

int wsm_utf8_check(const uint8_t *data, size_t len) {
  struct wsm_utf8 v;
  wsm_utf8_init(&v);
  if (wsm_utf8_feed(&v, data, len, NULL) != 0) return WSM_E_INVALID_UTF8;
  return wsm_utf8_finish(&v);
}
