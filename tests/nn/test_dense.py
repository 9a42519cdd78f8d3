"""Dense DSS layers for sets of grid elements: the formulas against
references written here, padding that never leaks, S_n x translation
equivariance of every layer and model, and a checker that catches broken ones."""
import pytest
import torch
from torch import nn

from pyg_dss.checkpoint import load_model, save_model
from pyg_dss.nn import (VARIANTS, DenseAittalaConv, DenseDeepSetsLayer, DenseDSSConv,
                        DenseSridharConv, ElementWise, GridSetNet, GridSetUNet,
                        dense_set_aggregate, make_dense_layer, masked_set_log_softmax,
                        to_dense_sets)
from pyg_dss.testing import assert_dense_equivariant, permute_dense_sets

MASK = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0], [0, 1, 0, 1]], dtype=torch.bool)


def circular_conv(dim):
    cls = {1: nn.Conv1d, 2: nn.Conv2d}[dim]
    return lambda i, o: cls(i, o, 3, padding=1, padding_mode="circular")


def sets_1d(seed=0, B=3, n=4, C=2, L=8):
    return torch.randn(B, n, C, L, generator=torch.Generator().manual_seed(seed))


def sets_2d(seed=0, B=3, n=4, C=2, H=8, W=8):
    return torch.randn(B, n, C, H, W, generator=torch.Generator().manual_seed(seed))


# --- the formulas -------------------------------------------------------------

@pytest.mark.parametrize("aggr", ["sum", "mean", "max"])
def test_dss_conv_matches_the_formula_per_set(aggr):
    """y_i = L1(x_i) + L2(AGG over the real elements), computed set by set."""
    torch.manual_seed(0)
    l1, l2 = nn.Conv1d(2, 3, 3, padding=1), nn.Conv1d(2, 3, 3, padding=1)
    conv = DenseDSSConv(l1, l2, aggr=aggr)
    x = sets_1d()
    out = conv(x, MASK)
    reduce = {"sum": lambda t: t.sum(0), "mean": lambda t: t.mean(0),
              "max": lambda t: t.max(0).values}[aggr]
    for b in range(3):
        real = x[b][MASK[b]]
        expected = l1(real) + l2(reduce(real)[None])
        assert torch.allclose(out[b][MASK[b]], expected, atol=1e-6)
        assert out[b][~MASK[b]].abs().max() == 0 if (~MASK[b]).any() else True


def test_baselines_match_the_authors_definitions():
    """Sridhar: subtract the set mean of L(x); Aittala: concatenate the set max."""
    torch.manual_seed(1)
    base = nn.Conv2d(2, 3, 3, padding=1)
    x = sets_2d()
    sridhar, aittala = DenseSridharConv(base), DenseAittalaConv(base)
    s_out, a_out = sridhar(x, MASK), aittala(x, MASK)
    assert a_out.shape == (3, 4, 6, 8, 8)
    for b in range(3):
        h = base(x[b][MASK[b]])
        assert torch.allclose(s_out[b][MASK[b]], h - h.mean(0, keepdim=True), atol=1e-6)
        expected = torch.cat([h, h.max(0, keepdim=True).values.expand_as(h)], dim=1)
        assert torch.allclose(a_out[b][MASK[b]], expected, atol=1e-6)
        assert not s_out[b][~MASK[b]].any() and not a_out[b][~MASK[b]].any()


def test_siamese_is_the_base_on_every_element_alone():
    base = nn.Conv1d(2, 3, 3, padding=1)
    x = sets_1d()
    out = DenseDSSConv(base)(x)
    assert torch.allclose(out, base(x.flatten(0, 1)).view(3, 4, 3, 8), atol=1e-6)


def test_deepsets_layer_and_masked_softmax():
    torch.manual_seed(2)
    layer = DenseDeepSetsLayer(3, 2, aggr="max")
    z = torch.randn(3, 4, 3)
    out = layer(z, MASK)
    for b in range(3):
        real = z[b][MASK[b]]
        expected = layer.lin_element(real) + layer.lin_set(real.max(0).values)
        assert torch.allclose(out[b][MASK[b]], expected, atol=1e-6)
    logp = masked_set_log_softmax(torch.randn(3, 4), MASK)
    assert torch.allclose(logp.exp().sum(1), torch.ones(3))
    assert torch.isneginf(logp[~MASK]).all()


def test_aggregates_ignore_whatever_the_padding_holds():
    x = sets_1d()
    garbage = x.clone()
    garbage[~MASK] = float("nan")
    for aggr in ("sum", "mean", "max"):
        a, b = dense_set_aggregate(x, MASK, aggr), dense_set_aggregate(garbage, MASK, aggr)
        assert torch.equal(a, b)
    assert torch.allclose(dense_set_aggregate(x, MASK, "mean")[1], x[1, :2].mean(0))


# --- padding ------------------------------------------------------------------

@pytest.mark.parametrize("variant", VARIANTS)
def test_padding_does_not_change_the_real_elements(variant):
    """The same three sets padded to 4 or to 7 elements (padding full of
    garbage), BatchNorm in training mode: identical numbers on the real
    elements, zeros on the padded ones."""
    torch.manual_seed(3)
    model = GridSetNet(2, 2, dim=2, variant=variant, hidden=(4, 4), head_hidden=(4,))
    layer = make_dense_layer(variant, circular_conv(2), 2, 4, nn.BatchNorm2d)
    sets = [sets_2d(k, B=1, n=n)[0] for k, n in enumerate((4, 2, 3))]
    x4, m4 = to_dense_sets(sets)
    x7 = torch.full((3, 7) + x4.shape[2:], 1e6)
    x7[:, :4] = x4
    m7 = torch.zeros(3, 7, dtype=torch.bool)
    m7[:, :4] = m4
    for f in (model, layer):
        f.train()
        a, b = f(x4, m4), f(x7, m7)
        assert torch.allclose(a[m4], b[m7], atol=1e-5), variant
        assert not b[~m7].any()


def test_model_set_readout_does_not_depend_on_padding():
    torch.manual_seed(4)
    model = GridSetNet(2, 3, dim=1, hidden=(4, 4), readout="set").eval()
    sets = [sets_1d(k, B=1, n=n)[0] for k, n in enumerate((3, 1, 4))]
    x, m = to_dense_sets(sets)
    big = torch.cat([x, torch.randn(3, 2, 2, 8)], 1)
    assert torch.allclose(model(x, m), model(big, torch.cat([m, torch.zeros(3, 2).bool()], 1)),
                          atol=1e-5)
    alone = torch.cat([model(s[None]) for s in sets])  # each set on its own, no mask
    assert torch.allclose(model(x, m), alone, atol=1e-5)


def test_bad_inputs_are_refused_with_a_reason():
    conv = DenseDSSConv(nn.Conv1d(2, 2, 1), nn.Conv1d(2, 2, 1))
    with pytest.raises(ValueError, match=r"mask must be a bool tensor of shape \[B, n\]"):
        conv(sets_1d(), MASK.float())
    with pytest.raises(ValueError, match="batch of sets"):
        conv(torch.randn(4, 2))
    with pytest.raises(ValueError, match="at least one real element"):
        GridSetNet(2, 1, dim=1)(sets_1d(), torch.zeros(3, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="every set needs at least one element"):
        to_dense_sets([torch.randn(2, 3), torch.randn(0, 3)])
    with pytest.raises(ValueError, match="Unknown variant"):
        GridSetNet(2, variant="dss-median")
    with pytest.raises(ValueError, match="divisible by 2"):
        GridSetUNet(2, 2, widths=(4, 4))(sets_2d(H=7))
    with pytest.raises(ValueError, match="in_channels == out_channels"):
        GridSetUNet(2, 3)


# --- equivariance ---------------------------------------------------------------

@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("dim", [1, 2])
def test_every_layer_is_equivariant(variant, dim):
    torch.manual_seed(5)
    layer = make_dense_layer(variant, circular_conv(dim), 2, 3,
                             {1: nn.BatchNorm1d, 2: nn.BatchNorm2d}[dim])
    x = sets_1d() if dim == 1 else sets_2d()
    assert_dense_equivariant(layer, x, MASK, level="element-grid", atol=1e-4)
    assert_dense_equivariant(layer, x, None, level="element-grid", atol=1e-4)


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_model_is_equivariant(variant):
    torch.manual_seed(6)
    x = sets_2d()
    chooser = GridSetNet(2, 2, variant=variant, hidden=(4, 4, 4), head_hidden=(4,),
                         padding_mode="circular")
    # two 2x poolings: exact for shifts by multiples of 4
    assert_dense_equivariant(chooser, x, MASK, level="element", shift_multiple=4, atol=1e-4)
    classifier = GridSetNet(2, 3, dim=1, variant=variant, hidden=(4, 4), readout="set",
                            padding_mode="circular")
    assert_dense_equivariant(classifier, sets_1d(L=16), MASK, level="set", shift_multiple=2,
                             atol=1e-4)
    unet = GridSetUNet(2, 2, variant=variant, widths=(4, 4), padding_mode="circular")
    assert_dense_equivariant(unet, x, MASK, level="set-grid", shift_multiple=2, atol=1e-4)
    pooled = ElementWise(nn.MaxPool2d(2))  # an output on a 2x coarser grid
    assert_dense_equivariant(pooled, x, MASK, shift_multiple=2, output_scale=2)


def test_a_users_own_equivariant_module_just_works():
    """Any module mapping [N, C, *S] to [N, C', *S'] is a base layer; here a
    hand-written translation-equivariant one (a circular difference filter)."""
    class CircularGradient(nn.Module):
        def __init__(self, channels):
            super().__init__()
            self.scale = nn.Parameter(torch.randn(channels, 1))

        def forward(self, x):  # [N, C, L]
            return self.scale * (torch.roll(x, 1, -1) - x)

    conv = DenseDSSConv(CircularGradient(2), CircularGradient(2), aggr="mean")
    assert_dense_equivariant(conv, sets_1d(), MASK)


def test_the_checker_catches_broken_layers():
    x = sets_2d()
    zero_padded = make_dense_layer("dss-sum", lambda i, o: nn.Conv2d(i, o, 3, padding=1), 2, 3)
    assert_dense_equivariant(zero_padded, x, MASK, symmetries=["set"])
    with pytest.raises(AssertionError, match="'element' symmetry .circularly shifting"):
        assert_dense_equivariant(zero_padded, x, MASK, symmetries=["element"])

    def knows_its_slot(x, mask):  # adds the element's slot number: breaks S_n only
        return x + torch.arange(x.size(1)).view(1, -1, 1, 1, 1)
    assert_dense_equivariant(knows_its_slot, x, MASK, symmetries=["element"])
    with pytest.raises(AssertionError, match="Not equivariant under the 'set' symmetry"):
        assert_dense_equivariant(knows_its_slot, x, MASK, symmetries=["set"])

    def first_slot(x, mask):  # a "set-level" output that reads slot 0: not invariant
        return x[:, 0].flatten(1).sum(1)
    with pytest.raises(AssertionError, match="Not invariant"):
        assert_dense_equivariant(first_slot, x, None, level="set")
    assert_dense_equivariant(lambda x, m: x.flatten(1).sum(1), x, None, level="set", atol=1e-4)


def test_permute_dense_sets_moves_elements_masks_and_grids_consistently():
    x = sets_2d()
    t = permute_dense_sets(x, MASK, "both", torch.Generator().manual_seed(0))
    for b in range(3):
        for i in range(4):
            old = x[b, t.perm[b, i]]
            assert torch.equal(t.x[b, i], torch.roll(old, t.shifts[b].tolist(), (-2, -1)))
            assert t.mask[b, i] == MASK[b, t.perm[b, i]]


# --- bookkeeping ------------------------------------------------------------------

def test_models_save_load_reset_and_repr(tmp_path):
    torch.manual_seed(7)
    x = sets_2d()
    for model in (GridSetNet(2, 3, variant="aittala", hidden=(4, 4)),
                  GridSetUNet(2, 2, variant="sridhar", widths=(4, 4))):
        model.eval()
        save_model(str(tmp_path / "m.pt"), model)
        loaded, _ = load_model(str(tmp_path / "m.pt"))
        assert torch.equal(loaded.eval()(x, MASK), model(x, MASK))
        assert type(model).__name__ in repr(model)
        before = [p.clone() for p in model.parameters()]
        model.reset_parameters()
        after = model.parameters()
        assert any(not torch.equal(a, b) for a, b in zip(before, after, strict=True))
    unet = GridSetUNet(2, 2, widths=(4,))  # starts as the mean of the set
    assert torch.allclose(unet(x, MASK), dense_set_aggregate(x, MASK, "mean"))
    assert "aggr='max'" in repr(DenseDSSConv(nn.Conv1d(1, 1, 1), nn.Conv1d(1, 1, 1), "max"))


# --- every kernel size keeps the grid size ----------------------------------------

@pytest.mark.parametrize("dim", [1, 2])
@pytest.mark.parametrize("kernel_size", [1, 2, 3, 4, 5, 6])
def test_output_size_equals_input_size_for_every_kernel_size(dim, kernel_size):
    torch.manual_seed(0)
    x = sets_1d(L=16) if dim == 1 else sets_2d(H=16, W=12)
    for mode in ("zeros", "circular"):
        unet = GridSetUNet(2, 2, dim=dim, widths=(3, 3), kernel_size=kernel_size,
                           padding_mode=mode)
        assert unet(x, MASK).shape == (3, 2) + x.shape[3:]
        net = GridSetNet(2, 1, dim=dim, hidden=(3, 3), kernel_size=kernel_size,
                         padding_mode=mode, downsample=False)
        assert net.element_features(x, MASK).shape == (3, 4, 3)
        layer = net.layers[0]
        assert layer(x, MASK).shape == (3, 4, 3) + x.shape[3:]
    # An even kernel with circular padding is still exactly shift-equivariant.
    circular = make_dense_layer("dss-sum", lambda i, o: GridSetNet(
        i, dim=dim, kernel_size=kernel_size, padding_mode="circular")._conv(i, o), 2, 3)
    assert_dense_equivariant(circular, x, MASK, level="element-grid")
