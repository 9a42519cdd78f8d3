r"""The 13-bone skeleton shared by the synthetic bodies
(:mod:`pyg_dss.datasets.synthetic`) and the MakeHuman body
(:mod:`pyg_dss.datasets.makehuman`): bone order, parents, and forward
kinematics from joint angles."""
from typing import Dict, Optional, Tuple

import numpy as np

__all__ = ["BONES", "PARENT", "bone_transforms"]

# Bones: name -> (parent, offset-in-parent-frame key). Order is topological.
BONES = ["root", "spine", "head", "shoulder_l", "elbow_l", "shoulder_r",
          "elbow_r", "hip_l", "knee_l", "ankle_l", "hip_r", "knee_r", "ankle_r"]
PARENT: Dict[str, Optional[str]] = {"root": None, "spine": "root", "head": "spine",
           "shoulder_l": "spine", "elbow_l": "shoulder_l",
           "shoulder_r": "spine", "elbow_r": "shoulder_r",
           "hip_l": "root", "knee_l": "hip_l", "ankle_l": "knee_l",
           "hip_r": "root", "knee_r": "hip_r", "ankle_r": "knee_r"}

def _rx(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([o, z, z], -1), np.stack([z, c, -s], -1),
                     np.stack([z, s, c], -1)], -2)


def _ry(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([c, z, s], -1), np.stack([z, o, z], -1),
                     np.stack([-s, z, c], -1)], -2)


def _rz(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([c, -s, z], -1), np.stack([s, c, z], -1),
                     np.stack([z, z, o], -1)], -2)


def bone_transforms(offsets: Dict[str, np.ndarray], ang: Dict[str, np.ndarray],
                    drop: np.ndarray) -> Tuple[Dict[str, np.ndarray], Dict[str, np.ndarray]]:
    r"""Forward kinematics of the 13-bone skeleton: the world rotation
    [T, 3, 3] and joint position [T, 3] of every bone for joint angles
    :obj:`ang` (each [T]) and pelvis drop :obj:`drop` [T], given each joint's
    rest offset from its parent's joint (the root's: its rest position)."""
    T = len(drop)
    local = {
        "root": _rz(ang["heading"]) @ _rx(ang["lean"]),
        "spine": _rx(ang["spine_flex"]), "head": _rx(ang["head_nod"]),
        "shoulder_l": _ry(-ang["sh_abd_l"]) @ _rx(ang["sh_flex_l"]),
        "elbow_l": _rx(ang["elbow_l"]),
        "shoulder_r": _ry(ang["sh_abd_r"]) @ _rx(ang["sh_flex_r"]),
        "elbow_r": _rx(ang["elbow_r"]),
        "hip_l": _rx(ang["hip_flex_l"]), "knee_l": _rx(-ang["knee_l"]),
        "hip_r": _rx(ang["hip_flex_r"]), "knee_r": _rx(-ang["knee_r"]),
        "ankle_l": _rx(ang["knee_l"] - ang["hip_flex_l"]),  # keep feet level
        "ankle_r": _rx(ang["knee_r"] - ang["hip_flex_r"]),
    }
    R: Dict[str, np.ndarray] = {}
    t: Dict[str, np.ndarray] = {}
    for name in BONES:
        p = PARENT[name]
        if p is None:
            R[name] = local[name]
            t[name] = np.tile(offsets[name], (T, 1))
            t[name][:, 2] -= drop
        else:
            R[name] = R[p] @ local[name]
            t[name] = t[p] + R[p] @ offsets[name]
    return R, t
