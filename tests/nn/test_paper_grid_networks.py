"""GridSetNet.paper against references of the authors' published networks
written here in plain torch (their layer order, their names), identical
weights, float64, training and evaluation mode, outputs and gradients; and
the symmetries each network keeps."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from pyg_dss.checkpoint import load_model, save_model
from pyg_dss.nn import GridSetNet
from pyg_dss.testing import assert_dense_equivariant

# --- the authors' image-selection network, re-expressed ---------------------------

BLOCKS = {"siamese-ds": [(3, 50, 100), (100, 100, 180), (180, 200, 256)],
          "dss-sum": [(3, 32, 64), (64, 64, 128), (128, 128, 256)],
          "dss-max": [(3, 32, 64), (64, 64, 128), (128, 128, 256)],
          "sridhar": [(3, 50, 100), (100, 100, 180), (180, 200, 256)],
          "aittala": [(3, 90, 100), (200, 100, 100), (200, 110, 128)]}


class RefBlock(nn.Module):
    """Three valid 3x3 convolutions of one variant, ELU, Dropout2d."""
    def __init__(self, variant, channels, p):
        super().__init__()
        c0, c1, c2 = channels
        self.variant = variant
        wide = 2 if variant == "aittala" else 1
        ins, outs = [c0, wide * c1, wide * c1], [c1, c1, c2]
        self.conv = nn.ModuleList([nn.Conv2d(i, o, 3) for i, o in zip(ins, outs, strict=True)])
        self.bn = nn.ModuleList([nn.BatchNorm2d(wide * o) for o in outs])
        if variant.startswith("dss"):
            self.conv_s = nn.ModuleList([nn.Conv2d(i, o, 3)
                                         for i, o in zip(ins, outs, strict=True)])
            self.bn_s = nn.ModuleList([nn.BatchNorm2d(o) for o in outs])
        self.drop = nn.Dropout2d(p)

    def forward(self, x):
        for k in range(3):
            b, n = x.shape[:2]
            h = self.conv[k](x.flatten(0, 1)).unflatten(0, (b, n))
            if self.variant == "siamese-ds":
                y = self.bn[k](h.flatten(0, 1))
            elif self.variant.startswith("dss"):
                agg = x.max(1)[0] if self.variant == "dss-max" else x.sum(1)
                s = self.bn_s[k](self.conv_s[k](agg))
                y = (self.bn[k](h.flatten(0, 1)).unflatten(0, (b, n)) + s[:, None]).flatten(0, 1)
            elif self.variant == "sridhar":
                y = self.bn[k]((h - h.mean(1, keepdim=True)).flatten(0, 1))
            else:
                y = self.bn[k](torch.cat([h, h.max(1, keepdim=True)[0].expand_as(h)], 2)
                               .flatten(0, 1))
            x = self.drop(F.elu(y)).unflatten(0, (b, n))
        return x


class RefSelection(nn.Module):
    def __init__(self, variant, p=0.0):
        super().__init__()
        self.blocks = nn.ModuleList([RefBlock(variant, c, p) for c in BLOCKS[variant]])
        self.fc = nn.ModuleList([nn.Linear(256, 256), nn.Linear(256, 128), nn.Linear(128, 1)])
        self.fc_s = nn.ModuleList([nn.Linear(256, 256), nn.Linear(256, 128),
                                   nn.Linear(128, 1)])
        self.drop = nn.Dropout(p)

    def forward(self, x):
        for block, k in zip(self.blocks, (2, 2, 5), strict=True):
            x = block(x)
            b, n = x.shape[:2]
            x = F.max_pool2d(x.flatten(0, 1), k).unflatten(0, (b, n))
        x = x.flatten(2)
        for k in range(3):
            x = self.fc[k](x) + self.fc_s[k](x.max(1)[0])[:, None]
            if k < 2:
                x = self.drop(F.elu(x))
        return F.log_softmax(x, dim=1).squeeze(-1)


def selection_pairs(ours, ref):
    """(our tensor, their tensor) for every parameter and BatchNorm buffer."""
    pairs = []
    for block_ours, block_ref in zip(ours.blocks, ref.blocks, strict=True):
        for k, layer in enumerate(block_ours):
            if ref.blocks[0].variant in ("sridhar", "aittala"):
                branches = [(layer.base, block_ref.conv[k]), (layer.norm, block_ref.bn[k])]
            else:
                branches = [(layer.siamese, block_ref.conv[k]),
                            (layer.siamese_norm, block_ref.bn[k])]
                if layer.shared is not None:
                    branches += [(layer.shared, block_ref.conv_s[k]),
                                 (layer.shared_norm, block_ref.bn_s[k])]
            for a, b in branches:
                pairs += list(zip(list(a.parameters()) + list(a.buffers()),
                                  list(b.parameters()) + list(b.buffers()), strict=True))
    for k, layer in enumerate(ours.head):
        pairs += [(layer.lin_element.weight, ref.fc[k].weight),
                  (layer.lin_element.bias, ref.fc[k].bias),
                  (layer.lin_set.weight, ref.fc_s[k].weight),
                  (layer.lin_set.bias, ref.fc_s[k].bias)]
    return pairs


def assert_same_network(ours, ref, pairs, x):
    with torch.no_grad():
        for a, b in pairs:
            assert a.shape == b.shape
            b.copy_(a)
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in ref.parameters())
    for mode in ("train", "eval"):  # the training pass moves both BatchNorms' statistics alike
        ours.train(mode == "train")
        ref.train(mode == "train")
        ours.zero_grad()
        ref.zero_grad()
        got, expected = ours(x), ref(x)
        torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-10)
        g = torch.Generator().manual_seed(1)
        weights = torch.randn(got.shape, dtype=got.dtype, generator=g)
        (got * weights).sum().backward()
        (expected * weights).sum().backward()
        for a, b in pairs:
            if isinstance(a, nn.Parameter):
                torch.testing.assert_close(a.grad, b.grad, rtol=1e-9, atol=1e-10)
            else:
                torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("variant", list(BLOCKS))
def test_selection_network_is_the_authors(variant):
    torch.manual_seed(0)
    ours = GridSetNet.paper("selection", variant).double()
    ref = RefSelection(variant).double()
    x = torch.randn(2, 2, 3, 62, 62, dtype=torch.float64)
    assert_same_network(ours, ref, selection_pairs(ours, ref), x)


def test_selection_network_respects_the_set_order_and_masks():
    torch.manual_seed(0)
    model = GridSetNet.paper("selection", "dss-sum", conv_dropout=0.2, head_dropout=0.5)
    model = model.double().eval()
    x = torch.randn(2, 3, 3, 64, 64, dtype=torch.float64)
    mask = torch.tensor([[True, True, True], [True, False, True]])
    # Valid convolutions and strided pooling keep no exact translation symmetry: the set
    # order is the symmetry this network has (scores move with their elements).
    assert_dense_equivariant(model, x, mask, level="element", symmetries=["set"], atol=1e-9)
    out = model(x, mask)
    assert out[1, 1] == float("-inf") and torch.allclose(out.exp().sum(1), torch.ones(2,
                                                                                      dtype=out.dtype))
    alone = model(x[1:, [0, 2]])  # padding changes nothing
    torch.testing.assert_close(out[1, [0, 2]], alone[0])
    with pytest.raises(ValueError, match="64x64"):
        model(torch.randn(1, 2, 3, 32, 32, dtype=torch.float64))
    with pytest.raises(ValueError, match="variants"):
        GridSetNet.paper("selection", "dss-mean")


# --- the authors' signal network, re-expressed ------------------------------------

WIDTHS = {"siamese": (220, 220, 110), "siamese-ds": (200, 200, 100),
          "dss-sum": (160, 160, 80), "dss-max": (160, 160, 80), "sridhar": (220, 220, 110),
          "aittala": (160, 160, 80)}


def old_circular_conv(conv, x):
    """Conv1d(padding=p, padding_mode='circular') as the authors' PyTorch padded:
    (p + 1) // 2 before and p // 2 after, p = kernel - 1."""
    p = conv.kernel_size[0] - 1
    return conv(F.pad(x, ((p + 1) // 2, p // 2), mode="circular"))


class RefSignals(nn.Module):
    def __init__(self, variant, length, classes=3):
        super().__init__()
        self.variant = variant
        w = WIDTHS[variant]
        wide = 2 if variant == "aittala" else 1
        ins, ks = [1, wide * w[0], wide * w[1]], [length, length // 2, length // 4]
        self.conv = nn.ModuleList([nn.Conv1d(i, o, k, stride=2)
                                   for i, o, k in zip(ins, w, ks, strict=True)])
        self.bn = nn.ModuleList([nn.BatchNorm1d(o) for o in w])
        if variant.startswith("dss"):
            self.conv_s = nn.ModuleList([nn.Conv1d(i, o, k, stride=2)
                                         for i, o, k in zip(ins, w, ks, strict=True)])
            self.bn_s = nn.ModuleList([nn.BatchNorm1d(o) for o in w])
        self.fc1 = nn.Linear(wide * w[2], classes)
        if variant == "siamese-ds":  # their SiameseDSNet: a DeepSets layer replaces conv3
            del self.conv[2], self.bn[2]
            self.fc3 = nn.Linear(w[1] * (length // 4), w[2])
            self.fc3s = nn.Linear(w[1] * (length // 4), w[2])
            self.bn3, self.bn3s = nn.BatchNorm1d(w[2]), nn.BatchNorm1d(w[2])

    def forward(self, x):
        b, n = x.shape[:2]
        for k in range(len(self.conv)):
            flat = x.flatten(0, 1)
            x1 = self.bn[k](old_circular_conv(self.conv[k], flat)).unflatten(0, (b, n))
            if self.variant.startswith("dss"):
                x2 = self.bn_s[k](old_circular_conv(self.conv_s[k], flat)).unflatten(0, (b, n))
                x2 = x2.max(1, keepdim=True)[0] if self.variant == "dss-max" else \
                    x2.sum(1, keepdim=True)
                x = F.relu(x1 + x2)
            elif self.variant == "sridhar":
                x = F.relu(x1 - x1.mean(1, keepdim=True))
            else:
                x = F.relu(x1)
                if self.variant == "aittala":
                    x = torch.cat([x, x.max(1, keepdim=True)[0].expand_as(x)], 2)
        if self.variant == "siamese-ds":
            flat = x.flatten(2)
            x1 = self.bn3(self.fc3(flat.flatten(0, 1))).unflatten(0, (b, n))
            x2 = self.bn3s(self.fc3s(flat.max(1)[0]))[:, None]
            return F.log_softmax(self.fc1(F.relu(x1 + x2).sum(1)), dim=1)
        return F.log_softmax(self.fc1(x.sum(3).sum(1)), dim=1)


def signal_pairs(ours, ref):
    pairs = []
    for k, layer in enumerate(ours.layers):
        mods = [(layer.element[0].conv, ref.conv[k]), (layer.element[1], ref.bn[k])]
        if layer.shared is not None:
            mods += [(layer.shared[0].conv, ref.conv_s[k]), (layer.shared[1], ref.bn_s[k])]
        for a, b in mods:
            pairs += list(zip(list(a.parameters()) + list(a.buffers()),
                              list(b.parameters()) + list(b.buffers()), strict=True))
    if ours.deep_sets is not None:
        ds = ours.deep_sets
        pairs += (module_pairs(ds.element[0], ref.fc3) + module_pairs(ds.element[1], ref.bn3) +
                  module_pairs(ds.lin_set, ref.fc3s) + module_pairs(ds.set_norm, ref.bn3s))
    return pairs + [(ours.out.weight, ref.fc1.weight), (ours.out.bias, ref.fc1.bias)]


@pytest.mark.parametrize("variant", list(WIDTHS))
def test_signal_network_is_the_authors(variant):
    torch.manual_seed(0)
    ours = GridSetNet.paper("signals", variant).double()
    ref = RefSignals(variant, 100).double()
    x = torch.randn(3, 5, 1, 100, dtype=torch.float64)
    assert_same_network(ours, ref, signal_pairs(ours, ref), x)


def test_signal_network_symmetries():
    torch.manual_seed(0)
    model = GridSetNet.paper("signals", "dss-max", length=32).double().eval()
    x = torch.randn(3, 4, 1, 32, dtype=torch.float64)
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0], [0, 1, 0, 1]], dtype=torch.bool)
    # Three stride-2 circular convolutions, then sums: invariant to the set order and to
    # cyclic shifts by multiples of 8 when the length is divisible by 8.
    assert_dense_equivariant(model, x, mask, level="set", shift_multiple=8, atol=1e-9)
    torch.testing.assert_close(model(x, mask)[1], model(x[1:2, :2])[0])
    # Siamese+DS flattens the signals into its DeepSets layer: the set order only.
    late = GridSetNet.paper("signals", "siamese-ds", length=32).double().eval()
    assert_dense_equivariant(late, x, mask, level="set", symmetries=["set"], atol=1e-9)
    torch.testing.assert_close(late(x, mask)[1], late(x[1:2, :2])[0])


@pytest.mark.parametrize("task,variant,options,shape", [
    ("selection", "aittala", {}, (3, 64, 64)), ("signals", "sridhar", {}, (1, 100)),
    ("deblur", "dss-max", {"widths": (2, 2, 2, 2, 4)}, (3, 128, 128)),
    ("channels", "aittala", {"widths": (2, 2, 2, 4), "in_channels": 1}, (1, 64, 64))])
def test_paper_networks_save_load_and_reset(tmp_path, task, variant, options, shape):
    torch.manual_seed(0)
    model = GridSetNet.paper(task, variant, **options).eval()
    x = torch.randn((2, 3) + shape)
    save_model(str(tmp_path / "m.pt"), model)
    loaded, _ = load_model(str(tmp_path / "m.pt"))
    assert torch.equal(loaded.eval()(x), model(x))
    before = [p.clone() for p in model.parameters()]
    model.reset_parameters()
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    assert variant in repr(model)


def test_paper_refuses_unknown_tasks_clearly():
    with pytest.raises(ValueError, match="choose one of"):
        GridSetNet.paper("mnist")
    with pytest.raises(ValueError, match="no frame-ordering network"):
        GridSetNet.paper("frames", "dss-sum")
    with pytest.raises(ValueError, match="variants"):
        GridSetNet.paper("deblur", "dss-mean")
    with pytest.raises(ValueError, match="even"):
        GridSetNet.paper("deblur", "aittala", widths=(3, 4, 4, 4, 4))


# --- the authors' U-Nets (burst deblurring, colour-channel matching), re-expressed --

class RefSetConv(nn.Module):
    """Their Conv2dSiamese / Conv2dDeepSym / Conv2dSridhar / Conv2dSAittala."""
    def __init__(self, variant, i, o, k=3, pad=1):
        super().__init__()
        self.variant = variant
        self.conv = nn.Conv2d(i, o // 2 if variant == "aittala" else o, k, padding=pad)
        self.bn = nn.BatchNorm2d(o)
        if variant.startswith("dss"):
            self.conv_s = nn.Conv2d(i, o, k, padding=pad)
            self.bn_s = nn.BatchNorm2d(o)

    def forward(self, x):
        b, n = x.shape[:2]
        h = self.conv(x.flatten(0, 1)).unflatten(0, (b, n))
        if self.variant == "sridhar":
            h = h - h.mean(1, keepdim=True)
        elif self.variant == "aittala":
            h = torch.cat([h, h.max(1, keepdim=True)[0].expand_as(h)], 2)
        y = self.bn(h.flatten(0, 1)).unflatten(0, (b, n))
        if self.variant.startswith("dss"):
            agg = x.max(1)[0] if self.variant == "dss-max" else x.sum(1)
            y = y + self.bn_s(self.conv_s(agg))[:, None]
        return y


class RefUNet(nn.Module):
    """Their UNetLarge (deblur) and UNet (channels), widths c with c[0] the input."""
    def __init__(self, task, variant, c):
        super().__init__()
        self.task = task
        L = len(c) - 1

        def double(i, o):
            return nn.ModuleList([RefSetConv(variant, i, o), RefSetConv(variant, o, o)])
        self.down = nn.ModuleList([double(c[k], c[k + 1]) for k in range(L)])
        outs = [c[k] for k in range(L - 1, 0, -1)] if task == "deblur" else \
            [c[k] for k in range(L - 1, 1, -1)] + [c[2]]
        self.up = nn.ModuleList([double(2 * c[L - j], o) for j, o in enumerate(outs)])
        w = c[L]
        self.fc = nn.ModuleList([nn.Linear(w, w) for _ in range(3)])
        self.fc_s = nn.ModuleList([nn.Linear(w, w) for _ in range(3)])
        self.bn = nn.ModuleList([nn.BatchNorm1d(w) for _ in range(3)])
        self.bn_s = nn.ModuleList([nn.BatchNorm1d(w) for _ in range(3)])
        if task == "deblur":
            self.conv1 = nn.Conv2d(2 * c[1], c[1], 3, padding=1)
            self.conv2 = nn.Conv2d(c[1], 3, 3, padding=1)
        else:
            last = variant if variant.startswith("dss") else "siamese-ds"
            self.last = RefSetConv(last, c[2] + c[1], 3, 1, 0)

    @staticmethod
    def each(f, x):
        b, n = x.shape[:2]
        return f(x.flatten(0, 1)).unflatten(0, (b, n))

    def forward(self, x):
        skips = []
        for k, pair in enumerate(self.down):
            for layer in pair:
                x = F.relu(layer(x))  # Dropout2d(p=0)
            skips.append(x)
            stride = 8 if k == len(self.down) - 1 else 2
            x = self.each(lambda t, s=stride: F.max_pool2d(t, 2, stride=s), x)
        b, n = x.shape[:2]
        x = x.squeeze(-1).squeeze(-1)
        for k in range(3):
            x1 = self.bn[k](self.fc[k](x.flatten(0, 1)))
            x2 = self.fc_s[k](x.max(1)[0])[:, None].expand(b, n, -1)
            x = F.relu(x1 + self.bn_s[k](x2.flatten(0, 1))).unflatten(0, (b, n))
        x = self.each(lambda t: F.interpolate(t[..., None, None], scale_factor=8,
                                              mode="bilinear", align_corners=True), x)
        for pair, skip in zip(self.up, skips[:0:-1], strict=True):
            x = torch.cat([x, skip], 2)
            for layer in pair:
                x = F.relu(layer(x))
            x = self.each(lambda t: F.interpolate(t, scale_factor=2, mode="bilinear",
                                                  align_corners=True), x)
        x = torch.cat([x, skips[0]], 2)
        if self.task == "channels":
            return self.last(x)
        return torch.clamp(self.conv2(F.relu(self.conv1(x.max(1)[0]))), -1, 1)


def module_pairs(a, b):
    return list(zip(list(a.parameters()) + list(a.buffers()),
                    list(b.parameters()) + list(b.buffers()), strict=True))


def set_layer_pairs(ours, ref):
    if hasattr(ours, "base"):
        return module_pairs(ours.base, ref.conv) + module_pairs(ours.norm, ref.bn)
    pairs = module_pairs(ours.siamese, ref.conv) + module_pairs(ours.siamese_norm, ref.bn)
    if ours.shared is not None:
        pairs += module_pairs(ours.shared, ref.conv_s) + module_pairs(ours.shared_norm, ref.bn_s)
    return pairs


def unet_pairs(ours, ref):
    pairs = []
    for mine, theirs in zip(list(ours.down) + list(ours.up), list(ref.down) + list(ref.up),
                            strict=True):
        for a, b in zip(mine, theirs, strict=True):
            pairs += set_layer_pairs(a, b)
    for k, layer in enumerate(ours.bottleneck):
        pairs += (module_pairs(layer.element[0], ref.fc[k]) +
                  module_pairs(layer.element[1], ref.bn[k]) +
                  module_pairs(layer.lin_set, ref.fc_s[k]) +
                  module_pairs(layer.set_norm, ref.bn_s[k]))
    if ours.task == "deblur":
        return pairs + module_pairs(ours.last[0], ref.conv1) + module_pairs(ours.last[2],
                                                                              ref.conv2)
    return pairs + set_layer_pairs(ours.last, ref.last)


UNET_CASES = [("deblur", v, (4, 6, 8, 10, 12), 128) for v in BLOCKS] + \
    [("channels", v, (4, 6, 8, 10), 64) for v in BLOCKS]


@pytest.mark.parametrize("task,variant,widths,size", UNET_CASES)
def test_unet_is_the_authors(task, variant, widths, size):
    torch.manual_seed(0)
    ours = GridSetNet.paper(task, variant, widths=widths).double()
    ref = RefUNet(task, variant, (3,) + widths).double()
    x = torch.randn(2, 3, 3, size, size, dtype=torch.float64)
    assert_same_network(ours, ref, unet_pairs(ours, ref), x)


@pytest.mark.parametrize("task", ["deblur", "channels"])
def test_unet_paper_widths_and_set_order(task):
    # The authors' widths: our network has exactly their parameters.
    for variant in BLOCKS:
        ours = GridSetNet.paper(task, variant)
        c = {"deblur": {"siamese-ds": (3, 48, 64, 128, 200, 300),
                        "dss-sum": (3, 48, 50, 100, 150, 200),
                        "aittala": (3, 150, 200, 220, 250, 250)},
             "channels": {"siamese-ds": (3, 64, 128, 200, 300),
                          "dss-sum": (3, 50, 100, 150, 200),
                          "aittala": (3, 150, 200, 300, 320)}}[task]
        widths = c.get(variant, c["dss-sum" if variant == "dss-max" else "siamese-ds"])
        ref = RefUNet(task, variant, widths)
        assert all(a.shape == b.shape for a, b in unet_pairs(ours, ref))
        assert sum(p.numel() for p in ours.parameters()) == \
            sum(p.numel() for p in ref.parameters())
    torch.manual_seed(0)
    size = 128 if task == "deblur" else 64
    model = GridSetNet.paper(task, "dss-max", widths=(4, 6, 8, 10, 12)[:5 if task == "deblur"
                                                                          else 4])
    model = model.double().eval()
    x = torch.randn(2, 3, 3, size, size, dtype=torch.float64)
    mask = torch.tensor([[True, True, True], [True, False, True]])
    # Strided pooling keeps no exact translation symmetry; the set order is the symmetry:
    # deblurring is invariant to it, colour matching equivariant.
    level = "set-grid" if task == "deblur" else "element-grid"
    assert_dense_equivariant(model, x, mask, level=level, symmetries=["set"], atol=1e-9)
    out, alone = model(x, mask), model(x[1:, [0, 2]])
    torch.testing.assert_close(out[1] if task == "deblur" else out[1, [0, 2]], alone[0])
    with pytest.raises(ValueError, match=f"{size}x{size}"):
        model(torch.randn(1, 2, 3, 32, 32, dtype=torch.float64))
