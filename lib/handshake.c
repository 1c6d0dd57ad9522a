/* SPDX-License-Identifier: MIT */
/*
 * The opening handshake (RFC 6455 section 4; RFC 8441 for HTTP/2): checking
 * requests and responses, and writing them.
 */
#include "wsm_internal.h"

/* RFC 6455 1.3: the GUID every accept key is hashed with. */
static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/* ---- headers from a parsed head or from the host's own array ------------ */

struct wsm_header_view {
  const struct wsm_http_head *head;   /* either this */
  const struct wsm_http_header *list; /* or these count headers */
  size_t count;
};

static int view_next(const struct wsm_header_view *v, size_t *pos,
                     struct wsm_http_header *out) {
  if (v->head) return wsm_http_header_next(v->head, pos, out);
  if (*pos >= v->count) return 0;
  *out = v->list[(*pos)++];
  return 1;
}

static int name_is(const struct wsm_http_header *h, const char *name) {
  size_t n = strlen(name);
  return h->name_len == n && wsm_ascii_caseeq(h->name, name, n);
}

/* How many headers are called name; *first gets the first of them. */
static size_t view_find(const struct wsm_header_view *v, const char *name,
                        struct wsm_http_header *first) {
  struct wsm_http_header h;
  size_t pos = 0, count = 0;
  while (view_next(v, &pos, &h)) {
    if (!name_is(&h, name)) continue;
    if (count++ == 0 && first) *first = h;
  }
  return count;
}

/* Does any header called name list token (RFC 9110 5.3: repeated headers are
 * one comma-separated list)? */
static int view_has_token(const struct wsm_header_view *v, const char *name,
                          const char *token) {
  struct wsm_http_header h;
  size_t pos = 0;
  while (view_next(v, &pos, &h))
    if (name_is(&h, name) && wsm_http_list_has_token(h.value, h.value_len, token))
      return 1;
  return 0;
}

static int value_is(const struct wsm_http_header *h, const char *want) {
  size_t n = strlen(want);
  return h->value_len == n && memcmp(h->value, want, n) == 0;
}

static int is_token(const char *s, size_t len) {
  if (len == 0) return 0;
  for (size_t i = 0; i < len; i++)
    if (!wsm_is_tchar((unsigned char)s[i])) return 0;
  return 1;
}

/* Sec-WebSocket-Protocol is 1#token (RFC 6455 11.3.4): at least one. */
static int protocols_parse(const char *value, size_t len) {
  size_t pos = 0, n, count = 0;
  const char *item;
  while (wsm_http_list_next(value, len, &pos, &item, &n) == 1) {
    if (!is_token(item, n)) return 0;
    count++;
  }
  return count > 0;
}

/* RFC 6455 9.1: a quoted parameter value, unescaped, must still be a token. */
static int quoted_value_is_token(const char *s, size_t len) {
  size_t n = 0;
  for (size_t i = 0; i < len; i++, n++) {
    if (s[i] == '\\' && i + 1 < len) i++;
    if (!wsm_is_tchar((unsigned char)s[i])) return 0;
  }
  return n > 0;
}

/* Sec-WebSocket-Extensions follows RFC 6455 9.1: at least one extension. */
static int extensions_parse(const char *value, size_t len) {
  size_t pos = 0, name_len, params_len, count = 0;
  const char *name, *params;
  int rc;
  while ((rc = wsm_http_extension_next(value, len, &pos, &name, &name_len, &params,
                                       &params_len)) == 1) {
    size_t ppos = 0;
    struct wsm_http_param p;
    while ((rc = wsm_http_param_next(params, params_len, &ppos, &p)) == 1)
      if (p.quoted && !quoted_value_is_token(p.value, p.value_len)) return 0;
    if (rc < 0) return 0;
    count++;
  }
  return rc == 0 && count > 0;
}

static int offers_parse(const struct wsm_header_view *v) {
  struct wsm_http_header h;
  size_t pos = 0;
  while (view_next(v, &pos, &h)) {
    if (name_is(&h, "Sec-WebSocket-Protocol") && !protocols_parse(h.value, h.value_len))
      return 0;
    if (name_is(&h, "Sec-WebSocket-Extensions") && !extensions_parse(h.value, h.value_len))
      return 0;
  }
  return 1;
}

/* ---- accept keys --------------------------------------------------------- */

static void accept_digest(const char *key, size_t key_len, uint8_t digest[20]) {
  struct wsm_sha1 s;
  wsm_sha1_init(&s);
  wsm_sha1_update(&s, (const uint8_t *)key, key_len);
  wsm_sha1_update(&s, (const uint8_t *)ws_guid, sizeof ws_guid - 1);
  wsm_sha1_final(&s, digest);
}

int wsm_hs_key_digest(const char *key, size_t key_len, uint8_t digest[20]) {
  uint8_t raw[18]; /* room for 24 characters' worth, so 17 or 18 show up */
  /* RFC 6455 4.2.1 item 5: the key is base64 of 16 bytes. */
  if (wsm_base64_decode(raw, sizeof raw, key, key_len) != 16) return WSM_E_HANDSHAKE_KEY;
  accept_digest(key, key_len, digest);
  return 0;
}

int wsm_accept_key(const char *key, size_t key_len, char accept[WSM_ACCEPT_SIZE]) {
  uint8_t digest[20];
  int rc;
  if (!key || !accept) return WSM_E_INVALID_ARGUMENT;
  rc = wsm_hs_key_digest(key, key_len, digest);
  if (rc) return rc;
  accept[wsm_base64_encode(accept, digest, sizeof digest)] = '\0';
  return 0;
}

/* ---- checking requests (server) ------------------------------------------ */

/* RFC 9112 3.2 and RFC 3986 3.2.2: uri-host [ ":" port ], where the host is a
 * reg-name, an IPv4 address or a bracketed IP literal. */
static int host_value_ok(const char *s, size_t len) {
  size_t i = 0;
  if (len == 0) return 0;
  if (s[0] == '[') {
    while (i < len && s[i] != ']') {
      unsigned char b = (unsigned char)s[++i];
      if (i < len && b != ']' && !(wsm_is_tchar(b) || b == ':')) return 0;
    }
    if (i == len) return 0;
    i++;
  } else {
    for (; i < len && s[i] != ':'; i++) {
      unsigned char b = (unsigned char)s[i];
      /* unreserved, sub-delims and pct-encoded */
      if (!((b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') ||
            strchr("-._~%!$&'()*+,;=", b)))
        return 0;
    }
    if (i == 0) return 0;
  }
  if (i == len) return 1;
  if (s[i++] != ':') return 0;
  for (; i < len; i++)
    if (s[i] < '0' || s[i] > '9') return 0;
  return 1;
}

/* RFC 6455 4.2.1 item 1: the resource name (origin-form), or an absolute
 * http or https URI. */
static int target_ok(const char *t, size_t len) {
  if (len > 0 && t[0] == '/') return 1;
  return (len > 7 && wsm_ascii_caseeq(t, "http://", 7)) ||
         (len > 8 && wsm_ascii_caseeq(t, "https://", 8));
}

/* An upgrade request carries no body: a body would be read as frames. */
static int has_body(const struct wsm_header_view *v) {
  struct wsm_http_header h;
  if (view_find(v, "Transfer-Encoding", NULL)) return 1;
  switch (view_find(v, "Content-Length", &h)) {
  case 0: return 0;
  case 1: return !value_is(&h, "0");
  default: return 1;
  }
}

static int check_http1_request(const struct wsm_header_view *v, int major, int minor,
                               const char *method, size_t method_len,
                               uint8_t digest[20]) {
  struct wsm_http_header key, version, host;
  /* RFC 6455 4.2.1, in its order. */
  if (method_len != 3 || memcmp(method, "GET", 3) != 0) return WSM_E_HANDSHAKE_METHOD;
  if (major != 1 || minor < 1) return WSM_E_HANDSHAKE_HTTP_VERSION;
  /* RFC 9112 3.2: exactly one Host, with a valid value. */
  if (view_find(v, "Host", &host) != 1 || !host_value_ok(host.value, host.value_len))
    return WSM_E_HANDSHAKE_HOST;
  if (has_body(v)) return WSM_E_HANDSHAKE_BODY;
  if (!view_has_token(v, "Upgrade", "websocket")) return WSM_E_HANDSHAKE_UPGRADE;
  if (!view_has_token(v, "Connection", "Upgrade")) return WSM_E_HANDSHAKE_CONNECTION;
  switch (view_find(v, "Sec-WebSocket-Key", &key)) {
  case 0: return WSM_E_HANDSHAKE_KEY;
  case 1: break;
  default: return WSM_E_HANDSHAKE_DUPLICATE;
  }
  if (wsm_hs_key_digest(key.value, key.value_len, digest) != 0) return WSM_E_HANDSHAKE_KEY;
  switch (view_find(v, "Sec-WebSocket-Version", &version)) {
  case 0: return WSM_E_HANDSHAKE_VERSION;
  case 1: break;
  default: return WSM_E_HANDSHAKE_DUPLICATE;
  }
  if (!value_is(&version, "13")) return WSM_E_HANDSHAKE_VERSION;
  if (!offers_parse(v)) return WSM_E_HANDSHAKE_SYNTAX;
  return 0;
}

/* HTTP/2 field names are lower case (RFC 9113 8.2.1). */
static int names_lower_case(const struct wsm_header_view *v) {
  struct wsm_http_header h;
  size_t pos = 0;
  while (view_next(v, &pos, &h))
    for (size_t i = 0; i < h.name_len; i++)
      if (h.name[i] >= 'A' && h.name[i] <= 'Z') return 0;
  return 1;
}

/* RFC 8441 4 and 5: extended CONNECT; no key, no accept. */
static int check_h2_request(const struct wsm_header_view *v, const char *method,
                            size_t method_len) {
  struct wsm_http_header h;
  switch (view_find(v, ":method", &h)) {
  case 0: break;
  case 1:
    method = h.value;
    method_len = h.value_len;
    break;
  default: return WSM_E_HANDSHAKE_H2;
  }
  if (!method || method_len != 7 || memcmp(method, "CONNECT", 7) != 0)
    return WSM_E_HANDSHAKE_METHOD;
  if (!names_lower_case(v)) return WSM_E_HANDSHAKE_H2;
  if (view_find(v, ":protocol", &h) != 1 || !value_is(&h, "websocket"))
    return WSM_E_HANDSHAKE_H2;
  if (view_find(v, ":scheme", &h) != 1 || !(value_is(&h, "https") || value_is(&h, "http")) ||
      view_find(v, ":path", NULL) != 1 || view_find(v, ":authority", NULL) != 1)
    return WSM_E_HANDSHAKE_H2;
  /* RFC 8441 5: the HTTP/1.1 upgrade headers MUST NOT be used. */
  if (view_find(v, "connection", NULL) || view_find(v, "upgrade", NULL))
    return WSM_E_HANDSHAKE_H2;
  switch (view_find(v, "sec-websocket-version", &h)) {
  case 0: return WSM_E_HANDSHAKE_VERSION;
  case 1: break;
  default: return WSM_E_HANDSHAKE_DUPLICATE;
  }
  if (!value_is(&h, "13")) return WSM_E_HANDSHAKE_VERSION;
  if (!offers_parse(v)) return WSM_E_HANDSHAKE_SYNTAX;
  return 0;
}

int wsm_hs_check_request(const struct wsm_http_head *head, uint8_t digest[20]) {
  struct wsm_header_view v = {head, NULL, 0};
  int rc = check_http1_request(&v, head->version_major, head->version_minor, head->method,
                               head->method_len, digest);
  if (rc == 0 && !target_ok(head->target, head->target_len)) rc = WSM_E_HANDSHAKE_TARGET;
  return rc;
}

int wsm_upgrade_check(const struct wsm_upgrade_request *req, char accept[WSM_ACCEPT_SIZE]) {
  struct wsm_header_view v;
  uint8_t digest[20];
  int rc;
  if (!req || (!req->headers && req->header_count)) return WSM_E_INVALID_ARGUMENT;
  v.head = NULL;
  v.list = req->headers;
  v.count = req->header_count;
  if (req->http_major == 2) {
    rc = check_h2_request(&v, req->method, req->method_len);
    if (rc == 0 && accept) accept[0] = '\0';
    return rc;
  }
  if (!req->method) return WSM_E_HANDSHAKE_METHOD;
  rc = check_http1_request(&v, req->http_major, req->http_minor, req->method,
                           req->method_len, digest);
  if (rc == 0 && accept) accept[wsm_base64_encode(accept, digest, sizeof digest)] = '\0';
  return rc;
}

int wsm_handshake_status(int err) {
  switch (err) {
  case WSM_E_HANDSHAKE_VERSION: return 426;
  case WSM_E_HTTP_HEAD_TOO_LARGE: return 431;
  case WSM_E_HTTP_MALFORMED:
  case WSM_E_HANDSHAKE_METHOD:
  case WSM_E_HANDSHAKE_HTTP_VERSION:
  case WSM_E_HANDSHAKE_HOST:
  case WSM_E_HANDSHAKE_UPGRADE:
  case WSM_E_HANDSHAKE_CONNECTION:
  case WSM_E_HANDSHAKE_KEY:
  case WSM_E_HANDSHAKE_DUPLICATE:
  case WSM_E_HANDSHAKE_SYNTAX:
  case WSM_E_HANDSHAKE_H2:
  case WSM_E_HANDSHAKE_BODY:
  case WSM_E_HANDSHAKE_TARGET:
    return 400;
  default:
    return 0;
  }
}

/* ---- checking responses (client) ----------------------------------------- */

static int offered_protocol(const char *const *offered, size_t count, const char *p,
                            size_t len) {
  for (size_t i = 0; i < count; i++)
    if (strlen(offered[i]) == len && memcmp(offered[i], p, len) == 0) return 1;
  return 0;
}

/* Is the extension called name among the ones in the offer we sent? */
static int offered_extension(const char *offer, const char *name, size_t len) {
  size_t pos = 0, n, params_len;
  const char *offered, *params;
  if (!offer) return 0;
  while (wsm_http_extension_next(offer, strlen(offer), &pos, &offered, &n, &params,
                                 &params_len) == 1)
    if (n == len && wsm_ascii_caseeq(offered, name, n)) return 1;
  return 0;
}

int wsm_hs_check_response(const struct wsm_http_head *head, const uint8_t digest[20],
                          const char *const *protocols, size_t protocol_count,
                          const char *extensions) {
  struct wsm_header_view v = {head, NULL, 0};
  struct wsm_http_header h;
  char want[WSM_BASE64_LEN(20)];
  size_t pos = 0;

  /* RFC 6455 4.1, the client's checks of the server's response, in order. */
  if (head->status != 101) return WSM_E_HANDSHAKE_STATUS;
  if (head->version_major != 1 || head->version_minor < 1) return WSM_E_HANDSHAKE_HTTP_VERSION;
  /* item 2: the Upgrade value itself is "websocket", not a list with it */
  if (view_find(&v, "Upgrade", &h) != 1 || h.value_len != 9 ||
      !wsm_ascii_caseeq(h.value, "websocket", 9))
    return WSM_E_HANDSHAKE_UPGRADE;
  if (!view_has_token(&v, "Connection", "Upgrade")) return WSM_E_HANDSHAKE_CONNECTION;
  switch (view_find(&v, "Sec-WebSocket-Accept", &h)) {
  case 0: return WSM_E_HANDSHAKE_ACCEPT;
  case 1: break;
  default: return WSM_E_HANDSHAKE_DUPLICATE;
  }
  wsm_base64_encode(want, digest, 20);
  if (h.value_len != sizeof want || memcmp(h.value, want, sizeof want) != 0)
    return WSM_E_HANDSHAKE_ACCEPT;

  switch (view_find(&v, "Sec-WebSocket-Protocol", &h)) {
  case 0: break;
  case 1:
    /* one token, and one we offered */
    if (!is_token(h.value, h.value_len)) return WSM_E_HANDSHAKE_SYNTAX;
    if (!offered_protocol(protocols, protocol_count, h.value, h.value_len))
      return WSM_E_HANDSHAKE_PROTOCOL;
    break;
  default: return WSM_E_HANDSHAKE_DUPLICATE;
  }

  /* Errata 3433: the extensions may be split over several headers. */
  while (view_next(&v, &pos, &h)) {
    size_t epos = 0, n, params_len;
    const char *name, *params;
    int rc;
    if (!name_is(&h, "Sec-WebSocket-Extensions")) continue;
    if (!extensions_parse(h.value, h.value_len)) return WSM_E_HANDSHAKE_SYNTAX;
    while ((rc = wsm_http_extension_next(h.value, h.value_len, &epos, &name, &n, &params,
                                         &params_len)) == 1)
      if (!offered_extension(extensions, name, n)) return WSM_E_HANDSHAKE_EXTENSION;
  }
  return 0;
}

/* ---- writing heads ------------------------------------------------------- */

/* Appends what fits and counts everything, so that a short buffer still
 * learns the size it needed. */
struct writer {
  uint8_t *out;
  size_t cap, len;
};

static void put(struct writer *w, const char *s, size_t n) {
  if (w->len < w->cap && n) {
    size_t room = w->cap - w->len;
    memcpy(w->out + w->len, s, n < room ? n : room);
  }
  w->len = n > SIZE_MAX - w->len ? SIZE_MAX : w->len + n;
}

static void puts0(struct writer *w, const char *s) { put(w, s, strlen(s)); }

/* size_t, not uint64_t: no 64-bit division helpers on 32-bit targets. */
static void put_uint(struct writer *w, size_t v) {
  char digits[20];
  size_t n = 0;
  do {
    digits[sizeof digits - 1 - n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  put(w, digits + sizeof digits - n, n);
}

static void put_header(struct writer *w, const char *name, const char *value, size_t len) {
  puts0(w, name);
  put(w, ": ", 2);
  put(w, value, len);
  put(w, "\r\n", 2);
}

static int finish(const struct writer *w, size_t *written) {
  *written = w->len;
  return w->len > w->cap ? WSM_E_BUFFER_TOO_SMALL : 0;
}

/* A value the host gives us must not smuggle in a line break (header
 * injection) or other control characters. */
static int is_safe_value(const char *s, size_t len) {
  for (size_t i = 0; i < len; i++) {
    unsigned char b = (unsigned char)s[i];
    if ((b < 0x20 && b != '\t') || b == 0x7F) return 0;
  }
  return 1;
}

/* Headers each writer emits itself: a host's extra headers may not repeat
 * them, so that no message carries two answers to one question. */
static const char *const request_own[] = {
    "Host", "Upgrade", "Connection", "Sec-WebSocket-Key", "Sec-WebSocket-Version",
    "Sec-WebSocket-Protocol", "Sec-WebSocket-Extensions", "Origin", NULL};
static const char *const accept_own[] = {
    "Upgrade", "Connection", "Sec-WebSocket-Accept", "Sec-WebSocket-Protocol",
    "Sec-WebSocket-Extensions", "Content-Length", "Transfer-Encoding", NULL};
static const char *const reject_own[] = {
    "Content-Length", "Transfer-Encoding", "Connection", "Sec-WebSocket-Version", NULL};

static int extra_headers_ok(const struct wsm_http_header *h, size_t count,
                            const char *const *own) {
  if (!h && count) return 0;
  for (size_t i = 0; i < count; i++) {
    if (!h[i].name || !is_token(h[i].name, h[i].name_len) || (!h[i].value && h[i].value_len) ||
        !is_safe_value(h[i].value, h[i].value_len))
      return 0;
    for (const char *const *o = own; *o; o++)
      if (name_is(&h[i], *o)) return 0;
  }
  return 1;
}

/* A host for the Host header: a reg-name or IPv4 address, or an IPv6
 * address (which the writer brackets). */
static int client_host_ok(const char *host) {
  size_t n = strlen(host), colons = 0;
  if (n == 0) return 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char b = (unsigned char)host[i];
    if (b == ':') colons++;
    else if (!((b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') ||
               b == '-' || b == '.' || b == '_' || b == '~' || b == '%'))
      return 0;
  }
  return colons == 0 || colons >= 2; /* "name:port" belongs in the port field */
}

static void put_extra_headers(struct writer *w, const struct wsm_http_header *h,
                              size_t count) {
  for (size_t i = 0; i < count; i++) {
    put(w, h[i].name, h[i].name_len);
    put(w, ": ", 2);
    put(w, h[i].value, h[i].value_len);
    put(w, "\r\n", 2);
  }
}

static int is_safe_string(const char *s) { return is_safe_value(s, strlen(s)); }

/* RFC 3986 request target characters we allow: visible ASCII, no '#'. */
static int is_target(const char *s) {
  for (; *s; s++)
    if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7F || *s == '#') return 0;
  return 1;
}

int wsm_hs_write_request(const struct wsm_client_request *r, const uint8_t nonce[16],
                         uint8_t digest[20], uint8_t *out, size_t cap, size_t *written) {
  struct writer w = {out, cap, 0};
  char key[WSM_BASE64_LEN(16)];
  const char *path = r->path ? r->path : "/";

  if (!r->host || !client_host_ok(r->host)) return WSM_E_INVALID_ARGUMENT;
  if (path[0] != '/' || !is_target(path) || (r->query && !is_target(r->query)))
    return WSM_E_INVALID_ARGUMENT;
  if ((r->origin && !is_safe_string(r->origin)) ||
      (r->extensions && *r->extensions &&
       (!is_safe_string(r->extensions) ||
        !extensions_parse(r->extensions, strlen(r->extensions)))))
    return WSM_E_INVALID_ARGUMENT;
  if (!r->protocols && r->protocol_count) return WSM_E_INVALID_ARGUMENT;
  /* RFC 6455 4.1 item 10: tokens, all unique. */
  for (size_t i = 0; i < r->protocol_count; i++) {
    if (!r->protocols[i] || !is_token(r->protocols[i], strlen(r->protocols[i])))
      return WSM_E_INVALID_ARGUMENT;
    for (size_t j = 0; j < i; j++)
      if (strcmp(r->protocols[i], r->protocols[j]) == 0) return WSM_E_INVALID_ARGUMENT;
  }
  if (!extra_headers_ok(r->headers, r->header_count, request_own)) return WSM_E_INVALID_ARGUMENT;

  wsm_base64_encode(key, nonce, 16);
  accept_digest(key, sizeof key, digest);

  /* RFC 6455 4.1: the client's opening handshake. */
  puts0(&w, "GET ");
  puts0(&w, path);
  if (r->query) {
    put(&w, "?", 1);
    puts0(&w, r->query);
  }
  puts0(&w, " HTTP/1.1\r\nHost: ");
  if (strchr(r->host, ':')) { /* an IPv6 literal goes in brackets */
    put(&w, "[", 1);
    puts0(&w, r->host);
    put(&w, "]", 1);
  } else {
    puts0(&w, r->host);
  }
  if (r->port) {
    put(&w, ":", 1);
    put_uint(&w, r->port);
  }
  puts0(&w, "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n");
  put_header(&w, "Sec-WebSocket-Key", key, sizeof key);
  puts0(&w, "Sec-WebSocket-Version: 13\r\n");
  if (r->origin) put_header(&w, "Origin", r->origin, strlen(r->origin));
  if (r->protocol_count) {
    puts0(&w, "Sec-WebSocket-Protocol: ");
    for (size_t i = 0; i < r->protocol_count; i++) {
      if (i) put(&w, ", ", 2);
      puts0(&w, r->protocols[i]);
    }
    put(&w, "\r\n", 2);
  }
  /* Never an empty extensions header: some peers choke on it. */
  if (r->extensions && *r->extensions)
    put_header(&w, "Sec-WebSocket-Extensions", r->extensions, strlen(r->extensions));
  put_extra_headers(&w, r->headers, r->header_count);
  put(&w, "\r\n", 2);
  return finish(&w, written);
}

static int request_offers_protocol(const struct wsm_http_head *req, const char *p) {
  struct wsm_http_header h;
  size_t pos = 0;
  while (wsm_http_header_next(req, &pos, &h)) {
    size_t ipos = 0, n;
    const char *item;
    if (!name_is(&h, "Sec-WebSocket-Protocol")) continue;
    while (wsm_http_list_next(h.value, h.value_len, &ipos, &item, &n) == 1)
      if (n == strlen(p) && memcmp(item, p, n) == 0) return 1;
  }
  return 0;
}

/* RFC 6455 4.2.2: every extension in the answer was in the client's offer. */
static int request_offers_extensions(const struct wsm_http_head *req, const char *answer) {
  size_t pos = 0, n, params_len;
  const char *name, *params;
  while (wsm_http_extension_next(answer, strlen(answer), &pos, &name, &n, &params,
                                 &params_len) == 1) {
    struct wsm_http_header h;
    size_t hpos = 0;
    int found = 0;
    while (!found && wsm_http_header_next(req, &hpos, &h)) {
      size_t epos = 0, m, plen;
      const char *offered, *p;
      if (!name_is(&h, "Sec-WebSocket-Extensions")) continue;
      while (wsm_http_extension_next(h.value, h.value_len, &epos, &offered, &m, &p, &plen) == 1)
        if (m == n && wsm_ascii_caseeq(offered, name, n)) found = 1;
    }
    if (!found) return 0;
  }
  return 1;
}

const char *wsm_select_protocol(const struct wsm_http_head *request,
                                const char *const *supported, size_t n) {
  struct wsm_http_header h;
  size_t pos = 0;
  if (!request || (!supported && n)) return NULL;
  while (wsm_http_header_next(request, &pos, &h)) {
    size_t ipos = 0, len;
    const char *item;
    if (!name_is(&h, "Sec-WebSocket-Protocol")) continue;
    while (wsm_http_list_next(h.value, h.value_len, &ipos, &item, &len) == 1)
      for (size_t i = 0; i < n; i++)
        if (supported[i] && strlen(supported[i]) == len && memcmp(supported[i], item, len) == 0)
          return supported[i];
  }
  return NULL;
}

int wsm_hs_write_accept(const struct wsm_server_accept *a, const uint8_t digest[20],
                        uint8_t *out, size_t cap, size_t *written) {
  struct writer w = {out, cap, 0};
  char accept[WSM_BASE64_LEN(20)];
  const char *protocol = a && a->protocol && *a->protocol ? a->protocol : NULL;
  const char *extensions = a && a->extensions && *a->extensions ? a->extensions : NULL;

  if (a && !extra_headers_ok(a->headers, a->header_count, accept_own))
    return WSM_E_INVALID_ARGUMENT;
  if (protocol && (!is_token(protocol, strlen(protocol)) ||
                   (a->request && !request_offers_protocol(a->request, protocol))))
    return WSM_E_INVALID_ARGUMENT;
  if (extensions && (!is_safe_string(extensions) ||
                     !extensions_parse(extensions, strlen(extensions)) ||
                     (a->request && !request_offers_extensions(a->request, extensions))))
    return WSM_E_INVALID_ARGUMENT;

  wsm_base64_encode(accept, digest, 20);
  /* RFC 6455 4.2.2 item 5. */
  puts0(&w, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\n");
  put_header(&w, "Sec-WebSocket-Accept", accept, sizeof accept);
  if (protocol) put_header(&w, "Sec-WebSocket-Protocol", protocol, strlen(protocol));
  if (extensions) put_header(&w, "Sec-WebSocket-Extensions", extensions, strlen(extensions));
  if (a) put_extra_headers(&w, a->headers, a->header_count);
  put(&w, "\r\n", 2);
  return finish(&w, written);
}

static const char *reason_phrase(int status) {
  switch (status) {
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 426: return "Upgrade Required";
  case 429: return "Too Many Requests";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 503: return "Service Unavailable";
  default: return status < 500 ? "Client Error" : "Server Error";
  }
}

int wsm_hs_write_reject(int status, const struct wsm_http_header *headers, size_t count,
                        const uint8_t *body, size_t body_len, uint8_t *out, size_t cap,
                        size_t *written) {
  struct writer w = {out, cap, 0};
  if (status < 400 || status > 599 || !extra_headers_ok(headers, count, reject_own) ||
      (!body && body_len))
    return WSM_E_INVALID_ARGUMENT;
  puts0(&w, "HTTP/1.1 ");
  put_uint(&w, (size_t)status);
  put(&w, " ", 1);
  puts0(&w, reason_phrase(status));
  put(&w, "\r\n", 2);
  /* RFC 6455 4.4: tell a client with another version which one we speak. */
  if (status == 426) puts0(&w, "Sec-WebSocket-Version: 13\r\n");
  put_extra_headers(&w, headers, count);
  puts0(&w, "Content-Length: ");
  put_uint(&w, body_len);
  puts0(&w, "\r\nConnection: close\r\n\r\n");
  put(&w, (const char *)body, body_len);
  return finish(&w, written);
}
