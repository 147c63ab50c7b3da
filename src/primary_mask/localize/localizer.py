"""``PrimaryRegionLocalizer``: Grad-CAMs of a detector zoo, fused into one primary-region map per image."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np
import torch
import torch.nn.functional as nnf
from pytorch_grad_cam import GradCAM, GradCAMPlusPlus, LayerCAM, XGradCAM
from torch import nn

from primary_mask._checks import check_device
from primary_mask._version import __version__
from primary_mask.localize.fusion import fuse_maps
from primary_mask.localize.names import CAM_BACKENDS, CAM_NAMES
from primary_mask.localize.recipe import RECIPE, Recipe
from primary_mask.localize.target_layers import default_target_layer
from primary_mask.localize.torch_cam import TORCH_CAMS, batch_cam, label_scores
from primary_mask.localize.zoo import load_model

__all__ = ["CAM_METHODS", "LabelTarget", "PrimaryRegionLocalizer"]

CAM_METHODS = dict(zip(CAM_NAMES, (GradCAM, GradCAMPlusPlus, XGradCAM, LayerCAM)))  # the names live in names.py


def _scale_by_max(cams: np.ndarray, target_size: tuple[int, int] | None = None) -> np.ndarray:
    """``(B, h, w)`` CAMs >= 0 divided each by its own maximum (an all-zero CAM stays 0), then resized to
    ``target_size`` (width, height) like pytorch-grad-cam's ``scale_cam_image`` (``cv2.resize``, bilinear)."""
    top = cams.reshape(cams.shape[0], -1).max(1) if cams.size else np.zeros(0)
    safe = np.where(top > 0, top, 1.0).reshape(-1, *([1] * (cams.ndim - 1)))
    scaled = np.where(top.reshape(safe.shape) > 0, cams / safe, 0.0).astype(np.float32)
    if target_size is None:
        return scaled
    return np.float32([cv2.resize(img, target_size) for img in scaled])


class _MaxScaledCAM:
    """Mixin for a pytorch-grad-cam method: the ReLU'd raw CAM divided by its own maximum instead of
    ``scale_cam_image``'s min-max rescaling, so its zeros stay zeros. Same steps as ``BaseCAM`` otherwise
    (ReLU, resize to the input size, mean over target layers, ReLU)."""

    def compute_cam_per_layer(self, input_tensor, targets, eigen_smooth):  # noqa: ANN001, ANN201 (BaseCAM's)
        grab = self.activations_and_grads
        activations = [a.cpu().data.numpy() for a in grab.activations]
        grads = [g.cpu().data.numpy() for g in grab.gradients]
        target_size = self.get_target_width_height(input_tensor)
        per_layer = []
        for i, layer in enumerate(self.target_layers):
            act = activations[i] if i < len(activations) else None
            grad = grads[i] if i < len(grads) else None
            cam = np.maximum(self.get_cam_image(input_tensor, layer, targets, act, grad, eigen_smooth), 0)
            per_layer.append(_scale_by_max(cam, target_size)[:, None, :])
        return per_layer

    def aggregate_multi_layers(self, cam_per_target_layer):  # noqa: ANN001, ANN201 (BaseCAM's)
        return _scale_by_max(np.maximum(np.concatenate(cam_per_target_layer, axis=1), 0).mean(axis=1))


_MAX_SCALED = {name: type(f"MaxScaled{cls.__name__}", (_MaxScaledCAM, cls), {}) for name, cls in CAM_METHODS.items()}


class LabelTarget:
    """Grad-CAM target for one image, decided from the model's own output.

    ``label`` 1 (fake) or 0 (real): the score of that class. For a one-logit model the logit scores class
    ``fake_class`` (so +logit for that class, -logit for the other); for a multi-logit model the logit at the
    class's index (``fake_class`` for fake, ``1 - fake_class`` for real). ``label`` -1 (unknown): the score of
    the predicted class (|logit|, or the largest logit).
    """

    def __init__(self, label: int, fake_class: int = 1) -> None:
        self.label, self.fake_class = label, fake_class

    def __call__(self, model_output: torch.Tensor) -> torch.Tensor:
        label = torch.tensor([self.label])
        return label_scores(model_output.reshape(1, -1), label, self.fake_class)[0]  # the one rule of both backends


class PrimaryRegionLocalizer:
    """Static localization (Section III-B): one Grad-CAM per image and model, fused into one map.

    Args:
        models: ``nn.Module`` detectors and/or ``"timm_name[:checkpoint]"`` specs; each outputs one logit
            (sigmoid) or class logits.
        target_layers: one layer per model (or None per entry) to override the automatic choice
            (:func:`~primary_mask.localize.target_layers.default_target_layer`).
        cam: ``"gradcam++"`` (default), ``"gradcam"`` (the paper's), ``"xgradcam"`` or ``"layercam"``
            (pytorch-grad-cam).
        fusion, tau1, tau2, lam, band_value: see :func:`~primary_mask.fuse_maps`. Defaults: the measured recipe
            :data:`~primary_mask.localize.recipe.RECIPE` (Grad-CAM++, tau1 = 0.5, tau2 = 0.3; the paper:
            Grad-CAM, tau1 = 0.3, tau2 = 0.1, :data:`~primary_mask.localize.recipe.PAPER`), lam = 0.15;
            ``band_value="max"`` is the paper's Eq. 8, the default ``"mean"`` keeps a kept band pixel's own
            mean so rims never outrank the cores they surround. All of them, ``normalize`` and ``size`` are checked
            once, as a :class:`~primary_mask.localize.recipe.Recipe` (``self.recipe``).
        size: side of the stored maps (default 64).
        device: where the models run (default: CUDA when available, else CPU).
        batch_size: images per Grad-CAM call.
        target: which logit each image's CAM explains (``CAM_TARGETS``): ``"label"`` (default, the paper: its own
            label's; unknown labels the predicted class), ``"fake"`` (the fake logit for every image), ``"both"``
            (the mean of each model's CAMs towards real and towards fake). ``"fake"`` and ``"both"`` give reals and
            fakes maps of one kind, so the erase does not tell the label.
        cam_backend: ``"torch"`` (batched on ``device``, :func:`~primary_mask.localize.torch_cam.batch_cam`) or
            ``"grad-cam"`` (pytorch-grad-cam); default: torch for Grad-CAM and Grad-CAM++, pytorch-grad-cam for the
            other methods. The maps agree within 1e-5 (tested over the zoo's architectures).
        normalize: how each model's CAM is scaled to [0, 1] before fusion. ``"minmax"`` (default): by its own
            minimum and maximum, as pytorch-grad-cam does (a CAM positive everywhere then reaches 0 at its
            minimum only); ``"max"``: the ReLU'd raw CAM divided by its own maximum, so its zeros stay 0 (the
            paper's "over 80% of the attention values are 0"); an all-zero CAM stays 0.
        fake_class: label convention of the models. Labels are always real = 0, fake = 1; a two-class model
            whose fake logit is index 0 (the authors' release) needs ``fake_class=0``; for a one-logit model
            ``fake_class=1`` means a positive logit is "fake".

    ``localize(images, labels=None) -> (B, size, size)`` float maps in [0, 1] on ``device``.
    """

    def __init__(
        self,
        models: Sequence[nn.Module | str],
        target_layers: Sequence[nn.Module | None] | None = None,
        cam: str = RECIPE.cam,
        fusion: str = RECIPE.fusion,
        tau1: float = RECIPE.tau1,
        tau2: float = RECIPE.tau2,
        lam: float = RECIPE.lam,
        band_value: str = RECIPE.band_value,
        size: int = RECIPE.size,
        device: str | torch.device | None = None,
        batch_size: int = 32,
        fake_class: int = 1,
        normalize: str = RECIPE.normalize,
        target: str = RECIPE.target,
        cam_backend: str | None = None,
    ) -> None:
        if isinstance(models, (nn.Module, str)) or len(models) == 0:
            raise ValueError("models must be a non-empty list of nn.Modules or 'timm_name[:checkpoint]' specs")
        self.recipe = Recipe(cam, fusion, tau1, tau2, lam, band_value, normalize, int(size), target=target)
        if cam_backend is None:
            cam_backend = "torch" if cam in TORCH_CAMS else "grad-cam"
        if cam_backend not in CAM_BACKENDS:
            raise ValueError(f"cam_backend must be one of {CAM_BACKENDS}, got {cam_backend!r}")
        if cam_backend == "torch" and cam not in TORCH_CAMS:
            raise ValueError(
                f"the torch CAM backend computes {tuple(TORCH_CAMS)}, not {cam!r}: pass cam_backend='grad-cam' "
                "(--cam-backend grad-cam)"
            )
        self.cam_backend = cam_backend
        if fake_class not in (0, 1):
            raise ValueError(f"fake_class must be 0 or 1, got {fake_class}")
        if target_layers is not None and len(target_layers) != len(models):
            raise ValueError(f"target_layers has {len(target_layers)} entries for {len(models)} models")
        self.device = check_device(device) or torch.device("cuda" if torch.cuda.is_available() else "cpu")
        loaded = [load_model(m) for m in models]
        self.models = [m.to(self.device).eval() for m, _ in loaded]
        self.model_info = [info for _, info in loaded]
        self.target_layers = [
            (t if t is not None else default_target_layer(m))
            for m, t in zip(self.models, target_layers or [None] * len(self.models))
        ]
        self.batch_size, self.fake_class = int(batch_size), fake_class

    cam = property(lambda self: self.recipe.cam)
    fusion = property(lambda self: self.recipe.fusion)
    tau1 = property(lambda self: self.recipe.tau1)
    tau2 = property(lambda self: self.recipe.tau2)
    lam = property(lambda self: self.recipe.lam)
    band_value = property(lambda self: self.recipe.band_value)
    normalize = property(lambda self: self.recipe.normalize)
    size = property(lambda self: self.recipe.size)
    target = property(lambda self: self.recipe.target)

    def settings(self) -> dict[str, Any]:
        """What determines the maps (stored as the store's provenance ``settings``): the models (name, checkpoint,
        sha256), :meth:`Recipe.settings <primary_mask.localize.recipe.Recipe.settings>` without the input size, and
        ``fake_class``."""
        models = [{k: info.get(k) for k in ("name", "checkpoint", "sha256")} for info in self.model_info]
        return {"models": models, **self.recipe.settings(input_size=False), "fake_class": self.fake_class}

    def provenance(self) -> dict[str, Any]:
        """The settings, and beside them (not compared on resume: both backends give the same maps) the library
        version and the CAM backend."""
        return {"settings": self.settings(), "library_version": __version__, "cam_backend": self.cam_backend}

    def model_cams(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """``(T, B, size, size)`` per-model CAMs in [0, 1], each scaled per image as ``normalize`` says."""
        if images.ndim != 4 or not images.is_floating_point():
            raise ValueError(
                f"images must be a float (B, C, H, W) tensor (normalised for the models), got {tuple(images.shape)}"
            )
        if labels is not None:
            labels = torch.as_tensor(labels).flatten()
            if labels.numel() != images.shape[0]:
                raise ValueError(f"labels has {labels.numel()} entries for {images.shape[0]} images")
            if bool(((labels != 0) & (labels != 1) & (labels != -1)).any()):
                raise ValueError("labels must be 0 (real), 1 (fake) or -1 (unknown: use the prediction)")
        images = images.to(self.device)
        b = images.shape[0]
        label_list = labels.tolist() if labels is not None else [-1] * b
        per_target = {"label": [label_list], "fake": [[1] * b], "both": [[0] * b, [1] * b]}[self.target]
        cams = []
        methods = CAM_METHODS if self.normalize == "minmax" else _MAX_SCALED
        for model, layer in zip(self.models, self.target_layers):
            greys = []
            for target_labels in per_target:  # "both": the mean of the CAMs towards real and towards fake
                if self.cam_backend == "torch":
                    greys.append(
                        batch_cam(model, layer, images, torch.tensor(target_labels), self.cam, self.fake_class,
                                  self.normalize)
                    )  # fmt: skip
                    continue
                with methods[self.cam](model=model, target_layers=[layer]) as cam:
                    targets = [LabelTarget(int(y), self.fake_class) for y in target_labels]
                    greys.append(torch.from_numpy(cam(input_tensor=images, targets=targets)))
            cams.append(torch.stack(greys).mean(0).to(self.device, torch.float32))
        stacked = torch.stack(cams)  # (T, B, H, W), already in [0, 1] at input size (and >= 0)
        t, b, h, w = stacked.shape
        small = nnf.interpolate(
            stacked.reshape(t * b, 1, h, w),
            size=(self.size, self.size),
            mode="bilinear",
            align_corners=False,
            antialias=True,
        ).reshape(t, b, self.size, self.size)
        flat = small.flatten(2)
        lo, hi = flat.amin(-1, keepdim=True), flat.amax(-1, keepdim=True)
        if self.normalize == "max":  # the antialiased resize keeps values >= 0; rescale the maximum to 1
            return torch.where(hi > 0, flat / hi.clamp_min(torch.finfo(flat.dtype).tiny), 0.0).reshape(small.shape)
        return ((flat - lo) / (hi - lo).clamp_min(1e-7)).reshape(small.shape)

    def localize(self, images: torch.Tensor, labels: torch.Tensor | Sequence[int] | None = None) -> torch.Tensor:
        """Fused ``(B, size, size)`` maps for ``images`` (B, C, H, W), in chunks of ``batch_size``."""
        out = []
        for start in range(0, images.shape[0], self.batch_size):
            chunk_labels = None if labels is None else torch.as_tensor(labels)[start : start + self.batch_size]
            cams = self.model_cams(images[start : start + self.batch_size], chunk_labels)
            out.append(fuse_maps(cams, self.fusion, self.tau1, self.tau2, self.lam, self.band_value))
        return torch.cat(out) if out else torch.zeros(0, self.size, self.size, device=self.device)
