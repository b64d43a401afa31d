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

/* Workspace sections, in layout order (ek_bridge_t.sections). */
enum {
    EK_SECTION_TABLE = 0, /* block offsets: rings, then extrema, zero-crossing and DFT trackers */
    EK_SECTION_HELD, EK_SECTION_RINGS, EK_SECTION_PREV, EK_SECTION_MOMENTS, EK_SECTION_EXTREMA, EK_SECTION_ENERGY,
    EK_SECTION_ZCR, EK_SECTION_CORR, EK_SECTION_DFT, EK_SECTION_COUNT
};

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
float ek_moments_mean(const ek_bridge_t *bridge, uint32_t index);
float ek_moments_std(const ek_bridge_t *bridge, uint32_t index);
float ek_extremum_value(const ek_bridge_t *bridge, uint32_t index);
float ek_energy_value(const ek_bridge_t *bridge, uint32_t index);
float ek_zcr_value(const ek_bridge_t *bridge, uint32_t index);
float ek_corr_value(const ek_bridge_t *bridge, uint32_t index);
float ek_bandpower_value(const ek_bridge_t *bridge, uint32_t index, uint32_t bin);

/* Input layout: acc, rot, gyro, thm, ToF pixels (sensor-major), extras. */
static inline uint32_t ek_rot_at(const ek_bridge_config_t *c) { (void)c; return 3u; }
static inline uint32_t ek_gyro_at(const ek_bridge_config_t *c) { return 3u + (c->has_rot ? 4u : 0u); }
static inline uint32_t ek_thm_at(const ek_bridge_config_t *c) { return ek_gyro_at(c) + (c->has_gyro ? 3u : 0u); }
static inline uint32_t ek_tof_at(const ek_bridge_config_t *c) { return ek_thm_at(c) + c->n_thm; }
static inline uint32_t ek_extra_at(const ek_bridge_config_t *c)
{
    return ek_tof_at(c) + EK_TOF_PIXELS * (uint32_t)c->n_tof_sensors;
}

/* Variable-size blocks by offset table entry. A ring block: header word (head in h[0], count in
 * h[1]) then `capacity` floats. */
static inline ek_word_t *ek_block(const ek_bridge_t *b, uint32_t table_entry)
{
    return b->workspace + b->workspace[b->sections[EK_SECTION_TABLE] + table_entry].u;
}
/* Held thermopiles (n_thm words) then extras (n_extra words). */
static inline ek_word_t *ek_held(const ek_bridge_t *b) { return b->workspace + b->sections[EK_SECTION_HELD]; }
static inline ek_word_t *ek_ring_block(const ek_bridge_t *b, uint32_t k) { return ek_block(b, k); }
static inline ek_word_t *ek_extremum_block(const ek_bridge_t *b, uint32_t k)
{
    return ek_block(b, b->config->n_rings + k);
}
static inline ek_word_t *ek_zcr_block(const ek_bridge_t *b, uint32_t k)
{
    return ek_block(b, (uint32_t)b->config->n_rings + b->config->n_extrema + k);
}
static inline ek_word_t *ek_dft_block(const ek_bridge_t *b, uint32_t k)
{
    return ek_block(b, (uint32_t)b->config->n_rings + b->config->n_extrema + b->config->n_zcr + k);
}

#endif /* EK_INTERNAL_H */
