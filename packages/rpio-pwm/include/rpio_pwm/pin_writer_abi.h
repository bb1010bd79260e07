/* The pin writer table: how code outside rpio_core (rpio_pwm's C++ PWM engines) drives pins through
 * rpio_core's drivers without Python and without linking against rpio_core.
 *
 * rpio_core._core.pin_writer(driver) returns a PyCapsule named RPIO_PIN_WRITER_CAPSULE whose pointer
 * is a const rpio_pin_writer_v1*. A consumer checks abi_version and struct_size, calls retain(ctx)
 * to hold its own reference to the driver (the capsule may go away), calls the functions from any
 * thread without the GIL, and release()s its reference when done. rpio_pwm keeps a byte-identical
 * copy of this header (include/rpio_pwm/pin_writer_abi.h); a test compares the two.
 */
#ifndef RPIO_PIN_WRITER_ABI_H
#define RPIO_PIN_WRITER_ABI_H

#include <stdint.h>

#define RPIO_PIN_WRITER_CAPSULE "rpio_core.pin_writer_v1"
#define RPIO_PIN_WRITER_ABI_VERSION 1u

typedef struct rpio_pin_writer_v1 {
    uint32_t abi_version; /* RPIO_PIN_WRITER_ABI_VERSION */
    uint32_t struct_size; /* sizeof(rpio_pin_writer_v1) */
    uint32_t num_gpios;
    uint32_t simulated;   /* 1: a simulated board, whose history write_at() stamps */
    void* ctx;            /* the capsule's own reference */
    void* (*retain)(void* ctx);  /* a new reference to the same driver (NULL: out of memory) */
    void (*release)(void* ctx);
    /* 0 on success, -1 on a bad gpio or a failed write. */
    int (*write)(void* ctx, uint32_t gpio, int level);
    /* As write(), but the level change is recorded at t_ns (CLOCK_MONOTONIC) instead of now, for
     * simulated engines that know when their edge happened. On hardware: write(). */
    int (*write_at)(void* ctx, uint32_t gpio, int level, int64_t t_ns);
    /* Latch level, then make the pin an output (no glitch). */
    int (*make_output)(void* ctx, uint32_t gpio, int level);
} rpio_pin_writer_v1;

#endif
