"""recompute_batch_norm: the running statistics of every BatchNorm are those
of the inputs evaluation feeds it over the whole loader (update_bn's average
of per-batch variances in training mode is not, when the batches differ)."""
import torch
from torch.nn import BatchNorm1d, Linear, ReLU, Sequential
from torch.optim.swa_utils import update_bn

from pyg_dss.train.norm_statistics import recompute_batch_norm


def batches():
    g = torch.Generator().manual_seed(0)
    # batches of different sizes and means: the spread between them matters
    return [torch.randn(n, 3, generator=g, dtype=torch.float64) + shift
            for n, shift in ((5, 0.0), (2, 3.0), (9, -1.0), (4, 0.5))]


def test_statistics_of_the_whole_loader():
    data = batches()
    everything = torch.cat(data)
    norm = BatchNorm1d(3).double()
    norm.eval()
    assert recompute_batch_norm(norm, data) == 2  # exact after one pass, unchanged after two
    assert torch.allclose(norm.running_mean, everything.mean(0), atol=1e-12)
    assert torch.allclose(norm.running_var, everything.var(0, unbiased=True), atol=1e-12)
    assert not norm.training  # the mode is restored
    averaged = BatchNorm1d(3).double()
    update_bn(data, averaged)
    assert (averaged.running_var < norm.running_var - 0.5).all()  # misses the spread


def test_every_layer_gets_the_statistics_evaluation_feeds_it():
    torch.manual_seed(0)
    model = Sequential(Linear(3, 4), BatchNorm1d(4), ReLU(), Linear(4, 2), BatchNorm1d(2))
    model = model.double().train()
    data = batches()
    assert recompute_batch_norm(model, data) <= 3  # two BatchNorms in a chain
    assert model.training  # the mode is restored
    model.eval()
    with torch.no_grad():
        first = torch.cat([model[0](x) for x in data])
        second = torch.cat([model[3](model[2](model[1](model[0](x)))) for x in data])
    assert torch.allclose(model[1].running_mean, first.mean(0), atol=1e-12)
    assert torch.allclose(model[1].running_var, first.var(0), atol=1e-12)
    assert torch.allclose(model[4].running_mean, second.mean(0), atol=1e-9)
    assert torch.allclose(model[4].running_var, second.var(0), atol=1e-9)


def test_nothing_to_do_without_batch_norm():
    model = Linear(3, 2)
    assert recompute_batch_norm(model, [torch.randn(4, 3)]) == 0
    untracked = BatchNorm1d(3, track_running_stats=False)
    recompute_batch_norm(untracked, [torch.randn(4, 3)])
    assert untracked.running_mean is None
