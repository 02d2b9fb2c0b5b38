/*
 * standalone_main.c - runs a fuzz target's LLVMFuzzerTestOneInput over
 * seed files when libFuzzer is not available (gcc, SCL_FUZZ=OFF), so every
 * build replays the seed corpus.  Not a fuzzer: it never mutates inputs.
 * Usage: fuzz_NAME FILE_OR_DIR...   (arguments starting with '-' are ignored)
 */
#include "common.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

#define INPUT_MAX (1u << 20)

static int run_file(const char *path)
{
    uint8_t *buf;
    size_t len;
    struct scl_err e;
    if (scl_read_file(path, INPUT_MAX, &buf, &len, &e) != SCL_OK) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    return 0;
}

static int run_dir(const char *dir, int *count)
{
    DIR *d = opendir(dir);
    if (!d) {
        perror(dir);
        return 1;
    }
    int rc = 0;
    struct dirent *ent;
    while ((ent = readdir(d)) != NULL) {
        if (ent->d_name[0] == '.') continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) continue;
        rc |= run_file(path);
        (*count)++;
    }
    closedir(d);
    return rc;
}

int main(int argc, char **argv)
{
    if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
    int rc = 0, count = 0;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-') continue;
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            perror(argv[i]);
            rc = 1;
        } else if (S_ISDIR(st.st_mode)) {
            rc |= run_dir(argv[i], &count);
        } else {
            rc |= run_file(argv[i]);
            count++;
        }
    }
    printf("%s: %d inputs replayed\n", argv[0], count);
    return rc || count == 0;
}
