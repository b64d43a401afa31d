/* Flash probe of a generated package: the smallest program that initialises (level 1) the bridge
 * with the model's spec and pushes one sample, (level 2) also runs the model once, (level 0)
 * neither. Linked with the same startup and newlib; the flash of a part = the difference of
 * text + data between levels (edgekit.device.qemu.flash_report). */
#include <stdint.h>

#include "ek_device_config.h"

volatile float sample[EKD_N_RAW];
volatile float sink;

#if EK_PROBE_LEVEL >= 1
static ek_bridge_t bridge;
static ek_word_t workspace[EKD_WORKSPACE_WORDS];
static float raw[EKD_N_RAW], features[EKD_N_FEATURES];
#endif
#if EK_PROBE_LEVEL >= 2
static ek_model_t model;
static ek_word_t arena[EKD_ARENA_WORDS], state[EKD_STATE_WORDS];
static float inputs[EKD_N_INPUTS * EKD_WINDOW], logits[EKD_N_CLASSES];
#endif

int main(void)
{
#if EK_PROBE_LEVEL >= 1
    uint32_t k;
    if (ek_bridge_init(&bridge, &EKD_SPEC, EK_RIGHT_HANDED, workspace, sizeof workspace) != EK_OK) return 1;
    for (k = 0; k < EKD_N_RAW; ++k) raw[k] = sample[k];
    ek_bridge_push(&bridge, raw, features);
    sink = features[0];
#if EK_PROBE_LEVEL >= 2
    for (k = 0; k < EKD_N_INPUTS * EKD_WINDOW; ++k) inputs[k] = features[k % EKD_N_FEATURES];
    if (ek_model_init(&model, &EKD_MODEL, arena, sizeof arena, state, sizeof state) != EK_OK) return 2;
    if (EKD_KIND == EK_MODEL_STEP) ek_model_step(&model, inputs, logits);
    else ek_model_run(&model, inputs, logits);
    sink = logits[ek_model_argmax(logits, EKD_N_CLASSES)];
#endif
#else
    sink = sample[0];
#endif
    return 0;
}
