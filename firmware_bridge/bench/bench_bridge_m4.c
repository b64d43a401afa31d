/* Cortex-M4F instructions per sample of ek_bridge_push_block for the default spec
 * (golden/ek_spec_cmi.h) on the golden stream's first segment, under QEMU with -icount shift=0:
 * there one instruction takes 1 ns of virtual time and SysTick, on the 25 MHz core clock,
 * ticks every 40 instructions (calibrated: a 2,000,000-instruction loop reads 50,000 ticks).
 * Deterministic, so it compares builds exactly; it counts instructions, not M4 cycles, and the
 * library is built at build.json's optimisation level, like edgekit bridge size's probes.
 *   cmake --preset cortex-m4 -S firmware_bridge -B build/bridge-m4
 *   cmake --build build/bridge-m4 --target bench_bridge_m4.elf
 *   qemu-system-arm -M mps2-an386 -nographic -semihosting -icount shift=0 -kernel build/bridge-m4/bench_bridge_m4.elf */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "edgekit_bridge.h"
#include "ek_spec_cmi.h"

extern const unsigned char ek_golden_cmi[];

#define CHUNK 52u
#define REPEATS 20u
#define INSTRUCTIONS_PER_TICK 40u
#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)

static ek_word_t workspace[EK_SPEC_CMI_WORKSPACE_WORDS];
static float in[CHUNK * EK_SPEC_CMI_N_INPUTS], out[CHUNK * EK_SPEC_CMI_N_FEATURES];
static ek_bridge_t bridge;

int main(void)
{
    uint32_t n_in = EK_SPEC_CMI_N_INPUTS, n_seg, n_stream, k, start, ticks, per_sample_x100;
    const unsigned char *p = ek_golden_cmi;
    /* the golden file's first segment (52 samples with faults) is the stream, as in bench_bridge.c */
    memcpy(&n_seg, p + 32, 4);
    memcpy(&n_stream, p + 40, 4);
    p += 36u + 8u * n_seg + 4u * EK_SPEC_CMI_N_FEATURES;
    for (k = 0; k < CHUNK; ++k) memcpy(in + k * n_in, p + 4u * (k % n_stream) * n_in, 4u * n_in);
    if (ek_bridge_init(&bridge, &ek_spec_cmi, EK_RIGHT_HANDED, workspace, sizeof workspace) != EK_OK) return 1;
    ek_bridge_push_block(&bridge, in, CHUNK, out); /* past the first, unrepresentative windows */
    SYST_RVR = 0xFFFFFFu;                          /* 24-bit down-counter: 671 M instructions */
    SYST_CVR = 0u;
    SYST_CSR = 5u; /* enable, core clock, no interrupt */
    start = SYST_CVR;
    for (k = 0; k < REPEATS; ++k) ek_bridge_push_block(&bridge, in, CHUNK, out);
    ticks = (start - SYST_CVR) & 0xFFFFFFu;
    per_sample_x100 = (uint32_t)((uint64_t)ticks * INSTRUCTIONS_PER_TICK * 100u / (REPEATS * CHUNK));
    printf("spec %s samples %lu m4_instructions_per_sample %lu.%02lu\n", EK_SPEC_CMI_HASH,
           (unsigned long)(REPEATS * CHUNK), (unsigned long)(per_sample_x100 / 100u),
           (unsigned long)(per_sample_x100 % 100u));
    return 0;
}
