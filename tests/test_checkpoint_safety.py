"""Checkpoint configurations are plain, checked values: nothing in a
checkpoint is constructed but the registered model, nothing is allocated
before the configuration is known to fit its weights, and every problem is
one line naming the file and the field."""
import os
import subprocess
import sys
import textwrap

import pytest
import torch

from pyg_dss.checkpoint import load_model, model_from_checkpoint, save_model
from pyg_dss.io import UnreadableFileError
from pyg_dss.nn import DSSNet


@pytest.fixture
def checkpoint(tmp_path):
    path = tmp_path / "best_model.pt"
    save_model(str(path), DSSNet(3, base="gcn", variant="dss-sum", hidden=(4, 5),
                                 head_hidden=(3,)))
    return path


def edited(path, change):
    ckpt = torch.load(path, weights_only=True)
    change(ckpt)
    torch.save(ckpt, path)
    return path


def one_line_error(path, field):
    with pytest.raises(UnreadableFileError) as info:
        load_model(str(path))
    text = str(info.value)
    assert "\n" not in text and f"'{path}'" in text and field in text, text
    return text


def test_class_objects_in_a_config_are_never_constructed(checkpoint):
    built = []

    class Probe:  # stands for DeviceMesh & co., which weights_only admits
        def __init__(self, *args):
            built.append(args)

    ckpt = torch.load(checkpoint, weights_only=True)
    ckpt["model_config"]["base"] = Probe
    with pytest.raises(UnreadableFileError, match=r"model_config\['base'\] holds a type; a "
                                                  r"config holds plain values only"):
        model_from_checkpoint(ckpt, str(checkpoint))
    assert built == []


@pytest.mark.parametrize("change, field", [
    (lambda c: c.update(model_class="DSSNett"), "model_class 'DSSNett'"),
    (lambda c: c["model_config"].update(hidden="4,5"), "model_config['hidden']"),
    (lambda c: c["model_config"].update(in_channels=3.5), "model_config['in_channels']"),
    (lambda c: c["model_config"].update(variant="dss-summ"), "model_config does not build"),
    (lambda c: c["model_config"].update(width=3), "model_config['width']"),
    (lambda c: c["model_config"].pop("in_channels"), "lacks ['in_channels']"),
    (lambda c: c.update(model_config=[1, 2]), "model_config is a list"),
    (lambda c: c["state_dict"].pop("head.0.lin_set.weight"), "state_dict['head.0.lin_set"),
    (lambda c: c["state_dict"].update({"head.0.lin_set.weight": torch.zeros(2, 2)}),
     "has shape [2, 2]"),
    (lambda c: c["state_dict"].update(extra=torch.zeros(1)), "state_dict['extra']"),
    (lambda c: c["model_config"].update(hidden=[4, 6]), "has shape [5], but model_config"),
    (lambda c: c["model_config"].update(hidden=[4] * 10**6), "lists 1000000 sizes"),
    (lambda c: c.update(state_dict=[1]), "state_dict is not a dict of named tensors"),
])
def test_every_config_and_state_problem_is_one_line(checkpoint, change, field):
    one_line_error(edited(checkpoint, change), field)


def test_oversized_config_is_refused_before_allocating(checkpoint):
    # hidden=[6000, 6000] would allocate ~600 MB of weights before the state
    # dict (a few kB) could show that it does not fit.
    edited(checkpoint, lambda c: c["model_config"].update(hidden=[6000, 6000]))
    assert os.path.getsize(checkpoint) < 100_000
    code = textwrap.dedent(f"""
        import resource, torch
        from pyg_dss.checkpoint import load_model
        from pyg_dss.io import UnreadableFileError
        import pyg_dss.nn
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        try:
            load_model({str(checkpoint)!r})
        except UnreadableFileError as e:
            print(e)
        print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert "model_config['hidden'] is 6000, more than all" in out[0]
    assert int(out[-1]) < 150, f"{out[-1]} MB allocated"
