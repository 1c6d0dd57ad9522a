/* SPDX-License-Identifier: MIT */
/*
 * The library compiled from the generated single header (target
 * wsm_amalgamated), so that the test suite can run against it. The plain
 * include comes first on purpose: the implementation must compile cleanly
 * after the declarations were already seen without WSM_IMPLEMENTATION.
 */
#include "wsm.h"

#define WSM_IMPLEMENTATION
#include "wsm.h"
