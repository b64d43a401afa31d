"""Experiment logs of a run: a CSV per stage, TensorBoard and MLflow when the recipe asks.

    with RunLoggers(then=on_progress) as loggers:   # run.train
        loggers.start(recipe.logging, run_root, params=recipe_to_dict(recipe), name=recipe.name)
        fit(..., on_progress=loggers.on_progress)   # every stage

There is one reporting path: the training loop's progress events (`loop.Progress`), the ones the
CLI draws. `RunLoggers.on_progress` logs each event, then hands it to the caller's callback, so a
callback that raises (to stop the run) does so after the event is on disk.

Rows. One row per optimizer step: `step` (within the stage, from 1), `epoch` (epochs done), the
step's loss terms (`loss`, `class`, `kd`, `binary`, `physics`: those the objective has), `lr` and
`samples_per_s` (since the stage started or resumed). At an evaluation point the same row also
holds its record: `train_<term>` (means since the previous point) and `val_<metric>`. The names
are the same in all three sinks (CSV column, TensorBoard tag, MLflow metric key; x = `step`).

CSV, `<stage folder>/log.csv` (`[logging] csv`, on by default): the header is the union of the
columns seen, in first-seen order. A column that appears later (the first validation) rewrites the
file once with the wider header, earlier rows keeping empty cells, so the file is always one valid
table. Rows are flushed as written. Resume: the loop continues from its checkpoint's step, so the
rows past it (logged before a kill, and a torn last line) are dropped before appending: each step
is in the file once. A stage started over (no `--resume`) starts its file over.

TensorBoard, `<stage folder>/tensorboard/` (`edgekit[tensorboard]`): resumed with `purge_step`, so
the events of replayed steps replace those of the killed run.

MLflow (`edgekit[mlflow]`): one run per command (run name = the run directory's name) in
`mlflow_experiment` (default: the recipe's name) with the flattened recipe as params
(`train.optim.lr`), a nested run per stage (tag `edgekit.stage` = its folder) with the metrics per
step, and `metrics.json` and `recipe.toml` as artifacts of the parent run. A resumed command opens
new runs (tag `edgekit.resumed`); each holds the steps it trained. (MLflow 3 refuses a `file:`
store unless `MLFLOW_ALLOW_FILE_STORE=true`; a `sqlite:///mlflow.db` URI needs no flag.)
"""

from __future__ import annotations

import csv
import importlib
import io
import time
from pathlib import Path
from typing import Any

from edgekit.errors import EdgekitError
from edgekit.io import write_text_atomic
from edgekit.train.config import LoggingConfig
from edgekit.train.loop import Progress, ProgressFn

LOG_CSV = "log.csv"
TENSORBOARD_DIR = "tensorboard"
EXTRAS = {"tensorboard": "tensorboard", "mlflow": "mlflow"}  # [logging] key -> package = extra name
MLFLOW_BATCH = 500  # metrics per MLflow request (its limit is 1000)
MLFLOW_PARAM_CHARS = 6000


def check_extras(cfg: LoggingConfig) -> None:
    """Refuse, before any data is read, a sink that is enabled but whose package is missing."""
    for key, package in EXTRAS.items():
        if getattr(cfg, key):
            _import(package, key)


def _import(package: str, key: str):
    try:
        return importlib.import_module(package)
    except ImportError:
        raise EdgekitError(f"logging.{key} = true needs the {package} package, which is not installed; "
                           f"pip install 'edgekit[{EXTRAS[key]}]', or set logging.{key} = false") from None


class RunLoggers:
    """Routes each stage's progress events to its sinks, then to `then` (the caller's callback).
    Until `start` (and on DDP ranks other than 0: `active=False`) it only passes events on."""

    def __init__(self, then: ProgressFn | None = None):
        self.then = then
        self.cfg: LoggingConfig | None = None
        self.root: Path | None = None
        self.mlflow: _MlflowRun | None = None
        self.open: dict[str, _StageLog] = {}  # by stage name, the key the events carry
        self.run_ids: dict[Path, str] = {}  # stage folder -> its MLflow run

    def start(self, cfg: LoggingConfig, root: Path, *, params: dict, name: str, resumed: bool = False,
              active: bool = True) -> None:
        self.root = Path(root)
        if not active:
            return
        check_extras(cfg)
        self.cfg = cfg
        if cfg.mlflow:
            self.mlflow = _MlflowRun(cfg, self.root, params, name, resumed)

    def on_progress(self, p: Progress) -> None:
        if self.cfg is not None:
            self._log(p)
        if self.then is not None:
            self.then(p)

    def _log(self, p: Progress) -> None:
        if p.kind == "start":
            if p.folder is None:  # a stage without a folder (no checkpoint) has nowhere to log
                return
            self._close(p.stage)
            folder = Path(p.folder)
            stage_run = self.mlflow.stage(p.stage, folder.relative_to(self.root).as_posix()) if self.mlflow else None
            if stage_run is not None:
                self.run_ids[folder] = stage_run.run_id
            self.open[p.stage] = _StageLog(folder, self.cfg, p.global_step, stage_run)
            return
        log = self.open.get(p.stage)
        if log is None:
            return
        if p.kind == "step":
            log.step({"step": p.global_step, "epoch": _epochs(p.global_step, p.steps_per_epoch), **p.values})
        elif p.kind == "epoch":
            log.evaluated(p.values)
        elif p.kind == "end":
            self._close(p.stage)

    def _close(self, stage: str, status: str = "FINISHED") -> None:
        log = self.open.pop(stage, None)
        if log is not None:
            log.close(status)

    def links(self, folders: list[Path]) -> dict[str, Any]:
        """For metrics.json: per stage folder (relative to the run), the logs it has."""
        stages = {}
        for folder in folders:
            rel = Path(folder).relative_to(self.root)
            entry = {}
            if (Path(folder) / LOG_CSV).is_file():
                entry["csv"] = (rel / LOG_CSV).as_posix()
            if (Path(folder) / TENSORBOARD_DIR).is_dir():
                entry["tensorboard"] = (rel / TENSORBOARD_DIR).as_posix()
            if folder in self.run_ids:
                entry["mlflow_run_id"] = self.run_ids[folder]
            if entry:
                stages[rel.as_posix()] = entry
        out: dict[str, Any] = {"stages": stages}
        if self.mlflow is not None:
            out["mlflow"] = self.mlflow.link()
        return out

    def finish(self, artifacts: list[Path]) -> None:
        """The run ended well: its files go to the MLflow run, which is marked finished."""
        if self.mlflow is not None:
            self.mlflow.finish(artifacts)
            self.mlflow = None

    def __enter__(self) -> RunLoggers:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        status = "FINISHED" if exc_type is None else "KILLED" if issubclass(exc_type, KeyboardInterrupt) else "FAILED"
        for stage in list(self.open):
            self._close(stage, status)
        if self.mlflow is not None:
            self.mlflow.end(status)


def _epochs(step: int, steps_per_epoch: int) -> int | float:
    epochs = step / max(steps_per_epoch, 1)
    return int(epochs) if epochs.is_integer() else round(epochs, 3)


class _StageLog:
    """One stage's sinks. A step's row is held until the next event: an evaluation at that step
    completes it (its record joins the row), anything else writes it as it is."""

    def __init__(self, folder: Path, cfg: LoggingConfig, start_step: int, mlflow_run: _MlflowStage | None):
        self.sinks: list = []
        if cfg.csv:
            self.sinks.append(_CsvLog(folder / LOG_CSV, start_step))
        if cfg.tensorboard:
            self.sinks.append(_TensorBoardLog(folder / TENSORBOARD_DIR, start_step))
        if mlflow_run is not None:
            self.sinks.append(mlflow_run)
        self.pending: dict[str, Any] | None = None

    def step(self, row: dict[str, Any]) -> None:
        self._flush()
        self.pending = row

    def evaluated(self, record: dict[str, Any]) -> None:
        if self.pending is None or self.pending["step"] != record.get("step"):
            self._flush()  # the loop reports a step before its evaluation; kept apart should that change
            self.pending = {}
        self.pending = {**self.pending, **record}
        self._flush()

    def _flush(self) -> None:
        if self.pending is not None:
            for sink in self.sinks:
                sink.write(self.pending)
            self.pending = None

    def close(self, status: str) -> None:
        self._flush()
        for sink in self.sinks:
            sink.close(status)


class _CsvLog:
    def __init__(self, path: Path, start_step: int):
        self.path = path
        self.header: list[str] = []
        if path.exists() and start_step > 0:  # resumed: keep the rows up to the checkpoint
            self.header, rows = _read_kept(path, start_step)
            write_text_atomic(path, _csv_text(self.header, rows) if self.header else "")
        elif path.exists():  # the stage starts over, so does its log
            path.unlink()
        self.file = None

    def write(self, row: dict[str, Any]) -> None:
        new = [k for k in row if k not in self.header]
        if new:
            self._widen(new)
        if self.file is None:
            self.file = open(self.path, "a", encoding="utf-8", newline="")
        # one write per row, flushed: a kill leaves at most one torn line, which resume drops
        self.file.write(_csv_text(None, [[row.get(k, "") for k in self.header]]))
        self.file.flush()

    def _widen(self, new: list[str]) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None
        rows = []
        if self.header and self.path.exists():
            with open(self.path, encoding="utf-8", newline="") as f:
                rows = list(csv.reader(f))[1:]
        self.header += new
        write_text_atomic(self.path, _csv_text(self.header, [r + [""] * len(new) for r in rows]))

    def close(self, status: str) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None


def _read_kept(path: Path, start_step: int) -> tuple[list[str], list[list[str]]]:
    """(header, rows up to `start_step`) of an existing log; a torn last line is dropped."""
    text = path.read_text(encoding="utf-8")
    if not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    table = list(csv.reader(io.StringIO(text)))
    if not table or "step" not in table[0]:
        return [], []
    header, at = table[0], table[0].index("step")
    kept = [r for r in table[1:] if len(r) == len(header) and _int(r[at]) is not None and _int(r[at]) <= start_step]
    return header, kept


def _int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def _csv_text(header: list[str] | None, rows: list[list[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if header is not None:
        writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


class _TensorBoardLog:
    def __init__(self, folder: Path, start_step: int):
        from torch.utils.tensorboard import SummaryWriter

        # resumed: events at or past the first replayed step, left by the killed run, are hidden
        self.writer = SummaryWriter(str(folder), purge_step=start_step + 1 if start_step else None)

    def write(self, row: dict[str, Any]) -> None:
        for key, value in row.items():
            if key != "step":
                self.writer.add_scalar(key, float(value), row["step"])

    def close(self, status: str) -> None:
        self.writer.close()


class _MlflowRun:
    """The command's parent MLflow run, through `MlflowClient` (no fluent global state)."""

    def __init__(self, cfg: LoggingConfig, root: Path, params: dict, name: str, resumed: bool):
        mlflow = _import("mlflow", "mlflow")
        from mlflow.entities import Param

        self.uri = cfg.mlflow_tracking_uri or mlflow.get_tracking_uri()
        self.client = mlflow.MlflowClient(self.uri)
        experiment = cfg.mlflow_experiment or name
        found = self.client.get_experiment_by_name(experiment)
        self.experiment_id = found.experiment_id if found is not None else self.client.create_experiment(experiment)
        run = self.client.create_run(self.experiment_id, run_name=root.name, tags={
            "edgekit.run_dir": str(root.resolve()), "edgekit.resumed": str(resumed).lower()})
        self.run_id = run.info.run_id
        # MLflow caps a param's value (6000 characters); the whole recipe is an artifact at the end
        flat = [Param(k, str(v)[:MLFLOW_PARAM_CHARS]) for k, v in _flatten(params).items()]
        for i in range(0, len(flat), 100):  # MLflow takes at most 100 params a request
            self.client.log_batch(self.run_id, params=flat[i:i + 100])

    def stage(self, stage: str, folder: str) -> _MlflowStage:
        run = self.client.create_run(self.experiment_id, run_name=stage, tags={
            "mlflow.parentRunId": self.run_id, "edgekit.stage": folder})
        return _MlflowStage(self.client, run.info.run_id)

    def link(self) -> dict[str, str]:
        return {"tracking_uri": self.uri, "experiment_id": self.experiment_id, "run_id": self.run_id}

    def finish(self, artifacts: list[Path]) -> None:
        for path in artifacts:
            if path.is_file():
                self.client.log_artifact(self.run_id, str(path))
        self.end("FINISHED")

    def end(self, status: str) -> None:
        self.client.set_terminated(self.run_id, status)


class _MlflowStage:
    def __init__(self, client, run_id: str):
        self.client, self.run_id = client, run_id
        self.metrics: list = []

    def write(self, row: dict[str, Any]) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self.metrics += [Metric(k, float(v), now, int(row["step"])) for k, v in row.items() if k != "step"]
        if len(self.metrics) >= MLFLOW_BATCH:
            self._send()

    def _send(self) -> None:
        if self.metrics:
            self.client.log_batch(self.run_id, metrics=self.metrics)
            self.metrics = []

    def close(self, status: str) -> None:
        self._send()
        self.client.set_terminated(self.run_id, status)


def _flatten(tree: dict, prefix: str = "") -> dict[str, Any]:
    """`{"train": {"optim": {"lr": 1e-3}}}` -> `{"train.optim.lr": 1e-3}`; lists stay values."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict) and value:
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out
