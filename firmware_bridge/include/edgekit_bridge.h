/*
 * edgekit_bridge.h - the one public header of the edgekit firmware feature bridge.
 *
 * The bridge computes, sample by sample on the device, exactly the causal features an edgekit
 * model was trained on (edgekit.features.FeatureSpec; reference: edgekit/features/reference.py).
 * C99, float32, no malloc, no globals, no hidden statics: the caller owns every byte.
 *
 *   ek_bridge_t bridge;                          // per-stream state (sizeof(ek_bridge_t) bytes)
 *   static ek_word_t ws[EK_SPEC_CMI_WORKSPACE_WORDS];  // from the generated ek_spec_cmi.h
 *   if (ek_bridge_init(&bridge, &ek_spec_cmi, EK_RIGHT_HANDED, ws, sizeof ws) != EK_OK) ...
 *   ek_bridge_push(&bridge, sample, features);  // sample: n_inputs floats, features: n_features
 *
 * The configuration (ek_bridge_config_t) is generated from a FeatureSpec by
 * `edgekit.bridge.config.generate_header(spec)` (or filled by the Python binding). init validates
 * all of it and refuses anything it cannot compute exactly as the spec says (EK_ERR_*).
 *
 * Memory: RAM per stream = sizeof(ek_bridge_t) + 4 * workspace words, where the workspace is the
 * sum of the EK_*_WORDS macros below over the config's rings and trackers (the generated header
 * writes that sum; ek_bridge_workspace_words() computes it at run time).
 *
 * Numerical contract: float32 throughout; finite outputs for every input. A value is missing
 * (held or ignored under the NaN policy) when it is NaN, +-Inf or outside its role's physical
 * range (EK_*_RANGE below; edgekit/features/spec.py), so no input can overflow a window. Denormal
 * inputs are ordinary tiny values: do not build the bridge to flush them to zero, or decisions on
 * them (zero crossings, quaternion signs) may differ from the reference. The running sums are
 * rebuilt from their ring buffers each time a ring wraps, which bounds float32 drift.
 */
#ifndef EDGEKIT_BRIDGE_H
#define EDGEKIT_BRIDGE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bump on any change to a struct layout, an enum value or a function signature. */
#define EK_ABI_VERSION 4u

#define EK_SPEC_HASH_CHARS 16u      /* FeatureSpec.hash(): 16 lowercase hex digits */
#define EK_MAX_THM 8u               /* thermopiles */
#define EK_MAX_TOF_SENSORS 5u       /* time-of-flight 8x8 sensors */
#define EK_TOF_PIXELS 64u
#define EK_TOF_GRID 8u
#define EK_MAX_EXTRA 16u            /* pass-through channels */
#define EK_MAX_WINDOW 4096u         /* any rolling window, in samples */
#define EK_MAX_BINS 8u              /* DFT bins per band-power tracker */
#define EK_MAX_FEATURES 4096u
#define EK_SAFE_INPUT_ABS 1.0e12f   /* no longer a limit (every input gives finite outputs); kept for old callers */

/* The NaN policy's constants (edgekit/features/spec.py, reference.py). */
#define EK_QUAT_MIN_NORM 1.0e-6f
#define EK_VARIANCE_FLOOR 1.0e-9f
#define EK_MIN_ACC_NORM 1.0e-9f
#define EK_SPECTRUM_FLOOR 1.0e-9f   /* below this total power a window is flat: entropy, dominant 0 */
#define EK_DOMINANT_TIE 1.0e-4f     /* bins within this fraction of the largest power tie with it */
/* Physical ranges, ends included (spec.py's *_RANGE): a value outside is missing, as NaN is.
 * Per component; acc after acc_scale (m/s^2), so a scale that overflows makes it missing too. */
#define EK_ACC_RANGE 156.9064f      /* |acc|, m/s^2: 16 g */
#define EK_GYRO_RANGE 35.0f         /* |gyro|, rad/s */
#define EK_QUAT_RANGE 1.5f          /* |quaternion component| */
#define EK_THM_RANGE_LOW (-70.0f)   /* thermopile, degC */
#define EK_THM_RANGE_HIGH 380.0f
#define EK_TOF_RANGE_HIGH 254.0f    /* valid ToF pixels are 0..254; -1 means no return */
#define EK_TOF_SCALED_NO_RETURN 10.0f /* EK_OUT_TOF_PIXEL_SCALED: a pixel with no return (-1) */
#define EK_TOF_SCALED_ZERO (-10.0f)   /* EK_OUT_TOF_PIXEL_SCALED: a pixel reading 0 */
#define EK_EXTRA_RANGE 1.0e6f       /* |extra pass-through channel| */

typedef int32_t ek_status_t;
#define EK_OK 0
#define EK_ERR_NULL (-1)             /* a NULL pointer argument */
#define EK_ERR_ABI (-2)              /* config.abi_version != EK_ABI_VERSION */
#define EK_ERR_INPUTS (-3)           /* input layout out of range or n_inputs inconsistent */
#define EK_ERR_PARAMETER (-4)        /* dt, gravity, acc_scale, threshold not positive and finite */
#define EK_ERR_POLICY (-5)           /* unknown NaN policy or tilt source */
#define EK_ERR_MIRROR (-6)           /* mirror plan not a sign vector / permutation */
#define EK_ERR_SIGNAL (-7)           /* a tracker or output names a signal these inputs lack */
#define EK_ERR_WINDOW (-8)           /* a window outside 1..EK_MAX_WINDOW, or rings mismatched */
#define EK_ERR_TRACKER (-9)          /* a tracker index out of range */
#define EK_ERR_OUTPUT (-10)          /* unknown output kind or n_features inconsistent */
#define EK_ERR_BINS (-11)            /* a DFT bin outside 1..window/2, or a band outside a spectrum's bins */
#define EK_ERR_HASH (-12)            /* spec_hash is not 16 hex digits */
#define EK_ERR_WORKSPACE (-13)       /* workspace too small or not 4-byte aligned */
#define EK_ERR_HANDEDNESS (-14)      /* handedness not EK_LEFT_HANDED / EK_RIGHT_HANDED */

#define EK_LEFT_HANDED 0
#define EK_RIGHT_HANDED 1

enum { EK_NAN_HOLD_LAST = 1 };
enum { EK_TILT_NONE = 0, EK_TILT_ORIENTATION = 1, EK_TILT_ACCELEROMETER = 2 };

/* Per-sample signals: the vocabulary of outputs and windowed trackers (catalog.per_sample_signals). */
enum {
    EK_SIG_ACC_X = 0, EK_SIG_ACC_Y, EK_SIG_ACC_Z, EK_SIG_ACC_MAG,
    EK_SIG_GYRO_X, EK_SIG_GYRO_Y, EK_SIG_GYRO_Z, EK_SIG_GYRO_MAG,
    EK_SIG_ROT_W, EK_SIG_ROT_X, EK_SIG_ROT_Y, EK_SIG_ROT_Z, EK_SIG_ROT_ANGLE,
    EK_SIG_LINACC_X, EK_SIG_LINACC_Y, EK_SIG_LINACC_Z, EK_SIG_LINACC_MAG,
    EK_SIG_ANGVEL_X, EK_SIG_ANGVEL_Y, EK_SIG_ANGVEL_Z, EK_SIG_ANGDIST,
    EK_SIG_ROLL, EK_SIG_PITCH, EK_SIG_YAW, EK_SIG_ROLL_RATE, EK_SIG_PITCH_RATE, EK_SIG_YAW_RATE,
    EK_SIG_TILT, EK_SIG_TILT_RATE,
    EK_SIG_THM_MEAN, EK_SIG_THM_STD, EK_SIG_THM_MIN, EK_SIG_THM_MAX, EK_SIG_THM_VALID,
    EK_SIG_THM_1,                                          /* + k, k < EK_MAX_THM */
    EK_SIG_THM_1_MISSING = EK_SIG_THM_1 + EK_MAX_THM,      /* + k */
    EK_SIG_TOF_1_MEAN = EK_SIG_THM_1_MISSING + EK_MAX_THM, /* + 5 * sensor + stat */
    EK_SIG_EXTRA_1 = EK_SIG_TOF_1_MEAN + 5 * EK_MAX_TOF_SENSORS, /* + k */
    EK_SIG_COUNT = EK_SIG_EXTRA_1 + EK_MAX_EXTRA
};
enum { EK_STAT_MEAN = 0, EK_STAT_STD, EK_STAT_MIN, EK_STAT_MAX, EK_STAT_VALID }; /* thm/ToF aggregates */

/* What one output feature is; `index` names a signal, ToF pixel or tracker, `bin` a DFT bin slot. */
enum {
    EK_OUT_SIGNAL = 1,     /* index: EK_SIG_* */
    EK_OUT_TOF_PIXEL,      /* index: sensor * 64 + pixel; missing pixels read -1 */
    EK_OUT_JERK,           /* index: prev slot; (signal - previous) / dt, 0 on the first sample */
    EK_OUT_MEAN,           /* index: moments tracker */
    EK_OUT_STD,            /* index: moments tracker (population) */
    EK_OUT_MAX,            /* index: extremum tracker (is_max = 1) */
    EK_OUT_MIN,            /* index: extremum tracker (is_max = 0) */
    EK_OUT_ENERGY,         /* index: energy tracker (mean of squares) */
    EK_OUT_ZCR,            /* index: zero-crossing tracker */
    EK_OUT_CORR,           /* index: correlation tracker */
    EK_OUT_STATIONARY,     /* index: moments tracker; 1 when its std < stationary_threshold */
    EK_OUT_BANDPOWER,      /* index: DFT tracker, bin: which of its bins */
    EK_OUT_MEDIAN,         /* index: median tracker */
    EK_OUT_JERK_MAG,       /* index: prev slot of acc_x, followed by acc_y, acc_z; |d acc| / dt */
    EK_OUT_SPECTRAL_ENTROPY, /* index: spectrum tracker; normalised Shannon entropy of its bins */
    EK_OUT_DOMINANT_FREQ,  /* index: spectrum tracker; Hz of its largest bin (lowest of ties) */
    EK_OUT_BAND_SUM,       /* index: band; the sum of its spectrum's bins first_bin..last_bin */
    EK_OUT_TOF_PIXEL_SCALED, /* as EK_OUT_TOF_PIXEL, then -1 -> EK_TOF_SCALED_NO_RETURN, 0 -> EK_TOF_SCALED_ZERO */
    EK_OUT_KIND_END
};

typedef struct { uint8_t kind; uint8_t bin; uint16_t index; } ek_output_t;
typedef struct { uint16_t signal; uint16_t capacity; } ek_ring_config_t;    /* last `capacity` values */
typedef struct { uint16_t ring; uint16_t unused; } ek_moments_config_t;    /* sliding Welford */
typedef struct { uint16_t ring; uint16_t is_max; } ek_extremum_config_t;   /* monotonic deque */
typedef struct { uint16_t ring; uint16_t unused; } ek_energy_config_t;     /* mean of squares */
typedef struct { uint16_t prev; uint16_t window; } ek_zcr_config_t;        /* sign changes */
typedef struct { uint16_t ring_a; uint16_t ring_b; } ek_corr_config_t;     /* same capacity */
typedef struct { uint16_t ring; uint16_t n_bins; uint16_t bins[EK_MAX_BINS]; } ek_dft_config_t;
typedef struct { uint16_t ring; uint16_t unused; } ek_median_config_t;     /* ring slots in value order */
/* A sliding DFT at every bin 1 .. (capacity - 1) / 2 of its ring (between DC and Nyquist). */
typedef struct { uint16_t ring; uint16_t unused; } ek_spectrum_config_t;
typedef struct { uint16_t spectrum; uint16_t first_bin; uint16_t last_bin; uint16_t unused; } ek_band_config_t;

/* Left-handed wearers are mirrored into the right-hand frame (edgekit/features/mirror.py):
 * signs for acc/rot/gyro, a sensor permutation for thm and ToF, each ToF image flipped left-right. */
typedef struct {
    uint8_t enabled;
    int8_t acc_sign[3];
    int8_t rot_sign[4];
    int8_t gyro_sign[3];
    uint8_t thm_source[EK_MAX_THM];        /* mirrored thm k reads raw thm thm_source[k] */
    uint8_t tof_source[EK_MAX_TOF_SENSORS];
    uint8_t tof_flip_columns;
} ek_mirror_t;

typedef struct ek_bridge_config {
    uint32_t abi_version;                  /* EK_ABI_VERSION */
    char spec_hash[EK_SPEC_HASH_CHARS + 1];
    uint8_t nan_policy;                    /* EK_NAN_HOLD_LAST */
    uint8_t tilt_source;                   /* EK_TILT_* (the tilt family's source) */
    uint8_t has_rot, has_gyro;             /* inputs: acc(3), rot(4)?, gyro(3)?, thm, ToF, extra */
    uint8_t n_thm, n_tof_sensors, n_extra;
    uint16_t n_inputs, n_features;         /* must match the layout and the outputs */
    float sample_period_s, gravity, acc_scale, stationary_threshold;
    ek_mirror_t mirror;
    const ek_ring_config_t *rings;         uint16_t n_rings;
    const uint16_t *prev_signals;          uint16_t n_prev;  /* signals whose last value is kept */
    const ek_moments_config_t *moments;    uint16_t n_moments;
    const ek_extremum_config_t *extrema;   uint16_t n_extrema;
    const ek_energy_config_t *energy;      uint16_t n_energy;
    const ek_zcr_config_t *zcr;            uint16_t n_zcr;
    const ek_corr_config_t *corr;          uint16_t n_corr;
    const ek_dft_config_t *dft;            uint16_t n_dft;
    const ek_median_config_t *medians;     uint16_t n_medians;
    const ek_spectrum_config_t *spectra;   uint16_t n_spectra;
    const ek_band_config_t *bands;         uint16_t n_bands;   /* no workspace: read the spectra */
    const ek_output_t *outputs;            /* n_features entries, in FeatureSpec.names() order */
} ek_bridge_config_t;

/* One workspace word. A union so that ring values (float), counters and deque slots share one
 * caller-declared array without breaking C's aliasing rules. */
typedef union ek_word { float f; uint32_t u; uint16_t h[2]; uint8_t b[4]; } ek_word_t;

/* Workspace words per ring/tracker; a config needs the sum over its arrays. Variable-size
 * blocks count one extra word for their entry in the workspace's offset table. */
#define EK_HELD_WORDS(n_thm, n_extra) ((uint32_t)(n_thm) + (uint32_t)(n_extra)) /* held thm, extras */
#define EK_RING_WORDS(capacity) (2u + (uint32_t)(capacity))
#define EK_PREV_WORDS 1u
#define EK_MOMENTS_WORDS 4u
#define EK_EXTREMUM_WORDS(capacity) (2u + ((uint32_t)(capacity) + 1u) / 2u)
#define EK_ENERGY_WORDS 2u
#define EK_ZCR_WORDS(window) (3u + ((uint32_t)(window) + 3u) / 4u)
#define EK_CORR_WORDS 9u
#define EK_DFT_WORDS(window, n_bins) (1u + 2u * (uint32_t)(window) + 3u * (uint32_t)(n_bins))
#define EK_MEDIAN_WORDS(capacity) (1u + ((uint32_t)(capacity) + 1u) / 2u)
#define EK_SPECTRUM_WORDS(window) (1u + 2u * (uint32_t)(window) + 2u * (((uint32_t)(window) - 1u) / 2u))

/* Per-stream state. Opaque in spirit: fields may change with EK_ABI_VERSION. */
typedef struct ek_bridge {
    const ek_bridge_config_t *config;
    ek_word_t *workspace;
    uint32_t needs;                        /* which signal groups the config reads */
    uint32_t sections[10];                 /* workspace word offset of each tracker array */
    uint8_t mirrored;                      /* handedness left and config.mirror.enabled */
    uint8_t started;                       /* 0 before the first sample of a sequence */
    uint16_t leading_signals;              /* outputs before the first that is not EK_OUT_SIGNAL */
    float acc[3], gyro[3], q[4];           /* held under the NaN policy (thm, extras: workspace) */
    float prev_q[4];                       /* last sample's orientation (angular velocity) */
    float prev_euler[6];                   /* atan2 arguments of roll, pitch, yaw (rates) */
    float prev_tilt[2];                    /* (sin, cos) of the last tilt (tilt rate) */
} ek_bridge_t;

uint32_t ek_abi_version(void);

/* Words of workspace `config` needs, at least 1 (a spec that keeps no state, such as the raw
 * channels alone, still gets one, so a caller's array is never empty); 0 when the config is
 * invalid (see ek_bridge_config_check). */
uint32_t ek_bridge_workspace_words(const ek_bridge_config_t *config);

/* Validate a config without a state; EK_OK or the first error found. */
ek_status_t ek_bridge_config_check(const ek_bridge_config_t *config);

/* Validate `config`, lay out `workspace` (4-byte aligned, `workspace_bytes` long) and reset.
 * `config` and `workspace` must outlive `bridge`; handedness is EK_LEFT_HANDED or EK_RIGHT_HANDED. */
ek_status_t ek_bridge_init(ek_bridge_t *bridge, const ek_bridge_config_t *config, int32_t handedness,
                           ek_word_t *workspace, size_t workspace_bytes);

/* Forget the sequence: the next sample is a first sample (same config, handedness, workspace). */
void ek_bridge_reset(ek_bridge_t *bridge);

/* One raw sample (config->n_inputs floats, FeatureSpec.input_columns() order) in; one feature
 * vector (config->n_features floats, FeatureSpec.names() order) out. */
void ek_bridge_push(ek_bridge_t *bridge, const float *sample, float *features_out);

/* n samples, row-major (n, n_inputs) in and (n, n_features) out: ek_bridge_push n times. */
void ek_bridge_push_block(ek_bridge_t *bridge, const float *samples, uint32_t n, float *features_out);

/* The FeatureSpec hash the config was generated from (NUL-terminated, 16 hex digits). */
const char *ek_bridge_spec_hash(const ek_bridge_t *bridge);

uint32_t ek_bridge_n_inputs(const ek_bridge_t *bridge);
uint32_t ek_bridge_n_features(const ek_bridge_t *bridge);

#ifdef __cplusplus
}
#endif

#endif /* EDGEKIT_BRIDGE_H */
