"""Instructions per sample of the C bridge (default spec) under valgrind's callgrind: a figure that
does not move with machine load, unlike ns/sample.

    .venv/bin/python bench/bridge_callgrind.py [--out results/bench/bridge_callgrind.json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from edgekit.bridge import toolchain


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        exe = toolchain.build_host_bench(tmp)
        per_sample = toolchain.instructions_per_sample(exe)
    report = {"spec": "cmi_default", "compiler": "gcc -O2 (x86-64 host)", "instructions_per_sample": round(per_sample)}
    text = json.dumps(report, indent=2)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
