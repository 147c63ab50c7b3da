"""The command line's help: every option says what it does and its default, and ``--help`` stays light (no model,
CAM or plotting code is imported), so that it answers at once."""

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

import primary_mask
from primary_mask.cli import build_parser

HEAVY = ("pytorch_grad_cam", "timm", "matplotlib", "torchvision")
# The public API: the names from before the package imported lazily, and those added since; every one imports.
PUBLIC = {
    "BatchPrimaryRegionErase", "EraseFlag", "EraseParams", "LandmarkDataset", "LandmarkFolder", "LandmarkRegionErase",
    "PrimaryMap", "PrimaryMapDataset", "PrimaryMapStore", "PrimaryMapWriter", "PrimaryRegionErase",
    "PrimaryRegionLocalizer", "RandomRegionErase", "fuse_maps", "keys_from_image_folder", "primary_region_erase",
    "prle_loss_weights", "prle_weighted_loss", "refine_mask", "StaticRegionErase", "StoreError", "verify_store",
    "with_landmarks", "with_primary_maps",
    "ImageOnly", "deepfake_image_folder",  # added in 0.2
}  # fmt: skip


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


COMMANDS = sorted(_subcommands())


@pytest.mark.parametrize("command", COMMANDS)
def test_every_option_has_help_and_its_default(command):
    parser = _subcommands()[command]
    formatter = parser._get_formatter()
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        name = "/".join(action.option_strings) or action.dest
        assert action.help, f"{command} {name}: no help text"
        shown = formatter._expand_help(action)
        assert "default: None" not in shown, f"{command} {name}: says 'default: None', say what None means"
        if action.option_strings and action.nargs != 0 and not action.required:
            assert "(default: " in shown, f"{command} {name}: help does not show the default: {shown!r}"


def test_bake_help_shows_the_fusion_defaults():
    text = " ".join(_subcommands()["bake"].format_help().split())  # what a user reads, unwrapped
    for option, default in (("--tau1", "0.5"), ("--tau2", "0.3"), ("--lam", "0.15"), ("--cam", "gradcam++")):
        after = text.split(f"  {option} ", 1)[-1] if f"  {option} " in text else text.split(f" {option} ")[-1]
        assert f"(default: {default})" in after.split(" --")[0], option


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_imports_no_model_cam_or_plotting_code(command):
    """``python -X importtime -m primary_mask.cli [COMMAND] --help`` in a fresh interpreter: the real entry path."""
    argv = [sys.executable, "-X", "importtime", "-m", "primary_mask.cli", *([command] if command else []), "--help"]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "usage: primary-mask" in proc.stdout
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time")}
    loaded = sorted(m for m in imported if m.split(".")[0] in HEAVY)
    assert not loaded, f"--help of {command or 'primary-mask'} imported {loaded[:5]}"


def test_parsing_a_bake_command_imports_no_model_cam_or_plotting_code():
    code = (
        "import sys\n"
        "from primary_mask.cli import build_parser\n"
        "build_parser().parse_args(['bake', '--images', 'x', '--model', 'm', '--out', 'o', '--cam', 'layercam'])\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "[]"


def test_every_public_name_still_imports():
    assert set(primary_mask.__all__) == PUBLIC
    assert PUBLIC <= set(dir(primary_mask))
    for name in sorted(PUBLIC):
        exec(f"from primary_mask import {name}", {})
        assert getattr(primary_mask, name) is not None
    from primary_mask.localize import CAM_METHODS, FUSIONS, PrimaryRegionLocalizer, fuse_maps  # noqa: F401

    assert primary_mask.store.PrimaryMapStore is primary_mask.PrimaryMapStore  # subpackages as attributes
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        primary_mask.nonexistent  # noqa: B018


def test_cli_choices_are_the_librarys():
    from primary_mask.localize import CAM_METHODS, FUSIONS
    from primary_mask.localize.fusion import FUSIONS as FUSIONS_FROM_FUSION

    bake = {a.dest: a for a in _subcommands()["bake"]._actions}
    assert tuple(bake["cam"].choices) == tuple(CAM_METHODS) == ("gradcam", "gradcam++", "xgradcam", "layercam")
    assert tuple(bake["fusion"].choices) == FUSIONS == FUSIONS_FROM_FUSION == ("average", "max", "neighboring")


def test_ctrl_c_before_a_command_saves_anything_is_a_short_message(monkeypatch, capsys, tmp_path):
    import primary_mask.cli as cli
    import primary_mask.cli.store

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(primary_mask.cli.store, "_verify", interrupted)
    assert cli.main(["verify", str(tmp_path)]) == 130
    assert "interrupted before any work was saved" in capsys.readouterr().err


def test_train_help_explains_the_training_options_and_their_defaults(capsys):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
    import train

    with pytest.raises(SystemExit):
        train.parse_args(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    for option, default in (("--size", 256), ("--epochs", 10), ("--batch-size", 32), ("--lr", 0.0002)):
        after = text.split(f" {option} {option.lstrip('-').replace('-', '_').upper()} ", 1)[1].split(" --")[0]
        assert f"(default: {default})" in after and len(after) > 25, option  # a help text, then the default
    assert "training set: a dataset spec" in text and "the checkpoint is chosen on its AUC" in text
    assert "default: None" not in text
