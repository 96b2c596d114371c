/* Benchmark workload: four busy threads for SECONDS (argv[1], default 20), each in its own
 * function, for measuring rprof's memory while recording a long, busy target. */
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <time.h>

volatile unsigned long sinks[4];
static double secs = 20.0;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

#define WORKER(name, idx, expr)                                      \
    __attribute__((noinline)) void name(void) {                      \
        double end = now() + secs;                                   \
        unsigned long x = idx + 1;                                   \
        while (now() < end)                                          \
            for (int i = 0; i < 20000; i++) x = expr;                \
        sinks[idx] = x;                                              \
    }                                                                \
    static void *name##_main(void *a) { (void)a; name(); return NULL; }

WORKER(worker_one, 0, x * 6364136223846793005UL + i)
WORKER(worker_two, 1, x * 0x9E3779B97F4A7C15UL ^ i)
WORKER(worker_three, 2, x * 2862933555777941757UL - i)
WORKER(worker_four, 3, (x ^ (x >> 5)) * 31 + i)

int main(int argc, char **argv) {
    if (argc > 1) secs = atof(argv[1]);
    printf("ready\n");
    fflush(stdout);
    pthread_t t[4];
    pthread_create(&t[0], NULL, worker_one_main, NULL);
    pthread_create(&t[1], NULL, worker_two_main, NULL);
    pthread_create(&t[2], NULL, worker_three_main, NULL);
    pthread_create(&t[3], NULL, worker_four_main, NULL);
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    return 0;
}
