/* SPDX-License-Identifier: MIT */
/*
 * HTTP/1.1 heads (RFC 9112) and the header-value grammars the opening
 * handshake needs (RFC 9110 5.6, RFC 6455 9.1). Everything returned is a view
 * into the caller's bytes; nothing is copied and nothing is allocated.
 *
 * Head parsing is split so that a buffer presented again and again as it
 * grows costs linear time in all. Each byte is looked at once, with at most
 * three bytes of look-back, for the checks that need no context (byte
 * classes, CR/LF pairing, what may start a line). When a line's LF arrives,
 * that line alone is walked back once and checked against its grammar. So
 * every line is read a bounded number of times, whatever the split, and the
 * result depends only on the bytes presented, never on how they were split.
 */
#include "wsm_internal.h"

#include <limits.h>

/* RFC 9110 5.6.2: tchar */
int wsm_is_tchar(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
      (c >= '0' && c <= '9'))
    return 1;
  switch (c) {
  case '!': case '#': case '$': case '%': case '&': case '\'': case '*':
  case '+': case '-': case '.': case '^': case '_': case '`': case '|':
  case '~':
    return 1;
  default:
    return 0;
  }
}

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

/* RFC 9110 5.6.3: OWS = *( SP / HTAB ) */
static int is_ows(unsigned char c) { return c == ' ' || c == '\t'; }

/* RFC 9110 5.5: field-value bytes are HTAB, SP, VCHAR and obs-text. */
static int is_field_byte(unsigned char c) {
  return c == '\t' || (c >= 0x20 && c != 0x7F);
}

/* RFC 9110 5.6.4: qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text */
static int is_qdtext(unsigned char c) {
  return is_field_byte(c) && c != '"' && c != '\\';
}

static unsigned char ascii_lower(unsigned char c) {
  return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + ('a' - 'A')) : c;
}

int wsm_ascii_caseeq(const char *a, const char *b, size_t n) {
  size_t i;
  for (i = 0; i < n; i++)
    if (ascii_lower((unsigned char)a[i]) != ascii_lower((unsigned char)b[i]))
      return 0;
  return 1;
}

static size_t skip_ows(const char *s, size_t len, size_t i) {
  while (i < len && is_ows((unsigned char)s[i])) i++;
  return i;
}

static size_t skip_token(const char *s, size_t len, size_t i) {
  while (i < len && wsm_is_tchar((unsigned char)s[i])) i++;
  return i;
}

/*
 * Byte i of a status line (RFC 9112 4), for i < 13: "HTTP/" DIGIT "." DIGIT
 * SP 3DIGIT, then SP before the reason or, leniently, the CR of a line with
 * neither. The first status digit is 1-9 (struct wsm_http_head: 100-999).
 * A status line has no other rule (the reason's bytes are field bytes), so
 * these checks, made as the bytes arrive, are all it needs.
 */
static int status_byte_ok(size_t i, unsigned char c) {
  static const char prefix[] = "HTTP/";
  if (i < 5) return c == (unsigned char)prefix[i];
  switch (i) {
  case 5: case 7: case 10: case 11: return is_digit(c);
  case 6: return c == '.';
  case 8: return c == ' ';
  case 9: return c >= '1' && c <= '9';
  default: return c == ' ' || c == '\r';
  }
}

/* RFC 9112 3: method SP request-target SP HTTP-version. The target is one or
 * more VCHARs; its form (origin, absolute, ...) is for the caller to judge. */
static int request_line_ok(const uint8_t *d, size_t s, size_t e) {
  size_t k = s, t;
  while (k < e && wsm_is_tchar(d[k])) k++;
  if (k == s || k == e || d[k] != ' ') return 0;
  t = ++k;
  while (k < e && d[k] >= 0x21 && d[k] <= 0x7E) k++;
  if (k == t || k == e || d[k] != ' ') return 0;
  k++;
  /* RFC 9112 2.3: HTTP-version = "HTTP" "/" DIGIT "." DIGIT, case-sensitive */
  return e - k == 8 && memcmp(d + k, "HTTP/", 5) == 0 && is_digit(d[k + 5]) &&
         d[k + 6] == '.' && is_digit(d[k + 7]);
}

/* RFC 9112 5: field-name ":" OWS field-value OWS, with no white space before
 * the colon (5.1). The value's bytes were checked as they arrived. */
static int field_line_ok(const uint8_t *d, size_t s, size_t e) {
  size_t k = s;
  while (k < e && wsm_is_tchar(d[k])) k++;
  return k > s && k < e && d[k] == ':';
}

/* A line starting at s > 0 follows a CRLF; the line before it was empty when
 * another LF (or the start of data) precedes that CRLF. */
static int previous_line_empty(const uint8_t *d, size_t s) {
  return s == 2 || (s > 2 && d[s - 3] == '\n');
}

/*
 * The line [s, e) ended with the CRLF at e. Returns 1 if it is the empty line
 * that ends the head, 0 to go on, or WSM_E_HTTP_MALFORMED.
 *
 * An empty line ends the head unless it is one of the empty lines a server
 * may skip before the request-line (RFC 9112 2.2). Those are exactly the
 * empty lines at the start or after another empty line: any other empty line
 * would already have ended the head. The same reasoning finds the first line
 * without a scan from the start.
 */
static int line_end(const uint8_t *d, size_t e, int request) {
  size_t s = e;
  int first;
  while (s > 0 && d[s - 1] != '\n') s--;
  first = s == 0 || previous_line_empty(d, s);
  /* (a response never starts with an empty line: its byte 0 must be 'H') */
  if (s == e) return first ? 0 : 1;
  if (first) {
    if (request && !request_line_ok(d, s, e)) return WSM_E_HTTP_MALFORMED;
  } else if (!field_line_ok(d, s, e)) {
    return WSM_E_HTTP_MALFORMED;
  }
  return 0;
}

/* Fill h from a head of head_len bytes that was found valid. */
static void fill_head(struct wsm_http_head *h, const uint8_t *d,
                      size_t head_len, int request) {
  size_t s = 0, e;
  memset(h, 0, sizeof *h);
  while (s < head_len && d[s] == '\r') s += 2;
  e = s;
  while (e < head_len && d[e] != '\r') e++;
  if (request) {
    size_t k = s;
    while (d[k] != ' ') k++;
    h->method = (const char *)d + s;
    h->method_len = k - s;
    h->target = (const char *)d + k + 1;
    h->target_len = e - 9 - (k + 1);
    h->version_major = d[e - 3] - '0';
    h->version_minor = d[e - 1] - '0';
  } else {
    h->version_major = d[s + 5] - '0';
    h->version_minor = d[s + 7] - '0';
    h->status = (d[s + 9] - '0') * 100 + (d[s + 10] - '0') * 10 +
                (d[s + 11] - '0');
    if (e - s > 12) {
      h->reason = (const char *)d + s + 13;
      h->reason_len = e - (s + 13);
    } else {
      h->reason = (const char *)d + e;
      h->reason_len = 0;
    }
  }
  h->fields = (const char *)d + e + 2;
  h->fields_len = head_len - 2 - (e + 2);
  h->head_len = head_len;
}

static int parse_head(struct wsm_http_head *h, const uint8_t *d, size_t len,
                      size_t max_head, size_t *scanned, int request) {
  size_t limit = max_head ? max_head : WSM_HTTP_HEAD_MAX_DEFAULT;
  size_t end, i = 0;
  if (h == NULL || (d == NULL && len > 0)) return WSM_E_INVALID_ARGUMENT;
  /* the length is returned as an int */
  if (limit > (size_t)INT_MAX) limit = (size_t)INT_MAX;
  end = len < limit ? len : limit;
  /* A mark beyond the bytes we have means a different buffer: start over. */
  if (scanned != NULL && *scanned <= end) i = *scanned;
  for (; i < end; i++) {
    unsigned char c = d[i];
    unsigned char prev = i > 0 ? d[i - 1] : '\n';
    int rc = 0;
    if (prev == '\r' && c != '\n') {
      rc = WSM_E_HTTP_MALFORMED;          /* CR not followed by LF */
    } else if (c == '\n') {
      rc = prev == '\r' ? line_end(d, i - 1, request) : WSM_E_HTTP_MALFORMED;
    } else if (prev == '\n' && c != '\r' && !wsm_is_tchar(c)) {
      /* A line starts with a method or field-name token or is empty; this
       * also rejects obs-fold (RFC 9112 5.2). */
      rc = WSM_E_HTTP_MALFORMED;
    } else if (c != '\r' && !is_field_byte(c)) {
      rc = WSM_E_HTTP_MALFORMED;          /* NUL, other controls, DEL */
    } else if (!request && i < 13 && !status_byte_ok(i, c)) {
      rc = WSM_E_HTTP_MALFORMED;          /* not a status line: fail now */
    }
    if (rc != 0) {
      /* Leave the mark on this byte: asking again gives the same answer. */
      if (scanned != NULL) *scanned = i;
      if (rc < 0) return rc;
      fill_head(h, d, i + 1, request);
      return (int)(i + 1);
    }
  }
  if (scanned != NULL) *scanned = end;
  return len >= limit ? WSM_E_HTTP_HEAD_TOO_LARGE : 0;
}

int wsm_http_parse_request(struct wsm_http_head *h, const uint8_t *data,
                           size_t len, size_t max_head, size_t *scanned) {
  return parse_head(h, data, len, max_head, scanned, 1);
}

int wsm_http_parse_response(struct wsm_http_head *h, const uint8_t *data,
                            size_t len, size_t max_head, size_t *scanned) {
  return parse_head(h, data, len, max_head, scanned, 0);
}

/* Also reads fields a caller assembled by hand: a last line without CRLF, a
 * line without a colon (all name, empty value) and empty lines (skipped). */
int wsm_http_header_next(const struct wsm_http_head *h, size_t *pos,
                         struct wsm_http_header *out) {
  const char *f;
  size_t n;
  if (h == NULL || pos == NULL || out == NULL || h->fields == NULL) return 0;
  f = h->fields;
  n = h->fields_len;
  while (*pos < n) {
    size_t s = *pos, e = s, le, colon, v;
    while (e < n && f[e] != '\n') e++;
    *pos = e < n ? e + 1 : n;
    le = e;
    if (le > s && f[le - 1] == '\r') le--;
    if (le == s) continue;
    colon = s;
    while (colon < le && f[colon] != ':') colon++;
    v = colon < le ? skip_ows(f, le, colon + 1) : le;
    while (le > v && is_ows((unsigned char)f[le - 1])) le--;
    out->name = f + s;
    out->name_len = colon - s;
    out->value = f + v;
    out->value_len = le - v;
    return 1;
  }
  return 0;
}

size_t wsm_http_header_find(const struct wsm_http_head *h, const char *name,
                            struct wsm_http_header *out) {
  struct wsm_http_header cur;
  size_t pos = 0, count = 0, name_len;
  if (out != NULL) memset(out, 0, sizeof *out);
  if (name == NULL) return 0;
  name_len = strlen(name);
  while (wsm_http_header_next(h, &pos, &cur)) {
    if (cur.name_len != name_len || !wsm_ascii_caseeq(cur.name, name, name_len))
      continue;
    if (count == 0 && out != NULL) *out = cur;
    count++;
  }
  return count;
}

int wsm_http_list_next(const char *value, size_t len, size_t *pos,
                       const char **item, size_t *item_len) {
  size_t i;
  if (pos == NULL || *pos > len || (value == NULL && len > 0)) return 0;
  i = *pos;
  while (i < len) {
    size_t s, e;
    int quoted = 0;
    i = skip_ows(value, len, i);
    s = i;
    for (; i < len; i++) {
      char c = value[i];
      if (quoted) {
        if (c == '"') quoted = 0;
        else if (c == '\\' && i + 1 < len) i++;  /* RFC 9110 5.6.4 quoted-pair */
      } else if (c == ',') {
        break;
      } else if (c == '"') {
        quoted = 1;
      }
    }
    e = i;
    while (e > s && is_ows((unsigned char)value[e - 1])) e--;
    if (i < len) i++;                           /* the comma */
    if (e > s) {
      *pos = i;
      if (item != NULL) *item = value + s;
      if (item_len != NULL) *item_len = e - s;
      return 1;
    }
  }
  *pos = len;
  return 0;
}

int wsm_http_list_has_token(const char *value, size_t len, const char *token) {
  const char *item;
  size_t pos = 0, item_len, token_len;
  if (token == NULL) return 0;
  token_len = strlen(token);
  while (wsm_http_list_next(value, len, &pos, &item, &item_len))
    if (item_len == token_len && wsm_ascii_caseeq(item, token, token_len))
      return 1;
  return 0;
}

/*
 * One parameter starting at the ";" at s[i]: ";" OWS token OWS
 * [ "=" OWS ( token / quoted-string ) OWS ]. *next gets the index after it.
 */
static int scan_param(const char *s, size_t len, size_t i,
                      struct wsm_http_param *p, size_t *next) {
  size_t start;
  i = skip_ows(s, len, i + 1);
  start = i;
  i = skip_token(s, len, i);
  if (i == start) return WSM_E_HTTP_MALFORMED;
  p->name = s + start;
  p->name_len = i - start;
  p->value = NULL;
  p->value_len = 0;
  p->quoted = 0;
  i = skip_ows(s, len, i);
  if (i < len && s[i] == '=') {
    i = skip_ows(s, len, i + 1);
    if (i < len && s[i] == '"') {
      start = ++i;
      for (;;) {
        unsigned char c;
        if (i >= len) return WSM_E_HTTP_MALFORMED;   /* unterminated */
        c = (unsigned char)s[i];
        if (c == '"') break;
        if (c == '\\') {
          /* quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text ) */
          if (++i >= len || !is_field_byte((unsigned char)s[i]))
            return WSM_E_HTTP_MALFORMED;
        } else if (!is_qdtext(c)) {
          return WSM_E_HTTP_MALFORMED;
        }
        i++;
      }
      p->value = s + start;
      p->value_len = i - start;
      p->quoted = 1;
      i++;                                        /* the closing quote */
    } else {
      start = i;
      i = skip_token(s, len, i);
      if (i == start) return WSM_E_HTTP_MALFORMED;
      p->value = s + start;
      p->value_len = i - start;
    }
    i = skip_ows(s, len, i);
  }
  *next = i;
  return 0;
}

int wsm_http_extension_next(const char *value, size_t len, size_t *pos,
                            const char **name, size_t *name_len,
                            const char **params, size_t *params_len) {
  struct wsm_http_param p;
  size_t i, name_start, name_end, params_start, params_end;
  if (pos == NULL || *pos > len || (value == NULL && len > 0))
    return WSM_E_INVALID_ARGUMENT;
  /* RFC 9110 5.6.1: empty list elements are ignored */
  i = *pos;
  while (i < len && (is_ows((unsigned char)value[i]) || value[i] == ',')) i++;
  if (i == len) {
    *pos = len;
    return 0;
  }
  name_start = i;
  i = skip_token(value, len, i);
  if (i == name_start) return WSM_E_HTTP_MALFORMED;
  name_end = i;
  i = skip_ows(value, len, i);
  params_start = params_end = i;
  while (i < len && value[i] == ';') {
    int rc = scan_param(value, len, i, &p, &i);
    if (rc < 0) return rc;
    params_end = i;
  }
  if (i < len && value[i] != ',') return WSM_E_HTTP_MALFORMED;
  /* a parameter ends with a token byte or a quote, never with OWS */
  while (params_end > params_start &&
         is_ows((unsigned char)value[params_end - 1]))
    params_end--;
  *pos = i;
  if (name != NULL) *name = value + name_start;
  if (name_len != NULL) *name_len = name_end - name_start;
  if (params != NULL) *params = value + params_start;
  if (params_len != NULL) *params_len = params_end - params_start;
  return 1;
}

int wsm_http_param_next(const char *params, size_t len, size_t *pos,
                        struct wsm_http_param *out) {
  struct wsm_http_param p;
  size_t i;
  int rc;
  if (pos == NULL || *pos > len || (params == NULL && len > 0))
    return WSM_E_INVALID_ARGUMENT;
  i = skip_ows(params, len, *pos);
  if (i == len) {
    *pos = len;
    return 0;
  }
  if (params[i] != ';') return WSM_E_HTTP_MALFORMED;
  rc = scan_param(params, len, i, &p, &i);
  if (rc < 0) return rc;
  if (i < len && params[i] != ';') return WSM_E_HTTP_MALFORMED;
  *pos = i;
  if (out != NULL) *out = p;
  return 1;
}
