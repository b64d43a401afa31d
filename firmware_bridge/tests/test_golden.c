/* Golden-vector test: the C bridge against the Python reference's outputs (edgekit/bridge/golden.py),
 * every case fed in chunks of 1, 2, 3, 7 and 64 samples through ek_bridge_push_block, with
 * canary words after the state, the workspace and every output block. Runs unchanged on the
 * host and on Cortex-M4F under QEMU (semihosting stdout); exit status 0 = pass. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "edgekit_bridge.h"
#include "ek_spec_cmi.h"
#include "ek_spec_kitchen.h"
#include "ek_spec_uci.h"

#define CANARY 0xC0FFEE11u
#define CANARY_WORDS 8u
#define MAX_CHUNK 64u
#define MAX_FEATURES 256u
#define RTOL 1.0e-5f

extern const unsigned char ek_golden_cmi[], ek_golden_cmi_end[];
extern const unsigned char ek_golden_uci[], ek_golden_uci_end[];
extern const unsigned char ek_golden_kitchen[], ek_golden_kitchen_end[];

typedef struct {
    const char *name;
    const ek_bridge_config_t *config;
    const unsigned char *blob, *blob_end;
    uint32_t workspace_words;
} golden_case_t;

/* Caller-owned memory with canaries behind every buffer. */
static struct { ek_bridge_t bridge; uint32_t canary[CANARY_WORDS]; } state;
static ek_word_t workspace[EK_SPEC_KITCHEN_WORKSPACE_WORDS + EK_SPEC_CMI_WORKSPACE_WORDS +
                           EK_SPEC_UCI_WORKSPACE_WORDS + CANARY_WORDS];
static float outputs[MAX_CHUNK * MAX_FEATURES + CANARY_WORDS];
static float first_pass[128u * MAX_FEATURES]; /* chunk-1 outputs of a segment: later chunkings must equal them */

static uint32_t read_u32(const unsigned char *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static float read_f32(const unsigned char *p) { float v; memcpy(&v, p, 4); return v; }

static void set_canaries(uint32_t ws_words, uint32_t n_out_floats)
{
    uint32_t k;
    for (k = 0; k < CANARY_WORDS; ++k) {
        state.canary[k] = CANARY;
        workspace[ws_words + k].u = CANARY;
        memcpy(&outputs[n_out_floats + k], &(uint32_t){CANARY}, 4);
    }
}

static int canaries_intact(uint32_t ws_words, uint32_t n_out_floats)
{
    uint32_t k, v;
    for (k = 0; k < CANARY_WORDS; ++k) {
        memcpy(&v, &outputs[n_out_floats + k], 4);
        if (state.canary[k] != CANARY || workspace[ws_words + k].u != CANARY || v != CANARY) return 0;
    }
    return 1;
}

static int run_case(const golden_case_t *gc)
{
    static const uint32_t chunks[] = {1u, 2u, 3u, 7u, 64u};
    const unsigned char *p = gc->blob;
    uint32_t n_in, n_out, n_seg, s, c, failures = 0u, checked = 0u;
    const unsigned char *seg_table, *slack, *data;
    float worst = 0.0f;

    if (memcmp(p, "EKGV", 4) != 0 || read_u32(p + 4) != 1u) {
        printf("%s: not a version-1 golden file\n", gc->name);
        return 1;
    }
    if (memcmp(p + 8, gc->config->spec_hash, 16) != 0) {
        printf("%s: golden spec hash %.16s != config %s\n", gc->name, (const char *)(p + 8), gc->config->spec_hash);
        return 1;
    }
    n_in = read_u32(p + 24);
    n_out = read_u32(p + 28);
    n_seg = read_u32(p + 32);
    if (n_in != gc->config->n_inputs || n_out != gc->config->n_features || n_out > MAX_FEATURES) {
        printf("%s: golden shape (%u, %u) != config (%u, %u)\n", gc->name, (unsigned)n_in, (unsigned)n_out,
               (unsigned)gc->config->n_inputs, (unsigned)gc->config->n_features);
        return 1;
    }
    if (ek_bridge_workspace_words(gc->config) != gc->workspace_words) {
        printf("%s: ek_bridge_workspace_words %u != generated macro %u\n", gc->name,
               (unsigned)ek_bridge_workspace_words(gc->config), (unsigned)gc->workspace_words);
        return 1;
    }
    seg_table = p + 36;
    slack = seg_table + 8u * n_seg;

    for (c = 0; c < sizeof chunks / sizeof chunks[0]; ++c) {
        int32_t handedness = -1;
        data = slack + 4u * n_out;
        for (s = 0; s < n_seg; ++s) {
            int32_t hand;
            uint32_t n, t0, t, j;
            memcpy(&hand, seg_table + 8u * s, 4);
            n = read_u32(seg_table + 8u * s + 4u);
            if (hand != handedness) { /* a new wearer: init; same wearer: reset */
                ek_status_t st = ek_bridge_init(&state.bridge, gc->config, hand, workspace,
                                                gc->workspace_words * sizeof(ek_word_t));
                if (st != EK_OK) {
                    printf("%s: ek_bridge_init failed with %d\n", gc->name, (int)st);
                    return 1;
                }
                handedness = hand;
            } else {
                ek_bridge_reset(&state.bridge);
            }
            for (t0 = 0; t0 < n; t0 += chunks[c]) {
                uint32_t m = n - t0 < chunks[c] ? n - t0 : chunks[c];
                float in[MAX_CHUNK * 340u];
                memcpy(in, data + 4u * (size_t)t0 * n_in, 4u * (size_t)m * n_in);
                set_canaries(gc->workspace_words, m * n_out);
                ek_bridge_push_block(&state.bridge, in, m, outputs);
                if (!canaries_intact(gc->workspace_words, m * n_out)) {
                    printf("%s: canary overwritten (chunk %u, segment %u, sample %u)\n", gc->name,
                           (unsigned)chunks[c], (unsigned)s, (unsigned)t0);
                    return 1;
                }
                for (t = 0; t < m; ++t) {
                    for (j = 0; j < n_out; ++j) {
                        float got = outputs[t * n_out + j];
                        float want = read_f32(data + 4u * ((size_t)n * n_in + (size_t)(t0 + t) * n_out + j));
                        float tol = RTOL * (fabsf(want) > 1.0f ? fabsf(want) : 1.0f) + read_f32(slack + 4u * j);
                        float err = fabsf(got - want);
                        if (chunks[c] == 1u && s == 0u && t0 + t < 128u) first_pass[(t0 + t) * n_out + j] = got;
                        if (s == 0u && t0 + t < 128u && memcmp(&first_pass[(t0 + t) * n_out + j], &got, 4) != 0) {
                            printf("%s: chunk %u changes feature %u at sample %u\n", gc->name, (unsigned)chunks[c],
                                   (unsigned)j, (unsigned)(t0 + t));
                            ++failures;
                        }
                        if (!(err <= tol)) {
                            if (failures < 10u)
                                printf("%s: segment %u sample %u feature %u: C %.9g, reference %.9g (tol %.3g)\n",
                                       gc->name, (unsigned)s, (unsigned)(t0 + t), (unsigned)j, (double)got,
                                       (double)want, (double)tol);
                            ++failures;
                        } else if (err / tol > worst) {
                            worst = err / tol;
                        }
                        ++checked;
                    }
                }
            }
            data += 4u * (size_t)n * (n_in + n_out);
        }
    }
    printf("%s: %u values checked over chunks 1,2,3,7,64; %u failures; worst |err|/tol %.3f\n", gc->name,
           (unsigned)checked, (unsigned)failures, (double)worst);
    return failures != 0u;
}

int ek_golden_run(void);

int ek_golden_run(void)
{
    const golden_case_t cases[] = {
        {"cmi", &ek_spec_cmi, ek_golden_cmi, ek_golden_cmi_end, EK_SPEC_CMI_WORKSPACE_WORDS},
        {"uci", &ek_spec_uci, ek_golden_uci, ek_golden_uci_end, EK_SPEC_UCI_WORKSPACE_WORDS},
        {"kitchen", &ek_spec_kitchen, ek_golden_kitchen, ek_golden_kitchen_end, EK_SPEC_KITCHEN_WORKSPACE_WORDS},
    };
    int failed = 0;
    size_t k;
    if (ek_abi_version() != EK_ABI_VERSION) {
        printf("ABI version %u != header %u\n", (unsigned)ek_abi_version(), (unsigned)EK_ABI_VERSION);
        return 1;
    }
    for (k = 0; k < sizeof cases / sizeof cases[0]; ++k) failed |= run_case(&cases[k]);
    printf(failed ? "GOLDEN FAIL\n" : "GOLDEN OK\n");
    return failed;
}

#ifndef EK_GOLDEN_NO_MAIN
int main(void) { return ek_golden_run(); }
#endif
