/* SPDX-License-Identifier: MIT */
/*
 * client: a WebSocket client.
 *
 *   client [--protocol NAME]... ws://HOST[:PORT][/PATH] [MESSAGE]...
 *   client --autobahn ws://HOST:PORT [--agent NAME]
 *
 * The first form sends each MESSAGE (or each line of standard input) as a
 * text message, prints its echo and checks it, then closes with 1000. The
 * exit status is 0 only when every echo matched and the close was clean.
 *
 * The second runs the cases of an Autobahn TestSuite fuzzingserver, echoing
 * every message, then asks it to write its reports.
 *
 * It shows the client handshake (wsm_conn_client_request, WSM_EV_RESPONSE),
 * streaming and whole-message receiving, sending with and without a copy,
 * and the closing handshake with its wait for the server's TCP close. One
 * connection at a time; the socket is non-blocking so that we can read the
 * echo of a big message while we are still writing it.
 */
#define _POSIX_C_SOURCE 200809L

#include <wsm.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define READ_BUF_SIZE (64 * 1024)
#define MAX_PROTOCOLS 16
#define AUTOBAHN_LIMIT (UINT64_C(64) << 20)
#define AUTOBAHN_MSG_BUF ((16u << 20) + 64 * 1024) /* the largest case sends 16 MiB */

struct url {
  char host[256];
  uint16_t port;
  const char *path; /* "/..." with any query */
};

struct client {
  int fd;
  struct wsm_conn ws;
  uint8_t in[READ_BUF_SIZE];
  size_t in_pos, in_len; /* in[in_pos..in_len) is not consumed yet */
  struct iovec out[2];   /* what is left of our frame: header, payload */
};

static struct client cl; /* 64 KiB: not on the stack */

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int writing(const struct client *c) { return c->out[0].iov_len + c->out[1].iov_len > 0; }

static void transport_failed(struct client *c) {
  wsm_conn_recv_eof(&c->ws); /* wsm then reports an abnormal closure */
  c->out[0].iov_len = c->out[1].iov_len = 0;
}

/*
 * Write what the socket takes now: the rest of our frame first, then, at a
 * frame boundary, what wsm queued (pongs, close frames), acknowledging what
 * went out.
 */
static void write_some(struct client *c) {
  const uint8_t *p;
  size_t n;
  ssize_t w;
  if (c->fd < 0) return;
  while (writing(c)) {
    int skip = c->out[0].iov_len == 0;
    w = writev(c->fd, c->out + skip, 2 - skip);
    if (w < 0) goto error;
    for (int i = 0; i < 2 && w > 0; i++) {
      size_t k = (size_t)w < c->out[i].iov_len ? (size_t)w : c->out[i].iov_len;
      c->out[i].iov_base = (uint8_t *)c->out[i].iov_base + k;
      c->out[i].iov_len -= k;
      w -= (ssize_t)k;
    }
  }
  while ((n = wsm_conn_output(&c->ws, &p)) > 0) {
    w = write(c->fd, p, n);
    if (w < 0) goto error;
    wsm_conn_output_ack(&c->ws, (size_t)w);
  }
  return;
error:
  if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) transport_failed(c);
}

/* Wait until the socket is ready or wsm's timer is due, then move bytes:
 * write what is pending and, if reading, read what has come. */
static void pump(struct client *c, int reading) {
  const uint8_t *p;
  struct pollfd pfd;
  uint64_t now = now_ms(), expiry = wsm_conn_expiry(&c->ws);
  ssize_t n;
  int timeout;
  if (expiry <= now) { /* the handshake, keepalive or close timer */
    wsm_conn_tick(&c->ws, now);
    return;
  }
  pfd.fd = c->fd;
  pfd.events = (short)((reading ? POLLIN : 0) |
                       (writing(c) || wsm_conn_output(&c->ws, &p) ? POLLOUT : 0));
  timeout = expiry == UINT64_MAX ? -1 : expiry - now > INT_MAX ? INT_MAX : (int)(expiry - now);
  if (poll(&pfd, 1, timeout) <= 0) return;
  if (pfd.revents & (POLLOUT | POLLERR | POLLHUP)) write_some(c);
  if (!reading || !(pfd.revents & (POLLIN | POLLERR | POLLHUP))) return;
  n = read(c->fd, c->in + c->in_len, sizeof c->in - c->in_len);
  if (n > 0) c->in_len += (size_t)n;
  else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
    wsm_conn_recv_eof(&c->ws); /* end of stream: wsm tells clean from abnormal */
}

/* Our next frame: pump() and next_event() write it as the socket takes it. */
static void start_writing(struct client *c, const void *hdr, size_t hdr_len,
                          void *payload, size_t len) {
  c->out[0].iov_base = (void *)hdr;
  c->out[0].iov_len = hdr_len;
  c->out[1].iov_base = payload;
  c->out[1].iov_len = len;
  write_some(c);
}

/* Wait until our frame is written. We read nothing meanwhile, so the peer
 * must keep reading (servers do). */
static void finish_writing(struct client *c) {
  while (c->fd >= 0 && writing(c) && wsm_conn_transport(&c->ws) != WSM_TRANSPORT_CLOSE)
    pump(c, 0);
  c->out[0].iov_len = c->out[1].iov_len = 0;
}

/*
 * The next event, reading the socket when wsm needs more bytes (and writing
 * our pending frame meanwhile). Returns 0 with an event, or -1 once the
 * connection is over: the socket is then closed and wsm_conn_close_info()
 * says how it ended. Event data stays valid until the next call.
 */
static int next_event(struct client *c, struct wsm_event *ev) {
  for (;;) {
    size_t used;
    int rc;
    if (c->fd < 0) return -1;
    rc = wsm_conn_recv(&c->ws, c->in + c->in_pos, c->in_len - c->in_pos, &used, ev);
    c->in_pos += used;
    write_some(c); /* a pong or close wsm just queued */
    if (ev->type != WSM_EV_NONE) return 0;
    if (rc < 0 || wsm_conn_transport(&c->ws) == WSM_TRANSPORT_CLOSE) {
      close(c->fd);
      c->fd = -1;
      c->out[0].iov_len = c->out[1].iov_len = 0;
      return -1;
    }
    /* wsm needs more: keep the few bytes it left, read more after them */
    memmove(c->in, c->in + c->in_pos, c->in_len - c->in_pos);
    c->in_len -= c->in_pos;
    c->in_pos = 0;
    pump(c, 1);
  }
}

static int dial(const char *host, uint16_t port) {
  struct addrinfo hints, *res, *ai;
  char service[8];
  int fd = -1, one = 1;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  snprintf(service, sizeof service, "%u", (unsigned)port);
  if (getaddrinfo(host, service, &hints, &res) != 0) return -1;
  for (ai = res; ai; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) break;
    if (fd >= 0) close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd >= 0) {
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  }
  return fd;
}

/*
 * Connect and do the opening handshake for path. Bytes that came after the
 * 101 response are frames: they stay in c->in and the next event reads them.
 * msg_buf, when given, turns on whole-message mode. Returns 0 or -1.
 */
static int client_open(struct client *c, const struct url *u, const char *path,
                       const struct wsm_config *cfg, uint8_t *msg_buf, size_t msg_cap,
                       const char *const *protocols, size_t protocol_count) {
  struct wsm_client_request req;
  struct wsm_event ev;
  struct wsm_http_header chosen;
  struct wsm_close_info info;
  uint8_t head[2048];
  size_t n;
  int rc, status;
  memset(&req, 0, sizeof req);
  req.host = u->host;
  req.port = u->port == 80 ? 0 : u->port; /* RFC 6455 4.1: no port when it is the default */
  req.path = path;
  req.protocols = protocols; /* must live until the response is read */
  req.protocol_count = protocol_count;
  wsm_conn_init(&c->ws, cfg);
  if (msg_buf) wsm_conn_set_message_buffer(&c->ws, msg_buf, msg_cap);
  rc = wsm_conn_client_request(&c->ws, &req, head, sizeof head, &n);
  if (rc != 0) {
    fprintf(stderr, "client: cannot make the request: %s\n", wsm_strerror(rc));
    return -1;
  }
  c->in_pos = c->in_len = 0;
  c->fd = dial(u->host, u->port);
  if (c->fd < 0) {
    fprintf(stderr, "client: cannot connect to %s port %u\n", u->host, (unsigned)u->port);
    return -1;
  }
  start_writing(c, head, n, NULL, 0);
  finish_writing(c);
  if (next_event(c, &ev) == 0 && ev.type == WSM_EV_RESPONSE) {
    if (wsm_http_header_find(&ev.http, "Sec-WebSocket-Protocol", &chosen))
      fprintf(stderr, "subprotocol: %.*s\n", (int)chosen.value_len, chosen.value);
    return 0;
  }
  /* A refusal (401, 404, a redirect) has its status in ev.http */
  status = ev.type == WSM_EV_ERROR ? ev.http.status : 0;
  while (next_event(c, &ev) == 0) {} /* let the connection end */
  wsm_conn_close_info(&c->ws, &info);
  fprintf(stderr, "client: handshake failed: %s", wsm_strerror(info.error));
  if (status) fprintf(stderr, " (HTTP %d)", status);
  fputc('\n', stderr);
  return -1;
}

/* How the connection ended, as wsm saw it. */
static void print_close_info(const struct client *c) {
  struct wsm_close_info info;
  wsm_conn_close_info(&c->ws, &info);
  fprintf(stderr, "closed: code received %u, sent %u, error %s\n",
          (unsigned)info.code_received, (unsigned)info.code_sent, wsm_err_name(info.error));
}

/* ---- echo mode ------------------------------------------------------------ */

/*
 * Send text as one message and read its echo in streaming mode, comparing
 * each chunk as it comes: no buffer holds the whole echo. Returns 1 if the
 * echo matched, 0 if not, -1 if the connection ended.
 */
static int echo_one(struct client *c, const char *text, size_t len) {
  struct wsm_event ev;
  size_t n, got = 0;
  int same = 1, rc;
  uint8_t *frame = malloc(len + WSM_FRAME_HEADER_MAX);
  if (!frame) return -1;
  rc = wsm_conn_send(&c->ws, WSM_OP_TEXT, (const uint8_t *)text, len, WSM_SEND_FIN, frame,
                     len + WSM_FRAME_HEADER_MAX, &n);
  if (rc != 0) {
    fprintf(stderr, "client: not sent: %s\n", wsm_strerror(rc));
    free(frame);
    return rc == WSM_E_INVALID_UTF8_SEND ? 0 : -1;
  }
  /* Read while we write: a streaming server echoes the start of a big
   * message before it has the rest, and stops reading until we read. */
  start_writing(c, frame, n, NULL, 0);
  for (;;) {
    if (next_event(c, &ev) != 0 || ev.type == WSM_EV_CLOSE || ev.type == WSM_EV_ERROR) {
      fprintf(stderr, "client: connection ended before the echo\n");
      same = -1;
      break;
    }
    if (ev.type != WSM_EV_DATA) continue; /* pings are answered by wsm */
    if (ev.opcode != WSM_OP_TEXT || ev.len > len - got ||
        (ev.len && memcmp(text + got, ev.data, ev.len) != 0))
      same = 0;
    if (same) got += ev.len;
    if (ev.len) fwrite(ev.data, 1, ev.len, stdout);
    if (ev.flags & WSM_DATA_END) break;
  }
  finish_writing(c); /* done already, unless the echo was wrong */
  free(frame);
  if (same < 0) return -1;
  putchar('\n');
  fflush(stdout);
  if (!same || got != len) {
    fprintf(stderr, "client: the echo differs from what was sent\n");
    return 0;
  }
  return 1;
}

/* RFC 6455 7.1.2: send our close, read until the server's close arrives, and
 * then (7.1.1) wait for the server to close TCP first; wsm's
 * WSM_TRANSPORT_AWAIT_PEER wait ends at its expiry if the server does not. */
static int close_normally(struct client *c) {
  struct wsm_event ev;
  struct wsm_close_info info;
  if (wsm_conn_close(&c->ws, WSM_CLOSE_NORMAL, NULL, 0) == 0) write_some(c);
  while (next_event(c, &ev) == 0) {} /* anything after our close is dropped */
  print_close_info(c);
  wsm_conn_close_info(&c->ws, &info);
  return info.code_received == WSM_CLOSE_NORMAL && info.error == 0;
}

static int run_echo(const struct url *u, char **messages, int count,
                    const char *const *protocols, size_t protocol_count) {
  struct wsm_config cfg;
  int all_matched = 1, r = 1;
  wsm_config_init(&cfg, WSM_ROLE_CLIENT);
  cfg.ping_interval_ms = 20000; /* keepalive: wsm pings after 20 s of silence */
  if (client_open(&cl, u, u->path, &cfg, NULL, 0, protocols, protocol_count) != 0) return 1;
  if (count > 0) {
    for (int i = 0; i < count && r >= 0; i++) {
      r = echo_one(&cl, messages[i], strlen(messages[i]));
      all_matched &= r == 1;
    }
  } else {
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while (r >= 0 && (len = getline(&line, &cap, stdin)) >= 0) {
      if (len > 0 && line[len - 1] == '\n') line[--len] = '\0';
      r = echo_one(&cl, line, (size_t)len);
      all_matched &= r == 1;
    }
    free(line);
  }
  if (!close_normally(&cl)) all_matched = 0;
  return all_matched ? 0 : 1;
}

/* ---- Autobahn TestSuite mode ---------------------------------------------- */

/*
 * Echo a whole message without copying it: wsm encodes only the header and
 * hands us the mask key; we mask the payload where it lies (in our input
 * buffer or the message buffer: we have no further use for it) and write
 * both at once. Text is not checked again here: wsm checked it arriving.
 */
static void echo_message(struct client *c, struct wsm_event *ev) {
  uint8_t hdr[WSM_FRAME_HEADER_MAX], key[4];
  size_t hdr_len;
  if (wsm_conn_send_header(&c->ws, ev->opcode, ev->len, WSM_SEND_FIN, hdr, &hdr_len, key) != 0)
    return; /* we failed the connection and sent a close: nothing more goes */
  if (ev->len) wsm_mask(ev->data, ev->len, key, 0);
  start_writing(c, hdr, hdr_len, ev->data, ev->len);
  finish_writing(c);
}

/* Run one fuzzingserver resource: echo every message until it closes.
 * Returns the number of messages echoed, or -1 if it could not connect. */
static long run_resource(const struct url *u, const char *path, const struct wsm_config *cfg,
                         uint8_t *msg_buf, long *first_number) {
  struct wsm_event ev;
  long echoed = 0;
  if (client_open(&cl, u, path, cfg, msg_buf, AUTOBAHN_MSG_BUF, NULL, 0) != 0) return -1;
  while (next_event(&cl, &ev) == 0) {
    if (ev.type != WSM_EV_MESSAGE) continue;
    if (first_number && echoed == 0 && ev.len < 20) { /* /getCaseCount sends a number */
      char digits[20];
      memcpy(digits, ev.data, ev.len);
      digits[ev.len] = '\0';
      *first_number = strtol(digits, NULL, 10);
    }
    if (!first_number) echo_message(&cl, &ev);
    echoed++;
  }
  return echoed;
}

/* Percent-encode the agent name for the query string. */
static void query_escape(char *out, size_t cap, const char *s) {
  static const char hex[] = "0123456789ABCDEF";
  size_t n = 0;
  for (; *s && n + 4 < cap; s++) {
    unsigned char ch = (unsigned char)*s;
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
        strchr("-._~", ch)) {
      out[n++] = (char)ch;
    } else {
      out[n++] = '%';
      out[n++] = hex[ch >> 4];
      out[n++] = hex[ch & 15];
    }
  }
  out[n] = '\0';
}

static int run_autobahn(const struct url *u, const char *agent_name) {
  struct wsm_config cfg;
  char agent[256], path[512];
  long count = 0;
  uint8_t *msg_buf = malloc(AUTOBAHN_MSG_BUF);
  if (!msg_buf) return 1;
  wsm_config_init(&cfg, WSM_ROLE_CLIENT);
  cfg.max_message = cfg.max_frame_payload = AUTOBAHN_LIMIT;
  query_escape(agent, sizeof agent, agent_name);
  if (run_resource(u, "/getCaseCount", &cfg, msg_buf, &count) < 0 || count <= 0) {
    fprintf(stderr, "client: no case count from the fuzzingserver\n");
    free(msg_buf);
    return 1;
  }
  for (long i = 1; i <= count; i++) {
    long echoed;
    snprintf(path, sizeof path, "/runCase?case=%ld&agent=%s", i, agent);
    echoed = run_resource(u, path, &cfg, msg_buf, NULL);
    fprintf(stderr, "case %ld/%ld: %ld messages echoed; ", i, count, echoed);
    print_close_info(&cl);
  }
  snprintf(path, sizeof path, "/updateReports?agent=%s", agent);
  run_resource(u, path, &cfg, msg_buf, NULL);
  fprintf(stderr, "client: %ld cases run; reports updated\n", count);
  free(msg_buf);
  return 0;
}

/* ---- arguments ------------------------------------------------------------ */

/* ws://HOST[:PORT][/PATH]; HOST may be an IPv6 address in brackets. */
static int parse_url(const char *s, struct url *u) {
  const char *host, *end, *p;
  size_t host_len;
  unsigned long port = 80;
  if (strncmp(s, "ws://", 5) != 0) return -1; /* wss:// needs TLS, not shown here */
  host = s + 5;
  if (*host == '[') {
    end = strchr(++host, ']');
    if (!end) return -1;
    p = end + 1;
  } else {
    end = host + strcspn(host, ":/");
    p = end;
  }
  host_len = (size_t)(end - host);
  if (host_len == 0 || host_len >= sizeof u->host) return -1;
  memcpy(u->host, host, host_len);
  u->host[host_len] = '\0';
  if (*p == ':') {
    char *after;
    port = strtoul(p + 1, &after, 10);
    if (after == p + 1 || port == 0 || port > 65535) return -1;
    p = after;
  }
  if (*p != '\0' && *p != '/') return -1;
  u->port = (uint16_t)port;
  u->path = *p ? p : "/";
  return 0;
}

static void usage(void) {
  fprintf(stderr, "usage: client [--protocol NAME]... ws://HOST[:PORT][/PATH] [MESSAGE]...\n"
                  "       client --autobahn ws://HOST:PORT [--agent NAME]\n");
  exit(2);
}

int main(int argc, char **argv) {
  const char *protocols[MAX_PROTOCOLS], *agent = "wsm", *url_text = NULL;
  size_t protocol_count = 0;
  int autobahn = 0, i;
  struct url u;

  for (i = 1; i < argc && !url_text; i++) {
    if (strcmp(argv[i], "--autobahn") == 0) autobahn = 1;
    else if (strcmp(argv[i], "--agent") == 0 && i + 1 < argc) agent = argv[++i];
    else if (strcmp(argv[i], "--protocol") == 0 && i + 1 < argc &&
             protocol_count < MAX_PROTOCOLS)
      protocols[protocol_count++] = argv[++i];
    else if (argv[i][0] == '-') usage();
    else url_text = argv[i];
  }
  if (!url_text || parse_url(url_text, &u) != 0) usage();
  signal(SIGPIPE, SIG_IGN); /* a write to a closed socket fails with EPIPE instead */
  cl.fd = -1;
  if (autobahn) {
    if (i + 2 == argc && strcmp(argv[i], "--agent") == 0) agent = argv[i + 1];
    else if (i != argc) usage();
    return run_autobahn(&u, agent);
  }
  return run_echo(&u, argv + i, argc - i, protocols, protocol_count);
}
