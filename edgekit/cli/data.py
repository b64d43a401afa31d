"""`edgekit data simulate|inspect|features`."""

from __future__ import annotations

from pathlib import Path

import click

from edgekit.cli.render import console, emit_json, table


@click.group()
def data() -> None:
    """Make simulator data, validate a dataset, compute features."""


@data.command()
@click.option("--sequences", "n_sequences", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Number of sequences (the competition has 8,151).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Train table to write: .parquet or .csv; demographics go next to it.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def simulate(n_sequences: int, seed: int, out: Path, as_json: bool) -> None:
    """Write a simulated dataset in the CMI competition schema."""
    from edgekit.paths import ensure_writable_file
    from edgekit.pipeline import simulate_to

    report = simulate_to(ensure_writable_file(out, "--out"), n_sequences=n_sequences, seed=seed)
    if as_json:
        emit_json(report)
        return
    table("Simulated data", ["", "value"], [[k, v] for k, v in report.items()])


@data.command()
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--sequence-col", default=None,
              help="Long tables: the sequence id column; '' for a continuous recording cut by label "
                   "[default: sequence_id, or '' when the table has none but has subject and label columns].")
@click.option("--subject-col", default=None, help="Long tables: the subject column; '' for none [default: subject].")
@click.option("--label-col", default=None, help="Long tables: the label column [default: label].")
@click.option("--time-col", default=None, help="Long tables: the order column [default: time].")
@click.option("--session-col", default=None,
              help="Continuous recordings: cut where this column changes instead of the label.")
@click.option("--max-gap-s", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Continuous recordings: a longer time step starts a new sequence [default: 5 sample periods].")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def inspect(path: Path, sequence_col: str | None, subject_col: str | None, label_col: str | None,
            time_col: str | None, session_col: str | None, max_gap_s: float | None, as_json: bool) -> None:
    """Validate a dataset and report sequences, subjects, lengths, classes and missing rates (and,
    for a continuous recording, the segments cut from it: label changes and time gaps)."""
    from edgekit.data.inspect import inspect_dataset
    from edgekit.data.load import load_dataset
    from edgekit.data.long_table import TABLE_SUFFIXES, TableColumns

    given = {"sequence": sequence_col, "subject": subject_col, "label": label_col, "time": time_col,
             "session": session_col, "max_gap_s": max_gap_s}
    options = {}
    if any(v is not None for v in given.values()):
        if path.suffix.lower() not in TABLE_SUFFIXES:
            raise click.UsageError(f"--*-col and --max-gap-s describe a long table ({', '.join(TABLE_SUFFIXES)}); "
                                   f"{path} is not one")
        options = TableColumns().for_table(path, given).loader_kwargs()
    report = inspect_dataset(load_dataset(path, **options))
    if as_json:
        emit_json(report)
        return
    _render_inspect(report)


def _render_inspect(report: dict) -> None:
    scalars = [[k, v] for k, v in report.items() if not isinstance(v, (dict, list))]
    table(f"Dataset {report.get('name', '')}", ["", "value"], scalars)
    for key, value in report.items():
        if isinstance(value, dict) and value and all(not isinstance(v, (dict, list)) for v in value.values()):
            table(key.replace("_", " "), [key, "value"], [[k, v] for k, v in value.items()])


@data.command()
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Feature table to write (.parquet or .csv); the spec is written next to it as .spec.json.")
@click.option("--spec", "spec_name", default=None,
              help="Feature spec: a preset (cmi, uci_har) or a spec .json file. Default: chosen from the data.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def features(path: Path, out: Path, spec_name: str | None, as_json: bool) -> None:
    """Compute the causal per-sample features of a dataset."""
    from edgekit.paths import ensure_writable_file
    from edgekit.pipeline import features_to

    report = features_to(path, ensure_writable_file(out, "--out"), spec_name=spec_name)
    if as_json:
        emit_json(report)
        return
    table("Features", ["", "value"], [[k, v] for k, v in report.items() if k != "feature_names"])
    console.print(f"{len(report['feature_names'])} features: " + ", ".join(report["feature_names"]))
