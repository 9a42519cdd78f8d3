"""Set metrics against references written here: Kendall tau-b by counting
pairs, accuracy by a loop over sets."""
import math
from itertools import combinations

import pytest
import torch

from pyg_dss.metrics import kendall_tau, set_accuracy
from pyg_dss.frames import target_order
from conftest import collate, corresponded_set


def _tau_reference(s, t):
    """Kendall tau-b by counting pairs (what scipy.stats.kendalltau computes)."""
    c = d = ts = tt = 0
    for i, j in combinations(range(len(s)), 2):
        a, b = (s[i] > s[j]) - (s[i] < s[j]), (t[i] > t[j]) - (t[i] < t[j])
        c += a * b > 0
        d += a * b < 0
        ts += a == 0 and b != 0
        tt += b == 0 and a != 0
    n0 = c + d
    return (c - d) / math.sqrt((n0 + ts) * (n0 + tt))


def test_kendall_tau():
    gen = torch.Generator().manual_seed(0)
    sizes = torch.tensor([5, 7, 3, 7])
    element_set = torch.repeat_interleave(torch.arange(4), sizes)
    scores = torch.randint(0, 4, (int(sizes.sum()),), generator=gen).float()  # with ties
    truth = torch.randn(int(sizes.sum()), generator=gen)
    got = kendall_tau(scores, truth, element_set)
    start = 0
    for k, n in enumerate(sizes.tolist()):
        ref = _tau_reference(scores[start:start + n].tolist(), truth[start:start + n].tolist())
        assert got[k].item() == pytest.approx(ref, abs=1e-6)
        start += n
    assert kendall_tau(truth, truth, element_set).tolist() == pytest.approx([1.0] * 4)
    assert kendall_tau(-truth, truth, element_set).tolist() == pytest.approx([-1.0] * 4)


def test_set_accuracy_and_target_order():
    sets = collate([corresponded_set(4, 5), corresponded_set(3, 5), corresponded_set(5, 5)])
    sets.y = torch.tensor([2, 0, 4])
    scores = torch.tensor([0., 1, 5, 2, 9, 1, 1, 0, 1, 2, 3, 4.])
    # set 0 picks element 2 (right), set 1 element 0 (right), set 2 element 4 (right)
    assert set_accuracy(scores, sets).tolist() == [1.0, 1.0, 1.0]
    assert set_accuracy(scores, sets, torch.tensor([0, 1, 4])).tolist() == [0.0, 0.0, 1.0]
    sets.rank = torch.tensor([3, 1, 0, 2, 2, 0, 1, 4, 3, 2, 1, 0])
    assert target_order(sets, "first").tolist() == [-3, -1, 0, -2, -2, 0, -1, -4, -3, -2, -1, 0]
    # middles: 4 // 2 = 2, 3 // 2 = 1, 5 // 2 = 2
    assert target_order(sets, "middle").tolist() == [-1, -1, -2, 0, -1, -1, 0, -2, -1, 0, -1, -2]
    with pytest.raises(ValueError, match="target must be"):
        target_order(sets, "last")
