/* SPDX-License-Identifier: MIT */
#include "wsm.h"

#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

struct map_entry {
  int value;
  uint16_t close_code;
  const char *name;
  const char *text;
};

#define MAP_ENTRY(name, value, close_code, text) {value, close_code, #name, text},
static const struct map_entry error_map[] = {WSM_ERROR_MAP(MAP_ENTRY)};
#undef MAP_ENTRY
#define N_ERRORS (sizeof error_map / sizeof error_map[0])

/* Written out by hand rather than taken from the map, so that a change to
 * the map's close codes shows up here: RFC 6455 7.4.1 says which code each
 * protocol fault deserves. */
static const struct {
  int err;
  uint16_t close_code;
} protocol_errors[] = {
    {WSM_E_CONTROL_TOO_LONG, 1002},
    {WSM_E_CONTROL_FRAGMENTED, 1002},
    {WSM_E_RESERVED_BITS, 1002},
    {WSM_E_RESERVED_OPCODE, 1002},
    {WSM_E_MASK_REQUIRED, 1002},
    {WSM_E_MASK_FORBIDDEN, 1002},
    {WSM_E_LENGTH_TOP_BIT, 1002},
    {WSM_E_LENGTH_NOT_MINIMAL, 1002},
    {WSM_E_UNEXPECTED_CONTINUATION, 1002},
    {WSM_E_EXPECTED_CONTINUATION, 1002},
    {WSM_E_INVALID_UTF8, 1007},
    {WSM_E_CLOSE_PAYLOAD_1_BYTE, 1002},
    {WSM_E_CLOSE_CODE_INVALID, 1002},
    {WSM_E_CLOSE_REASON_UTF8, 1007},
    {WSM_E_FRAME_TOO_BIG, 1009},
    {WSM_E_MESSAGE_TOO_BIG, 1009},
    {WSM_E_TOO_MANY_FRAGMENTS, 1009},
    {WSM_E_PING_TIMEOUT, 1011},
};
#define N_PROTOCOL (sizeof protocol_errors / sizeof protocol_errors[0])

static int lowest_value(void) {
  int low = 0;
  for (size_t i = 0; i < N_ERRORS; i++)
    if (error_map[i].value < low) low = error_map[i].value;
  return low;
}

static void test_errors_map_texts_match(void **state) {
  (void)state;
  for (size_t i = 0; i < N_ERRORS; i++) {
    const char *text = wsm_strerror(error_map[i].value);
    assert_non_null(text);
    assert_true(text[0] != '\0');
    assert_string_equal(text, error_map[i].text);
    assert_string_not_equal(text, "unknown error");
  }
}

static void test_errors_map_texts_distinct(void **state) {
  (void)state;
  for (size_t i = 0; i < N_ERRORS; i++)
    for (size_t j = i + 1; j < N_ERRORS; j++)
      if (strcmp(wsm_strerror(error_map[i].value),
                 wsm_strerror(error_map[j].value)) == 0)
        fail_msg("%s and %s share the text \"%s\"", error_map[i].name,
                 error_map[j].name, wsm_strerror(error_map[i].value));
}

static void test_errors_map_names_match(void **state) {
  (void)state;
  for (size_t i = 0; i < N_ERRORS; i++) {
    const char *name = wsm_err_name(error_map[i].value);
    assert_non_null(name);
    assert_string_equal(name, error_map[i].name);
  }
  /* Two spelled out, in case the map and the names drift together. */
  assert_string_equal(wsm_err_name(WSM_E_INVALID_UTF8), "INVALID_UTF8");
  assert_string_equal(wsm_err_name(0), "OK");
  assert_string_equal(wsm_strerror(0), "success");
}

/* Values are stable and dense: 0, -1, -2, ... in map order, so a new code
 * can only be appended. */
static void test_errors_map_values_dense(void **state) {
  (void)state;
  for (size_t i = 0; i < N_ERRORS; i++)
    assert_int_equal(error_map[i].value, -(int)i);
  assert_int_equal(WSM_E_OK, 0);
  assert_int_equal(WSM_E_INVALID_UTF8, -20);
  assert_int_equal(WSM_E_HTTP_HEAD_TOO_LARGE, -33);
}

static void test_errors_unknown_code(void **state) {
  const int unknown[] = {1, 2, 100, lowest_value() - 1, -1000, INT_MIN, INT_MAX};
  (void)state;
  for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
    assert_string_equal(wsm_strerror(unknown[i]), "unknown error");
    assert_string_equal(wsm_err_name(unknown[i]), "UNKNOWN");
    assert_int_equal(wsm_err_close_code(unknown[i]), 0);
  }
}

static void test_errors_close_code_protocol(void **state) {
  (void)state;
  for (size_t i = 0; i < N_PROTOCOL; i++) {
    uint16_t code = wsm_err_close_code(protocol_errors[i].err);
    if (code != protocol_errors[i].close_code)
      fail_msg("%s: close code %u, want %u", wsm_err_name(protocol_errors[i].err),
               (unsigned)code, (unsigned)protocol_errors[i].close_code);
    assert_true(wsm_close_code_is_valid(code));
  }
}

/* Everything not listed above is local and sends nothing. */
static void test_errors_close_code_local(void **state) {
  size_t local = 0;
  (void)state;
  for (size_t i = 0; i < N_ERRORS; i++) {
    int listed = 0;
    for (size_t j = 0; j < N_PROTOCOL; j++)
      if (protocol_errors[j].err == error_map[i].value) listed = 1;
    assert_int_equal(wsm_err_close_code(error_map[i].value),
                     error_map[i].close_code);
    if (!listed) {
      if (wsm_err_close_code(error_map[i].value) != 0)
        fail_msg("%s sends a close code", error_map[i].name);
      local++;
    }
  }
  assert_int_equal(local + N_PROTOCOL, N_ERRORS);
}

static void test_errors_close_code_is_valid_range(void **state) {
  (void)state;
  for (unsigned code = 0; code <= 65535; code++) {
    int want = (code >= 1000 && code <= 1003) ||
               (code >= 1007 && code <= 1014) ||
               (code >= 3000 && code <= 4999);
    if (wsm_close_code_is_valid((uint16_t)code) != want)
      fail_msg("close code %u: want %d", code, want);
  }
}

static void test_errors_close_code_is_valid_named(void **state) {
  (void)state;
  assert_true(wsm_close_code_is_valid(WSM_CLOSE_NORMAL));
  assert_true(wsm_close_code_is_valid(WSM_CLOSE_GOING_AWAY));
  assert_true(wsm_close_code_is_valid(WSM_CLOSE_PROTOCOL_ERROR));
  assert_true(wsm_close_code_is_valid(WSM_CLOSE_UNSUPPORTED_DATA));
  assert_false(wsm_close_code_is_valid(1004));
  assert_false(wsm_close_code_is_valid(WSM_CLOSE_NO_STATUS));
  assert_false(wsm_close_code_is_valid(WSM_CLOSE_ABNORMAL));
  assert_true(wsm_close_code_is_valid(WSM_CLOSE_INVALID_PAYLOAD));
  assert_true(wsm_close_code_is_valid(WSM_CLOSE_POLICY_VIOLATION));
  assert_true(wsm_close_code_is_valid(WSM_CLOSE_MESSAGE_TOO_BIG));
  assert_true(wsm_close_code_is_valid(WSM_CLOSE_MANDATORY_EXTENSION));
  assert_true(wsm_close_code_is_valid(WSM_CLOSE_INTERNAL_ERROR));
  assert_true(wsm_close_code_is_valid(WSM_CLOSE_SERVICE_RESTART));
  assert_true(wsm_close_code_is_valid(WSM_CLOSE_TRY_AGAIN_LATER));
  assert_true(wsm_close_code_is_valid(WSM_CLOSE_BAD_GATEWAY));
  assert_false(wsm_close_code_is_valid(1015));
  assert_false(wsm_close_code_is_valid(999));
  assert_false(wsm_close_code_is_valid(2999));
  assert_true(wsm_close_code_is_valid(3000));
  assert_true(wsm_close_code_is_valid(4999));
  assert_false(wsm_close_code_is_valid(5000));
  assert_false(wsm_close_code_is_valid(0));
  assert_false(wsm_close_code_is_valid(65535));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_errors_map_texts_match),
      cmocka_unit_test(test_errors_map_texts_distinct),
      cmocka_unit_test(test_errors_map_names_match),
      cmocka_unit_test(test_errors_map_values_dense),
      cmocka_unit_test(test_errors_unknown_code),
      cmocka_unit_test(test_errors_close_code_protocol),
      cmocka_unit_test(test_errors_close_code_local),
      cmocka_unit_test(test_errors_close_code_is_valid_range),
      cmocka_unit_test(test_errors_close_code_is_valid_named),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
