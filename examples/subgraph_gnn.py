r"""Bags of subgraphs: DS-GNN and DSS-GNN (Bevilacqua et al., *Equivariant
Subgraph Aggregation Networks*, ICLR 2022) on CSL, EXP, SR25 and ZINC.

Each graph becomes the bag of its subgraphs chosen by a policy (node-deleted,
edge-deleted, ego-nets, ego-nets with the root marked); DS-GNN runs a GNN on
every subgraph independently and mixes the bag in a DeepSets readout, DSS-GNN
also shares across the bag in every layer (the GNN on the original graph,
applied to the mean of the copies of each node).  A plain GIN is the same
network on a bag that holds only the graph itself.

Run it::

    python examples/subgraph_gnn.py                                  # CSL, DSS-GNN, node-deleted
    python examples/subgraph_gnn.py --model gin                      # plain GIN: chance (10 %)
    python examples/subgraph_gnn.py --model ds --policy edge_deleted
    python examples/subgraph_gnn.py --policy ego_nets_plus --fraction 0.5   # ESAN's sampling
    python examples/subgraph_gnn.py --config esan --policy ego_nets_plus    # ESAN's CSL network
    python examples/subgraph_gnn.py --dataset exp --root data/EXP    # raw/GRAPHSAT.pkl needed
    python examples/subgraph_gnn.py --dataset sr25 --root data/SR25  # raw/sr251256.g6 needed
    python examples/subgraph_gnn.py --dataset zinc --root data/ZINC  # ZINC-12k (downloads)
    python examples/subgraph_gnn.py --out runs/a --resume --epochs 60      # continue run "a"

CSL (Murphy et al. 2019) is built in; CSL and EXP are evaluated with
stratified cross-validation (the test accuracy of the last epoch of every
fold, mean and standard deviation); SR25 trains and tests on its 15 graphs.
EXP and SR25 are read from the files you have (a missing file is named, with
where to get it).  ZINC-12k is read by PyG's own ``ZINC`` loader (it
downloads the raw files into ``--root``); the test MAE of the last epoch is
reported, as ESAN does.  ``--config esan`` builds ESAN's published network for
the dataset (``SubgraphGNN.esan``) and its bag features (one-hot degrees per
subgraph on CSL).

Outputs go to ``--out`` (default ``runs/<time>-<dataset>-<model>-<policy>/``):
``metrics.json`` (config, per-fold or per-split results, the published
reference), ``epochs.jsonl`` (one line per epoch), ``learning_curve.png`` and
``checkpoint.pt`` (model, optimizer, scheduler, every random state: ``--resume``
continues exactly where the run stopped).

The run, step by step, with the package's pieces::

    import torch
    from torch_geometric.loader import DataLoader
    from pyg_dss.subgraphs import bag_step, evaluate, make_datasets, make_model, with_defaults
    from pyg_dss.train import train_epoch

    cfg = with_defaults(dict(config="esan", policy="ego_nets_plus", epochs=2))
    train, _, test = make_datasets(cfg)[0]  # fold 0
    model = make_model(cfg)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg["lr"])
    for epoch in range(cfg["epochs"]):
        loader = DataLoader(train, batch_size=cfg["batch_size"], shuffle=True)
        sums = train_epoch(model, loader, optimizer, bag_step("classes"), epoch=epoch + 1)
    print(evaluate(model, DataLoader(test, batch_size=30), torch.device("cpu"), "classes"))
"""
import sys

from pyg_dss.subgraphs import main

if __name__ == "__main__":
    sys.exit(main(prog="examples/subgraph_gnn.py"))
