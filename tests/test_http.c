/* SPDX-License-Identifier: MIT */
/* Tests for lib/http.c: HTTP/1.1 heads, header lookup, lists, extensions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "wsm.h"

enum kind { REQ, RES };

/* What one parse gave, with views as offsets from the buffer, so that parses
 * of different copies of the same bytes compare equal. */
struct result {
  int rc;
  int status, major, minor;
  size_t method, method_len, target, target_len, reason, reason_len;
  size_t fields, fields_len, head_len;
};

static size_t offset_in(const char *p, const uint8_t *base) {
  return p == NULL ? SIZE_MAX : (size_t)((const uint8_t *)p - base);
}

static struct result run(enum kind k, const uint8_t *data, size_t len,
                         size_t max, size_t *scanned) {
  struct wsm_http_head h;
  struct result r;
  memset(&h, 0, sizeof h);
  memset(&r, 0, sizeof r);
  r.rc = k == REQ ? wsm_http_parse_request(&h, data, len, max, scanned)
                  : wsm_http_parse_response(&h, data, len, max, scanned);
  if (r.rc > 0) {
    r.status = h.status;
    r.major = h.version_major;
    r.minor = h.version_minor;
    r.method = offset_in(h.method, data);
    r.method_len = h.method_len;
    r.target = offset_in(h.target, data);
    r.target_len = h.target_len;
    r.reason = offset_in(h.reason, data);
    r.reason_len = h.reason_len;
    r.fields = offset_in(h.fields, data);
    r.fields_len = h.fields_len;
    r.head_len = h.head_len;
  }
  return r;
}

/* Parse the first n bytes of text from a heap buffer of exactly n bytes, so
 * that AddressSanitizer and valgrind catch any read past the end. */
static struct result run_copy(enum kind k, const char *text, size_t n,
                              size_t max, size_t *scanned) {
  uint8_t *buf = NULL;
  struct result r;
  if (n > 0) {
    buf = malloc(n);
    assert_non_null(buf);
    memcpy(buf, text, n);
  }
  r = run(k, buf, n, max, scanned);
  free(buf);
  return r;
}

static void assert_same(const struct result *a, const struct result *b) {
  assert_int_equal(a->rc, b->rc);
  assert_int_equal(a->status, b->status);
  assert_int_equal(a->major, b->major);
  assert_int_equal(a->minor, b->minor);
  assert_int_equal(a->method, b->method);
  assert_int_equal(a->method_len, b->method_len);
  assert_int_equal(a->target, b->target);
  assert_int_equal(a->target_len, b->target_len);
  assert_int_equal(a->reason, b->reason);
  assert_int_equal(a->reason_len, b->reason_len);
  assert_int_equal(a->fields, b->fields);
  assert_int_equal(a->fields_len, b->fields_len);
  assert_int_equal(a->head_len, b->head_len);
}

static uint32_t next_random(uint32_t *s) {
  /* xorshift32: deterministic splits, the same on every run */
  *s ^= *s << 13;
  *s ^= *s >> 17;
  *s ^= *s << 5;
  return *s;
}

/*
 * Parse text whole, then byte by byte and in random splits with *scanned
 * carried across calls, as a server re-presents its growing buffer. Every
 * presentation answers 0 until the same prefix length, then the same result
 * as the whole parse; each prefix also gets that answer with a fresh
 * *scanned. Returns the whole parse.
 */
static struct result check_splits(enum kind k, const char *text, size_t len,
                                  size_t max, int expect) {
  struct result whole, r;
  size_t scanned = 0, n, at = SIZE_MAX;
  uint32_t seed = 0x9E3779B9u ^ (uint32_t)len;
  int round;

  whole = run_copy(k, text, len, max, &scanned);
  assert_int_equal(whole.rc, expect);

  scanned = 0;
  for (n = 0; n <= len; n++) {
    r = run_copy(k, text, n, max, &scanned);
    if (r.rc != 0) {
      assert_same(&r, &whole);
      at = n;
      break;
    }
    assert_true(scanned <= n);
  }
  if (expect == 0) assert_true(at == SIZE_MAX);
  else assert_true(at <= len);
  if (expect > 0) assert_int_equal(at, (size_t)expect);

  for (n = 0; n <= len && n <= at && n <= 4096; n++) {
    size_t fresh = 0;
    r = run_copy(k, text, n, max, &fresh);
    if (n < at) assert_int_equal(r.rc, 0);
    else assert_same(&r, &whole);
  }

  for (round = 0; round < 24; round++) {
    int got = 0;
    scanned = 0;
    n = 0;
    while (n < len) {
      size_t step = 1 + next_random(&seed) % (len / 3 + 2);
      n = step > len - n ? len : n + step;
      r = run_copy(k, text, n, max, &scanned);
      if (r.rc != 0) {
        assert_true(n >= at);
        assert_same(&r, &whole);
        got = 1;
        break;
      }
      assert_true(n < at);
    }
    assert_int_equal(got, expect != 0);
  }
  return whole;
}

#define S(lit) lit, sizeof(lit) - 1
/* A whole valid head, with the default limit. */
#define VALID(kind, lit) check_splits(kind, S(lit), 0, (int)(sizeof(lit) - 1))

static void assert_view(const char *p, size_t n, const char *expect) {
  assert_int_equal(n, strlen(expect));
  if (n > 0) assert_memory_equal(p, expect, n);
}

/* ------------------------------------------------------------------------ */
/* Valid heads                                                               */
/* ------------------------------------------------------------------------ */

/* RFC 6455 1.2 (the request of section 1.3 and 4.1). */
static const char rfc6455_request[] =
    "GET /chat HTTP/1.1\r\n"
    "Host: server.example.com\r\n"
    "Upgrade: websocket\r\n"
    "Connection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Origin: http://example.com\r\n"
    "Sec-WebSocket-Protocol: chat, superchat\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "\r\n";

static const char rfc6455_response[] =
    "HTTP/1.1 101 Switching Protocols\r\n"
    "Upgrade: websocket\r\n"
    "Connection: Upgrade\r\n"
    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGJzhZRbK+xOo=\r\n"
    "Sec-WebSocket-Protocol: chat\r\n"
    "\r\n";

static void test_http_request_rfc6455_sample(void **state) {
  static const char *const expect[][2] = {
      {"Host", "server.example.com"},
      {"Upgrade", "websocket"},
      {"Connection", "Upgrade"},
      {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
      {"Origin", "http://example.com"},
      {"Sec-WebSocket-Protocol", "chat, superchat"},
      {"Sec-WebSocket-Version", "13"},
  };
  const uint8_t *d = (const uint8_t *)rfc6455_request;
  size_t len = sizeof rfc6455_request - 1, scanned = 0, pos = 0, i = 0;
  struct wsm_http_head h;
  struct wsm_http_header hd;
  (void)state;

  check_splits(REQ, rfc6455_request, len, 0, (int)len);
  assert_int_equal(wsm_http_parse_request(&h, d, len, 0, &scanned), (int)len);
  assert_view(h.method, h.method_len, "GET");
  assert_view(h.target, h.target_len, "/chat");
  assert_int_equal(h.version_major, 1);
  assert_int_equal(h.version_minor, 1);
  assert_int_equal(h.status, 0);
  assert_null(h.reason);
  assert_int_equal(h.reason_len, 0);
  assert_int_equal(h.head_len, len);
  assert_ptr_equal(h.fields, rfc6455_request + 20);
  assert_int_equal(h.fields_len, len - 20 - 2);
  while (wsm_http_header_next(&h, &pos, &hd)) {
    assert_true(i < 7);
    assert_view(hd.name, hd.name_len, expect[i][0]);
    assert_view(hd.value, hd.value_len, expect[i][1]);
    i++;
  }
  assert_int_equal(i, 7);
  assert_int_equal(wsm_http_header_next(&h, &pos, &hd), 0);
}

static void test_http_response_rfc6455_sample(void **state) {
  static const char *const expect[][2] = {
      {"Upgrade", "websocket"},
      {"Connection", "Upgrade"},
      {"Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGJzhZRbK+xOo="},
      {"Sec-WebSocket-Protocol", "chat"},
  };
  const uint8_t *d = (const uint8_t *)rfc6455_response;
  size_t len = sizeof rfc6455_response - 1, scanned = 0, pos = 0, i = 0;
  struct wsm_http_head h;
  struct wsm_http_header hd;
  (void)state;

  check_splits(RES, rfc6455_response, len, 0, (int)len);
  assert_int_equal(wsm_http_parse_response(&h, d, len, 0, &scanned), (int)len);
  assert_int_equal(h.status, 101);
  assert_view(h.reason, h.reason_len, "Switching Protocols");
  assert_int_equal(h.version_major, 1);
  assert_int_equal(h.version_minor, 1);
  assert_null(h.method);
  assert_null(h.target);
  assert_int_equal(h.head_len, len);
  while (wsm_http_header_next(&h, &pos, &hd)) {
    assert_true(i < 4);
    assert_view(hd.name, hd.name_len, expect[i][0]);
    assert_view(hd.value, hd.value_len, expect[i][1]);
    i++;
  }
  assert_int_equal(i, 4);
}

static void test_http_response_no_reason_lenient(void **state) {
  struct result r;
  (void)state;
  r = VALID(RES, "HTTP/1.1 101\r\nUpgrade: websocket\r\n\r\n");
  assert_int_equal(r.status, 101);
  assert_int_equal(r.reason, 12);
  assert_int_equal(r.reason_len, 0);
  assert_int_equal(r.fields, 14);
}

static void test_http_response_empty_reason(void **state) {
  struct result r;
  (void)state;
  r = check_splits(RES, S("HTTP/1.1 101 \r\n\r\n"), 0, 17);
  assert_int_equal(r.status, 101);
  assert_int_equal(r.reason, 13);
  assert_int_equal(r.reason_len, 0);
  assert_int_equal(r.fields_len, 0);
}

static void test_http_response_reason_tab_and_obs_text(void **state) {
  static const char text[] = "HTTP/1.0 404 Not\tF\xC3\xBCund  \r\n\r\n";
  struct result r;
  (void)state;
  r = check_splits(RES, S(text), 0, (int)sizeof text - 1);
  assert_int_equal(r.status, 404);
  assert_int_equal(r.major, 1);
  assert_int_equal(r.minor, 0);
  assert_int_equal(r.reason, 13);
  assert_int_equal(r.reason_len, 12);
}

static void test_http_response_status_range(void **state) {
  struct result r;
  (void)state;
  r = check_splits(RES, S("HTTP/1.1 100 Continue\r\n\r\n"), 0, 25);
  assert_int_equal(r.status, 100);
  r = check_splits(RES, S("HTTP/1.1 999 x\r\n\r\n"), 0, 18);
  assert_int_equal(r.status, 999);
  r = check_splits(RES, S("HTTP/2.0 200 OK\r\n\r\n"), 0, 19);
  assert_int_equal(r.major, 2);
  assert_int_equal(r.minor, 0);
}

static void test_http_request_leading_crlf_skipped(void **state) {
  static const char text[] = "\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
  struct result r;
  (void)state;
  r = check_splits(REQ, S(text), 0, (int)sizeof text - 1);
  assert_int_equal(r.method, 6);
  assert_int_equal(r.method_len, 3);
  assert_int_equal(r.target, 10);
  assert_int_equal(r.target_len, 1);
  assert_int_equal(r.fields, 22);
  assert_int_equal(r.fields_len, 9);
  assert_int_equal(r.head_len, sizeof text - 1);
}

static void test_http_request_leading_crlf_only_needs_more(void **state) {
  (void)state;
  check_splits(REQ, S("\r\n\r\n\r\n\r\n"), 0, 0);
}

static void test_http_request_no_headers(void **state) {
  struct result r;
  (void)state;
  r = check_splits(REQ, S("GET / HTTP/1.1\r\n\r\n"), 0, 18);
  assert_int_equal(r.fields, 16);
  assert_int_equal(r.fields_len, 0);
}

static void test_http_request_other_targets_and_methods(void **state) {
  struct result r;
  (void)state;
  r = check_splits(REQ, S("OPTIONS * HTTP/1.1\r\n\r\n"), 0, 22);
  assert_int_equal(r.method_len, 7);
  assert_int_equal(r.target_len, 1);
  r = check_splits(REQ, S("CONNECT example.com:443 HTTP/1.1\r\n\r\n"), 0, 36);
  assert_int_equal(r.target, 8);
  assert_int_equal(r.target_len, 15);
  r = VALID(REQ, "M-SEARCH~!#$%&'*+.^_`| http://h/a?b=%20&c#f HTTP/1.0\r\n\r\n");
  assert_int_equal(r.method_len, 22);
  assert_int_equal(r.target_len, 20);
  assert_int_equal(r.minor, 0);
}

static void test_http_request_trailing_bytes_untouched(void **state) {
  /* a WebSocket frame (or garbage) may follow the head in the same read */
  static const char text[] = "GET / HTTP/1.1\r\nA: b\r\n\r\n\x81\x85\0\r\n\r\n";
  struct result r;
  (void)state;
  r = check_splits(REQ, S(text), 0, 24);
  assert_int_equal(r.head_len, 24);
  assert_int_equal(r.fields_len, 6);
}

static void test_http_request_incomplete_needs_more(void **state) {
  (void)state;
  check_splits(REQ, S("GET / HTTP/1.1\r\nHost: a\r\n\r"), 0, 0);
  check_splits(REQ, S("GET / HTTP/1.1\r\nHost: a\r\n"), 0, 0);
  check_splits(RES, S("HTTP/1.1 101 Switching\r\nA: b\r"), 0, 0);
  check_splits(REQ, NULL, 0, 0, 0);
}

static void test_http_header_value_trimmed(void **state) {
  static const char text[] =
      "GET / HTTP/1.1\r\n"
      "A:   x y \t \r\n"
      "B:\r\n"
      "C: \t \r\n"
      "D:\tz:w\xC3\xA9\r\n"
      "!#$%&'*+-.^_`|~09azAZ:v\r\n"
      "\r\n";
  static const char *const expect[][2] = {
      {"A", "x y"}, {"B", ""}, {"C", ""}, {"D", "z:w\xC3\xA9"},
      {"!#$%&'*+-.^_`|~09azAZ", "v"},
  };
  struct wsm_http_head h;
  struct wsm_http_header hd;
  size_t scanned = 0, pos = 0, i = 0;
  (void)state;
  check_splits(REQ, S(text), 0, (int)sizeof text - 1);
  assert_int_equal(wsm_http_parse_request(&h, (const uint8_t *)text,
                                          sizeof text - 1, 0, &scanned),
                   (int)sizeof text - 1);
  while (wsm_http_header_next(&h, &pos, &hd)) {
    assert_true(i < 5);
    assert_view(hd.name, hd.name_len, expect[i][0]);
    assert_view(hd.value, hd.value_len, expect[i][1]);
    i++;
  }
  assert_int_equal(i, 5);
}

static void test_http_header_find_case_insensitive(void **state) {
  static const char text[] =
      "GET / HTTP/1.1\r\n"
      "Sec-WebSocket-Protocol: chat\r\n"
      "Host: a\r\n"
      "sec-websocket-protocol: superchat\r\n"
      "SEC-WEBSOCKET-PROTOCOL:  v2 \r\n"
      "Sec-WebSocket-Protocols: no\r\n"
      "\r\n";
  struct wsm_http_head h;
  struct wsm_http_header hd;
  size_t scanned = 0;
  (void)state;
  assert_int_equal(wsm_http_parse_request(&h, (const uint8_t *)text,
                                          sizeof text - 1, 0, &scanned),
                   (int)sizeof text - 1);
  assert_int_equal(wsm_http_header_find(&h, "sec-websocket-PROTOCOL", &hd), 3);
  assert_view(hd.name, hd.name_len, "Sec-WebSocket-Protocol");
  assert_view(hd.value, hd.value_len, "chat");
  assert_int_equal(wsm_http_header_find(&h, "HOST", &hd), 1);
  assert_view(hd.value, hd.value_len, "a");
  assert_int_equal(wsm_http_header_find(&h, "Sec-WebSocket-Protocols", NULL), 1);
  assert_int_equal(wsm_http_header_find(&h, "Sec-WebSocket-Protoco", NULL), 0);
  assert_int_equal(wsm_http_header_find(&h, "Hosu", &hd), 0);
  assert_null(hd.name);
  assert_null(hd.value);
  assert_int_equal(wsm_http_header_find(&h, NULL, NULL), 0);
  assert_int_equal(wsm_http_header_find(NULL, "Host", NULL), 0);
}

static void test_http_header_find_case_fold_ascii_only(void **state) {
  /* '^' and '~', '`' and '@', '|' and '\\' differ by 0x20 but are not
   * letters: folding them would merge different names */
  static const char text[] = "GET / HTTP/1.1\r\n^:1\r\n~:2\r\n`:3\r\n|:4\r\n"
                             "\xC3\x89:5\r\n\r\n";
  struct wsm_http_head h;
  size_t scanned = 0;
  (void)state;
  /* obs-text is not a token: the last header makes this head malformed */
  assert_int_equal(wsm_http_parse_request(&h, (const uint8_t *)text,
                                          sizeof text - 1, 0, &scanned),
                   WSM_E_HTTP_MALFORMED);
  scanned = 0;
  assert_int_equal(wsm_http_parse_request(&h, (const uint8_t *)text, 36, 0,
                                          &scanned),
                   0);
  /* a line cannot start with obs-text: known at that byte */
  assert_int_equal(wsm_http_parse_request(&h, (const uint8_t *)text, 37, 0,
                                          &scanned),
                   WSM_E_HTTP_MALFORMED);
  {
    static const char ok[] = "GET / HTTP/1.1\r\n^:1\r\n~:2\r\n`:3\r\n|:4\r\n\r\n";
    struct wsm_http_header hd;
    scanned = 0;
    assert_int_equal(wsm_http_parse_request(&h, (const uint8_t *)ok,
                                            sizeof ok - 1, 0, &scanned),
                     (int)sizeof ok - 1);
    assert_int_equal(wsm_http_header_find(&h, "^", &hd), 1);
    assert_view(hd.value, hd.value_len, "1");
    assert_int_equal(wsm_http_header_find(&h, "~", &hd), 1);
    assert_view(hd.value, hd.value_len, "2");
    assert_int_equal(wsm_http_header_find(&h, "@", NULL), 0);
    assert_int_equal(wsm_http_header_find(&h, "\\", NULL), 0);
    assert_int_equal(wsm_http_header_find(&h, "`", NULL), 1);
    assert_int_equal(wsm_http_header_find(&h, "|", NULL), 1);
  }
}

static void test_http_header_many_duplicates(void **state) {
  /* no table: the count is bounded only by max_head */
  enum { COUNT = 5000 };
  size_t cap = 32 + COUNT * 8, len = 0, scanned = 0, pos = 0, seen = 0;
  char *buf = malloc(cap);
  struct wsm_http_head h;
  struct wsm_http_header hd;
  int i;
  (void)state;
  assert_non_null(buf);
  memcpy(buf, "GET / HTTP/1.1\r\n", 16);
  len = 16;
  for (i = 0; i < COUNT; i++) {
    memcpy(buf + len, i % 2 ? "x-A: 1\r\n" : "X-a: 2\r\n", 8);
    len += 8;
  }
  memcpy(buf + len, "\r\n", 2);
  len += 2;
  assert_int_equal(wsm_http_parse_request(&h, (const uint8_t *)buf, len, len,
                                          &scanned),
                   (int)len);
  assert_int_equal(wsm_http_header_find(&h, "X-A", &hd), COUNT);
  assert_view(hd.value, hd.value_len, "2");
  while (wsm_http_header_next(&h, &pos, &hd)) seen++;
  assert_int_equal(seen, COUNT);
  scanned = 0;
  assert_int_equal(wsm_http_parse_request(&h, (const uint8_t *)buf, len,
                                          len - 1, &scanned),
                   WSM_E_HTTP_HEAD_TOO_LARGE);
  free(buf);
}

static void test_http_header_next_handmade_fields(void **state) {
  /* a host's own parser may hand fields over: no CRLF at the end, a line
   * without colon, an empty line; nothing is read past fields_len */
  static const char text[] = "A: 1\r\n\r\nNoColon\nB:2";
  struct wsm_http_head h;
  struct wsm_http_header hd;
  char *buf = malloc(sizeof text - 1);
  size_t pos = 0;
  (void)state;
  assert_non_null(buf);
  memcpy(buf, text, sizeof text - 1);
  memset(&h, 0, sizeof h);
  h.fields = buf;
  h.fields_len = sizeof text - 1;
  assert_int_equal(wsm_http_header_next(&h, &pos, &hd), 1);
  assert_view(hd.name, hd.name_len, "A");
  assert_view(hd.value, hd.value_len, "1");
  assert_int_equal(wsm_http_header_next(&h, &pos, &hd), 1);
  assert_view(hd.name, hd.name_len, "NoColon");
  assert_int_equal(hd.value_len, 0);
  assert_int_equal(wsm_http_header_next(&h, &pos, &hd), 1);
  assert_view(hd.name, hd.name_len, "B");
  assert_view(hd.value, hd.value_len, "2");
  assert_int_equal(wsm_http_header_next(&h, &pos, &hd), 0);
  assert_int_equal(pos, sizeof text - 1);
  memset(&h, 0, sizeof h);
  pos = 0;
  assert_int_equal(wsm_http_header_next(&h, &pos, &hd), 0);
  free(buf);
}

static void test_http_parse_scanned_null_and_invalid(void **state) {
  struct wsm_http_head h;
  size_t scanned = 0;
  (void)state;
  assert_int_equal(wsm_http_parse_request(&h, (const uint8_t *)"GET / HTTP/1.1\r\n\r\n",
                                          18, 0, NULL),
                   18);
  assert_int_equal(wsm_http_parse_request(NULL, (const uint8_t *)"GET", 3, 0,
                                          &scanned),
                   WSM_E_INVALID_ARGUMENT);
  assert_int_equal(wsm_http_parse_response(&h, NULL, 3, 0, &scanned),
                   WSM_E_INVALID_ARGUMENT);
  assert_int_equal(wsm_http_parse_response(&h, NULL, 0, 0, &scanned), 0);
}

static void test_http_parse_scanned_stale_restarts(void **state) {
  /* a mark past the data (a different buffer) is not trusted */
  static const char text[] = "GET / HTTP/1.1\r\n\r\n";
  struct wsm_http_head h;
  size_t scanned = 1000;
  (void)state;
  assert_int_equal(wsm_http_parse_request(&h, (const uint8_t *)text, 18, 0,
                                          &scanned),
                   18);
  scanned = 1000;
  assert_int_equal(wsm_http_parse_request(&h, (const uint8_t *)"G\0", 2, 0,
                                          &scanned),
                   WSM_E_HTTP_MALFORMED);
}

static void test_http_parse_repeat_gives_same_answer(void **state) {
  /* asking again with the same mark and bytes gives the same answer */
  static const char ok[] = "GET / HTTP/1.1\r\nA: b\r\n\r\nrest";
  static const char bad[] = "GET / HTTP/1.1\r\nA : b\r\n\r\n";
  struct wsm_http_head h;
  size_t scanned = 0;
  (void)state;
  assert_int_equal(wsm_http_parse_request(&h, (const uint8_t *)ok,
                                          sizeof ok - 1, 0, &scanned), 24);
  assert_int_equal(wsm_http_parse_request(&h, (const uint8_t *)ok,
                                          sizeof ok - 1, 0, &scanned), 24);
  assert_int_equal(h.fields_len, 6);
  scanned = 0;
  assert_int_equal(wsm_http_parse_request(&h, (const uint8_t *)bad,
                                          sizeof bad - 1, 0, &scanned),
                   WSM_E_HTTP_MALFORMED);
  assert_int_equal(wsm_http_parse_request(&h, (const uint8_t *)bad,
                                          sizeof bad - 1, 0, &scanned),
                   WSM_E_HTTP_MALFORMED);
}

/* ------------------------------------------------------------------------ */
/* Malformed heads: each case whole, byte by byte and in random splits       */
/* ------------------------------------------------------------------------ */

#define MALFORMED_CASES(X)                                                     \
  X(request, nul_in_method, "G\0T / HTTP/1.1\r\n\r\n")                          \
  X(request, nul_in_target, "GET /\0 HTTP/1.1\r\n\r\n")                         \
  X(request, nul_in_value, "GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n")              \
  X(request, nul_in_name, "GET / HTTP/1.1\r\nHo\0st: a\r\n\r\n")                \
  X(request, control_in_value, "GET / HTTP/1.1\r\nHost: a\x01" "b\r\n\r\n")     \
  X(request, escape_in_value, "GET / HTTP/1.1\r\nHost: a\x1b[0m\r\n\r\n")       \
  X(request, del_in_value, "GET / HTTP/1.1\r\nHost: a\x7f\r\n\r\n")             \
  X(request, del_in_target, "GET /\x7f HTTP/1.1\r\n\r\n")                       \
  X(request, vt_in_value, "GET / HTTP/1.1\r\nHost: a\vb\r\n\r\n")               \
  X(request, bare_cr_in_value, "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n")          \
  X(request, cr_cr_lf, "GET / HTTP/1.1\r\r\n\r\n")                              \
  X(request, bare_cr_line_start, "GET / HTTP/1.1\r\nA: b\r\n\rX\r\n\r\n")       \
  X(request, bare_lf_in_value, "GET / HTTP/1.1\r\nHost: a\nb\r\n\r\n")          \
  X(request, bare_lf_line_ends, "GET / HTTP/1.1\nHost: a\n\n")                  \
  X(request, bare_lf_final, "GET / HTTP/1.1\r\nHost: a\r\n\n")                  \
  X(request, lf_first, "\nGET / HTTP/1.1\r\n\r\n")                              \
  X(request, obs_fold_space, "GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n")            \
  X(request, obs_fold_tab, "GET / HTTP/1.1\r\nA: b\r\n\tc\r\n\r\n")             \
  X(request, fold_first_field, "GET / HTTP/1.1\r\n A: b\r\n\r\n")               \
  X(request, leading_space, " GET / HTTP/1.1\r\n\r\n")                          \
  X(request, space_after_crlf, "\r\n GET / HTTP/1.1\r\n\r\n")                   \
  X(request, space_before_colon, "GET / HTTP/1.1\r\nHost : a\r\n\r\n")          \
  X(request, tab_before_colon, "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n")           \
  X(request, empty_name, "GET / HTTP/1.1\r\n: a\r\n\r\n")                       \
  X(request, name_at_sign, "GET / HTTP/1.1\r\nHo@st: a\r\n\r\n")                \
  X(request, name_quote, "GET / HTTP/1.1\r\nHo\"st: a\r\n\r\n")                 \
  X(request, name_paren, "GET / HTTP/1.1\r\nH(ost): a\r\n\r\n")                 \
  X(request, name_obs_text, "GET / HTTP/1.1\r\nH\xC3\xB3st: a\r\n\r\n")         \
  X(request, name_first_obs_text, "GET / HTTP/1.1\r\n\xC3\xB3: a\r\n\r\n")      \
  X(request, no_colon, "GET / HTTP/1.1\r\nHost a\r\n\r\n")                      \
  X(request, method_at_sign, "G@T / HTTP/1.1\r\n\r\n")                          \
  X(request, method_obs_text, "G\xC3\x89T / HTTP/1.1\r\n\r\n")                  \
  X(request, missing_target, "GET HTTP/1.1\r\n\r\n")                            \
  X(request, double_space, "GET  / HTTP/1.1\r\n\r\n")                           \
  X(request, empty_target, "GET  HTTP/1.1\r\n\r\n")                             \
  X(request, space_in_target, "GET /a b HTTP/1.1\r\n\r\n")                      \
  X(request, tab_separator, "GET\t/ HTTP/1.1\r\n\r\n")                          \
  X(request, tab_in_target, "GET /a\tb HTTP/1.1\r\n\r\n")                       \
  X(request, target_obs_text, "GET /\xC3\xA9 HTTP/1.1\r\n\r\n")                 \
  X(request, version_lowercase, "GET / http/1.1\r\n\r\n")                       \
  X(request, version_two_minor_digits, "GET / HTTP/1.10\r\n\r\n")               \
  X(request, version_two_major_digits, "GET / HTTP/11.1\r\n\r\n")               \
  X(request, version_no_minor, "GET / HTTP/1\r\n\r\n")                          \
  X(request, version_letter, "GET / HTTP/1.x\r\n\r\n")                          \
  X(request, version_missing, "GET /\r\n\r\n")                                  \
  X(request, trailing_space, "GET / HTTP/1.1 \r\n\r\n")                         \
  X(request, cr_space, "GET / HTTP/1.1\r\n\r \r\n")                    \
  X(response, not_http, "ICY 200 OK\r\n\r\n")                                   \
  X(response, lowercase, "http/1.1 101 x\r\n\r\n")                              \
  X(response, status_two_digits, "HTTP/1.1 10 x\r\n\r\n")                       \
  X(response, status_two_digits_eol, "HTTP/1.1 10\r\n\r\n")                     \
  X(response, status_four_digits, "HTTP/1.1 1011 x\r\n\r\n")                    \
  X(response, status_four_digits_eol, "HTTP/1.1 1011\r\n\r\n")                  \
  X(response, status_leading_zero, "HTTP/1.1 099 x\r\n\r\n")                    \
  X(response, status_letter, "HTTP/1.1 1o1 x\r\n\r\n")                          \
  X(response, double_space, "HTTP/1.1  101 x\r\n\r\n")                          \
  X(response, tab_separator, "HTTP/1.1\t101 x\r\n\r\n")                         \
  X(response, no_space, "HTTP/1.1101 x\r\n\r\n")                                \
  X(response, version_two_digits, "HTTP/1.10 101 x\r\n\r\n")                    \
  X(response, version_only, "HTTP/1.1\r\n\r\n")                                 \
  X(response, reason_nul, "HTTP/1.1 101 a\0b\r\n\r\n")                          \
  X(response, reason_control, "HTTP/1.1 101 a\x01" "b\r\n\r\n")                 \
  X(response, reason_del, "HTTP/1.1 101 a\x7f\r\n\r\n")                         \
  X(response, reason_bare_cr, "HTTP/1.1 101 a\rb\r\n\r\n")                      \
  X(response, leading_crlf, "\r\nHTTP/1.1 101 x\r\n\r\n")                       \
  X(response, empty, "\r\n")                                                    \
  X(response, obs_fold, "HTTP/1.1 101 x\r\nA: b\r\n c\r\n\r\n")                 \
  X(response, space_before_colon, "HTTP/1.1 101 x\r\nA : b\r\n\r\n")            \
  X(response, no_colon, "HTTP/1.1 101 x\r\nA b\r\n\r\n")                        \
  X(response, bare_lf, "HTTP/1.1 101 x\nA: b\r\n\r\n")                          \
  X(response, control_in_value, "HTTP/1.1 101 x\r\nA: \x1f\r\n\r\n")

#define KIND_request REQ
#define KIND_response RES

#define MALFORMED_TEST(kind, name, text)                                       \
  static void test_http_##kind##_malformed_##name(void **state) {              \
    (void)state;                                                               \
    check_splits(KIND_##kind, text, sizeof(text) - 1, 0,                       \
                 WSM_E_HTTP_MALFORMED);                                        \
  }
MALFORMED_CASES(MALFORMED_TEST)

/* Errors show as soon as the offending byte (or line) is there. */
static void test_http_parse_malformed_detected_early(void **state) {
  struct wsm_http_head h;
  size_t scanned = 0;
  (void)state;
  /* a NUL in the first line: no need to wait for the line's end */
  assert_int_equal(wsm_http_parse_request(&h, (const uint8_t *)"GET /\0", 6, 0,
                                          &scanned),
                   WSM_E_HTTP_MALFORMED);
  scanned = 0;
  assert_int_equal(wsm_http_parse_request(&h, (const uint8_t *)"GET /a", 6, 0,
                                          &scanned),
                   0);
  /* TLS or another protocol talking to a client: fails on the first byte */
  scanned = 0;
  assert_int_equal(wsm_http_parse_response(&h, (const uint8_t *)"\x16\x03", 2,
                                           0, &scanned),
                   WSM_E_HTTP_MALFORMED);
  scanned = 0;
  assert_int_equal(wsm_http_parse_response(&h, (const uint8_t *)"X", 1, 0,
                                           &scanned),
                   WSM_E_HTTP_MALFORMED);
  scanned = 0;
  assert_int_equal(wsm_http_parse_response(&h, (const uint8_t *)"HTTP/1.1 1x", 11,
                                           0, &scanned),
                   WSM_E_HTTP_MALFORMED);
  scanned = 0;
  assert_int_equal(wsm_http_parse_response(&h, (const uint8_t *)"HTTP/1.1 10", 11,
                                           0, &scanned),
                   0);
  /* a bad header name fails at its line's end, before the head's end */
  scanned = 0;
  assert_int_equal(wsm_http_parse_request(&h, (const uint8_t *)"GET / HTTP/1.1\r\nA b\r\n",
                                          21, 0, &scanned),
                   WSM_E_HTTP_MALFORMED);
  /* obs-fold fails on the SP, before its line ends */
  scanned = 0;
  assert_int_equal(wsm_http_parse_request(&h, (const uint8_t *)"GET / HTTP/1.1\r\nA: b\r\n ",
                                          23, 0, &scanned),
                   WSM_E_HTTP_MALFORMED);
}

/* Heads assembled at random from fragments, valid or not: whatever the
 * answer, it does not depend on the split. */
static void test_http_parse_random_heads_split_invariant(void **state) {
  static const char *const frags[] = {
      "GET / HTTP/1.1", "HTTP/1.1 101 OK", "HTTP/1.1 101", "\r\n", "\r\n",
      "\r\n\r\n", "A: b", "Host:", " ", "\t", ":", "\r", "\n", "x", "\x80",
      "\"", "\0", "\x7f", "/",
  };
  uint32_t seed = 12345;
  char text[256];
  int round, ok = 0, bad = 0, more = 0;
  (void)state;
  for (round = 0; round < 3000; round++) {
    size_t len = 0;
    int parts = 1 + (int)(next_random(&seed) % 10), j;
    enum kind k = next_random(&seed) % 2 ? REQ : RES;
    struct result whole;
    /* mostly start with a plausible first line */
    if (next_random(&seed) % 4 != 0) {
      const char *first = k == REQ ? "GET /x HTTP/1.1\r\n" : "HTTP/1.1 101 OK\r\n";
      memcpy(text, first, strlen(first));
      len = strlen(first);
    }
    for (j = 0; j < parts; j++) {
      uint32_t f = next_random(&seed) % (uint32_t)(sizeof frags / sizeof frags[0]);
      size_t n = f == 16 ? 1 : strlen(frags[f]);
      memcpy(text + len, frags[f], n);
      len += n;
    }
    whole = run_copy(k, text, len, 0, NULL);
    if (whole.rc > 0) ok++;
    else if (whole.rc == 0) more++;
    else bad++;
    check_splits(k, text, len, 0, whole.rc);
  }
  /* the generator reaches all three answers */
  assert_true(ok > 100);
  assert_true(bad > 100);
  assert_true(more > 100);
}

/* ------------------------------------------------------------------------ */
/* Head size limit                                                           */
/* ------------------------------------------------------------------------ */

/* A request head of exactly len bytes: one header padded with 'a'. */
static char *make_head(size_t len) {
  char *buf = malloc(len);
  assert_non_null(buf);
  assert_true(len >= 16 + 5 + 2);
  memcpy(buf, "GET / HTTP/1.1\r\nX: ", 19);
  memset(buf + 19, 'a', len - 19 - 4);
  memcpy(buf + len - 4, "\r\n\r\n", 4);
  return buf;
}

static void test_http_head_too_large_boundary(void **state) {
  size_t m = 200;
  char *buf = make_head(m);
  struct result r;
  (void)state;
  check_splits(REQ, buf, m, m, (int)m);
  check_splits(REQ, buf, m, m + 1, (int)m);
  check_splits(REQ, buf, m, m - 1, WSM_E_HTTP_HEAD_TOO_LARGE);
  /* too large is known once max_head bytes hold no end, not before */
  r = run_copy(REQ, buf, m - 2, m - 1, NULL);
  assert_int_equal(r.rc, 0);
  r = run_copy(REQ, buf, m - 1, m - 1, NULL);
  assert_int_equal(r.rc, WSM_E_HTTP_HEAD_TOO_LARGE);
  free(buf);
}

static void test_http_head_too_large_default(void **state) {
  char *ok = make_head(WSM_HTTP_HEAD_MAX_DEFAULT);
  char *big = make_head(WSM_HTTP_HEAD_MAX_DEFAULT + 1);
  struct result r;
  (void)state;
  check_splits(REQ, ok, WSM_HTTP_HEAD_MAX_DEFAULT, 0, WSM_HTTP_HEAD_MAX_DEFAULT);
  check_splits(REQ, big, WSM_HTTP_HEAD_MAX_DEFAULT + 1, 0,
               WSM_E_HTTP_HEAD_TOO_LARGE);
  /* a limit beyond what an int can return still works */
  r = run_copy(REQ, big, WSM_HTTP_HEAD_MAX_DEFAULT + 1, SIZE_MAX, NULL);
  assert_int_equal(r.rc, WSM_HTTP_HEAD_MAX_DEFAULT + 1);
  free(ok);
  free(big);
}

static void test_http_head_too_large_crlf_straddles_limit(void **state) {
  /* the final CRLF CRLF would end one byte past the limit */
  size_t m = 64;
  char *buf = make_head(m);
  struct result r;
  (void)state;
  r = run_copy(REQ, buf, m, m - 1, NULL);
  assert_int_equal(r.rc, WSM_E_HTTP_HEAD_TOO_LARGE);
  r = run_copy(REQ, buf, m, m - 3, NULL);
  assert_int_equal(r.rc, WSM_E_HTTP_HEAD_TOO_LARGE);
  r = run_copy(REQ, buf, m, m, NULL);
  assert_int_equal(r.rc, (int)m);
  free(buf);
}

static void test_http_head_too_large_before_late_error(void **state) {
  /* bytes past the limit are never read: the limit answers first */
  static const char text[] = "GET / HTTP/1.1\r\nA: b\0\r\n\r\n";
  struct result r;
  (void)state;
  check_splits(REQ, S(text), 20, WSM_E_HTTP_HEAD_TOO_LARGE);
  r = run_copy(REQ, S(text), 21, NULL);
  assert_int_equal(r.rc, WSM_E_HTTP_MALFORMED);
  check_splits(RES, S("HTTP/1.1 101 x\r\n\r\n"), 17, WSM_E_HTTP_HEAD_TOO_LARGE);
}

static void test_http_head_too_large_leading_crlf_counted(void **state) {
  static const char text[] = "\r\n\r\nGET / HTTP/1.1\r\n\r\n";
  (void)state;
  check_splits(REQ, S(text), sizeof text - 1, (int)sizeof text - 1);
  check_splits(REQ, S(text), sizeof text - 2, WSM_E_HTTP_HEAD_TOO_LARGE);
}

/* ------------------------------------------------------------------------ */
/* Linear time: a growing buffer presented one byte at a time               */
/* ------------------------------------------------------------------------ */

/* Present buf[0..n) for every n, carrying *scanned; 0 and a mark at n until
 * the end. A parser that rescanned would take ~n^2/2 steps: hours at 1 MB. */
static void present_byte_by_byte(enum kind k, const char *buf, size_t len,
                                 int expect) {
  size_t n, scanned = 0;
  struct result r;
  for (n = 0; n < len; n++) {
    r = run(k, (const uint8_t *)buf, n, len, &scanned);
    assert_int_equal(r.rc, 0);
    assert_int_equal(scanned, n);
  }
  r = run(k, (const uint8_t *)buf, len, len, &scanned);
  assert_int_equal(r.rc, expect);
}

static void test_http_parse_linear_long_value(void **state) {
  size_t len = (1u << 20) + 64;
  char *buf = make_head(len);
  (void)state;
  present_byte_by_byte(REQ, buf, len, (int)len);
  free(buf);
}

static void test_http_parse_linear_many_headers(void **state) {
  size_t len = (1u << 20) + 18, i;
  char *buf = malloc(len);
  (void)state;
  assert_non_null(buf);
  memcpy(buf, "GET / HTTP/1.1\r\n", 16);
  for (i = 16; i + 2 < len; i += 4) memcpy(buf + i, "a:\r\n", 4);
  memcpy(buf + len - 2, "\r\n", 2);
  present_byte_by_byte(REQ, buf, len, (int)len);
  free(buf);
}

static void test_http_parse_linear_leading_crlf(void **state) {
  size_t len = (1u << 20) + 18, i;
  char *buf = malloc(len);
  (void)state;
  assert_non_null(buf);
  for (i = 0; i < (1u << 20); i += 2) memcpy(buf + i, "\r\n", 2);
  memcpy(buf + (1u << 20), "GET / HTTP/1.1\r\n\r\n", 18);
  present_byte_by_byte(REQ, buf, len, (int)len);
  free(buf);
}

static void test_http_parse_linear_long_reason(void **state) {
  size_t len = (1u << 20), i;
  char *buf = malloc(len);
  (void)state;
  assert_non_null(buf);
  memcpy(buf, "HTTP/1.1 101 ", 13);
  for (i = 13; i < len - 4; i++) buf[i] = (char)(i % 2 ? ' ' : 'r');
  memcpy(buf + len - 4, "\r\n\r\n", 4);
  present_byte_by_byte(RES, buf, len, (int)len);
  free(buf);
}

static void test_http_parse_resumes_without_rescan(void **state) {
  /* An 8 KiB head presented byte by byte. Once a header line is behind the
   * mark, a NUL written into it is not seen: the parser resumed instead of
   * reading the accepted bytes again. (Without the NUL the head is valid;
   * with it, parsing from 0 fails.) */
  size_t len = 16 + 8 * 1022 + 2, n, i, scanned = 0;
  char *buf = malloc(len);
  struct result r;
  (void)state;
  assert_non_null(buf);
  memcpy(buf, "GET / HTTP/1.1\r\n", 16);
  for (i = 16; i < len - 2; i += 8) memcpy(buf + i, "Xy: ab\r\n", 8);
  memcpy(buf + len - 2, "\r\n", 2);
  for (n = 0; n < len; n++) {
    if (n == 100) buf[16 + 8 + 1] = '\0';   /* inside the second header */
    r = run(REQ, (const uint8_t *)buf, n, len, &scanned);
    assert_int_equal(r.rc, 0);
    assert_int_equal(scanned, n);
  }
  r = run(REQ, (const uint8_t *)buf, len, len, &scanned);
  assert_int_equal(r.rc, (int)len);
  r = run(REQ, (const uint8_t *)buf, len, len, NULL);
  assert_int_equal(r.rc, WSM_E_HTTP_MALFORMED);
  free(buf);
}

/* ------------------------------------------------------------------------ */
/* Lists (RFC 9110 5.6.1)                                                    */
/* ------------------------------------------------------------------------ */

/* Collect the elements joined by '|' into out. Returns the count. */
static size_t list_join(const char *v, size_t len, char *out, size_t cap) {
  const char *item;
  size_t pos = 0, item_len, used = 0, count = 0;
  out[0] = '\0';
  while (wsm_http_list_next(v, len, &pos, &item, &item_len)) {
    assert_true(used + item_len + 2 <= cap);
    assert_true(item >= v && item + item_len <= v + len);
    if (count > 0) out[used++] = '|';
    memcpy(out + used, item, item_len);
    used += item_len;
    out[used] = '\0';
    count++;
  }
  assert_int_equal(pos, len);
  assert_int_equal(wsm_http_list_next(v, len, &pos, &item, &item_len), 0);
  return count;
}

static void test_http_list_next_basic(void **state) {
  char out[128];
  (void)state;
  assert_int_equal(list_join(S("chat, superchat"), out, sizeof out), 2);
  assert_string_equal(out, "chat|superchat");
  assert_int_equal(list_join(S("a"), out, sizeof out), 1);
  assert_string_equal(out, "a");
  assert_int_equal(list_join(S(" \ta b\t ,c "), out, sizeof out), 2);
  assert_string_equal(out, "a b|c");
}

static void test_http_list_next_empty_elements(void **state) {
  char out[128];
  (void)state;
  assert_int_equal(list_join(S(", ,a,,\t,b, ,"), out, sizeof out), 2);
  assert_string_equal(out, "a|b");
  assert_int_equal(list_join(S(""), out, sizeof out), 0);
  assert_int_equal(list_join(S(" , ,\t"), out, sizeof out), 0);
  assert_int_equal(list_join(NULL, 0, out, sizeof out), 0);
}

static void test_http_list_next_quoted_commas(void **state) {
  char out[128];
  (void)state;
  assert_int_equal(list_join(S("a=\"x,y\", \"p\\\",q\" , b"), out, sizeof out), 3);
  assert_string_equal(out, "a=\"x,y\"|\"p\\\",q\"|b");
  assert_int_equal(list_join(S("\"\\\\\",x"), out, sizeof out), 2);
  assert_string_equal(out, "\"\\\\\"|x");
}

static void test_http_list_next_unterminated_quote(void **state) {
  char out[128];
  (void)state;
  assert_int_equal(list_join(S("a, \"b, c"), out, sizeof out), 2);
  assert_string_equal(out, "a|\"b, c");
  assert_int_equal(list_join(S("\"abc\\"), out, sizeof out), 1);
  assert_string_equal(out, "\"abc\\");
}

static void test_http_list_next_bad_arguments(void **state) {
  const char *item = NULL;
  size_t pos = 5, item_len = 0;
  (void)state;
  assert_int_equal(wsm_http_list_next("a,b", 3, &pos, &item, &item_len), 0);
  assert_int_equal(wsm_http_list_next("a,b", 3, NULL, &item, &item_len), 0);
  pos = 0;
  assert_int_equal(wsm_http_list_next(NULL, 3, &pos, &item, &item_len), 0);
  assert_int_equal(wsm_http_list_next("a,b", 3, &pos, NULL, NULL), 1);
  assert_int_equal(wsm_http_list_next("a,b", 3, &pos, &item, &item_len), 1);
  assert_view(item, item_len, "b");
}

static void test_http_list_has_token_cases(void **state) {
  (void)state;
  assert_int_equal(wsm_http_list_has_token(S("keep-alive, Upgrade"), "upgrade"), 1);
  assert_int_equal(wsm_http_list_has_token(S("UPGRADE"), "upgrade"), 1);
  assert_int_equal(wsm_http_list_has_token(S("keep-alive,upgrade "), "Upgrade"), 1);
  assert_int_equal(wsm_http_list_has_token(S("keep-alive, Upgrade2"), "upgrade"), 0);
  assert_int_equal(wsm_http_list_has_token(S("keep-alive, Upgrad"), "upgrade"), 0);
  assert_int_equal(wsm_http_list_has_token(S("upgrade;q=1"), "upgrade"), 0);
  assert_int_equal(wsm_http_list_has_token(S("up grade"), "upgrade"), 0);
  assert_int_equal(wsm_http_list_has_token(S("\"upgrade\""), "upgrade"), 0);
  assert_int_equal(wsm_http_list_has_token(S("\"a,upgrade\""), "upgrade"), 0);
  assert_int_equal(wsm_http_list_has_token(S("a,,"), ""), 0);
  assert_int_equal(wsm_http_list_has_token(S("a"), NULL), 0);
  assert_int_equal(wsm_http_list_has_token(NULL, 0, "a"), 0);
  /* folding is ASCII only: 0xC9 is not 0xE9 */
  assert_int_equal(wsm_http_list_has_token(S("\xC9"), "\xE9"), 0);
  assert_int_equal(wsm_http_list_has_token(S("["), "{"), 0);
}

static void test_http_list_linear_1mb(void **state) {
  size_t len = 1u << 20, i, pos = 0, count = 0, item_len;
  const char *item;
  char *buf = malloc(len);
  (void)state;
  assert_non_null(buf);
  /* commas, quotes and backslashes: the shapes of past super-linear bugs */
  for (i = 0; i + 8 <= len; i += 8) memcpy(buf + i, "a,\"\\,\", ", 8);
  while (wsm_http_list_next(buf, len, &pos, &item, &item_len)) count++;
  assert_int_equal(count, len / 8 * 2);
  memset(buf, ',', len);
  pos = 0;
  assert_int_equal(wsm_http_list_next(buf, len, &pos, &item, &item_len), 0);
  assert_int_equal(wsm_http_list_has_token(buf, len, "a"), 0);
  free(buf);
}

/* ------------------------------------------------------------------------ */
/* Extensions (RFC 6455 9.1)                                                 */
/* ------------------------------------------------------------------------ */

static void assert_param(const char *params, size_t len, size_t *pos,
                         const char *name, const char *value, int quoted) {
  struct wsm_http_param p;
  assert_int_equal(wsm_http_param_next(params, len, pos, &p), 1);
  assert_view(p.name, p.name_len, name);
  if (value == NULL) {
    assert_null(p.value);
    assert_int_equal(p.value_len, 0);
  } else {
    assert_non_null(p.value);
    assert_view(p.value, p.value_len, value);
  }
  assert_int_equal(p.quoted, quoted);
}

static void assert_extension(const char *v, size_t len, size_t *pos,
                             const char *name, const char *params,
                             const char **out_params, size_t *out_len) {
  const char *n, *p;
  size_t nl, pl;
  assert_int_equal(wsm_http_extension_next(v, len, pos, &n, &nl, &p, &pl), 1);
  assert_view(n, nl, name);
  assert_view(p, pl, params);
  if (out_params != NULL) *out_params = p;
  if (out_len != NULL) *out_len = pl;
}

static void assert_extensions_end(const char *v, size_t len, size_t *pos) {
  const char *n, *p;
  size_t nl, pl;
  assert_int_equal(wsm_http_extension_next(v, len, pos, &n, &nl, &p, &pl), 0);
  assert_int_equal(*pos, len);
}

static void test_http_extension_rfc7692_offer(void **state) {
  static const char v[] =
      "permessage-deflate; client_max_window_bits, "
      "permessage-deflate; server_max_window_bits=10; client_max_window_bits";
  size_t pos = 0, ppos, pl;
  const char *p;
  (void)state;
  assert_extension(S(v), &pos, "permessage-deflate", "; client_max_window_bits",
                   &p, &pl);
  ppos = 0;
  assert_param(p, pl, &ppos, "client_max_window_bits", NULL, 0);
  assert_int_equal(wsm_http_param_next(p, pl, &ppos, NULL), 0);
  assert_extension(S(v), &pos, "permessage-deflate",
                   "; server_max_window_bits=10; client_max_window_bits", &p, &pl);
  ppos = 0;
  assert_param(p, pl, &ppos, "server_max_window_bits", "10", 0);
  assert_param(p, pl, &ppos, "client_max_window_bits", NULL, 0);
  assert_int_equal(wsm_http_param_next(p, pl, &ppos, NULL), 0);
  assert_int_equal(ppos, pl);
  assert_extensions_end(S(v), &pos);
}

static void test_http_extension_no_params(void **state) {
  size_t pos = 0, pl, ppos = 0;
  const char *p;
  (void)state;
  assert_extension(S("foo,bar , baz"), &pos, "foo", "", &p, &pl);
  assert_int_equal(wsm_http_param_next(p, pl, &ppos, NULL), 0);
  assert_extension(S("foo,bar , baz"), &pos, "bar", "", NULL, NULL);
  assert_extension(S("foo,bar , baz"), &pos, "baz", "", NULL, NULL);
  assert_extensions_end(S("foo,bar , baz"), &pos);
}

static void test_http_extension_quoted_commas_semicolons(void **state) {
  static const char v[] = "foo; a=\"x;y,z\"; b=1, bar; c=\"\"";
  size_t pos = 0, ppos, pl;
  const char *p;
  (void)state;
  assert_extension(S(v), &pos, "foo", "; a=\"x;y,z\"; b=1", &p, &pl);
  ppos = 0;
  assert_param(p, pl, &ppos, "a", "x;y,z", 1);
  assert_param(p, pl, &ppos, "b", "1", 0);
  assert_int_equal(wsm_http_param_next(p, pl, &ppos, NULL), 0);
  assert_extension(S(v), &pos, "bar", "; c=\"\"", &p, &pl);
  ppos = 0;
  assert_param(p, pl, &ppos, "c", "", 1);
  assert_extensions_end(S(v), &pos);
}

static void test_http_extension_quoted_escapes(void **state) {
  static const char v[] = "foo; a=\"q\\\"x\\\\\"; b=\"\\,\"";
  size_t pos = 0, ppos = 0, pl;
  const char *p;
  (void)state;
  assert_extension(S(v), &pos, "foo", "; a=\"q\\\"x\\\\\"; b=\"\\,\"", &p, &pl);
  assert_param(p, pl, &ppos, "a", "q\\\"x\\\\", 1);
  assert_param(p, pl, &ppos, "b", "\\,", 1);
  assert_int_equal(wsm_http_param_next(p, pl, &ppos, NULL), 0);
  assert_extensions_end(S(v), &pos);
}

static void test_http_extension_ows(void **state) {
  static const char v[] = " \tfoo ;a = 1 ; \tb\t=\t\"v\" \t, bar\t;c ";
  size_t pos = 0, ppos = 0, pl;
  const char *p;
  (void)state;
  assert_extension(S(v), &pos, "foo", ";a = 1 ; \tb\t=\t\"v\"", &p, &pl);
  assert_param(p, pl, &ppos, "a", "1", 0);
  assert_param(p, pl, &ppos, "b", "v", 1);
  assert_int_equal(wsm_http_param_next(p, pl, &ppos, NULL), 0);
  assert_extension(S(v), &pos, "bar", ";c", &p, &pl);
  ppos = 0;
  assert_param(p, pl, &ppos, "c", NULL, 0);
  assert_extensions_end(S(v), &pos);
}

static void test_http_extension_empty_elements(void **state) {
  size_t pos = 0;
  (void)state;
  assert_extension(S(", foo,, \t,bar ,"), &pos, "foo", "", NULL, NULL);
  assert_extension(S(", foo,, \t,bar ,"), &pos, "bar", "", NULL, NULL);
  assert_extensions_end(S(", foo,, \t,bar ,"), &pos);
  pos = 0;
  assert_extensions_end(S(""), &pos);
  pos = 0;
  assert_extensions_end(NULL, 0, &pos);
  pos = 0;
  assert_extensions_end(S(" , "), &pos);
}

/* Iterate a whole value; returns the first error, or the number of
 * extensions plus parameters. */
static int extension_walk(const char *v, size_t len) {
  const char *n, *p;
  size_t nl, pl, pos = 0;
  int rc, count = 0;
  while ((rc = wsm_http_extension_next(v, len, &pos, &n, &nl, &p, &pl)) == 1) {
    struct wsm_http_param prm;
    size_t ppos = 0;
    assert_true(nl > 0);
    count++;
    while ((rc = wsm_http_param_next(p, pl, &ppos, &prm)) == 1) count++;
    assert_int_equal(rc, 0);
  }
  return rc < 0 ? rc : count;
}

#define EXTENSION_MALFORMED_CASES(X)                                           \
  X(params_without_name, "; a")                                                \
  X(semicolon_no_param, "foo;")                                                \
  X(semicolon_ows_end, "foo; ")                                                \
  X(double_semicolon, "foo;;a")                                                \
  X(param_empty_name, "foo; =1")                                               \
  X(param_empty_value, "foo; a=")                                              \
  X(param_empty_value_ows, "foo; a= ;b")                                       \
  X(unterminated_quote, "foo; a=\"x")                                          \
  X(unterminated_quote_comma, "foo; a=\"x, bar")                               \
  X(escape_at_end, "foo; a=\"x\\")                                             \
  X(escaped_control, "foo; a=\"x\\\x01\"")                                     \
  X(quoted_control, "foo; a=\"\x01\"")                                         \
  X(quoted_del, "foo; a=\"\x7f\"")                                             \
  X(space_in_name, "foo bar")                                                  \
  X(space_in_param, "foo; a b")                                                \
  X(double_equals, "foo;a=1=2")                                                \
  X(value_two_tokens, "foo; a=1 2")                                            \
  X(name_not_token, "foo@")                                                    \
  X(name_slash, "foo/1")                                                       \
  X(after_quote, "foo; a=\"x\"y")                                              \
  X(value_control, "foo; a=\x01")                                              \
  X(value_separator, "foo; a=@")                                               \
  X(quoted_name, "\"foo\"")                                                    \
  X(equals_on_name, "foo=1")                                                   \
  X(second_bad, "foo, bar baz")                                                \
  X(nul_in_name, "fo\0o")                                                      \
  X(lone_equals, "=")

#define EXTENSION_MALFORMED_TEST(name, text)                                   \
  static void test_http_extension_malformed_##name(void **state) {            \
    (void)state;                                                               \
    assert_int_equal(extension_walk(text, sizeof(text) - 1),                   \
                     WSM_E_HTTP_MALFORMED);                                    \
  }
EXTENSION_MALFORMED_CASES(EXTENSION_MALFORMED_TEST)

static void test_http_extension_malformed_second_after_first(void **state) {
  /* elements before the bad one are returned; the error is sticky */
  static const char v[] = "foo; a=1, bar; =";
  const char *n, *p;
  size_t nl, pl, pos = 0, at;
  (void)state;
  assert_int_equal(wsm_http_extension_next(S(v), &pos, &n, &nl, &p, &pl), 1);
  assert_view(n, nl, "foo");
  at = pos;
  assert_int_equal(wsm_http_extension_next(S(v), &pos, &n, &nl, &p, &pl),
                   WSM_E_HTTP_MALFORMED);
  assert_int_equal(pos, at);
  assert_int_equal(wsm_http_extension_next(S(v), &pos, &n, &nl, &p, &pl),
                   WSM_E_HTTP_MALFORMED);
}

static void test_http_extension_bad_arguments(void **state) {
  const char *n, *p;
  size_t nl, pl, pos = 4;
  (void)state;
  assert_int_equal(wsm_http_extension_next("foo", 3, &pos, &n, &nl, &p, &pl),
                   WSM_E_INVALID_ARGUMENT);
  assert_int_equal(wsm_http_extension_next("foo", 3, NULL, &n, &nl, &p, &pl),
                   WSM_E_INVALID_ARGUMENT);
  pos = 0;
  assert_int_equal(wsm_http_extension_next(NULL, 3, &pos, &n, &nl, &p, &pl),
                   WSM_E_INVALID_ARGUMENT);
  assert_int_equal(wsm_http_extension_next("foo;a", 5, &pos, NULL, NULL, NULL,
                                           NULL),
                   1);
  assert_int_equal(pos, 5);
  assert_int_equal(wsm_http_param_next("; a", 3, NULL, NULL),
                   WSM_E_INVALID_ARGUMENT);
  pos = 9;
  assert_int_equal(wsm_http_param_next("; a", 3, &pos, NULL),
                   WSM_E_INVALID_ARGUMENT);
}

static void test_http_param_next_standalone(void **state) {
  struct wsm_http_param p;
  size_t pos = 0;
  (void)state;
  assert_param(S(" ; a ; b=\"c\" ;d=e"), &pos, "a", NULL, 0);
  assert_param(S(" ; a ; b=\"c\" ;d=e"), &pos, "b", "c", 1);
  assert_param(S(" ; a ; b=\"c\" ;d=e"), &pos, "d", "e", 0);
  assert_int_equal(wsm_http_param_next(S(" ; a ; b=\"c\" ;d=e"), &pos, &p), 0);
  pos = 0;
  assert_int_equal(wsm_http_param_next(S(""), &pos, &p), 0);
  pos = 0;
  assert_int_equal(wsm_http_param_next(NULL, 0, &pos, &p), 0);
  /* each parameter is introduced by ";" */
  pos = 0;
  assert_int_equal(wsm_http_param_next(S("a=1"), &pos, &p), WSM_E_HTTP_MALFORMED);
  pos = 0;
  assert_int_equal(wsm_http_param_next(S("xa=1"), &pos, &p), WSM_E_HTTP_MALFORMED);
  pos = 0;
  assert_int_equal(wsm_http_param_next(S(" xa"), &pos, &p), WSM_E_HTTP_MALFORMED);
  pos = 0;
  assert_int_equal(wsm_http_param_next(S(";"), &pos, &p), WSM_E_HTTP_MALFORMED);
  pos = 0;
  assert_int_equal(wsm_http_param_next(S("; a, b"), &pos, &p),
                   WSM_E_HTTP_MALFORMED);
  pos = 0;
  assert_int_equal(wsm_http_param_next(S("; a=\"x"), &pos, &p),
                   WSM_E_HTTP_MALFORMED);
  pos = 0;
  assert_param(S("; a; b c"), &pos, "a", NULL, 0);
  assert_int_equal(wsm_http_param_next(S("; a; b c"), &pos, &p),
                   WSM_E_HTTP_MALFORMED);
}

static void test_http_extension_linear_1mb(void **state) {
  static const char unit[] = "e; p=1; q=\"a,b;c\\\"\" ;r, "; /* 24 bytes */
  size_t len = 1u << 20, i, n = 0;
  char *buf = malloc(len);
  (void)state;
  assert_non_null(buf);
  assert_int_equal(sizeof unit - 1, 24);
  for (i = 0; i + 24 <= len; i += 24, n++) memcpy(buf + i, unit, 24);
  memset(buf + i, ' ', len - i);
  assert_int_equal(extension_walk(buf, len), (int)(n * 4));
  /* one extension with a huge parameter list */
  buf[0] = 'x';
  for (i = 1; i + 2 <= len; i += 2) memcpy(buf + i, ";a", 2);
  if (i < len) buf[i] = ' ';
  assert_int_equal(extension_walk(buf, len), (int)(1 + (len - 1) / 2));
  /* and the same ending in an unterminated quote: still linear, malformed */
  memcpy(buf + len - 5, ";a=\"x", 5);
  assert_int_equal(extension_walk(buf, len), WSM_E_HTTP_MALFORMED);
  free(buf);
}

#define MALFORMED_ENTRY(kind, name, text)                                      \
  cmocka_unit_test(test_http_##kind##_malformed_##name),
#define EXTENSION_MALFORMED_ENTRY(name, text)                                  \
  cmocka_unit_test(test_http_extension_malformed_##name),

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_http_request_rfc6455_sample),
      cmocka_unit_test(test_http_response_rfc6455_sample),
      cmocka_unit_test(test_http_response_no_reason_lenient),
      cmocka_unit_test(test_http_response_empty_reason),
      cmocka_unit_test(test_http_response_reason_tab_and_obs_text),
      cmocka_unit_test(test_http_response_status_range),
      cmocka_unit_test(test_http_request_leading_crlf_skipped),
      cmocka_unit_test(test_http_request_leading_crlf_only_needs_more),
      cmocka_unit_test(test_http_request_no_headers),
      cmocka_unit_test(test_http_request_other_targets_and_methods),
      cmocka_unit_test(test_http_request_trailing_bytes_untouched),
      cmocka_unit_test(test_http_request_incomplete_needs_more),
      cmocka_unit_test(test_http_header_value_trimmed),
      cmocka_unit_test(test_http_header_find_case_insensitive),
      cmocka_unit_test(test_http_header_find_case_fold_ascii_only),
      cmocka_unit_test(test_http_header_many_duplicates),
      cmocka_unit_test(test_http_header_next_handmade_fields),
      cmocka_unit_test(test_http_parse_scanned_null_and_invalid),
      cmocka_unit_test(test_http_parse_scanned_stale_restarts),
      cmocka_unit_test(test_http_parse_repeat_gives_same_answer),
      MALFORMED_CASES(MALFORMED_ENTRY)
      cmocka_unit_test(test_http_parse_malformed_detected_early),
      cmocka_unit_test(test_http_parse_random_heads_split_invariant),
      cmocka_unit_test(test_http_head_too_large_boundary),
      cmocka_unit_test(test_http_head_too_large_default),
      cmocka_unit_test(test_http_head_too_large_crlf_straddles_limit),
      cmocka_unit_test(test_http_head_too_large_before_late_error),
      cmocka_unit_test(test_http_head_too_large_leading_crlf_counted),
      cmocka_unit_test(test_http_parse_linear_long_value),
      cmocka_unit_test(test_http_parse_linear_many_headers),
      cmocka_unit_test(test_http_parse_linear_leading_crlf),
      cmocka_unit_test(test_http_parse_linear_long_reason),
      cmocka_unit_test(test_http_parse_resumes_without_rescan),
      cmocka_unit_test(test_http_list_next_basic),
      cmocka_unit_test(test_http_list_next_empty_elements),
      cmocka_unit_test(test_http_list_next_quoted_commas),
      cmocka_unit_test(test_http_list_next_unterminated_quote),
      cmocka_unit_test(test_http_list_next_bad_arguments),
      cmocka_unit_test(test_http_list_has_token_cases),
      cmocka_unit_test(test_http_list_linear_1mb),
      cmocka_unit_test(test_http_extension_rfc7692_offer),
      cmocka_unit_test(test_http_extension_no_params),
      cmocka_unit_test(test_http_extension_quoted_commas_semicolons),
      cmocka_unit_test(test_http_extension_quoted_escapes),
      cmocka_unit_test(test_http_extension_ows),
      cmocka_unit_test(test_http_extension_empty_elements),
      EXTENSION_MALFORMED_CASES(EXTENSION_MALFORMED_ENTRY)
      cmocka_unit_test(test_http_extension_malformed_second_after_first),
      cmocka_unit_test(test_http_extension_bad_arguments),
      cmocka_unit_test(test_http_param_next_standalone),
      cmocka_unit_test(test_http_extension_linear_1mb),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
