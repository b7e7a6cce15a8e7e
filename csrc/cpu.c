/* cpu.c: which SIMD path the kernels use, how many threads, and the machine's FMA peak. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dl_kernels.h"

#if DL_OPENMP
#include <omp.h>
#endif

#if defined(__x86_64__) || defined(__i386__)
#define DL_X86 1
#include <immintrin.h>
#else
#define DL_X86 0
#endif

static int g_path = -1;   /* -1: not chosen yet */
static int g_threads = 0; /* 0: not chosen yet */

int dl_cpu_best(void)
{
#if DL_X86
    /* gcc's cpu-feature probe also checks that the OS saves the wide registers (XCR0). */
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("fma"))
        return DL_CPU_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return DL_CPU_AVX2;
#endif
    return DL_CPU_GENERIC;
}

static int path_from_name(const char *s)
{
    if (!strcmp(s, "generic")) return DL_CPU_GENERIC;
    if (!strcmp(s, "avx2")) return DL_CPU_AVX2;
    if (!strcmp(s, "avx512")) return DL_CPU_AVX512;
    return -1;
}

int dl_cpu_set_path(int path)
{
    int best = dl_cpu_best();
    if (path < DL_CPU_GENERIC) path = DL_CPU_GENERIC;
    g_path = path > best ? best : path;
    return g_path;
}

int dl_cpu_path(void)
{
    if (g_path < 0) {
        const char *env = getenv("DL_CPU");
        int want = env && *env ? path_from_name(env) : -1;
        dl_cpu_set_path(want < 0 ? dl_cpu_best() : want);
    }
    return g_path;
}

const char *dl_cpu_path_name(int path)
{
    switch (path) {
    case DL_CPU_AVX512: return "avx512";
    case DL_CPU_AVX2: return "avx2";
    default: return "generic";
    }
}

int dl_openmp(void) { return DL_OPENMP; }

const char *dl_compiler(void)
{
#if defined(__clang__)
    return "clang " __clang_version__;
#elif defined(__GNUC__)
    return "gcc " __VERSION__;
#else
    return "unknown";
#endif
}

const char *dl_cpu_features(void)
{
    static char seen[128];
    if (seen[0]) return seen;
#if DL_X86
    __builtin_cpu_init();
    /* __builtin_cpu_supports takes only literals, hence the unrolled list */
    if (__builtin_cpu_supports("sse4.2")) strcat(seen, "sse4.2 ");
    if (__builtin_cpu_supports("avx")) strcat(seen, "avx ");
    if (__builtin_cpu_supports("fma")) strcat(seen, "fma ");
    if (__builtin_cpu_supports("avx2")) strcat(seen, "avx2 ");
    if (__builtin_cpu_supports("avx512f")) strcat(seen, "avx512f ");
    if (__builtin_cpu_supports("avx512dq")) strcat(seen, "avx512dq ");
    if (__builtin_cpu_supports("avx512bw")) strcat(seen, "avx512bw ");
    if (__builtin_cpu_supports("avx512vl")) strcat(seen, "avx512vl ");
#endif
    if (!seen[0]) strcat(seen, "none ");
    seen[strlen(seen) - 1] = '\0';
    return seen;
}

int dl_num_threads(void)
{
    if (g_threads < 1) {
        const char *env = getenv("DL_NUM_THREADS");
        int n = env && *env ? atoi(env) : 0;
#if DL_OPENMP
        if (n < 1) n = omp_get_max_threads();
#endif
        g_threads = n < 1 ? 1 : n;
    }
    return g_threads;
}

void dl_set_num_threads(int n) { g_threads = n < 1 ? 1 : n; }

/* ---- peak: independent FMA chains, enough to cover latency x ports ------------------- */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

#define DL_PEAK_ACC 12
#define DL_PEAK_ITERS 100000

#if DL_X86
__attribute__((target("avx512f,fma"))) static float peak_avx512(long rounds)
{
    __m512 acc[DL_PEAK_ACC], a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
    for (int i = 0; i < DL_PEAK_ACC; i++) acc[i] = _mm512_set1_ps((float)i);
    for (long r = 0; r < rounds; r++)
        for (int i = 0; i < DL_PEAK_ACC; i++) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
    for (int i = 1; i < DL_PEAK_ACC; i++) acc[0] = _mm512_add_ps(acc[0], acc[i]);
    return _mm512_reduce_add_ps(acc[0]);
}

__attribute__((target("avx2,fma"))) static float peak_avx2(long rounds)
{
    __m256 acc[DL_PEAK_ACC], a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
    for (int i = 0; i < DL_PEAK_ACC; i++) acc[i] = _mm256_set1_ps((float)i);
    for (long r = 0; r < rounds; r++)
        for (int i = 0; i < DL_PEAK_ACC; i++) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
    float out[8];
    for (int i = 1; i < DL_PEAK_ACC; i++) acc[0] = _mm256_add_ps(acc[0], acc[i]);
    _mm256_storeu_ps(out, acc[0]);
    return out[0] + out[7];
}
#endif

static float peak_generic(long rounds)
{
    float acc[DL_PEAK_ACC][4];
    for (int i = 0; i < DL_PEAK_ACC; i++)
        for (int j = 0; j < 4; j++) acc[i][j] = (float)(i + j);
    for (long r = 0; r < rounds; r++)
        for (int i = 0; i < DL_PEAK_ACC; i++)
            for (int j = 0; j < 4; j++) acc[i][j] = acc[i][j] * 0.999999f + 1e-7f;
    return acc[0][0] + acc[DL_PEAK_ACC - 1][3];
}

static volatile float g_sink;

double dl_peak_gflops(int path, double seconds)
{
    int lanes = 4;
    float (*kernel)(long) = peak_generic;
#if DL_X86
    path = path > dl_cpu_best() ? dl_cpu_best() : path;
    if (path == DL_CPU_AVX512) { kernel = peak_avx512; lanes = 16; }
    else if (path == DL_CPU_AVX2) { kernel = peak_avx2; lanes = 8; }
#endif
    double best = 0.0, t_end = now() + seconds;
    do { /* best of several short runs: the machine is shared and noisy */
        double t0 = now();
        g_sink = kernel(DL_PEAK_ITERS);
        double dt = now() - t0;
        double gflops = 2.0 * lanes * DL_PEAK_ACC * (double)DL_PEAK_ITERS / dt * 1e-9;
        if (gflops > best) best = gflops;
    } while (now() < t_end);
    return best;
}
