/* libFuzzer harness: random configs (the generated ones and mutations of them) and random
 * streams full of NaN, +-Inf, huge, denormal and -1 values.
 *
 *   cmake --preset fuzz -S firmware_bridge -B build/bridge-fuzz && cmake --build build/bridge-fuzz
 *   build/bridge-fuzz/fuzz_bridge -max_total_time=60
 *
 * Findings: any sanitizer report, a crash, or a broken contract (abort):
 * - init must refuse or accept without touching memory beyond the workspace it was given;
 * - for an unmutated config, every output is finite whatever the inputs (NaN, Inf, huge, denormal):
 *   values outside a sensor's physical range count as missing (EK_*_RANGE in edgekit_bridge.h);
 * - after any inputs, a clean tail longer than every window brings every output back to finite. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgekit_bridge.h"
#include "ek_spec_cmi.h"
#include "ek_spec_kitchen.h"
#include "ek_spec_uci.h"

#define CANARY 0xA5A5A5A5u
#define WS_WORDS 8192u
#define MAX_IN 400u
#define MAX_OUT 300u

static unsigned long long samples_pushed, streams_run, configs_refused;

static void report(void)
{
    fprintf(stderr, "fuzz_bridge: %llu samples pushed in %llu streams; %llu mutated configs refused\n",
            samples_pushed, streams_run, configs_refused);
}

typedef struct { const uint8_t *p; size_t n; } reader_t;

static uint8_t take_u8(reader_t *r)
{
    uint8_t v = 0;
    if (r->n) { v = *r->p++; --r->n; }
    return v;
}

static float take_value(reader_t *r)
{
    static const float special[] = {0.0f, -0.0f, -1.0f, 1.0f, 9.81f, 254.0f, 1e-40f, -1e-45f, 1e12f, -1e12f,
                                    3.4e38f, -3.4e38f, 1e20f, 0.5f, 128.0f, 1e-7f};
    uint8_t tag = take_u8(r);
    float v;
    uint32_t bits = 0;
    if (tag < 64u) return special[tag % 16u] == special[tag % 16u] ? special[tag % 16u] : 0.0f;
    if (tag < 80u) return NAN;
    if (tag < 88u) return (tag & 1u) ? INFINITY : -INFINITY;
    if (tag < 200u) return (float)((int)take_u8(r) - 128) * 0.05f + (float)(tag - 88u) * 0.01f;
    bits = (uint32_t)take_u8(r) | (uint32_t)take_u8(r) << 8 | (uint32_t)take_u8(r) << 16 | (uint32_t)take_u8(r) << 24;
    memcpy(&v, &bits, 4);
    return v;
}

/* A mutable copy of a generated config, its arrays included, so mutations stay in our memory. */
typedef struct {
    ek_bridge_config_t c;
    ek_ring_config_t rings[64];
    uint16_t prev[64];
    ek_moments_config_t moments[64];
    ek_extremum_config_t extrema[64];
    ek_energy_config_t energy[64];
    ek_zcr_config_t zcr[64];
    ek_corr_config_t corr[64];
    ek_dft_config_t dft[16];
    ek_output_t outputs[MAX_OUT];
} config_copy_t;

#define COPY(field, n) memcpy(cc->field, src->field ? (const void *)src->field : (const void *)cc->field, \
                              sizeof(cc->field[0]) * (n)); cc->c.field = src->field ? cc->field : NULL
static void copy_config(config_copy_t *cc, const ek_bridge_config_t *src)
{
    cc->c = *src;
    COPY(rings, src->n_rings);
    cc->c.prev_signals = src->prev_signals ? cc->prev : NULL;
    if (src->prev_signals) memcpy(cc->prev, src->prev_signals, 2u * src->n_prev);
    COPY(moments, src->n_moments);
    COPY(extrema, src->n_extrema);
    COPY(energy, src->n_energy);
    COPY(zcr, src->n_zcr);
    COPY(corr, src->n_corr);
    COPY(dft, src->n_dft);
    COPY(outputs, src->n_features);
}

/* Mutations keep every count within the arrays behind it: the library is told an array's
 * length by its count and cannot check that promise, so breaking it is not a config error. */
static void mutate(config_copy_t *cc, reader_t *r)
{
    uint8_t what = take_u8(r), a = take_u8(r), b = take_u8(r);
    uint16_t v = (uint16_t)(a | b << 8);
    ek_bridge_config_t *c = &cc->c;
    switch (what % 16u) {
    case 0: if (c->n_rings) cc->rings[a % c->n_rings].capacity = v; break;
    case 1: if (c->n_rings) cc->rings[a % c->n_rings].signal = b; break;
    case 2: if (c->n_features) cc->outputs[v % (c->n_features < MAX_OUT ? c->n_features : MAX_OUT)].kind = b; break;
    case 3: if (c->n_features) cc->outputs[a % (c->n_features < MAX_OUT ? c->n_features : MAX_OUT)].index = (uint16_t)(b * 3u); break;
    case 4: if (c->n_dft) cc->dft[0].bins[a % 8u] = b; break;
    case 5: if (c->n_corr) cc->corr[a % c->n_corr].ring_b = b; break;
    case 6: if (c->n_zcr) cc->zcr[a % c->n_zcr].window = v; break;
    case 7: c->sample_period_s = (a & 1u) ? -c->sample_period_s : (b ? 1e-30f * (float)b : NAN); break;
    case 8: c->n_thm = a; break;
    case 9: c->n_tof_sensors = a % 7u; break;
    case 10: c->mirror.thm_source[a % 8u] = b; c->mirror.enabled = 1; break;
    case 11: c->spec_hash[a % 17u] = (char)b; break;
    case 12: c->tilt_source = a % 4u; break;
    case 13: if (c->n_extrema) cc->extrema[a % c->n_extrema].is_max = b; break;
    case 14: c->n_features = (uint16_t)(v % (MAX_OUT + 1u)); break;
    default: c->abi_version = a; break;
    }
}

static int all_finite(const float *x, uint32_t n)
{
    uint32_t k;
    for (k = 0; k < n; ++k)
        if (!isfinite(x[k])) return 0;
    return 1;
}

static uint32_t longest_window(const ek_bridge_config_t *c)
{
    uint32_t k, w = 1u;
    for (k = 0; k < c->n_rings; ++k) w = c->rings[k].capacity > w ? c->rings[k].capacity : w;
    for (k = 0; k < c->n_zcr; ++k) w = c->zcr[k].window > w ? c->zcr[k].window : w;
    return w;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const ek_bridge_config_t *const configs[] = {&ek_spec_cmi, &ek_spec_uci, &ek_spec_kitchen};
    static int registered;
    static ek_word_t workspace[WS_WORDS + 4u];
    static config_copy_t cc;
    static float in[MAX_IN], out[MAX_OUT + 4u];
    reader_t r = {data, size};
    ek_bridge_t bridge;
    uint8_t head = take_u8(&r);
    int mutated = (head & 0x80u) != 0;
    uint32_t k, t, n_in, n_out, words, n_samples;
    ek_status_t status;

    if (!registered) { atexit(report); registered = 1; }
    copy_config(&cc, configs[head % 3u]);
    if (mutated) {
        uint8_t n_mutations = (uint8_t)(1u + take_u8(&r) % 3u);
        for (k = 0; k < n_mutations; ++k) mutate(&cc, &r);
    }
    words = ek_bridge_workspace_words(&cc.c);
    status = ek_bridge_init(&bridge, &cc.c, (head >> 2) & 1u, workspace, WS_WORDS * sizeof(ek_word_t));
    if ((words == 0u) != (status != EK_OK) && status != EK_ERR_WORKSPACE) abort(); /* the two checks agree */
    if (status != EK_OK) { ++configs_refused; return 0; }
    for (k = 0; k < 4u; ++k) workspace[words + k].u = CANARY;
    n_in = cc.c.n_inputs;
    n_out = cc.c.n_features;
    if (n_in > MAX_IN || n_out > MAX_OUT) return 0;
    ++streams_run;
    n_samples = (uint32_t)(r.n / (n_in / 8u + 1u)) + 1u;
    for (t = 0; t < n_samples && r.n; ++t) {
        if (take_u8(&r) == 0xFFu) ek_bridge_reset(&bridge);
        for (k = 0; k < n_in; ++k) {
            /* most columns repeat the previous value so runs of specials reach the windows */
            if ((k & 7u) == 0u || take_u8(&r) < 64u) in[k] = take_value(&r);
        }
        for (k = 0; k < 4u; ++k) memcpy(&out[n_out + k], &(uint32_t){CANARY}, 4);
        ek_bridge_push(&bridge, in, out);
        ++samples_pushed;
        for (k = 0; k < 4u; ++k) {
            uint32_t v;
            memcpy(&v, &out[n_out + k], 4);
            if (v != CANARY || workspace[words + k].u != CANARY) abort();
        }
        if (!mutated && !all_finite(out, n_out)) abort();
    }
    if (!mutated) { /* a clean tail longer than every window: the state forgets everything */
        uint32_t tail = 2u * longest_window(&cc.c) + 2u;
        for (k = 0; k < n_in; ++k) in[k] = (k % 3u == 0u) ? 1.0f : 0.5f;
        for (t = 0; t < tail; ++t) {
            ek_bridge_push(&bridge, in, out);
            ++samples_pushed;
        }
        if (!all_finite(out, n_out)) abort();
    }
    return 0;
}
