"""EXP, SR25 and the original CSL release, read from fixtures written here in
the published files' formats: EXP's GRAPHSAT.pkl (a protocol-3 pickle of
2020's PyG Data objects holding torch tensors), CSL's pickled SciPy
coo_matrix list (2019's state: row / col) and labels, SR25's graph6 lines.
Hostile pickles are refused before any of their code runs."""
import os
import pickle

import numpy as np
import pytest
import torch

from pyg_dss.datasets import CSL, CSLRelease, EXP, SR25
from pyg_dss.datasets.restricted_pickle import UnsafePickleError
from pyg_dss.datasets.sr25 import parse_graph6


class OldData:
    """Stands for torch_geometric.data.data.Data of 2020: pickled as
    NEWOBJ + a state dict, the tensors by torch's own reducer."""


class OldCoo:
    """Stands for scipy.sparse.coo.coo_matrix of 2019."""


def as_global(payload: bytes, cls: type, module: str, name: str) -> bytes:
    """Renames a class in a protocol <= 3 pickle (GLOBAL 'module\\nname\\n')."""
    here = f"c{cls.__module__}\n{cls.__qualname__}\n".encode()
    assert here in payload
    return payload.replace(here, f"c{module}\n{name}\n".encode())


def write_graphsat(path, graphs):
    records = []
    for x, edge_index, y in graphs:
        d = OldData()
        d.__dict__.update(x=x, edge_index=edge_index, edge_attr=None, y=y, pos=None,
                          norm=None, face=None)
        records.append(d)
    payload = as_global(pickle.dumps(records, protocol=3), OldData,
                        "torch_geometric.data.data", "Data")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(payload)


def cycle(n):
    i = torch.arange(n)
    ei = torch.stack([i, (i + 1) % n])
    return torch.cat([ei, ei.flip(0)], 1)


def test_exp_reads_the_published_pickle_format(tmp_path):
    graphs = [(torch.tensor([[0], [1], [1], [0]]), cycle(4), torch.tensor([1])),
              (torch.tensor([[1], [0], [0]]), cycle(3), torch.tensor([0]))]
    write_graphsat(tmp_path / "raw" / "GRAPHSAT.pkl", graphs)
    raw = open(tmp_path / "raw" / "GRAPHSAT.pkl", "rb").read()
    # the globals the published file references, and no others
    assert b"ctorch_geometric.data.data\nData\n" in raw
    assert b"ctorch._utils\n_rebuild_tensor_v2\n" in raw
    assert b"ctorch.storage\n_load_from_bytes\n" in raw
    ds = EXP(str(tmp_path))
    assert len(ds) == 2 and ds.num_classes == 2
    assert ds[0].x.dtype == torch.float32 and ds[0].x.view(-1).tolist() == [0, 1, 1, 0]
    assert torch.equal(ds[0].edge_index, cycle(4)) and ds[1].y.tolist() == [0]
    assert EXP(str(tmp_path)).cache_status == "loaded"


class Boom:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_exp_refuses_a_pickle_that_calls_anything_else(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    os.makedirs(tmp_path / "raw")
    with open(tmp_path / "raw" / "GRAPHSAT.pkl", "wb") as f:
        pickle.dump([Boom()], f, protocol=3)
    with pytest.raises(UnsafePickleError, match=r"references (posix|nt|os)\.system") as e:
        EXP(str(tmp_path))
    assert "\n" not in str(e.value)
    assert not (tmp_path / "pwned").exists()


def test_exp_refuses_other_content(tmp_path):
    os.makedirs(tmp_path / "raw")
    with open(tmp_path / "raw" / "GRAPHSAT.pkl", "wb") as f:
        pickle.dump({"not": "a list"}, f, protocol=3)
    with pytest.raises(UnsafePickleError, match="must hold a list of graphs"):
        EXP(str(tmp_path))
    with open(tmp_path / "raw" / "GRAPHSAT.pkl", "wb") as f:
        f.write(b"\x80\x03truncated")
    with pytest.raises(UnsafePickleError, match="not a readable pickle"):
        EXP(str(tmp_path))


def test_missing_files_name_the_file_and_where_to_get_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="GRAPHSAT.pkl.*github.com/ralphabb"):
        EXP(str(tmp_path / "exp"))
    with pytest.raises(FileNotFoundError, match="sr251256.g6.*gnn-matlang"):
        SR25(str(tmp_path / "sr"))
    with pytest.raises(FileNotFoundError, match="graphs_Kary_Deterministic_Graphs.pkl.*dropbox"):
        CSLRelease(str(tmp_path / "csl"))


def write_csl_release(root, graphs, labels):
    matrices = []
    for edge_index, n in graphs:
        m = OldCoo()
        m.__dict__.update(_shape=(n, n), maxprint=50, row=edge_index[0].numpy().astype(np.int32),
                          col=edge_index[1].numpy().astype(np.int32),
                          data=np.ones(edge_index.size(1)), has_canonical_format=False)
        matrices.append(m)
    payload = as_global(pickle.dumps(matrices, protocol=2), OldCoo, "scipy.sparse.coo",
                        "coo_matrix")
    payload = payload.replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")
    os.makedirs(root / "raw", exist_ok=True)
    with open(root / "raw" / "graphs_Kary_Deterministic_Graphs.pkl", "wb") as f:
        f.write(payload)
    torch.save(torch.tensor(labels), root / "raw" / "y_Kary_Deterministic_Graphs.pt")


def test_csl_release_reads_pickled_scipy_matrices(tmp_path):
    ours = CSL(graphs_per_class=1)
    graphs = [(ours[i].edge_index, 41) for i in range(len(ours))]
    write_csl_release(tmp_path, graphs, list(range(10)))
    raw = open(tmp_path / "raw" / "graphs_Kary_Deterministic_Graphs.pkl", "rb").read()
    assert b"cscipy.sparse.coo\ncoo_matrix\n" in raw and b"cnumpy.core.multiarray\n" in raw
    ds = CSLRelease(str(tmp_path))
    assert len(ds) == 10 and ds.num_classes == 10
    for i in range(10):
        assert torch.equal(ds[i].edge_index, ours[i].edge_index)
        assert ds[i].x.shape == (41, 1) and int(ds[i].y) == i
    assert len(ds.folds(2)) == 2


def test_csl_release_refuses_object_arrays_and_foreign_globals(tmp_path):
    m = OldCoo()
    m.__dict__.update(_shape=(2, 2), row=np.array([0, 1], dtype=object),
                      col=np.array([1, 0]), data=np.ones(2))
    payload = as_global(pickle.dumps([m], protocol=2), OldCoo, "scipy.sparse.coo",
                        "coo_matrix")
    os.makedirs(tmp_path / "raw")
    (tmp_path / "raw" / "graphs_Kary_Deterministic_Graphs.pkl").write_bytes(payload)
    torch.save(torch.tensor([0]), tmp_path / "raw" / "y_Kary_Deterministic_Graphs.pt")
    with pytest.raises(UnsafePickleError, match="dtype object"):
        CSLRelease(str(tmp_path))
    (tmp_path / "raw" / "graphs_Kary_Deterministic_Graphs.pkl").write_bytes(
        pickle.dumps([Boom()], protocol=2))
    with pytest.raises(UnsafePickleError, match="system"):
        CSLRelease(str(tmp_path))


# graph6 of the Petersen graph (strongly regular (10, 3, 0, 1)) and of K4
PETERSEN, K4 = b"IheA@GUAo", b"C~"


def test_graph6_parser():
    ei, n = parse_graph6(PETERSEN)
    assert n == 10 and ei.size(1) == 30
    assert torch.bincount(ei[0]).tolist() == [3] * 10
    ei, n = parse_graph6(b">>graph6<<" + K4 + b"\n")
    assert n == 4 and ei.size(1) == 12
    with pytest.raises(ValueError, match="data bytes"):
        parse_graph6(PETERSEN[:-1])


def test_sr25_reads_graph6_lines(tmp_path):
    os.makedirs(tmp_path / "raw")
    (tmp_path / "raw" / "sr251256.g6").write_bytes(PETERSEN + b"\n" + K4 + b"\n\n")
    ds = SR25(str(tmp_path))
    assert len(ds) == 2 and ds.num_classes == 2 and ds[1].y.tolist() == [1]
    assert ds[0].num_nodes == 10 and ds[0].x.shape == (10, 1)
    (tmp_path / "raw" / "sr251256.g6").write_bytes(b"I\x7f\n")
    with pytest.raises(ValueError, match="line 1"):
        SR25(str(tmp_path), force_reload=True)
