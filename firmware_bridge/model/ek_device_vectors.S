/* The device check program's vector file (edgekit.device.vectors), embedded with .incbin so one
 * program runs on the host and on the M4 (no file system under QEMU). Assembled with -I <folder of
 * ek_device_vectors.bin>, set by the build. */
    .section .rodata
    .balign 4
    .global ek_device_vectors
ek_device_vectors:
    .incbin "ek_device_vectors.bin"
    .balign 4
#if defined(__ELF__)
    .section .note.GNU-stack,"",%progbits
#endif
