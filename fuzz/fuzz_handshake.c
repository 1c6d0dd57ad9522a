/* SPDX-License-Identifier: MIT */
/*
 * The opening handshake from the peer's side: a server reading a request, or
 * a client (after writing its own request) reading a response. Built twice,
 * as fuzz_request (FUZZ_HANDSHAKE_ROLE=WSM_ROLE_SERVER) and fuzz_response.
 *
 * Input: byte 0 chooses the head limit and the split seed, the rest is the
 * peer's bytes. They go through wsm_conn_recv whole, and again in pieces
 * (unconsumed bytes presented again, as the API asks); abort() if:
 *   - the two runs end differently (event, error, status, bytes consumed);
 *   - an event's views point outside the input, or a header, list,
 *     extension or parameter iterator runs past its value;
 *   - a server accepts a request whose Sec-WebSocket-Key does not give the
 *     accept key its 101 response carries, or that wsm_upgrade_check would
 *     refuse when given the same headers;
 *   - a client accepts a response whose status is not 101.
 */
#include "fuzz_common.h"

#ifndef FUZZ_HANDSHAKE_ROLE
#define FUZZ_HANDSHAKE_ROLE WSM_ROLE_SERVER
#endif

#define MAX_HEADERS 256

struct outcome {
  int rc, type, error, status;
  size_t consumed;
};

static int inside(const void *p, size_t n, const uint8_t *base, size_t len) {
  const uint8_t *q = p;
  return n == 0 || (q >= base && q <= base + len && n <= (size_t)(base + len - q));
}

static int fixed_random(void *ctx, uint8_t *buf, size_t len) {
  (void)ctx;
  for (size_t i = 0; i < len; i++) buf[i] = (uint8_t)(i * 37 + 11);
  return 0;
}

static void start(struct wsm_conn *c, size_t max_head) {
  struct wsm_config cfg;
  wsm_config_init(&cfg, FUZZ_HANDSHAKE_ROLE);
  cfg.max_head = max_head;
  cfg.random = fixed_random;
  FZ_CHECK(wsm_conn_init(c, &cfg) == 0);
  if (FUZZ_HANDSHAKE_ROLE == WSM_ROLE_CLIENT) {
    static const char *const protocols[] = {"chat", "superchat"};
    struct wsm_client_request r;
    uint8_t out[1024];
    size_t n;
    memset(&r, 0, sizeof r);
    r.host = "example.com";
    r.path = "/chat";
    r.protocols = protocols;
    r.protocol_count = 2;
    r.extensions = "permessage-deflate; client_max_window_bits";
    FZ_CHECK(wsm_conn_client_request(c, &r, out, sizeof out, &n) == 0);
  }
}

/* Walk every header and every grammar over its value: all linear, all in
 * bounds. */
static void walk_head(const struct wsm_http_head *h, const uint8_t *base, size_t len) {
  struct wsm_http_header hd;
  size_t pos = 0, count = 0;
  FZ_CHECK(inside(h->fields, h->fields_len, base, len));
  while (wsm_http_header_next(h, &pos, &hd)) {
    size_t ipos = 0, n, epos = 0, plen;
    const char *item, *name, *params;
    FZ_CHECK(inside(hd.name, hd.name_len, base, len));
    FZ_CHECK(inside(hd.value, hd.value_len, base, len));
    FZ_CHECK(++count <= h->fields_len + 1);
    while (wsm_http_list_next(hd.value, hd.value_len, &ipos, &item, &n) == 1)
      FZ_CHECK(inside(item, n, (const uint8_t *)hd.value, hd.value_len));
    while (wsm_http_extension_next(hd.value, hd.value_len, &epos, &name, &n, &params,
                                   &plen) == 1) {
      size_t ppos = 0;
      struct wsm_http_param p;
      FZ_CHECK(inside(name, n, (const uint8_t *)hd.value, hd.value_len));
      while (wsm_http_param_next(params, plen, &ppos, &p) == 1)
        FZ_CHECK(inside(p.name, p.name_len, (const uint8_t *)hd.value, hd.value_len));
    }
  }
}

/* A server that took the request: its answer must hold the right accept
 * key, and the framing-only check must agree with the request. */
static void check_accepted(struct wsm_conn *c, const struct wsm_http_head *h) {
  struct wsm_http_header list[MAX_HEADERS], key;
  struct wsm_upgrade_request req;
  char want[WSM_ACCEPT_SIZE], got[WSM_ACCEPT_SIZE];
  uint8_t out[2048];
  size_t n = 0, pos = 0;
  FZ_CHECK(wsm_http_header_find(h, "Sec-WebSocket-Key", &key) == 1);
  FZ_CHECK(wsm_accept_key(key.value, key.value_len, want) == 0);
  while (n < MAX_HEADERS && wsm_http_header_next(h, &pos, &list[n])) n++;
  if (n < MAX_HEADERS) {
    req.http_major = h->version_major;
    req.http_minor = h->version_minor;
    req.method = h->method;
    req.method_len = h->method_len;
    req.headers = list;
    req.header_count = n;
    FZ_CHECK(wsm_upgrade_check(&req, got) == 0);
    FZ_CHECK(strcmp(want, got) == 0);
  }
  FZ_CHECK(wsm_conn_accept(c, NULL, out, sizeof out, &n) == 0);
  FZ_CHECK(n < sizeof out);
  out[n] = '\0';
  FZ_CHECK(strstr((const char *)out, want) != NULL);
  FZ_CHECK(wsm_conn_state(c) == WSM_STATE_OPEN);
}

/* Feed data in pieces chosen by rng (all at once when rng is NULL); the
 * first event or error ends the run. */
static struct outcome run(const uint8_t *data, size_t len, size_t max_head,
                          struct fz_rng *rng, int check) {
  struct wsm_conn c;
  struct outcome o = {0, WSM_EV_NONE, 0, 0, 0};
  uint8_t *buf = malloc(len ? len : 1);
  size_t have = 0, fed = 0;
  FZ_CHECK(buf != NULL);
  start(&c, max_head);
  while (fed < len) {
    size_t k = rng ? 1 + fz_rng_below(rng, 64) : len - fed, used = 0;
    struct wsm_event ev;
    if (k > len - fed) k = len - fed;
    memcpy(buf + have, data + fed, k);
    have += k;
    fed += k;
    memset(&ev, 0, sizeof ev);
    o.rc = wsm_conn_recv(&c, buf, have, &used, &ev);
    FZ_CHECK(used <= have);
    if (ev.type == WSM_EV_NONE && o.rc == 0) {
      FZ_CHECK(used == 0); /* a head is taken whole or not at all */
      continue;
    }
    o.type = ev.type;
    o.error = ev.error;
    o.status = ev.http.status;
    o.consumed = used;
    if (check && (ev.type == WSM_EV_REQUEST || ev.type == WSM_EV_RESPONSE)) {
      walk_head(&ev.http, buf, have);
      FZ_CHECK(ev.http.head_len == used);
      if (ev.type == WSM_EV_REQUEST) check_accepted(&c, &ev.http);
      else FZ_CHECK(ev.http.status == 101 && wsm_conn_state(&c) == WSM_STATE_OPEN);
    }
    if (check && ev.type == WSM_EV_ERROR) {
      const uint8_t *q;
      FZ_CHECK(wsm_conn_transport(&c) != WSM_TRANSPORT_KEEP || wsm_conn_output(&c, &q) > 0);
    }
    break;
  }
  free(buf);
  return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct fz_reader r = {data, size};
  uint8_t setup = fz_u8(&r);
  size_t max_head = (setup & 1) ? 256 : 0;
  struct fz_rng rng;
  struct outcome whole, split;
  fz_rng_seed(&rng, setup);
  whole = run(r.p, r.n, max_head, NULL, 1);
  split = run(r.p, r.n, max_head, &rng, 0);
  /* a head cut in pieces ends the same way, unless the whole input ended
   * before the head did (then neither run saw an event) */
  FZ_CHECK(whole.rc == split.rc);
  FZ_CHECK(whole.type == split.type);
  FZ_CHECK(whole.error == split.error);
  FZ_CHECK(whole.status == split.status);
  FZ_CHECK(whole.consumed == split.consumed);
  return 0;
}
