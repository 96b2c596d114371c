/* Context-switch-heavy workload for bench/offcpu/run.sh: two threads pass one byte back and
 * forth through two pipes N times (default 200000), so each thread blocks in read() once per
 * round trip. Prints its own elapsed time and the context switches it made (getrusage), so a
 * tool's slowdown is measured on the workload alone, without the tool's start-up or
 * post-processing. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static int ping[2], pong[2];
static long n;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

__attribute__((noinline)) static void *echo(void *a) {
    (void)a;
    char c;
    for (long i = 0; i < n; i++) {
        if (read(ping[0], &c, 1) != 1 || write(pong[1], &c, 1) != 1)
            exit(1);
    }
    return NULL;
}

__attribute__((noinline)) static void serve(void) {
    char c = 'x';
    for (long i = 0; i < n; i++) {
        if (write(ping[1], &c, 1) != 1 || read(pong[0], &c, 1) != 1)
            exit(1);
    }
}

int main(int argc, char **argv) {
    n = argc > 1 ? atol(argv[1]) : 200000;
    if (pipe(ping) || pipe(pong))
        return 1;
    double t0 = now();
    pthread_t t;
    pthread_create(&t, NULL, echo, NULL);
    serve();
    pthread_join(t, NULL);
    double dt = now() - t0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    long sw = ru.ru_nvcsw + ru.ru_nivcsw;
    printf("elapsed %.3f switches %ld rate %.0f\n", dt, sw, sw / dt);
    return 0;
}
