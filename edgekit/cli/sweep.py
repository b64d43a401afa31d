"""`edgekit sweep [DATA] [--recipe R] --space space.toml --trials N [--storage URL] [--jobs J] [key=value ...]`.

The recipe comes as for `edgekit train` (derived from DATA, or `--recipe` with DATA as its data);
`key=value` overrides are fixed for every trial, the space's keys vary (`edgekit.train.sweep`).
"""

from __future__ import annotations

import logging
import shlex
import sys
from dataclasses import asdict
from pathlib import Path

import click

from edgekit.cli.render import console, emit_json, table
from edgekit.formatting import format_cell, format_number


@click.command()
@click.argument("args", nargs=-1, metavar="[DATA] [KEY=VALUE]...")
@click.option("--recipe", "recipe_path", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="A TOML recipe file or a shipped recipe's name [default: derived from DATA].")
@click.option("--test", "test_source", default=None, type=click.Path(exists=True, path_type=Path),
              help="DATA's labelled test set, as for edgekit train: kept out of training, never scored by the sweep.")
@click.option("--space", "space_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help='The search space: [space."dotted.key"] tables with low/high[/log/step] or choices.')
@click.option("--trials", type=click.IntRange(min=1), required=True,
              help="Trials the study should hold in all (a resumed study runs only the missing ones).")
@click.option("--storage", default=None,
              help="Optuna storage URL, e.g. sqlite:///study.db [default: sqlite:///OUT/study.db].")
@click.option("--study-name", default=None, help="[default: <recipe name>-<stage or member>]")
@click.option("--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Trials run in parallel, each in its own process.")
@click.option("--stage", type=click.Choice(["student", "teachers"]), default="student", show_default=True,
              help="student: the student alone, scored on its validation split; teachers: one member over the "
                   "folds, scored out-of-fold.")
@click.option("--member", default=None, help="--stage teachers: the member to tune [default: the recipe's only one].")
@click.option("--teacher", "teacher_run", default=None, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="--stage student: distil every trial from this run's teachers (RUN_DIR of edgekit train), so "
                   "distill.alpha / distill.temperature can be searched [default: the student alone].")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Sweep folder: trial_<n>/ per trial, best_recipe.toml [default: sweeps/<study name>].")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def sweep(args: tuple[str, ...], recipe_path: Path | None, test_source: Path | None, space_path: Path, trials: int,
          storage: str | None, study_name: str | None, jobs: int, stage: str, member: str | None,
          teacher_run: Path | None, out: Path | None, as_json: bool) -> None:
    """Search hyper-parameters with Optuna: each trial trains one stage with the space's values and is
    scored on validation (never the test set); the best is written as a recipe."""
    from edgekit.cli.train import resolve_recipe, split_args
    from edgekit.train.search_space import load_space
    from edgekit.train.sweep import SweepRequest
    from edgekit.train.sweep import sweep as run_sweep

    # Optuna logs each failed trial with its traceback; the result table names why it failed
    logging.getLogger("optuna").setLevel(logging.ERROR)
    data, overrides = split_args(args)
    columns = {"sequence": None, "subject": None, "label": None, "time": None, "session": None}
    recipe, _ = resolve_recipe(recipe_path, data, test_source, columns, "none" if stage == "student" else "ensemble",
                        overrides)
    space = load_space(space_path)
    name = study_name or f"{recipe.name}-{member or stage}"
    command = "edgekit sweep " + " ".join(shlex.quote(a) for a in sys.argv[2:]) if len(sys.argv) > 2 else ""
    req = SweepRequest(recipe, space, trials, out or Path("sweeps") / name, storage=storage, study_name=name,
                       jobs=jobs, stage=stage, member=member, teacher=teacher_run, command=command)
    on_trial = None if as_json or jobs > 1 else _print_trial
    if not as_json:
        console.print(f"[bold]sweep[/] {name}: {trials} trials of the {stage} in {req.out}"
                      + (f", {jobs} processes" if jobs > 1 else ""))
    result = run_sweep(req, on_trial=on_trial)
    if as_json:
        emit_json(asdict(result))
    else:
        render_result(result, teacher_run)


def _print_trial(row) -> None:
    value = format_number(row.value, ".4f") if row.value is not None else row.state.lower()
    params = " ".join(f"{k}={format_cell(v)}" for k, v in row.params.items())
    console.print(f"trial {row.number}: {value}  {params}  [dim]{row.state.lower()}, {row.validations} validations, "
                  f"{row.seconds} s[/]" + (f" {row.note}" if row.note else ""))


def render_result(result, teacher_run: Path | None = None) -> None:
    keys = list(result.space)
    rows = []
    for t in result.trials:
        mark = "best" if result.best is not None and t.number == result.best.number else ""
        rows.append([f"{t.number}{' (recipe)' if t.baseline else ''}", t.state.lower(), t.value,
                     *[t.params.get(k) for k in keys], t.validations, t.seconds, mark or t.note])
    table(f"edgekit sweep: {result.study_name} ({result.stage}, validation {result.metric}, {result.direction})",
          ["trial", "state", f"val {result.metric}", *keys, "validations", "s", ""], rows)
    console.print(f"ran {result.ran} trial{'' if result.ran == 1 else 's'}; study in {result.storage}")
    if result.best_recipe:
        console.print(f"best: trial {result.best.number}, val {result.metric} {result.best.value:.4f} → "
                      f"{result.best_recipe}\ntrain it: edgekit train --recipe {shlex.quote(result.best_recipe)}"
                      + (f" --teacher {shlex.quote(str(teacher_run))}" if teacher_run else ""))
    else:
        console.print("no trial completed yet: nothing to write")

