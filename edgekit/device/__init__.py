"""The INT8 student on a microcontroller: ONNX → C99, exact to ONNX Runtime (issue 13).

    graph.py    the INT8 ONNX file as ONNX Runtime runs it (its fusions, static shapes)
    lower.py    element-wise regions → 256-entry tables; nodes.py: one typed op per node (ops.py)
    fuse.py     exact rewrites for the step model (state rings, DQ→op→Q in one pass)
    plan.py     the static arena, planned by value lifetime
    codegen.py  C99 source; package.py the self-contained package (bridge + spec + model + CMake)
    host.py / check.py   the C on this machine against ONNX Runtime, bit for bit
    qemu.py / bench.py   the Cortex-M4F build under QEMU: instructions, flash, RAM
    export.py / demo.py  the steps of `edgekit export --target cortex-m4` and `edgekit demo`

Kernels: `firmware_bridge/model/` (shipped with the bridge). Torch-free.
"""
