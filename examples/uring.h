/* SPDX-License-Identifier: MIT */
/*
 * A few syscalls' worth of Linux io_uring for echo_server, without liburing:
 * one ring, submission and completion, and one ring of provided receive
 * buffers that the kernel fills only when data arrives (so an idle
 * connection holds no buffer).
 *
 * Why echo_server has it: every system call costs a world switch, and on a
 * virtual machine that can be a microsecond. With epoll an echo costs a recv
 * and a send each; with the ring, one io_uring_enter carries the sends and
 * receives of every connection that is ready, and waits for the next ones.
 * wsm itself does not care: it only sees the bytes.
 */
#ifndef ECHO_URING_H
#define ECHO_URING_H

#include <stddef.h>
#include <stdint.h>

#include <linux/io_uring.h>

struct uring {
  int fd;
  unsigned *sq_head, *sq_tail, *sq_array, sq_mask, sq_entries;
  unsigned *cq_head, *cq_tail, cq_mask;
  struct io_uring_sqe *sqes;
  struct io_uring_cqe *cqes;
  unsigned features;      /* IORING_FEAT_* */
  unsigned sq_local_tail; /* SQEs filled in, published at the next enter */
  unsigned to_submit;
  void *ring_mem, *sqe_mem;
  size_t ring_len, sqe_len;
};

/* Provided buffers: `count` (a power of two) buffers of `size` bytes, each
 * with `headroom` bytes of ours in front that the kernel never writes. */
struct uring_bufs {
  struct io_uring_buf_ring *ring;
  uint8_t *mem;
  size_t ring_len, size, headroom;
  unsigned count;
  uint16_t tail;
  uint16_t group;
};

/* 0, or -errno when this kernel (or a seccomp filter) offers no usable ring. */
int uring_init(struct uring *r, unsigned entries);
void uring_free(struct uring *r);

/* A zeroed SQE to fill in; submits what is queued when the ring is full.
 * NULL only if the kernel refuses to take any. */
struct io_uring_sqe *uring_sqe(struct uring *r);

/* Waits with a minimum time (6.12); named here for older headers. */
#define URING_FEAT_MIN_TIMEOUT (1u << 15)

/* Submit everything queued and wait until a completion is there, or
 * timeout_ms (-1: no limit) has passed, or a signal came. With batch_us,
 * where the kernel can, wait that long for more completions before
 * returning with fewer than a ring's worth. Returns 0, or -errno when the
 * ring cannot be used any more. */
int uring_wait(struct uring *r, int timeout_ms, unsigned batch_us);

/* The next completion, or NULL; uring_seen() releases it. */
struct io_uring_cqe *uring_peek(struct uring *r);
void uring_seen(struct uring *r);

int uring_bufs_init(struct uring *r, struct uring_bufs *b, uint16_t group, unsigned count,
                    size_t size, size_t headroom);
void uring_bufs_free(struct uring_bufs *b); /* after uring_free(), or a failed init */
/* Where the kernel puts the data of buffer `id`; the headroom is in front. */
uint8_t *uring_buf(const struct uring_bufs *b, unsigned id);
/* Hand buffer `id` back to the kernel. */
void uring_buf_return(struct uring_bufs *b, unsigned id);

#endif
