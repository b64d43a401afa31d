"""What each piece of the seed designs adds or costs, measured side by side in one run.

    .venv/bin/python bench/pieces.py --data ../shared/data [--only sim|uci] [--jobs 2]

Every row is one `edgekit train` (the library's `train`, as the CLI calls it) with one piece
switched on and everything else as in its baseline row; the table shows the difference to that
baseline. Pieces that change the teachers are measured on a single teacher (the baseline's own
member, or the model the piece replaces it with), so the row shows that teacher's effect alone;
pieces that change training, augmentation, features or inference run the whole recipe.

- **Simulator** (CMI schema, `recipes/sim/quickstart.toml` on 960 simulated sequences of 40
  people; a fifth of the people are the test set): the competition score (CMI: mean of binary
  and gesture macro-F1) of the stacked teachers and of the distilled student on the test people,
  on their **IMU-only** view (thermopile and ToF blanked, features recomputed: half of the hidden
  CMI test is like that) and on the **full-sensor** sequences.
- **UCI-HAR** (`recipes/uci_har/teacher_ensemble.toml` with one teacher, resnet1d, over 2
  subject-grouped folds, to halve the time): accuracy on X_test of the teacher pieces and training options that
  apply to a 6-axis IMU (no demographics, no thermopile/ToF there).

The baselines also run with training seed 1: the difference of those two rows is the noise a
piece's difference has to clear. Each row's run directory and metrics are kept under
`results/bench/pieces_runs/`; a rerun skips rows whose metrics exist (delete them to remeasure).
Writes `results/bench/pieces.{json,md}`.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edgekit.io import write_json_atomic, write_text_atomic  # noqa: E402

OUT = ROOT / "results" / "bench"
RUNS = OUT / "pieces_runs"
# the baseline is the quickstart as measured: without the modality dropout these rows made its default
SIM_DATA = ["data.simulate_sequences=960", "data.simulate_subjects=40", "train.augment.modality_dropout_p=0.0"]
UNLABELED_SEQUENCES, UNLABELED_SEED = 600, 7
MANIFOLD_LAYERS = '["stem", "stack.blocks.1", "blocks.0", "stages.0", "backbone.blocks.1"]'  # each model (the student too) mixes those it has


@dataclass(frozen=True)
class Piece:
    dataset: str  # "sim" | "uci"
    name: str
    group: str
    overrides: tuple[str, ...] = ()
    teacher: str = "ensemble"  # or one teacher's name (the recipe's options for it, if it has one)
    members: tuple[tuple[str, dict], ...] = ()  # replaces [teachers] members when given
    edit: str = ""  # a named edit of the recipe (`EDITS`), for what overrides cannot say
    unlabeled: bool = False
    baseline: str = "baseline"  # the row this one is compared with

    @property
    def key(self) -> str:
        return re.sub(r"[^A-Za-z0-9.-]+", "_", f"{self.dataset}__{self.name.replace('+', 'plus')}").strip("_")


def _sim_pieces() -> list[Piece]:
    resnet = ("resnet1d", {"stem_chs": 32, "stages": [{"out_chs": 32}, {"out_chs": 64, "stride": 2}], "drop": 0.1})
    squeeze = {"d_model": 64, "layers": 3, "num_heads": 4, "d_ff": 128, "kernel_size": 15}
    one = "one teacher"
    rows = [
        Piece("sim", "baseline", "baseline"),
        Piece("sim", "baseline seed 1", "noise", ("seed=1",)),
        Piece("sim", "demographics off", "demographics", ("data.demographics=\"none\"",)),
        Piece("sim", "sensor branches", "sensor branches", edit="layout_spec"),
        Piece("sim", "modality dropout 0.4", "sensor branches", ("train.augment.modality_dropout_p=0.4",)),
        Piece("sim", "branches + modality dropout", "sensor branches", ("train.augment.modality_dropout_p=0.4",),
              edit="layout_spec"),
        Piece("sim", "resnet1d", one, members=(resnet,), baseline="resnet1d"),
        Piece("sim", "resnet1d gem pool", one, members=((resnet[0], {**resnet[1], "pool": "gem"}),), baseline="resnet1d"),
        Piece("sim", "resnet1d attention pool", one, members=((resnet[0], {**resnet[1], "pool": "attention"}),),
              baseline="resnet1d"),
        Piece("sim", "densenet1d", one, members=(("densenet1d", {"stem_chs": 32, "block_depths": [2, 2, 2],
                                                                 "growth_rate": 16}),), baseline="resnet1d"),
        Piece("sim", "squeezeformer_cls", one, members=(("squeezeformer_cls", squeeze),), baseline="squeezeformer_cls"),
        Piece("sim", "squeezeformer + BERT", one, members=(("squeezeformer", {**squeeze, "bert_layers": 2}),),
              baseline="squeezeformer_cls"),
        Piece("sim", "spectro2d stft", one, members=(("spectro2d", {"stem_chs": 16, "head_chs": 128}),),
              baseline="spectro2d stft"),
        Piece("sim", "spectro2d cwt", one, members=(("spectro2d", {"stem_chs": 16, "head_chs": 128, "frontend": "cwt"}),),
              baseline="spectro2d stft"),
        *_option_rows("sim"),
        Piece("sim", "tof pixels", "ToF scaling", edit="tof_pixels"),
        Piece("sim", "tof pixels scaled", "ToF scaling", edit="tof_scaled", baseline="tof pixels"),
        Piece("sim", "TTA mirror", "TTA", ('teachers.tta=["mirror"]',)),
        Piece("sim", "mirror_p 0.5 + TTA mirror", "TTA", ("train.augment.mirror_p=0.5", 'teachers.tta=["mirror"]')),
        Piece("sim", "unlabeled, student only", "pseudo labels", unlabeled=True),
        Piece("sim", "pseudo round retrains teachers", "pseudo labels", ("distill.pseudo_rounds=1",), unlabeled=True,
              baseline="unlabeled, student only"),
        Piece("sim", "+ spectrum (entropy, dominant f, 0-2/2-5 Hz)", "features", edit="spectrum"),
        Piece("sim", "+ jerk magnitude", "features", edit="jerk_magnitude"),
        Piece("sim", "+ rolling median 5", "features", edit="median"),
    ]
    return rows


def _option_rows(dataset: str) -> list[Piece]:
    """Training options and augmentations: the whole baseline recipe with one of them on."""
    # switch EMA needs an EMA: the simulator's recipe has none, so it gets a row with plain EMA first
    ema = [] if dataset == "uci" else [Piece(dataset, "EMA 0.99", "training", ("train.ema_decay=0.99",))]
    return [*ema,
        Piece(dataset, "manifold mixup 0.3", "training", ("train.augment.manifold_mixup_p=0.3",
                                                          f"train.augment.manifold_mixup_layers={MANIFOLD_LAYERS}")),
        Piece(dataset, "switch EMA", "training", ("train.ema_decay=0.99", "train.ema_switch=true"),
              baseline="baseline" if dataset == "uci" else "EMA 0.99"),
        Piece(dataset, "RAdam schedule-free", "training", ('train.optim.name="radam_schedule_free"',)),
        # schedule-free SGD needs an SGD-sized learning rate (AdamW's 3e-3 barely moves it)
        Piece(dataset, "SGD schedule-free lr 0.1", "training", ('train.optim.name="sgd_schedule_free"',
                                                               "train.optim.lr=0.1", "train.optim.betas=[0.9, 0.999]")),
        Piece(dataset, "cosine restarts", "training", ('train.optim.schedule="cosine_restarts"',)),
        Piece(dataset, "jitter 0.05 at p 0.7", "training", ("train.augment.jitter_std=0.05", "train.augment.jitter_p=0.7")),
    ] + ([] if dataset == "uci" else [  # UCI-HAR's spec has 43 features: masking 15 is another regime
        Piece(dataset, "feature mask <= 15 at p 0.5", "training", ("train.augment.feature_mask_p=0.5",
                                                                   "train.augment.feature_mask_max=15"))])


def _uci_pieces() -> list[Piece]:
    one = "one teacher"
    return [
        Piece("uci", "baseline", "baseline"),
        Piece("uci", "baseline seed 1", "noise", ("seed=1",)),
        Piece("uci", "resnet1d gem pool", one, edit="resnet_gem"),
        Piece("uci", "resnet1d attention pool", one, edit="resnet_attention"),
        Piece("uci", "densenet1d", one, members=(("densenet1d", {"stem_chs": 32, "block_depths": [2, 2, 2],
                                                                 "growth_rate": 16}),)),
        *_option_rows("uci"),
        # the sign flip is exact only on raw channels (features of a negated signal are not negated features)
        Piece("uci", "raw channels", "TTA", ('features.preset="none"',)),
        Piece("uci", "raw channels + TTA flip", "TTA", ('features.preset="none"', 'teachers.tta=["flip"]'),
              baseline="raw channels"),
    ]


def _families(recipe, **changes) -> None:
    from edgekit.features.spec import FeatureSpec
    from edgekit.train.prepare import feature_spec

    spec = feature_spec(recipe, None) if recipe.features.preset != "auto" else FeatureSpec.cmi_default()
    recipe.features.spec = spec.with_families(**changes).to_dict()


def _edit(recipe, name: str) -> None:
    """Recipe edits that `key=value` overrides cannot express (members' options, inline specs)."""
    from edgekit.features.spec import RawPassthrough, RollingStat, RollingStats, Spectrum
    from edgekit.train.prepare import feature_spec

    if name == "layout_spec":
        for member in recipe.teachers.members:
            member.options["layout"] = "spec"
    elif name in ("resnet_gem", "resnet_attention"):
        recipe.teachers.members[0].options["pool"] = name.split("_")[1]
    elif name in ("tof_pixels", "tof_scaled"):
        _families(recipe, raw=RawPassthrough(tof_pixels=True, tof_scaling=name == "tof_scaled"))
    elif name == "spectrum":
        bands = ((0.0, 2.0), (2.0, 5.0))
        extra = Spectrum(channels=("acc_mag", "linacc_mag", "angdist"), window=25, bands_hz=bands)
        _families(recipe, spectrum=(extra,))
    elif name == "jerk_magnitude":
        _families(recipe, jerk_magnitude=True)
    elif name == "median":
        spec = feature_spec(recipe, None)
        median = RollingStats(channels=("acc_mag", "linacc_mag", "angdist"), windows=(5,), stats=(RollingStat.MEDIAN,))
        _families(recipe, rolling=(*spec.families.rolling, median))
    else:
        raise ValueError(f"unknown edit {name!r}")


def _recipe(piece: Piece, data: Path):
    from edgekit.train.config import ModelConfig
    from edgekit.train.recipe import load_recipe

    if piece.dataset == "sim":
        recipe = load_recipe("sim/quickstart", [*SIM_DATA, *piece.overrides])
    else:
        recipe = load_recipe("uci_har/teacher_ensemble", [f"data.source={json.dumps(str(data / 'uci_har'))}",
                                                          "student.epochs=1", "teachers.folds=2", *piece.overrides])
        # one teacher: the recipe's resnet1d, with its options
        recipe.teachers.members = [m for m in recipe.teachers.members if m.name == "resnet1d"]
    if piece.members:
        recipe.teachers.members = [ModelConfig(name, dict(options)) for name, options in piece.members]
    if piece.edit:
        _edit(recipe, piece.edit)
    return recipe


def _unlabeled(folder: Path) -> Path:
    from edgekit.data.simulator import SimConfig, simulate, write_simulation

    path = folder / "unlabeled.parquet"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        write_simulation(simulate(UNLABELED_SEQUENCES, seed=UNLABELED_SEED, config=SimConfig(n_subjects=25)), path)
    return path


def run_piece(piece: Piece, data: Path) -> dict:
    """Train one row (or read its saved result) and return its scores."""
    from edgekit.train.run import TrainRequest, train

    out = RUNS / piece.key
    done = out / "row.json"
    if done.exists():
        return json.loads(done.read_text())
    started = time.perf_counter()
    recipe = _recipe(piece, data)
    req = TrainRequest(recipe, teacher=piece.teacher, out=out, force=True,
                       unlabeled=_unlabeled(RUNS / "sim__unlabeled") if piece.unlabeled else None,
                       command=f"bench/pieces.py row {piece.key}")
    metrics = train(req)
    row = {"dataset": piece.dataset, "name": piece.name, "group": piece.group, "baseline": piece.baseline,
           "members": [m.name for m in recipe.teachers.members], "scores": _scores(piece.dataset, metrics),
           "wall_s": round(time.perf_counter() - started, 1)}
    write_json_atomic(done, row)
    return row


def _scores(dataset: str, metrics: dict) -> dict:
    metric = "cmi_score" if dataset == "sim" else "accuracy"
    teachers = metrics["teachers"]["test"]
    out = {f"teachers_{split}": teachers[split]["stacked"][metric] for split in teachers}
    out["teachers_oof"] = metrics["teachers"]["oof"]["stacked"][metric]
    if dataset == "sim":  # UCI rows train the student for one epoch only: not a measurement
        out |= {f"student_{split}": r[metric] for split, r in metrics["student"]["test"].items()}
    return out


COLUMNS = {
    "sim": [("teachers_oof", "teachers CV"), ("teachers_test", "teachers test"),
            ("teachers_test_imu_only", "teachers IMU-only"), ("teachers_test_full_sensor", "teachers full-sensor"),
            ("student_test", "student test"), ("student_test_imu_only", "student IMU-only")],
    "uci": [("teachers_oof", "teacher CV"), ("teachers_test", "X_test"), ("teachers_test_exact", "X_test_exact")],
}


def table(rows: list[dict], dataset: str) -> str:
    """Markdown: each score with its difference to the row's baseline."""
    by_name = {r["name"]: r for r in rows if r["dataset"] == dataset}
    cols = COLUMNS[dataset]
    scale, unit = (1.0, "") if dataset == "sim" else (100.0, "")
    lines = ["| piece | vs | teachers | " + " | ".join(label for _, label in cols) + " | wall |",
             "|---|---|---|" + "---:|" * len(cols) + "---:|"]
    for r in by_name.values():
        base = by_name.get(r["baseline"]) if r["baseline"] != r["name"] else None
        cells = []
        for key, _ in cols:
            value = r["scores"].get(key)
            if value is None:
                cells.append("-")
                continue
            text = f"{value * scale:.3f}" if dataset == "sim" else f"{value * scale:.2f}{unit}"
            if base is not None and base["scores"].get(key) is not None:
                diff = (value - base["scores"][key]) * scale
                text += f" ({diff:+.3f})" if dataset == "sim" else f" ({diff:+.2f})"
            cells.append(text)
        vs = "" if base is None else r["baseline"]
        lines.append(f"| {r['name']} | {vs} | {'+'.join(r['members'])} | " + " | ".join(cells)
                     + f" | {r['wall_s'] / 60:.1f} min |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--only", choices=["sim", "uci"], default=None)
    parser.add_argument("--jobs", type=int, default=2, help="rows trained at once (each on one CPU thread)")
    parser.add_argument("--rows", nargs="*", default=None, help="only these row names (default: all)")
    args = parser.parse_args()
    pieces = [p for p in (_sim_pieces() if args.only != "uci" else []) + (_uci_pieces() if args.only != "sim" else [])
              if args.rows is None or p.name in args.rows]
    if any(p.dataset == "uci" for p in pieces) and not (args.data / "uci_har").exists():
        sys.exit(f"{args.data / 'uci_har'}: not found; pass --data with the folder holding uci_har/ (or --only sim)")
    RUNS.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = {pool.submit(run_piece, p, args.data): p for p in pieces}
        for future, piece in futures.items():
            try:
                rows.append(future.result())
            except Exception as exc:  # a failing row is reported, the others still run
                rows.append({"dataset": piece.dataset, "name": piece.name, "group": piece.group,
                             "baseline": piece.baseline, "members": [], "scores": {}, "wall_s": 0.0,
                             "error": f"{type(exc).__name__}: {exc}"})
            print(f"{piece.dataset} {piece.name}: {rows[-1].get('error') or rows[-1]['scores']}", flush=True)
    # rows of an earlier call (--only, --rows) stay, in the pieces' order; rows of pieces no longer listed go
    order = [(p.dataset, p.name) for p in _sim_pieces() + _uci_pieces()]
    saved = json.loads((OUT / "pieces.json").read_text())["rows"] if (OUT / "pieces.json").exists() else []
    by_key = {(r["dataset"], r["name"]): r for r in [*saved, *rows]}
    rows = [by_key[key] for key in order if key in by_key]
    write_json_atomic(OUT / "pieces.json", {"rows": rows, "machine": _machine()})
    parts = []
    for dataset, title in (("sim", "Simulator (CMI score)"), ("uci", "UCI-HAR (accuracy %)")):
        if any(r["dataset"] == dataset for r in rows):
            parts += [f"#### {title}", "", table(rows, dataset), ""]
    write_text_atomic(OUT / "pieces.md", "\n".join(parts))
    print((OUT / "pieces.md").read_text())


def _machine() -> dict:
    import os
    import platform

    import torch

    return {"python": platform.python_version(), "torch": torch.__version__, "cpus": os.cpu_count(),
            "date": time.strftime("%Y-%m-%d")}


if __name__ == "__main__":
    main()
