/* The public entry points: init (validate, lay out, reset), push (clean, signals, windows,
 * outputs), the block call and the accessors. */
#include "ek_internal.h"

uint32_t ek_abi_version(void) { return EK_ABI_VERSION; }

/* Which signal groups the config reads, so a push computes nothing it will not use. */
static uint32_t config_needs(const ek_bridge_config_t *c)
{
    uint32_t needs = 0u, k;
    for (k = 0; k < c->n_rings; ++k) needs |= ek_signal_needs(c->rings[k].signal);
    for (k = 0; k < c->n_prev; ++k) needs |= ek_signal_needs(c->prev_signals[k]);
    for (k = 0; k < c->n_features; ++k)
        if (c->outputs[k].kind == EK_OUT_SIGNAL) needs |= ek_signal_needs(c->outputs[k].index);
    if ((needs & EK_NEED_TILT) && c->tilt_source == EK_TILT_ACCELEROMETER) needs |= EK_NEED_ACC_MAG;
    return needs;
}

ek_status_t ek_bridge_init(ek_bridge_t *bridge, const ek_bridge_config_t *config, int32_t handedness,
                           ek_word_t *workspace, size_t workspace_bytes)
{
    ek_status_t status;
    uint32_t words, leading;
    if (!bridge || !workspace) return EK_ERR_NULL;
    if ((status = ek_bridge_config_check(config)) != EK_OK) return status;
    if (handedness != EK_LEFT_HANDED && handedness != EK_RIGHT_HANDED) return EK_ERR_HANDEDNESS;
    if (((uintptr_t)workspace & 3u) != 0u) return EK_ERR_WORKSPACE;
    words = ek_layout(config, bridge->sections, NULL);
    if (workspace_bytes / sizeof(ek_word_t) < words) return EK_ERR_WORKSPACE;
    ek_layout(config, bridge->sections, workspace);
    bridge->config = config;
    bridge->workspace = workspace;
    bridge->needs = config_needs(config);
    bridge->mirrored = (uint8_t)(config->mirror.enabled && handedness == EK_LEFT_HANDED);
    for (leading = 0u; leading < config->n_features && config->outputs[leading].kind == EK_OUT_SIGNAL; ++leading) {}
    bridge->leading_signals = (uint16_t)leading;
    ek_windows_init_tables(bridge);
    ek_bridge_reset(bridge);
    return EK_OK;
}

void ek_bridge_reset(ek_bridge_t *b)
{
    uint32_t k;
    b->started = 0u;
    for (k = 0; k < 3u; ++k) b->acc[k] = b->gyro[k] = 0.0f;
    for (k = 0; k < 4u; ++k) b->q[k] = b->prev_q[k] = k == 0u ? 1.0f : 0.0f; /* identity */
    for (k = 0; k < 6u; ++k) b->prev_euler[k] = 0.0f;
    b->prev_tilt[0] = 0.0f;
    b->prev_tilt[1] = 1.0f;
    ek_windows_reset(b);
}

void ek_bridge_push(ek_bridge_t *b, const float *sample, float *features_out)
{
    const ek_bridge_config_t *c = b->config;
    float sig[EK_SIG_COUNT];
    ek_word_t *prev = b->workspace + b->sections[EK_SECTION_PREV];
    uint32_t k;
    ek_sample_clean(b, sample, sig);
    ek_motion_signals(b, sig);
    ek_windows_update(b, sig);
    ek_outputs_write(b, sample, sig, features_out);
    for (k = 0; k < c->n_prev; ++k) prev[k].f = sig[c->prev_signals[k]];
    for (k = 0; k < 4u; ++k) b->prev_q[k] = b->q[k];
    b->started = 1u;
}

void ek_bridge_push_block(ek_bridge_t *b, const float *samples, uint32_t n, float *features_out)
{
    const uint32_t n_in = b->config->n_inputs, n_out = b->config->n_features;
    uint32_t t;
    for (t = 0; t < n; ++t) ek_bridge_push(b, samples + (size_t)t * n_in, features_out + (size_t)t * n_out);
}

const char *ek_bridge_spec_hash(const ek_bridge_t *b) { return b->config->spec_hash; }
uint32_t ek_bridge_n_inputs(const ek_bridge_t *b) { return b->config->n_inputs; }
uint32_t ek_bridge_n_features(const ek_bridge_t *b) { return b->config->n_features; }
