/* LD_PRELOAD shim that lets RPi.GPIO 0.7.1's own C code run off a Pi, for the differential tests:
 * its revision file and /dev/gpiomem are ordinary files, and /sys/class/gpio is a directory the
 * test prepares (gpioN/ with direction and edge files, and value a FIFO nobody writes: the event
 * API's epoll accepts it and no edge ever comes, as on a Pi with nothing wired). Nothing else of
 * RPi.GPIO is changed.
 *   SHIM_GPIOMEM=page  SHIM_REVISION=rev-file  SHIM_SYSFS=dir  (each optional) */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char SYSFS[] = "/sys/class/gpio";

static const char *redirect(const char *path, char *buffer, size_t size) {
    if (path == NULL) return path;
    if (strcmp(path, "/dev/gpiomem") == 0 && getenv("SHIM_GPIOMEM")) return getenv("SHIM_GPIOMEM");
    if (strcmp(path, "/proc/device-tree/system/linux,revision") == 0 && getenv("SHIM_REVISION"))
        return getenv("SHIM_REVISION");
    const char *sysfs = getenv("SHIM_SYSFS");
    if (sysfs && strncmp(path, SYSFS, sizeof SYSFS - 1) == 0) {
        int n = snprintf(buffer, size, "%s%s", sysfs, path + sizeof SYSFS - 1);
        if (n > 0 && (size_t)n < size) return buffer;
    }
    return path;
}

typedef int (*open_fn)(const char *, int, ...);
typedef FILE *(*fopen_fn)(const char *, const char *);
typedef int (*access_fn)(const char *, int);

static int call_open(const char *name, const char *path, int flags, va_list ap) {
    char buffer[4096];
    mode_t mode = (flags & O_CREAT) ? va_arg(ap, mode_t) : 0;
    open_fn real = (open_fn)dlsym(RTLD_NEXT, name);
    return real(redirect(path, buffer, sizeof buffer), flags, mode);
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
    char buffer[4096];
    return ((fopen_fn)dlsym(RTLD_NEXT, "fopen"))(redirect(path, buffer, sizeof buffer), mode);
}

FILE *fopen64(const char *path, const char *mode) {
    char buffer[4096];
    return ((fopen_fn)dlsym(RTLD_NEXT, "fopen64"))(redirect(path, buffer, sizeof buffer), mode);
}

int access(const char *path, int how) {
    char buffer[4096];
    return ((access_fn)dlsym(RTLD_NEXT, "access"))(redirect(path, buffer, sizeof buffer), how);
}
