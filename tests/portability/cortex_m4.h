/* SPDX-License-Identifier: MIT */
/* What cortex_m4_startup.c gives the bare-metal test program. */
#ifndef CORTEX_M4_H
#define CORTEX_M4_H

/* Print a NUL-terminated string on the host (semihosting). */
void m4_print(const char *s);
/* Stop the program; QEMU exits with 0 for status 0, else with 1. */
void m4_exit(int status);

#endif
