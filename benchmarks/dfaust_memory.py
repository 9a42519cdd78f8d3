"""Memory and disk cost of Dynamic FAUST in pyg-dss, measured on generated
files of the real size (no licensed data needed).

Writes registrations_m.hdf5 / registrations_f.hdf5 in the real schema
(10 subjects, ~129 sequences, 6890 vertices, `faces` (13776, 3); random
float32 vertices), then runs each step in a fresh subprocess and reports its
peak resident memory (ru_maxrss), wall time and the files on disk:

  process   DynamicFAUST(root) on all subjects (reads the HDF5, writes the
            processed .pt file)
  load      DynamicFAUST(root) again (loads the processed file)
  train     DFAUSTFrameSets(root, "train") and 50 batches of 8 sets of 7 frames
            through a DataLoader (processes and loads the train split file)

    python benchmarks/dfaust_memory.py                 # full size, ~40,000 frames
    python benchmarks/dfaust_memory.py --fraction 0.1  # a tenth, quick check

The generated files are deleted at the end unless --keep is given.
"""
import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

V, F = 6890, 13776
MALE = ["50002", "50007", "50009", "50026", "50027"]
FEMALE = ["50004", "50020", "50021", "50022", "50025"]


def sequence_names():
    from torch_geometric.datasets import DynamicFAUST
    return list(DynamicFAUST.categories)


def generate(raw: str, total_frames: int, full_frames: int, seed: int = 0) -> dict:
    import h5py

    os.makedirs(raw, exist_ok=True)
    rng = np.random.default_rng(seed)
    cats = sequence_names()
    # ~13 sequences per subject as in DFAUST (129 in all), random lengths
    pairs = [(s, c) for s in MALE + FEMALE for c in cats if rng.uniform() < 0.81]
    w = rng.uniform(0.5, 1.5, len(pairs))
    lengths = np.maximum(10, np.round(w / w.sum() * full_frames)).astype(int)
    if total_frames < full_frames:  # a fraction: fewer sequences of real length
        frac = total_frames / full_frames
        keep, per = [], {}
        for i, (s, _) in enumerate(pairs):
            per.setdefault(s, []).append(i)
        for idx in per.values():
            keep += idx[:max(1, int(np.ceil(len(idx) * frac)))]
        keep = sorted(keep)
        pairs, lengths = [pairs[i] for i in keep], lengths[keep]
    faces = rng.integers(0, V, (F, 3)).astype(np.int32)
    chunk = rng.standard_normal((V, 3, 64), dtype=np.float32)  # reused: speed
    for g, subjects in (("m", MALE), ("f", FEMALE)):
        with h5py.File(os.path.join(raw, f"registrations_{g}.hdf5"), "w") as f:
            f["faces"] = faces
            for (s, c), T in zip(pairs, lengths, strict=True):
                if s not in subjects:
                    continue
                d = f.create_dataset(f"{s}_{c}", shape=(V, 3, int(T)), dtype="f4")
                for t0 in range(0, T, 64):
                    t1 = min(T, t0 + 64)
                    d[:, :, t0:t1] = chunk[:, :, :t1 - t0] + t0
    return dict(sequences=len(pairs), frames=int(lengths.sum()))


def step(name: str, root: str) -> None:
    t0 = time.time()
    if name == "process" or name == "load":
        from pyg_dss.datasets import DynamicFAUST
        ds = DynamicFAUST(root)
        info = dict(sequences=len(ds), frames=int(sum(d.pos.size(0) for d in ds)))
    elif name == "train":
        from torch_geometric.loader import DataLoader
        from pyg_dss.frames import DFAUSTFrameSets
        ds = DFAUSTFrameSets(root, "train")
        n = 0
        for k, b in enumerate(DataLoader(ds, batch_size=8, shuffle=True)):
            n += b.num_nodes
            if k == 49:
                break
        info = dict(sets_per_epoch=len(ds), nodes_seen=n)
    else:
        raise ValueError(name)
    info.update(step=name, seconds=round(time.time() - t0, 1),
                peak_rss_gib=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                                   / 2**20, 2))
    print("RESULT " + json.dumps(info), flush=True)


def du(path: str) -> float:
    total = 0
    for d, _, files in os.walk(path):
        total += sum(os.path.getsize(os.path.join(d, f)) for f in files)
    return round(total / 2**30, 2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--frames", type=int, default=40000,
                    help="total frames at full size (Dynamic FAUST has about 40,000).")
    ap.add_argument("--fraction", type=float, default=1.0,
                    help="share of --frames to generate; 0.1 is a quick check.")
    ap.add_argument("--workdir", default=None,
                    help="folder for the generated files (None: a fresh folder in /tmp).")
    ap.add_argument("--keep", action="store_true",
                    help="keep the generated and processed files at the end.")
    ap.add_argument("--step", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--root", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.step:
        return step(args.step, args.root)

    root = args.workdir or tempfile.mkdtemp(prefix="dfaust_memory_")
    try:
        t0 = time.time()
        gen = generate(os.path.join(root, "raw"), int(args.frames * args.fraction), args.frames)
        print(f"generated {gen['sequences']} sequences, {gen['frames']} frames "
              f"in {time.time() - t0:.0f}s; raw files {du(os.path.join(root, 'raw'))} GiB",
              flush=True)
        rows = []
        for name in ("process", "load", "train"):
            out = subprocess.run([sys.executable, __file__, "--step", name, "--root", root],
                                 capture_output=True, text=True)
            line = [t for t in out.stdout.splitlines() if t.startswith("RESULT ")]
            if out.returncode or not line:
                print(out.stdout[-2000:], out.stderr[-4000:])
                raise SystemExit(f"step {name} failed")
            rows.append(json.loads(line[0][7:]))
            print(rows[-1], flush=True)
        print(f"\nframes: {gen['frames']} (fraction {args.fraction})")
        print(f"disk: raw {du(os.path.join(root, 'raw'))} GiB, processed "
              f"{du(os.path.join(root, 'processed'))} GiB (all subjects + train split)")
        for r in rows:
            print(f"{r['step']:8s} peak RSS {r['peak_rss_gib']:6.2f} GiB  {r['seconds']:7.1f} s")
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
