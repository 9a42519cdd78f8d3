r"""Which frame came first? Train a DSS network to pick the earliest frame of a
shuffled set of body meshes (Maron et al., ICML 2020, Section 6.2).

Each example is a set of n frames (default 7) drawn from one motion sequence
and shuffled. The network sees all n frames at once and outputs one score per
frame; a softmax over the set gives the probability that each frame is the
first one in time (or the middle one, ``--target middle``). Chance is 1/n.

Run it::

    python examples/faust_first_frame.py                    # synthetic bodies, DSS(sum), GCN
    python examples/faust_first_frame.py --modality points  # point clouds, PointNet base
    python examples/faust_first_frame.py --model siamese-ds # the late-aggregation baseline
    python examples/faust_first_frame.py --dataset dfaust   # real Dynamic FAUST (files needed)
    python examples/faust_first_frame.py --dataset folder --root DIR  # DIR/<sequence>/<frames>
    python examples/faust_first_frame.py --dataset folder --root DIR --modality points \
        --base pointnet-knn --split-by sequence --min-gap 2 --window 30   # your own scans
    python examples/faust_first_frame.py --out runs/a --resume --epochs 30   # continue run "a"
    torchrun --nproc_per_node=2 examples/faust_first_frame.py   # data-parallel (DDP)

The same run is ``pyg-dss train`` of the installed package (same options,
same outputs). Outputs go to ``--out`` (default
``runs/<time>-<model>-<modality>/``): ``metrics.json``, ``epochs.jsonl``,
``learning_curve.png``, ``test_example.png``, ``test_worst.png``,
``best_model.pt`` (the model tested; ``pyg-dss predict`` runs it on your
frame files) and ``checkpoint.pt`` (everything ``--resume`` needs to
continue exactly). A folder that holds a run needs ``--resume`` or
``--overwrite``. With stdout on a terminal, epochs show progress bars;
otherwise (a batch job) plain lines, also within long epochs.

The whole run, step by step, with the package's pieces::

    from pyg_dss.frames.training import (DEFAULTS, evaluate, frame_step, make_datasets,
                                         make_model)
    from pyg_dss.loader import SetDataLoader
    from pyg_dss.train import train_epoch

    cfg = dict(DEFAULTS, epochs=2)
    train, val, test = make_datasets(cfg)
    model = make_model(cfg)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg["lr"])
    for epoch in range(cfg["epochs"]):
        train.set_epoch(epoch)  # new training sets every epoch
        loader = SetDataLoader(train, batch_size=cfg["batch_size"], shuffle=True)
        sums = train_epoch(model, loader, optimizer, frame_step, epoch=epoch + 1)
        print(sums["loss"] / sums["count"],
              evaluate(model, SetDataLoader(val, batch_size=16), "cpu", "first"))
"""
import sys

from pyg_dss.frames.training import main

if __name__ == "__main__":
    sys.exit(main(prog="examples/faust_first_frame.py"))
