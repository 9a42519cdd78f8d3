r"""Sets of real images for the paper's image experiments (Maron et al.,
ICML 2020, Section 6): choosing the least corrupted copy of an image,
matching shuffled colour channels, and deblurring a burst.

Where the images come from:

* :func:`photo_sources`: the real photographs that ship inside
  scikit-image (``pip install pyg-dss[images]``; no download).  Every photo
  is split in space: training crops come from its left three quarters, test
  crops from the right quarter, so no test pixel is seen in training.
* :func:`lfw_faces`: the 200 Labeled-Faces-in-the-Wild crops of
  ``skimage.data.lfw_subset()`` (faces, like the paper's CelebA), 150 for
  training and 50 for testing.
* :func:`image_folder`: any folder of image files (the paper's Places,
  CelebA or ImageNet, for those who have them).

Every dataset draws set ``i`` from a generator seeded by ``(seed, i)``: the
same seed gives the same sets, in any order and with any number of workers.
Images are float tensors ``[C, H, W]`` in ``[0, 1]``.
"""
from __future__ import annotations

import functools
import os
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import Dataset

__all__ = ["PHOTOS", "photo_sources", "lfw_faces", "image_folder", "QualitySelectionSets",
           "ChannelMatchingSets", "BurstSets", "motion_blur_kernel", "reassemble_channels"]

#: The colour photographs of scikit-image used by :func:`photo_sources`.
PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field",
          "immunohistochemistry", "retina", "stereo_motorcycle")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
SPLITS = ("train", "test", "all")


def _skimage_data():
    try:
        import skimage.data
    except ImportError:
        raise ImportError("The built-in real photographs come from scikit-image: "
                          "pip install 'pyg-dss[images]' (or pass your own images, e.g. "
                          "image_folder('path/to/places')).") from None
    return skimage.data


def _to_tensor(array: np.ndarray) -> Tensor:
    """uint8 / float [H, W] or [H, W, C] -> float [C, H, W] in [0, 1]."""
    a = np.asarray(array)
    scale = 255.0 if a.dtype == np.uint8 else 1.0
    t = torch.from_numpy(a.astype(np.float32) / scale)
    return t.unsqueeze(0) if t.dim() == 2 else t.permute(2, 0, 1)[:3].contiguous()


def _split_columns(image: Tensor, split: str, test_fraction: float = 0.25) -> Tensor:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}.")
    cut = int(round(image.size(-1) * (1 - test_fraction)))
    return {"train": image[..., :cut], "test": image[..., cut:], "all": image}[split]


def photo_sources(split: str = "train", gray: bool = False, short_side: Optional[int] = 128,
                  names: Sequence[str] = PHOTOS) -> List[Tensor]:
    r"""The real colour photographs shipped with scikit-image (``[3, H, W]``,
    or ``[1, H, W]`` with ``gray``), shrunk (area averaging) so that the
    shorter side is :obj:`short_side` pixels (``None``: full size; small
    crops of a shrunk photo hold whole objects, not flat patches), then cut
    to the left three quarters (``"train"``), the right quarter (``"test"``)
    or kept whole (``"all"``); ``"stereo_motorcycle"`` gives both views."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}.")
    out = []
    for image in _photos(tuple(names), short_side):
        image = _split_columns(image, split)
        out.append(image.mean(0, keepdim=True) if gray else image.clone())
    return out


@functools.lru_cache(maxsize=4)
def _photos(names: Tuple[str, ...], short_side: Optional[int]) -> Tuple[Tensor, ...]:
    """The decoded, shrunk photos (decoding the large ones takes seconds:
    done once per process)."""
    data = _skimage_data()
    out = []
    for name in names:
        if name not in PHOTOS:
            raise ValueError(f"Unknown photo {name!r}; choose from {PHOTOS}.")
        arrays = data.stereo_motorcycle()[:2] if name == "stereo_motorcycle" \
            else [getattr(data, name)()]
        for a in arrays:
            image = _to_tensor(a)
            if short_side is not None and min(image.shape[1:]) > short_side:
                scale = short_side / min(image.shape[1:])
                size = [max(1, round(d * scale)) for d in image.shape[1:]]
                image = F.interpolate(image[None], size=size, mode="area")[0]
            out.append(image)
    return tuple(out)


def lfw_faces(split: str = "train") -> List[Tensor]:
    r"""The 200 grayscale 25 x 25 face crops of ``skimage.data.lfw_subset()``
    as ``[1, 25, 25]`` tensors: the first 150 for ``"train"``, the last 50
    for ``"test"``."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}.")
    faces = [_to_tensor(f) for f in _skimage_data().lfw_subset()]
    return {"train": faces[:150], "test": faces[150:], "all": faces}[split]


class _TooLarge(Exception):
    pass


def image_folder(root: str, max_images: Optional[int] = None, gray: bool = False,
                 min_size: int = 0, max_pixels: int = 4096 * 4096) -> List[Tensor]:
    r"""Every image file under :obj:`root` (recursively, sorted by path) as
    ``[3, H, W]`` (``[1, H, W]`` with ``gray``) tensors, e.g. a folder of
    Places, CelebA or ImageNet images.  Images smaller than ``min_size`` on
    either side are skipped; a file that cannot be decoded, or whose header
    declares more than :obj:`max_pixels` pixels (a small PNG can decode to
    gigabytes), raises a :class:`ValueError` naming it."""
    from PIL import Image

    if not os.path.isdir(root):
        raise FileNotFoundError(f"No image folder at '{root}'.")
    paths = sorted(os.path.join(d, f) for d, _, files in os.walk(root) for f in files
                   if f.lower().endswith(IMAGE_EXTENSIONS))
    out = []
    for path in paths:
        try:
            with Image.open(path) as im:
                if im.width * im.height > max_pixels:  # checked before decoding
                    raise _TooLarge(f"The image '{path}' is {im.width} x {im.height} pixels, "
                                    f"more than max_pixels={max_pixels} (it would decode to "
                                    f"{im.width * im.height * 12 / 1e9:.1f} GB of float32 "
                                    "RGB); shrink it, or pass a larger max_pixels.")
                image = _to_tensor(np.asarray(im.convert("L" if gray else "RGB")))
        except _TooLarge as e:
            raise ValueError(str(e)) from None
        except Exception as e:  # PIL raises several types for broken files
            raise ValueError(f"Cannot decode the image '{path}' ({e}); remove or replace "
                             "it.") from None
        if min(image.shape[1:]) >= min_size:
            out.append(image)
        if max_images is not None and len(out) >= max_images:
            break
    if not out:
        raise ValueError(f"No usable image (extensions {IMAGE_EXTENSIONS}, at least "
                         f"{min_size} px) under '{root}'.")
    return out


def _check_sources(images: Sequence[Tensor], size: int, what: str) -> List[Tensor]:
    if len(images) == 0:
        raise ValueError(f"{what} needs at least one source image.")
    out = []
    for k, image in enumerate(images):
        if image.dim() != 3:
            raise ValueError(f"Source image {k} has shape {tuple(image.shape)}; expected "
                             "[C, H, W].")
        if min(image.shape[1:]) < size:  # upsample small images (LFW faces are 25 x 25)
            scale = size / min(image.shape[1:])
            image = F.interpolate(image[None], scale_factor=scale, mode="bilinear",
                                  align_corners=False)[0].clamp(0, 1)
        out.append(image.float())
    return out


class _SetsOfImages(Dataset):
    def __init__(self, images: Sequence[Tensor], num_sets: int, size: int, seed: int,
                 margin: int = 0) -> None:
        super().__init__()
        if num_sets < 1 or size < 4:
            raise ValueError("num_sets must be >= 1 and size >= 4.")
        self.images = _check_sources(images, size + 2 * margin, self.__class__.__name__)
        self.num_sets, self.size, self.seed, self.margin = num_sets, size, seed, margin

    def __len__(self) -> int:
        return self.num_sets

    def _rng(self, index: int) -> np.random.Generator:
        if not 0 <= index < self.num_sets:
            raise IndexError(f"Set index {index} out of range for {self.num_sets} sets.")
        return np.random.default_rng((self.seed, index))

    def _crop(self, rng: np.random.Generator, extra: int = 0) -> Tensor:
        """A random crop of side ``size + 2 * extra`` of a random source image."""
        image = self.images[rng.integers(len(self.images))]
        side = self.size + 2 * extra
        top = rng.integers(image.size(1) - side + 1)
        left = rng.integers(image.size(2) - side + 1)
        return image[:, top:top + side, left:left + side]


class QualitySelectionSets(_SetsOfImages):
    r"""Choosing the highest-quality image (Maron et al. 2020, Section 6):
    every set holds ``set_size`` copies of one real image crop, each
    corrupted with its own strength, and the target is the least corrupted
    copy (chance ``1 / set_size``).

    * ``corruption="noise"``: copy :math:`i` gets Gaussian noise of standard
      deviation :math:`\sigma_i \sim U[0, \text{level}]` on the 0-255 scale
      (the paper's settings: level 10, 30, 50).
    * ``corruption="occlusion"``: a rectangle covering a fraction
      :math:`U[0, \text{level}]` % of the copy (the paper's settings: 10,
      30, 50 %) is painted in a random colour.

    Every copy is also cut at its own offset of up to ``jitter`` pixels, so
    the copies are not pixel-aligned (the answer must not depend on small
    shifts).  Item: ``(x [set_size, C, size, size], y)``, ``y`` the index of
    the least corrupted copy; ``strength`` of each copy via :meth:`draw`.
    """
    def __init__(self, images: Sequence[Tensor], num_sets: int, set_size: int = 20,
                 size: int = 32, corruption: str = "noise", level: float = 30.0,
                 jitter: int = 2, seed: int = 0) -> None:
        if corruption not in ("noise", "occlusion"):
            raise ValueError(f"corruption must be 'noise' or 'occlusion', got {corruption!r}.")
        if level <= 0 or (corruption == "occlusion" and level > 100) or set_size < 2:
            raise ValueError("level must be > 0 (occlusion: at most 100 %) and set_size >= 2.")
        super().__init__(images, num_sets, size, seed, margin=jitter)
        self.set_size, self.corruption, self.level, self.jitter = \
            set_size, corruption, level, jitter

    @classmethod
    def paper(cls, images: Sequence[Tensor], num_sets: int, corruption: str = "noise",
              level: float = 30.0, seed: int = 0) -> "QualitySelectionSets":
        """The paper's setting for ``GridSetNet.paper("selection", variant)``:
        sets of 20 copies of 64x64 crops (the size the authors' network
        takes), one of the paper's corruption levels (noise sigma 10, 30, 50
        on 0-255; occlusion 10, 30, 50 %)."""
        allowed = (10.0, 30.0, 50.0)
        if float(level) not in allowed:
            raise ValueError(f"The paper's levels are {allowed}, got {level}; build "
                             "QualitySelectionSets(...) directly for other levels.")
        return cls(images, num_sets, set_size=20, size=64, corruption=corruption,
                   level=level, seed=seed)

    def draw(self, index: int) -> Tuple[Tensor, Tensor, Tensor]:
        """Set ``index`` as ``(x, y, strength)``: the copies, the target and
        each copy's corruption strength (sigma on 0-255, or % occluded)."""
        rng = self._rng(index)
        base, j, s = self._crop(rng, self.jitter), self.jitter, self.size
        strength = rng.uniform(0, self.level, self.set_size)
        copies = []
        for k in range(self.set_size):
            dy, dx = rng.integers(0, 2 * j + 1, 2)
            img = base[:, dy:dy + s, dx:dx + s].clone()
            if self.corruption == "noise":
                noise = rng.normal(0.0, strength[k] / 255.0, img.shape).astype(np.float32)
                img = img + torch.from_numpy(noise)
            else:
                area = strength[k] / 100.0 * s * s
                h = int(np.clip(round(np.sqrt(area) * rng.uniform(0.7, 1.4)), 0, s))
                w = int(np.clip(round(area / h), 0, s)) if h else 0
                top, left = rng.integers(0, s - h + 1), rng.integers(0, s - w + 1)
                colour = torch.from_numpy(rng.uniform(0, 1, (img.size(0), 1, 1))).float()
                img[:, top:top + h, left:left + w] = colour
            copies.append(img)
        strength_t = torch.from_numpy(strength).float()
        return torch.stack(copies), strength_t.argmin(), strength_t

    def __getitem__(self, index: int) -> Tuple[Tensor, Tensor]:
        x, y, _ = self.draw(index)
        return x, y


class ChannelMatchingSets(_SetsOfImages):
    r"""Colour-channel matching (Maron et al. 2020, Section 6): the three
    colour channels of a real image crop, in random order, form a set of
    three one-channel images; the target names the colour (0 red, 1 green,
    2 blue) of every element, an *equivariant* output: reordering the set
    reorders the answer.  :func:`reassemble_channels` turns predicted colours
    back into the colour image.

    Item: ``(x [3, 1, size, size], y [3])``.
    """
    def __init__(self, images: Sequence[Tensor], num_sets: int, size: int = 32,
                 seed: int = 0) -> None:
        super().__init__(images, num_sets, size, seed)
        if any(image.size(0) != 3 for image in self.images):
            raise ValueError("ChannelMatchingSets needs colour images [3, H, W].")

    @classmethod
    def paper(cls, images: Sequence[Tensor], num_sets: int,
              seed: int = 0) -> "ChannelMatchingSets":
        """64x64 crops, the size the authors' colour-matching U-Net takes
        (``GridSetNet.paper("channels", variant, in_channels=1)``)."""
        return cls(images, num_sets, size=64, seed=seed)

    def __getitem__(self, index: int) -> Tuple[Tensor, Tensor]:
        rng = self._rng(index)
        image = self._crop(rng)
        colour_of = torch.from_numpy(rng.permutation(3)).long()
        return image[colour_of].unsqueeze(1).contiguous(), colour_of


def reassemble_channels(x: Tensor, colour_of: Tensor) -> Tensor:
    r"""Puts shuffled channels back in place: ``x`` ``[B, 3, 1, H, W]`` (one
    channel per element) and the colour of every element ``[B, 3]`` (a
    permutation of 0, 1, 2 per set) -> colour images ``[B, 3, H, W]``."""
    out = torch.empty_like(x[:, :, 0])
    out.scatter_(1, colour_of.view(colour_of.shape + (1, 1)).expand_as(out), x[:, :, 0])
    return out


def motion_blur_kernel(rng: np.random.Generator, size: int) -> Tensor:
    r"""A random linear motion-blur kernel ``[size, size]`` (a line through
    the centre of random length and angle, anti-aliased by supersampling,
    summing to one); ``size`` odd."""
    if size < 1 or size % 2 == 0:
        raise ValueError(f"Kernel size must be odd and positive, got {size}.")
    length = rng.uniform(1, size)
    angle = rng.uniform(0, np.pi)
    t = np.linspace(-length / 2, length / 2, 8 * size)
    ys = np.clip(np.round(size // 2 + t * np.sin(angle)), 0, size - 1).astype(int)
    xs = np.clip(np.round(size // 2 + t * np.cos(angle)), 0, size - 1).astype(int)
    kernel = np.zeros((size, size), np.float32)
    np.add.at(kernel, (ys, xs), 1.0)
    return torch.from_numpy(kernel / kernel.sum())


class BurstSets(_SetsOfImages):
    r"""Burst deblurring (Maron et al. 2020, Section 6, after Aittala &
    Durand 2018): ``burst`` copies of one real image crop, each blurred by
    its own random motion kernel (up to ``blur`` pixels) and with Gaussian
    noise of standard deviation ``noise``; the target is the sharp crop.

    Item: ``(x [burst, C, size, size], y [C, size, size])``.
    """
    def __init__(self, images: Sequence[Tensor], num_sets: int, burst: int = 5,
                 size: int = 32, blur: int = 9, noise: float = 0.02, seed: int = 0) -> None:
        if burst < 1 or blur < 1 or blur % 2 == 0 or noise < 0:
            raise ValueError("burst >= 1, blur odd and >= 1, noise >= 0 required.")
        super().__init__(images, num_sets, size, seed, margin=blur // 2)
        self.burst, self.blur, self.noise = burst, blur, noise

    @classmethod
    def paper(cls, images: Sequence[Tensor], num_sets: int, burst: int = 5, blur: int = 9,
              noise: float = 0.02, seed: int = 0) -> "BurstSets":
        """128x128 crops, the size the authors' deblurring U-Net takes
        (``GridSetNet.paper("deblur", variant)``); the published code does
        not include its blur generator, so burst length, kernel size and
        noise keep this class's defaults unless given."""
        return cls(images, num_sets, burst=burst, size=128, blur=blur, noise=noise, seed=seed)

    def __getitem__(self, index: int) -> Tuple[Tensor, Tensor]:
        rng = self._rng(index)
        r = self.blur // 2
        padded = self._crop(rng, r)  # the margin makes the blur exact at the border
        kernels = torch.stack([motion_blur_kernel(rng, self.blur) for _ in range(self.burst)])
        c = padded.size(0)
        # every channel of frame k blurred by kernel k: one grouped convolution
        weight = kernels.repeat_interleave(c, 0).unsqueeze(1)  # [burst * C, 1, k, k]
        blurred = F.conv2d(padded.repeat(self.burst, 1, 1).unsqueeze(0), weight,
                           groups=self.burst * c)[0].view(self.burst, c, self.size, self.size)
        noise = rng.normal(0.0, self.noise, blurred.shape).astype(np.float32)
        return blurred + torch.from_numpy(noise), padded[:, r:r + self.size, r:r + self.size]
