/* Step 4 of a push: ring buffers and the sliding trackers (edgekit/features/windows.py).
 *
 * Rings are shared: every tracker over the same (signal, window) reads one ring, so a rolling
 * mean, std, max and an energy of one channel store its window once. Within a push, every
 * tracker first reads the value its ring is about to evict, then all rings are written; the
 * running sums of a ring's trackers are rebuilt from the ring each time it wraps, which keeps
 * float32 drift to one window and drops any overflow once it has left the window.
 *
 * Moments and co-moments are sliding Welford updates on values shifted by a recent sample K of
 * the channel: x - K is exact for a slowly varying signal, so std and correlation of channels
 * such as acc (~9.8 m/s^2 with a small spread) keep float32's relative precision.
 *
 * Removing samples from a sliding sum cancels: when a burst of motion leaves the window, m2
 * falls from its peak by orders of magnitude and keeps only u * peak of absolute accuracy. Each
 * sum therefore remembers its peak since the last rebuild and is rebuilt from the ring as soon
 * as it falls below peak / EK_REBUILD_DROP, so its relative error stays within ~8 u. */
#include <math.h>

#include "ek_internal.h"

/* ---- ring access ---------------------------------------------------------------------------- */
static inline uint32_t ring_head(const ek_word_t *ring) { return ring[0].h[0]; }
static inline uint32_t ring_count(const ek_word_t *ring) { return ring[0].h[1]; }
static inline float ring_value(const ek_word_t *ring, uint32_t slot) { return ring[1u + slot].f; }

typedef struct {      /* what a tracker needs to know about its ring in this push */
    float x;          /* the new value */
    float old;        /* the evicted value, 0 when nothing is evicted */
    uint32_t full;    /* a value is evicted */
    uint32_t head;    /* slot the new value goes to */
    float n;          /* values in the window after this push */
} ring_step_t;

static ring_step_t ring_step(const ek_bridge_t *b, uint32_t ring_index, const float *sig)
{
    const ek_word_t *ring = ek_ring_block(b, ring_index);
    uint32_t count = ring_count(ring);
    ring_step_t s;
    s.x = sig[b->config->rings[ring_index].signal];
    s.head = ring_head(ring);
    s.full = count == b->config->rings[ring_index].capacity;
    s.old = s.full ? ring_value(ring, s.head) : 0.0f;
    s.n = (float)(s.full ? count : count + 1u);
    return s;
}

static inline int first_value(const ring_step_t *s) { return !s->full && s->n == 1.0f; }

#define EK_REBUILD_DROP 8.0f

static inline float max_f(float a, float b) { return a > b ? a : b; }
/* NaN compares false: an overflowed sum is rebuilt too. */
static inline int needs_rebuild(float value, float peak) { return !(value * EK_REBUILD_DROP >= peak); }

/* The slot of the newest value: a rebuild shifts by it, as a push does by its first value. */
static inline uint32_t newest_slot(const ek_word_t *ring, uint32_t capacity)
{
    return ring_head(ring) == 0u ? capacity - 1u : ring_head(ring) - 1u;
}

/* ---- moments: sliding Welford on x - shift; words: shift, mean, m2, peak of m2 ---------------- */
enum { M_SHIFT, M_MEAN, M_M2, M_PEAK };

static ek_word_t *moments_at(const ek_bridge_t *b, uint32_t k)
{
    return b->workspace + b->sections[EK_SECTION_MOMENTS] + EK_MOMENTS_WORDS * k;
}

static void moments_push(ek_word_t *m, const ring_step_t *s)
{
    float v, delta;
    if (first_value(s)) m[M_SHIFT].f = s->x;
    v = s->x - m[M_SHIFT].f;
    if (s->full) {
        float n_before = s->n - 1.0f, old = s->old - m[M_SHIFT].f;
        if (n_before == 0.0f) {
            m[M_MEAN].f = m[M_M2].f = 0.0f;
        } else {
            float mean_before = m[M_MEAN].f - (old - m[M_MEAN].f) / n_before;
            m[M_M2].f -= (old - mean_before) * (old - m[M_MEAN].f);
            m[M_MEAN].f = mean_before;
        }
    }
    delta = v - m[M_MEAN].f;
    m[M_MEAN].f += delta / s->n;
    m[M_M2].f += delta * (v - m[M_MEAN].f);
    m[M_PEAK].f = max_f(m[M_PEAK].f, m[M_M2].f);
}

static void moments_resync(ek_word_t *m, const ek_word_t *ring, uint32_t capacity)
{
    uint32_t n = ring_count(ring);
    float total = 0.0f, m2 = 0.0f, shift = ring_value(ring, newest_slot(ring, capacity)), mean;
    uint32_t k;
    for (k = 0; k < n; ++k) total += ring_value(ring, k) - shift;
    mean = total / (float)n;
    for (k = 0; k < n; ++k) {
        float d = ring_value(ring, k) - shift - mean;
        m2 += d * d;
    }
    m[M_SHIFT].f = shift;
    m[M_MEAN].f = mean;
    m[M_M2].f = m2;
    m[M_PEAK].f = m2;
}

/* ---- extremum: monotonic deque of ring slots; words: front|size, then uint16 slots ----------- */
static inline uint16_t *deque_slot(ek_word_t *e, uint32_t i) { return &e[1u + (i >> 1)].h[i & 1u]; }

static void extremum_push(ek_word_t *e, const ek_word_t *ring, uint32_t capacity, int is_max, const ring_step_t *s)
{
    uint32_t front = e[0].h[0], size = e[0].h[1], back;
    if (s->full && size > 0u && *deque_slot(e, front) == s->head) { /* the oldest leaves the window */
        front = front + 1u == capacity ? 0u : front + 1u;
        --size;
    }
    while (size > 0u) { /* drop samples the new one dominates: they can never be the answer */
        float v;
        back = front + size - 1u;
        if (back >= capacity) back -= capacity;
        v = ring_value(ring, *deque_slot(e, back));
        if (is_max ? !(v <= s->x) : !(v >= s->x)) break;
        --size;
    }
    back = front + size;
    if (back >= capacity) back -= capacity;
    *deque_slot(e, back) = (uint16_t)s->head;
    e[0].h[0] = (uint16_t)front;
    e[0].h[1] = (uint16_t)(size + 1u);
}

/* ---- correlation: sliding Welford co-moments on shifted values ------------------------------ */
enum { C_SHIFT_X, C_SHIFT_Y, C_MEAN_X, C_MEAN_Y, C_M2_X, C_M2_Y, C_XY, C_PEAK_X, C_PEAK_Y };

static ek_word_t *corr_at(const ek_bridge_t *b, uint32_t k)
{
    return b->workspace + b->sections[EK_SECTION_CORR] + EK_CORR_WORDS * k;
}

static void corr_push(ek_word_t *c, const ring_step_t *a, const ring_step_t *b)
{
    float x, y, dx, dy;
    if (first_value(a)) {
        c[C_SHIFT_X].f = a->x;
        c[C_SHIFT_Y].f = b->x;
    }
    x = a->x - c[C_SHIFT_X].f;
    y = b->x - c[C_SHIFT_Y].f;
    if (a->full) {
        float n_before = a->n - 1.0f, ox = a->old - c[C_SHIFT_X].f, oy = b->old - c[C_SHIFT_Y].f;
        if (n_before == 0.0f) {
            c[C_MEAN_X].f = c[C_MEAN_Y].f = c[C_M2_X].f = c[C_M2_Y].f = c[C_XY].f = 0.0f;
        } else {
            float mx = c[C_MEAN_X].f - (ox - c[C_MEAN_X].f) / n_before;
            float my = c[C_MEAN_Y].f - (oy - c[C_MEAN_Y].f) / n_before;
            c[C_M2_X].f -= (ox - mx) * (ox - c[C_MEAN_X].f);
            c[C_M2_Y].f -= (oy - my) * (oy - c[C_MEAN_Y].f);
            c[C_XY].f -= (ox - mx) * (oy - c[C_MEAN_Y].f);
            c[C_MEAN_X].f = mx;
            c[C_MEAN_Y].f = my;
        }
    }
    dx = x - c[C_MEAN_X].f;
    dy = y - c[C_MEAN_Y].f;
    c[C_MEAN_X].f += dx / a->n;
    c[C_MEAN_Y].f += dy / a->n;
    c[C_M2_X].f += dx * (x - c[C_MEAN_X].f);
    c[C_M2_Y].f += dy * (y - c[C_MEAN_Y].f);
    c[C_XY].f += dx * (y - c[C_MEAN_Y].f);
    c[C_PEAK_X].f = max_f(c[C_PEAK_X].f, c[C_M2_X].f);
    c[C_PEAK_Y].f = max_f(c[C_PEAK_Y].f, c[C_M2_Y].f);
}

static void corr_resync(ek_word_t *c, const ek_word_t *ra, const ek_word_t *rb, uint32_t capacity)
{
    uint32_t n = ring_count(ra), newest = newest_slot(ra, capacity);
    float sx = ring_value(ra, newest), sy = ring_value(rb, newest), tx = 0.0f, ty = 0.0f;
    float mx, my, m2x = 0.0f, m2y = 0.0f, cxy = 0.0f;
    uint32_t k;
    for (k = 0; k < n; ++k) {
        tx += ring_value(ra, k) - sx;
        ty += ring_value(rb, k) - sy;
    }
    mx = tx / (float)n;
    my = ty / (float)n;
    for (k = 0; k < n; ++k) {
        float dx = ring_value(ra, k) - sx - mx, dy = ring_value(rb, k) - sy - my;
        m2x += dx * dx;
        m2y += dy * dy;
        cxy += dx * dy;
    }
    c[C_SHIFT_X].f = sx;
    c[C_SHIFT_Y].f = sy;
    c[C_MEAN_X].f = mx;
    c[C_MEAN_Y].f = my;
    c[C_M2_X].f = m2x;
    c[C_M2_Y].f = m2y;
    c[C_XY].f = cxy;
    c[C_PEAK_X].f = m2x;
    c[C_PEAK_Y].f = m2y;
}

/* ---- sliding DFT; words: cos table, sin table (window each), then re, im, phase per bin ----- */
static void dft_push(ek_word_t *d, uint32_t window, const ek_dft_config_t *dc, const ring_step_t *s)
{
    ek_word_t *bin = d + 2u * window;
    float change = s->full ? s->x - s->old : s->x;
    uint32_t j;
    for (j = 0; j < dc->n_bins; ++j, bin += 3) {
        uint32_t phase = bin[2].u; /* (bin * slot) mod window: the table index of this slot */
        bin[0].f += change * d[phase].f;
        bin[1].f -= change * d[window + phase].f;
        phase += dc->bins[j];
        bin[2].u = phase >= window ? phase - window : phase;
    }
}

static void dft_resync(ek_word_t *d, uint32_t window, const ek_dft_config_t *dc, const ek_word_t *ring)
{
    ek_word_t *bin = d + 2u * window;
    uint32_t j, m;
    for (j = 0; j < dc->n_bins; ++j, bin += 3) {
        float re = 0.0f, im = 0.0f;
        uint32_t phase = 0u;
        for (m = 0; m < window; ++m) {
            re += ring_value(ring, m) * d[phase].f;
            im -= ring_value(ring, m) * d[window + phase].f;
            phase += dc->bins[j];
            if (phase >= window) phase -= window;
        }
        bin[0].f = re;
        bin[1].f = im;
        bin[2].u = 0u;
    }
}

/* cos and sin of 2 pi m / N without libm's sinf/cosf (whose large-argument reduction costs
 * ~3.5 KB of flash): the quadrant is taken on the integers, 4m = kN + r, so the remaining angle
 * (pi / 2) r / N lies in [-pi/4, pi/4] with one rounding, where Taylor series of degree 9/10
 * are accurate to ~1e-9. */
static void cos_sin_of_fraction(uint32_t m, uint32_t n, float *cos_out, float *sin_out)
{
    int32_t four_m = 4 * (int32_t)m, k = (four_m + (int32_t)n / 2) / (int32_t)n, r_int = four_m - k * (int32_t)n;
    float r = 1.57079632679489662f * (float)r_int / (float)n, r2 = r * r;
    float sin_r = r * (1.0f + r2 * (-1.0f / 6.0f + r2 * (1.0f / 120.0f + r2 * (-1.0f / 5040.0f + r2 * (1.0f / 362880.0f)))));
    float cos_r = 1.0f + r2 * (-0.5f + r2 * (1.0f / 24.0f + r2 * (-1.0f / 720.0f + r2 * (1.0f / 40320.0f +
                  r2 * (-1.0f / 3628800.0f)))));
    switch (k & 3) { /* cos and sin of k pi/2 + r */
    case 0: *cos_out = cos_r; *sin_out = sin_r; break;
    case 1: *cos_out = -sin_r; *sin_out = cos_r; break;
    case 2: *cos_out = -cos_r; *sin_out = -sin_r; break;
    default: *cos_out = sin_r; *sin_out = -cos_r; break;
    }
}

void ek_windows_init_tables(ek_bridge_t *b)
{
    const ek_bridge_config_t *c = b->config;
    uint32_t k, m;
    for (k = 0; k < c->n_dft; ++k) {
        ek_word_t *d = ek_dft_block(b, k);
        uint32_t window = c->rings[c->dft[k].ring].capacity;
        for (m = 0; m < window; ++m) cos_sin_of_fraction(m, window, &d[m].f, &d[window + m].f);
    }
}

/* ---- the push ------------------------------------------------------------------------------- */
static void update_zero_crossings(ek_bridge_t *b, const float *sig)
{
    const ek_bridge_config_t *c = b->config;
    const ek_word_t *prev = b->workspace + b->sections[EK_SECTION_PREV];
    uint32_t k;
    for (k = 0; k < c->n_zcr; ++k) {
        ek_word_t *z = ek_zcr_block(b, k); /* words: head|count, total, uint8 flags */
        uint32_t window = c->zcr[k].window, head = z[0].h[0], count = z[0].h[1];
        float now = sig[c->prev_signals[c->zcr[k].prev]], before = prev[c->zcr[k].prev].f;
        uint8_t crossed = (uint8_t)(b->started && ((before < 0.0f && now > 0.0f) || (before > 0.0f && now < 0.0f)));
        uint8_t *flag = &z[2u + (head >> 2)].b[head & 3u];
        if (count == window) z[1].u -= *flag;
        else z[0].h[1] = (uint16_t)(count + 1u);
        *flag = crossed;
        z[1].u += crossed;
        z[0].h[0] = (uint16_t)(head + 1u == window ? 0u : head + 1u);
    }
}

static void write_rings(ek_bridge_t *b, const float *sig)
{
    const ek_bridge_config_t *c = b->config;
    uint32_t k;
    for (k = 0; k < c->n_rings; ++k) {
        ek_word_t *ring = ek_ring_block(b, k);
        uint32_t capacity = c->rings[k].capacity, head = ring_head(ring), count = ring_count(ring);
        ring[1u + head].f = sig[c->rings[k].signal];
        ring[0].h[0] = (uint16_t)(head + 1u == capacity ? 0u : head + 1u);
        if (count < capacity) ring[0].h[1] = (uint16_t)(count + 1u);
    }
}

/* Rebuild a sum from its ring when the ring has just wrapped (its head is back at slot 0), which
 * bounds drift to one window, or when the sum has cancelled down from its peak. */
static void rebuild_sums(ek_bridge_t *b)
{
    const ek_bridge_config_t *c = b->config;
    uint32_t k, m;
    for (k = 0; k < c->n_moments; ++k) {
        const ek_word_t *ring = ek_ring_block(b, c->moments[k].ring);
        ek_word_t *mo = moments_at(b, k);
        if (ring_head(ring) == 0u || needs_rebuild(mo[M_M2].f, mo[M_PEAK].f))
            moments_resync(mo, ring, c->rings[c->moments[k].ring].capacity);
    }
    for (k = 0; k < c->n_energy; ++k) {
        const ek_word_t *ring = ek_ring_block(b, c->energy[k].ring);
        ek_word_t *e = b->workspace + b->sections[EK_SECTION_ENERGY] + EK_ENERGY_WORDS * k;
        if (ring_head(ring) == 0u || needs_rebuild(e[0].f, e[1].f)) {
            float total = 0.0f;
            for (m = 0; m < ring_count(ring); ++m) total += ring_value(ring, m) * ring_value(ring, m);
            e[0].f = e[1].f = total;
        }
    }
    for (k = 0; k < c->n_corr; ++k) {
        const ek_word_t *ra = ek_ring_block(b, c->corr[k].ring_a);
        ek_word_t *co = corr_at(b, k);
        if (ring_head(ra) == 0u || needs_rebuild(co[C_M2_X].f, co[C_PEAK_X].f) ||
            needs_rebuild(co[C_M2_Y].f, co[C_PEAK_Y].f))
            corr_resync(co, ra, ek_ring_block(b, c->corr[k].ring_b), c->rings[c->corr[k].ring_a].capacity);
    }
    for (k = 0; k < c->n_dft; ++k) {
        const ek_word_t *ring = ek_ring_block(b, c->dft[k].ring);
        if (ring_head(ring) == 0u) dft_resync(ek_dft_block(b, k), ring_count(ring), &c->dft[k], ring);
    }
}

void ek_windows_update(ek_bridge_t *b, const float *sig)
{
    const ek_bridge_config_t *c = b->config;
    uint32_t k;
    for (k = 0; k < c->n_moments; ++k) {
        ring_step_t s = ring_step(b, c->moments[k].ring, sig);
        moments_push(moments_at(b, k), &s);
    }
    for (k = 0; k < c->n_extrema; ++k) {
        uint32_t ring = c->extrema[k].ring;
        ring_step_t s = ring_step(b, ring, sig);
        extremum_push(ek_extremum_block(b, k), ek_ring_block(b, ring), c->rings[ring].capacity,
                      c->extrema[k].is_max, &s);
    }
    for (k = 0; k < c->n_energy; ++k) { /* words: sum of squares, its peak */
        ring_step_t s = ring_step(b, c->energy[k].ring, sig);
        ek_word_t *e = b->workspace + b->sections[EK_SECTION_ENERGY] + EK_ENERGY_WORDS * k;
        e[0].f += s.x * s.x - s.old * s.old;
        e[1].f = max_f(e[1].f, e[0].f);
    }
    update_zero_crossings(b, sig);
    for (k = 0; k < c->n_corr; ++k) {
        ring_step_t sa = ring_step(b, c->corr[k].ring_a, sig), sb = ring_step(b, c->corr[k].ring_b, sig);
        corr_push(corr_at(b, k), &sa, &sb);
    }
    for (k = 0; k < c->n_dft; ++k) {
        ring_step_t s = ring_step(b, c->dft[k].ring, sig);
        dft_push(ek_dft_block(b, k), c->rings[c->dft[k].ring].capacity, &c->dft[k], &s);
    }
    write_rings(b, sig);
    rebuild_sums(b);
}

/* Zero every ring, deque, sum and DFT accumulator; keep the offset table and the DFT tables. */
void ek_windows_reset(ek_bridge_t *b)
{
    const ek_bridge_config_t *c = b->config;
    uint32_t k, j, dft_start = b->sections[EK_SECTION_DFT];
    for (k = b->sections[EK_SECTION_HELD]; k < dft_start; ++k) b->workspace[k].u = 0u;
    for (k = 0; k < c->n_dft; ++k) {
        ek_word_t *d = ek_dft_block(b, k);
        uint32_t window = c->rings[c->dft[k].ring].capacity;
        for (j = 0; j < 3u * c->dft[k].n_bins; ++j) d[2u * window + j].u = 0u;
    }
}

/* ---- results -------------------------------------------------------------------------------- */
float ek_moments_mean(const ek_bridge_t *b, uint32_t k)
{
    const ek_word_t *m = moments_at(b, k);
    return m[M_SHIFT].f + m[M_MEAN].f;
}

float ek_moments_std(const ek_bridge_t *b, uint32_t k)
{
    const ek_word_t *m = moments_at(b, k);
    float n = (float)ring_count(ek_ring_block(b, b->config->moments[k].ring));
    return sqrtf((m[M_M2].f > 0.0f ? m[M_M2].f : 0.0f) / n); /* rounding can leave m2 a hair below 0 */
}

float ek_extremum_value(const ek_bridge_t *b, uint32_t k)
{
    ek_word_t *e = ek_extremum_block(b, k);
    return ring_value(ek_ring_block(b, b->config->extrema[k].ring), *deque_slot(e, e[0].h[0]));
}

float ek_energy_value(const ek_bridge_t *b, uint32_t k)
{
    float n = (float)ring_count(ek_ring_block(b, b->config->energy[k].ring));
    return b->workspace[b->sections[EK_SECTION_ENERGY] + EK_ENERGY_WORDS * k].f / n;
}

float ek_zcr_value(const ek_bridge_t *b, uint32_t k)
{
    const ek_word_t *z = ek_zcr_block(b, k);
    return (float)z[1].u / (float)z[0].h[1];
}

float ek_corr_value(const ek_bridge_t *b, uint32_t k)
{
    const ek_word_t *c = corr_at(b, k);
    float n = (float)ring_count(ek_ring_block(b, b->config->corr[k].ring_a));
    float var_x = c[C_M2_X].f / n, var_y = c[C_M2_Y].f / n, r;
    if (!(var_x >= EK_VARIANCE_FLOOR && var_y >= EK_VARIANCE_FLOOR)) return 0.0f; /* a flat channel */
    r = (c[C_XY].f / n) / (sqrtf(var_x) * sqrtf(var_y)); /* two roots: var_x * var_y could overflow */
    return r > 1.0f ? 1.0f : (r < -1.0f ? -1.0f : r);
}

float ek_bandpower_value(const ek_bridge_t *b, uint32_t k, uint32_t bin)
{
    const ek_bridge_config_t *c = b->config;
    const ek_word_t *d = ek_dft_block(b, k);
    uint32_t window = c->rings[c->dft[k].ring].capacity;
    float n = (float)ring_count(ek_ring_block(b, c->dft[k].ring));
    float re = d[2u * window + 3u * bin].f, im = d[2u * window + 3u * bin + 1u].f;
    return (re * re + im * im) / (n * n);
}
