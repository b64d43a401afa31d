"""The generated model against ONNX Runtime, bit for bit, on this machine.

A step model steps through each window from the zero state (ORT with its float state fed back,
as `edgekit stream` does; the C model with its own uint8 state); a window model runs on the last
`window` samples of each window at least that long. Every logit is compared exactly; the report
gives the share of identical outputs, of logits within one quantization step (±1 LSB of the
output scale) and the argmax agreement. The reference session is `make_session`'s: onnxruntime's
default optimisation level, one thread, the session `edgekit stream` runs.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from edgekit.device.host import HostModel, build_shared
from edgekit.export import names
from edgekit.runtime.metadata import KIND_STEP
from edgekit.runtime.session import make_session


def host_model(package: Path, build_dir: Path) -> HostModel:
    report = json.loads((Path(package) / "model.json").read_text())
    lib = build_shared(Path(package), report["name"], Path(build_dir))
    return HostModel(lib, report["name"], report["n_inputs"], report["n_classes"], report["arena_bytes"],
                     report["state_bytes"])


def reference_logits(model_path: Path, kind: str, sequences: list[np.ndarray], window: int) -> list[np.ndarray]:
    """ORT's logits: per step of each sequence (step model) or per full window (window model)."""
    session = make_session(model_path)
    out = []
    if kind == KIND_STEP:
        inputs = session.get_inputs()
        outputs = [o.name for o in session.get_outputs()]
        for seq in sequences:
            state = [np.zeros([1, *i.shape[1:]], np.float32) for i in inputs[1:]]
            rows = []
            for x in seq:
                res = session.run(outputs, dict(zip([i.name for i in inputs], [x[None], *state])))
                rows.append(res[0][0])
                state = res[1:]
            out.append(np.array(rows, np.float32))
    else:
        for seq in sequences:
            out.append(session.run([names.OUTPUT], {names.INPUT: seq[-window:][None]})[0])
    return out


def device_logits(model: HostModel, kind: str, sequences: list[np.ndarray], window: int) -> list[np.ndarray]:
    out = []
    for seq in sequences:
        if kind == KIND_STEP:
            model.reset()
            out.append(np.array([model.step(x) for x in seq], np.float32))
        else:
            out.append(model.run(seq[-window:])[None])
    return out


def compare(got: list[np.ndarray], want: list[np.ndarray], lsb: float) -> dict:
    g, w = np.concatenate(got).reshape(-1, got[0].shape[-1]), np.concatenate(want).reshape(-1, want[0].shape[-1])
    diff = np.abs(g.astype(np.float64) - w.astype(np.float64))
    return {"outputs": int(len(g)), "logits": int(g.size), "identical_outputs": int(np.all(g == w, axis=1).sum()),
            "identical_logit_share": float((g == w).mean()),
            "within_one_lsb_share": float((diff <= lsb * 1.0001).mean()),
            "max_abs_diff": float(diff.max(initial=0.0)),
            "argmax_agreement": float((g.argmax(1) == w.argmax(1)).mean()),
            "bit_exact": bool(np.array_equal(g.view(np.uint32), w.view(np.uint32)))}


def check_exact(model_path: str | Path, package: str | Path, sequences: list[np.ndarray],
                build_dir: str | Path) -> dict:
    """Compile the package for this machine and compare it with ORT on `sequences` ((T_i, C) raw features)."""
    package = Path(package)
    report = json.loads((package / "model.json").read_text())
    kind, window = report["kind"], int(report["window"])
    if kind != KIND_STEP:
        sequences = [s for s in sequences if len(s) >= window]
    model = host_model(package, Path(build_dir))
    want = reference_logits(Path(model_path), kind, sequences, window)
    got = device_logits(model, kind, sequences, window)
    result = compare(got, want, output_lsb(Path(model_path)))
    result.update(kind=kind, windows=len(sequences), reference="onnxruntime default optimisation, 1 thread")
    return result


def output_lsb(model_path: Path) -> float:
    """The output's quantization step: the scale of the DequantizeLinear writing the logits."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(model_path))
    inits = {i.name: i for i in model.graph.initializer}
    out = model.graph.output[0].name
    for node in model.graph.node:
        if out in node.output and node.op_type == "DequantizeLinear" and node.input[1] in inits:
            return float(numpy_helper.to_array(inits[node.input[1]]).reshape(-1)[0])
    return 0.0


def stream_classes(model_path: str | Path, samples: np.ndarray, resets: np.ndarray, hop: int,
                   left_handed: np.ndarray | None = None) -> np.ndarray:
    """The class `edgekit stream` gives at each raw sample (-1 where the device emits none: a window
    model before its first full window and between hops). The host Streamer runs the model every
    `hop` samples, on the C bridge of the model's own spec, with the INT8 file in ONNX Runtime; a
    reset starts a new sequence (bridge and model state back to the start)."""
    from edgekit.runtime.sources import Sample
    from edgekit.runtime.stream import StreamOptions, Streamer

    streamer = Streamer(model_path, StreamOptions(hop=hop))
    sequence = np.cumsum(np.asarray(resets, bool) | (np.arange(len(samples)) == 0))
    hands = np.zeros(len(samples), bool) if left_handed is None else np.asarray(left_handed, bool)
    events = [Sample(i + 1, str(sequence[i]), None, np.asarray(v, np.float32), handedness=0 if hands[i] else 1)
              for i, v in enumerate(samples)]
    classes = np.full(len(samples), -1, np.int64)

    def keep(pred) -> None:
        if not pred.final and (streamer.step_mode or pred.sample + 1 >= streamer.window):
            classes[pred.line - 1] = pred.class_index

    streamer.run(events, on_prediction=keep)
    return classes
