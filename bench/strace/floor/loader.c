/*
 * usage: loader OBJ PROG[,PROG...] -- CMD [ARGS...]
 * Loads the named programs of OBJ (no others), attaches them, runs CMD and prints
 * "wall SECONDS cpu SECONDS" of CMD (cpu: user + system time of CMD and its threads).
 * "none" loads nothing (the bare run). Part of bench/strace/floor.sh, not of rprof.
 */
#include <bpf/libbpf.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static int silent(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

int main(int argc, char **argv)
{
	if (argc < 5 || strcmp(argv[3], "--") != 0) {
		fprintf(stderr, "usage: loader OBJ PROG[,PROG...] -- CMD [ARGS...]\n");
		return 2;
	}
	libbpf_set_print(silent);
	if (strcmp(argv[2], "none") != 0) {
		struct bpf_object *o = bpf_object__open_file(argv[1], NULL);
		if (!o) {
			perror("opening the object");
			return 1;
		}
		char want[1024];
		snprintf(want, sizeof want, ",%s,", argv[2]);
		struct bpf_program *p;
		bpf_object__for_each_program(p, o) {
			char name[256];
			snprintf(name, sizeof name, ",%s,", bpf_program__name(p));
			bpf_program__set_autoload(p, strstr(want, name) != NULL);
		}
		int err = bpf_object__load(o);
		if (err) {
			fprintf(stderr, "loading %s failed: %s\n", argv[2], strerror(-err));
			return 1;
		}
		bpf_object__for_each_program(p, o) {
			if (bpf_program__autoload(p) && !bpf_program__attach(p)) {
				fprintf(stderr, "attaching %s failed\n", bpf_program__name(p));
				return 1;
			}
		}
	}
	double s = now();
	pid_t c = fork();
	if (c == 0) {
		execvp(argv[4], argv + 4);
		_exit(127);
	}
	struct rusage ru;
	int st;
	if (wait4(c, &st, 0, &ru) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "%s failed\n", argv[4]);
		return 1;
	}
	double cpu = ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
		     (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	printf("wall %.3f cpu %.3f\n", now() - s, cpu);
	return 0;
}
