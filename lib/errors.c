/* SPDX-License-Identifier: MIT */
/* Error names, texts and close codes, all generated from WSM_ERROR_MAP. */
#include "wsm_internal.h"

struct error_entry {
  int value;
  uint16_t close_code;
  const char *name;
  const char *text;
};

#define ERROR_ENTRY(name, value, close_code, text) {value, close_code, #name, text},
static const struct error_entry error_table[] = {WSM_ERROR_MAP(ERROR_ENTRY)};
#undef ERROR_ENTRY

static const struct error_entry *find_error(int err) {
  size_t count = sizeof error_table / sizeof error_table[0];
  for (size_t i = 0; i < count; i++)
    if (error_table[i].value == err) return &error_table[i];
  return NULL;
}

const char *wsm_strerror(int err) {
  const struct error_entry *e = find_error(err);
  return e ? e->text : "unknown error";
}

const char *wsm_err_name(int err) {
  const struct error_entry *e = find_error(err);
  return e ? e->name : "UNKNOWN";
}

uint16_t wsm_err_close_code(int err) {
  const struct error_entry *e = find_error(err);
  return e ? e->close_code : 0;
}

int wsm_close_code_is_valid(uint16_t code) {
  /* RFC 6455 7.4.1 and the IANA registry: 1004 is reserved, 1005 and 1006
   * are never sent, 1015 is for TLS failures reported outside the protocol. */
  if (code >= 1000 && code <= 1003) return 1;
  if (code >= 1007 && code <= 1014) return 1;
  return code >= 3000 && code <= 4999;
}
