"""The pieces of the bags-of-subgraphs run (pyg_dss.subgraphs) in process:
defaults per dataset and configuration, refused combinations, the model of
each configuration, loss and metric per target kind, ZINC's bag caches."""
import pytest
import torch
from torch_geometric.transforms import Compose

from pyg_dss.datasets import ZINCBags
from pyg_dss.nn import SubgraphGNN
from pyg_dss.nn.subgraph_gnn import ESANSubgraphGNN
from pyg_dss.subgraphs import (bag_transform, loss_and_metric, make_datasets, make_model,
                               with_defaults)
from pyg_dss.train import UsageError
from pyg_dss.transforms import SubgraphBag, SubgraphOneHotDegree
from test_subgraph_bag import write_zinc_raw


def test_defaults_per_dataset_and_configuration():
    cfg = with_defaults({})
    assert (cfg["dataset"], cfg["config"], cfg["model"], cfg["policy"]) == \
        ("csl", "default", "dss", "node_deleted")
    assert (cfg["hidden"], cfg["layers"], cfg["norm"], cfg["lr"]) == (32, 6, "graph", 1e-3)
    esan = with_defaults(dict(config="esan", policy="ego_nets_plus"))
    # ESAN's network sizes are its own; its CSL training settings, unless given.
    assert esan["hidden"] is None and esan["conv"] is None and esan["norm"] is None
    assert (esan["lr"], esan["lr_step"]) == (1e-2, 50)
    assert with_defaults(dict(config="esan", lr=0.5))["lr"] == 0.5
    assert with_defaults(dict(dataset="exp"))["folds"] == 10
    assert with_defaults(dict(model="gin"))["policy"] == "original"


@pytest.mark.parametrize("config, message", [
    (dict(dataset="sr25", config="esan"), "ESAN published no SR25"),
    (dict(config="esan", conv="gcn"), "drop --conv"),
    (dict(dataset="exp", conv="gine"), "EXP has no edge features"),
    (dict(dataset="sr25", folds=3), "drop --folds"),
    (dict(model="gin", policy="ego_nets"), "drop --policy"),
])
def test_combinations_that_cannot_run(config, message):
    with pytest.raises(UsageError, match=message):
        with_defaults(config)


def test_esan_bags_and_networks():
    cfg = with_defaults(dict(config="esan", model="ds", policy="ego_nets_plus"))
    bag = bag_transform(cfg)
    assert isinstance(bag, Compose) and isinstance(bag.transforms[0], SubgraphBag)
    one_hot = bag.transforms[1]
    assert isinstance(one_hot, SubgraphOneHotDegree)
    assert (one_hot.max_degree, one_hot.cat) == (5, False)
    model = make_model(cfg)
    assert isinstance(model, ESANSubgraphGNN) and model.config_name == "csl"
    assert (model.in_channels, model.out_channels, model.hidden) == (6, 10, 32)
    smaller = make_model(with_defaults(dict(config="esan", hidden=8, layers=2)))
    assert (smaller.hidden, smaller.num_layers) == (8, 2)
    exp = make_model(with_defaults(dict(dataset="exp", config="esan", model="gin")))
    assert exp.config_name == "exp" and exp.out_channels == 1 and exp.policy == "original"
    zinc = make_model(with_defaults(dict(dataset="zinc", config="esan")))
    assert zinc.config_name == "zinc" and zinc.in_channels == 21
    plain = make_model(with_defaults(dict(dataset="sr25")))
    assert isinstance(plain, SubgraphGNN) and plain.out_channels == 15
    assert not isinstance(bag_transform(with_defaults({})), Compose)


def test_loss_and_metric_per_kind():
    out = torch.tensor([[2.0, 0.0], [0.0, 1.0], [3.0, 0.0]])
    y = torch.tensor([0, 0, 0])
    loss, hits = loss_and_metric(out, y, "classes")
    assert hits == 2.0 and torch.allclose(loss, torch.nn.functional.cross_entropy(out, y))
    logit, label = torch.tensor([[1.5], [-0.5], [0.2]]), torch.tensor([[1], [1], [0]])
    loss, hits = loss_and_metric(logit, label, "binary")
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logit.view(-1),
                                                               label.view(-1).float())
    assert hits == 1.0 and torch.allclose(loss, bce)
    loss, err = loss_and_metric(torch.tensor([[1.0], [2.0]]), torch.tensor([1.5, 1.0]),
                                "regression")
    assert err == pytest.approx(1.5) and float(loss) == pytest.approx(0.75)


def test_folds_are_stratified_and_sized(tmp_path):
    splits = make_datasets(with_defaults(dict(limit=4, folds=2, policy="ego_nets",
                                              num_hops=1)))
    assert len(splits) == 2
    for train, val, test in splits:
        assert val is None and len(train) == len(test) == 20
        assert torch.bincount(torch.cat([d.y for d in test]), minlength=10).tolist() == [2] * 10
    with pytest.raises(UsageError, match="--folds 5: the smallest class has 4 graphs"):
        make_datasets(with_defaults(dict(limit=4, folds=5)))
    with pytest.raises(UsageError, match="GRAPHSAT.pkl"):
        make_datasets(with_defaults(dict(dataset="exp", root=str(tmp_path / "none"))))


def test_zinc_bags_keep_one_cache_per_bag(tmp_path):
    write_zinc_raw(str(tmp_path))
    nd = ZINCBags(str(tmp_path), SubgraphBag("node_deleted"), split="val")
    ego = ZINCBags(str(tmp_path), SubgraphBag("ego_nets", num_hops=1), split="val")
    assert nd.processed_dir != ego.processed_dir and "processed-SubgraphBag(" in nd.processed_dir
    assert len(nd) == len(ego) > 0 and int(nd[0].num_elements) == int(nd[0].num_vertices)
    assert ZINCBags(str(tmp_path), SubgraphBag("node_deleted"), split="val").processed_dir == \
        nd.processed_dir
