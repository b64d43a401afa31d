/* Step 5 of a push: the feature vector, in FeatureSpec.names() order, from the per-sample
 * signals and the trackers' state.
 *
 * One pass over the config's output table. Section bases are loaded once into locals: every
 * store to the feature vector is a float store, which may alias the workspace union, so bases
 * re-derived from the state inside the loop would be reloaded for every feature. Two thirds of
 * a typical spec's outputs are plain signals, listed first: they get a copy loop of their own. */
#include <math.h>

#include "ek_internal.h"

/* The ring a tracker reads, by the ring's index: its count is the window's current length. */
static inline float ring_length(const ek_word_t *ws, uint32_t ring) { return (float)ek_ring_count(ws + ws[ring].u); }

static inline float moments_std(const ek_word_t *m, float n)
{
    return sqrtf((m[EK_M_M2].f > 0.0f ? m[EK_M_M2].f : 0.0f) / n); /* rounding can leave m2 a hair below 0 */
}

static float corr_value(const ek_word_t *c, float n)
{
    float var_x = c[EK_C_M2_X].f / n, var_y = c[EK_C_M2_Y].f / n, r;
    if (!(var_x >= EK_VARIANCE_FLOOR && var_y >= EK_VARIANCE_FLOOR)) return 0.0f; /* a flat channel */
    r = (c[EK_C_XY].f / n) / (sqrtf(var_x) * sqrtf(var_y)); /* two roots: var_x * var_y could overflow */
    return r > 1.0f ? 1.0f : (r < -1.0f ? -1.0f : r);
}

static float bandpower_value(const ek_bridge_t *b, uint32_t k, uint32_t bin)
{
    const ek_bridge_config_t *c = b->config;
    const ek_word_t *d = ek_dft_block(b, k);
    uint32_t window = c->rings[c->dft[k].ring].capacity;
    float n = ring_length(b->workspace, c->dft[k].ring);
    float re = d[2u * window + 3u * bin].f, im = d[2u * window + 3u * bin + 1u].f;
    return (re * re + im * im) / (n * n);
}

void ek_outputs_write(const ek_bridge_t *b, const float *sample, const float *sig, float *out)
{
    const ek_bridge_config_t *c = b->config;
    const ek_word_t *ws = b->workspace;
    const ek_word_t *prev = ws + b->sections[EK_SECTION_PREV], *moments = ws + b->sections[EK_SECTION_MOMENTS];
    const ek_word_t *energy = ws + b->sections[EK_SECTION_ENERGY], *corr = ws + b->sections[EK_SECTION_CORR];
    const ek_output_t *outputs = c->outputs;
    const uint32_t n_features = c->n_features, leading_signals = b->leading_signals;
    const uint32_t extrema_table = ek_extrema_entry(c), zcr_table = ek_zcr_entry(c);
    const int started = b->started;
    uint32_t j;
    /* generated configs list the plain signals first: a copy loop whose length init counted */
    for (j = 0; j < leading_signals; ++j) out[j] = sig[outputs[j].index];
    for (; j < n_features; ++j) {
        const ek_output_t op = outputs[j];
        const uint32_t k = op.index;
        float v;
        switch (op.kind) {
        case EK_OUT_SIGNAL: v = sig[k]; break;
        case EK_OUT_JERK: v = started ? (sig[c->prev_signals[k]] - prev[k].f) / c->sample_period_s : 0.0f; break;
        case EK_OUT_MEAN: v = moments[EK_MOMENTS_WORDS * k + EK_M_SHIFT].f + moments[EK_MOMENTS_WORDS * k + EK_M_MEAN].f; break;
        case EK_OUT_STD: v = moments_std(moments + EK_MOMENTS_WORDS * k, ring_length(ws, c->moments[k].ring)); break;
        case EK_OUT_STATIONARY:
            v = moments_std(moments + EK_MOMENTS_WORDS * k, ring_length(ws, c->moments[k].ring)) < c->stationary_threshold
                    ? 1.0f : 0.0f;
            break;
        case EK_OUT_MAX: case EK_OUT_MIN: { /* the deque's front slot */
            ek_word_t *e = ek_block(b, extrema_table + k);
            v = ek_ring_value(ws + ws[c->extrema[k].ring].u, *ek_deque_slot(e, e[0].h[0]));
            break;
        }
        case EK_OUT_ENERGY: v = energy[EK_ENERGY_WORDS * k + EK_E_SUM].f / ring_length(ws, c->energy[k].ring); break;
        case EK_OUT_ZCR: {
            const ek_word_t *z = ws + ws[zcr_table + k].u;
            v = (float)z[1].u / (float)z[0].h[1];
            break;
        }
        case EK_OUT_CORR: v = corr_value(corr + EK_CORR_WORDS * k, ring_length(ws, c->corr[k].ring_a)); break;
        case EK_OUT_TOF_PIXEL: v = ek_tof_pixel_out(b, sample, k); break;
        default: v = bandpower_value(b, k, op.bin); break; /* EK_OUT_BANDPOWER: init admits no other kind */
        }
        out[j] = v;
    }
}
