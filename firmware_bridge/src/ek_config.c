/* Config validation and workspace layout.
 *
 * init refuses anything the bridge could not compute exactly as the FeatureSpec says, so that
 * the hot path never has to check an index, a window or a signal again. */
#include <math.h>

#include "ek_internal.h"

static int positive_finite(float x) { return x > 0.0f && x <= 3.4e38f; } /* NaN fails both */

int ek_signal_available(const ek_bridge_config_t *c, uint32_t s)
{
    if (s <= EK_SIG_ACC_MAG) return 1;
    if (s <= EK_SIG_GYRO_MAG) return c->has_gyro;
    if (s <= EK_SIG_YAW_RATE) return c->has_rot;
    if (s <= EK_SIG_TILT_RATE) return c->tilt_source != EK_TILT_NONE;
    if (s <= EK_SIG_THM_VALID) return c->n_thm > 0;
    if (s < EK_SIG_THM_1_MISSING) return s - EK_SIG_THM_1 < c->n_thm;
    if (s < EK_SIG_TOF_1_MEAN) return s - EK_SIG_THM_1_MISSING < c->n_thm;
    if (s < EK_SIG_EXTRA_1) return (s - EK_SIG_TOF_1_MEAN) / 5u < c->n_tof_sensors;
    if (s < EK_SIG_COUNT) return s - EK_SIG_EXTRA_1 < c->n_extra;
    return 0;
}

uint32_t ek_signal_needs(uint32_t s)
{
    switch (s) {
    case EK_SIG_ACC_MAG: return EK_NEED_ACC_MAG;
    case EK_SIG_GYRO_MAG: return EK_NEED_GYRO_MAG;
    case EK_SIG_ROT_ANGLE: return EK_NEED_ROT_ANGLE;
    case EK_SIG_LINACC_X: case EK_SIG_LINACC_Y: case EK_SIG_LINACC_Z: case EK_SIG_LINACC_MAG:
        return EK_NEED_LINACC;
    case EK_SIG_ANGVEL_X: case EK_SIG_ANGVEL_Y: case EK_SIG_ANGVEL_Z: case EK_SIG_ANGDIST:
        return EK_NEED_ANGVEL;
    case EK_SIG_ROLL: case EK_SIG_PITCH: case EK_SIG_YAW:
    case EK_SIG_ROLL_RATE: case EK_SIG_PITCH_RATE: case EK_SIG_YAW_RATE:
        return EK_NEED_EULER;
    case EK_SIG_TILT: case EK_SIG_TILT_RATE: return EK_NEED_TILT;
    default: break;
    }
    if (s >= EK_SIG_THM_MEAN && s <= EK_SIG_THM_VALID) return EK_NEED_THM_STATS;
    if (s >= EK_SIG_TOF_1_MEAN && s < EK_SIG_EXTRA_1) return EK_NEED_TOF_STATS;
    return 0u;
}

static int is_permutation(const uint8_t *source, uint32_t n)
{
    uint32_t seen = 0u, k;
    for (k = 0; k < n; ++k) {
        if (source[k] >= n || (seen & (1u << source[k]))) return 0;
        seen |= 1u << source[k];
    }
    return 1;
}

static int is_sign(int8_t s) { return s == 1 || s == -1; }

static ek_status_t check_inputs(const ek_bridge_config_t *c)
{
    uint32_t k, n_inputs;
    if (c->abi_version != EK_ABI_VERSION) return EK_ERR_ABI;
    for (k = 0; k < EK_SPEC_HASH_CHARS; ++k) {
        char ch = c->spec_hash[k];
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'))) return EK_ERR_HASH;
    }
    if (c->spec_hash[EK_SPEC_HASH_CHARS] != '\0') return EK_ERR_HASH;
    if (c->has_rot > 1u || c->has_gyro > 1u || c->n_thm > EK_MAX_THM || c->n_tof_sensors > EK_MAX_TOF_SENSORS ||
        c->n_extra > EK_MAX_EXTRA)
        return EK_ERR_INPUTS;
    n_inputs = ek_extra_at(c) + c->n_extra;
    if (c->n_inputs != n_inputs) return EK_ERR_INPUTS;
    if (!positive_finite(c->sample_period_s) || !positive_finite(c->gravity) || !positive_finite(c->acc_scale))
        return EK_ERR_PARAMETER;
    if (c->nan_policy != EK_NAN_HOLD_LAST) return EK_ERR_POLICY;
    if (c->tilt_source > EK_TILT_ACCELEROMETER) return EK_ERR_POLICY;
    if (c->tilt_source == EK_TILT_ORIENTATION && !c->has_rot) return EK_ERR_SIGNAL;
    if (c->mirror.enabled > 1u || c->mirror.tof_flip_columns > 1u) return EK_ERR_MIRROR;
    if (c->mirror.enabled) {
        for (k = 0; k < 3; ++k)
            if (!is_sign(c->mirror.acc_sign[k]) || !is_sign(c->mirror.gyro_sign[k])) return EK_ERR_MIRROR;
        for (k = 0; k < 4; ++k)
            if (!is_sign(c->mirror.rot_sign[k])) return EK_ERR_MIRROR;
        if (!is_permutation(c->mirror.thm_source, c->n_thm) ||
            !is_permutation(c->mirror.tof_source, c->n_tof_sensors))
            return EK_ERR_MIRROR;
    }
    return EK_OK;
}

static ek_status_t check_window(uint32_t w) { return (w >= 1u && w <= EK_MAX_WINDOW) ? EK_OK : EK_ERR_WINDOW; }

static ek_status_t check_trackers(const ek_bridge_config_t *c)
{
    uint32_t k, j;
    if ((c->n_rings && !c->rings) || (c->n_prev && !c->prev_signals) || (c->n_moments && !c->moments) ||
        (c->n_extrema && !c->extrema) || (c->n_energy && !c->energy) || (c->n_zcr && !c->zcr) ||
        (c->n_corr && !c->corr) || (c->n_dft && !c->dft) || (c->n_medians && !c->medians) ||
        (c->n_spectra && !c->spectra) || (c->n_bands && !c->bands))
        return EK_ERR_NULL;
    for (k = 0; k < c->n_rings; ++k) {
        if (!ek_signal_available(c, c->rings[k].signal)) return EK_ERR_SIGNAL;
        if (check_window(c->rings[k].capacity) != EK_OK) return EK_ERR_WINDOW;
    }
    for (k = 0; k < c->n_prev; ++k)
        if (!ek_signal_available(c, c->prev_signals[k])) return EK_ERR_SIGNAL;
    for (k = 0; k < c->n_moments; ++k)
        if (c->moments[k].ring >= c->n_rings) return EK_ERR_TRACKER;
    for (k = 0; k < c->n_extrema; ++k)
        if (c->extrema[k].ring >= c->n_rings || c->extrema[k].is_max > 1u) return EK_ERR_TRACKER;
    for (k = 0; k < c->n_energy; ++k)
        if (c->energy[k].ring >= c->n_rings) return EK_ERR_TRACKER;
    for (k = 0; k < c->n_zcr; ++k) {
        if (c->zcr[k].prev >= c->n_prev) return EK_ERR_TRACKER;
        if (check_window(c->zcr[k].window) != EK_OK) return EK_ERR_WINDOW;
    }
    for (k = 0; k < c->n_corr; ++k) {
        if (c->corr[k].ring_a >= c->n_rings || c->corr[k].ring_b >= c->n_rings) return EK_ERR_TRACKER;
        if (c->rings[c->corr[k].ring_a].capacity != c->rings[c->corr[k].ring_b].capacity) return EK_ERR_WINDOW;
    }
    for (k = 0; k < c->n_dft; ++k) {
        const ek_dft_config_t *d = &c->dft[k];
        if (d->ring >= c->n_rings) return EK_ERR_TRACKER;
        if (d->n_bins < 1u || d->n_bins > EK_MAX_BINS) return EK_ERR_BINS;
        for (j = 0; j < d->n_bins; ++j)
            if (d->bins[j] < 1u || d->bins[j] > c->rings[d->ring].capacity / 2u) return EK_ERR_BINS;
    }
    for (k = 0; k < c->n_medians; ++k)
        if (c->medians[k].ring >= c->n_rings) return EK_ERR_TRACKER;
    for (k = 0; k < c->n_spectra; ++k) {
        if (c->spectra[k].ring >= c->n_rings) return EK_ERR_TRACKER;
        if (c->rings[c->spectra[k].ring].capacity < 3u) return EK_ERR_WINDOW; /* no bin below Nyquist */
    }
    for (k = 0; k < c->n_bands; ++k) {
        const ek_band_config_t *band = &c->bands[k];
        if (band->spectrum >= c->n_spectra) return EK_ERR_TRACKER;
        if (band->first_bin < 1u || band->first_bin > band->last_bin ||
            band->last_bin > ek_spectrum_bins(c->rings[c->spectra[band->spectrum].ring].capacity))
            return EK_ERR_BINS;
    }
    return EK_OK;
}

/* Jerk magnitude reads three consecutive prev slots: acc_x, acc_y, acc_z. */
static ek_status_t check_jerk_magnitude(const ek_bridge_config_t *c, uint32_t slot)
{
    uint32_t k;
    if (slot + 3u > c->n_prev) return EK_ERR_TRACKER;
    for (k = 0; k < 3u; ++k)
        if ((uint32_t)c->prev_signals[slot + k] != (uint32_t)EK_SIG_ACC_X + k) return EK_ERR_SIGNAL;
    return EK_OK;
}

static ek_status_t check_output(const ek_bridge_config_t *c, const ek_output_t *o)
{
    switch (o->kind) {
    case EK_OUT_SIGNAL: return ek_signal_available(c, o->index) ? EK_OK : EK_ERR_SIGNAL;
    case EK_OUT_TOF_PIXEL: case EK_OUT_TOF_PIXEL_SCALED:
        return o->index < EK_TOF_PIXELS * c->n_tof_sensors ? EK_OK : EK_ERR_SIGNAL;
    case EK_OUT_JERK: return o->index < c->n_prev ? EK_OK : EK_ERR_TRACKER;
    case EK_OUT_MEAN: case EK_OUT_STD: return o->index < c->n_moments ? EK_OK : EK_ERR_TRACKER;
    case EK_OUT_STATIONARY:
        if (!positive_finite(c->stationary_threshold)) return EK_ERR_PARAMETER;
        return o->index < c->n_moments ? EK_OK : EK_ERR_TRACKER;
    case EK_OUT_MAX: case EK_OUT_MIN:
        if (o->index >= c->n_extrema) return EK_ERR_TRACKER;
        return c->extrema[o->index].is_max == (o->kind == EK_OUT_MAX) ? EK_OK : EK_ERR_TRACKER;
    case EK_OUT_ENERGY: return o->index < c->n_energy ? EK_OK : EK_ERR_TRACKER;
    case EK_OUT_ZCR: return o->index < c->n_zcr ? EK_OK : EK_ERR_TRACKER;
    case EK_OUT_CORR: return o->index < c->n_corr ? EK_OK : EK_ERR_TRACKER;
    case EK_OUT_BANDPOWER:
        if (o->index >= c->n_dft) return EK_ERR_TRACKER;
        return o->bin < c->dft[o->index].n_bins ? EK_OK : EK_ERR_BINS;
    case EK_OUT_MEDIAN: return o->index < c->n_medians ? EK_OK : EK_ERR_TRACKER;
    case EK_OUT_JERK_MAG: return check_jerk_magnitude(c, o->index);
    case EK_OUT_SPECTRAL_ENTROPY: case EK_OUT_DOMINANT_FREQ: return o->index < c->n_spectra ? EK_OK : EK_ERR_TRACKER;
    case EK_OUT_BAND_SUM: return o->index < c->n_bands ? EK_OK : EK_ERR_TRACKER;
    default: return EK_ERR_OUTPUT;
    }
}

ek_status_t ek_bridge_config_check(const ek_bridge_config_t *c)
{
    ek_status_t status;
    uint32_t k;
    if (!c) return EK_ERR_NULL;
    if ((status = check_inputs(c)) != EK_OK) return status;
    if ((status = check_trackers(c)) != EK_OK) return status;
    if (!c->outputs) return EK_ERR_NULL;
    if (c->n_features < 1u || c->n_features > EK_MAX_FEATURES) return EK_ERR_OUTPUT;
    for (k = 0; k < c->n_features; ++k)
        if ((status = check_output(c, &c->outputs[k])) != EK_OK) return status;
    return EK_OK;
}

/* Section offsets for a checked config; returns the total words and, when `table` is given,
 * fills the block offset table. The order is the one the EK_*_WORDS macros document, so a
 * generated header's sum equals this. */
uint32_t ek_layout(const ek_bridge_config_t *c, uint32_t sections[EK_SECTION_COUNT], ek_word_t *table)
{
    uint32_t k, entry = 0u, at;
    at = ek_table_entries(c);
    sections[EK_SECTION_TABLE] = 0u;
    sections[EK_SECTION_HELD] = at;
    at += EK_HELD_WORDS(c->n_thm, c->n_extra);
    sections[EK_SECTION_RINGS] = at;
    for (k = 0; k < c->n_rings; ++k, ++entry) {
        if (table) table[entry].u = at;
        at += EK_RING_WORDS(c->rings[k].capacity) - 1u;
    }
    sections[EK_SECTION_PREV] = at;
    at += EK_PREV_WORDS * c->n_prev;
    sections[EK_SECTION_MOMENTS] = at;
    at += EK_MOMENTS_WORDS * c->n_moments;
    sections[EK_SECTION_EXTREMA] = at;
    for (k = 0; k < c->n_extrema; ++k, ++entry) {
        if (table) table[entry].u = at;
        at += EK_EXTREMUM_WORDS(c->rings[c->extrema[k].ring].capacity) - 1u;
    }
    sections[EK_SECTION_ENERGY] = at;
    at += EK_ENERGY_WORDS * c->n_energy;
    sections[EK_SECTION_ZCR] = at;
    for (k = 0; k < c->n_zcr; ++k, ++entry) {
        if (table) table[entry].u = at;
        at += EK_ZCR_WORDS(c->zcr[k].window) - 1u;
    }
    sections[EK_SECTION_CORR] = at;
    at += EK_CORR_WORDS * c->n_corr;
    for (k = 0, entry = ek_median_entry(c); k < c->n_medians; ++k, ++entry) { /* zeroed by reset, like the above */
        if (table) table[entry].u = at;
        at += EK_MEDIAN_WORDS(c->rings[c->medians[k].ring].capacity) - 1u;
    }
    sections[EK_SECTION_DFT] = at; /* from here on, blocks keep their cos/sin tables across a reset */
    for (k = 0, entry = ek_dft_entry(c); k < c->n_dft; ++k, ++entry) {
        if (table) table[entry].u = at;
        at += EK_DFT_WORDS(c->rings[c->dft[k].ring].capacity, c->dft[k].n_bins) - 1u;
    }
    for (k = 0, entry = ek_spectrum_entry(c); k < c->n_spectra; ++k, ++entry) {
        if (table) table[entry].u = at;
        at += EK_SPECTRUM_WORDS(c->rings[c->spectra[k].ring].capacity) - 1u;
    }
    return at;
}

uint32_t ek_bridge_workspace_words(const ek_bridge_config_t *config)
{
    uint32_t sections[EK_SECTION_COUNT], words;
    if (ek_bridge_config_check(config) != EK_OK) return 0u;
    words = ek_layout(config, sections, NULL);
    return words > 0u ? words : 1u; /* a spec with no state still gets one word: 0 means refused */
}
