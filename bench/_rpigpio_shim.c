/* LD_PRELOAD shim for benchmarking RPi.GPIO off a Pi: its revision file and /dev/gpiomem are
 * redirected to ordinary files named by environment variables, so RPi.GPIO's own code runs over a
 * file-backed register page, as RPIO's does in bench/io.py. Nothing else is changed. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *redirect(const char *path) {
    if (path == NULL) return path;
    if (strcmp(path, "/dev/gpiomem") == 0 && getenv("SHIM_GPIOMEM")) return getenv("SHIM_GPIOMEM");
    if (strcmp(path, "/proc/device-tree/system/linux,revision") == 0 && getenv("SHIM_REVISION"))
        return getenv("SHIM_REVISION");
    return path;
}

typedef int (*open_fn)(const char *, int, ...);
typedef FILE *(*fopen_fn)(const char *, const char *);

static int call_open(const char *name, const char *path, int flags, va_list ap) {
    mode_t mode = (flags & O_CREAT) ? va_arg(ap, mode_t) : 0;
    open_fn real = (open_fn)dlsym(RTLD_NEXT, name);
    return real(redirect(path), flags, mode);
}

int open(const char *path, int flags, ...) {
    va_list ap; va_start(ap, flags);
    int fd = call_open("open", path, flags, ap);
    va_end(ap); return fd;
}

int open64(const char *path, int flags, ...) {
    va_list ap; va_start(ap, flags);
    int fd = call_open("open64", path, flags, ap);
    va_end(ap); return fd;
}

FILE *fopen(const char *path, const char *mode) {
    return ((fopen_fn)dlsym(RTLD_NEXT, "fopen"))(redirect(path), mode);
}

FILE *fopen64(const char *path, const char *mode) {
    return ((fopen_fn)dlsym(RTLD_NEXT, "fopen64"))(redirect(path), mode);
}
