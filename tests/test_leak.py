"""The erase-leak diagnostic and the paired rule (issue #26): the leak AUC against scikit-learn's logistic regression
and against cases whose answer is known, the masks against Eq. 9-10 counted by hand, the pairing against its
definition."""

import math

import numpy as np
import pytest
import torch

from primary_mask.data.pairing import PairedMaps, pairs_by_real
from primary_mask.data.pairs import Pair
from primary_mask.quality.leak import draw_erase_masks, erase_leak, mask_label_auc


def blob(cy, cx, r, size=16):
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    return torch.clamp(1 - ((yy - cy) ** 2 + (xx - cx) ** 2).float().sqrt() / r, min=0)


def test_draw_erase_masks_keeps_floor_alpha_of_the_positive_pixels():
    maps = torch.stack([blob(8, 8, 5), blob(3, 3, 2), torch.zeros(16, 16)])
    masks = draw_erase_masks(maps, (0.5, 0.5))
    for m, mask in zip(maps, masks):
        positive = int((m > 0).sum())
        assert int(mask.sum()) == math.floor(0.5 * positive)
        if mask.any():
            assert m[mask].min() >= m[(m > 0) & ~mask].max()  # the most attended ones


def test_masks_that_differ_by_class_leak_and_label_free_masks_do_not():
    g = torch.Generator().manual_seed(0)
    n = 200
    labels = [0] * n + [1] * n
    top = torch.zeros(n, 16, 16, dtype=torch.bool)
    top[:, :6] = torch.rand(n, 6, 16, generator=g) < 0.7
    bottom = torch.zeros(n, 16, 16, dtype=torch.bool)
    bottom[:, 10:] = torch.rand(n, 6, 16, generator=g) < 0.7
    auc, folds = mask_label_auc(torch.cat([top, bottom]), labels)
    assert auc > 0.99 and len(folds) == 5
    same = torch.rand(2 * n, 16, 16, generator=g) < 0.3  # one distribution for both classes
    assert abs(mask_label_auc(same, labels)[0] - 0.5) < 0.07


def test_the_leak_auc_agrees_with_scikit_learns_logistic_regression():
    sklearn = pytest.importorskip("sklearn.model_selection")
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    g = torch.Generator().manual_seed(1)
    n = 300
    labels = np.array([0] * n + [1] * n)
    radius = torch.where(torch.tensor(labels) == 1, 4.0, 5.0) + torch.rand(2 * n, generator=g) * 2  # overlapping
    masks = torch.stack([blob(8, 8, float(r)) > 0.3 for r in radius])
    ours, _ = mask_label_auc(masks, labels, l2=1e-2)
    x = torch.nn.functional.adaptive_avg_pool2d(masks.float().unsqueeze(1), 16).flatten(1).numpy()
    model = make_pipeline(StandardScaler(), LogisticRegression(C=1 / (1e-2 * 0.8 * 2 * n), max_iter=2000))
    cv = sklearn.StratifiedKFold(5, shuffle=True, random_state=0)
    theirs = sklearn.cross_val_score(model, x, labels, cv=cv, scoring="roc_auc").mean()
    assert 0.6 < theirs < 0.99 and abs(ours - theirs) < 0.03  # the same model; other fold splits


def test_pairing_removes_a_label_targeted_leak():
    """Reals' maps (towards "real") broad and up, fakes' (towards "fake") small and down: the hole gives the label
    away; with each real erased by its own fake's map it cannot."""
    g = torch.Generator().manual_seed(2)
    maps, keys, labels, pairs = {}, [], [], []
    for i in range(120):
        jitter = torch.randint(-2, 3, (2,), generator=g).tolist()
        maps[f"real/{i}"] = blob(5 + jitter[0], 8 + jitter[1], 6)
        maps[f"fake/{i}"] = blob(11 + jitter[1], 8 + jitter[0], 3)
        keys += [f"real/{i}", f"fake/{i}"]
        labels += [0, 1]
        pairs.append(Pair(f"real/{i}", f"fake/{i}"))
    own = erase_leak(maps, keys, labels, alpha_range=(0.5, 1.0))
    paired = erase_leak(maps, keys, labels, alpha_range=(0.5, 1.0), pairs=pairs)
    assert own.auc > 0.95 and abs(paired.auc - 0.5) < 0.1
    assert own.coverage[0][0] > 2 * own.coverage[1][0]  # reals lose far more
    assert abs(paired.coverage[0][0] - paired.coverage[1][0]) < 0.02
    assert own.mean_mask[0].shape == (16, 16) and "AUC" in own.summary() and "no label" in paired.summary()


def test_paired_maps_serve_a_real_one_of_its_fakes_and_count_the_unpaired():
    maps = {"r1": torch.zeros(2, 2), "f1a": torch.ones(2, 2), "f1b": torch.full((2, 2), 2.0), "r2": torch.eye(2)}
    pairs = [Pair("x/r1", "x/f1a"), Pair("x/r1", "x/f1b"), Pair("x/r2", "x/f2"), Pair("y/r9", "y/f9")]
    assert pairs_by_real(pairs, "x/") == {"r1": ["f1a", "f1b"], "r2": ["f2"]}
    paired = PairedMaps(maps, pairs, prefix="x/", generator=torch.Generator().manual_seed(0))
    served = {float(paired["r1"][0, 0]) for _ in range(40)}
    assert served == {1.0, 2.0}  # one of its fakes per lookup, both over many
    assert torch.equal(paired["f1a"], maps["f1a"]) and torch.equal(paired["r2"], maps["r2"])  # f2 has no map: own
    strict = PairedMaps(maps, pairs, prefix="x/", unpaired="none")
    assert "r2" not in strict and "r1" in strict
    with pytest.raises(KeyError, match="no paired map for 'r2'"):
        strict["r2"]
    report = strict.report(["r1", "r2", "f1a", "f1b"], [0, 0, 1, 1])
    assert (report.paired, report.none, report.own, report.fakes) == (1, 1, 0, 2)
    assert "1 of 2 reals take a fake's map" in report.summary()
    with pytest.raises(ValueError, match="unpaired must be one of"):
        PairedMaps(maps, pairs, unpaired="skip")


def leaky_store(tmp_path) -> None:
    """tmp_path/s: 30 reals with broad maps placed high and their 30 fakes with small ones (the hole tells the label);
    tmp_path/pairs.csv pairs each real with its fake (split train, bare names)."""
    from primary_mask import PrimaryMapWriter

    keys, maps, rows = [], [], ["split,real,fake"]
    for i in range(30):
        keys += [f"real/{i}.png", f"fake/{i}.png"]
        maps += [blob(5 + i % 3, 8 + i % 5, 6), blob(11 - i % 3, 8 - i % 4, 3)]  # reals broad and up, fakes small
        rows.append(f"train,{i}.png,{i}.png")
    with PrimaryMapWriter(tmp_path / "s", size=16) as writer:
        writer.add(keys, torch.stack(maps))
    (tmp_path / "pairs.csv").write_text("\n".join(rows) + "\n")


def test_leak_command_reads_labels_from_folders_measures_the_pairing_and_draws_the_figure(tmp_path, capsys):
    from primary_mask.cli import main

    leaky_store(tmp_path)
    assert main(["leak", str(tmp_path / "s"), "--png", str(tmp_path / "leak.png")]) == 0
    out = capsys.readouterr().out
    assert "cross-validated AUC 1.000 (the hole alone tells the label" in out and (tmp_path / "leak.png").stat().st_size
    args = ["leak", str(tmp_path / "s"), "--pairs", str(tmp_path / "pairs.csv"), "--pair-prefix", "train/"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "paired maps: 30 of 30 reals take a fake's map" in out
    assert float(out.split("cross-validated AUC ")[1].split()[0]) < 0.7


def test_identical_maps_under_two_keys_share_a_fold_and_carry_no_label():
    """An oracle store gives a fake and its real one mask: the leak must read 0.5, not below it (a fold split
    between the twins would learn each mask with one label and test it with the other)."""
    g = torch.Generator().manual_seed(5)
    maps, keys, labels = {}, [], []
    for i in range(60):
        box = torch.zeros(16, 16)
        y, x = torch.randint(0, 10, (2,), generator=g).tolist()
        box[y : y + 6, x : x + 6] = 1.0
        maps[f"real/{i}"] = maps[f"fake/{i}"] = box
        keys += [f"real/{i}", f"fake/{i}"]
        labels += [0, 1]
    report = erase_leak(maps, keys, labels, alpha_range=(1.0, 1.0))
    assert abs(report.auc - 0.5) < 0.05


def erase_leak_of(store: str):
    from primary_mask.quality.leak import store_leak

    return store_leak(store)


def test_plot_leak_draws_one_row_per_rule_with_its_name_and_leak(tmp_path, capsys, monkeypatch):
    import sys
    from pathlib import Path

    import primary_mask.figures.leak as leak_module

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
    import plot_leak

    leaky_store(tmp_path)
    drawn = []
    save = leak_module.save_figure
    monkeypatch.setattr(
        leak_module, "save_figure", lambda fig, out, *a, **k: drawn.append(fig) or save(fig, out, *a, **k)
    )
    store = str(tmp_path / "s")
    argv = ["--rule", "own", store, "--rule", "paired", store, str(tmp_path / "pairs.csv"), "--pair-prefix", "train/"]
    out = plot_leak.main([*argv, "--out", str(tmp_path / "rules.png")])
    assert out.stat().st_size > 10_000
    lines = capsys.readouterr().out.splitlines()
    own_auc = float(lines[0].split("cross-validated AUC ")[1].split()[0])
    paired_auc = float(lines[1].split("cross-validated AUC ")[1].split()[0])
    assert own_auc == 1.0 and paired_auc < 0.7  # the hand-built maps: reals' holes differ, their fakes' do not
    (fig,) = drawn
    labels = [ax.get_ylabel() for ax in fig.axes if ax.get_ylabel().startswith(("own", "paired"))]
    assert labels == [f"own\nleak AUC {own_auc:.3f}", f"paired\nleak AUC {paired_auc:.3f}"]
    assert len(fig.axes) == 2 * 3 + 2  # two rows of three panels, and the two colour bars
    with pytest.raises(SystemExit):
        plot_leak.main(["--rule", "lonely", "--out", str(tmp_path / "x.png")])
    assert "give NAME STORE or NAME STORE PAIRS" in capsys.readouterr().err
    drawn.clear()  # one unnamed report, given as a mapping: the single-rule figure, its AUC in the heading
    leak_module.leak_figure({"": erase_leak_of(store)}, tmp_path / "one.png")
    assert f"AUC {own_auc:.3f} (0.5 = no leak)" in drawn[0].get_suptitle()
