"""`edgekit train [DATA] [--recipe R] [--test TEST] [--teacher ensemble|NAME|RUN_DIR|none] [key=value ...]`.

With no `--recipe` the recipe is derived from DATA (`edgekit.train.auto`); `--print-recipe` shows
it as TOML to edit and rerun with `--recipe`. With `--recipe`, DATA, `--test` and the column flags
set `data.source`, `data.test_source` and `[data.columns]`.
"""

from __future__ import annotations

import json
import re
import shlex
import sys
from pathlib import Path

import click

from edgekit.cli.render import console, emit_json, table
from edgekit.formatting import format_count, format_number, format_percent

_OVERRIDE = re.compile(r"^[A-Za-z_][\w.]*=")  # key=value, as opposed to the DATA path


@click.command(context_settings={"ignore_unknown_options": False})
@click.argument("args", nargs=-1, metavar="[DATA] [KEY=VALUE]...")
@click.option("--recipe", "recipe_path", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="A TOML recipe file, or a shipped one by name (sim/quickstart; see edgekit recipes list) [default: derived from DATA].")
@click.option("--test", "test_source", default=None, type=click.Path(exists=True, path_type=Path),
              help="A labelled test set in DATA's format [default: DATA's own test split (UCI-HAR), the *_TEST.ts "
                   "beside a *_TRAIN.ts, else held-out subjects].")
@click.option("--teacher", default="ensemble", show_default=True,
              help="ensemble (train the recipe's members over folds), a teacher model name, an existing RUN_DIR "
                   "to reuse, or none (student alone).")
@click.option("--student", default=None, help="Student model name (overrides student.name).")
@click.option("--sequence-col", default=None, help="Long tables: the sequence id column [default: sequence_id].")
@click.option("--subject-col", default=None,
              help="Long tables: the subject column; '' for none (every sequence its own subject) [default: subject, "
                   "none when the table has no such column].")
@click.option("--label-col", default=None, help="Long tables: the label column [default: label].")
@click.option("--time-col", default=None,
              help="Long tables: the order column, seconds or datetimes, or an integer counter with "
                   "data.sample_rate_hz=HZ [default: time].")
@click.option("--session-col", default=None,
              help="Continuous recordings (no sequence column, --sequence-col ''): cut each subject's stream where "
                   "this column changes instead of where the label does.")
@click.option("--print-recipe", is_flag=True, help="Print the recipe as TOML (with the reasons for what was derived) "
                                                   "and exit without training.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Run directory [default: runs/<recipe name>[-<teacher>]].")
@click.option("--resume", is_flag=True, help="Continue unfinished stages from their last checkpoint.")
@click.option("--force", is_flag=True,
              help="Train into a non-empty folder that is not a run, or retrain the stages of --out that were "
                   "trained from other inputs (removing them and what was made from them, e.g. export/).")
@click.option("--unlabeled", type=click.Path(exists=True, path_type=Path), default=None,
              help="Unlabelled sequences: pseudo-labelled by the teachers and added to distillation.")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON (no progress bars).")
def train(args: tuple[str, ...], recipe_path: Path | None, test_source: Path | None, teacher: str, student: str | None,
          sequence_col: str | None, subject_col: str | None, label_col: str | None, time_col: str | None,
          session_col: str | None, print_recipe: bool, out: Path | None, resume: bool, force: bool, unlabeled: Path | None,
          as_json: bool) -> None:
    """Train the teacher ensemble and distil the student, on DATA with a recipe derived from it or
    with --recipe; overrides are key=value (student.max_steps=500)."""
    from edgekit.train.device import dist_env
    from edgekit.paths import ensure_writable_dir
    from edgekit.train.recipe import dump_recipe
    from edgekit.train.run import TrainRequest, default_out
    from edgekit.train.run import train as run_train

    data, overrides = split_args(args)
    columns = {"sequence": sequence_col, "subject": subject_col, "label": label_col, "time": time_col,
               "session": session_col}
    recipe, notes = resolve_recipe(recipe_path, data, test_source, columns, teacher, overrides, student)
    command = "edgekit train " + " ".join(shlex.quote(a) for a in sys.argv[2:]) if len(sys.argv) > 2 else ""
    if print_recipe:
        rerun = "edgekit train --recipe recipe.toml"
        rerun += "" if teacher == "ensemble" else f" --teacher {shlex.quote(teacher)}"
        header = [rerun, f"(saved as recipe.toml from: {command or 'edgekit train --print-recipe'})", *notes]
        click.echo(dump_recipe(recipe, header="\n".join(header)), nl=False)
        return
    ensure_writable_dir(out or default_out(recipe, teacher), "--out")  # before minutes of data preparation
    req = TrainRequest(recipe, teacher=teacher, student=student, out=out, resume=resume, force=force,
                       unlabeled=unlabeled, command=command)
    quiet = as_json or not dist_env().is_main
    if quiet:
        result = run_train(req)
    else:
        for note in notes:
            console.print(f"[dim]{note}[/]")
        with _ProgressView() as view:
            result = run_train(req, on_progress=view.on_progress, on_stage=view.on_stage)
    if as_json:
        emit_json(result)
    elif dist_env().is_main:
        render_result(result)


def split_args(args: tuple[str, ...]) -> tuple[str | None, list[str]]:
    """(DATA, overrides): an argument is DATA when it is an existing path or not key=value."""
    data, overrides = None, []
    for arg in args:
        if _OVERRIDE.match(arg) and not Path(arg).exists():
            overrides.append(arg)
        elif data is None:
            data = arg
        else:
            raise click.UsageError(f"two datasets given, {data!r} and {arg!r}; expected one DATA and key=value "
                                   "overrides")
    return data, overrides


def resolve_recipe(recipe_path: Path | None, data: str | None, test_source: Path | None,
                   columns: dict[str, str | None], teacher: str, overrides: list[str], student: str | None = None):
    """(recipe, notes): derived from DATA (for `student`), or --recipe with DATA/--test/columns as
    overrides (`--student` then replaces the recipe's student when training: `run.TrainRequest`)."""
    from edgekit.train.auto import derive_recipe
    from edgekit.train.recipe import load_recipe

    if recipe_path is not None:
        named = {"data.source": data, "data.test_source": str(test_source) if test_source else None,
                 **{f"data.columns.{role}": name for role, name in columns.items()}}
        given = [f"{key}={json.dumps(value)}" for key, value in named.items() if value is not None]
        return load_recipe(recipe_path, [*given, *overrides]), ()
    if data is None:
        raise click.UsageError("give DATA (a dataset file or folder, or 'simulator') or --recipe RECIPE")
    auto = derive_recipe(data, test_source=str(test_source) if test_source else None, teacher=teacher,
                         columns=columns, overrides=overrides, accelerator=_accelerator(overrides), student=student)
    return auto.recipe, auto.notes


def _accelerator(overrides: list[str]) -> bool:
    """Whether training will run on CUDA (budgets are larger there)."""
    from edgekit.train.device import resolve_device

    device = next((o.split("=", 1)[1].strip('"') for o in overrides if o.startswith("device.device=")), "auto")
    return resolve_device(device).type == "cuda"


class _ProgressView:
    """One rich progress bar per training stage, with the live loss and the last validation score."""

    def __init__(self):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self.progress = Progress(TextColumn("{task.description:<36}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[info]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                                 console=console, transient=False)
        self.tasks: dict[str, int] = {}
        self.last: dict[str, str] = {}

    def __enter__(self):
        self.progress.__enter__()
        return self

    def __exit__(self, *exc):
        return self.progress.__exit__(*exc)

    def on_progress(self, p) -> None:
        total = max(1, getattr(p, "total_steps", 0) or p.epochs * p.steps_per_epoch)  # a step budget, or epochs
        if p.kind == "start":
            self.tasks[p.stage] = self.progress.add_task(p.stage, total=total, completed=p.epoch * p.steps_per_epoch,
                                                         info="")
            return
        task = self.tasks.get(p.stage)
        if task is None:
            return
        if p.kind == "step":
            done = p.global_step
            info = f"ep {p.epoch + 1}/{p.epochs} loss {p.values['loss']:.3f} {self.last.get(p.stage, '')}"
            self.progress.update(task, completed=done, info=info)
        elif p.kind == "epoch":
            val = [f"{k[4:]} {v:.3f}" for k, v in p.values.items() if k in ("val_accuracy", "val_macro_f1", "val_cmi_score")]
            self.last[p.stage] = "| val " + " ".join(val) if val else ""
        elif p.kind == "end":
            self.progress.update(task, completed=total)

    def on_stage(self, name: str, info: dict) -> None:
        if name == "data":
            self.progress.console.print("[bold]data[/] " + ", ".join(f"{k} {v}" for k, v in info.items()))


def render_result(result: dict) -> None:
    rows = []
    teachers = result.get("teachers")
    if teachers:
        for name, m in teachers["members"].items():
            test = m["test"].get("test", {})
            rows.append([name, format_count(m["params"]), format_count(m["macs"]), *_scores(m["cv"]),
                         *_scores(test, cmi=True)])
        for kind in ("average", "stacked"):
            test = teachers["test"].get("test", {}).get(kind, {})
            rows.append([f"ensemble ({kind})", "", "", *_scores(teachers["oof"][kind]), *_scores(test, cmi=True)])
    s = result["student"]
    rows.append([student_label(s), format_count(s["params"]), format_count(s["macs"]), "", "",
                 *_scores(s["test"].get("test", {}), cmi=True)])
    table(f"edgekit train: {result['recipe']} → {result['run_dir']}",
          ["model", "params", "MACs", "CV acc %", "CV F1 %", "test acc %", "test F1 %", "test CMI"], rows)
    console.print(f"total {result['timings']['total_s']:.1f} s on {result['device']}")


def student_label(student: dict) -> str:
    """`modern_tcn_xs (distilled)`, `(alone)`, or with `distill.alpha_candidates` the α it kept."""
    if not student["distilled"]:
        return f"{student['name']} (alone)"
    alpha = student["loss"]["kd_alpha"]
    if not student.get("alpha_search"):
        return f"{student['name']} (distilled)"
    chosen = f"α {alpha:g} chosen on validation"
    return f"{student['name']} ({'distilled, ' + chosen if alpha < 1 else 'its labels alone: ' + chosen})"


def _scores(scores: dict, cmi: bool = False) -> list[str]:
    out = [format_percent(scores.get("accuracy")), format_percent(scores.get("macro_f1"))]
    return out + [format_number(scores.get("cmi_score"), ".3f")] if cmi else out
