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


def main() -> None:
    app()


if __name__ == "__main__":
    main()
