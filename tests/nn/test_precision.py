"""Every precision, on every device present: bf16 autocast, the model cast to
bfloat16 / float16 / float64, for every base and variant, on the fast paths
(frames of one mesh) and the general ones (uncorresponded sets).  On main the
default gcn base failed with '"addmm_out_sparse_csr_impl_mkl" not implemented
for BFloat16'."""
from __future__ import annotations

import pytest
import torch
from torch_geometric.testing import withDevice

from pyg_dss.layout import find_layout
from pyg_dss.loader import SetDataLoader
from pyg_dss.nn import BASES, VARIANTS, DSSNet, set_nll_loss
from pyg_dss.transforms import KNNSetGraph
from conftest import uncorresponded_set
from test_fast_path import mesh_edges, mesh_sets

MODES = ("autocast-bf16", "bfloat16", "float16", "float64")
TOL = {"autocast-bf16": 0.3, "bfloat16": 0.3, "float16": 0.05, "float64": 1e-5}


def make_batch(base: str, kind: str):
    torch.manual_seed(0)
    if kind == "mesh":
        sets = mesh_sets(mesh_edges(6, 4), sizes=(3, 3), channels=3)
        for s in sets:
            s.pos = torch.randn(s.num_nodes, 3)
    else:
        sets = [uncorresponded_set([5, 7, 4]), uncorresponded_set([6, 3])]
    if base == "pointnet-knn":
        sets = [KNNSetGraph(k=3)(s) for s in sets]
    return next(iter(SetDataLoader(sets, batch_size=len(sets))))


def cast(batch, dtype):
    out = batch.clone()
    out.x = out.x.to(dtype)
    if out.get("pos") is not None:
        out.pos = out.pos.to(dtype)
    return out


@withDevice
@pytest.mark.parametrize("kind", ["mesh", "uncorresponded"])
@pytest.mark.parametrize("base", sorted(BASES))
def test_every_precision(base, kind, device):
    batch = make_batch(base, kind).to(device)
    if kind == "mesh" and base == "gcn":
        assert find_layout(batch).element_graph is not None   # the sparse product runs
    for variant in VARIANTS:
        torch.manual_seed(0)
        model = DSSNet(3, base, variant, hidden=(8, 16), head_hidden=(16, )).to(device)
        reference = model(batch).detach()
        for mode in MODES:
            m = DSSNet.from_config(model.config).to(device)
            m.load_state_dict(model.state_dict())
            if mode == "autocast-bf16":
                with torch.autocast(device.type, torch.bfloat16):
                    out = m(batch)
                    loss = set_nll_loss(out, batch)
            else:
                dtype = getattr(torch, mode)
                m = m.to(dtype)
                b = cast(batch, dtype)
                out = m(b)
                assert out.dtype == dtype, (variant, mode)
                loss = set_nll_loss(out, b)
            loss.backward()
            grads = [p.grad for p in m.parameters()]
            assert all(g is not None and torch.isfinite(g).all() for g in grads), (variant, mode)
            err = (out.double() - reference.double()).abs().max().item()
            assert err < TOL[mode], (variant, mode, err)
