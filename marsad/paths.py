"""Where marsad keeps its files, and the offline environment it runs in.

Nothing may reach a model hub at run time, so the Hugging Face libraries are told to stay
offline unless the user says otherwise (``HF_HUB_OFFLINE=0`` for a hub model such as AraBERT).
Caches and the BentoML model store live under one home directory: the source checkout when
marsad runs from one (what `make` uses), else ``~/.cache/marsad``; ``MARSAD_HOME`` overrides.
"""

from __future__ import annotations

import os
from pathlib import Path

SOURCE_ROOT = Path(__file__).resolve().parent.parent


def marsad_home() -> Path:
    if "MARSAD_HOME" in os.environ:
        return Path(os.environ["MARSAD_HOME"]).expanduser()
    if (SOURCE_ROOT / "pyproject.toml").is_file():
        return SOURCE_ROOT
    return Path.home() / ".cache" / "marsad"


def artifacts_dir() -> Path:
    """Built things that are not in git: the expanded encoder, scratch files."""
    return marsad_home() / "artifacts"


def configure_environment() -> None:
    """Set offline defaults for the HF stack and BentoML; explicit settings win."""
    home = marsad_home()
    defaults = {
        "HF_HOME": str(home / ".cache" / "hf"),
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "HF_EVALUATE_OFFLINE": "1",
        "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "BENTOML_HOME": str(home / ".bentoml"),
        "BENTOML_DO_NOT_TRACK": "true",
    }
    for key, value in defaults.items():
        os.environ.setdefault(key, value)
