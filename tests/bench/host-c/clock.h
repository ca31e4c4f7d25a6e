/*
 * The clocks both host benchmark publishers (ours_pub.c, mosq_pub.c) read,
 * so that their figures are taken the same way.
 */
#ifndef BENCH_CLOCK_H
#define BENCH_CLOCK_H

#include <stdio.h>
#include <time.h>

/* Nanoseconds this process has run on a CPU (Linux's scheduler clock, not
 * the coarse tick of getrusage), 0 where /proc/self/schedstat is missing. */
static double cpu_ns(void)
{
    double ns = 0;
    FILE *f = fopen("/proc/self/schedstat", "r");
    if (f != NULL) {
        if (fscanf(f, "%lf", &ns) != 1) {
            ns = 0;
        }
        fclose(f);
    }
    return ns;
}

/* Seconds on the monotonic clock. */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif
