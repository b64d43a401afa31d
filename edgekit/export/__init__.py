"""edgekit.export: a run's student → ONNX fp32 → INT8 QDQ / FP16 → TensorRT engine, each step
file in → file out with a parity check against the step before (`run.export_run` chains them).

Modules: `names` (graph I/O names), `onnx` (torch → fp32 ONNX, parity with torch), `normalize`
(scaler folded into the graph), `metadata` (writes `metadata_props`; keys in
`edgekit.runtime.metadata`), `precision` (precisions and tolerances), `profiles` (export/*.toml
targets), `windows` (raw calibration/validation windows), `quantize` (static INT8), `census`
(integer vs float op counts), `fp16`, `qat` (fake-quant fine-tuning), `streaming` (step models),
`tensorrt` (engines), `drift` (a quantized file past its tolerance fails or, with --allow-drift, is
marked), `scratch` (temporaries inside the output folder).
"""
