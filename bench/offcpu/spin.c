/* CPU-bound workload for bench/offcpu/run.sh: two threads each run a fixed number of
 * multiply-add iterations (default 400 million) and never block. Prints its own elapsed time
 * and context switches, like pingpong.c. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

static long n;
volatile uint64_t sink;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

__attribute__((noinline)) static void *spin(void *a) {
    uint64_t x = (uintptr_t)a;
    for (long i = 0; i < n; i++)
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    sink = x;
    return NULL;
}

int main(int argc, char **argv) {
    n = argc > 1 ? atol(argv[1]) : 400000000L;
    double t0 = now();
    pthread_t t;
    pthread_create(&t, NULL, spin, (void *)1);
    spin((void *)2);
    pthread_join(t, NULL);
    double dt = now() - t0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    long sw = ru.ru_nvcsw + ru.ru_nivcsw;
    printf("elapsed %.3f switches %ld rate %.0f\n", dt, sw, sw / dt);
    return 0;
}
