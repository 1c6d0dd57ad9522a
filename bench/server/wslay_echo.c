/* SPDX-License-Identifier: MIT */
/*
 * wslay_echo: a wslay echo server for bench/server/run.sh, on wslay's event
 * API and an epoll loop of its own.
 *
 *   wslay_echo [--port N]
 *
 * One thread. wslay has no HTTP layer: the upgrade is read here (a request
 * head of at most 8 KiB, in a buffer that lives only until the 101 is
 * written) and answered with the accept key computed by OpenSSL. Then wslay
 * gathers each message whole (it reads through its own 4 KiB buffer) and
 * on_msg_recv queues it back; wslay answers pings and closes itself. It does
 * not check text for UTF-8. Prints "listening on ws://127.0.0.1:PORT/".
 */
#define _POSIX_C_SOURCE 200809L

#include <wslay/wslay.h>
#include <openssl/evp.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define HEAD_MAX 8192

struct client {
  int fd;
  wslay_event_context_ptr ws; /* NULL until the handshake is done */
  char *head;                 /* the request head while it arrives */
  size_t head_len;
};

static int epfd, listen_fd;
static volatile sig_atomic_t stop;

static void on_signal(int sig) {
  (void)sig;
  stop = 1;
}

static ssize_t recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
                       void *user) {
  struct client *c = user;
  ssize_t n;
  (void)flags;
  do n = read(c->fd, buf, len);
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    wslay_event_set_error(ctx, errno == EAGAIN || errno == EWOULDBLOCK ? WSLAY_ERR_WOULDBLOCK
                                                                       : WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
  }
  if (n == 0) { /* end of stream */
    wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
  }
  return n;
}

static ssize_t send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len,
                       int flags, void *user) {
  struct client *c = user;
  ssize_t n;
  (void)flags;
  do n = write(c->fd, data, len);
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    wslay_event_set_error(ctx, errno == EAGAIN || errno == EWOULDBLOCK ? WSLAY_ERR_WOULDBLOCK
                                                                       : WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
  }
  return n;
}

static void on_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                   void *user) {
  struct wslay_event_msg m;
  (void)user;
  if (wslay_is_ctrl_frame(arg->opcode)) return; /* wslay answers these */
  m.opcode = arg->opcode;
  m.msg = arg->msg;
  m.msg_length = arg->msg_length;
  wslay_event_queue_msg(ctx, &m); /* copies the message */
}

static void drop(struct client *c) {
  close(c->fd);
  if (c->ws) wslay_event_context_free(c->ws);
  free(c->head);
  free(c);
}

/* Value of header name in a complete head, or NULL; *len gets its length. */
static const char *find_header(const char *head, const char *name, size_t *len) {
  size_t n = strlen(name);
  const char *line = strstr(head, "\r\n");
  while (line && line[2] != '\r') {
    const char *start = line + 2, *end = strstr(start, "\r\n");
    if (strncasecmp(start, name, n) == 0 && start[n] == ':') {
      start += n + 1;
      while (*start == ' ' || *start == '\t') start++;
      while (end > start && (end[-1] == ' ' || end[-1] == '\t')) end--;
      *len = (size_t)(end - start);
      return start;
    }
    line = end;
  }
  return NULL;
}

/* Read the upgrade request; answer 101 once it is whole. Returns -1 to drop c. */
static int handshake(struct client *c) {
  static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  static const struct wslay_event_callbacks callbacks = {recv_cb, send_cb, NULL, NULL,
                                                         NULL,    NULL,    on_msg};
  unsigned char digest[EVP_MAX_MD_SIZE], accept[64];
  char keyed[128], resp[256];
  const char *key;
  size_t key_len;
  unsigned digest_len;
  ssize_t n;
  int len;
  if (!c->head && !(c->head = malloc(HEAD_MAX + 1))) return -1;
  n = read(c->fd, c->head + c->head_len, HEAD_MAX - c->head_len);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return 0;
  if (n <= 0) return -1;
  c->head_len += (size_t)n;
  c->head[c->head_len] = 0;
  if (!strstr(c->head, "\r\n\r\n")) return c->head_len == HEAD_MAX ? -1 : 0;
  key = find_header(c->head, "Sec-WebSocket-Key", &key_len);
  if (!key || key_len + sizeof guid > sizeof keyed) return -1;
  memcpy(keyed, key, key_len);
  memcpy(keyed + key_len, guid, sizeof guid - 1);
  if (!EVP_Digest(keyed, key_len + sizeof guid - 1, digest, &digest_len, EVP_sha1(), NULL))
    return -1;
  EVP_EncodeBlock(accept, digest, (int)digest_len);
  len = snprintf(resp, sizeof resp,
                 "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                 (const char *)accept);
  /* A fresh socket takes 130 bytes at once; the client sends nothing more
   * before it has them, so the head buffer holds nothing after the head. */
  if (write(c->fd, resp, (size_t)len) != len) return -1;
  free(c->head);
  c->head = NULL;
  return wslay_event_context_server_init(&c->ws, &callbacks, c) == 0 ? 0 : -1;
}

static void serve(struct client *c, unsigned events) {
  struct epoll_event e;
  if (!c->ws) {
    if (handshake(c) < 0) drop(c);
    return;
  }
  if ((events & (EPOLLIN | EPOLLERR | EPOLLHUP)) && wslay_event_recv(c->ws) != 0) {
    drop(c);
    return;
  }
  if (wslay_event_want_write(c->ws) && wslay_event_send(c->ws) != 0) {
    drop(c);
    return;
  }
  if (!wslay_event_want_read(c->ws) && !wslay_event_want_write(c->ws)) {
    drop(c);
    return;
  }
  e.events = (wslay_event_want_read(c->ws) ? (unsigned)EPOLLIN : 0u) |
             (wslay_event_want_write(c->ws) ? (unsigned)EPOLLOUT : 0u);
  e.data.ptr = c;
  epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &e);
}

static void accept_all(void) {
  int fd, one = 1;
  while ((fd = accept(listen_fd, NULL, NULL)) >= 0) {
    struct client *c = calloc(1, sizeof *c);
    struct epoll_event e;
    if (!c) {
      close(fd);
      continue;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->fd = fd;
    e.events = EPOLLIN;
    e.data.ptr = c;
    epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &e);
  }
}

int main(int argc, char **argv) {
  struct sockaddr_in sa;
  socklen_t sa_len = sizeof sa;
  struct epoll_event e, ev[64];
  int one = 1, port = 9001;

  if (argc == 3 && strcmp(argv[1], "--port") == 0) {
    port = atoi(argv[2]);
  } else if (argc != 1) {
    fprintf(stderr, "usage: wslay_echo [--port N]\n");
    return 2;
  }
  /* The echo allocates and frees a buffer per message. Keep freed memory
   * (glibc): returning the top of the heap to the kernel after every free
   * costs page faults that measure glibc, not the library. */
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  mallopt(M_MMAP_THRESHOLD, 16 << 20);
  signal(SIGPIPE, SIG_IGN);
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  listen_fd = socket(AF_INET, SOCK_STREAM, 0);
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(listen_fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(listen_fd, SOMAXCONN) != 0) {
    perror("wslay_echo: listen");
    return 1;
  }
  fcntl(listen_fd, F_SETFL, fcntl(listen_fd, F_GETFL) | O_NONBLOCK);
  getsockname(listen_fd, (struct sockaddr *)&sa, &sa_len);
  printf("listening on ws://127.0.0.1:%d/\n", ntohs(sa.sin_port));
  fflush(stdout);

  epfd = epoll_create1(0);
  e.events = EPOLLIN;
  e.data.ptr = NULL; /* the listening socket */
  epoll_ctl(epfd, EPOLL_CTL_ADD, listen_fd, &e);
  while (!stop) {
    int n = epoll_wait(epfd, ev, 64, 1000);
    for (int i = 0; i < n; i++) {
      if (ev[i].data.ptr) serve(ev[i].data.ptr, ev[i].events);
      else accept_all();
    }
  }
  return 0;
}
