"""torch.compile(DSSNet, fullgraph=True, dynamic=True) on batches that carry
their layout: no graph break, one compile for every batch size, the same
numbers as eager, and a stale layout raises instead of running.  (On main:
28 graph breaks for gcn, 22 for pointnet, one recompile per batch size.)

Dynamo's tracing is what these tests check; they use the "eager" backend
(no code generation) to stay fast.  benchmarks/train_step.py --compile runs
the default (inductor) backend end to end."""
from __future__ import annotations

import pytest
import torch
from torch_geometric.data import Data

from pyg_dss.data import SetData
from pyg_dss.loader import SetDataLoader
from pyg_dss.nn import DSSNet, set_nll_loss
from test_fast_path import mesh_edges

EDGES = mesh_edges(4, 3)   # 12 vertices


def batch(num_sets: int, base: str, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    sets = []
    for _ in range(num_sets):
        frames = [Data(x=torch.randn(12, 3, generator=g)) for _ in range(3)]
        if base == "gcn":
            for f in frames:
                f.edge_index = EDGES
        s = SetData.from_elements(frames, corresponded=True)
        s.y = torch.randint(0, 3, (1, ), generator=g)
        sets.append(s)
    return next(iter(SetDataLoader(sets, batch_size=num_sets)))


@pytest.mark.parametrize("base", ["gcn", "pointnet"])
def test_no_graph_breaks(base):
    torch._dynamo.reset()
    model = DSSNet(3, base, "dss-sum", hidden=(8, ), head_hidden=(8, ))
    explanation = torch._dynamo.explain(model)(batch(5, base))
    assert explanation.graph_break_count == 0, explanation.break_reasons
    assert explanation.graph_count == 1


def test_one_compile_serves_every_batch_size_and_stale_layouts_raise():
    torch._dynamo.reset()
    graphs = []

    def backend(gm, example_inputs):
        graphs.append(gm)
        return gm.forward

    torch.manual_seed(0)
    model = DSSNet(3, "gcn", "dss-sum", hidden=(8, ), head_hidden=(8, ))
    compiled = torch.compile(model, fullgraph=True, dynamic=True, backend=backend)
    # Sizes chosen to differ from every other size of the inputs: dynamo's duck
    # shaping gives equal sizes one symbol, and a later batch that splits
    # them compiles once more (then serves every size).
    for num_sets in (5, 9, 10):
        b = batch(num_sets, "gcn", seed=num_sets)
        out = compiled(b)
        set_nll_loss(out, b).backward()
        grads = [p.grad.clone() for p in model.parameters()]
        model.zero_grad()
        expected = model(b)
        set_nll_loss(expected, b).backward()
        assert torch.allclose(out, expected, atol=1e-5)
        for got, want in zip(grads, (p.grad for p in model.parameters()), strict=True):
            assert torch.allclose(got, want, atol=1e-5)
        model.zero_grad()
    assert len(graphs) == 1
    # An edge_index edited in place after the layout was attached: the check
    # inside the compiled graph raises.
    b = batch(5, "gcn", seed=1)
    b.edge_index.numpy()[:, :4] = b.edge_index.numpy()[:, :4][::-1]
    with pytest.raises(RuntimeError, match="no longer matches its set_layout"):
        compiled(b)
    # A batch without a layout: the error says where to get one.
    plain = batch(5, "gcn")
    del plain.set_layout
    with pytest.raises(Exception, match="SetDataLoader"):
        compiled(plain)
