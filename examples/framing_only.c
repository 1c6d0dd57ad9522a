/* SPDX-License-Identifier: MIT */
/*
 * framing_only: a host with its own HTTP layer hands wsm an upgraded socket.
 *
 *   framing_only [--port N]        (127.0.0.1, port 9002 by default)
 *
 * The host reads the request and checks it with wsm_upgrade_check(), which
 * needs only the method, the version and the headers, so any HTTP parser
 * would do. It writes the 101 itself and only then starts wsm, directly in
 * OPEN state, with wsm_conn_init_open(). Then it echoes whole messages.
 * One connection at a time on blocking sockets, and no timers: echo_server
 * shows those.
 */
#define _POSIX_C_SOURCE 200809L

#include <wsm.h>

#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_MESSAGE (1u << 20)
#define MAX_HEADERS 64

static uint8_t in[64 * 1024];
static uint8_t message[MAX_MESSAGE];
static uint8_t frame[MAX_MESSAGE + WSM_FRAME_HEADER_MAX];

static int write_all(int fd, const void *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) return -1;
    p = (const uint8_t *)p + w;
    n -= (size_t)w;
  }
  return 0;
}

/*
 * Our HTTP layer: read the head, check it, answer it. Here it uses wsm's
 * parser too, but builds the header array wsm_upgrade_check() takes as any
 * other parser would. Returns the head's length (the bytes after it in in[]
 * are already frames), or -1 when the upgrade was refused.
 */
static long upgrade(int fd, size_t *len) {
  struct wsm_http_head head;
  struct wsm_http_header headers[MAX_HEADERS];
  struct wsm_upgrade_request req;
  char accept[WSM_ACCEPT_SIZE], reply[256];
  size_t scanned = 0, count = 0, pos = 0;
  int rc, status;
  *len = 0;
  do {
    ssize_t n = read(fd, in + *len, sizeof in - *len);
    if (n <= 0) return -1;
    *len += (size_t)n;
    rc = wsm_http_parse_request(&head, in, *len, WSM_HTTP_HEAD_MAX_DEFAULT, &scanned);
  } while (rc == 0);
  if (rc > 0) {
    while (count < MAX_HEADERS && wsm_http_header_next(&head, &pos, &headers[count])) count++;
    req.http_major = head.version_major;
    req.http_minor = head.version_minor;
    req.method = head.method;
    req.method_len = head.method_len;
    req.headers = headers;
    req.header_count = count;
    /* a header we could not keep could be a duplicate the check must see */
    rc = count == MAX_HEADERS ? WSM_E_HTTP_HEAD_TOO_LARGE : wsm_upgrade_check(&req, accept);
  }
  if (rc < 0) {
    status = wsm_handshake_status(rc);
    snprintf(reply, sizeof reply,
             "HTTP/1.1 %d %s\r\n%sContent-Length: 0\r\nConnection: close\r\n\r\n", status,
             status == 426 ? "Upgrade Required"
             : status == 431 ? "Request Header Fields Too Large" : "Bad Request",
             status == 426 ? "Sec-WebSocket-Version: 13\r\n" : "");
    write_all(fd, reply, strlen(reply));
    fprintf(stderr, "refused: %s\n", wsm_strerror(rc));
    return -1;
  }
  snprintf(reply, sizeof reply,
           "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
           "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", accept);
  return write_all(fd, reply, strlen(reply)) == 0 ? (long)head.head_len : -1;
}

static void serve(int fd) {
  struct wsm_conn ws;
  struct wsm_config cfg;
  struct wsm_close_info info;
  size_t len, pos;
  long head = upgrade(fd, &len);
  if (head < 0) return;
  wsm_config_init(&cfg, WSM_ROLE_SERVER);
  cfg.max_message = MAX_MESSAGE;
  wsm_conn_init_open(&ws, &cfg);
  wsm_conn_set_message_buffer(&ws, message, sizeof message);
  pos = (size_t)head;
  while (wsm_conn_transport(&ws) == WSM_TRANSPORT_KEEP) {
    struct wsm_event ev;
    const uint8_t *out;
    size_t used, n;
    ssize_t r;
    int rc = wsm_conn_recv(&ws, in + pos, len - pos, &used, &ev);
    pos += used;
    if (ev.type == WSM_EV_MESSAGE &&
        wsm_conn_send(&ws, ev.opcode, ev.data, ev.len, WSM_SEND_FIN, frame, sizeof frame,
                      &n) == 0 &&
        write_all(fd, frame, n) != 0)
      break;
    n = wsm_conn_output(&ws, &out); /* pongs and close frames, between our frames */
    if (n > 0) {
      if (write_all(fd, out, n) != 0) break;
      wsm_conn_output_ack(&ws, n);
    }
    if (rc < 0 || ev.type != WSM_EV_NONE) continue;
    /* wsm wants more bytes: keep the few it left and read after them */
    memmove(in, in + pos, len - pos);
    len -= pos;
    pos = 0;
    r = read(fd, in + len, sizeof in - len);
    if (r <= 0) {
      wsm_conn_recv_eof(&ws);
      break;
    }
    len += (size_t)r;
  }
  wsm_conn_close_info(&ws, &info);
  fprintf(stderr, "closed: code received %u, sent %u, error %s\n", (unsigned)info.code_received,
          (unsigned)info.code_sent, wsm_err_name(info.error));
}

int main(int argc, char **argv) {
  struct sockaddr_in sa;
  socklen_t sa_len = sizeof sa;
  int one = 1, port = 9002, fd;
  if (argc == 3 && strcmp(argv[1], "--port") == 0) port = atoi(argv[2]);
  else if (argc != 1) port = -1;
  if (port < 0 || port > 65535) {
    fprintf(stderr, "usage: framing_only [--port N]\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  fd = socket(AF_INET, SOCK_STREAM, 0);
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 16) != 0) {
    perror("framing_only");
    return 1;
  }
  getsockname(fd, (struct sockaddr *)&sa, &sa_len); /* --port 0: the port we got */
  printf("listening on ws://127.0.0.1:%u/\n", (unsigned)ntohs(sa.sin_port));
  fflush(stdout);
  for (;;) {
    int c = accept(fd, NULL, NULL);
    if (c < 0) continue;
    serve(c);
    close(c);
  }
}
