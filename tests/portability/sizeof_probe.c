/* SPDX-License-Identifier: MIT */
/*
 * The sizes of wsm's caller-allocated structs on a target, read without
 * running anything there: each array below is as long as one struct, and
 * `nm -S` on the object file prints its size. Used by .ci/portability.
 */
#include "wsm.h"

extern const unsigned char wsm_probe_conn[sizeof(struct wsm_conn)];
extern const unsigned char wsm_probe_event[sizeof(struct wsm_event)];
extern const unsigned char wsm_probe_config[sizeof(struct wsm_config)];

const unsigned char wsm_probe_conn[sizeof(struct wsm_conn)] = {1};
const unsigned char wsm_probe_event[sizeof(struct wsm_event)] = {1};
const unsigned char wsm_probe_config[sizeof(struct wsm_config)] = {1};
