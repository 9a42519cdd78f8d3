r"""The ``pyg-dss`` command (also ``python -m pyg_dss``):

.. code-block:: console

    python -m pyg_dss train [--out DIR] [--epochs N] ...   # every option: train --help
    python -m pyg_dss predict CHECKPOINT FRAME FRAME ... [--plot OUT.png] [--json]

``train``: the frame-ordering run (a DSS network learns which frame of a
shuffled set came first), with the options and outputs of
``examples/faust_first_frame.py``; see :mod:`pyg_dss.frames.training`.
``predict``: which of the frames came first (or is the middle one, per the
checkpoint), with a trained model (its ``best_model.pt``, written by
``pyg-dss train``); see :mod:`pyg_dss.frames.predict`.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Optional, Sequence

from pyg_dss.io import UnreadableFileError

__all__ = ["main", "build_parser"]

#: Errors reported as one line and exit status 2: bad files, checkpoints,
#: options (every one names what is wrong), and a missing optional package.
USER_ERRORS = (ValueError, OSError, UnreadableFileError, ImportError)


def _predict(args: argparse.Namespace) -> int:
    from pyg_dss.frames import load_predictor, plot_prediction, predict_first_frame, read_frames

    model, inputs, _ = load_predictor(args.checkpoint)
    frames = read_frames(args.frames, inputs.modality)
    result = predict_first_frame(model, frames, data=inputs, device=args.device,
                                 in_time_order=args.in_time_order)
    if args.plot:
        plot_prediction(result, frames, args.plot)
    if args.json:
        out = dict(result.to_dict(), checkpoint=args.checkpoint, plot=args.plot)
        print(json.dumps(out, indent=2))
    else:
        print(f"{args.checkpoint}: {model!r}, target '{result.target}'")
        print(result)
        if args.plot:
            print(f"picture of the set: {args.plot}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pyg-dss", description="pyg-dss: learning on sets of symmetric elements.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # Only listed here: main() hands "train ..." to pyg_dss.frames.training.main.
    commands.add_parser("train", add_help=False,
                        help="train a model that tells which frame of a set came first "
                             "(pyg-dss train --help: every option)")
    p = commands.add_parser(
        "predict", help="which of these frames came first? (a trained model on your files)",
        description="Load a model checkpoint (best_model.pt of pyg-dss train, "
                    "or any save_model(..., data=...) file), read one set of frames from "
                    "files, and print each frame's probability of being the first (or the "
                    "middle one, per the checkpoint's target) and the predicted order. "
                    "Inputs are prepared exactly as in training (the checkpoint's 'data').")
    p.add_argument("checkpoint", help="model checkpoint (.pt), loaded with weights_only")
    p.add_argument("frames", nargs="+", metavar="FRAME",
                   help="one file per frame, >= 2: meshes (.obj .ply .off) of one "
                        "registered mesh for a mesh model; point clouds (.ply .xyz .pcd) "
                        "or meshes for a point model")
    p.add_argument("--plot", metavar="OUT.png", help="also draw the set (frames in the order "
                   "given, the predicted one boxed) to this PNG")
    p.add_argument("--device", default="auto", help="'auto' (CUDA when available), 'cpu', "
                   "'cuda', 'cuda:1', ... (default: %(default)s)")
    p.add_argument("--in-time-order", action="store_true",
                   help="the frames are given in their true time order: also report whether "
                        "the prediction is right and Kendall's tau")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.set_defaults(run=_predict)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["train"]:
        from pyg_dss.frames.training import main as train

        return train(argv[1:], prog="pyg-dss train")
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except USER_ERRORS as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
