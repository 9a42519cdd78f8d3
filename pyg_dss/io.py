"""Saving files so that a reader never sees half of one."""
import os
import tempfile

import torch


def atomic_torch_save(obj, path: str) -> None:
    r"""``torch.save`` to a temporary file in the same folder, then
    ``os.replace`` it onto :obj:`path`: a reader never sees half a file and
    two processes building the same cache at once both end with a valid one."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".pt", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
