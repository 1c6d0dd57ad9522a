/* SPDX-License-Identifier: MIT */
/* Test helpers: frame builders, split feeding and normalised event logs. */
#ifndef WSM_TEST_SUPPORT_H
#define WSM_TEST_SUPPORT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "wsm.h"

/* Build a frame with an encoder written independently of lib/frame.c.
 * len_form: 0 = minimal, 7/16/64 = force that length form. Returns size. */
size_t t_frame(uint8_t *out, int fin, unsigned rsv, unsigned opcode,
               const uint8_t *key, const void *payload, size_t len, int len_form);
/* Masked (client-to-server) or unmasked frame with the default key. */
size_t t_cframe(uint8_t *out, int fin, unsigned opcode, const void *payload, size_t len);
size_t t_sframe(uint8_t *out, int fin, unsigned opcode, const void *payload, size_t len);

/* A deterministic random source for client mask keys. */
int t_random(void *ctx, uint8_t *buf, size_t len);

/* One normalised event: DATA chunks are joined into the message they make. */
struct t_rec {
  int type;          /* WSM_EV_*; joined DATA is WSM_EV_MESSAGE; a message the
                        input ended inside is WSM_EV_DATA */
  int opcode;
  uint16_t close_code;
  int error;
  uint8_t *data;
  size_t len;
};

struct t_log {
  struct t_rec *recs;
  size_t n, cap;
  uint8_t *partial;  /* the message being joined */
  size_t partial_len, partial_cap;
  int partial_opcode, in_message;
  int rc;            /* last return code of wsm_conn_recv */
  size_t events;     /* raw events seen */
  size_t max_held;   /* most unconsumed bytes left with no event */
  /* Server handshakes: answer each request with wsm_conn_accept(accept) and
   * record the response bytes as a T_ACCEPTED record. */
  int auto_accept;
  const struct wsm_server_accept *accept;
};

#define T_ACCEPTED 100 /* record type: the 101 response we wrote */

enum t_split { T_WHOLE, T_BYTES, T_RANDOM };

/* Add one event to log, joining DATA chunks into messages. */
void t_record(struct t_log *log, const struct wsm_event *ev);

void t_log_init(struct t_log *log);
void t_log_free(struct t_log *log);
/* Feed input to c as the split says, presenting unconsumed bytes again as
 * the API requires; stops at an error. Returns the last return code. */
int t_feed(struct wsm_conn *c, const uint8_t *in, size_t len, enum t_split split,
           unsigned seed, struct t_log *log);
void t_assert_logs_equal(const struct t_log *a, const struct t_log *b);
/*
 * Run input through fresh connections made from cfg: whole, byte by byte and
 * in 16 random splits; assert identical logs and identical queued output.
 * Leaves the whole-feed log in *log and its connection in *c (both may be
 * NULL).
 */
void t_feed_all_ways(const struct wsm_config *cfg, const uint8_t *in, size_t len,
                     struct t_log *log, struct wsm_conn *c);
/* The same from connections that setup() starts (it returns 0 or fails the
 * test), with the log's auto_accept and accept taken from proto. */
typedef void (*t_setup_fn)(struct wsm_conn *c, const struct wsm_config *cfg, void *ctx);
void t_feed_all_ways_setup(const struct wsm_config *cfg, t_setup_fn setup, void *ctx,
                           const struct t_log *proto, const uint8_t *in, size_t len,
                           struct t_log *log, struct wsm_conn *c);
/* Copy the queued output of c into out, leaving it queued. */
size_t t_peek(struct wsm_conn *c, uint8_t *out, size_t cap);
/* Take all queued output of c into out (cap bytes); returns its size. */
size_t t_drain(struct wsm_conn *c, uint8_t *out, size_t cap);

#endif
