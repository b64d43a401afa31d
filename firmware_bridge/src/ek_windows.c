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
#include "ek_internal.h"

/* ---- ring steps ------------------------------------------------------------------------------ */
typedef struct {      /* what a tracker needs to know about its ring in this push */
    float x;          /* the new value */
    float old;        /* the evicted value, 0 when nothing is evicted */
    uint32_t full;    /* a value is evicted */
    uint32_t head;    /* slot the new value goes to */
    float n;          /* values in the window after this push */
} ring_step_t;

/* Inline and from hoisted pointers: a push takes ~25 of these, so a call and a re-walk of the
 * config per step would cost more than the trackers' arithmetic. */
static inline ring_step_t ring_step(const ek_word_t *ws, const ek_ring_config_t *rings, uint32_t r, const float *sig)
{
    const ek_word_t *ring = ws + ws[r].u; /* rings are the offset table's first entries */
    const ek_ring_config_t config = rings[r];
    uint32_t count = ek_ring_count(ring);
    ring_step_t s;
    s.x = sig[config.signal];
    s.head = ek_ring_head(ring);
    s.full = count == config.capacity;
    s.old = s.full ? ek_ring_value(ring, s.head) : 0.0f;
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
    return ek_ring_head(ring) == 0u ? capacity - 1u : ek_ring_head(ring) - 1u;
}

/* ---- moments: sliding Welford on x - shift ---------------------------------------------------
 * State is read into locals and written back once: every store through the workspace union may
 * alias anything, so working in place would reload each word after every store. */
static void moments_push(ek_word_t *m, const ring_step_t *s)
{
    float shift = first_value(s) ? s->x : m[EK_M_SHIFT].f, mean = m[EK_M_MEAN].f, m2 = m[EK_M_M2].f;
    float v = s->x - shift, delta;
    if (s->full) {
        float n_before = s->n - 1.0f, old = s->old - shift;
        if (n_before == 0.0f) {
            mean = m2 = 0.0f;
        } else {
            float mean_before = mean - (old - mean) / n_before;
            m2 -= (old - mean_before) * (old - mean);
            mean = mean_before;
        }
    }
    delta = v - mean;
    mean += delta / s->n;
    m2 += delta * (v - mean);
    m[EK_M_SHIFT].f = shift;
    m[EK_M_MEAN].f = mean;
    m[EK_M_M2].f = m2;
    m[EK_M_PEAK].f = max_f(m[EK_M_PEAK].f, m2);
}

static void moments_resync(ek_word_t *m, const ek_word_t *ring, uint32_t capacity)
{
    uint32_t n = ek_ring_count(ring);
    float total = 0.0f, m2 = 0.0f, shift = ek_ring_value(ring, newest_slot(ring, capacity)), mean;
    uint32_t k;
    for (k = 0; k < n; ++k) total += ek_ring_value(ring, k) - shift;
    mean = total / (float)n;
    for (k = 0; k < n; ++k) {
        float d = ek_ring_value(ring, k) - shift - mean;
        m2 += d * d;
    }
    m[EK_M_SHIFT].f = shift;
    m[EK_M_MEAN].f = mean;
    m[EK_M_M2].f = m2;
    m[EK_M_PEAK].f = m2;
}

/* ---- extremum: monotonic deque of ring slots ------------------------------------------------ */
static void extremum_push(ek_word_t *e, const ek_word_t *ring, uint32_t capacity, int is_max, const ring_step_t *s)
{
    uint32_t front = e[0].h[0], size = e[0].h[1], back;
    if (s->full && size > 0u && *ek_deque_slot(e, front) == s->head) { /* the oldest leaves the window */
        front = front + 1u == capacity ? 0u : front + 1u;
        --size;
    }
    while (size > 0u) { /* drop samples the new one dominates: they can never be the answer */
        float v;
        back = front + size - 1u;
        if (back >= capacity) back -= capacity;
        v = ek_ring_value(ring, *ek_deque_slot(e, back));
        if (is_max ? !(v <= s->x) : !(v >= s->x)) break;
        --size;
    }
    back = front + size;
    if (back >= capacity) back -= capacity;
    *ek_deque_slot(e, back) = (uint16_t)s->head;
    e[0].h[0] = (uint16_t)front;
    e[0].h[1] = (uint16_t)(size + 1u);
}

/* ---- median: ring slots in value order ------------------------------------------------------
 * The new value goes to the ring's head slot, which held the evicted value once the ring is
 * full, so one insertion pass moves that slot to its new place (reference: SlidingMedian).
 * Comparisons read the ring before it is written: the moving slot is never compared. */
static void median_push(ek_word_t *m, const ek_word_t *ring, const ring_step_t *s)
{
    const uint32_t n = (uint32_t)s->n;
    uint32_t at = n - 1u;
    if (s->full) /* the head slot is in the order: bounded search all the same */
        for (at = 0u; at + 1u < n && *ek_median_slot(m, at) != s->head; ++at) {}
    while (at > 0u && ek_ring_value(ring, *ek_median_slot(m, at - 1u)) > s->x) {
        *ek_median_slot(m, at) = *ek_median_slot(m, at - 1u);
        --at;
    }
    while (at + 1u < n && ek_ring_value(ring, *ek_median_slot(m, at + 1u)) < s->x) {
        *ek_median_slot(m, at) = *ek_median_slot(m, at + 1u);
        ++at;
    }
    *ek_median_slot(m, at) = (uint16_t)s->head;
}

/* ---- correlation: sliding Welford co-moments on shifted values (locals as for moments) ------ */
static void corr_push(ek_word_t *c, const ring_step_t *a, const ring_step_t *b)
{
    int first = first_value(a);
    float sx = first ? a->x : c[EK_C_SHIFT_X].f, sy = first ? b->x : c[EK_C_SHIFT_Y].f;
    float mx = c[EK_C_MEAN_X].f, my = c[EK_C_MEAN_Y].f;
    float m2x = c[EK_C_M2_X].f, m2y = c[EK_C_M2_Y].f, cxy = c[EK_C_XY].f;
    float x = a->x - sx, y = b->x - sy, dx, dy;
    if (a->full) {
        float n_before = a->n - 1.0f, ox = a->old - sx, oy = b->old - sy;
        if (n_before == 0.0f) {
            mx = my = m2x = m2y = cxy = 0.0f;
        } else {
            float mx_before = mx - (ox - mx) / n_before;
            float my_before = my - (oy - my) / n_before;
            m2x -= (ox - mx_before) * (ox - mx);
            m2y -= (oy - my_before) * (oy - my);
            cxy -= (ox - mx_before) * (oy - my);
            mx = mx_before;
            my = my_before;
        }
    }
    dx = x - mx;
    dy = y - my;
    mx += dx / a->n;
    my += dy / a->n;
    m2x += dx * (x - mx);
    m2y += dy * (y - my);
    cxy += dx * (y - my);
    c[EK_C_SHIFT_X].f = sx;
    c[EK_C_SHIFT_Y].f = sy;
    c[EK_C_MEAN_X].f = mx;
    c[EK_C_MEAN_Y].f = my;
    c[EK_C_M2_X].f = m2x;
    c[EK_C_M2_Y].f = m2y;
    c[EK_C_XY].f = cxy;
    c[EK_C_PEAK_X].f = max_f(c[EK_C_PEAK_X].f, m2x);
    c[EK_C_PEAK_Y].f = max_f(c[EK_C_PEAK_Y].f, m2y);
}

static void corr_resync(ek_word_t *c, const ek_word_t *ra, const ek_word_t *rb, uint32_t capacity)
{
    uint32_t n = ek_ring_count(ra), newest = newest_slot(ra, capacity);
    float sx = ek_ring_value(ra, newest), sy = ek_ring_value(rb, newest), tx = 0.0f, ty = 0.0f;
    float mx, my, m2x = 0.0f, m2y = 0.0f, cxy = 0.0f;
    uint32_t k;
    for (k = 0; k < n; ++k) {
        tx += ek_ring_value(ra, k) - sx;
        ty += ek_ring_value(rb, k) - sy;
    }
    mx = tx / (float)n;
    my = ty / (float)n;
    for (k = 0; k < n; ++k) {
        float dx = ek_ring_value(ra, k) - sx - mx, dy = ek_ring_value(rb, k) - sy - my;
        m2x += dx * dx;
        m2y += dy * dy;
        cxy += dx * dy;
    }
    c[EK_C_SHIFT_X].f = sx;
    c[EK_C_SHIFT_Y].f = sy;
    c[EK_C_MEAN_X].f = mx;
    c[EK_C_MEAN_Y].f = my;
    c[EK_C_M2_X].f = m2x;
    c[EK_C_M2_Y].f = m2y;
    c[EK_C_XY].f = cxy;
    c[EK_C_PEAK_X].f = m2x;
    c[EK_C_PEAK_Y].f = m2y;
}

/* ---- sliding DFT ---------------------------------------------------------------------------- */
static void dft_push(ek_word_t *d, uint32_t window, const ek_dft_config_t *dc, const ring_step_t *s)
{
    ek_word_t *bin = d + 2u * window;
    float change = s->full ? s->x - s->old : s->x;
    uint32_t j;
    for (j = 0; j < dc->n_bins; ++j, bin += 3) {
        uint32_t phase = bin[2].u; /* (bin * slot) mod window: the table index of this slot */
        float re = bin[0].f + change * d[phase].f, im = bin[1].f - change * d[window + phase].f;
        phase += dc->bins[j];
        bin[0].f = re;
        bin[1].f = im;
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
            re += ek_ring_value(ring, m) * d[phase].f;
            im -= ek_ring_value(ring, m) * d[window + phase].f;
            phase += dc->bins[j];
            if (phase >= window) phase -= window;
        }
        bin[0].f = re;
        bin[1].f = im;
        bin[2].u = 0u;
    }
}

/* ---- spectrum: a sliding DFT at every bin between DC and Nyquist --------------------------------
 * Bin k's table index for the head slot m is k m mod N, stepped through the bins by adding m. */
static void spectrum_push(ek_word_t *d, uint32_t window, const ring_step_t *s)
{
    const uint32_t n_bins = ek_spectrum_bins(window), slot = s->head;
    const float change = s->full ? s->x - s->old : s->x;
    ek_word_t *bin = d + 2u * window;
    uint32_t k, phase = 0u;
    for (k = 0; k < n_bins; ++k, bin += 2) {
        float re, im;
        phase += slot;
        if (phase >= window) phase -= window;
        re = bin[0].f + change * d[phase].f;
        im = bin[1].f - change * d[window + phase].f;
        bin[0].f = re;
        bin[1].f = im;
    }
}

static void spectrum_resync(ek_word_t *d, uint32_t window, const ek_word_t *ring)
{
    const uint32_t n_bins = ek_spectrum_bins(window);
    ek_word_t *bin = d + 2u * window;
    uint32_t k, m;
    for (k = 1u; k <= n_bins; ++k, bin += 2) {
        float re = 0.0f, im = 0.0f;
        uint32_t phase = 0u;
        for (m = 0; m < window; ++m) {
            re += ek_ring_value(ring, m) * d[phase].f;
            im -= ek_ring_value(ring, m) * d[window + phase].f;
            phase += k;
            if (phase >= window) phase -= window;
        }
        bin[0].f = re;
        bin[1].f = im;
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

/* A DFT or spectrum block's first words: cos table, then sin table, `window` entries each. */
static void fill_tables(ek_word_t *d, uint32_t window)
{
    uint32_t m;
    for (m = 0; m < window; ++m) cos_sin_of_fraction(m, window, &d[m].f, &d[window + m].f);
}

void ek_windows_init_tables(ek_bridge_t *b)
{
    const ek_bridge_config_t *c = b->config;
    uint32_t k;
    for (k = 0; k < c->n_dft; ++k) fill_tables(ek_dft_block(b, k), c->rings[c->dft[k].ring].capacity);
    for (k = 0; k < c->n_spectra; ++k) fill_tables(ek_spectrum_block(b, k), c->rings[c->spectra[k].ring].capacity);
}

/* ---- the push ------------------------------------------------------------------------------- */
static void update_zero_crossings(ek_bridge_t *b, const float *sig)
{
    const ek_bridge_config_t *c = b->config;
    const ek_zcr_config_t *zcr = c->zcr;
    const uint16_t *prev_signals = c->prev_signals;
    ek_word_t *ws = b->workspace;
    const ek_word_t *prev = ws + b->sections[EK_SECTION_PREV];
    const uint32_t n = c->n_zcr, table = ek_zcr_entry(c);
    const int started = b->started;
    uint32_t k;
    for (k = 0; k < n; ++k) {
        ek_word_t *z = ws + ws[table + k].u; /* words: head|count, total, uint8 flags */
        const ek_zcr_config_t zc = zcr[k];
        uint32_t head = z[0].h[0], count = z[0].h[1], total = z[1].u;
        float now = sig[prev_signals[zc.prev]], before = prev[zc.prev].f;
        /* bitwise, not short-circuit: the signs of a noisy channel are a coin toss per sample */
        uint8_t crossed = (uint8_t)(started & (((before < 0.0f) & (now > 0.0f)) | ((before > 0.0f) & (now < 0.0f))));
        uint8_t *flag = &z[2u + (head >> 2)].b[head & 3u];
        if (count == zc.window) total -= *flag;
        else ++count;
        *flag = crossed;
        z[1].u = total + crossed;
        z[0].h[0] = (uint16_t)(head + 1u == zc.window ? 0u : head + 1u);
        z[0].h[1] = (uint16_t)count;
    }
}

static void write_rings(ek_bridge_t *b, const float *sig)
{
    const ek_bridge_config_t *c = b->config;
    const ek_ring_config_t *rings = c->rings;
    ek_word_t *ws = b->workspace;
    uint32_t k, n_rings = c->n_rings;
    for (k = 0; k < n_rings; ++k) {
        ek_word_t *ring = ws + ws[k].u;
        const ek_ring_config_t config = rings[k];
        uint32_t head = ek_ring_head(ring), count = ek_ring_count(ring);
        ring[1u + head].f = sig[config.signal];
        ring[0].h[0] = (uint16_t)(head + 1u == config.capacity ? 0u : head + 1u);
        ring[0].h[1] = (uint16_t)(count < config.capacity ? count + 1u : count);
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
        ek_word_t *mo = b->workspace + b->sections[EK_SECTION_MOMENTS] + EK_MOMENTS_WORDS * k;
        if (ek_ring_head(ring) == 0u || needs_rebuild(mo[EK_M_M2].f, mo[EK_M_PEAK].f))
            moments_resync(mo, ring, c->rings[c->moments[k].ring].capacity);
    }
    for (k = 0; k < c->n_energy; ++k) {
        const ek_word_t *ring = ek_ring_block(b, c->energy[k].ring);
        ek_word_t *e = b->workspace + b->sections[EK_SECTION_ENERGY] + EK_ENERGY_WORDS * k;
        if (ek_ring_head(ring) == 0u || needs_rebuild(e[EK_E_SUM].f, e[EK_E_PEAK].f)) {
            float total = 0.0f;
            for (m = 0; m < ek_ring_count(ring); ++m) total += ek_ring_value(ring, m) * ek_ring_value(ring, m);
            e[EK_E_SUM].f = e[EK_E_PEAK].f = total;
        }
    }
    for (k = 0; k < c->n_corr; ++k) {
        const ek_word_t *ra = ek_ring_block(b, c->corr[k].ring_a);
        ek_word_t *co = b->workspace + b->sections[EK_SECTION_CORR] + EK_CORR_WORDS * k;
        if (ek_ring_head(ra) == 0u || needs_rebuild(co[EK_C_M2_X].f, co[EK_C_PEAK_X].f) ||
            needs_rebuild(co[EK_C_M2_Y].f, co[EK_C_PEAK_Y].f))
            corr_resync(co, ra, ek_ring_block(b, c->corr[k].ring_b), c->rings[c->corr[k].ring_a].capacity);
    }
    for (k = 0; k < c->n_dft; ++k) {
        const ek_word_t *ring = ek_ring_block(b, c->dft[k].ring);
        if (ek_ring_head(ring) == 0u) dft_resync(ek_dft_block(b, k), ek_ring_count(ring), &c->dft[k], ring);
    }
    for (k = 0; k < c->n_spectra; ++k) {
        const ek_word_t *ring = ek_ring_block(b, c->spectra[k].ring);
        if (ek_ring_head(ring) == 0u) spectrum_resync(ek_spectrum_block(b, k), ek_ring_count(ring), ring);
    }
}

void ek_windows_update(ek_bridge_t *b, const float *sig)
{
    const ek_bridge_config_t *c = b->config;
    const ek_ring_config_t *rings = c->rings;
    ek_word_t *ws = b->workspace;
    uint32_t k;
    {
        ek_word_t *m = ws + b->sections[EK_SECTION_MOMENTS];
        const uint32_t n = c->n_moments;
        for (k = 0; k < n; ++k, m += EK_MOMENTS_WORDS) {
            ring_step_t s = ring_step(ws, rings, c->moments[k].ring, sig);
            moments_push(m, &s);
        }
    }
    {
        const uint32_t n = c->n_extrema, table = ek_extrema_entry(c);
        for (k = 0; k < n; ++k) {
            const ek_extremum_config_t ec = c->extrema[k];
            ring_step_t s = ring_step(ws, rings, ec.ring, sig);
            extremum_push(ws + ws[table + k].u, ws + ws[ec.ring].u, rings[ec.ring].capacity, ec.is_max, &s);
        }
    }
    {
        ek_word_t *e = ws + b->sections[EK_SECTION_ENERGY];
        const uint32_t n = c->n_energy;
        for (k = 0; k < n; ++k, e += EK_ENERGY_WORDS) {
            ring_step_t s = ring_step(ws, rings, c->energy[k].ring, sig);
            float total = e[EK_E_SUM].f + (s.x * s.x - s.old * s.old);
            e[EK_E_SUM].f = total;
            e[EK_E_PEAK].f = max_f(e[EK_E_PEAK].f, total);
        }
    }
    update_zero_crossings(b, sig);
    {
        ek_word_t *co = ws + b->sections[EK_SECTION_CORR];
        const uint32_t n = c->n_corr;
        for (k = 0; k < n; ++k, co += EK_CORR_WORDS) {
            const ek_corr_config_t cc = c->corr[k];
            ring_step_t sa = ring_step(ws, rings, cc.ring_a, sig), sb = ring_step(ws, rings, cc.ring_b, sig);
            corr_push(co, &sa, &sb);
        }
    }
    for (k = 0; k < c->n_dft; ++k) {
        ring_step_t s = ring_step(ws, rings, c->dft[k].ring, sig);
        dft_push(ek_dft_block(b, k), rings[c->dft[k].ring].capacity, &c->dft[k], &s);
    }
    {
        const uint32_t table = ek_median_entry(c);
        for (k = 0; k < c->n_medians; ++k) {
            const uint32_t r = c->medians[k].ring;
            ring_step_t s = ring_step(ws, rings, r, sig);
            median_push(ws + ws[table + k].u, ws + ws[r].u, &s);
        }
    }
    for (k = 0; k < c->n_spectra; ++k) {
        ring_step_t s = ring_step(ws, rings, c->spectra[k].ring, sig);
        spectrum_push(ek_spectrum_block(b, k), rings[c->spectra[k].ring].capacity, &s);
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
    for (k = 0; k < c->n_spectra; ++k) {
        ek_word_t *d = ek_spectrum_block(b, k);
        uint32_t window = c->rings[c->spectra[k].ring].capacity;
        for (j = 0; j < 2u * ek_spectrum_bins(window); ++j) d[2u * window + j].u = 0u;
    }
}
