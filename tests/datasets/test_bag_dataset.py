"""SubgraphBags: bags of a whole dataset built in parallel, cached with a key
(policy, options, transform code, source graphs), loaded safely; and the
on-the-fly alternative through a dataset's transform."""
import torch
from torch_geometric.data import Data
from torch_geometric.loader import DataLoader
from torch_geometric.utils import to_undirected

from pyg_dss.datasets import SubgraphBags
from pyg_dss.transforms import SampleSubgraphs, SubgraphBag


def molecules(count: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(count):
        n = int(torch.randint(3, 12, (1, ), generator=g))
        ei = to_undirected(torch.randint(0, n, (2, n), generator=g), num_nodes=n)
        out.append(Data(x=torch.randint(0, 5, (n, 1), generator=g), edge_index=ei,
                        edge_attr=torch.randint(0, 3, (ei.size(1), ), generator=g),
                        y=torch.randn(1, generator=g)))
    return out


def same(a, b):
    """Equal bags; a count stored in the cache reads back as a [1] tensor."""
    assert sorted(a.keys()) == sorted(b.keys())
    for key in a.keys():
        if isinstance(a[key], str):
            assert a[key] == b[key], key
        else:
            x, y = torch.as_tensor(a[key]), torch.as_tensor(b[key])
            assert torch.equal(x.reshape(-1) if x.dim() < 2 else x,
                               y.reshape(-1) if y.dim() < 2 else y), key


def test_parallel_build_equals_the_transform_and_is_cached(tmp_path):
    graphs = molecules(40)
    bag = SubgraphBag("ego_nets_plus", num_hops=2, keep_all_nodes=False)
    ds = SubgraphBags(str(tmp_path), graphs, bag, num_workers=2)
    assert ds.cache_status.startswith("built") and len(ds) == 40
    for i in (0, 17, 39):
        same(ds[i], bag(graphs[i]))
    again = SubgraphBags(str(tmp_path), graphs, bag, num_workers=0)
    assert again.cache_status == "loaded"
    same(again[5], ds[5])
    batch = next(iter(DataLoader(again, batch_size=8)))
    assert batch.num_elements.tolist() == [int(ds[i].num_elements) for i in range(8)]


def test_cache_is_rebuilt_when_the_bag_or_the_graphs_change(tmp_path):
    graphs = molecules(10)
    SubgraphBags(str(tmp_path), graphs, SubgraphBag("node_deleted"), num_workers=0)
    other = SubgraphBags(str(tmp_path), graphs, SubgraphBag("node_deleted", keep_all_nodes=False),
                         num_workers=0)
    assert other.cache_status.startswith("rebuilt") and "keep_all_nodes" in other.cache_status
    changed = molecules(10)
    changed[3].x = changed[3].x + 1
    third = SubgraphBags(str(tmp_path), changed, SubgraphBag("node_deleted",
                                                             keep_all_nodes=False),
                         num_workers=0)
    assert "raw input 'graphs' changed" in third.cache_status
    same(third[3], SubgraphBag("node_deleted", keep_all_nodes=False)(changed[3]))


def test_transform_samples_on_read_and_bad_arguments(tmp_path):
    import pytest
    graphs = molecules(6)
    ds = SubgraphBags(str(tmp_path), graphs, SubgraphBag("node_deleted"), num_workers=0,
                      transform=SampleSubgraphs(0.5))
    assert int(ds[0].num_elements) == -(-graphs[0].num_nodes // 2)
    with pytest.raises(TypeError, match="SubgraphBag"):
        SubgraphBags(str(tmp_path), graphs, lambda d: d)
    with pytest.raises(ValueError, match="num_workers"):
        SubgraphBags(str(tmp_path), graphs, SubgraphBag("node_deleted"), num_workers=-1)


def test_on_the_fly_bags_through_a_transform():
    from torch_geometric.data import InMemoryDataset

    class Graphs(InMemoryDataset):
        def __init__(self, graphs, transform=None):
            super().__init__(None, transform)
            self.data, self.slices = self.collate(graphs)

    graphs = molecules(5)
    bag = SubgraphBag("edge_deleted")
    ds = Graphs(graphs, transform=bag)
    same(ds[2], bag(graphs[2]))
