/* SPDX-License-Identifier: MIT */
/*
 * Replay driver: runs LLVMFuzzerTestOneInput over the files named on the
 * command line, and over every regular file in the directories named (in
 * name order, not recursively), so that a harness builds with any C
 * compiler and its corpus runs as an ordinary test. Each input is given in
 * a heap block of exactly its size, so that a sanitizer sees overreads.
 * Exit status: 0 when every input ran, 1 when a path could not be read
 * (an invariant violation aborts the process).
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  uint8_t *data = NULL;
  size_t size = 0, cap = 0;
  int ok = 1;

  if (!f) {
    fprintf(stderr, "%s: %s\n", path, strerror(errno));
    return 0;
  }
  for (;;) {
    size_t got;
    if (size == cap) {
      uint8_t *p;
      cap = cap ? cap * 2 : 4096;
      p = (uint8_t *)realloc(data, cap);
      if (!p) {
        fprintf(stderr, "%s: out of memory\n", path);
        ok = 0;
        break;
      }
      data = p;
    }
    got = fread(data + size, 1, cap - size, f);
    size += got;
    if (got == 0) {
      if (ferror(f)) {
        fprintf(stderr, "%s: read error\n", path);
        ok = 0;
      }
      break;
    }
  }
  fclose(f);
  if (ok) {
    /* Exactly size bytes, so that reading one past the end is caught. */
    uint8_t *exact = (uint8_t *)malloc(size ? size : 1);
    if (!exact) {
      fprintf(stderr, "%s: out of memory\n", path);
      ok = 0;
    } else {
      if (size) memcpy(exact, data, size);
      LLVMFuzzerTestOneInput(exact, size);
      free(exact);
    }
  }
  free(data);
  return ok;
}

static int compare_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Returns the number of inputs run, or -1 if something could not be read. */
static long run_dir(const char *path) {
  DIR *d = opendir(path);
  struct dirent *e;
  char **names = NULL;
  size_t count = 0, cap = 0, i;
  long ran = 0;
  int ok = 1;

  if (!d) {
    fprintf(stderr, "%s: %s\n", path, strerror(errno));
    return -1;
  }
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue; /* ".", "..", hidden files */
    if (count == cap) {
      char **p;
      cap = cap ? cap * 2 : 64;
      p = (char **)realloc(names, cap * sizeof *names);
      if (!p) {
        ok = 0;
        break;
      }
      names = p;
    }
    names[count] = (char *)malloc(strlen(path) + strlen(e->d_name) + 2);
    if (!names[count]) {
      ok = 0;
      break;
    }
    sprintf(names[count], "%s/%s", path, e->d_name);
    count++;
  }
  closedir(d);
  if (count) qsort(names, count, sizeof *names, compare_names);
  for (i = 0; i < count; i++) {
    struct stat st;
    if (ok && stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
      if (run_file(names[i])) ran++;
      else ok = 0;
    }
    free(names[i]);
  }
  free(names);
  return ok ? ran : -1;
}

int main(int argc, char **argv) {
  long total = 0;
  int i, ok = 1;

  if (argc < 2) {
    fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
    return 2;
  }
  for (i = 1; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st) != 0) {
      fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
      ok = 0;
    } else if (S_ISDIR(st.st_mode)) {
      long n = run_dir(argv[i]);
      if (n < 0) ok = 0;
      else total += n;
    } else if (run_file(argv[i])) {
      total++;
    } else {
      ok = 0;
    }
  }
  printf("%s: %ld inputs replayed\n", argv[0], total);
  return ok ? 0 : 1;
}
