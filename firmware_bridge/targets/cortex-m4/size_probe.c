/* Flash/RAM probe: the smallest program that initialises the bridge with the default spec
 * (FeatureSpec.cmi_default(), golden/ek_spec_cmi.h) and pushes one sample, so the linker keeps
 * exactly the code and libm the device needs. Built twice: with EK_PROBE_BRIDGE=1 and =0 (the
 * baseline); flash of the bridge = the difference of text + data. */
#include <stdint.h>

#if EK_PROBE_BRIDGE
#include "ek_spec_cmi.h"
static ek_bridge_t bridge;
static ek_word_t workspace[EK_SPEC_CMI_WORKSPACE_WORDS];
#endif
volatile float sample[332];
volatile float sink;

int main(void)
{
#if EK_PROBE_BRIDGE
    float in[EK_SPEC_CMI_N_INPUTS], out[EK_SPEC_CMI_N_FEATURES];
    uint32_t k;
    if (ek_bridge_init(&bridge, &ek_spec_cmi, EK_LEFT_HANDED, workspace, sizeof workspace) != EK_OK) return 1;
    for (k = 0; k < EK_SPEC_CMI_N_INPUTS; ++k) in[k] = sample[k];
    ek_bridge_push(&bridge, in, out);
    sink = out[EK_SPEC_CMI_N_FEATURES - 1u];
#else
    sink = sample[0];
#endif
    return 0;
}
