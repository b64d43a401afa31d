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

static float median_value(const ek_bridge_t *b, uint32_t k)
{
    const ek_bridge_config_t *c = b->config;
    ek_word_t *m = ek_block(b, ek_median_entry(c) + k);
    const ek_word_t *ring = ek_ring_block(b, c->medians[k].ring);
    uint32_t n = ek_ring_count(ring);
    float middle = ek_ring_value(ring, *ek_median_slot(m, n / 2u));
    return (n & 1u) ? middle : (ek_ring_value(ring, *ek_median_slot(m, n / 2u - 1u)) + middle) * 0.5f;
}

static float jerk_magnitude(const ek_bridge_t *b, const float *sig, const ek_word_t *prev_acc)
{
    float dx = sig[EK_SIG_ACC_X] - prev_acc[0].f, dy = sig[EK_SIG_ACC_Y] - prev_acc[1].f;
    float dz = sig[EK_SIG_ACC_Z] - prev_acc[2].f;
    return sqrtf(dx * dx + dy * dy + dz * dz) / b->config->sample_period_s;
}

/* ---- spectrum outputs (edgekit/features/reference.py spectrum_values) ------------------------
 * From |X_k|^2 without the 1/n^2 every bin shares: entropy and the dominant bin do not depend on
 * it, only the flatness test and the band sums apply it. */
typedef struct {
    const ek_word_t *bins; /* re, im per bin */
    uint32_t n_bins, window;
    float n;               /* samples in the window */
} spectrum_view_t;

static spectrum_view_t spectrum_view(const ek_bridge_t *b, uint32_t k)
{
    const ek_bridge_config_t *c = b->config;
    spectrum_view_t v;
    v.window = c->rings[c->spectra[k].ring].capacity;
    v.bins = ek_spectrum_block(b, k) + 2u * v.window;
    v.n_bins = ek_spectrum_bins(v.window);
    v.n = ring_length(b->workspace, c->spectra[k].ring);
    return v;
}

static inline float bin_power(const spectrum_view_t *v, uint32_t j)
{
    const float re = v->bins[2u * j].f, im = v->bins[2u * j + 1u].f;
    return re * re + im * im;
}

/* ln x for a normal x > 0 without libm's logf, which with its wrapper costs ~620 bytes of M4
 * flash: x = 2^e m with m in [sqrt(1/2), sqrt(2)), ln m = 2 atanh(s), s = (m - 1) / (m + 1),
 * |s| <= 0.172, whose odd series to s^9 leaves 2e-9: float32 rounding dominates (a few ulp). */
static float log_f32(float x)
{
    ek_word_t v;
    int32_t e;
    float s, s2;
    v.f = x;
    e = (int32_t)((v.u >> 23) & 0xFFu) - 127;
    v.u = (v.u & 0x007FFFFFu) | 0x3F800000u; /* the mantissa, in [1, 2) */
    if (v.f > 1.41421356f) {
        v.f *= 0.5f;
        ++e;
    }
    s = (v.f - 1.0f) / (v.f + 1.0f);
    s2 = s * s;
    return (float)e * 0.693147180559945f +
           2.0f * s * (1.0f + s2 * (1.0f / 3.0f + s2 * (1.0f / 5.0f + s2 * (1.0f / 7.0f + s2 * (1.0f / 9.0f)))));
}

static int is_flat(const spectrum_view_t *v, float total)
{
    return !(total / (v->n * v->n) >= EK_SPECTRUM_FLOOR); /* NaN counts as flat */
}

static float spectral_entropy(const ek_bridge_t *b, uint32_t k)
{
    const spectrum_view_t v = spectrum_view(b, k);
    float total = 0.0f, inv_total, entropy = 0.0f;
    uint32_t j;
    for (j = 0; j < v.n_bins; ++j) total += bin_power(&v, j);
    if (v.n_bins < 2u || is_flat(&v, total)) return 0.0f;
    inv_total = 1.0f / total;
    for (j = 0; j < v.n_bins; ++j) {
        float p = bin_power(&v, j) * inv_total;
        if (p >= 1.17549435e-38f) entropy -= p * log_f32(p); /* below FLT_MIN, p ln p < 1e-36: nothing */
    }
    return entropy / log_f32((float)v.n_bins);
}

static float dominant_frequency(const ek_bridge_t *b, uint32_t k)
{
    const spectrum_view_t v = spectrum_view(b, k);
    float total = 0.0f, largest = 0.0f, tie;
    uint32_t j;
    for (j = 0; j < v.n_bins; ++j) {
        float p = bin_power(&v, j);
        total += p;
        largest = p > largest ? p : largest;
    }
    if (is_flat(&v, total)) return 0.0f;
    tie = largest * (1.0f - EK_DOMINANT_TIE);
    for (j = 0; j + 1u < v.n_bins && bin_power(&v, j) < tie; ++j) {} /* the lowest bin tying with the largest */
    return (float)(j + 1u) / ((float)v.window * b->config->sample_period_s);
}

static float band_sum(const ek_bridge_t *b, uint32_t k)
{
    const ek_band_config_t band = b->config->bands[k];
    const spectrum_view_t v = spectrum_view(b, band.spectrum);
    float total = 0.0f;
    uint32_t j;
    for (j = band.first_bin - 1u; j < band.last_bin; ++j) total += bin_power(&v, j);
    return total / (v.n * v.n);
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
        case EK_OUT_TOF_PIXEL_SCALED: /* the public CMI notebook's ToF scaling (spec.scale_tof_pixel) */
            v = ek_tof_pixel_out(b, sample, k);
            v = v == -1.0f ? EK_TOF_SCALED_NO_RETURN : v == 0.0f ? EK_TOF_SCALED_ZERO : v;
            break;
        case EK_OUT_MEDIAN: v = median_value(b, k); break;
        case EK_OUT_JERK_MAG: v = started ? jerk_magnitude(b, sig, prev + k) : 0.0f; break;
        case EK_OUT_SPECTRAL_ENTROPY: v = spectral_entropy(b, k); break;
        case EK_OUT_DOMINANT_FREQ: v = dominant_frequency(b, k); break;
        case EK_OUT_BAND_SUM: v = band_sum(b, k); break;
        default: v = bandpower_value(b, k, op.bin); break; /* EK_OUT_BANDPOWER: init admits no other kind */
        }
        out[j] = v;
    }
}
