"""`edgekit stream MODEL --input FILE|- [--stream-col COLUMN] [--hop H] [--smooth ema:0.3|vote:5]
[--demographics k=v,...] [--json]`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from edgekit.cli.render import table


@click.command()
@click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--input", "source", required=True,
              help="Samples: a .csv or .parquet long table (the spec's raw input columns, optional sequence_id "
                   "or subject, time and handedness), or - for CSV lines on stdin.")
@click.option("--stream-col", "stream_column", default=None, metavar="COLUMN",
              help="Stream each value of COLUMN on its own (state reset between them, time checked per stream; "
                   "a file's rows are regrouped by it); '' reads the table as one stream [default: sequence_id, "
                   "else subject, else one stream].")
@click.option("--hop", type=click.IntRange(min=1), default=None,
              help="Samples between predictions [default: a quarter of the model's window].")
@click.option("--smooth", default=None, help="Smooth successive predictions: ema:ALPHA or vote:N.")
@click.option("--spec", "spec_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="The device bridge's FeatureSpec JSON [default: the spec stored in the model]; a different "
                   "spec hash is refused.")
@click.option("--handedness", type=click.IntRange(0, 1), default=None,
              help="Wearer's hand when the input has no handedness column (0 left, 1 right) [default: "
                   "--demographics' handedness, else 1].")
@click.option("--demographics", "demographics_text", default=None, metavar="K=V,...",
              help="The wearer's demographics for a model trained with them, once per stream, e.g. "
                   "age=12,adult_child=0,sex=1,handedness=1,height_cm=150,shoulder_to_wrist_cm=47,"
                   "elbow_to_wrist_cm=23 (the model's error names the keys it needs).")
@click.option("--time-column", default=None, help="Time column [default: time, timestamp, t or sequence_counter].")
@click.option("--time-unit", type=click.Choice(["s", "ms", "samples"]), default=None,
              help="Unit of the time column [default: s; samples for sequence_counter].")
@click.option("--max-gap", type=click.IntRange(min=0), default=25, show_default=True,
              help="Gaps up to this many missing samples are filled with NaN samples; longer ones restart the stream.")
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--json", "as_json", is_flag=True,
              help="JSON lines: one object per prediction and issue, then the summary.")
def stream(model: Path, source: str, stream_column: str | None, hop: int | None, smooth: str | None,
           spec_path: Path | None, handedness: int | None, demographics_text: str | None, time_column: str | None,
           time_unit: str | None, max_gap: int, threads: int, as_json: bool) -> None:
    """Stream samples through the C feature bridge and MODEL, one at a time; predictions as they occur."""
    from edgekit.runtime.smoothing import SmoothingSpec
    from edgekit.runtime.sources import SourceOptions, TimeUnit, read_samples
    from edgekit.runtime.stream import StreamOptions, Streamer, parse_demographics, wearer_hand

    demographics = parse_demographics(demographics_text) if demographics_text is not None else None
    handedness = wearer_hand(handedness, demographics)

    spec = None
    if spec_path is not None:
        from edgekit.features import FeatureSpec

        spec = FeatureSpec.from_json(spec_path.read_text())
    options = StreamOptions(hop=hop, smoothing=SmoothingSpec.parse(smooth) if smooth else None, threads=threads)
    streamer = Streamer(model, options, spec=spec, handedness=handedness, demographics=demographics)
    if streamer.meta.drift:  # stderr: the JSON lines on stdout carry it as the summary's "drift"
        click.echo(f"warning: {model} was exported with --allow-drift ({streamer.meta.drift})", err=True)
    source_options = SourceOptions(time_column=time_column, time_unit=TimeUnit(time_unit) if time_unit else None,
                                   handedness=handedness, max_gap_samples=max_gap, stream_column=stream_column)
    events = read_samples(source, streamer.input_columns, streamer.sample_period_s,
                          required=streamer.required_columns, options=source_options)

    def on_prediction(p) -> None:
        if as_json:
            click.echo(json.dumps({"type": "prediction", **p.to_dict()}))
            return
        when = f"{p.time_s:9.3f} s" if p.time_s is not None else f"#{p.sample:>8d}"
        smoothed = f"  smoothed {p.smoothed_label} {p.smoothed_probability:.2f}" if p.smoothed_label else ""
        end = "  [end of sequence]" if p.final else ""
        click.echo(f"{p.sequence or '-'} {when}  {p.label} {p.probability:.2f}{smoothed}{end}")

    def on_issue(issue) -> None:
        if as_json:
            click.echo(json.dumps({"type": "issue", "line": issue.line, "where": issue.where, "kind": issue.kind,
                                   "message": issue.message}))
        else:
            click.echo(f"{issue.kind}: {issue}", err=True)

    summary = streamer.run(events, on_prediction=on_prediction, on_issue=on_issue)
    if as_json:
        click.echo(json.dumps({"type": "summary", **summary.to_dict()}))
        return
    lat = summary.latency_us
    rows = [["model", f"{summary.model} ({summary.mode}, {summary.precision})"], ["hop", summary.hop],
            ["smoothing", summary.smoothing or "none"],
            [f"streams (by {summary.stream_column}; a gap restart counts as a new one)" if summary.stream_column
             else "streams (a gap restart counts as a new one)", summary.sequences],
            ["samples", summary.samples],
            ["model runs", summary.model_runs], ["predictions", summary.predictions],
            ["samples with NaN inputs (NaN policy)", summary.nan_samples], ["filled gap samples", summary.filled_samples],
            *[[f"issues: {k}", v] for k, v in sorted(summary.issues.items())],
            ["latency per sample p50 / p99 (µs)", f"{lat.get('p50', 0):.1f} / {lat.get('p99', 0):.1f}" if lat else "-"],
            ["wall time (s)", summary.wall_s]]
    table("edgekit stream", ["", "value"], rows)
    if len(summary.finals) > 1:  # what each stream ended on
        column = summary.stream_column or "stream"
        table(f"per {column}: the prediction at each stream's end", [column, "samples", "label", "probability"],
              [[f["sequence"], f["samples"], f["label"], f["probability"]] for f in summary.finals])
