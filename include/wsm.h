/* SPDX-License-Identifier: MIT */
/*
 * wsm -- a sans-I/O WebSocket protocol engine (RFC 6455).
 *
 * Conventions
 *
 *   Memory    wsm never allocates. Every object is a struct of published size
 *             that the caller places where it likes (stack, array, inside its
 *             own connection object). Output goes into caller buffers; a buffer
 *             that is too small is an ordinary error (WSM_E_BUFFER_TOO_SMALL)
 *             and the size that was needed is reported.
 *   Input     wsm_conn_recv() consumes bytes until it has one event for you.
 *             Bytes it did not consume must be presented again, first, with
 *             newer bytes appended: wsm never keeps a copy of a partial frame
 *             header or control frame, so you hold at most WSM_RECV_HOLD_MAX
 *             unconsumed bytes while framing (more during the handshake).
 *             Payload is unmasked in place: input buffers must be writable.
 *   Pointers  Pointers in an event point into your input buffer (or into the
 *             message buffer you gave wsm) and stay valid until you change
 *             that buffer.
 *   NULL      A NULL pointer with length 0 is an empty byte string.
 *   Errors    Functions return 0 (or a count) on success and a negative
 *             WSM_E_* code on failure. A connection that failed stays failed:
 *             every later call returns the same code.
 *   Threads   No global mutable state. Different objects may be used from
 *             different threads; one object must not be used concurrently.
 *   Time      wsm reads no clock: you pass milliseconds from any monotonic
 *             source to wsm_conn_tick().
 *
 * Private fields: struct layouts are published only so that you can allocate
 * them. Their fields are private; with GCC or Clang, touching one draws a
 * deprecation warning.
 */
#ifndef WSM_H
#define WSM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WSM_VERSION_MAJOR 0
#define WSM_VERSION_MINOR 1
#define WSM_VERSION_PATCH 0
#define WSM_VERSION_STRING "0.1.0"

/* Linkage of every public function. The single header sets it to "static"
 * when WSM_STATIC is defined; a shared build exports only these. */
#ifndef WSM_API
#if defined(_WIN32) && defined(WSM_SHARED)
#ifdef WSM_BUILDING
#define WSM_API __declspec(dllexport)
#else
#define WSM_API __declspec(dllimport)
#endif
#elif defined(__GNUC__) || defined(__clang__)
#define WSM_API __attribute__((visibility("default")))
#else
#define WSM_API
#endif
#endif

#if (defined(__GNUC__) || defined(__clang__)) && !defined(WSM_ALLOW_PRIVATE_ACCESS)
#define WSM_PRIVATE __attribute__((deprecated("private field of wsm; use the API")))
#else
#define WSM_PRIVATE
#endif

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */
/* ------------------------------------------------------------------------ */

/*
 * X(name, value, close code sent to the peer (0: none), text).
 * Values are stable: new codes are only ever appended.
 */
#define WSM_ERROR_MAP(X)                                                        \
  X(OK, 0, 0, "success")                                                       \
  X(INVALID_ARGUMENT, -1, 0, "invalid argument")                               \
  X(BUFFER_TOO_SMALL, -2, 0, "output buffer too small")                        \
  X(WRONG_STATE, -3, 0, "call not valid in the connection's current state")    \
  X(CLOSE_SENT, -4, 0, "a close frame was already sent: no more frames may be sent") \
  X(NO_MESSAGE_OPEN, -5, 0, "no outgoing message is open to continue")         \
  X(MESSAGE_OPEN, -6, 0, "an outgoing message is still open: finish it first") \
  X(NO_RANDOM, -7, 0, "no random source: set wsm_config.random")               \
  X(RANDOM_FAILED, -8, 0, "the random source failed")                          \
  X(INVALID_CLOSE_CODE, -9, 0, "close code may not be sent")                   \
  X(CONTROL_TOO_LONG, -10, 1002, "control frame payload longer than 125 bytes")\
  X(CONTROL_FRAGMENTED, -11, 1002, "control frame without FIN")                \
  X(RESERVED_BITS, -12, 1002, "reserved bit set without an extension that defines it") \
  X(RESERVED_OPCODE, -13, 1002, "reserved opcode")                             \
  X(MASK_REQUIRED, -14, 1002, "client frame not masked")                       \
  X(MASK_FORBIDDEN, -15, 1002, "server frame masked")                          \
  X(LENGTH_TOP_BIT, -16, 1002, "64-bit payload length with its top bit set")   \
  X(LENGTH_NOT_MINIMAL, -17, 1002, "payload length not in its minimal encoding") \
  X(UNEXPECTED_CONTINUATION, -18, 1002, "continuation frame with no message open") \
  X(EXPECTED_CONTINUATION, -19, 1002, "new data frame while a fragmented message is open") \
  X(INVALID_UTF8, -20, 1007, "invalid UTF-8 in a text message")                \
  X(CLOSE_PAYLOAD_1_BYTE, -21, 1002, "close frame with a 1-byte payload")      \
  X(CLOSE_CODE_INVALID, -22, 1002, "close frame with a code not allowed on the wire") \
  X(CLOSE_REASON_UTF8, -23, 1007, "close reason is not valid UTF-8")           \
  X(FRAME_TOO_BIG, -24, 1009, "frame payload larger than the limit")           \
  X(MESSAGE_TOO_BIG, -25, 1009, "message larger than the limit")               \
  X(TOO_MANY_FRAGMENTS, -26, 1009, "message split into more frames than the limit") \
  X(INVALID_UTF8_SEND, -27, 0, "text to send is not valid UTF-8")              \
  X(CLOSED, -28, 0, "the connection is closed")                                \
  X(ABNORMAL_CLOSURE, -29, 0, "transport closed before the close handshake completed") \
  X(CLOSE_TIMEOUT, -30, 0, "close handshake did not finish in time")      \
  X(PING_TIMEOUT, -31, 1011, "peer did not answer a keepalive ping in time")  \
  X(HTTP_MALFORMED, -32, 0, "malformed HTTP head")                            \
  X(HTTP_HEAD_TOO_LARGE, -33, 0, "HTTP head larger than the limit")           \
  X(HANDSHAKE_METHOD, -34, 0, "upgrade request method is not GET")           \
  X(HANDSHAKE_HTTP_VERSION, -35, 0, "upgrade needs HTTP/1.1 or later")       \
  X(HANDSHAKE_HOST, -36, 0, "upgrade request without exactly one Host header") \
  X(HANDSHAKE_UPGRADE, -37, 0, "Upgrade header lacks the token websocket")   \
  X(HANDSHAKE_CONNECTION, -38, 0, "Connection header lacks the token Upgrade") \
  X(HANDSHAKE_KEY, -39, 0, "Sec-WebSocket-Key is not base64 of 16 bytes")    \
  X(HANDSHAKE_VERSION, -40, 0, "Sec-WebSocket-Version is not 13")            \
  X(HANDSHAKE_DUPLICATE, -41, 0, "a header that must appear once is repeated") \
  X(HANDSHAKE_SYNTAX, -42, 0, "malformed Sec-WebSocket-Protocol or -Extensions") \
  X(HANDSHAKE_STATUS, -43, 0, "server answered the upgrade without 101")     \
  X(HANDSHAKE_ACCEPT, -44, 0, "Sec-WebSocket-Accept does not match our key")  \
  X(HANDSHAKE_PROTOCOL, -45, 0, "server chose a subprotocol we did not offer") \
  X(HANDSHAKE_EXTENSION, -46, 0, "server chose an extension we did not offer") \
  X(HANDSHAKE_H2, -47, 0, "extended CONNECT without :protocol websocket")    \
  X(HANDSHAKE_TIMEOUT, -48, 0, "opening handshake did not finish in time")   \
  X(HANDSHAKE_REJECTED, -49, 0, "the host rejected the upgrade request")     \
  X(HANDSHAKE_BODY, -50, 0, "upgrade request with a body")                   \
  X(HANDSHAKE_TARGET, -51, 0, "request target is not a resource name or http(s) URI")

#define WSM_ERROR_ENUM_ENTRY(name, value, close_code, text) WSM_E_##name = (value),
enum wsm_error { WSM_ERROR_MAP(WSM_ERROR_ENUM_ENTRY) };
#undef WSM_ERROR_ENUM_ENTRY

/* Text for an error code ("unknown error" for a value not in the map). */
WSM_API const char *wsm_strerror(int err);
/* Name of an error code without the prefix ("INVALID_UTF8"), or "UNKNOWN". */
WSM_API const char *wsm_err_name(int err);
/* Close code wsm sends to the peer for this error (1002, 1007, 1009, 1011),
 * or 0 when the error is local and sends nothing. */
WSM_API uint16_t wsm_err_close_code(int err);

/* ------------------------------------------------------------------------ */
/* Protocol constants (RFC 6455 5.2, 7.4)                                    */
/* ------------------------------------------------------------------------ */

enum wsm_opcode {
  WSM_OP_CONTINUATION = 0x0,
  WSM_OP_TEXT = 0x1,
  WSM_OP_BINARY = 0x2,
  WSM_OP_CLOSE = 0x8,
  WSM_OP_PING = 0x9,
  WSM_OP_PONG = 0xA
};

enum wsm_close_code {
  WSM_CLOSE_NORMAL = 1000,
  WSM_CLOSE_GOING_AWAY = 1001,
  WSM_CLOSE_PROTOCOL_ERROR = 1002,
  WSM_CLOSE_UNSUPPORTED_DATA = 1003,
  WSM_CLOSE_NO_STATUS = 1005,      /* never on the wire: no code was given */
  WSM_CLOSE_ABNORMAL = 1006,       /* never on the wire: no close frame */
  WSM_CLOSE_INVALID_PAYLOAD = 1007,
  WSM_CLOSE_POLICY_VIOLATION = 1008,
  WSM_CLOSE_MESSAGE_TOO_BIG = 1009,
  WSM_CLOSE_MANDATORY_EXTENSION = 1010,
  WSM_CLOSE_INTERNAL_ERROR = 1011,
  WSM_CLOSE_SERVICE_RESTART = 1012,
  WSM_CLOSE_TRY_AGAIN_LATER = 1013,
  WSM_CLOSE_BAD_GATEWAY = 1014
};

#define WSM_FRAME_HEADER_MAX 14  /* 2 + 8 (64-bit length) + 4 (mask key) */
#define WSM_CONTROL_PAYLOAD_MAX 125
/* A control frame: a 2-byte header, a mask key, at most 125 bytes. */
#define WSM_CONTROL_FRAME_MAX (2 + 4 + WSM_CONTROL_PAYLOAD_MAX)
#define WSM_CLOSE_REASON_MAX 123
/* Most unconsumed bytes wsm_conn_recv() leaves you while framing (one whole
 * control frame: data frame headers, at most 14 bytes, are taken as soon as
 * they are complete). */
#define WSM_RECV_HOLD_MAX WSM_CONTROL_FRAME_MAX

/* 1 if a close code may appear in a close frame (RFC 6455 7.4; IANA registry):
 * 1000-1003, 1007-1014 and 3000-4999. */
WSM_API int wsm_close_code_is_valid(uint16_t code);

/* ------------------------------------------------------------------------ */
/* UTF-8 validation, incremental (RFC 3629)                                  */
/* ------------------------------------------------------------------------ */

struct wsm_utf8 {
  uint32_t state WSM_PRIVATE;
};

/* Start a new validation. */
WSM_API void wsm_utf8_init(struct wsm_utf8 *v);
/*
 * Validate the next len bytes of a stream. Returns 0 while the stream is
 * valid so far (it may end inside a sequence), or WSM_E_INVALID_UTF8 at the
 * first byte that no valid continuation could follow; then *valid_len (if not
 * NULL) is that byte's offset within data. Once invalid, stays invalid.
 */
WSM_API int wsm_utf8_feed(struct wsm_utf8 *v, const uint8_t *data, size_t len,
                          size_t *valid_len);
/* 0 if the stream fed so far ends at a character boundary, else
 * WSM_E_INVALID_UTF8 (a truncated sequence or an earlier fault). */
WSM_API int wsm_utf8_finish(const struct wsm_utf8 *v);
/* Whole-buffer check: 0 or WSM_E_INVALID_UTF8. */
WSM_API int wsm_utf8_check(const uint8_t *data, size_t len);

/* ------------------------------------------------------------------------ */
/* Masking (RFC 6455 5.3)                                                    */
/* ------------------------------------------------------------------------ */

/*
 * XOR data in place with the 4-byte key, starting at key byte phase (0-3;
 * the number of bytes of this frame already masked, modulo 4). Returns the
 * phase after the last byte, to pass to the next call on the same frame.
 */
WSM_API unsigned wsm_mask(uint8_t *data, size_t len, const uint8_t key[4],
                          unsigned phase);

/* ------------------------------------------------------------------------ */
/* Frame header codec (RFC 6455 5.2); pure functions                         */
/* ------------------------------------------------------------------------ */

struct wsm_frame_header {
  uint8_t fin;          /* 1 if this is the final fragment */
  uint8_t rsv;          /* RSV1-3 as bits 0x4, 0x2, 0x1 */
  uint8_t opcode;       /* enum wsm_opcode, or a reserved value */
  uint8_t masked;       /* 1 if a mask key follows */
  uint8_t mask_key[4];
  uint64_t payload_len;
};

/* wsm_frame_decode() flags */
#define WSM_FRAME_ALLOW_NON_MINIMAL_LENGTH 0x1u

/*
 * Decode a frame header from the start of data. Returns the header's length
 * (2-14) when it is complete, 0 when more bytes are needed, or a negative
 * error: WSM_E_LENGTH_TOP_BIT, WSM_E_LENGTH_NOT_MINIMAL (unless allowed by
 * flags), WSM_E_RESERVED_OPCODE, WSM_E_CONTROL_FRAGMENTED,
 * WSM_E_CONTROL_TOO_LONG. RSV bits and masking are reported, not judged:
 * whether they are allowed depends on the extensions and the role.
 */
WSM_API int wsm_frame_decode(struct wsm_frame_header *h, const uint8_t *data,
                             size_t len, unsigned flags);
/*
 * Encode h into out (WSM_FRAME_HEADER_MAX bytes are always enough) in the
 * minimal length encoding. Returns the header's length; the mask key is
 * written only when h->masked.
 */
WSM_API size_t wsm_frame_encode(uint8_t out[WSM_FRAME_HEADER_MAX],
                                const struct wsm_frame_header *h);
/* Size of the header wsm_frame_encode() would write. */
WSM_API size_t wsm_frame_header_size(uint64_t payload_len, int masked);

/* ------------------------------------------------------------------------ */
/* HTTP/1.1 heads (RFC 9112), strict and bounded; views into your buffer    */
/* ------------------------------------------------------------------------ */

struct wsm_http_header {
  const char *name;   /* as sent; compare case-insensitively */
  size_t name_len;
  const char *value;  /* without leading and trailing white space */
  size_t value_len;
};

struct wsm_http_head {
  const char *method;   /* request: "GET" */
  size_t method_len;
  const char *target;   /* request: origin-form "/path?query" */
  size_t target_len;
  int status;           /* response: 100-999 */
  const char *reason;   /* response: reason phrase, may be empty */
  size_t reason_len;
  int version_major;    /* HTTP/major.minor */
  int version_minor;
  const char *fields;   /* the header lines, for wsm_http_header_next() */
  size_t fields_len;
  size_t head_len;      /* bytes up to and including the empty line */
};

#define WSM_HTTP_HEAD_MAX_DEFAULT 8192

/*
 * Parse a request (or response) head from the start of data, which may hold
 * only part of it. Returns the head's length (> 0) when complete and valid, 0
 * when the empty line that ends it has not arrived yet, or
 * WSM_E_HTTP_HEAD_TOO_LARGE (no end within max_head bytes; answer 431) or
 * WSM_E_HTTP_MALFORMED (answer 400): a bad request or status line, obs-fold,
 * a CR not followed by LF, a LF not preceded by CR, NUL or another control
 * character, white space before a header's colon, a header name that is not a
 * token. *scanned (start it at 0) remembers how far the search for the end
 * got, so that presenting a growing buffer again costs linear time in all.
 */
WSM_API int wsm_http_parse_request(struct wsm_http_head *h, const uint8_t *data,
                                   size_t len, size_t max_head, size_t *scanned);
WSM_API int wsm_http_parse_response(struct wsm_http_head *h, const uint8_t *data,
                                    size_t len, size_t max_head, size_t *scanned);

/* Iterate the headers: *pos starts at 0; returns 1 with *out filled, or 0
 * after the last. */
WSM_API int wsm_http_header_next(const struct wsm_http_head *h, size_t *pos,
                                 struct wsm_http_header *out);
/* Find a header by name (case-insensitive). Returns how many headers have
 * that name; *out (may be NULL) gets the first. */
WSM_API size_t wsm_http_header_find(const struct wsm_http_head *h,
                                    const char *name,
                                    struct wsm_http_header *out);

/*
 * Iterate a comma-separated list (RFC 9110 5.6.1): *pos starts at 0; returns
 * 1 with the next element (white space trimmed, empty elements skipped), 0
 * at the end. An element is everything up to the next comma outside a
 * quoted string.
 */
WSM_API int wsm_http_list_next(const char *value, size_t len, size_t *pos,
                               const char **item, size_t *item_len);
/* 1 if the list holds token (case-insensitive) as an element of its own. */
WSM_API int wsm_http_list_has_token(const char *value, size_t len,
                                    const char *token);

/* One extension offer or response element (RFC 6455 9.1):
 * token *( ";" token [ "=" ( token / quoted-string ) ] ). */
struct wsm_http_param {
  const char *name;
  size_t name_len;
  const char *value;  /* NULL when the parameter has no value; a quoted
                         value is given without quotes, escapes as sent */
  size_t value_len;
  int quoted;
};
/*
 * Iterate the extensions of a Sec-WebSocket-Extensions value: returns 1 with
 * the extension's name and its raw parameter text (*params, for
 * wsm_http_param_next()), 0 at the end, or WSM_E_HTTP_MALFORMED. One linear
 * pass, whatever the input.
 */
WSM_API int wsm_http_extension_next(const char *value, size_t len, size_t *pos,
                                    const char **name, size_t *name_len,
                                    const char **params, size_t *params_len);
/* Iterate ";"-separated parameters: 1, 0 at the end, or
 * WSM_E_HTTP_MALFORMED. */
WSM_API int wsm_http_param_next(const char *params, size_t len, size_t *pos,
                                struct wsm_http_param *out);

/* ------------------------------------------------------------------------ */
/* Opening handshake helpers (RFC 6455 4, RFC 8441)                          */
/* ------------------------------------------------------------------------ */

#define WSM_ACCEPT_SIZE 29 /* 28 base64 characters and a NUL */

/*
 * Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 4.2.2): the base64
 * SHA-1 of the key and the protocol's GUID, written NUL-terminated into
 * accept. Returns 0, or WSM_E_HANDSHAKE_KEY if key is not base64 of exactly
 * 16 bytes.
 */
WSM_API int wsm_accept_key(const char *key, size_t key_len,
                           char accept[WSM_ACCEPT_SIZE]);

/* An upgrade request as a host with its own HTTP parser sees it. */
struct wsm_upgrade_request {
  int http_major;                       /* 1 (HTTP/1.1 upgrade) or 2 (RFC 8441) */
  int http_minor;
  const char *method;                   /* "GET"; HTTP/2: "CONNECT" */
  size_t method_len;
  const struct wsm_http_header *headers; /* HTTP/2: pseudo-headers too */
  size_t header_count;
};

/*
 * Check an upgrade request against RFC 6455 4.2.1 (HTTP/1.1: GET, Host,
 * Upgrade: websocket, Connection: Upgrade, Sec-WebSocket-Key, -Version: 13,
 * no repeated Host, Key or Version) or RFC 8441 5 (HTTP/2: CONNECT with
 * :protocol websocket, :scheme, :path and :authority, -Version: 13; no key).
 * Offered subprotocols and extensions must parse. For HTTP/1.1 accept (may be
 * NULL) gets the Sec-WebSocket-Accept value to answer with; for HTTP/2 it is
 * set to "". Returns 0 or a WSM_E_HANDSHAKE_* error; wsm_handshake_status()
 * tells which HTTP status to answer it with.
 */
WSM_API int wsm_upgrade_check(const struct wsm_upgrade_request *req,
                              char accept[WSM_ACCEPT_SIZE]);

/* HTTP status to answer a failed upgrade with: 426 for a wrong version
 * (send "Sec-WebSocket-Version: 13"), 431 for a head too large, 400 for the
 * rest of the handshake errors, 0 for errors that are not the client's. */
WSM_API int wsm_handshake_status(int err);

/* ------------------------------------------------------------------------ */
/* Connection                                                                */
/* ------------------------------------------------------------------------ */

enum wsm_role { WSM_ROLE_SERVER = 0, WSM_ROLE_CLIENT = 1 };

enum wsm_state {
  WSM_STATE_CONNECTING = 0, /* opening handshake */
  WSM_STATE_OPEN,           /* messages flow both ways */
  WSM_STATE_CLOSING,        /* a close frame was sent or received */
  WSM_STATE_CLOSED,         /* close handshake done (or connection failed) */
};

/* What the host should do with the transport (RFC 6455 7.1.1). */
enum wsm_transport {
  WSM_TRANSPORT_KEEP = 0,   /* keep reading and writing */
  WSM_TRANSPORT_CLOSE,      /* close the TCP connection (or stream) now */
  WSM_TRANSPORT_AWAIT_PEER  /* client: the close handshake is done; wait for
                               the server to close the TCP connection, and close
                               it yourself when wsm_conn_expiry() passes */
};

/* Source of unpredictable bytes for client mask keys (RFC 6455 10.3).
 * Fill buf with len bytes; return 0, or nonzero on failure. */
typedef int (*wsm_random_fn)(void *ctx, uint8_t *buf, size_t len);

/* wsm_config.flags */
#define WSM_CFG_MANUAL_PONG 0x1u             /* don't answer pings yourself */
#define WSM_CFG_ALLOW_NON_MINIMAL_LENGTH 0x2u /* relaxation of RFC 6455 5.2 */
#define WSM_CFG_ALLOW_UNMASKED 0x4u          /* server: accept unmasked client
                                                frames (relaxation, for broken
                                                peers only) */
#define WSM_CFG_NO_SEND_UTF8_CHECK 0x8u      /* trust outgoing text */

struct wsm_config {
  enum wsm_role role;
  unsigned flags;              /* WSM_CFG_* */
  uint64_t max_frame_payload;  /* 0: 16 MiB */
  uint64_t max_message;        /* 0: 64 MiB; also the whole-message limit */
  uint32_t max_fragments;      /* frames per message; 0: 65536 */
  uint8_t rsv_allowed;         /* RSV bits an extension claimed on the first
                                  frame of data messages (0x4 = RSV1, as
                                  permessage-deflate does); control frames
                                  and continuations must keep them clear */
  wsm_random_fn random;        /* NULL: the platform's (getrandom, arc4random)
                                  where there is one; otherwise client sends
                                  fail with WSM_E_NO_RANDOM */
  void *random_ctx;
  uint32_t close_timeout_ms;   /* wait for the peer's close; 0: 5000 */
  uint32_t ping_interval_ms;   /* keepalive ping after this much silence;
                                  0: no keepalive */
  uint32_t ping_timeout_ms;    /* fail when nothing arrives this long after a
                                  keepalive ping; 0: 10000 */
  uint32_t handshake_timeout_ms; /* opening handshake; 0: 10000 */
  size_t max_head;             /* HTTP head bound; 0: 8192 */
};

/* Fill cfg with the defaults for role (every field documented above). */
WSM_API void wsm_config_init(struct wsm_config *cfg, enum wsm_role role);

enum wsm_event_type {
  WSM_EV_NONE = 0, /* no event: all input consumed, or more is needed */
  WSM_EV_DATA,     /* a chunk of a message (streaming mode) */
  WSM_EV_MESSAGE,  /* a whole message (whole-message mode) */
  WSM_EV_PING,     /* data/len: payload; a pong is queued unless MANUAL_PONG */
  WSM_EV_PONG,     /* data/len: payload (solicited or not) */
  WSM_EV_CLOSE,    /* close_code (1005 if none), data/len: reason; the echo
                      is queued if we had not sent a close */
  WSM_EV_ERROR,    /* error, close_code: what failed, what was queued */
  WSM_EV_REQUEST,  /* server: an upgrade request passed RFC 6455 4.2.1; http
                      holds it. Answer with wsm_conn_accept/_reject */
  WSM_EV_RESPONSE  /* client: the server accepted; http holds the response.
                      The connection is OPEN */
};

/* wsm_event.flags for WSM_EV_DATA */
#define WSM_DATA_BEGIN 0x1u     /* first chunk of a message */
#define WSM_DATA_END 0x2u       /* last chunk of a message */
#define WSM_DATA_FRAME_END 0x4u /* last chunk of a frame */
/* The message's first frame had RSV1/2/3 set (only bits in rsv_allowed can
 * be): the payload belongs to that extension, and a text message is not
 * checked for UTF-8 here, since it is UTF-8 only once the extension undid
 * its transform. Set on every chunk of the message, and on WSM_EV_MESSAGE. */
#define WSM_DATA_RSV1 0x40u
#define WSM_DATA_RSV2 0x20u
#define WSM_DATA_RSV3 0x10u

struct wsm_event {
  enum wsm_event_type type;
  unsigned flags;       /* WSM_DATA_* */
  enum wsm_opcode opcode; /* WSM_OP_TEXT or WSM_OP_BINARY for data */
  uint8_t *data;        /* payload, reason; unmasked; NULL when len is 0 */
  size_t len;
  uint16_t close_code;  /* WSM_EV_CLOSE: code received; WSM_EV_ERROR: code
                           queued for the peer (0: none) */
  int error;            /* WSM_EV_ERROR: the WSM_E_* code */
  /* WSM_EV_REQUEST, WSM_EV_RESPONSE, and WSM_EV_ERROR in the handshake: the
   * head (status: a client's failed response, or the status of the error
   * response a server queued). Other events leave it untouched. */
  struct wsm_http_head http;
};

/*
 * The connection. Allocate it anywhere; its size is the API, its fields are
 * private: 496 bytes on x86-64, less on 32-bit targets.
 */
struct wsm_conn {
  /* configuration */
  uint64_t max_frame_payload WSM_PRIVATE;
  uint64_t max_message WSM_PRIVATE;
  uint32_t max_fragments WSM_PRIVATE;
  uint32_t close_timeout_ms WSM_PRIVATE;
  uint32_t ping_interval_ms WSM_PRIVATE;
  uint32_t ping_timeout_ms WSM_PRIVATE;
  uint32_t handshake_timeout_ms WSM_PRIVATE;
  wsm_random_fn random WSM_PRIVATE;
  void *random_ctx WSM_PRIVATE;
  uint8_t *msg_buf WSM_PRIVATE;
  size_t msg_cap WSM_PRIVATE;
  uint16_t cfg_flags WSM_PRIVATE;
  uint8_t role WSM_PRIVATE;
  uint8_t rsv_allowed WSM_PRIVATE;
  /* opening handshake */
  size_t max_head WSM_PRIVATE;
  size_t hs_scanned WSM_PRIVATE;
  const char *const *hs_protocols WSM_PRIVATE; /* client: what we offered */
  size_t hs_protocol_count WSM_PRIVATE;
  const char *hs_extensions WSM_PRIVATE;
  uint8_t hs_accept[20] WSM_PRIVATE; /* SHA-1 of the key and the GUID */
  uint8_t hs_stage WSM_PRIVATE;
  /* lifecycle */
  uint8_t state WSM_PRIVATE;
  uint8_t close_flags WSM_PRIVATE;
  uint16_t close_code_received WSM_PRIVATE;
  uint16_t close_code_sent WSM_PRIVATE;
  int16_t error WSM_PRIVATE;
  /* receiving: the frame being read and the message it belongs to */
  uint8_t rx_frame_open WSM_PRIVATE;
  uint8_t rx_opcode WSM_PRIVATE;
  uint8_t rx_fin WSM_PRIVATE;
  uint8_t rx_masked WSM_PRIVATE;
  uint8_t rx_mask_key[4] WSM_PRIVATE;
  uint8_t rx_mask_phase WSM_PRIVATE;
  uint8_t rx_msg_opcode WSM_PRIVATE;
  uint8_t rx_msg_rsv WSM_PRIVATE;
  uint8_t rx_small_max WSM_PRIVATE; /* largest payload for the short path */
  uint8_t rx_msg_begun WSM_PRIVATE;
  uint8_t rx_msg_delivered WSM_PRIVATE;
  uint32_t rx_fragments WSM_PRIVATE;
  uint64_t rx_remaining WSM_PRIVATE;
  uint64_t rx_msg_len WSM_PRIVATE;
  struct wsm_utf8 rx_utf8 WSM_PRIVATE;
  /* sending */
  struct wsm_utf8 tx_utf8 WSM_PRIVATE;
  uint8_t tx_msg_open WSM_PRIVATE;
  uint8_t tx_msg_opcode WSM_PRIVATE;
  uint8_t tx_check WSM_PRIVATE; /* the open text message is being checked */
  /* time: one timer, keepalive while OPEN, the close wait after */
  uint8_t timer WSM_PRIVATE;
  uint8_t rx_activity WSM_PRIVATE;
  uint8_t ping_outstanding WSM_PRIVATE;
  uint64_t deadline WSM_PRIVATE;
  /* queued control frames, in order: the one being written, a waiting pong
     or keepalive ping, and our close */
  uint16_t out_head WSM_PRIVATE;
  uint16_t out_tail WSM_PRIVATE;
  uint16_t out_pong_at WSM_PRIVATE;   /* start of the waiting pong */
  uint16_t out_pong_len WSM_PRIVATE;  /* its size; 0: no pong waiting */
  uint16_t out_close_at WSM_PRIVATE;  /* start of our close frame */
  uint16_t out_close_len WSM_PRIVATE; /* its size; 0: not waiting */
  uint16_t out_close_end WSM_PRIVATE; /* its end, once it is on its way */
  /* two whole control frames, and a close frame with a code only */
  uint8_t out[2 * (2 + 4 + WSM_CONTROL_PAYLOAD_MAX) + 2 + 4 + 2] WSM_PRIVATE;
};

/*
 * Start a connection that begins with the opening handshake (state
 * CONNECTING). cfg may be NULL for the server defaults. Returns 0 or
 * WSM_E_INVALID_ARGUMENT.
 */
WSM_API int wsm_conn_init(struct wsm_conn *c, const struct wsm_config *cfg);
/*
 * Start a connection directly in OPEN: the host did the upgrade itself (its
 * own HTTP parser, or RFC 8441 extended CONNECT on an HTTP/2 stream). Returns
 * 0 or WSM_E_INVALID_ARGUMENT.
 */
WSM_API int wsm_conn_init_open(struct wsm_conn *c, const struct wsm_config *cfg);

/*
 * Set the RSV bits extensions claim (as wsm_config.rsv_allowed), for a host
 * that learns them during the handshake. Returns 0, WSM_E_INVALID_ARGUMENT
 * (bits beyond 0x7), WSM_E_WRONG_STATE inside a message, or the sticky
 * error.
 */
WSM_API int wsm_conn_set_rsv_allowed(struct wsm_conn *c, unsigned rsv);

/* ---- opening handshake ---------------------------------------------------- */

/* What a client asks for. Strings are NUL-terminated; NULL means absent. */
struct wsm_client_request {
  const char *host;            /* required: name or address (IPv6 without
                                  brackets is fine) */
  uint16_t port;               /* 0: none in the Host header */
  const char *path;            /* "/chat" (NULL: "/"); may hold "?query" */
  const char *query;           /* appended after "?" when not NULL */
  const char *origin;
  const char *const *protocols; /* offered subprotocols, tokens */
  size_t protocol_count;
  const char *extensions;      /* Sec-WebSocket-Extensions offer, as sent */
  const struct wsm_http_header *headers; /* extra: Authorization, Cookie */
  size_t header_count;
};

/*
 * Client: write the upgrade request into out with a fresh random key, and
 * wait for the response (wsm_conn_recv then yields WSM_EV_RESPONSE, or an
 * error with the response in ev.http so that you can follow a 3xx Location or
 * report a 401). The protocols array and the extensions string must stay
 * valid until the response has been read. Returns 0, WSM_E_BUFFER_TOO_SMALL
 * (*written: the size needed), WSM_E_INVALID_ARGUMENT (a missing host, a
 * protocol that is not a token, a CR, LF or NUL in a value, a header name
 * that is not a token), WSM_E_WRONG_STATE, WSM_E_NO_RANDOM or
 * WSM_E_RANDOM_FAILED.
 */
WSM_API int wsm_conn_client_request(struct wsm_conn *c,
                                    const struct wsm_client_request *req,
                                    uint8_t *out, size_t out_cap,
                                    size_t *written);

/*
 * The subprotocol to answer with: the first one the request offers (in the
 * client's order of preference, over every Sec-WebSocket-Protocol header)
 * that is among the n names in supported. Returns that entry of supported,
 * or NULL when none matches.
 */
WSM_API const char *wsm_select_protocol(const struct wsm_http_head *request,
                                        const char *const *supported, size_t n);

/* How a server answers an upgrade request it accepts. */
struct wsm_server_accept {
  const char *protocol;        /* chosen subprotocol, or NULL / "" for none */
  const char *extensions;      /* Sec-WebSocket-Extensions answer, or NULL /
                                  "" for none (never sent empty) */
  const struct wsm_http_header *headers; /* extra: Set-Cookie and the like */
  size_t header_count;
  const struct wsm_http_head *request; /* if set, protocol must be one the
                                          request offered */
};

/*
 * Server, after WSM_EV_REQUEST: write the 101 response into out; the
 * connection is then OPEN, and bytes after the request are frames. Returns
 * 0, WSM_E_BUFFER_TOO_SMALL (*written: the size needed),
 * WSM_E_INVALID_ARGUMENT (bad header, or a protocol that is not a token or
 * was not offered), WSM_E_WRONG_STATE.
 */
WSM_API int wsm_conn_accept(struct wsm_conn *c, const struct wsm_server_accept *a,
                            uint8_t *out, size_t out_cap, size_t *written);
/*
 * Server, after WSM_EV_REQUEST: refuse with status (400-599, e.g. 401 or 403
 * after an auth or Origin check), extra headers and a body; wsm adds
 * Content-Length and "Connection: close". The connection is CLOSED and
 * wsm_conn_transport() says close at once: write the response, then close.
 * Returns as wsm_conn_accept().
 */
WSM_API int wsm_conn_reject(struct wsm_conn *c, int status,
                            const struct wsm_http_header *headers,
                            size_t header_count, const uint8_t *body,
                            size_t body_len, uint8_t *out, size_t out_cap,
                            size_t *written);

/*
 * Whole-message mode: messages are gathered into buf (cap bytes) and
 * delivered as one WSM_EV_MESSAGE; a message larger than cap (or than
 * max_message) fails the connection with close 1009. A single-frame message
 * whose bytes are all in one input buffer is delivered in place, without a
 * copy. buf NULL returns to streaming mode. The buffer must stay valid while
 * the mode is on. Returns 0, WSM_E_WRONG_STATE inside a message,
 * WSM_E_INVALID_ARGUMENT (buf NULL with cap), or the sticky error.
 */
WSM_API int wsm_conn_set_message_buffer(struct wsm_conn *c, uint8_t *buf,
                                        size_t cap);

/*
 * Consume input. Eats bytes from data until one event is ready or the bytes
 * run out; *consumed says how many it ate and *ev holds the event (type
 * WSM_EV_NONE when there is none). Bytes not consumed must be presented again
 * with more appended; when *consumed < len and there is no event, wsm needs
 * more bytes than it was given.
 *
 * Returns 0, or a negative error. Protocol errors (the ones with a close code
 * in WSM_ERROR_MAP), handshake errors, and WSM_E_RANDOM_FAILED /
 * WSM_E_NO_RANDOM (a client could not mask an automatic reply) fail the
 * connection: *ev is a WSM_EV_ERROR naming the error and the close code
 * queued for the peer, and every later call returns the same error and
 * consumes nothing. WSM_E_INVALID_ARGUMENT (data NULL with len) and
 * WSM_E_WRONG_STATE (a server that has not answered WSM_EV_REQUEST yet)
 * change nothing. After a close frame arrives, further input is consumed
 * and ignored (RFC 6455 1.4).
 *
 * Any split gives the same events, except for how a message is cut into
 * chunks; in particular how much of a message that then fails (invalid
 * UTF-8, say) was delivered before the error depends on the split.
 */
WSM_API int wsm_conn_recv(struct wsm_conn *c, uint8_t *data, size_t len,
                          size_t *consumed, struct wsm_event *ev);

/*
 * Tell wsm that the transport reached end of stream. Returns 0 when the close
 * handshake had completed, the connection's earlier error if it had one, else
 * WSM_E_ABNORMAL_CLOSURE (the connection is then closed with code 1006, and
 * wsm_conn_close_info reports it).
 */
WSM_API int wsm_conn_recv_eof(struct wsm_conn *c);

/* ---- sending ------------------------------------------------------------ */

/* wsm_conn_send flags */
#define WSM_SEND_FIN 0x1u /* this frame ends the message */

/*
 * Encode one data frame into out. opcode is WSM_OP_TEXT or WSM_OP_BINARY; the
 * first frame of a message carries it and later frames become continuations
 * (pass the same opcode). Without WSM_SEND_FIN the message stays open and the
 * next call continues it. Text is checked to be valid UTF-8 across frames
 * (unless WSM_CFG_NO_SEND_UTF8_CHECK). A client masks with a fresh key.
 *
 * *written gets the frame's size; with WSM_E_BUFFER_TOO_SMALL it gets the
 * size needed (len + at most 14). Returns 0, WSM_E_BUFFER_TOO_SMALL,
 * WSM_E_INVALID_ARGUMENT, WSM_E_WRONG_STATE (not OPEN), WSM_E_CLOSE_SENT,
 * WSM_E_MESSAGE_OPEN (opcode differs from the open message's),
 * WSM_E_INVALID_UTF8_SEND, WSM_E_NO_RANDOM, WSM_E_RANDOM_FAILED, or the
 * connection's sticky error. Nothing changes on failure.
 */
WSM_API int wsm_conn_send(struct wsm_conn *c, enum wsm_opcode opcode,
                          const uint8_t *data, size_t len, unsigned flags,
                          uint8_t *out, size_t out_cap, size_t *written);
/*
 * Like wsm_conn_send() but encode only the header for a payload of len bytes
 * (into hdr, WSM_FRAME_HEADER_MAX bytes), so that a server can writev(header,
 * payload) with no copy. A client must mask the payload itself with
 * wsm_mask(payload, len, mask_key, 0); mask_key may be NULL for a server.
 * Text is not checked here: the payload is not seen. Returns as
 * wsm_conn_send(), with *hdr_len the header's size.
 */
WSM_API int wsm_conn_send_header(struct wsm_conn *c, enum wsm_opcode opcode,
                                 uint64_t len, unsigned flags,
                                 uint8_t hdr[WSM_FRAME_HEADER_MAX],
                                 size_t *hdr_len, uint8_t mask_key[4]);
/*
 * Encode a ping or a pong (opcode WSM_OP_PING / WSM_OP_PONG) of at most 125
 * bytes into out; it may go between the frames of a message. A pong may
 * still be sent after our close until the peer's close arrives (RFC 6455
 * 5.5.2); a ping may not. Returns as wsm_conn_send(), or
 * WSM_E_CONTROL_TOO_LONG.
 */
WSM_API int wsm_conn_send_control(struct wsm_conn *c, enum wsm_opcode opcode,
                                  const uint8_t *data, size_t len,
                                  uint8_t *out, size_t out_cap, size_t *written);
/*
 * Start the close handshake: queue a close frame with code (0: no code, no
 * reason) and a reason of at most 123 bytes of UTF-8. Drain it with
 * wsm_conn_output(). Returns 0, WSM_E_INVALID_CLOSE_CODE (1005, 1006, 1015
 * or outside the allowed ranges), WSM_E_INVALID_ARGUMENT (reason too long or
 * given without a code), WSM_E_INVALID_UTF8_SEND, WSM_E_CLOSE_SENT (a close
 * was already queued: closing twice is an error, not a second frame),
 * WSM_E_WRONG_STATE (before OPEN), WSM_E_NO_RANDOM / WSM_E_RANDOM_FAILED (a
 * client), or the sticky error.
 */
WSM_API int wsm_conn_close(struct wsm_conn *c, uint16_t code,
                           const char *reason, size_t reason_len);

/* ---- queued output (pong replies, close frames) -------------------------- */

/*
 * The bytes wsm has queued for the peer: whole frames (pongs, keepalive
 * pings, the close frame, or a handshake error response). Write them at a
 * boundary between your own frames, never inside one; frames you encoded
 * before wsm_conn_close() go out before the queue. Returns their count (0:
 * none) and points *data at them; valid until the next call on c.
 *
 * Acknowledge only what reached the transport: wsm counts acknowledged bytes
 * as sent, so a host that copies them into its own queue and acknowledges at
 * once runs the close timer and wsm_conn_transport() ahead of its socket,
 * and must bound its own queue and flush time.
 *
 * Bound: 270 bytes. A newer ping replaces a pong not yet begun (RFC 6455
 * 5.5.3 allows answering only the latest ping), so a ping flood grows
 * nothing when you do not drain. Every ping gets its pong until the peer's
 * close arrives, also after our close (5.5.2): before our close frame while
 * that waits, after it once it is on its way. When a pong is half-written,
 * another waits and the close comes too, the close's reason is cut short to
 * fit; the code always fits.
 */
WSM_API size_t wsm_conn_output(struct wsm_conn *c, const uint8_t **data);
/* Mark n bytes of wsm_conn_output() as written. Returns 0 or
 * WSM_E_INVALID_ARGUMENT (n larger than what is queued). */
WSM_API int wsm_conn_output_ack(struct wsm_conn *c, size_t n);

/* ---- lifecycle and time -------------------------------------------------- */

WSM_API enum wsm_state wsm_conn_state(const struct wsm_conn *c);
WSM_API enum wsm_transport wsm_conn_transport(const struct wsm_conn *c);

struct wsm_close_info {
  uint16_t code_received; /* close code from the peer; 1005: none given;
                             1006: no close frame arrived (yet) */
  uint16_t code_sent;     /* close code we sent or queued; 1005: a close
                             without a code; 0: no close */
  int error;              /* why wsm ended the connection (WSM_E_*), or 0 */
  int peer_closed_first;  /* 1 if the peer's close came before ours */
};
WSM_API void wsm_conn_close_info(const struct wsm_conn *c,
                                 struct wsm_close_info *info);

/*
 * Pass the time (milliseconds, any monotonic origin) and run the timers: the
 * handshake deadline, the keepalive ping (queued as output; skipped while
 * earlier output waits), its deadline, and the wait for the peer's close.
 * Call it at least when wsm_conn_expiry() says. Returns 0, or the error a
 * timer raised (WSM_E_HANDSHAKE_TIMEOUT, WSM_E_PING_TIMEOUT with close 1011
 * queued, WSM_E_CLOSE_TIMEOUT) or hit (WSM_E_NO_RANDOM, WSM_E_RANDOM_FAILED),
 * after which wsm_conn_transport() says WSM_TRANSPORT_CLOSE once the queued
 * output is written.
 */
WSM_API int wsm_conn_tick(struct wsm_conn *c, uint64_t now_ms);
/* When wsm_conn_tick() must next be called: UINT64_MAX for never, 0 for
 * now (a timer was just set and needs to learn the time). */
WSM_API uint64_t wsm_conn_expiry(const struct wsm_conn *c);

#ifdef __cplusplus
}
#endif

#endif /* WSM_H */
