/* SPDX-License-Identifier: MIT */
/*
 * lws_echo: a libwebsockets echo server for bench/server/run.sh.
 *
 *   lws_echo [--port N] [--no-utf8-check]
 *
 * One thread, lws's own event loop, 64 KiB rx buffer and 64 KiB reads
 * (pt_serv_buf_size), like the 64 KiB read buffer of examples/echo_server.
 * Text is checked for UTF-8 as wsm always does (LWS_SERVER_OPTION_VALIDATE_UTF8),
 * unless --no-utf8-check.
 *
 * It echoes the way lws asks to be used (README.coding.md: lws_write() only
 * from the WRITEABLE callback, one write per callback): each chunk RECEIVE
 * hands us is copied into a queue, reading pauses (rx flow control), and the
 * chunk goes back as one frame when the socket is writeable; reading resumes
 * once the queue is empty. Prints "listening on ws://127.0.0.1:PORT/".
 */
#include <libwebsockets.h>

#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RX_SIZE (64 * 1024)

struct chunk {
  struct chunk *next;
  size_t len;
  int flags; /* LWS_WRITE_* for this frame */
  unsigned char buf[]; /* LWS_PRE bytes for lws, then the payload */
};

struct session {
  struct chunk *head, *tail;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig) {
  (void)sig;
  stop = 1;
}

static int echo_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                   void *in, size_t len) {
  struct session *s = user;
  struct chunk *k;
  switch (reason) {
  case LWS_CALLBACK_RECEIVE:
    k = malloc(sizeof *k + LWS_PRE + len);
    if (!k) return -1;
    k->next = NULL;
    k->len = len;
    k->flags = lws_write_ws_flags(lws_frame_is_binary(wsi) ? LWS_WRITE_BINARY : LWS_WRITE_TEXT,
                                  lws_is_first_fragment(wsi), lws_is_final_fragment(wsi));
    if (len) memcpy(k->buf + LWS_PRE, in, len);
    if (s->tail) s->tail->next = k;
    else s->head = k;
    s->tail = k;
    lws_rx_flow_control(wsi, 0);
    lws_callback_on_writable(wsi);
    return 0;
  case LWS_CALLBACK_SERVER_WRITEABLE:
    k = s->head;
    if (!k) return 0; /* lws may call us without our asking */
    if (lws_write(wsi, k->buf + LWS_PRE, k->len, (enum lws_write_protocol)k->flags) < 0)
      return -1;
    s->head = k->next;
    if (!s->head) s->tail = NULL;
    free(k);
    if (s->head) lws_callback_on_writable(wsi);
    else lws_rx_flow_control(wsi, 1);
    return 0;
  case LWS_CALLBACK_CLOSED:
    while ((k = s->head) != NULL) {
      s->head = k->next;
      free(k);
    }
    s->tail = NULL;
    return 0;
  default:
    return lws_callback_http_dummy(wsi, reason, user, in, len);
  }
}

int main(int argc, char **argv) {
  static const struct lws_protocols protocols[] = {
      {"echo", echo_cb, sizeof(struct session), RX_SIZE, 0, NULL, 0},
      {NULL, NULL, 0, 0, 0, NULL, 0}};
  struct lws_context_creation_info info;
  struct lws_context *ctx;
  int port = 9001, utf8 = 1;

  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
      port = atoi(argv[++i]);
    } else if (strcmp(argv[i], "--no-utf8-check") == 0) {
      utf8 = 0;
    } else {
      fprintf(stderr, "usage: lws_echo [--port N] [--no-utf8-check]\n");
      return 2;
    }
  }
  /* The echo allocates and frees a buffer per message. Keep freed memory
   * (glibc): returning the top of the heap to the kernel after every free
   * costs page faults that measure glibc, not the library. */
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  mallopt(M_MMAP_THRESHOLD, 16 << 20);
  lws_set_log_level(LLL_ERR, NULL);
  memset(&info, 0, sizeof info);
  info.port = port;
  info.iface = "127.0.0.1";
  info.protocols = protocols;
  info.pt_serv_buf_size = RX_SIZE;
  info.options = LWS_SERVER_OPTION_DISABLE_IPV6 | (utf8 ? LWS_SERVER_OPTION_VALIDATE_UTF8 : 0);
  ctx = lws_create_context(&info);
  if (!ctx) {
    fprintf(stderr, "lws_echo: cannot start\n");
    return 1;
  }
  printf("listening on ws://127.0.0.1:%d/\n", lws_get_vhost_listen_port(lws_get_vhost_by_name(ctx, "default")));
  fflush(stdout);
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  while (!stop && lws_service(ctx, 1000) >= 0) {}
  lws_context_destroy(ctx);
  return 0;
}
