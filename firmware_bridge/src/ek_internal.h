/* Internal declarations shared by the bridge's source files (not installed). */
#ifndef EK_INTERNAL_H
#define EK_INTERNAL_H

#include "edgekit_bridge.h"

/* Signal groups: a push computes only the groups some output or tracker reads. */
#define EK_NEED_ACC_MAG (1u << 0)
#define EK_NEED_GYRO_MAG (1u << 1)
#define EK_NEED_ROT_ANGLE (1u << 2)
#define EK_NEED_LINACC (1u << 3)
#define EK_NEED_ANGVEL (1u << 4)
#define EK_NEED_EULER (1u << 5)
#define EK_NEED_TILT (1u << 6)
#define EK_NEED_THM_STATS (1u << 7)
#define EK_NEED_TOF_STATS (1u << 8)

/* Workspace sections, in layout order (ek_bridge_t.sections). Median blocks lie between the
 * correlation section and the DFT section, spectrum blocks after the DFT blocks: both are reached
 * through the offset table only, so they need no section of their own. */
enum {
    EK_SECTION_TABLE = 0, /* block offsets: rings, then extremum, zero-crossing, DFT, median, spectrum trackers */
    EK_SECTION_HELD, EK_SECTION_RINGS, EK_SECTION_PREV, EK_SECTION_MOMENTS, EK_SECTION_EXTREMA, EK_SECTION_ENERGY,
    EK_SECTION_ZCR, EK_SECTION_CORR, EK_SECTION_DFT, EK_SECTION_COUNT
};
/* C99 static assert (a negative array size does not compile): the public header sizes
 * ek_bridge_t.sections by hand, and ek_layout writes EK_SECTION_COUNT entries into it. */
typedef char ek_sections_fit_in_ek_bridge_t[
    sizeof(((ek_bridge_t *)0)->sections) / sizeof(uint32_t) >= EK_SECTION_COUNT ? 1 : -1];

/* ek_config.c */
int ek_signal_available(const ek_bridge_config_t *config, uint32_t signal);
uint32_t ek_signal_needs(uint32_t signal);
uint32_t ek_layout(const ek_bridge_config_t *config, uint32_t sections[EK_SECTION_COUNT], ek_word_t *table);

/* ek_sample.c: mirroring, the NaN policy, thermopile and ToF aggregates */
void ek_sample_clean(ek_bridge_t *bridge, const float *sample, float *sig);
float ek_tof_pixel_out(const ek_bridge_t *bridge, const float *sample, uint32_t index);

/* ek_motion.c: magnitudes, quaternion maths, tilt, Euler angles and their rates */
void ek_motion_signals(ek_bridge_t *bridge, float *sig);

/* ek_windows.c: ring buffers and the sliding trackers */
void ek_windows_reset(ek_bridge_t *bridge);
void ek_windows_init_tables(ek_bridge_t *bridge);
void ek_windows_update(ek_bridge_t *bridge, const float *sig);

/* ek_outputs.c: the feature vector from the signals and the trackers' state */
void ek_outputs_write(const ek_bridge_t *bridge, const float *sample, const float *sig, float *features_out);

/* Input layout: acc, rot, gyro, thm, ToF pixels (sensor-major), extras. */
static inline uint32_t ek_rot_at(const ek_bridge_config_t *c) { (void)c; return 3u; }
static inline uint32_t ek_gyro_at(const ek_bridge_config_t *c) { return 3u + (c->has_rot ? 4u : 0u); }
static inline uint32_t ek_thm_at(const ek_bridge_config_t *c) { return ek_gyro_at(c) + (c->has_gyro ? 3u : 0u); }
static inline uint32_t ek_tof_at(const ek_bridge_config_t *c) { return ek_thm_at(c) + c->n_thm; }
static inline uint32_t ek_extra_at(const ek_bridge_config_t *c)
{
    return ek_tof_at(c) + EK_TOF_PIXELS * (uint32_t)c->n_tof_sensors;
}

/* Variable-size blocks by offset table entry. The table is the workspace's first section (ek_layout
 * puts it at word 0), so a block is one load away. A ring block: header word (head in h[0], count
 * in h[1]) then `capacity` floats. */
static inline ek_word_t *ek_block(const ek_bridge_t *b, uint32_t table_entry)
{
    return b->workspace + b->workspace[table_entry].u;
}
/* Held thermopiles (n_thm words) then extras (n_extra words). */
static inline ek_word_t *ek_held(const ek_bridge_t *b) { return b->workspace + b->sections[EK_SECTION_HELD]; }
static inline ek_word_t *ek_ring_block(const ek_bridge_t *b, uint32_t k) { return ek_block(b, k); }
/* The table lists rings, then extremum, zero-crossing, DFT, median and spectrum trackers: each
 * kind's first entry. */
static inline uint32_t ek_extrema_entry(const ek_bridge_config_t *c) { return c->n_rings; }
static inline uint32_t ek_zcr_entry(const ek_bridge_config_t *c) { return (uint32_t)c->n_rings + c->n_extrema; }
static inline uint32_t ek_dft_entry(const ek_bridge_config_t *c) { return ek_zcr_entry(c) + c->n_zcr; }
static inline uint32_t ek_median_entry(const ek_bridge_config_t *c) { return ek_dft_entry(c) + c->n_dft; }
static inline uint32_t ek_spectrum_entry(const ek_bridge_config_t *c) { return ek_median_entry(c) + c->n_medians; }
static inline uint32_t ek_table_entries(const ek_bridge_config_t *c) { return ek_spectrum_entry(c) + c->n_spectra; }
static inline ek_word_t *ek_dft_block(const ek_bridge_t *b, uint32_t k) { return ek_block(b, ek_dft_entry(b->config) + k); }
static inline ek_word_t *ek_spectrum_block(const ek_bridge_t *b, uint32_t k)
{
    return ek_block(b, ek_spectrum_entry(b->config) + k);
}
/* A spectrum's bins: 1 .. (window - 1) / 2, strictly between DC and Nyquist. */
static inline uint32_t ek_spectrum_bins(uint32_t window) { return (window - 1u) / 2u; }

static inline uint32_t ek_ring_head(const ek_word_t *ring) { return ring[0].h[0]; }
static inline uint32_t ek_ring_count(const ek_word_t *ring) { return ring[0].h[1]; }
static inline float ek_ring_value(const ek_word_t *ring, uint32_t slot) { return ring[1u + slot].f; }

/* Tracker words, written by ek_windows.c and read by ek_outputs.c. Moments and correlation:
 * sliding Welford sums on values shifted by a recent sample, with the peak of each m2 since the
 * last rebuild. Energy: sum of squares, its peak. Extremum: front|size, then uint16 deque slots.
 * Zero crossings: head|count, total, then uint8 flags. DFT: cos table, sin table (window each),
 * then re, im, phase per bin. Median: uint16 ring slots in value order. Spectrum: cos table, sin
 * table, then re, im per bin (bin k's table index, k * slot mod window, is stepped per push). */
enum { EK_M_SHIFT, EK_M_MEAN, EK_M_M2, EK_M_PEAK };
enum { EK_C_SHIFT_X, EK_C_SHIFT_Y, EK_C_MEAN_X, EK_C_MEAN_Y, EK_C_M2_X, EK_C_M2_Y, EK_C_XY, EK_C_PEAK_X, EK_C_PEAK_Y };
enum { EK_E_SUM, EK_E_PEAK };

static inline uint16_t *ek_deque_slot(ek_word_t *e, uint32_t i) { return &e[1u + (i >> 1)].h[i & 1u]; }
static inline uint16_t *ek_median_slot(ek_word_t *m, uint32_t i) { return &m[i >> 1].h[i & 1u]; }

#endif /* EK_INTERNAL_H */
