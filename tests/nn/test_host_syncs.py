"""Host synchronisations in a training step: every place where forward or
loss reads a tensor's value on the host (``.item()``, ``int()``, ``bool()``,
``float()``, ``.tolist()``, ``.nonzero()`` called from pyg-dss code) stalls a
GPU step until the device catches up.  Counted here on CPU by patching those
methods during one forward + backward of DSSNet on a SetDataLoader batch; the
count is pinned so that a new one is a deliberate choice."""
import collections
import os
import traceback
from contextlib import contextmanager
from typing import Counter, Iterator, Tuple

import pytest
import torch

import pyg_dss
from pyg_dss.loader import SetDataLoader
from pyg_dss.nn import DSSNet, set_nll_loss

from conftest import corresponded_set, uncorresponded_set

#: Reads are attributed to the innermost frame inside the imported package
#: (a path test, not a name test: a checkout folder may be called pyg_dss too).
PACKAGE_DIR = os.path.dirname(pyg_dss.__file__) + os.sep
HOST_READS = ("item", "__int__", "__bool__", "__index__", "__float__", "tolist", "nonzero")


@contextmanager
def count_host_reads() -> Iterator[Counter[Tuple[str, str, int]]]:
    """Counts host reads of tensor values made by pyg-dss code, by
    (method, file, line) of the innermost pyg-dss frame."""
    sites: Counter[Tuple[str, str, int]] = collections.Counter()
    originals = {name: getattr(torch.Tensor, name) for name in HOST_READS}

    def counting(name, original):
        def method(self, *args, **kwargs):
            frames = [f for f in traceback.extract_stack()[:-1]
                      if f.filename.startswith(PACKAGE_DIR)]
            if frames:
                sites[(name, frames[-1].filename[len(PACKAGE_DIR):], frames[-1].lineno)] += 1
            return original(self, *args, **kwargs)
        return method
    try:
        for name, original in originals.items():
            setattr(torch.Tensor, name, counting(name, original))
        yield sites
    finally:
        for name, original in originals.items():
            setattr(torch.Tensor, name, original)


def batch_of(kind: str):
    torch.manual_seed(0)
    sets = ([corresponded_set(4, 10) for _ in range(3)] if kind == "corresponded"
            else [uncorresponded_set([5, 7, 6]) for _ in range(3)])
    return next(iter(SetDataLoader(sets, batch_size=3)))


@pytest.mark.parametrize("kind", ["corresponded", "uncorresponded"])
def test_training_step_reads_the_host_once(kind):
    """Forward + backward: one read, the check that the batch still matches
    the layout it carries (a stale layout must never run).  The loss reads
    nothing on an accelerator (its target check runs on the device); on CPU
    its check is one read, which costs no synchronisation there."""
    batch = batch_of(kind)
    model = DSSNet(3, hidden=(8, 8), head_hidden=(8, ))
    with count_host_reads() as model_reads:
        out = model(batch)
    with count_host_reads() as loss_reads:
        loss = set_nll_loss(out, batch)
    with count_host_reads() as backward_reads:
        loss.backward()
    assert sum(model_reads.values()) == 1, model_reads
    assert [site[1] for site in model_reads] == ["layout.py"]
    assert sum(loss_reads.values()) == 1, loss_reads   # was 2 (two bool() checks)
    assert sum(backward_reads.values()) == 0, backward_reads


def test_the_audit_sees_host_reads():
    with count_host_reads() as reads:
        bool(torch.ones(()) > 0)
    assert sum(reads.values()) == 0   # not from pyg-dss code
    from pyg_dss.nn.heads import set_nll_loss as loss
    batch = batch_of("corresponded")
    with count_host_reads() as reads, pytest.raises(ValueError, match="element indices"):
        loss(torch.zeros(12), batch, torch.tensor([0, 1, 9]))
    assert sum(reads.values()) >= 1


def test_bag_training_step_reads():
    """SubgraphGNN on a batch of bags of different sizes: one read per step,
    the layout check (the total number of shared vertices, which every layer
    needs, travels with the layout as an int: it was one read per layer)."""
    from torch_geometric.data import Data

    from pyg_dss.nn import SubgraphGNN
    from pyg_dss.transforms import SubgraphBag
    torch.manual_seed(0)
    bags = []
    for n in (5, 7, 6):
        ring = torch.arange(n)
        ei = torch.cat([torch.stack([ring, (ring + 1) % n]), torch.stack([(ring + 1) % n, ring])],
                       1)
        bags.append(SubgraphBag("ego_nets_plus", 2, False)(Data(x=torch.randint(0, 4, (n, 1)),
                                                                edge_index=ei,
                                                                y=torch.randn(1))))
    batch = next(iter(SetDataLoader(bags, batch_size=3)))
    model = SubgraphGNN(4, 1, variant="dss", conv="gin", hidden=8, num_layers=2,
                        categorical=True, policy_aware=True)
    with count_host_reads() as reads:
        (model(batch).view(-1) - batch.y).abs().mean().backward()
    assert sum(reads.values()) == 1, reads   # was 3 (one more per layer)
    assert [where for _, where, _ in reads] == ["layout.py"]
