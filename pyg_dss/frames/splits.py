r"""Fixed train / val / test splits and the ready-made frame-ordering
datasets built on them.

Dynamic FAUST (``DFAUST_SPLITS``):

* by subject (default; test people are never seen in training):
  train 50007 50009 50027 (male) 50020 50021 50022 50025 (female),
  val 50026 (male), test 50002 (male) 50004 (female);
* by sequence (test motions are never seen in training):
  val ``hips`` ``one_leg_loose``; test ``chicken_wings`` ``jumping_jacks``
  ``punching`` ``shake_shoulders``; train the ten others.

Synthetic (``SYNTHETIC_SPLITS``): by subject, test = the last subject
(``synth05`` by default), val = the one before, train = the rest; by
sequence (motion type): val ``drift``, test ``wave``, train the four others.
"""
from typing import Any, Callable, Dict, List, Optional, Sequence

from torch_geometric.data import Data

from pyg_dss.datasets.dfaust import SEQUENCES, DynamicFAUST, EmptySelectionError
from pyg_dss.datasets.synthetic import SyntheticBodies

from .frame_sets import FrameSets, NoSequenceError

__all__ = ["SPLITS", "SPLIT_BY", "DFAUST_SPLITS", "SYNTHETIC_SPLITS", "synthetic_subject_split",
           "DFAUSTFrameSets", "SyntheticFrameSets"]

SPLITS = ("train", "val", "test")
SPLIT_BY = ("subject", "sequence")

_DF_TEST_SEQ = ["chicken_wings", "jumping_jacks", "punching", "shake_shoulders"]
_DF_VAL_SEQ = ["hips", "one_leg_loose"]
DFAUST_SPLITS: Dict[str, Dict[str, List[str]]] = {
    "subject": {
        "train": ["50007", "50009", "50020", "50021", "50022", "50025", "50027"],
        "val": ["50026"],
        "test": ["50002", "50004"],
    },
    "sequence": {
        "train": [s for s in SEQUENCES if s not in _DF_TEST_SEQ + _DF_VAL_SEQ],
        "val": _DF_VAL_SEQ,
        "test": _DF_TEST_SEQ,
    },
}

SYNTHETIC_SPLITS: Dict[str, Dict[str, List[str]]] = {
    "sequence": {
        "train": ["walk", "arm_raise", "squat", "reach"],
        "val": ["drift"],
        "test": ["wave"],
    },
}


def synthetic_subject_split(num_subjects: int) -> Dict[str, List[str]]:
    r"""Subject split of :class:`SyntheticBodies` with :obj:`num_subjects`
    bodies: the last one for test, the one before for val (needs >= 3)."""
    if num_subjects < 3:
        raise ValueError(f"A subject split needs num_subjects >= 3, got {num_subjects}.")
    names = [f"synth{i:02d}" for i in range(num_subjects)]
    return {"train": names[:-2], "val": [names[-2]], "test": [names[-1]]}


def _check(split: str, split_by: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}.")
    if split_by not in SPLIT_BY:
        raise ValueError(f"split_by must be one of {SPLIT_BY}, got {split_by!r}.")


def _defaults(split: str, kwargs: dict, num_sets_eval: int) -> dict:
    kwargs.setdefault("resample", split == "train")
    if not kwargs["resample"]:
        kwargs.setdefault("num_sets", num_sets_eval)
        # distinct fixed sets for val and test even with the same seed
        kwargs.setdefault("seed", {"train": 0, "val": 1, "test": 2}[split])
    return kwargs


class DFAUSTFrameSets(FrameSets):
    r"""Frame-ordering sets from one split of Dynamic FAUST.

    Loads (and on first use processes) :class:`DynamicFAUST` restricted to
    the split's subjects or sequences (one processed file per split) and
    draws :class:`FrameSets` from it. Defaults for the draw: 7 frames at
    least 5 frames (1/12 s) apart within a window of 120 frames (2 s);
    the training split is redrawn on every access, val and test hold
    ``num_sets=1000`` sets fixed by ``seed`` (1 for val, 2 for test).

    Args:
        root (str, optional): dataset folder (raw files in ``<root>/raw``).
        split (str): ``"train"``, ``"val"`` or ``"test"``.
        split_by (str): ``"subject"`` (default) or ``"sequence"``.
        pre_transform, pre_filter (callable, optional): applied to every
            sequence before it is cached (as in PyG; part of the cache key).
        **kwargs: forwarded to :class:`FrameSets` (``num_frames``,
            ``target``, ``modality``, ``min_gap``, ``window``, ``transform``,
            ``features``, ...).
    """

    def __init__(self, root: Optional[str] = None, split: str = "train",
                 split_by: str = "subject", pre_transform: Optional[Callable] = None,
                 pre_filter: Optional[Callable] = None, **kwargs) -> None:
        _check(split, split_by)
        names = DFAUST_SPLITS[split_by][split]
        which = "subjects" if split_by == "subject" else "sequences"
        try:
            selection: Dict[str, Any] = {which: names}
            self.sequences = DynamicFAUST(root, **selection,
                                          pre_transform=pre_transform, pre_filter=pre_filter)
        except EmptySelectionError as e:
            raise EmptySelectionError(f"The {split!r} split (by {split_by}) of Dynamic FAUST "
                                      f"is empty: it wants {which} {names}. {e}") from None
        kwargs.setdefault("min_gap", 5)
        kwargs.setdefault("window", 120)
        _init_frame_sets(self, self.sequences, split, split_by, names,
                         _defaults(split, kwargs, 1000))


class SyntheticFrameSets(FrameSets):
    r"""Frame-ordering sets from one split of :class:`SyntheticBodies`
    (generated and cached on first use; no download).

    Defaults for the draw: 7 frames at least 3 frames apart within a window
    of 48 frames; the training split draws 1024 new sets per epoch, val and
    test hold 512 sets fixed by ``seed`` (1 for val, 2 for test).

    Args:
        root (str, optional): cache folder (default ``default_root("synthetic")``, a
            per-user cache).
        split (str): ``"train"``, ``"val"`` or ``"test"``.
        split_by (str): ``"subject"`` (default) or ``"sequence"`` (motion).
        bodies (dict, optional): keyword arguments of :class:`SyntheticBodies`
            (``num_subjects``, ``motions``, ``repeats``, ``num_frames``, ...).
        pre_transform, pre_filter (callable, optional): applied to every
            sequence before it is cached (as in PyG; part of the cache key).
        **kwargs: forwarded to :class:`FrameSets`.
    """

    def __init__(self, root: Optional[str] = None, split: str = "train",
                 split_by: str = "subject", bodies: Optional[dict] = None,
                 pre_transform: Optional[Callable] = None,
                 pre_filter: Optional[Callable] = None, **kwargs) -> None:
        _check(split, split_by)
        all_seq = SyntheticBodies(root, pre_transform=pre_transform, pre_filter=pre_filter,
                                  **(bodies or {}))
        if split_by == "subject":
            wanted = synthetic_subject_split(all_seq.num_subjects)[split]
            chosen = [d for d in all_seq if d.subject in set(wanted)]
        else:
            wanted = SYNTHETIC_SPLITS["sequence"][split]
            chosen = [d for d in all_seq if d.sequence.rsplit("_", 1)[0] in set(wanted)]
        if not chosen:
            which = "subjects" if split_by == "subject" else "motions"
            raise ValueError(f"The {split!r} split (by {split_by}) of {all_seq} is empty: it "
                             f"wants {which} {wanted}, but the bodies hold subjects "
                             f"{sorted({d.subject for d in all_seq})} and motions "
                             f"{all_seq.motions} (after pre_filter).")
        self.sequences: Sequence[Data] = chosen
        kwargs.setdefault("min_gap", 3)
        kwargs.setdefault("window", 48)
        if split == "train":
            kwargs.setdefault("num_sets", 1024)
        _init_frame_sets(self, chosen, split, split_by, wanted, _defaults(split, kwargs, 512))


def _init_frame_sets(self: FrameSets, sequences, split: str, split_by: str,
                     wanted: List[str], kwargs: dict) -> None:
    """FrameSets.__init__, with the split named in a 'no sequence' error."""
    try:
        FrameSets.__init__(self, sequences, **kwargs)
    except NoSequenceError as e:
        raise NoSequenceError(f"The {split!r} split (by {split_by}: {wanted}) has no usable "
                         f"sequence. {e}") from None
