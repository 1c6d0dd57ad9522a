/* SPDX-License-Identifier: MIT */
/* See uring.h. The layout follows the kernel's io_uring(7) description. */
#define _GNU_SOURCE /* syscall() */

#include "uring.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* The rings are shared with the kernel: its writes are seen through acquire
 * loads, ours published through release stores. */
#define load_acquire(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define store_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

static int enter(struct uring *r, unsigned submit, unsigned wait, unsigned flags, void *arg,
                 size_t arg_len) {
  long n = syscall(__NR_io_uring_enter, r->fd, submit, wait, flags, arg, arg_len);
  return n < 0 ? -errno : (int)n;
}

static int setup(unsigned entries, struct io_uring_params *p, unsigned flags) {
  memset(p, 0, sizeof *p);
  p->flags = flags | IORING_SETUP_CQSIZE;
  p->cq_entries = entries * 4; /* completions may wait while we submit more */
  return (int)syscall(__NR_io_uring_setup, entries, p);
}

int uring_init(struct uring *r, unsigned entries) {
  struct io_uring_params p;
  uint8_t *ring;
  /* Task work only when we wait: completions are not pushed at us while we
   * are busy (6.1); older kernels get the plain ring. */
  unsigned fast = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN |
                  IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
  memset(r, 0, sizeof *r);
  r->fd = setup(entries, &p, fast);
  if (r->fd < 0) r->fd = setup(entries, &p, 0);
  if (r->fd < 0) return -errno;
  /* One mapping for both rings (5.4), and waits with a timeout (5.11). */
  if (!(p.features & IORING_FEAT_SINGLE_MMAP) || !(p.features & IORING_FEAT_EXT_ARG) ||
      !(p.features & IORING_FEAT_NODROP)) {
    close(r->fd);
    return -ENOSYS;
  }
  r->ring_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
  if (p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe) > r->ring_len)
    r->ring_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
  r->ring_mem = mmap(NULL, r->ring_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
                     r->fd, IORING_OFF_SQ_RING);
  r->sqe_len = p.sq_entries * sizeof(struct io_uring_sqe);
  r->sqe_mem = mmap(NULL, r->sqe_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
                    IORING_OFF_SQES);
  if (r->ring_mem == MAP_FAILED || r->sqe_mem == MAP_FAILED) {
    int e = errno;
    uring_free(r);
    return -e;
  }
  ring = r->ring_mem;
  r->sq_head = (unsigned *)(void *)(ring + p.sq_off.head);
  r->sq_tail = (unsigned *)(void *)(ring + p.sq_off.tail);
  r->sq_array = (unsigned *)(void *)(ring + p.sq_off.array);
  r->sq_mask = *(unsigned *)(void *)(ring + p.sq_off.ring_mask);
  r->sq_entries = p.sq_entries;
  r->cq_head = (unsigned *)(void *)(ring + p.cq_off.head);
  r->cq_tail = (unsigned *)(void *)(ring + p.cq_off.tail);
  r->cq_mask = *(unsigned *)(void *)(ring + p.cq_off.ring_mask);
  r->cqes = (struct io_uring_cqe *)(void *)(ring + p.cq_off.cqes);
  r->sqes = r->sqe_mem;
  /* SQE i always sits in slot i of the index array. */
  for (unsigned i = 0; i < p.sq_entries; i++) r->sq_array[i] = i;
  r->sq_local_tail = *r->sq_tail;
  r->features = p.features;
  return 0;
}

void uring_free(struct uring *r) {
  if (r->sqe_mem && r->sqe_mem != MAP_FAILED) munmap(r->sqe_mem, r->sqe_len);
  if (r->ring_mem && r->ring_mem != MAP_FAILED) munmap(r->ring_mem, r->ring_len);
  if (r->fd >= 0) close(r->fd);
  memset(r, 0, sizeof *r);
  r->fd = -1;
}

/* Publish the queued SQEs; the next enter hands them to the kernel. */
static void publish(struct uring *r) { store_release(r->sq_tail, r->sq_local_tail); }

static void submit_now(struct uring *r) {
  int n;
  publish(r);
  do n = enter(r, r->to_submit, 0, 0, NULL, 0);
  while (n == -EINTR);
  if (n > 0) r->to_submit -= (unsigned)n;
}

struct io_uring_sqe *uring_sqe(struct uring *r) {
  struct io_uring_sqe *sqe;
  if (r->sq_local_tail - load_acquire(r->sq_head) >= r->sq_entries) {
    submit_now(r);
    if (r->sq_local_tail - load_acquire(r->sq_head) >= r->sq_entries) return NULL;
  }
  sqe = &r->sqes[r->sq_local_tail & r->sq_mask];
  memset(sqe, 0, sizeof *sqe);
  r->sq_local_tail++;
  r->to_submit++;
  return sqe;
}

int uring_wait(struct uring *r, int timeout_ms, unsigned batch_us) {
  struct __kernel_timespec ts;
  struct io_uring_getevents_arg arg;
  unsigned flags = IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, wait = 1;
  int n;
  memset(&arg, 0, sizeof arg);
  if (batch_us && timeout_ms != 0 && (r->features & URING_FEAT_MIN_TIMEOUT)) {
    /* Sleep until many completions are there, or batch_us has passed and
     * one is: fewer wake-ups, each with more work. The field was "pad"
     * before 6.12 named it min_wait_usec. */
    arg.pad = batch_us;
    wait = r->cq_mask + 1;
    if (timeout_ms < 0) timeout_ms = 1000; /* the batch needs a timeout */
  }
  if (timeout_ms >= 0) {
    ts.tv_sec = timeout_ms / 1000;
    ts.tv_nsec = (long long)(timeout_ms % 1000) * 1000000;
    arg.ts = (uint64_t)(uintptr_t)&ts;
  }
  publish(r);
  n = enter(r, r->to_submit, wait, flags, &arg, sizeof arg);
  if (n > 0) r->to_submit -= (unsigned)n;
  /* -ETIME, -EINTR: the caller looks at its timers and flags. -EBUSY,
   * -EAGAIN: the completion queue is full, or the kernel short of memory;
   * the caller empties the queue and comes back. */
  if (n >= 0 || n == -ETIME || n == -EINTR || n == -EBUSY || n == -EAGAIN) return 0;
  return n;
}

struct io_uring_cqe *uring_peek(struct uring *r) {
  unsigned head = *r->cq_head;
  if (head == load_acquire(r->cq_tail)) return NULL;
  return &r->cqes[head & r->cq_mask];
}

void uring_seen(struct uring *r) { store_release(r->cq_head, *r->cq_head + 1); }

int uring_bufs_init(struct uring *r, struct uring_bufs *b, uint16_t group, unsigned count,
                    size_t size, size_t headroom) {
  struct io_uring_buf_reg reg;
  size_t ring_len = count * sizeof(struct io_uring_buf);
  memset(b, 0, sizeof *b);
  b->ring_len = ring_len;
  b->size = size;
  b->headroom = headroom;
  b->count = count;
  b->ring = mmap(NULL, ring_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  /* Pages are taken only where the kernel writes: an idle server stays small. */
  b->mem = mmap(NULL, count * (headroom + size), PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (b->ring == MAP_FAILED || b->mem == MAP_FAILED) {
    uring_bufs_free(b);
    return -ENOMEM;
  }
  memset(&reg, 0, sizeof reg);
  reg.ring_addr = (uint64_t)(uintptr_t)b->ring;
  reg.ring_entries = count;
  reg.bgid = group;
  if (syscall(__NR_io_uring_register, r->fd, IORING_REGISTER_PBUF_RING, &reg, 1) < 0) {
    int e = errno; /* EINVAL before 5.19 */
    uring_bufs_free(b);
    return -e;
  }
  b->group = group;
  for (unsigned i = 0; i < count; i++) uring_buf_return(b, i);
  return 0;
}

void uring_bufs_free(struct uring_bufs *b) {
  if (b->ring && b->ring != MAP_FAILED) munmap(b->ring, b->ring_len);
  if (b->mem && b->mem != MAP_FAILED) munmap(b->mem, b->count * (b->headroom + b->size));
  memset(b, 0, sizeof *b);
}

uint8_t *uring_buf(const struct uring_bufs *b, unsigned id) {
  return b->mem + (size_t)id * (b->headroom + b->size) + b->headroom;
}

void uring_buf_return(struct uring_bufs *b, unsigned id) {
  struct io_uring_buf *slot = &b->ring->bufs[b->tail & (b->count - 1)];
  slot->addr = (uint64_t)(uintptr_t)uring_buf(b, id);
  slot->len = (uint32_t)b->size;
  slot->bid = (uint16_t)id;
  b->tail++;
  store_release(&b->ring->tail, b->tail);
}
