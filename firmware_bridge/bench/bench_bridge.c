/* C micro-benchmark: ns per sample of ek_bridge_push_block for the default spec
 * (FeatureSpec.cmi_default(), golden/ek_spec_cmi.h) on the golden stream's inputs, repeated.
 *   bench_bridge [samples] [runs]   prints: spec, samples, ns/sample (best of `runs`, default 5)
 * Under `valgrind --tool=callgrind` run with a small count: instructions / sample come from the
 * difference of two counts (bench/bridge_callgrind.py), which cancels start-up costs. */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "edgekit_bridge.h"
#include "ek_spec_cmi.h"

extern const unsigned char ek_golden_cmi[];

#define CHUNK 64u

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    static ek_word_t workspace[EK_SPEC_CMI_WORKSPACE_WORDS];
    static float in[CHUNK * EK_SPEC_CMI_N_INPUTS], out[CHUNK * EK_SPEC_CMI_N_FEATURES];
    ek_bridge_t bridge;
    long total = argc > 1 ? atol(argv[1]) : 200000L;
    int runs = argc > 2 ? atoi(argv[2]) : 5;
    uint32_t n_in = EK_SPEC_CMI_N_INPUTS, n_seg, n_stream, k;
    const unsigned char *p = ek_golden_cmi;
    double best = 1e300, sink = 0.0;
    int run;
    /* the golden file's first segment (52 samples with faults) is the stream, looped */
    memcpy(&n_seg, p + 32, 4);
    memcpy(&n_stream, p + 40, 4);
    p += 36u + 8u * n_seg + 4u * EK_SPEC_CMI_N_FEATURES;
    for (k = 0; k < CHUNK; ++k) memcpy(in + k * n_in, p + 4u * (k % n_stream) * n_in, 4u * n_in);
    if (ek_bridge_init(&bridge, &ek_spec_cmi, EK_RIGHT_HANDED, workspace, sizeof workspace) != EK_OK) return 1;
    for (run = 0; run < runs; ++run) {
        long done = 0;
        double t0 = now_ns();
        while (done < total) {
            ek_bridge_push_block(&bridge, in, CHUNK, out);
            sink += out[0];
            done += CHUNK;
        }
        if ((now_ns() - t0) / (double)done < best) best = (now_ns() - t0) / (double)done;
    }
    printf("spec %s samples %ld ns_per_sample %.1f (checksum %g)\n", EK_SPEC_CMI_HASH, total, best, sink);
    return 0;
}
