/* SPDX-License-Identifier: MIT */
/*
 * echo_server: a WebSocket echo server on a single-threaded event loop
 * (io_uring on Linux, else epoll; poll() elsewhere) serving many connections.
 *
 *   echo_server [--host ADDR] [--port N] [--protocol NAME]... [--max-message BYTES]
 *               [--loop uring|epoll|poll] [--batch-us N]
 *
 * It shows how a host drives wsm:
 *   - wsm does the HTTP upgrade (WSM_EV_REQUEST, then wsm_conn_accept);
 *   - echo by streaming: each chunk of a message goes back as a frame as soon
 *     as it arrives, so a message of any size passes in constant memory;
 *   - backpressure: a connection with unsent output is not read (io_uring:
 *     once OUT_HIGH bytes are unsent);
 *   - memory: connections read into shared buffers, and keep bytes of their
 *     own only while they are left over or unsent;
 *   - wsm's own frames (pongs, close frames) go between our frames;
 *   - time through wsm_conn_expiry() and wsm_conn_tick();
 *   - closing the socket when wsm_conn_transport() says so, without a reset
 *     that could destroy the close frame (and with it, why we closed);
 *   - the HTTP layer on its own: a plain "GET /" gets a page to try it with.
 */
#define _POSIX_C_SOURCE 200809L

#include <wsm.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Define ECHO_USE_POLL to try the poll() loop on Linux. */
#if defined(__linux__) && !defined(ECHO_USE_POLL)
#include <sys/epoll.h>
#define USE_EPOLL 1
#else
#include <poll.h>
#define USE_EPOLL 0
#endif

/* io_uring on Linux unless ECHO_NO_URING; --loop picks it or the readiness
 * loop above at run time, and a kernel without it falls back to the latter. */
#if defined(__linux__) && !defined(ECHO_NO_URING)
#include <poll.h>
#include "uring.h"
#define HAVE_URING 1
#else
#define HAVE_URING 0
#endif

#define READ_BUF_SIZE (256 * 1024) /* holds any request head (8 KiB at most) */
#define OUT_BUF_SIZE (READ_BUF_SIZE + 4096) /* the echo of one read, and some */
#define HELD_MAX WSM_HTTP_HEAD_MAX_DEFAULT /* the most a connection keeps between reads */
#define LINGER_MS 5000            /* how long a closing socket may take to write what is left */
#define DRAIN_MS 2000             /* and then to send its FIN and wait for the peer's */
#define MAX_PROTOCOLS 16

#define WANT_READ 1u
#define WANT_WRITE 2u

struct conn {
  int fd;
  struct wsm_conn ws;
  uint8_t *held;             /* input wsm did not consume yet; NULL when none */
  size_t held_len;
  uint8_t *out;              /* whole frames to write; NULL when none are pending */
  size_t out_len, out_sent, out_cap;
  size_t http_scanned;       /* progress of our own look at the request head */
  int head_to_wsm;           /* the head asks for an upgrade: wsm handles it */
  const char *http_answer;   /* the plain HTTP status we answered with */
  const char *drop;          /* why to close at once (socket error, shutdown) */
  uint64_t linger_until;     /* 0, or when to give up on an orderly close */
  int draining;              /* all written and FIN sent: reading to the peer's */
  int peer_eof;              /* the peer's FIN (or a reset) arrived */
  unsigned want;             /* WANT_* as registered with the poller */
  unsigned in_flight;        /* RECV_IN_FLIGHT, RECV_CANCELLING, SEND_IN_FLIGHT (io_uring) */
  uint8_t *send_buf;         /* the queue memory an in-flight send reads from */
  size_t send_cap;
  int closed;                /* closed; freed once the ring gives its requests back */
  char name[80];             /* peer address, for the log */
  struct conn *prev, *next;
};

static struct {
  const char *host, *port;
  const char *protocols[MAX_PROTOCOLS];
  size_t protocol_count;
  uint64_t max_message;
  unsigned batch_us;
} opt = {"127.0.0.1", "9001", {NULL}, 0, 0, 0};

static struct wsm_config config;
static struct conn *conns; /* every open connection */
static uint64_t next_due;  /* no connection's timer is due before this */

/*
 * The buffers all connections share, one at a time (the epoll and poll
 * loops; io_uring receives into its own shared buffers, below). A connection
 * reads into in_buf, after the bytes it held from last time; wsm leaves
 * unconsumed at most a partial frame header or control frame
 * (WSM_RECV_HOLD_MAX bytes), or a partial request head, and only those are
 * copied out and kept. Output is gathered in out_buf while a connection is
 * served; what the socket does not take at once moves into an allocation of
 * the connection's own. So an idle connection holds no buffer at all, and a
 * plain echo allocates nothing.
 */
static uint8_t in_buf[READ_BUF_SIZE];
static uint8_t out_buf[OUT_BUF_SIZE];
static int listen_fd = -1;
static int wake_pipe[2] = {-1, -1}; /* the signal handler wakes the loop with it */
static volatile sig_atomic_t stop_requested;

/* The page for a plain "GET /": it connects back to this server. */
static const char page[] =
    "<!doctype html>\n<meta charset=\"utf-8\">\n<title>wsm echo</title>\n"
    "<style>body{font:16px sans-serif;max-width:40em;margin:2em auto}"
    "#log{white-space:pre-wrap;border:1px solid #aaa;padding:.5em;min-height:10em}</style>\n"
    "<h1>wsm echo</h1>\n"
    "<form id=\"f\"><input id=\"msg\" size=\"40\" autofocus> <button>Send</button></form>\n"
    "<div id=\"log\"></div>\n<script>\n"
    "const log = s => { document.getElementById('log').textContent += s + '\\n'; };\n"
    "const ws = new WebSocket('ws://' + location.host + '/');\n"
    "ws.onopen = () => log('connected');\n"
    "ws.onmessage = e => log('echo: ' + e.data);\n"
    "ws.onclose = e => log('closed: ' + e.code + ' ' + e.reason);\n"
    "document.getElementById('f').onsubmit = e => {\n"
    "  e.preventDefault();\n"
    "  const m = document.getElementById('msg');\n"
    "  ws.send(m.value); log('sent: ' + m.value); m.value = '';\n"
    "};\n</script>\n";

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void dispatch(void *ptr, unsigned ready, uint64_t now);

/* ---- readiness: epoll, or poll() over the whole set ---------------------- */

#if USE_EPOLL
static int epoll_fd = -1;

static int poller_init(void) {
  epoll_fd = epoll_create1(0);
  return epoll_fd < 0 ? -1 : 0;
}

static void poller_set(int fd, void *ptr, unsigned want, int op) {
  struct epoll_event e;
  memset(&e, 0, sizeof e);
  e.events = (want & WANT_READ ? (unsigned)EPOLLIN : 0u) |
             (want & WANT_WRITE ? (unsigned)EPOLLOUT : 0u);
  e.data.ptr = ptr;
  epoll_ctl(epoll_fd, op, fd, &e);
}
#define poller_add(fd, ptr, want) poller_set(fd, ptr, want, EPOLL_CTL_ADD)
#define poller_mod(fd, ptr, want) poller_set(fd, ptr, want, EPOLL_CTL_MOD)

static void poller_wait(int timeout_ms) {
  struct epoll_event ev[64];
  int n = epoll_wait(epoll_fd, ev, 64, timeout_ms);
  uint64_t now = now_ms();
  for (int i = 0; i < n; i++) {
    unsigned ready = 0; /* errors and hangups: let recv() or send() tell */
    if (ev[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) ready |= WANT_READ;
    if (ev[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) ready |= WANT_WRITE;
    dispatch(ev[i].data.ptr, ready, now);
  }
}
#else
static int poller_init(void) { return 0; }
/* poll() reads each connection's want field on every wait instead. */
#define poller_add(fd, ptr, want) ((void)0)
#define poller_mod(fd, ptr, want) ((void)0)

static void poller_wait(int timeout_ms) {
  size_t n = 2, i = 2;
  struct conn *c;
  for (c = conns; c; c = c->next) n++;
  struct pollfd *pfd = calloc(n, sizeof *pfd);
  void **ptr = calloc(n, sizeof *ptr);
  if (pfd && ptr) {
    pfd[0].fd = listen_fd; /* -1 once closed: poll() skips it */
    pfd[0].events = POLLIN;
    ptr[0] = &listen_fd;
    pfd[1].fd = wake_pipe[0];
    pfd[1].events = POLLIN;
    ptr[1] = wake_pipe;
    for (c = conns; c; c = c->next, i++) {
      pfd[i].fd = c->fd;
      pfd[i].events = (short)(c->want & WANT_READ ? POLLIN : POLLOUT);
      ptr[i] = c;
    }
    if (poll(pfd, (nfds_t)n, timeout_ms) > 0) {
      uint64_t now = now_ms();
      for (i = 0; i < n; i++) {
        unsigned ready = 0;
        if (pfd[i].revents & (POLLIN | POLLERR | POLLHUP)) ready |= WANT_READ;
        if (pfd[i].revents & (POLLOUT | POLLERR | POLLHUP)) ready |= WANT_WRITE;
        if (ready) dispatch(ptr[i], ready, now);
      }
    }
  }
  free(pfd);
  free(ptr);
}
#endif

/* ---- completions: io_uring ----------------------------------------------- */

/*
 * With the ring there is no readiness: a connection that wants input has a
 * receive waiting in the kernel, which takes one of the shared buffers only
 * once data is there; output goes out as a send request. Requests and their
 * completions carry the connection's address with the kind in its low bits.
 * All requests queued while the completions of one wait are handled go to
 * the kernel together, with the next wait: one system call for the lot.
 */
#define IO_IGNORE 0u /* cancellations */
#define IO_POLL 1u   /* the listening socket and the wake pipe: readiness */
#define IO_RECV 2u
#define IO_SEND 3u
#define IO_KIND 3u
#define RECV_IN_FLIGHT 1u /* struct conn's in_flight */
#define SEND_IN_FLIGHT 2u
#define RECV_CANCELLING 4u /* backpressure: the receive is being cancelled */
#define RECV_MULTISHOT 8u  /* the receive asked for multishot */
/* Shared; pages are touched only where data lands. The kernel may fill all
 * of them before we see the first, so they also bound how far a connection
 * reads past the point where backpressure cancels its receive. */
#define RX_BUF_COUNT 64u
#define RX_BUF_SIZE (64 * 1024)
/* In front of each: room for what a connection held from its last receive (a
 * partial frame header or control frame), so that wsm reads one run of bytes
 * in place. A larger remainder (a partial request head) goes with the receive
 * into in_buf. */
#define RX_HEADROOM 192
#if RX_HEADROOM < WSM_RECV_HOLD_MAX
#error "the headroom must hold a partial control frame"
#endif
#if READ_BUF_SIZE < HELD_MAX + RX_BUF_SIZE
#error "in_buf must hold what a connection keeps and a whole receive"
#endif
#define RX_GROUP 1
/* A connection keeps reading while less than this waits to be sent; the
 * kernel may deliver up to all receive buffers more before the cancel. */
#define OUT_HIGH (256 * 1024)

static void conn_free(struct conn *c);

#if HAVE_URING
static void on_received(struct conn *c, int res, uint8_t *data, uint64_t now);
static void on_sent(struct conn *c, int res, uint64_t now);
static int settle(struct conn *c, uint64_t now);
static int use_uring;
static struct uring ring;
static struct uring_bufs rx_bufs;
static int recv_multishot = 1; /* 6.0: one request receives until cancelled */

static int ring_init(void) {
  int rc = uring_init(&ring, 4096);
  if (rc == 0)
    rc = uring_bufs_init(&ring, &rx_bufs, RX_GROUP, RX_BUF_COUNT, RX_BUF_SIZE, RX_HEADROOM);
  if (rc != 0) {
    fprintf(stderr, "echo_server: io_uring unavailable (%s); using the %s loop\n",
            strerror(-rc), USE_EPOLL ? "epoll" : "poll");
    uring_bufs_free(&rx_bufs);
    if (ring.ring_mem) uring_free(&ring);
    return 0;
  }
  return 1;
}

static struct io_uring_sqe *ring_request(uint8_t op, int fd, void *ptr, unsigned kind) {
  struct io_uring_sqe *sqe = uring_sqe(&ring);
  if (!sqe) return NULL;
  sqe->opcode = op;
  sqe->fd = fd;
  sqe->user_data = (uint64_t)(uintptr_t)ptr | kind;
  return sqe;
}

static void ring_poll(int fd, void *ptr) {
  struct io_uring_sqe *sqe = ring_request(IORING_OP_POLL_ADD, fd, ptr, IO_POLL);
  if (sqe) sqe->poll32_events = POLLIN;
}

static void ring_cancel(void *ptr, unsigned kind) {
  struct io_uring_sqe *sqe = ring_request(IORING_OP_ASYNC_CANCEL, -1, NULL, IO_IGNORE);
  if (sqe) sqe->addr = (uint64_t)(uintptr_t)ptr | kind;
}

/* A receive into whichever shared buffer is free when data comes; a
 * multishot one stays armed and completes once for every arrival. */
static void ring_recv(struct conn *c) {
  struct io_uring_sqe *sqe;
  if (c->in_flight & RECV_IN_FLIGHT) return;
  sqe = ring_request(IORING_OP_RECV, c->fd, c, IO_RECV);
  if (!sqe) {
    c->drop = "io_uring full";
    return;
  }
  sqe->flags = IOSQE_BUFFER_SELECT;
  sqe->buf_group = RX_GROUP;
  c->in_flight |= RECV_IN_FLIGHT;
  if (recv_multishot) {
    sqe->ioprio = IORING_RECV_MULTISHOT;
    c->in_flight |= RECV_MULTISHOT;
  }
}

static void ring_send(struct conn *c) {
  struct io_uring_sqe *sqe;
  size_t rest = c->out_len - c->out_sent;
  if ((c->in_flight & SEND_IN_FLIGHT) || rest == 0) return;
  sqe = ring_request(IORING_OP_SEND, c->fd, c, IO_SEND);
  if (!sqe) {
    c->drop = "io_uring full";
    return;
  }
  sqe->addr = (uint64_t)(uintptr_t)(c->out + c->out_sent);
  sqe->len = rest > (1u << 30) ? 1u << 30 : (uint32_t)rest;
  sqe->msg_flags = MSG_NOSIGNAL;
  c->send_buf = c->out;
  c->send_cap = c->out_cap;
  c->in_flight |= SEND_IN_FLIGHT;
}

/* Keep a receive waiting unless too much output is: backpressure. */
static void ring_arm(struct conn *c) {
  if (c->peer_eof) return; /* nothing more will come: a receive would end at once */
  if (!c->out || c->out_len - c->out_sent < OUT_HIGH) {
    ring_recv(c);
  } else if ((c->in_flight & (RECV_IN_FLIGHT | RECV_CANCELLING)) == RECV_IN_FLIGHT) {
    ring_cancel(c, IO_RECV);
    c->in_flight |= RECV_CANCELLING;
  }
}

static void ring_close(struct conn *c) {
  if (c->in_flight & RECV_IN_FLIGHT) ring_cancel(c, IO_RECV);
  if (c->in_flight & SEND_IN_FLIGHT) ring_cancel(c, IO_SEND);
}

/* A completion for a closed connection only counts down to freeing it. */
static int ring_settled_closed(struct conn *c, unsigned in_flight) {
  c->in_flight &= ~in_flight;
  if (!c->closed) return 0;
  if (!c->in_flight) conn_free(c);
  return 1;
}

static void ring_complete(const struct io_uring_cqe *cqe, uint64_t now) {
  void *ptr = (void *)(uintptr_t)(cqe->user_data & ~(uint64_t)IO_KIND);
  switch ((unsigned)(cqe->user_data & IO_KIND)) {
  case IO_POLL:
    if (cqe->res == -ECANCELED) return; /* the listening socket closed */
    if (cqe->res < 0) {
      fprintf(stderr, "echo_server: poll failed: %s; no longer %s\n", strerror(-cqe->res),
              ptr == wake_pipe ? "woken by signals" : "accepting");
      return;
    }
    dispatch(ptr, WANT_READ, now);
    if (ptr == wake_pipe) ring_poll(wake_pipe[0], wake_pipe);
    else if (listen_fd >= 0) ring_poll(listen_fd, &listen_fd);
    return;
  case IO_RECV: {
    /* Without F_MORE the request is over (data, end of stream, error). */
    struct conn *c = ptr;
    unsigned over = (cqe->flags & IORING_CQE_F_MORE)
                        ? 0u
                        : RECV_IN_FLIGHT | RECV_CANCELLING | RECV_MULTISHOT;
    if (cqe->res == -EINVAL && (c->in_flight & RECV_MULTISHOT)) {
      recv_multishot = 0; /* before 6.0: one receive at a time, asked again */
      if (!ring_settled_closed(c, over)) settle(c, now);
      return;
    }
    if (cqe->flags & IORING_CQE_F_BUFFER) {
      unsigned id = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
      if (!ring_settled_closed(ptr, over))
        on_received(ptr, cqe->res, uring_buf(&rx_bufs, id), now);
      uring_buf_return(&rx_bufs, id);
    } else if (!ring_settled_closed(ptr, over)) {
      on_received(ptr, cqe->res, NULL, now);
    }
    return;
  }
  case IO_SEND:
    if (!ring_settled_closed(ptr, SEND_IN_FLIGHT)) on_sent(ptr, cqe->res, now);
    return;
  default:
    return;
  }
}

/*
 * With --batch-us, a loop that woke for only a few completions last time
 * waits a little for more: a wake-up costs more than the work it brings.
 * A busy loop finds plenty each time and never waits longer than it must.
 */
#define BATCH_FEW 16u

static void ring_wait(int timeout_ms) {
  static unsigned last_count = 0;
  struct io_uring_cqe *cqe;
  uint64_t now;
  unsigned count = 0;
  int rc = uring_wait(&ring, timeout_ms, last_count < BATCH_FEW ? opt.batch_us : 0u);
  if (rc < 0) { /* not a timeout, signal or full queue: the ring is unusable */
    fprintf(stderr, "echo_server: io_uring_enter: %s\n", strerror(-rc));
    exit(1);
  }
  now = now_ms();
  while ((cqe = uring_peek(&ring)) != NULL) {
    struct io_uring_cqe done = *cqe;
    uring_seen(&ring); /* handling it may queue (and submit) more requests */
    ring_complete(&done, now);
    count++;
  }
  last_count = count;
}
#else
#define use_uring 0
static void ring_send(struct conn *c) { (void)c; }
static void ring_arm(struct conn *c) { (void)c; }
static void ring_close(struct conn *c) { (void)c; }
#endif

/* ---- the output queue ---------------------------------------------------- */

/*
 * Queues of the common size are kept for the next connection that needs one
 * (at most OUT_POOL_MAX of them): giving them back to malloc and asking again
 * for every echo would move the heap's end up and down, a system call and
 * fresh pages each time.
 */
#define OUT_POOL_BUF (RX_BUF_SIZE + 4096) /* the echo of a whole receive */
#define OUT_POOL_MAX 256
static uint8_t *out_pool[OUT_POOL_MAX];
static size_t out_pool_len;

static uint8_t *out_alloc(size_t cap) {
  if (cap == OUT_POOL_BUF && out_pool_len > 0) return out_pool[--out_pool_len];
  return malloc(cap);
}

static void out_release(uint8_t *p, size_t cap) {
  if (p == out_buf || p == NULL) return;
  if (cap == OUT_POOL_BUF && out_pool_len < OUT_POOL_MAX) out_pool[out_pool_len++] = p;
  else free(p);
}

/*
 * Make room for n more bytes. On epoll a connection with nothing pending
 * borrows out_buf; settle() ends every turn with flush(), which gives it
 * back before another connection is served. A queue that outgrows it, that
 * must wait for the socket, or that the kernel sends from later (io_uring)
 * lives on the heap. Bytes already sent are dropped whenever the queue would
 * grow, so it holds what is unsent and what comes next.
 */
static int out_reserve(struct conn *c, size_t n) {
  size_t cap, unsent;
  uint8_t *p;
  if (!c->out && !use_uring) {
    c->out = out_buf;
    c->out_cap = sizeof out_buf;
  }
  if (c->out && c->out_cap - c->out_len >= n) return 1;
  if (c->out && c->out_sent && c->out != c->send_buf) { /* not while the kernel reads it */
    memmove(c->out, c->out + c->out_sent, c->out_len - c->out_sent);
    c->out_len -= c->out_sent;
    c->out_sent = 0;
    if (c->out_cap - c->out_len >= n) return 1;
  }
  unsent = c->out_len - c->out_sent;
  for (cap = c->out_cap ? c->out_cap : OUT_POOL_BUF; cap - unsent < n;) cap *= 2;
  /* Memory the kernel is sending from must stay where it is (io_uring):
   * it is given back when the send completes. That send began at out_sent,
   * which is where the new queue begins. */
  if (!c->out || c->out == out_buf || c->out == c->send_buf || c->out_cap == OUT_POOL_BUF) {
    p = out_alloc(cap);
    if (p && unsent) memcpy(p, c->out + c->out_sent, unsent);
    if (p && c->out != c->send_buf) out_release(c->out, c->out_cap);
  } else {
    p = realloc(c->out, cap); /* out_sent is 0 here */
  }
  if (!p) {
    c->drop = "out of memory";
    return 0;
  }
  c->out = p;
  c->out_cap = cap;
  c->out_len = unsent;
  c->out_sent = 0;
  return 1;
}

static void out_free(struct conn *c) {
  if (c->out != c->send_buf) out_release(c->out, c->out_cap);
  c->out = NULL;
  c->out_len = c->out_sent = c->out_cap = 0;
}

static void out_append(struct conn *c, const void *data, size_t n) {
  if (!out_reserve(c, n)) return;
  memcpy(c->out + c->out_len, data, n);
  c->out_len += n;
}

/*
 * Move what wsm queued (pongs, close frames, the error answer to a bad
 * upgrade) to the end of our queue. Our queue holds only whole frames, so
 * these land between our frames, never inside one, as wsm_conn_output()
 * requires. We acknowledge them at once: the queue is now ours to deliver,
 * and we write all of it before closing the socket.
 */
static void take_wsm_output(struct conn *c) {
  const uint8_t *p;
  size_t n = wsm_conn_output(&c->ws, &p);
  if (n == 0) return;
  out_append(c, p, n);
  wsm_conn_output_ack(&c->ws, n);
}

static void flush(struct conn *c) {
  size_t rest;
  uint8_t *p;
  if (use_uring) {
    ring_send(c); /* sent when the loop next enters the ring */
    return;
  }
  while (c->out_sent < c->out_len) {
    ssize_t n = send(c->fd, c->out + c->out_sent, c->out_len - c->out_sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      wsm_conn_recv_eof(&c->ws); /* the transport is gone: wsm records 1006 */
      c->drop = "write failed";
      return; /* close_conn() frees the queue */
    }
    c->out_sent += (size_t)n;
  }
  rest = c->out_len - c->out_sent;
  if (rest == 0) { /* drained: an idle connection holds no output memory */
    out_free(c);
    return;
  }
  if (c->out != out_buf) return;
  /* The socket is full: keep the rest in memory of our own, and give out_buf back. */
  p = malloc(rest);
  if (!p) {
    c->drop = "out of memory";
    return;
  }
  memcpy(p, c->out + c->out_sent, rest);
  c->out = p;
  c->out_len = c->out_cap = rest;
  c->out_sent = 0;
}

/* ---- one connection ------------------------------------------------------ */

static int name_is(const struct wsm_http_header *h, const char *name) {
  return h->name_len == strlen(name) && strncasecmp(h->name, name, h->name_len) == 0;
}

/* RFC 6455 4.2.2: pick one of the client's subprotocols; we take the first
 * in its order that we support. The header may come more than once. */
static const char *choose_protocol(const struct wsm_http_head *req) {
  struct wsm_http_header h;
  size_t pos = 0;
  while (wsm_http_header_next(req, &pos, &h)) {
    const char *item;
    size_t item_len, at = 0;
    if (!name_is(&h, "Sec-WebSocket-Protocol")) continue;
    while (wsm_http_list_next(h.value, h.value_len, &at, &item, &item_len))
      for (size_t i = 0; i < opt.protocol_count; i++)
        if (strlen(opt.protocols[i]) == item_len &&
            memcmp(opt.protocols[i], item, item_len) == 0)
          return opt.protocols[i];
  }
  return NULL;
}

static void accept_upgrade(struct conn *c, const struct wsm_http_head *req) {
  struct wsm_server_accept a;
  size_t n = 512;
  int rc;
  memset(&a, 0, sizeof a);
  a.protocol = choose_protocol(req);
  a.request = req; /* wsm checks that the protocol was offered */
  do { /* a too-small buffer tells us the size it needs */
    if (!out_reserve(c, n)) return;
    rc = wsm_conn_accept(&c->ws, &a, c->out + c->out_len, c->out_cap - c->out_len, &n);
  } while (rc == WSM_E_BUFFER_TOO_SMALL);
  if (rc == 0) c->out_len += n;
  else c->drop = wsm_strerror(rc);
}

/*
 * Echo a chunk straight back as one frame. We pass the message's opcode every
 * time: wsm starts the message with it and writes later frames as
 * continuations; WSM_SEND_FIN on the last chunk ends the message. An empty
 * message arrives as one empty chunk with BEGIN and END, and so goes back.
 */
static void echo_chunk(struct conn *c, const struct wsm_event *ev) {
  unsigned flags = (ev->flags & WSM_DATA_END) ? WSM_SEND_FIN : 0u;
  size_t n;
  if (!out_reserve(c, ev->len + WSM_FRAME_HEADER_MAX)) return;
  /* This fails only once we sent a close (at shutdown): then we send no more. */
  if (wsm_conn_send(&c->ws, ev->opcode, ev->data, ev->len, flags, c->out + c->out_len,
                    c->out_cap - c->out_len, &n) == 0)
    c->out_len += n;
}

static void answer_plain_http(struct conn *c, const struct wsm_http_head *h) {
  int root = h->method_len == 3 && memcmp(h->method, "GET", 3) == 0 &&
             h->target_len == 1 && h->target[0] == '/';
  const char *body = root ? page : "not found\n";
  char head[256];
  int n;
  c->http_answer = root ? "200 OK" : "404 Not Found";
  n = snprintf(head, sizeof head,
               "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
               "Connection: close\r\n\r\n",
               c->http_answer, root ? "text/html; charset=utf-8" : "text/plain",
               strlen(body));
  out_append(c, head, (size_t)n);
  out_append(c, body, strlen(body));
}

/*
 * A browser asking for the page sends a plain GET without Upgrade. wsm's
 * HTTP layer works on its own, without a connection: we parse the head with
 * it first. A head that asks for an upgrade (or is malformed, or too large)
 * goes to wsm_conn_recv(), which parses it again and answers any error with
 * the right status. Returns 1 when the bytes are for wsm.
 */
static int head_is_for_wsm(struct conn *c, const uint8_t *data, size_t len) {
  struct wsm_http_head head;
  int rc = wsm_http_parse_request(&head, data, len, WSM_HTTP_HEAD_MAX_DEFAULT,
                                  &c->http_scanned);
  if (rc == 0) return 0; /* not all here yet */
  if (rc < 0 || wsm_http_header_find(&head, "Upgrade", NULL) > 0) {
    c->head_to_wsm = 1;
    return 1;
  }
  answer_plain_http(c, &head);
  return 0;
}

/* Hand data to wsm and act on its events; returns how many bytes it took. */
static size_t process_input(struct conn *c, uint8_t *data, size_t len) {
  size_t pos = 0;
  if (!c->head_to_wsm && !head_is_for_wsm(c, data, len))
    return c->http_answer ? len : 0; /* answered, or the head is not whole yet */
  for (;;) {
    struct wsm_event ev;
    size_t used;
    int rc = wsm_conn_recv(&c->ws, data + pos, len - pos, &used, &ev);
    pos += used;
    if (ev.type == WSM_EV_REQUEST) accept_upgrade(c, &ev.http);
    else if (ev.type == WSM_EV_DATA) echo_chunk(c, &ev);
    /* Pings are answered by wsm, the peer's close is echoed by wsm, and an
     * error is logged from wsm_conn_close_info() when the socket closes. */
    take_wsm_output(c);
    if (rc < 0 || ev.type == WSM_EV_NONE) break;
  }
  return pos;
}

/*
 * Hand wsm the len bytes at data: what it left last time, then what came
 * now. It consumes all but a partial frame header or control frame, or a
 * partial request head; only those are copied out and kept.
 */
static void consume(struct conn *c, uint8_t *data, size_t len) {
  size_t used;
  free(c->held); /* data holds a copy */
  c->held = NULL;
  c->held_len = 0;
  used = process_input(c, data, len);
  if (used == len) return;
  c->held = malloc(len - used);
  if (!c->held) {
    c->drop = "out of memory";
    return;
  }
  memcpy(c->held, data + used, len - used);
  c->held_len = len - used;
}

static void read_input(struct conn *c) {
  size_t len = c->held_len;
  ssize_t n;
  if (c->draining) { /* bytes the peer sent before it saw our close: drop them */
    n = recv(c->fd, in_buf, sizeof in_buf, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
      c->peer_eof = 1;
    return;
  }
  if (len == sizeof in_buf) { /* cannot happen: wsm bounds what it leaves */
    c->drop = "input buffer full";
    return;
  }
  /* What wsm left last time goes first: it is presented again, with the new
   * bytes after it. */
  if (len) memcpy(in_buf, c->held, len);
  n = recv(c->fd, in_buf + len, sizeof in_buf - len, 0);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
  if (n <= 0) { /* end of stream, or a reset: wsm tells clean from abnormal */
    wsm_conn_recv_eof(&c->ws);
    c->peer_eof = 1;
    return;
  }
  consume(c, in_buf, len + (size_t)n);
}

#if HAVE_URING
/* A receive came back: res bytes at data, the end of the stream, or an error. */
static void on_received(struct conn *c, int res, uint8_t *data, uint64_t now) {
  if (res > 0 && !c->draining) {
    size_t n = (size_t)res;
    if (c->held_len == 0) {
      consume(c, data, n); /* in place: wsm unmasks in the shared buffer */
    } else if (c->held_len <= RX_HEADROOM) {
      memcpy(data - c->held_len, c->held, c->held_len); /* still in place */
      consume(c, data - c->held_len, c->held_len + n);
    } else if (c->held_len + n <= sizeof in_buf) {
      memcpy(in_buf, c->held, c->held_len);
      memcpy(in_buf + c->held_len, data, n);
      consume(c, in_buf, c->held_len + n);
    } else {
      c->drop = "input buffer full"; /* cannot happen: HELD_MAX bounds what is held */
    }
  } else if (res == 0 || (res < 0 && res != -ENOBUFS && res != -EINTR && res != -EAGAIN &&
                          res != -ECANCELED)) {
    if (!c->draining) wsm_conn_recv_eof(&c->ws); /* wsm tells clean from abnormal */
    c->peer_eof = 1;
  }
  settle(c, now); /* which asks for the next receive */
}

static void on_sent(struct conn *c, int res, uint64_t now) {
  if (c->send_buf != c->out) out_release(c->send_buf, c->send_cap); /* it moved meanwhile */
  c->send_buf = NULL;
  if (res >= 0) {
    c->out_sent += (size_t)res;
    if (c->out_sent == c->out_len) out_free(c); /* an idle connection holds no memory */
  } else if (res != -EINTR && res != -EAGAIN) {
    wsm_conn_recv_eof(&c->ws); /* the transport is gone: wsm records 1006 */
    c->drop = "write failed";
  }
  settle(c, now); /* which sends the rest */
}
#endif

static void close_conn(struct conn *c, const char *why) {
  struct wsm_close_info info;
  wsm_conn_close_info(&c->ws, &info);
  if (c->http_answer)
    fprintf(stderr, "%s closed: answered HTTP %s\n", c->name, c->http_answer);
  else
    fprintf(stderr, "%s closed: code received %u, sent %u, error %s%s%s%s\n", c->name,
            (unsigned)info.code_received, (unsigned)info.code_sent,
            wsm_err_name(info.error), info.peer_closed_first ? ", peer closed first" : "",
            why ? "; " : "", why ? why : "");
  if (c->prev) c->prev->next = c->next;
  else conns = c->next;
  if (c->next) c->next->prev = c->prev;
  if (c->in_flight) {
    /* The ring holds requests that point at c and name its descriptor, some
     * maybe not yet submitted: closing it now could let accept() hand the
     * number to a new client that they would then act on. */
    c->closed = 1;
    ring_close(c);
    return;
  }
  conn_free(c);
}

static void conn_free(struct conn *c) {
  close(c->fd); /* also leaves the epoll set */
  if (c->send_buf != c->out) out_release(c->send_buf, c->send_cap);
  c->send_buf = NULL;
  out_free(c);
  free(c->held);
  free(c);
}

/* When the timer scan must next look at c. */
static uint64_t conn_due(const struct conn *c) {
  uint64_t due = wsm_conn_expiry(&c->ws);
  if (c->linger_until && c->linger_until < due) due = c->linger_until;
  return due;
}

/*
 * After anything happened to c: run its timer if due, write, and decide
 * between closing it, reading it (no output pending) and writing it (output
 * pending: backpressure). Returns 0 if it was closed.
 */
static int settle(struct conn *c, uint64_t now) {
  unsigned want;
  if (wsm_conn_expiry(&c->ws) <= now) {
    wsm_conn_tick(&c->ws, now); /* a timeout shows in wsm_conn_close_info() */
    take_wsm_output(c);
  }
  if (c->out && !c->drop) flush(c);
  if (c->drop) {
    close_conn(c, c->drop);
    return 0;
  }
  if (c->http_answer || wsm_conn_transport(&c->ws) != WSM_TRANSPORT_KEEP) {
    if (!c->linger_until) c->linger_until = now + LINGER_MS;
    if (now >= c->linger_until) {
      close_conn(c, c->out ? "peer stopped reading" : "peer did not close");
      return 0;
    }
    if (!c->out && c->peer_eof) {
      close_conn(c, NULL);
      return 0;
    }
    if (!c->out && !c->draining) {
      /* Every byte, the close frame last, is written. Closing while the peer
       * still sends would make TCP reset the connection, and a reset can
       * destroy our close frame before the peer reads it (it would see
       * 1006, not why we closed). So send FIN and read until the peer's. */
      shutdown(c->fd, SHUT_WR);
      c->draining = 1;
      c->linger_until = now + DRAIN_MS;
    }
  }
  if (use_uring) {
    ring_arm(c);
    if (conn_due(c) < next_due) next_due = conn_due(c);
    return 1;
  }
  want = c->out ? WANT_WRITE : WANT_READ;
  if (want != c->want) {
    c->want = want;
    poller_mod(c->fd, c, want);
  }
  if (conn_due(c) < next_due) next_due = conn_due(c);
  return 1;
}

/* ---- the loop ------------------------------------------------------------ */

static void accept_all(void) {
  for (;;) {
    struct sockaddr_storage sa;
    socklen_t sa_len = sizeof sa;
    char host[64], port[16]; /* a numeric IPv6 address and a port fit */
    int one = 1, fd = accept(listen_fd, (struct sockaddr *)&sa, &sa_len);
    struct conn *c;
    if (fd < 0) {
      if (errno == EINTR) continue;
      return; /* EAGAIN: no more for now */
    }
    c = calloc(1, sizeof *c);
    if (!c) {
      close(fd);
      continue;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* echoes are small */
    c->fd = fd;
    wsm_conn_init(&c->ws, &config); /* CONNECTING: expects the upgrade request */
    if (getnameinfo((struct sockaddr *)&sa, sa_len, host, sizeof host, port, sizeof port,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
      strcpy(host, "?");
      strcpy(port, "?");
    }
    snprintf(c->name, sizeof c->name, "%s:%s", host, port);
    c->next = conns;
    if (conns) conns->prev = c;
    conns = c;
    c->want = WANT_READ;
    if (use_uring) ring_arm(c);
    else poller_add(fd, c, WANT_READ);
    next_due = 0; /* its handshake timer needs to learn the time */
    fprintf(stderr, "%s open\n", c->name);
    if (c->drop) close_conn(c, c->drop); /* the ring would not take its receive */
  }
}

static void dispatch(void *ptr, unsigned ready, uint64_t now) {
  struct conn *c = ptr;
  if (ptr == &listen_fd) {
    accept_all();
    return;
  }
  if (ptr == wake_pipe) {
    char b[16];
    while (read(wake_pipe[0], b, sizeof b) > 0) {}
    return;
  }
  if ((ready & WANT_WRITE) && c->out) flush(c);
  if ((ready & WANT_READ) && !c->out && !c->drop) read_input(c);
  settle(c, now);
}

/*
 * Run due timers and return how long the loop may sleep (-1: forever). A
 * real server would keep the deadlines in a heap; this scans every
 * connection, but only once the earliest deadline has come: settle() lowers
 * next_due whenever a connection's deadline moves earlier.
 */
static int run_timers(uint64_t now) {
  struct conn *c, *following;
  if (now >= next_due) {
    next_due = UINT64_MAX;
    for (c = conns; c; c = following) {
      uint64_t due = conn_due(c);
      following = c->next;
      if (due <= now) settle(c, now); /* which lowers next_due, or closes c */
      else if (due < next_due) next_due = due;
    }
  }
  if (next_due == UINT64_MAX) return -1;
  return next_due <= now ? 0 : next_due - now > INT_MAX ? INT_MAX : (int)(next_due - now);
}

/* Say goodbye with 1001 "going away" (RFC 6455 7.4.1) and let the close
 * handshakes finish; wsm's close timer bounds the wait. */
static void begin_shutdown(void) {
  struct conn *c, *following;
#if HAVE_URING
  if (use_uring) ring_cancel(&listen_fd, IO_POLL); /* its poll holds the socket open */
#endif
  close(listen_fd);
  listen_fd = -1;
  for (c = conns; c; c = following) {
    following = c->next;
    if (wsm_conn_state(&c->ws) == WSM_STATE_OPEN) {
      wsm_conn_close(&c->ws, WSM_CLOSE_GOING_AWAY, "server shutting down", 20);
      take_wsm_output(c);
    } else if (wsm_conn_state(&c->ws) == WSM_STATE_CONNECTING) {
      c->drop = "server shutting down";
    }
    settle(c, now_ms());
  }
}

static void on_signal(int sig) {
  int saved = errno;
  ssize_t r;
  (void)sig;
  if (stop_requested) _exit(1); /* a second ^C: leave at once */
  stop_requested = 1;
  r = write(wake_pipe[1], "", 1);
  (void)r;
  errno = saved;
}

static int listen_on(const char *host, const char *port) {
  struct addrinfo hints, *res, *ai;
  int fd = -1, one = 1;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  if (getaddrinfo(host, port, &hints, &res) != 0) return -1;
  for (ai = res; ai; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0) continue;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, SOMAXCONN) == 0) break;
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd >= 0) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

static void usage(void) {
  fprintf(stderr, "usage: echo_server [--host ADDR] [--port N] [--protocol NAME]... "
                  "[--max-message BYTES] [--loop uring|epoll|poll] [--batch-us N]\n");
  exit(2);
}

int main(int argc, char **argv) {
  struct sockaddr_storage sa;
  socklen_t sa_len = sizeof sa;
  char port[16];
  struct sigaction act;
  const char *loop = HAVE_URING ? "uring" : USE_EPOLL ? "epoll" : "poll";

  for (int i = 1; i < argc; i += 2) {
    const char *name = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
    if (!value) usage();
    if (strcmp(name, "--host") == 0) opt.host = value;
    else if (strcmp(name, "--port") == 0) opt.port = value;
    else if (strcmp(name, "--protocol") == 0 && opt.protocol_count < MAX_PROTOCOLS)
      opt.protocols[opt.protocol_count++] = value;
    else if (strcmp(name, "--max-message") == 0 && strtoull(value, NULL, 10) > 0)
      opt.max_message = strtoull(value, NULL, 10);
    else if (strcmp(name, "--batch-us") == 0 && strtoul(value, NULL, 10) <= 10000)
      opt.batch_us = (unsigned)strtoul(value, NULL, 10);
    else if (strcmp(name, "--loop") == 0 &&
             ((HAVE_URING && strcmp(value, "uring") == 0) ||
              strcmp(value, USE_EPOLL ? "epoll" : "poll") == 0))
      loop = value;
    else usage();
  }

  wsm_config_init(&config, WSM_ROLE_SERVER);
  if (opt.max_message) config.max_message = config.max_frame_payload = opt.max_message;
  config.flags |= WSM_CFG_NO_SEND_UTF8_CHECK; /* we echo text wsm already validated */

  signal(SIGPIPE, SIG_IGN); /* a write to a closed socket fails with EPIPE instead */
  if (pipe(wake_pipe) != 0 || poller_init() != 0) return 1;
  fcntl(wake_pipe[0], F_SETFL, O_NONBLOCK);
  fcntl(wake_pipe[1], F_SETFL, O_NONBLOCK);
  memset(&act, 0, sizeof act);
  act.sa_handler = on_signal;
  sigemptyset(&act.sa_mask);
  sigaction(SIGINT, &act, NULL);
  sigaction(SIGTERM, &act, NULL);

  listen_fd = listen_on(opt.host, opt.port);
  if (listen_fd < 0) {
    fprintf(stderr, "echo_server: cannot listen on %s port %s\n", opt.host, opt.port);
    return 1;
  }
  /* Report the port bound, so that --port 0 picks a free one. */
  getsockname(listen_fd, (struct sockaddr *)&sa, &sa_len);
  if (getnameinfo((struct sockaddr *)&sa, sa_len, NULL, 0, port, sizeof port, NI_NUMERICSERV) != 0)
    strcpy(port, opt.port);
  printf(strchr(opt.host, ':') ? "listening on ws://[%s]:%s/\n" : "listening on ws://%s:%s/\n",
         opt.host, port);
  fflush(stdout);

#if !HAVE_URING
  (void)loop; /* the readiness loop is the only one */
#else
  use_uring = strcmp(loop, "uring") == 0 && ring_init();
  if (use_uring) {
    ring_poll(listen_fd, &listen_fd);
    ring_poll(wake_pipe[0], wake_pipe);
  }
#endif
  if (!use_uring) {
    poller_add(listen_fd, &listen_fd, WANT_READ);
    poller_add(wake_pipe[0], wake_pipe, WANT_READ);
  }
  for (;;) {
    int timeout;
    if (stop_requested && listen_fd >= 0) begin_shutdown();
    timeout = run_timers(now_ms());
    if (stop_requested && conns == NULL) break;
#if HAVE_URING
    if (use_uring) {
      ring_wait(timeout);
      continue;
    }
#endif
    poller_wait(timeout);
  }
  fprintf(stderr, "echo_server: stopped\n");
  return 0;
}
