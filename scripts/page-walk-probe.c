/*
 * What one random read costs on this machine, and what a software prefetch does for it.
 * A diagnostic for the notes in ARCHITECTURE.md ("Why CPU work per lookup matters"), not part of
 * the build:
 *
 *   gcc -O2 -o /tmp/page-walk-probe scripts/page-walk-probe.c && /tmp/page-walk-probe [MiB]
 *
 * Part 1 times single reads with rdtscp (fenced, so a read's own latency is measured, in TSC
 * cycles; the empty measurement is about 60): a cold line of a region far larger than the
 * caches; the same line after a prefetch and about 3,000 cycles of ALU work; another line of the
 * same 4 KiB page (its translation is cached, its data is not); a line of another 4 KiB page of
 * the same 2 MiB page after a load of the first (whether the TLB holds 2 MiB or 4 KiB entries).
 *
 * Part 2 issues G prefetches, then W steps of a dependent ALU chain, and times the whole
 * (unfenced between the two): with G = 0 it is the work alone. Where prefetches overlap the
 * work, G > 0 costs about the same as the work; where they do not, it costs their latency more.
 *
 * Part 3 models the batched lookup: rounds of 64 random lines; each round prefetches the next
 * round's lines, then reads each line of its own and does W steps of work on it. "burst" issues
 * the 64 prefetches at once before the reads; "spread 16" issues them 16 at a time between the
 * reads; "limit" is the burst without the work. ns a line, one thread; the in-cache column is
 * the same loop over a 4 MiB region (the work's own time).
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <x86intrin.h>

static uint64_t rng = 88172645463325252ULL;

static inline uint64_t next_random(void) {
    uint64_t x = rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng = x;
}

static inline uint64_t work(uint64_t steps, uint64_t x) {
    for (uint64_t i = 0; i < steps; i++) {
        x = x * 0x9E3779B97F4A7C15ULL + i;
        __asm__ volatile("" : "+r"(x));
    }
    return x;
}

static inline uint64_t timed_read(volatile uint64_t *p, uint64_t *sink) {
    unsigned aux;
    _mm_lfence();
    uint64_t t0 = __rdtscp(&aux);
    _mm_lfence();
    *sink += *p;
    _mm_lfence();
    uint64_t t1 = __rdtscp(&aux);
    _mm_lfence();
    return t1 - t0;
}

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

/* Part 3: shape 0 burst, 1 spread 16, 2 limit (burst, no work). Returns ns a line. */
static double model(char *r, size_t lines, int shape, int steps, uint64_t *sink) {
    enum { B = 64 };
    static size_t offsets[2][B];
    uint64_t out = 0;
    int current = 0;
    for (int i = 0; i < B; i++) {
        offsets[current][i] = ((next_random() >> 1) & (lines - 1)) << 6;
    }
    long n = 0;
    double t0 = now_ns();
    while (now_ns() - t0 < 1e8) {
        for (int round = 0; round < 64; round++) {
            int following = 1 - current;
            for (int i = 0; i < B; i++) {
                offsets[following][i] = ((next_random() >> 1) & (lines - 1)) << 6;
            }
            if (shape != 1) {
                for (int i = 0; i < B; i++) {
                    __builtin_prefetch(r + offsets[following][i], 0, 3);
                }
            }
            for (int j = 0; j < B; j++) {
                if (shape == 1 && j % 16 == 0) {
                    for (int i = j; i < j + 16; i++) {
                        __builtin_prefetch(r + offsets[following][i], 0, 3);
                    }
                }
                uint64_t *line = (uint64_t *) (r + offsets[current][j]);
                uint64_t v = line[0] ^ line[2] ^ line[4] ^ line[6];
                out += work(steps, v);
            }
            current = following;
            n += B;
        }
    }
    *sink += out;
    return (now_ns() - t0) / n;
}

static int compare_double(const void *a, const void *b) {
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

static int compare(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    size_t bytes = (size_t) (argc > 1 ? atol(argv[1]) : 2048) << 20;
    size_t lines = bytes >> 6;
    size_t huge = 2u << 20;
    char *raw = mmap(0, bytes + huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    char *r = (char *) (((uintptr_t) raw + huge - 1) & ~(uintptr_t) (huge - 1));
    madvise(r, bytes, MADV_HUGEPAGE);
    for (size_t o = 0; o < bytes; o += 8) {
        *(uint64_t *) (r + o) = o; /* distinct words: no shared zero page, nothing to merge */
    }
    uint64_t sink = 0, x = 1;

    enum { N = 20000, CASES = 4 };
    static uint64_t t[CASES][N];
    const char *names[CASES] = {
        "cold line",
        "prefetched line, after work",
        "other line, same 4 KiB page, after prefetch",
        "line of another 4 KiB page, same 2 MiB page, after a load",
    };
    for (int i = 0; i < N; i++) {
        for (int c = 0; c < CASES; c++) {
            size_t o = ((next_random() >> 1) & (lines - 1)) << 6;
            volatile uint64_t *line = (volatile uint64_t *) (r + o);
            switch (c) {
            case 0:
                x = work(1500, x);
                t[c][i] = timed_read(line, &sink);
                break;
            case 1:
                __builtin_prefetch(r + o, 0, 3);
                x = work(1500, x);
                t[c][i] = timed_read(line, &sink);
                break;
            case 2:
                __builtin_prefetch(r + o, 0, 3);
                x = work(1500, x);
                t[c][i] = timed_read((volatile uint64_t *) (r + (o ^ 1024)), &sink);
                break;
            default:
                sink += *line;
                _mm_lfence();
                x = work(1500, x);
                t[c][i] = timed_read((volatile uint64_t *) (r + (o ^ (1u << 16))), &sink);
                break;
            }
        }
    }
    printf("part 1: one read over %zu MiB, TSC cycles (median, 90th percentile)\n", bytes >> 20);
    for (int c = 0; c < CASES; c++) {
        qsort(t[c], N, sizeof t[c][0], compare);
        printf("  %-60s %6lu %6lu\n", names[c], (unsigned long) t[c][N / 2], (unsigned long) t[c][9 * N / 10]);
    }

    printf("part 2: G prefetches, then 1500 steps of ALU work, TSC cycles a round (mean)\n");
    int groups[] = {0, 8, 64};
    size_t offsets[64];
    for (int g = 0; g < 3; g++) {
        int count = groups[g];
        uint64_t total = 0;
        unsigned aux;
        for (int i = 0; i < 4000; i++) {
            for (int k = 0; k < count; k++) {
                offsets[k] = ((next_random() >> 1) & (lines - 1)) << 6;
            }
            _mm_lfence();
            uint64_t t0 = __rdtscp(&aux);
            for (int k = 0; k < count; k++) {
                __builtin_prefetch(r + offsets[k], 0, 3);
            }
            x = work(1500, x);
            uint64_t t1 = __rdtscp(&aux);
            _mm_lfence();
            total += t1 - t0;
        }
        printf("  G = %2d: %6lu\n", count, (unsigned long) (total / 4000));
    }
    printf("part 3: batched loop model, ns a line, median of 5 interleaved runs (over %zu MiB / over 4 MiB)\n",
           bytes >> 20);
    enum { REPEATS = 5, CELLS = 7 };
    int cell_steps[CELLS] = {0, 0, 0, 10, 10, 20, 20};
    int cell_shape[CELLS] = {2, 0, 1, 0, 1, 0, 1};
    const char *shapes[] = {"burst", "spread 16", "limit"};
    double runs[CELLS][2][REPEATS];
    for (int rep = 0; rep < REPEATS; rep++) {
        for (int c = 0; c < CELLS; c++) {
            for (int cache = 0; cache < 2; cache++) {
                size_t span = cache ? (size_t) 1 << 16 : lines; /* 4 MiB or the whole region */
                runs[c][cache][rep] = model(r, span, cell_shape[c], cell_steps[c], &sink);
            }
        }
    }
    for (int c = 0; c < CELLS; c++) {
        qsort(runs[c][0], REPEATS, sizeof(double), compare_double);
        qsort(runs[c][1], REPEATS, sizeof(double), compare_double);
        printf("  W = %2d %-9s %6.1f / %5.1f\n", cell_steps[c], shapes[cell_shape[c]],
               runs[c][0][REPEATS / 2], runs[c][1][REPEATS / 2]);
    }
    printf("(%lu)\n", (unsigned long) (sink + x));
    return 0;
}
