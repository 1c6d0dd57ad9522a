// SPDX-License-Identifier: MIT
//
// The public header compiled as C++ (C++11 and later, -Wall -Wextra
// -Wpedantic -Werror) by a program that uses the C library: a client and a
// server held in a C++ object talk to each other in memory, through the
// opening handshake, one message each way (the client's frame must be the
// RFC 6455 5.7 masked "Hello", given its mask key), a ping and the close
// handshake. Exit status 0 when everything went as the RFC says.
#include "wsm.h"

#include <cstdio>
#include <cstring>
#include <type_traits>

static_assert(std::is_standard_layout<wsm_conn>::value, "wsm_conn is a plain C struct");
static_assert(std::is_trivially_copyable<wsm_conn>::value, "wsm_conn is a plain C struct");
static_assert(WSM_FRAME_HEADER_MAX == 14, "RFC 6455 5.2: at most 14 header bytes");

extern "C" {
// The host's random source: the mask key of RFC 6455 5.7's example, so that
// the client's first frame can be compared byte for byte.
static int rfc_example_key(void *ctx, uint8_t *buf, size_t len) {
  static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
  unsigned *calls = static_cast<unsigned *>(ctx);
  for (size_t i = 0; i < len; i++) buf[i] = key[i % 4];
  ++*calls;
  return 0;
}
}

namespace {

// wsm inside a C++ object, as a host keeps it next to its socket.
class Peer {
 public:
  explicit Peer(wsm_role role) : random_calls_(0), have_(0) {
    wsm_config cfg;
    wsm_config_init(&cfg, role);
    cfg.random = rfc_example_key;
    cfg.random_ctx = &random_calls_;
    ok_ = wsm_conn_init(&conn_, &cfg) == 0;
  }
  bool ok() const { return ok_; }
  wsm_conn *conn() { return &conn_; }
  unsigned random_calls() const { return random_calls_; }

  // Bytes from the other side, kept until consumed (as a socket buffer).
  bool deliver(const uint8_t *data, size_t len) {
    if (len > sizeof in_ - have_) return false;
    std::memcpy(in_ + have_, data, len);
    have_ += len;
    return true;
  }
  // The next event, or WSM_EV_NONE; a negative return is an error.
  int next(wsm_event *ev) {
    size_t used = 0;
    int rc = wsm_conn_recv(&conn_, in_, have_, &used, ev);
    std::memmove(in_, in_ + used, have_ - used);
    have_ -= used;
    return rc;
  }
  // Move what wsm queued for the peer (pongs, close frames) to it.
  bool flush_to(Peer &other) {
    const uint8_t *out = nullptr;
    size_t n = wsm_conn_output(&conn_, &out);
    if (n == 0) return true;
    return other.deliver(out, n) && wsm_conn_output_ack(&conn_, n) == 0;
  }

 private:
  wsm_conn conn_;
  unsigned random_calls_;
  bool ok_;
  uint8_t in_[1024];
  size_t have_;
};

int failures = 0;

void check(bool cond, const char *what) {
  if (!cond) {
    std::fprintf(stderr, "cxx_consumer: FAILED: %s\n", what);
    ++failures;
  }
}

}  // namespace

int main() {
  Peer client(WSM_ROLE_CLIENT), server(WSM_ROLE_SERVER);
  check(client.ok() && server.ok(), "wsm_conn_init");

  // Opening handshake (RFC 6455 4.1, 4.2).
  uint8_t buf[512];
  size_t n = 0;
  wsm_client_request req;
  std::memset(&req, 0, sizeof req);
  req.host = "example.com";
  req.path = "/chat";
  check(wsm_conn_client_request(client.conn(), &req, buf, sizeof buf, &n) == 0, "client request");
  check(server.deliver(buf, n), "deliver request");

  wsm_event ev;
  check(server.next(&ev) == 0 && ev.type == WSM_EV_REQUEST, "server sees the request");
  wsm_server_accept acc;
  std::memset(&acc, 0, sizeof acc);
  check(wsm_conn_accept(server.conn(), &acc, buf, sizeof buf, &n) == 0, "server accepts");
  check(client.deliver(buf, n), "deliver response");
  check(client.next(&ev) == 0 && ev.type == WSM_EV_RESPONSE, "client sees the 101");
  check(wsm_conn_state(client.conn()) == WSM_STATE_OPEN, "client open");
  check(wsm_conn_state(server.conn()) == WSM_STATE_OPEN, "server open");

  // Client to server: RFC 6455 5.7's masked "Hello", byte for byte.
  static const uint8_t masked_hello[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                         0x7f, 0x9f, 0x4d, 0x51, 0x58};
  const char hello[] = "Hello";
  check(wsm_conn_send(client.conn(), WSM_OP_TEXT, reinterpret_cast<const uint8_t *>(hello), 5,
                      WSM_SEND_FIN, buf, sizeof buf, &n) == 0,
        "client sends");
  check(n == sizeof masked_hello && std::memcmp(buf, masked_hello, n) == 0,
        "client frame is RFC 6455 5.7's masked Hello");
  check(server.deliver(buf, n), "deliver frame");
  check(server.next(&ev) == 0 && ev.type == WSM_EV_DATA && ev.opcode == WSM_OP_TEXT &&
            ev.len == 5 && std::memcmp(ev.data, hello, 5) == 0 &&
            (ev.flags & WSM_DATA_END) != 0,
        "server receives Hello");

  // Server to client: unmasked, RFC 6455 5.7.
  static const uint8_t unmasked_hello[] = {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
  check(wsm_conn_send(server.conn(), WSM_OP_TEXT, reinterpret_cast<const uint8_t *>(hello), 5,
                      WSM_SEND_FIN, buf, sizeof buf, &n) == 0 &&
            n == sizeof unmasked_hello && std::memcmp(buf, unmasked_hello, n) == 0,
        "server frame is RFC 6455 5.7's unmasked Hello");
  check(client.deliver(buf, n), "deliver reply");
  check(client.next(&ev) == 0 && ev.type == WSM_EV_DATA && ev.len == 5, "client receives Hello");

  // A ping from the client; the server's pong is queued by wsm.
  check(wsm_conn_send_control(client.conn(), WSM_OP_PING,
                              reinterpret_cast<const uint8_t *>(hello), 5, buf, sizeof buf,
                              &n) == 0,
        "client pings");
  check(server.deliver(buf, n), "deliver ping");
  check(server.next(&ev) == 0 && ev.type == WSM_EV_PING && ev.len == 5, "server sees the ping");
  check(server.flush_to(client), "pong to client");
  check(client.next(&ev) == 0 && ev.type == WSM_EV_PONG && ev.len == 5 &&
            std::memcmp(ev.data, hello, 5) == 0,
        "client gets the identical pong");

  // Close handshake started by the server (RFC 6455 7.1.2).
  check(wsm_conn_close(server.conn(), WSM_CLOSE_NORMAL, "bye", 3) == 0, "server closes");
  check(server.flush_to(client), "close to client");
  check(client.next(&ev) == 0 && ev.type == WSM_EV_CLOSE && ev.close_code == WSM_CLOSE_NORMAL,
        "client sees close 1000");
  check(client.flush_to(server), "close echo to server");
  check(server.next(&ev) == 0 && ev.type == WSM_EV_CLOSE, "server sees the echo");
  check(wsm_conn_transport(server.conn()) == WSM_TRANSPORT_CLOSE, "server closes TCP first");

  wsm_close_info info;
  wsm_conn_close_info(server.conn(), &info);
  check(info.code_received == WSM_CLOSE_NORMAL && info.code_sent == WSM_CLOSE_NORMAL &&
            info.error == 0 && info.peer_closed_first == 0,
        "close info");
  check(client.random_calls() >= 2, "the client used the host's random source");
  check(std::strcmp(wsm_err_name(WSM_E_INVALID_UTF8), "INVALID_UTF8") == 0, "wsm_err_name");

  if (failures) return 1;
  std::printf("cxx_consumer: C++%ld, handshake, RFC 6455 5.7 frames, ping and close: ok\n",
              __cplusplus / 100 % 100);
  return 0;
}
