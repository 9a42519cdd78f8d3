"""Trust in the dataset folder: nothing in it runs code, caches cannot go
stale, bad raw data is refused with its file, sequence and frame named, and
unusable folders are refused before any work. Dynamic FAUST folders are
generated in the real schema (tests/datasets/test_datasets.py::write_dfaust)."""
import os
import tempfile
import threading
import warnings

import h5py
import numpy as np
import pytest
import torch
import torch_geometric.transforms as T
from torch_geometric.data import Data
from torch_geometric.transforms import BaseTransform

from pyg_dss.datasets import DynamicFAUST, SyntheticBodies, fingerprint
from pyg_dss.frames import DFAUSTFrameSets, FrameSets
from pyg_dss.datasets.fingerprint import UndescribableError
from pyg_dss.io import TEMP_PREFIX, UnreadableFileError
from test_datasets import OCTA_F, SEQS, _sequences, frames_of, write_dfaust
from test_io import Payload  # unpickling it writes a marker file

TINY_BODIES = dict(num_subjects=1, motions=["drift"], repeats=1, num_frames=8)


class Scale(BaseTransform):
    def __init__(self, factor):
        self.factor = factor

    def forward(self, data):
        data.pos = data.pos * self.factor
        return data

    def __repr__(self):
        return f"Scale({self.factor})"


def _dfaust(tmp_path, **kw):
    if not (tmp_path / "raw").exists():
        write_dfaust(str(tmp_path / "raw"))
    return DynamicFAUST(str(tmp_path), **kw)


def _pos(ds, subject, sequence):
    return [d.pos for d in ds if (d.subject, d.sequence) == (subject, sequence)][0]


def _ref(subject, sequence):
    i = [k for k, s in enumerate(SEQS) if s[1:3] == (subject, sequence)][0]
    return torch.from_numpy(frames_of(SEQS[i][3], i)).permute(2, 0, 1)


# ------------------------------------------------------------------ security
@pytest.mark.parametrize("dataset", ["dfaust", "synthetic"])
def test_planted_pre_transform_and_pre_filter_never_run(tmp_path, dataset):
    marker = tmp_path / "pwned"
    (tmp_path / "processed").mkdir()
    for name in ("pre_transform.pt", "pre_filter.pt"):
        torch.save(Payload(str(marker)), tmp_path / "processed" / name)
    for _ in range(2):  # first build, then load from the cache
        if dataset == "dfaust":
            ds = _dfaust(tmp_path)
        else:
            ds = SyntheticBodies(str(tmp_path), **TINY_BODIES)
        assert len(ds) >= 1
    assert not marker.exists()


@pytest.mark.parametrize("dataset", ["dfaust", "synthetic"])
def test_planted_cache_file_is_refused(tmp_path, dataset):
    make = ((lambda: _dfaust(tmp_path)) if dataset == "dfaust" else
            (lambda: SyntheticBodies(str(tmp_path), **TINY_BODIES)))
    path = make().processed_paths[0]
    marker = tmp_path / "pwned"
    torch.save({"data": Payload(str(marker))}, path)
    with pytest.raises(UnreadableFileError) as e:
        make()
    assert not marker.exists()
    msg = str(e.value)
    assert path in msg and f"delete the folder '{tmp_path / 'processed'}'" in msg


# ------------------------------------------------------------ stale caches
def test_changed_pre_transform_or_pre_filter_rebuilds(tmp_path):
    ref = _ref("50007", "hips")
    ds = _dfaust(tmp_path, pre_transform=Scale(2.0))
    assert torch.equal(_pos(ds, "50007", "hips"), 2 * ref)
    ds = _dfaust(tmp_path, pre_transform=Scale(3.0))
    assert torch.equal(_pos(ds, "50007", "hips"), 3 * ref)
    assert ds.cache_status == "rebuilt: pre_transform changed (Scale(2.0) -> Scale(3.0))"
    ds = _dfaust(tmp_path, pre_transform=Scale(3.0))
    assert ds.cache_status == "loaded"
    # Two lambdas share a qualname and differ only in code: still told apart.
    ds = _dfaust(tmp_path, pre_filter=lambda d: d.pos.size(0) > 15)
    assert len(ds) == 3 and torch.equal(_pos(ds, "50007", "hips"), ref)
    ds = _dfaust(tmp_path, pre_filter=lambda d: d.pos.size(0) > 16)
    assert len(ds) == 2 and "pre_filter changed" in ds.cache_status


def test_two_selections_in_one_root_keep_their_own_pre_transform(tmp_path):
    ref = _ref("50007", "hips")
    a = _dfaust(tmp_path, subjects=["50007"], pre_transform=Scale(2.0))
    b = _dfaust(tmp_path, subjects=["50004"], pre_transform=Scale(3.0))
    assert torch.equal(_pos(b, "50004", "hips"), 3 * _ref("50004", "hips"))
    a = _dfaust(tmp_path, subjects=["50007"], pre_transform=Scale(3.0))
    assert torch.equal(_pos(a, "50007", "hips"), 3 * ref)


def test_replaced_raw_file_rebuilds(tmp_path):
    ds = _dfaust(tmp_path)
    assert torch.equal(_pos(ds, "50002", "punching"), _ref("50002", "punching"))
    with h5py.File(tmp_path / "raw" / "registrations_m.hdf5", "a") as f:
        f["50002_punching"][...] = 2 * frames_of(20, 0)
    ds = _dfaust(tmp_path)
    assert torch.equal(_pos(ds, "50002", "punching"), 2 * _ref("50002", "punching"))
    assert ds.cache_status == "rebuilt: raw input 'registrations_m.hdf5' changed"


def test_stale_cache_in_read_only_folder_says_what_changed(tmp_path):
    _dfaust(tmp_path, pre_transform=Scale(2.0))
    out = _as_other_user(lambda: DynamicFAUST(str(tmp_path), pre_transform=Scale(3.0)),
                         tmp_path)
    assert out.startswith("PermissionError")
    assert "pre_transform changed (Scale(2.0) -> Scale(3.0))" in out
    assert f"'{tmp_path / 'processed'}'" in out and "Fix: pass a root= you can write" in out


# ----------------------------------------------------------- bad raw data
@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_coordinates_refused_naming_file_sequence_frame(tmp_path, value):
    write_dfaust(str(tmp_path / "raw"))
    with h5py.File(tmp_path / "raw" / "registrations_m.hdf5", "a") as f:
        f["50007_knees"][2, 1, 3] = value
        f["50007_knees"][0, 0, 7] = value
    with pytest.raises(ValueError, match=r"'registrations_m.hdf5' \(.*\): sequence "
                                         r"'50007_knees' has NaN or inf coordinates in 2 of 12 "
                                         r"frame\(s\): frame 3, 7 \(0-based\)"):
        DynamicFAUST(str(tmp_path))
    assert not os.listdir(tmp_path / "processed")  # nothing cached


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_float_coordinates_stored_as_float32(tmp_path, dtype):
    seqs = [("m", "50002", "punching", 5), ("f", "50004", "hips", 4)]
    write_dfaust(str(tmp_path / "raw"), seqs=seqs)
    for g in "mf":
        with h5py.File(tmp_path / "raw" / f"registrations_{g}.hdf5", "a") as f:
            for key in [k for k in f if k != "faces"]:
                values = f[key][()]
                del f[key]
                f[key] = values.astype(dtype)
    ds = DynamicFAUST(str(tmp_path))
    pos = _pos(ds, "50002", "punching")
    assert pos.dtype == torch.float32
    expected = torch.from_numpy(frames_of(5, 0).astype(dtype).astype(np.float32))
    assert torch.equal(pos, expected.permute(2, 0, 1))


def test_integer_coordinates_and_float_faces_refused(tmp_path):
    write_dfaust(str(tmp_path / "raw"), bad=("50009_knees", np.ones((6, 3, 5), np.int32)))
    with pytest.raises(ValueError, match=r"sequence '50009_knees' has int32 coordinates; "
                                         r"vertex positions must be floating point"):
        DynamicFAUST(str(tmp_path))
    write_dfaust(str(tmp_path / "raw"))
    with h5py.File(tmp_path / "raw" / "registrations_f.hdf5", "a") as f:
        del f["faces"]
        f["faces"] = OCTA_F.astype(np.float32) + 0.5
    with pytest.raises(ValueError, match=r"'registrations_f.hdf5' .*'faces' has dtype float32; "
                                         r"face indices must be integers"):
        DynamicFAUST(str(tmp_path))


def test_unknown_datasets_listed_in_one_warning(tmp_path):
    write_dfaust(str(tmp_path / "raw"), bad=("50099_hips", frames_of(9, 0)))
    with h5py.File(tmp_path / "raw" / "registrations_f.hdf5", "a") as f:
        f["notes"] = np.zeros(3)
        f["50004_moonwalk"] = frames_of(9, 0)
    with pytest.warns(UserWarning) as record:
        ds = DynamicFAUST(str(tmp_path))
    messages = [str(w.message) for w in record if "Dynamic FAUST" in str(w.message)]
    assert len(messages) == 1
    assert ("3 dataset(s) in the raw files are not '<subject>_<sequence>' of a known subject "
            "and sequence and are ignored: registrations_m.hdf5:50099_hips, "
            "registrations_f.hdf5:50004_moonwalk, registrations_f.hdf5:notes") in messages[0]
    assert len(ds) == len(SEQS)


def test_no_long_enough_sequence_names_lengths_and_options():
    with pytest.raises(ValueError) as e:
        FrameSets(_sequences(), num_frames=7, min_gap=10)
    assert str(e.value) == (
        "No sequence has the 61 frames needed to draw num_frames=7 frames min_gap=10 apart "
        "(window=None). Frames per sequence: 50002/punching: 20, 50004/hips: 18, "
        "50007/hips: 16, 50020/shake_arms: 15, 50007/knees: 12. min_gap <= 3 or "
        "num_frames <= 2 would admit the longest one (window only narrows the draw).")


def test_empty_split_names_split_and_subjects(tmp_path):
    write_dfaust(str(tmp_path / "raw"))  # no sequence of 50026, the val subject
    with pytest.raises(ValueError, match=r"The 'val' split \(by subject\) of Dynamic FAUST is "
                                         r"empty: it wants subjects \['50026'\]\. .*the files "
                                         r"hold 5 sequence\(s\) of subjects \['50002', '50004', "
                                         r"'50007', '50020'\]"):
        DFAUSTFrameSets(str(tmp_path), split="val", min_gap=1, window=None)
    with pytest.raises(ValueError, match=r"The 'test' split \(by subject: \['50002', '50004'\]\) "
                                         r"has no usable sequence\. No sequence has the 61"):
        DFAUSTFrameSets(str(tmp_path), split="test", min_gap=10, window=None)


def test_nan_made_by_pre_transform_is_not_cached(tmp_path):
    def poison(data):
        data.pos = data.pos / 0.0
        return data

    with pytest.raises(ValueError, match=r"item 0 \(50002_punching\) has NaN or inf in 'pos' "
                                         r"after pre_transform .*poison"):
        _dfaust(tmp_path, pre_transform=poison)
    with pytest.raises(ValueError, match=r"nothing to cache: no item is left"):
        _dfaust(tmp_path, pre_filter=lambda d: False)


# ------------------------------------------------------- unusable folders
def _as_other_user(make, root) -> str:
    """Runs make() where `root` is not writable: as user 'nobody' in a forked
    child when we are root (root may write anywhere), else after chmod.
    Returns 'ok' or '<ExceptionType>: <message>'."""
    if os.geteuid() != 0:
        for folder in (root, root / "processed"):
            if folder.exists():
                folder.chmod(0o555)
        try:
            make()
            return "ok"
        except Exception as e:
            return f"{type(e).__name__}: {e}"
        finally:
            for folder in (root, root / "processed"):
                if folder.exists():
                    folder.chmod(0o755)
    for folder in [root, *root.parents]:  # let 'nobody' read the raw files
        if str(folder) in ("/", tempfile.gettempdir()):
            break
        folder.chmod(folder.stat().st_mode | 0o005)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never returns into pytest
        os.close(read)
        try:
            os.setgid(65534)
            os.setuid(65534)
            make()
            out = "ok"
        except BaseException as e:
            out = f"{type(e).__name__}: {e}"
        os.write(write, out.encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as f:
        out = f.read()
    os.waitpid(pid, 0)
    return out


def test_read_only_root_refused_before_any_work(tmp_path, monkeypatch):
    def never(self):
        raise AssertionError("processing started")

    monkeypatch.setattr(SyntheticBodies, "process", never)
    (tmp_path / "processed").mkdir()
    out = _as_other_user(lambda: SyntheticBodies(str(tmp_path), **TINY_BODIES), tmp_path)
    assert out == (f"PermissionError: Cannot write the processed cache of SyntheticBodies "
                   f"into '{tmp_path / 'processed'}' (Permission denied). Fix: pass a root= you "
                   f"can write to (with the raw files copied or linked into <root>/raw), or ask "
                   f"the owner of '{tmp_path}' to build it once with these options.")
    monkeypatch.undo()
    SyntheticBodies(str(tmp_path), **TINY_BODIES)  # once built, a read-only root loads
    assert _as_other_user(lambda: SyntheticBodies(str(tmp_path), **TINY_BODIES),
                          tmp_path) == "ok"


def test_processed_that_is_a_file_refused(tmp_path):
    write_dfaust(str(tmp_path / "raw"))
    (tmp_path / "processed").write_text("not a folder")
    with pytest.raises(NotADirectoryError, match=r"The 'processed' folder '.*processed' of "
                                                 r"DynamicFAUST is a file, but must be a folder\. "
                                                 r"Fix: move or delete that file"):
        DynamicFAUST(str(tmp_path))


def test_cache_follows_umask_and_stale_temp_files_are_removed(tmp_path):
    processed = tmp_path / "processed"
    processed.mkdir()
    # A writer killed mid-save a minute ago left a big temp file (nobody holds its lock).
    stale = processed / f"{TEMP_PREFIX}abc"
    stale.write_bytes(b"x" * 1000)
    os.utime(stale, (os.path.getmtime(stale) - 60,) * 2)
    old = os.umask(0o022)
    try:
        ds = SyntheticBodies(str(tmp_path), **TINY_BODIES)
    finally:
        os.umask(old)
    assert not stale.exists()
    assert os.listdir(processed) == [os.path.basename(ds.processed_paths[0])]
    assert os.stat(ds.processed_paths[0]).st_mode & 0o777 == 0o644


# ------------------------------------------------------------ fingerprints
def test_fingerprint_tells_callables_apart_by_behaviour():
    def scaler(k):
        return lambda data: data.pos * k

    assert fingerprint(scaler(2)) == fingerprint(scaler(2))
    assert fingerprint(scaler(2)) != fingerprint(scaler(3))  # captured value
    assert fingerprint(lambda d: d.pos > 1) != fingerprint(lambda d: d.pos > 2)  # constant
    assert fingerprint(T.FaceToEdge()) != fingerprint(T.FaceToEdge(remove_faces=False))
    assert repr(T.FaceToEdge()) == repr(T.FaceToEdge(remove_faces=False))  # why not repr
    assert fingerprint(Scale(2.0)) != fingerprint(Scale(2.5))
    assert fingerprint(T.Compose([Scale(2.0)])) != fingerprint(T.Compose([Scale(2.5)]))
    template = [Data(pos=torch.ones(2, 3)), Data(pos=torch.zeros(2, 3))]  # state with a Data
    assert fingerprint(lambda d, t=template[0]: d) != fingerprint(lambda d, t=template[1]: d)
    with pytest.raises(UndescribableError, match=r"pre_transform.handle holds a "):
        fingerprint(_HoldsHandle(), "pre_transform")
    # Globals count, attributes that share a global's name do not.
    with pytest.raises(UndescribableError, match=r"\(global '_LOCK'\) holds a "):
        fingerprint(lambda d: _LOCK, "pre_filter")
    assert fingerprint(_Attribute(1)) != fingerprint(_Attribute(2))


_LOCK = threading.Lock()  # a module global no fingerprint can describe


class _Attribute:
    def __init__(self, value):
        self._LOCK = value

    def __call__(self, data):
        return data * self._LOCK


class _HoldsHandle:
    def __init__(self):
        self.handle = threading.Lock()  # no state to read: refused, not guessed

    def __call__(self, data):
        return data


def test_warnings_are_not_errors_for_a_valid_folder(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _dfaust(tmp_path)


def test_fingerprint_sees_module_attributes_and_environment(tmp_path, monkeypatch):
    (tmp_path / "hyg_settings.py").write_text("SCALE = 2\nNAME = 'a'\n")
    (tmp_path / "hyg_transforms.py").write_text(
        "import os\nimport hyg_settings\n\n"
        "def scale(data):\n    data.pos = data.pos * hyg_settings.SCALE\n    return data\n\n"
        "def from_env(data):\n"
        "    data.pos = data.pos * float(os.environ.get('HYG_SCALE', '1'))\n    return data\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import hyg_settings
    import hyg_transforms

    before = fingerprint(hyg_transforms.scale)
    monkeypatch.setattr(hyg_settings, "SCALE", 3)  # set at run time: the source is unchanged
    assert fingerprint(hyg_transforms.scale) != before
    monkeypatch.setattr(hyg_settings, "SCALE", 2)
    assert fingerprint(hyg_transforms.scale) == before

    monkeypatch.delenv("HYG_SCALE", raising=False)
    unset = fingerprint(hyg_transforms.from_env)
    monkeypatch.setenv("HYG_SCALE", "2")
    two = fingerprint(hyg_transforms.from_env)
    monkeypatch.setenv("HYG_SCALE", "3")
    assert len({unset, two, fingerprint(hyg_transforms.from_env)}) == 3
