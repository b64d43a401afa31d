/* Cortex-M4F entry of the golden-vector test: prove the FPU is on, then run the same checks as
 * the host (tests/test_golden.c, compiled with EK_GOLDEN_NO_MAIN). */
#include <stdint.h>
#include <stdio.h>

int ek_golden_run(void);

int main(void)
{
    uint32_t cpacr = *(volatile uint32_t *)0xE000ED88u;
    printf("cortex-m4f golden test: CPACR=0x%08lx (FPU %s)\n", (unsigned long)cpacr,
           ((cpacr >> 20) & 0xFu) == 0xFu ? "enabled" : "DISABLED");
    return ek_golden_run();
}
