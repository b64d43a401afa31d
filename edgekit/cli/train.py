"""`edgekit train --recipe R [--teacher ensemble|NAME|RUN_DIR|none] [--student NAME] [key=value ...]`."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click

from edgekit.cli.render import console, emit_json, table
from edgekit.formatting import format_count, format_number, format_percent


@click.command(context_settings={"ignore_unknown_options": False})
@click.option("--recipe", "recipe_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A TOML recipe, e.g. recipes/sim/quickstart.toml.")
@click.option("--teacher", default="ensemble", show_default=True,
              help="ensemble (train the recipe's members over folds), a teacher model name, an existing RUN_DIR "
                   "to reuse, or none (student alone).")
@click.option("--student", default=None, help="Student model name (overrides student.name).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Run directory [default: runs/<recipe name>[-<teacher>]].")
@click.option("--resume", is_flag=True, help="Continue unfinished stages from their last epoch checkpoint.")
@click.option("--force", is_flag=True,
              help="Train into a non-empty folder that is not a run, or retrain the stages of --out that were "
                   "trained from other inputs (removing them and what was made from them, e.g. export/).")
@click.option("--unlabeled", type=click.Path(exists=True, path_type=Path), default=None,
              help="Unlabelled sequences: pseudo-labelled by the teachers and added to distillation.")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON (no progress bars).")
@click.argument("overrides", nargs=-1)
def train(recipe_path: Path, teacher: str, student: str | None, out: Path | None, resume: bool, force: bool,
          unlabeled: Path | None, as_json: bool, overrides: tuple[str, ...]) -> None:
    """Train the teacher ensemble and distil the student; overrides are key=value (train.epochs=3)."""
    from edgekit.train.device import dist_env
    from edgekit.train.recipe import load_recipe
    from edgekit.paths import ensure_writable_dir
    from edgekit.train.run import TrainRequest, default_out
    from edgekit.train.run import train as run_train

    recipe = load_recipe(recipe_path, overrides)
    ensure_writable_dir(out or default_out(recipe, teacher), "--out")  # before minutes of data preparation
    command = "edgekit train " + " ".join(shlex.quote(a) for a in sys.argv[2:]) if len(sys.argv) > 2 else ""
    req = TrainRequest(recipe, teacher=teacher, student=student, out=out, resume=resume, force=force,
                       unlabeled=unlabeled, command=command)
    quiet = as_json or not dist_env().is_main
    if quiet:
        result = run_train(req)
    else:
        with _ProgressView() as view:
            result = run_train(req, on_progress=view.on_progress, on_stage=view.on_stage)
    if as_json:
        emit_json(result)
    elif dist_env().is_main:
        render_result(result)


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
        total = max(1, p.epochs * p.steps_per_epoch)
        if p.kind == "start":
            self.tasks[p.stage] = self.progress.add_task(p.stage, total=total, completed=p.epoch * p.steps_per_epoch,
                                                         info="")
            return
        task = self.tasks.get(p.stage)
        if task is None:
            return
        if p.kind == "step":
            done = p.epoch * p.steps_per_epoch + p.step
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
    label = f"{s['name']} ({'distilled' if s['distilled'] else 'alone'})"
    rows.append([label, format_count(s["params"]), format_count(s["macs"]), "", "",
                 *_scores(s["test"].get("test", {}), cmi=True)])
    table(f"edgekit train: {result['recipe']} → {result['run_dir']}",
          ["model", "params", "MACs", "CV acc %", "CV F1 %", "test acc %", "test F1 %", "test CMI"], rows)
    console.print(f"total {result['timings']['total_s']:.1f} s on {result['device']}")


def _scores(scores: dict, cmi: bool = False) -> list[str]:
    out = [format_percent(scores.get("accuracy")), format_percent(scores.get("macro_f1"))]
    return out + [format_number(scores.get("cmi_score"), ".3f")] if cmi else out
