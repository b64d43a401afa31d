/* The golden vectors, embedded byte for byte so the same test runs on the host and on the M4
 * (no file system needed under QEMU). Assembled with -I firmware_bridge/golden. */
    .section .rodata
    .balign 4
    .global ek_golden_cmi, ek_golden_cmi_end
ek_golden_cmi:
    .incbin "cmi.bin"
ek_golden_cmi_end:
    .balign 4
    .global ek_golden_uci, ek_golden_uci_end
ek_golden_uci:
    .incbin "uci.bin"
ek_golden_uci_end:
    .balign 4
    .global ek_golden_kitchen, ek_golden_kitchen_end
ek_golden_kitchen:
    .incbin "kitchen.bin"
ek_golden_kitchen_end:
#if defined(__ELF__)
    .section .note.GNU-stack,"",%progbits
#endif
