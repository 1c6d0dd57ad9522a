/* SPDX-License-Identifier: MIT */
/*
 * loadgen: the load generator of bench/server/run.sh. Plain sockets and a
 * few lines of framing of its own; it shares no code with wsm, so that it
 * drives every server the same way.
 *
 *   loadgen --port N --pid PID --conns N --size BYTES [--binary] [--depth D]
 *           [--warmup SECONDS] [--seconds SECONDS]
 *   loadgen --port N --idle N
 *
 * Echo mode: opens N connections to 127.0.0.1, and on each keeps D messages
 * (default 1) of the given size on their way: a message is sent again as soon
 * as its echo has come back whole and equal. After the warmup, it reads the
 * server's CPU time (utime + stime in /proc/PID/stat) at the start and the end
 * of the measured window and prints one line:
 *
 *   messages=M cpu_ticks=T sys_ticks=K hz=HZ us_per_message=X seconds=S
 *
 * (sys_ticks: the part of T spent in the kernel, stime.)
 *
 * Idle mode: opens N connections one after another, completes each opening
 * handshake, prints "ready N" and holds them until it is killed.
 *
 * The key is fixed and the server's Sec-WebSocket-Accept is not checked
 * (only the 101 status is): this measures servers, it does not test them.
 * Every message uses the same mask key, which the servers cannot tell.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define READ_SIZE (256 * 1024)
#define MAX_EVENTS 256

struct peer {
  int fd;
  unsigned to_send;     /* messages to write, the first one begun at tx_off */
  size_t tx_off;
  int want_out;         /* EPOLLOUT is registered */
  uint8_t hdr[10];      /* a frame header that arrived in pieces */
  size_t hdr_len;
  uint64_t frame_left;  /* payload bytes of the current frame still to come */
  int frame_fin;
  int in_frame;
  int msg_begun;        /* a frame of the current echo has begun */
  size_t msg_off;       /* payload bytes of the current echo seen so far */
};

static uint8_t *payload;  /* what every message carries */
static size_t size;
static uint8_t *wire;     /* the masked client frame of one message */
static size_t wire_len;
static int opcode = 1;    /* 1 text, 2 binary */
static uint64_t echoes;   /* whole messages that came back */
static int epfd;
static uint8_t rbuf[READ_SIZE];

static void die(const char *what) {
  perror(what);
  exit(1);
}

static void fail(const char *why) {
  fprintf(stderr, "loadgen: %s\n", why);
  exit(1);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* utime + stime of process pid, in clock ticks; stime alone in *sys. */
static unsigned long cpu_ticks(int pid, unsigned long *sys) {
  char path[64], buf[1024];
  unsigned long ut = 0, st = 0;
  FILE *f;
  size_t n;
  char *p;
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  f = fopen(path, "r");
  if (!f) die(path);
  n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  p = strrchr(buf, ')'); /* the command name may hold spaces */
  if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut,
                   &st) != 2)
    fail("cannot parse /proc/PID/stat");
  *sys = st;
  return ut + st;
}

/* Connect and complete the opening handshake, blocking; returns the socket,
 * non-blocking from then on. Any bytes after the 101 head are an error here:
 * the servers send nothing before we do. */
static int open_ws(int port) {
  static const char key[] = "dGhlIHNhbXBsZSBub25jZQ==";
  struct sockaddr_in sa;
  struct timeval tv = {10, 0};
  char req[256], resp[1024];
  size_t got = 0;
  int one = 1, n, fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) die("socket");
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) die("connect");
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  n = snprintf(req, sizeof req,
               "GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n",
               port, key);
  if (write(fd, req, (size_t)n) != n) die("write request");
  for (;;) {
    ssize_t r = read(fd, resp + got, sizeof resp - 1 - got);
    if (r <= 0) fail("no answer to the upgrade request");
    got += (size_t)r;
    resp[got] = 0;
    if (strstr(resp, "\r\n\r\n")) break;
    if (got == sizeof resp - 1) fail("upgrade answer too long");
  }
  if (strncmp(resp, "HTTP/1.1 101", 12) != 0) fail("upgrade refused");
  if ((size_t)(strstr(resp, "\r\n\r\n") + 4 - resp) != got) fail("bytes after the 101");
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

/* One client frame (RFC 6455 5.2): FIN, the opcode, the length in its
 * shortest form, a mask key and the masked payload. */
static void build_wire(void) {
  static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
  size_t h = 0, i;
  wire = malloc(size + 14);
  if (!wire) die("malloc");
  wire[h++] = (uint8_t)(0x80 | opcode);
  if (size < 126) {
    wire[h++] = (uint8_t)(0x80 | size);
  } else if (size < 65536) {
    wire[h++] = 0x80 | 126;
    wire[h++] = (uint8_t)(size >> 8);
    wire[h++] = (uint8_t)size;
  } else {
    wire[h++] = 0x80 | 127;
    for (i = 0; i < 8; i++) wire[h++] = (uint8_t)((uint64_t)size >> (56 - 8 * i));
  }
  memcpy(wire + h, key, 4);
  h += 4;
  for (i = 0; i < size; i++) wire[h + i] = payload[i] ^ key[i % 4];
  wire_len = h + size;
}

static void want_out(struct peer *p, int on) {
  struct epoll_event e;
  if (p->want_out == on) return;
  p->want_out = on;
  e.events = EPOLLIN | (on ? (unsigned)EPOLLOUT : 0u);
  e.data.ptr = p;
  if (epoll_ctl(epfd, EPOLL_CTL_MOD, p->fd, &e) != 0) die("epoll_ctl");
}

static void send_some(struct peer *p) {
  while (p->to_send > 0) {
    ssize_t n = write(p->fd, wire + p->tx_off, wire_len - p->tx_off);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      die("write");
    }
    p->tx_off += (size_t)n;
    if (p->tx_off == wire_len) {
      p->tx_off = 0;
      p->to_send--;
    }
  }
  want_out(p, p->to_send > 0);
}

/* Header length of a server frame (unmasked), from its first two bytes. */
static size_t header_len(const uint8_t *h) {
  unsigned len7 = h[1] & 0x7fu;
  return len7 == 126 ? 4 : len7 == 127 ? 10 : 2;
}

static void start_frame(struct peer *p) {
  const uint8_t *h = p->hdr;
  unsigned op = h[0] & 0x0fu, len7 = h[1] & 0x7fu;
  uint64_t len = len7;
  size_t i;
  if (h[1] & 0x80) fail("server frame is masked");
  if (op & 0x8) fail("server sent a control frame (a close?)");
  if (op != (p->msg_begun ? 0u : (unsigned)opcode)) fail("unexpected opcode in the echo");
  if (len7 == 126) len = (uint64_t)h[2] << 8 | h[3];
  if (len7 == 127)
    for (len = 0, i = 2; i < 10; i++) len = len << 8 | h[i];
  p->frame_left = len;
  p->frame_fin = (h[0] & 0x80) != 0;
  p->in_frame = 1;
  p->msg_begun = 1;
}

static void end_frame(struct peer *p) {
  p->in_frame = 0;
  p->hdr_len = 0;
  if (!p->frame_fin) return;
  if (p->msg_off != size) fail("echo has the wrong length");
  p->msg_off = 0;
  p->msg_begun = 0;
  echoes++;
  p->to_send++;
}

/* Walk the server's frames in data: check each echo against the payload. */
static void take_input(struct peer *p, const uint8_t *data, size_t len) {
  while (len > 0) {
    if (!p->in_frame) {
      p->hdr[p->hdr_len++] = *data++;
      len--;
      if (p->hdr_len < 2 || p->hdr_len < header_len(p->hdr)) continue;
      start_frame(p);
      if (p->frame_left == 0) end_frame(p);
      continue;
    }
    size_t n = p->frame_left < len ? (size_t)p->frame_left : len;
    if (p->msg_off + n > size || memcmp(data, payload + p->msg_off, n) != 0)
      fail("echo differs from what was sent");
    p->msg_off += n;
    p->frame_left -= n;
    data += n;
    len -= n;
    if (p->frame_left == 0) end_frame(p);
  }
}

static void on_ready(struct peer *p, unsigned events) {
  if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
    ssize_t n = read(p->fd, rbuf, sizeof rbuf);
    if (n == 0) fail("server closed a connection");
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) die("read");
    if (n > 0) take_input(p, rbuf, (size_t)n);
  }
  if (p->to_send > 0) send_some(p);
}

static int idle_mode(int port, long count) {
  for (long i = 0; i < count; i++) open_ws(port);
  printf("ready %ld\n", count);
  fflush(stdout);
  for (;;) pause();
}

static void usage(void) {
  fprintf(stderr, "usage: loadgen --port N --pid PID --conns N --size BYTES [--binary]\n"
                  "               [--depth D] [--warmup S] [--seconds S]\n"
                  "       loadgen --port N --idle N\n");
  exit(2);
}

int main(int argc, char **argv) {
  int port = 0, pid = 0;
  long conns = 1, idle = 0, depth = 1;
  double warmup = 0.5, seconds = 2.0, t_start, t0 = 0;
  unsigned long cpu0 = 0, cpu1, sys0 = 0, sys1;
  uint64_t echoes0 = 0;
  struct peer *peers;
  struct epoll_event ev[MAX_EVENTS];

  size = 20;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--binary") == 0) {
      opcode = 2;
      continue;
    }
    if (!v) usage();
    i++;
    if (strcmp(a, "--port") == 0) port = atoi(v);
    else if (strcmp(a, "--pid") == 0) pid = atoi(v);
    else if (strcmp(a, "--conns") == 0) conns = atol(v);
    else if (strcmp(a, "--size") == 0) size = (size_t)atol(v);
    else if (strcmp(a, "--depth") == 0) depth = atol(v);
    else if (strcmp(a, "--warmup") == 0) warmup = atof(v);
    else if (strcmp(a, "--seconds") == 0) seconds = atof(v);
    else if (strcmp(a, "--idle") == 0) idle = atol(v);
    else usage();
  }
  if (port <= 0) usage();
  if (idle > 0) return idle_mode(port, idle);
  if (pid <= 0 || conns <= 0 || depth <= 0 || size == 0) usage();

  payload = malloc(size);
  peers = calloc((size_t)conns, sizeof *peers);
  if (!payload || !peers) die("malloc");
  for (size_t i = 0; i < size; i++) payload[i] = (uint8_t)('a' + i % 26); /* also UTF-8 */
  build_wire();
  epfd = epoll_create1(0);
  if (epfd < 0) die("epoll_create1");
  for (long i = 0; i < conns; i++) {
    struct epoll_event e;
    struct peer *p = &peers[i];
    p->fd = open_ws(port);
    e.events = EPOLLIN;
    e.data.ptr = p;
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, p->fd, &e) != 0) die("epoll_ctl");
  }
  for (long i = 0; i < conns; i++) {
    peers[i].to_send = (unsigned)depth;
    send_some(&peers[i]);
  }

  t_start = now_s();
  for (;;) {
    int n = epoll_wait(epfd, ev, MAX_EVENTS, 100);
    double t;
    if (n < 0 && errno != EINTR) die("epoll_wait");
    for (int i = 0; i < n; i++) on_ready(ev[i].data.ptr, ev[i].events);
    t = now_s();
    if (t0 == 0 && t - t_start >= warmup) {
      t0 = t;
      cpu0 = cpu_ticks(pid, &sys0);
      echoes0 = echoes;
    } else if (t0 > 0 && t - t0 >= seconds) {
      uint64_t m;
      long hz = sysconf(_SC_CLK_TCK);
      cpu1 = cpu_ticks(pid, &sys1);
      m = echoes - echoes0;
      if (m == 0) fail("no message came back in the window");
      printf("messages=%llu cpu_ticks=%lu sys_ticks=%lu hz=%ld us_per_message=%.4f "
             "seconds=%.3f\n",
             (unsigned long long)m, cpu1 - cpu0, sys1 - sys0, hz,
             (double)(cpu1 - cpu0) * 1e6 / (double)hz / (double)m, t - t0);
      return 0;
    }
  }
}
