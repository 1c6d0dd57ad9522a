/* SPDX-License-Identifier: MIT */
/*
 * The least a Cortex-M4 needs to run a C program with no operating system:
 * a vector table (initial stack pointer, reset handler, fault handlers), the
 * copy of .data from flash, zeroed .bss, then main(). Results leave through
 * ARM semihosting, which QEMU (-semihosting) turns into its exit status.
 */
#include <stdint.h>

#include "cortex_m4.h"

extern uint32_t m4_stack_top, m4_data_start, m4_data_end, m4_data_load, m4_bss_start,
    m4_bss_end;
int main(void);
void m4_reset(void);
void m4_fault(void);

/* Semihosting call: operation in r0, argument in r1, "bkpt 0xab" (Thumb). */
static uint32_t semihost(uint32_t op, const void *arg) {
  register uint32_t r0 __asm__("r0") = op;
  register const void *r1 __asm__("r1") = arg;
  __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

void m4_print(const char *s) { (void)semihost(0x04u /* SYS_WRITE0 */, s); }

void m4_exit(int status) {
  /* SYS_EXIT with ADP_Stopped_ApplicationExit (0x20026) is success; any
   * other reason (here RunTimeErrorUnknown, 0x20023) is a failure. */
  (void)semihost(0x18u, (const void *)(uintptr_t)(status == 0 ? 0x20026u : 0x20023u));
  for (;;) {
  }
}

void m4_fault(void) {
  m4_print("cortex-m4: fault\n");
  m4_exit(1);
}

void m4_reset(void) {
  const uint32_t *from = &m4_data_load;
  uint32_t *to = &m4_data_start;
  while (to < &m4_data_end) *to++ = *from++;
  for (to = &m4_bss_start; to < &m4_bss_end; to++) *to = 0;
  m4_exit(main());
}

/* Initial stack pointer, then reset, NMI, HardFault, MemManage, BusFault and
 * UsageFault: nothing else is enabled. */
__attribute__((section(".m4_vectors"), used)) const uintptr_t m4_vectors[7] = {
    (uintptr_t)&m4_stack_top, (uintptr_t)m4_reset, (uintptr_t)m4_fault, (uintptr_t)m4_fault,
    (uintptr_t)m4_fault,      (uintptr_t)m4_fault, (uintptr_t)m4_fault};
