"""Heads and the ready model: numbers against references, equivariance for
every variant and base, and that it learns."""
import pytest
import torch
from torch_geometric.nn import GATConv

from pyg_dss.nn import (BASES, VARIANTS, DeepSetsLayer, DSSNet, ElementPool, set_argmax,
                        set_log_softmax, set_nll_loss)
from pyg_dss.testing import assert_equivariant
from pyg_dss.transforms import KNNSetGraph
from conftest import collate, corresponded_set, uncorresponded_set


def element_slices(batch):
    counts = torch.bincount(batch.element_set).tolist()
    return torch.arange(batch.element_set.numel()).split(counts)


def test_set_log_softmax_and_loss_match_reference(any_batch):
    torch.manual_seed(0)
    scores = torch.randn(any_batch.element_set.numel()) * 10
    logp = set_log_softmax(scores, any_batch)
    target = torch.tensor([1, 0, 2])
    expected, losses, argmax = torch.empty_like(logp), [], []
    for k, idx in enumerate(element_slices(any_batch)):
        expected[idx] = torch.log_softmax(scores[idx], dim=0)
        losses.append(-expected[idx][target[k]])
        argmax.append(int(scores[idx].argmax()))
    assert torch.allclose(logp, expected, atol=1e-6)
    assert torch.allclose(set_nll_loss(logp, any_batch, target), torch.stack(losses).mean())
    assert set_argmax(logp, any_batch).tolist() == argmax
    with pytest.raises(ValueError, match="must be element indices"):
        set_nll_loss(logp, any_batch, torch.tensor([1, 0, 9]))


def test_element_pool_and_deep_sets_match_reference(any_batch):
    torch.manual_seed(0)
    x = torch.randn(any_batch.num_nodes, 4)
    z = ElementPool("max")(x, any_batch)
    expected_z = torch.stack([x[any_batch.element_index == e].max(0).values
                              for e in range(any_batch.element_set.numel())])
    assert torch.equal(z, expected_z)
    layer = DeepSetsLayer(4, 5)
    y = layer(z, any_batch)
    for idx in element_slices(any_batch):
        ref = layer.lin_element(z[idx]) + layer.lin_set(z[idx].max(0).values)
        assert torch.allclose(y[idx], ref, atol=1e-6)


def knn_batch(kind):
    t = KNNSetGraph(k=3)
    if kind == "corresponded":
        return collate([t(corresponded_set(n, v)) for n, v in ((4, 6), (3, 9), (5, 5))])
    return collate([t(uncorresponded_set(s)) for s in ([4, 7, 3], [5, 2], [6, 6, 3, 4])])


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("base", sorted(BASES) + ["gat-factory"])
@pytest.mark.parametrize("kind", ["corresponded", "uncorresponded"])
def test_model_equivariant(variant, base, kind, corresponded_batch, uncorresponded_batch):
    torch.manual_seed(0)
    batch = corresponded_batch if kind == "corresponded" else uncorresponded_batch
    if base == "pointnet-knn":
        batch = knn_batch(kind)
    factory = (lambda i, o: GATConv(i, o)) if base == "gat-factory" else base
    model = DSSNet(3, factory, variant, hidden=(8, 16), head_hidden=(16,))
    # element level: one score per element, moves with the set order only
    assert_equivariant(model.scores, batch, level="element")
    logp = model(batch)
    for idx in element_slices(batch):
        assert torch.allclose(logp[idx].exp().sum(), torch.tensor(1.0), atol=1e-5)


def test_sharing_variants_see_the_set_siamese_does_not(corresponded_batch):
    """Changing one element moves the other elements' embeddings (before the
    head) exactly when the layers share information across the set."""
    torch.manual_seed(0)
    b = corresponded_batch
    changed = b.clone()
    changed.x = b.x.clone()
    changed.x[b.element_index == 0] += 1.0
    others = b.element_index != 0
    for variant, shares in [("dss-sum", True), ("siamese-ds", False), ("sridhar", True)]:
        model = DSSNet(3, "gcn", variant, hidden=(8,), head_hidden=(8,)).eval()
        def embed(s, model=model):
            x = s.x
            for layer in model.layers:
                x = model.act(layer(x, s.edge_index, s))
            return x
        moved = not torch.allclose(embed(b)[others], embed(changed)[others])
        assert moved == shares, variant


def test_model_learns_a_tiny_task():
    """The target is the element with the largest mean feature: solvable only
    by comparing elements. Loss must fall well below chance."""
    torch.manual_seed(0)
    sets = []
    for _ in range(16):
        s = corresponded_set(4, 6)
        means = s.x.view(4, 6, 3).mean((1, 2))
        s.y = means.argmax().view(1)
        sets.append(s)
    batch = collate(sets)
    model = DSSNet(3, "gcn", "dss-sum", hidden=(16, 16), head_hidden=(16,))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = None
    for _ in range(60):
        opt.zero_grad()
        loss = set_nll_loss(model(batch), batch)
        loss.backward()
        opt.step()
        first = loss.item() if first is None else first
    assert first > 1.0 and loss.item() < 0.3


def test_no_state_between_batches_of_different_size():
    torch.manual_seed(0)
    big = collate([corresponded_set(4, 6), corresponded_set(3, 9), corresponded_set(5, 5)])
    small = collate([corresponded_set(2, 7)])
    model = DSSNet(3, "gcn", "dss-sum", hidden=(8,), head_hidden=(8,)).eval()
    alone = model(small)
    model(big)
    assert torch.equal(model(small), alone)


def test_model_errors_and_repr():
    with pytest.raises(ValueError, match="Unknown base 'mlp'"):
        DSSNet(3, "mlp")
    with pytest.raises(ValueError, match="Unknown variant 'dss'"):
        DSSNet(3, "gcn", "dss")
    assert repr(DSSNet(3)) == "DSSNet(3, base='gcn', variant='dss-sum', layers=3)"


# ----------------------------------------------------------------------------- errors
def test_clear_errors_for_common_mistakes(corresponded_batch):
    """Each names what was expected and how to fix it (on main: AttributeErrors
    from deep inside PyG, 'mat1 and mat2 shapes cannot be multiplied', and
    'Unknown aggregation' for an unknown variant)."""
    from torch_geometric.data import Batch, Data
    b = corresponded_batch
    model = DSSNet(3, "gcn", "dss-sum", hidden=(8,), head_hidden=(8,))
    plain = Batch.from_data_list([Data(x=torch.randn(4, 3), edge_index=torch.tensor([[0], [1]]))])
    with pytest.raises(TypeError, match="SetData.from_elements"):
        model(plain)
    with pytest.raises(TypeError, match="must be a pyg_dss.data.SetData"):
        model(Data(x=torch.randn(4, 3)))
    wide = b.clone()
    wide.x = torch.randn(b.num_nodes, 6)
    with pytest.raises(ValueError, match=r"in_channels=3.*DSSNet\(in_channels=6"):
        model(wide)
    ints = b.clone()
    ints.x = b.x.long()
    with pytest.raises(TypeError, match=r"torch.int64.*float"):
        model(ints)
    with pytest.raises(ValueError, match="Unknown variant 'dss-median'"):
        DSSNet(3, "gcn", "dss-median")
    no_y = b.clone()
    del no_y.y
    with pytest.raises(ValueError, match="needs a target.*'y'"):
        set_nll_loss(model(no_y), no_y)
    points = b.clone()
    del points.edge_index
    with pytest.raises(ValueError, match="KNNSetGraph"):
        DSSNet(3, "pointnet-knn", "dss-sum", hidden=(8,), head_hidden=(8,))(points)
    with pytest.raises(ValueError, match="base='gcn' needs the element graphs"):
        model(points)
