/* Step 1 and 2 of a push: mirror the raw sample for a left-handed wearer and clean it under the
 * HOLD_LAST NaN policy (edgekit/features/spec.py), then the thermopile and ToF aggregates. A value
 * is missing when it is NaN, +-Inf or outside its role's physical range (EK_*_RANGE).
 *
 * Mirroring is applied where each value is read instead of copying the sample: the ToF
 * aggregates do not depend on pixel order, so only the sensor permutation matters for them. */
#include <math.h>
#include <string.h>

#include "ek_internal.h"

#define EK_FLOAT_MAX 3.40282347e38f

/* Not missing: NaN fails both comparisons, +-Inf and out-of-range values one. */
static inline int in_range(float v, float low, float high) { return v >= low && v <= high; }
static inline int tof_valid(float v) { return in_range(v, 0.0f, EK_TOF_RANGE_HIGH); } /* -1: no return */


static void clean_quaternion(ek_bridge_t *b, const float *raw)
{
    const ek_mirror_t *m = &b->config->mirror;
    float q[4], ss, inv, dot;
    int k;
    for (k = 0; k < 4; ++k) {
        q[k] = b->mirrored ? (float)m->rot_sign[k] * raw[k] : raw[k];
        if (!in_range(q[k], -EK_QUAT_RANGE, EK_QUAT_RANGE)) return; /* missing: hold */
    }
    ss = q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]; /* <= 4 * 1.5^2: cannot overflow */
    if (ss < EK_QUAT_MIN_NORM * EK_QUAT_MIN_NORM) return;     /* zero-norm dropout: hold */
    inv = 1.0f / sqrtf(ss);
    dot = 0.0f;
    for (k = 0; k < 4; ++k) {
        q[k] *= inv;
        dot += b->q[k] * q[k];
    }
    if (dot < 0.0f) /* q and -q are one orientation: stay sign-continuous */
        for (k = 0; k < 4; ++k) q[k] = -q[k];
    for (k = 0; k < 4; ++k) b->q[k] = q[k];
}

/* The range applies after scaling (acc in m/s^2); a product that overflows is missing too. */
static void held_vector3(float *held, const float *raw, const int8_t *sign, int mirrored, float scale, float range)
{
    float v[3];
    int k;
    for (k = 0; k < 3; ++k) {
        v[k] = (mirrored ? (float)sign[k] * raw[k] : raw[k]) * scale;
        if (!in_range(v[k], -range, range)) return; /* missing: hold the whole vector */
    }
    for (k = 0; k < 3; ++k) held[k] = v[k];
}

/* mean, population std (two-pass), min, max, valid fraction of n values; all 0 when n == 0 */
static void valid_stats(const float *v, uint32_t n, uint32_t count_of, float *out)
{
    float total = 0.0f, squares = 0.0f, lo, hi, mean;
    uint32_t k;
    if (n == 0u) {
        for (k = 0; k < 5u; ++k) out[k] = 0.0f;
        return;
    }
    lo = hi = v[0];
    for (k = 0; k < n; ++k) {
        total += v[k];
        lo = v[k] < lo ? v[k] : lo;
        hi = v[k] > hi ? v[k] : hi;
    }
    mean = total / (float)n;
    for (k = 0; k < n; ++k) squares += (v[k] - mean) * (v[k] - mean);
    out[EK_STAT_MEAN] = mean;
    out[EK_STAT_STD] = sqrtf(squares / (float)n);
    out[EK_STAT_MIN] = lo;
    out[EK_STAT_MAX] = hi;
    out[EK_STAT_VALID] = (float)n / (float)count_of;
}

static void clean_thermopiles(ek_bridge_t *b, const float *raw, float *sig)
{
    const ek_bridge_config_t *c = b->config;
    float finite_values[EK_MAX_THM];
    ek_word_t *held = ek_held(b);
    uint32_t k, n = 0u;
    for (k = 0; k < c->n_thm; ++k) {
        float v = raw[b->mirrored ? c->mirror.thm_source[k] : k];
        int ok = in_range(v, EK_THM_RANGE_LOW, EK_THM_RANGE_HIGH);
        if (ok) {
            held[k].f = v;
            finite_values[n++] = v;
        }
        sig[EK_SIG_THM_1 + k] = held[k].f;
        sig[EK_SIG_THM_1_MISSING + k] = ok ? 0.0f : 1.0f;
    }
    if (b->needs & EK_NEED_THM_STATS) valid_stats(finite_values, n, c->n_thm, &sig[EK_SIG_THM_MEAN]);
}

/* The float two-pass, for sensors whose valid pixels are not all small integers. */
static void tof_float_stats(const float *px, float *out)
{
    float total = 0.0f, squares = 0.0f, lo = 0.0f, hi = 0.0f, mean;
    uint32_t k, n = 0u;
    for (k = 0; k < EK_TOF_PIXELS; ++k) {
        float v = px[k];
        if (!tof_valid(v)) continue;
        if (n == 0u || v < lo) lo = v;
        if (n == 0u || v > hi) hi = v;
        total += v;
        ++n;
    }
    mean = total / (float)n; /* n >= 1: only called after a valid pixel was seen */
    for (k = 0; k < EK_TOF_PIXELS; ++k)
        if (tof_valid(px[k])) squares += (px[k] - mean) * (px[k] - mean);
    out[EK_STAT_MEAN] = mean;
    out[EK_STAT_STD] = sqrtf(squares / (float)n);
    out[EK_STAT_MIN] = lo;
    out[EK_STAT_MAX] = hi;
    out[EK_STAT_VALID] = (float)n / (float)EK_TOF_PIXELS;
}

/* Integer pixels (the ToF sensors' 0..254) are summed exactly, as the reference's sums form
 * assumes: valid pixels are at most EK_TOF_RANGE_HIGH, so 64 values and their squares sum to
 * below 2^24, float sums are exact in any order, and mean and std follow from integer sums. Per
 * pixel the loop tests validity (0 <= v <= 254: NaN, +-Inf, -1 and huge values fail) and whether
 * the value is integral; a sensor with a fractional valid value takes the float two-pass.
 *
 * The loop comes in two shapes for one computation, because what is fast is opposite on the two
 * kinds of target. On a SIMD host (built with EK_OPENMP_SIMD, -fopenmp-simd and
 * -fno-trapping-math) it is a branch-free SIMD reduction: about half of a real frame's pixels
 * are missing at random, so a branch per pixel would mispredict on every other; the valid mask
 * is applied with an AND on the value's bits, because written as `valid ? v : 0.0f` gcc folds
 * the select into every sum that uses it and blends each accumulator instead (twice the
 * instructions). On a microcontroller's scalar FPU (Cortex-M4F) the masks would cost
 * FPU-to-core register moves on every pixel, while a branch is cheap and skips a missing pixel
 * in five instructions: there the loop branches. */
#define EK_TWO_POW_23 8388608.0f
#if defined(EK_OPENMP_SIMD) && (defined(__SSE2__) || defined(__ARM_NEON))
#define EK_TOF_SIMD 1
#else
#define EK_TOF_SIMD 0
#endif

typedef struct {
    float total, squares, lo, hi; /* over valid pixels; lo starts at EK_FLOAT_MAX, hi at 0 */
    uint32_t count, fractional;   /* valid pixels; nonzero when a valid value is not integral */
} tof_sums_t;

/* One sensor's aggregates from its sums; px for the float two-pass. */
static inline void tof_finish(const tof_sums_t *s, const float *px, float *out)
{
    uint32_t k;
    if (s->count == 0u) {
        for (k = 0; k < 5u; ++k) out[k] = 0.0f;
    } else if (s->fractional) {
        tof_float_stats(px, out);
    } else {
        int64_t ni = (int32_t)s->count, ti = (int32_t)s->total, si = (int32_t)s->squares; /* exact, < 2^24 */
        float n = (float)s->count;
        out[EK_STAT_MEAN] = s->total / n;
        out[EK_STAT_STD] = sqrtf((float)(ni * si - ti * ti) / (n * n));
        out[EK_STAT_MIN] = s->lo;
        out[EK_STAT_MAX] = s->hi;
        out[EK_STAT_VALID] = n / (float)EK_TOF_PIXELS;
    }
}

/* Every sensor in one call (the SIMD loop's constants and registers are set up once; gcc does
 * not inline a function holding it). Mirrored, sensor k reads raw sensor source[k]; source is
 * NULL otherwise. */
#if EK_TOF_SIMD
static inline uint32_t float_bits(float v) { uint32_t u; memcpy(&u, &v, sizeof u); return u; }
static inline float bits_float(uint32_t u) { float v; memcpy(&v, &u, sizeof v); return v; }

static void tof_stats(const float *tof, const uint8_t *source, uint32_t n_sensors, float *out)
{
    uint32_t sensor, k;
    for (sensor = 0; sensor < n_sensors; ++sensor, out += 5) {
        const float *px = tof + EK_TOF_PIXELS * (source ? source[sensor] : sensor);
        float total = 0.0f, squares = 0.0f, lo = EK_FLOAT_MAX, hi = 0.0f;
        uint32_t fractional = 0u, count = 0u;
#pragma omp simd reduction(+ : total, squares, count) reduction(min : lo) reduction(max : hi) reduction(| : fractional)
        for (k = 0; k < EK_TOF_PIXELS; ++k) {
            float v = px[k];
            uint32_t valid_mask = 0u - (uint32_t)((v >= 0.0f) & (v <= EK_TOF_RANGE_HIGH));
            float kept = bits_float(float_bits(v) & valid_mask);                          /* invalid: 0 */
            float candidate_lo = bits_float(float_bits(kept) | (~valid_mask & float_bits(EK_FLOAT_MAX)));
            /* integral test by rounding through 2^23 (exact for valid values, all below 2^23) */
            fractional |= 0u - (uint32_t)((kept + EK_TWO_POW_23) - EK_TWO_POW_23 != kept);
            total += kept;
            squares += kept * kept;
            count -= valid_mask; /* + 1 per valid pixel */
            lo = lo < candidate_lo ? lo : candidate_lo;
            hi = hi > kept ? hi : kept;
        }
        {
            const tof_sums_t s = {total, squares, lo, hi, count, fractional};
            tof_finish(&s, px, out);
        }
    }
}
#else
static void tof_stats(const float *tof, const uint8_t *source, uint32_t n_sensors, float *out)
{
    uint32_t sensor, k;
    for (sensor = 0; sensor < n_sensors; ++sensor, out += 5) {
        const float *px = tof + EK_TOF_PIXELS * (source ? source[sensor] : sensor);
        tof_sums_t s = {0.0f, 0.0f, EK_FLOAT_MAX, 0.0f, 0u, 0u};
        for (k = 0; k < EK_TOF_PIXELS; ++k) {
            float v = px[k];
            if (!tof_valid(v)) continue; /* NaN, -1, +-Inf, above the range: missing */
            s.total += v;
            s.squares += v * v;
            ++s.count;
            if (v < s.lo) s.lo = v;
            if (v > s.hi) s.hi = v;
            s.fractional |= (v + EK_TWO_POW_23) - EK_TWO_POW_23 != v; /* as above */
        }
        tof_finish(&s, px, out);
    }
}
#endif

void ek_sample_clean(ek_bridge_t *b, const float *sample, float *sig)
{
    const ek_bridge_config_t *c = b->config;
    const ek_mirror_t *m = &c->mirror;
    uint32_t k;
    held_vector3(b->acc, sample, m->acc_sign, b->mirrored, c->acc_scale, EK_ACC_RANGE);
    sig[EK_SIG_ACC_X] = b->acc[0];
    sig[EK_SIG_ACC_Y] = b->acc[1];
    sig[EK_SIG_ACC_Z] = b->acc[2];
    if (c->has_rot) {
        clean_quaternion(b, sample + ek_rot_at(c));
        for (k = 0; k < 4; ++k) sig[EK_SIG_ROT_W + k] = b->q[k];
    }
    if (c->has_gyro) {
        held_vector3(b->gyro, sample + ek_gyro_at(c), m->gyro_sign, b->mirrored, 1.0f, EK_GYRO_RANGE);
        for (k = 0; k < 3; ++k) sig[EK_SIG_GYRO_X + k] = b->gyro[k];
    }
    if (c->n_thm) clean_thermopiles(b, sample + ek_thm_at(c), sig);
    if (b->needs & EK_NEED_TOF_STATS)
        tof_stats(sample + ek_tof_at(c), b->mirrored ? m->tof_source : NULL, c->n_tof_sensors, &sig[EK_SIG_TOF_1_MEAN]);
    for (k = 0; k < c->n_extra; ++k) {
        ek_word_t *held = ek_held(b) + c->n_thm + k;
        float v = sample[ek_extra_at(c) + k];
        if (in_range(v, -EK_EXTRA_RANGE, EK_EXTRA_RANGE)) held->f = v;
        sig[EK_SIG_EXTRA_1 + k] = held->f;
    }
}

/* Raw pixel pass-through: the mirrored image (sensor swapped, columns flipped), missing as -1. */
float ek_tof_pixel_out(const ek_bridge_t *b, const float *sample, uint32_t index)
{
    const ek_bridge_config_t *c = b->config;
    uint32_t sensor = index / EK_TOF_PIXELS, pixel = index % EK_TOF_PIXELS;
    float v;
    if (b->mirrored) {
        sensor = c->mirror.tof_source[sensor];
        if (c->mirror.tof_flip_columns)
            pixel = (pixel / EK_TOF_GRID) * EK_TOF_GRID + (EK_TOF_GRID - 1u - pixel % EK_TOF_GRID);
    }
    v = sample[ek_tof_at(c) + EK_TOF_PIXELS * sensor + pixel];
    return tof_valid(v) ? v : -1.0f;
}
