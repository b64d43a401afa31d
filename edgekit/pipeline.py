"""File-in, file-out steps of the spine, shared by the CLI commands and `edgekit demo`.

Each step takes paths, calls the library, writes its outputs atomically and returns a JSON-able
report; nothing here prints.
"""

from __future__ import annotations

import time
from pathlib import Path

from edgekit.data.long_table import table_suffix, write_table
from edgekit.io import write_text_atomic


def simulate_to(out: Path, *, n_sequences: int, seed: int = 0, config=None) -> dict:
    """Simulate a CMI-schema dataset (`config`: a `SimConfig`, None for the default) and write it
    (train table + demographics) at `out`."""
    from edgekit.data.simulator import simulate, write_simulation

    out = Path(out)
    table_suffix(out)  # refuse a bad --out before the work
    start = time.perf_counter()
    data = simulate(n_sequences, seed=seed, config=config)
    simulate_s = time.perf_counter() - start
    paths = write_simulation(data, out)
    return {
        "sequences": n_sequences,
        "rows": data.train.height,
        "subjects": data.demographics.height,
        "sample_period_s": data.sample_period_s,
        "simulate_s": round(simulate_s, 3),
        "written": {k: str(v) for k, v in paths.items()},
    }


def features_to(path: Path, out: Path, *, spec_name: str | None = None) -> dict:
    """Load any supported dataset, compute its causal features and write them with the spec."""
    from edgekit.data.load import load_dataset
    from edgekit.features import features_for_dataset, resolve_spec

    out = Path(out)
    table_suffix(out)  # refuse a bad --out before the work
    ds = load_dataset(path)
    spec = resolve_spec(spec_name, ds)
    start = time.perf_counter()
    feats = features_for_dataset(ds, spec)
    compute_s = time.perf_counter() - start
    frame = feats.to_long_frame()
    write_table(frame, out)
    spec_path = out.with_suffix(".spec.json")
    write_text_atomic(spec_path, spec.to_json())
    return {
        "input": str(path),
        "sequences": len(feats),
        "rows": frame.height,
        "features": len(spec.names()),
        "spec_hash": spec.hash(),
        "compute_s": round(compute_s, 3),
        "written": str(out),
        "spec": str(spec_path),
        "feature_names": list(spec.names()),
    }
