from pathlib import Path

import pytest

from training.config import ConfigError, load_config

REPO = Path(__file__).resolve().parent.parent


def test_shipped_configs_validate():
    for name in ("default", "baseline", "tiny", "arabert", "with-real"):
        config = load_config(REPO / "configs" / f"{name}.yaml")
        assert config.name == name
        assert all(Path(p).is_absolute() for p in config.train_files + config.dev_files)


def test_extends_merges_and_resolves_paths_per_file(tmp_path):
    config = load_config(REPO / "configs" / "with-real.yaml")
    default = load_config(REPO / "configs" / "default.yaml")
    assert config.encoder == default.encoder and config.epochs == default.epochs
    assert config.train_files[0] == default.train_files[0]
    assert config.train_files[1] == (REPO.parent / "shared" / "data" / "real" / "train.jsonl").resolve()
    assert config.lenient and not default.lenient


def test_errors_name_the_file_and_key(tmp_path):
    bad = tmp_path / "configs" / "bad.yaml"
    bad.parent.mkdir()
    bad.write_text("name: x\ntrain_files: [a.jsonl]\ndev_files: [b.jsonl]\nepochs: 0\nlr: 1\n")
    with pytest.raises(ConfigError) as error:
        load_config(bad)
    message = str(error.value)
    assert str(bad) in message and "epochs: Input should be greater than or equal to 1" in message
    assert "lr: Extra inputs are not permitted" in message
    bad.write_text("name: x\ntrain_files: [a.jsonl]\ndev_files: [b.jsonl]\nmax_length: 100\nstride: 60\n")
    with pytest.raises(ConfigError, match="stride 60 is too large"):
        load_config(bad)
    loop = tmp_path / "configs" / "loop.yaml"
    loop.write_text("extends: loop.yaml\n")
    with pytest.raises(ConfigError, match="loops back"):
        load_config(loop)
