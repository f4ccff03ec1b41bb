"""The error-analysis notebook runs top to bottom on a real report (of the tiny model)."""

import os

import nbformat
from nbclient import NotebookClient

from conftest import REPO
from evaluation.run import run_evaluation


def test_error_analysis_notebook_runs(tmp_path, tiny_model):
    report = tmp_path / "report"
    run_evaluation(tiny_model, [REPO / "tests" / "resources" / "tiny-dev.jsonl"], report, n_resamples=5)
    notebook = nbformat.read(REPO / "notebooks" / "error_analysis.ipynb", as_version=4)
    os.environ["MARSAD_REPORT"] = str(report)
    try:
        NotebookClient(notebook, timeout=300, kernel_name="python3",
                       resources={"metadata": {"path": str(REPO / "notebooks")}}).execute()
    finally:
        del os.environ["MARSAD_REPORT"]
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("error rate" in str(o.get("data", {})) for o in outputs)
