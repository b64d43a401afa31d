/*
 * The device check program of a generated model package (host, ASan/UBSan, or Cortex-M4F under
 * QEMU mps2-an386): runs a vector file (written by edgekit.device.vectors) and prints one
 * `key value` line per result; main returns the number of mismatches (0 = all equal).
 *
 *   model vectors:    features in, ONNX Runtime's logits expected: compared bit for bit
 *   pipeline vectors: raw samples through the bridge (configured by the model's own spec) into the
 *                     model; the class at each sample (step) or full window (window) against
 *                     `edgekit stream`'s on the host
 *   fuzz vectors:     raw samples only (random, NaN, Inf): no crash, no sanitizer report, finite logits
 *
 * On the M4 it counts instructions with SysTick: under QEMU's -icount shift=0 an instruction takes
 * 1 ns of virtual time and SysTick on the 25 MHz core clock ticks every 40 instructions (see
 * bench/bench_bridge_m4.c). Those are instructions, not cycles. It also reports the deepest stack
 * the bridge and model reached, by painting the stack before the run.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ek_device_config.h" /* generated: EKD_MODEL, EKD_SPEC, the model and spec headers */

extern const unsigned char ek_device_vectors[];

#define EKD_MAGIC 0x56444B45u /* "EKDV" */
enum { EKD_MODEL_VECTORS = 1, EKD_PIPELINE_VECTORS = 2, EKD_FUZZ_VECTORS = 3 };
#define EKD_FLAG_RESET 1u
#define EKD_FLAG_LEFT 2u /* with RESET: the new sequence is a left-handed wearer's (mirrored bridge) */
#define EKD_NO_CLASS 0xFFFFFFFFu

#if defined(__arm__)
#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define INSTRUCTIONS_PER_TICK 40u
static void ticks_start(void) { SYST_RVR = 0xFFFFFFu; SYST_CVR = 0u; SYST_CSR = 5u; }
static uint32_t ticks_now(void) { return SYST_CVR; }
/* the SysTick counts down and wraps every 2^24 ticks; calls below last far less than that */
static uint32_t ticks_since(uint32_t start) { return (start - SYST_CVR) & 0xFFFFFFu; }
#define STACK_PAINT_BYTES 16384u
#else
#define INSTRUCTIONS_PER_TICK 1u
static void ticks_start(void) {}
static uint32_t ticks_now(void) { return 0u; }
static uint32_t ticks_since(uint32_t start) { (void)start; return 0u; }
#endif

static ek_word_t arena[EKD_ARENA_WORDS];
static ek_word_t model_state[EKD_STATE_WORDS];
static ek_word_t bridge_workspace[EKD_WORKSPACE_WORDS];
static ek_bridge_t bridge;
static ek_model_t model;
static float raw[EKD_N_RAW], features[EKD_N_FEATURES], inputs[EKD_N_INPUTS * EKD_WINDOW], logits[EKD_N_CLASSES];
#if EKD_KIND == EK_MODEL_WINDOW
static float window_rows[EKD_N_INPUTS * EKD_WINDOW]; /* ring of the last EKD_WINDOW feature rows */
#endif

#ifdef EK_MODEL_PROFILE
/* instructions of each op of the generated forward (a profiling build: the hooks cost a little) */
#define EKD_MAX_OPS 1024u
static uint32_t op_ticks[EKD_MAX_OPS], op_last;
void ek_model_profile_op(unsigned op);
void ek_model_profile_op(unsigned op)
{
    uint32_t now = ticks_now();
    if (op < EKD_MAX_OPS) op_ticks[op] += (op_last - now) & 0xFFFFFFu;
    op_last = ticks_now();
}
#define PROFILE_START() (op_last = ticks_now())
#else
#define PROFILE_START() ((void)0)
#endif

static uint32_t u32_at(const unsigned char *p) { uint32_t v; memcpy(&v, p, 4); return v; }

static int finite_all(const float *v, uint32_t n)
{
    uint32_t i;
    for (i = 0; i < n; ++i)
        if (!(v[i] - v[i] == 0.0f)) return 0;
    return 1;
}

static void print_rate(const char *key, uint64_t ticks, uint32_t count)
{
    uint64_t x100 = count ? ticks * INSTRUCTIONS_PER_TICK * 100u / count : 0u;
    printf("%s %lu.%02lu\n", key, (unsigned long)(x100 / 100u), (unsigned long)(x100 % 100u));
}

#ifdef EK_MODEL_PROFILE
static void print_rate_op(uint32_t op, uint64_t ticks, uint32_t count)
{
    printf("op_%lu %lu\n", (unsigned long)op, (unsigned long)(count ? ticks * INSTRUCTIONS_PER_TICK / count : 0u));
}
#endif

/* the model input of one bridge output: the model's channels in order (EKD_FEATURE_INDEX) */
static void select_features(const float *bridge_out, float *model_in)
{
#ifdef EKD_FEATURE_INDEX
    static const uint16_t index[EKD_N_INPUTS] = EKD_FEATURE_INDEX;
    uint32_t i;
    for (i = 0; i < EKD_N_INPUTS; ++i) model_in[i] = bridge_out[index[i]];
#else
    memcpy(model_in, bridge_out, sizeof(float) * EKD_N_INPUTS);
#endif
}

/* window models: run on the last EKD_WINDOW rows, oldest first, once the ring is full */
static int model_on_sample(uint32_t count)
{
#if EKD_KIND == EK_MODEL_STEP
    (void)count;
    return ek_model_step(&model, inputs, logits) == EK_OK;
#else
    uint32_t r, slot = (count - 1u) % EKD_WINDOW;
    float *rows = window_rows;
    memcpy(rows + slot * EKD_N_INPUTS, inputs, sizeof(float) * EKD_N_INPUTS);
    if (count < EKD_WINDOW || count % EKD_HOP != 0u) return 0;
    for (r = 0; r < EKD_WINDOW; ++r)
        memcpy(inputs + r * EKD_N_INPUTS, rows + ((slot + 1u + r) % EKD_WINDOW) * EKD_N_INPUTS,
               sizeof(float) * EKD_N_INPUTS);
    return ek_model_run(&model, inputs, logits) == EK_OK;
#endif
}

int main(void)
{
    const unsigned char *p = ek_device_vectors;
    uint32_t mode, n, n_in, n_out, k, mismatches = 0, compared = 0, count = 0, runs = 0, nonfinite = 0;
    uint64_t model_ticks = 0, bridge_ticks = 0;
    uint32_t stack_used = 0;
#if defined(__arm__)
    volatile uint32_t *paint, *sp_now;
    __asm volatile("mov %0, sp" : "=r"(sp_now));
    for (paint = sp_now - 16; paint > sp_now - 16 - STACK_PAINT_BYTES / 4u; --paint) *paint = 0xA5A5A5A5u;
#endif
    if (u32_at(p) != EKD_MAGIC) { printf("error bad vector file\n"); return 100; }
    mode = u32_at(p + 4); n = u32_at(p + 8); n_in = u32_at(p + 12); n_out = u32_at(p + 16);
    p += 20;
    if ((mode == EKD_MODEL_VECTORS && n_in != EKD_N_INPUTS * EKD_WINDOW)
        || (mode != EKD_MODEL_VECTORS && n_in != EKD_N_RAW)) {
        printf("error vector file for another model (%lu inputs)\n", (unsigned long)n_in);
        return 103;
    }
    if (ek_model_init(&model, &EKD_MODEL, arena, sizeof arena, model_state, sizeof model_state) != EK_OK) {
        printf("error ek_model_init\n");
        return 101;
    }
    if (ek_bridge_init(&bridge, &EKD_SPEC, EK_RIGHT_HANDED, bridge_workspace, sizeof bridge_workspace) != EK_OK) {
        printf("error ek_bridge_init\n");
        return 102;
    }
    ticks_start();
    for (k = 0; k < n; ++k) {
        uint32_t flags = u32_at(p), expected = u32_at(p + 4), t0;
        const unsigned char *values = p + 8;
        p += 8u + 4u * (n_in + n_out);
        if (flags & EKD_FLAG_RESET) {
            ek_model_reset(&model);
            if (ek_bridge_init(&bridge, &EKD_SPEC, (flags & EKD_FLAG_LEFT) ? EK_LEFT_HANDED : EK_RIGHT_HANDED,
                               bridge_workspace, sizeof bridge_workspace) != EK_OK) {
                printf("error ek_bridge_init\n");
                return 102;
            }
            count = 0;
        }
        if (mode == EKD_MODEL_VECTORS) {
            memcpy(inputs, values, 4u * n_in);
            PROFILE_START();
            t0 = ticks_now();
            if (EKD_KIND == EK_MODEL_STEP) ek_model_step(&model, inputs, logits);
            else ek_model_run(&model, inputs, logits);
            model_ticks += ticks_since(t0);
            ++runs;
            if (memcmp(logits, values + 4u * n_in, 4u * n_out) != 0) ++mismatches;
            ++compared;
            continue;
        }
        memcpy(raw, values, 4u * n_in); /* raw sample (bridge inputs) */
        t0 = ticks_now();
        ek_bridge_push(&bridge, raw, features);
        bridge_ticks += ticks_since(t0);
        select_features(features, inputs);
        ++count;
        t0 = ticks_now();
        if (model_on_sample(count)) {
            model_ticks += ticks_since(t0);
            ++runs;
            if (!finite_all(logits, EKD_N_CLASSES)) ++nonfinite;
            if (mode == EKD_PIPELINE_VECTORS && expected != EKD_NO_CLASS) {
                if (ek_model_argmax(logits, EKD_N_CLASSES) != expected) ++mismatches;
                ++compared;
            }
        }
    }
#if defined(__arm__)
    for (paint = sp_now - 16 - STACK_PAINT_BYTES / 4u + 1u; paint < sp_now - 16 && *paint == 0xA5A5A5A5u; ++paint) {}
    stack_used = (uint32_t)((uintptr_t)sp_now - (uintptr_t)paint);
#endif
    printf("vectors %lu\n", (unsigned long)n);
    printf("compared %lu\n", (unsigned long)compared);
    printf("mismatches %lu\n", (unsigned long)mismatches);
    printf("nonfinite_logits %lu\n", (unsigned long)nonfinite);
    printf("model_runs %lu\n", (unsigned long)runs);
    print_rate("instructions_per_model_run", model_ticks, runs);
    print_rate("instructions_per_bridge_push", bridge_ticks, mode == EKD_MODEL_VECTORS ? 0u : n);
    printf("stack_bytes %lu\n", (unsigned long)stack_used);
#ifdef EK_MODEL_PROFILE
    for (k = 0; k < EKD_MAX_OPS; ++k)
        if (op_ticks[k]) print_rate_op(k, op_ticks[k], runs);
#endif
    return (int)(mismatches + nonfinite);
}
