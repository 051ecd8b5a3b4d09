"""The one factory: every kind and every earlier specification builds the network it built before.

``FINGERPRINTS`` were recorded with the code before the factory was one (commit fdac5dc:
``build_model`` for ``"mlp"``/``"cnn"`` with ``bn=``, ``build_practice_model`` for
``"plain"``/``"resnet"`` with ``norm=``): SHA-256 of every parameter and buffer, in
``parameters()`` then ``buffers()`` order, after ``torch.manual_seed(0)``. Equal
fingerprints mean the same parameters in the same order with the same initial values, so a
committed run rebuilt from its specification reproduces bit for bit.
"""

import hashlib
import json

import pytest
import torch

from bn.models import KINDS, build_model, upgrade_arguments

FINGERPRINTS = [
    ('{"activation": "sigmoid", "bn": false, "hidden": [100, 100, 100], "kind": "mlp"}', '5d46e24dd5954bfa'),
    ('{"activation": "sigmoid", "bn": true, "hidden": [100, 100, 100], "kind": "mlp"}', 'b00e10678d2a240f'),
    ('{"activation": "relu", "bn": false, "convs_per_block": 2, "dropout": 0.2, "init_scale": 1.0, "kind": "cnn", "widths": [16, 32, 64, 128]}', '26518e5f15f1e7cc'),
    ('{"activation": "relu", "bn": true, "convs_per_block": 2, "dropout": 0.2, "init_scale": 1.0, "kind": "cnn", "widths": [16, 32, 64, 128]}', 'b28ed19f27f8e3b6'),
    ('{"activation": "sigmoid", "bn": false, "convs_per_block": 2, "dropout": 0.2, "init_scale": 1.0, "kind": "cnn", "widths": [16, 32, 64, 128]}', '26e6fa007d5e6edf'),
    ('{"activation": "relu", "bn": true, "convs_per_block": 2, "dropout": 0.0, "init_scale": 0.1, "kind": "cnn", "widths": [16, 32, 64, 128]}', 'c4a2342a711d232d'),
    ('{"bn": true, "kind": "cnn", "widths": [32, 64, 128]}', '3d2df52fb33c3468'),
    ('{"kind": "plain", "norm": "torch"}', 'e0036e34e52f1cfb'),
    ('{"kind": "plain", "norm": "book"}', 'e0036e34e52f1cfb'),
    ('{"kind": "plain", "norm": "none"}', '5fd87714137c70ae'),
    ('{"kind": "plain", "norm": "torch", "order": "relu_bn"}', 'e0036e34e52f1cfb'),
    ('{"dropout": 0.2, "kind": "plain", "norm": "torch"}', 'e0036e34e52f1cfb'),
    ('{"kind": "plain", "norm": "group", "norm_options": {"groups": 4}, "pool_after": [0, 3, 5], "widths": [8, 8, 8, 16, 16, 16, 32, 32]}', '4c34634a5ca0d393'),
    ('{"kind": "plain", "norm": "layer", "pool_after": [0, 3, 5], "widths": [8, 8, 8, 16, 16, 16, 32, 32]}', '4c34634a5ca0d393'),
    ('{"kind": "plain", "norm": "ghost", "norm_options": {"ghost_size": 8}, "pool_after": [0, 3, 5], "widths": [8, 8, 8, 16, 16, 16, 32, 32]}', 'aef1f41ecc7bae40'),
    ('{"kind": "plain", "norm": "renorm", "norm_options": {"warmup": 10}, "pool_after": [0, 3, 5], "widths": [8, 8, 8, 16, 16, 16, 32, 32]}', 'aef1f41ecc7bae40'),
    ('{"kind": "resnet", "norm": "torch", "width": 16}', '9198f9b6a08cbd79'),
    ('{"kind": "resnet", "norm": "torch", "width": 16, "zero_gamma": true}', '7065b4a23f93bde1'),
    # Kinds added later, recorded with the code of the study that committed their runs (sequence_norms at
    # 3d28fd7, without_bn at 66951b1)
    ('{"blocks": 3, "kind": "residual", "method": "bn", "width": 16}', '9198f9b6a08cbd79'),
    ('{"blocks": 3, "kind": "residual", "method": "skipinit", "width": 16}', '9a06178555b1aa56'),
    ('{"blocks": 3, "kind": "residual", "method": "fixup", "width": 16}', '332e9ccd4860435a'),
    ('{"blocks": 3, "groups": 4, "kind": "residual", "method": "ws_gn", "width": 16}', 'ec92ca6ea685cde5'),
    ('{"agc": 0.01, "blocks": 3, "kind": "residual", "method": "nf", "nf_alpha": 0.2, "width": 16}', 'b2f7623444c8149c'),
    ('{"agc": 0.0, "blocks": 3, "kind": "residual", "method": "nf", "nf_alpha": 0.2, "width": 16}', 'b2f7623444c8149c'),
    ('{"depth": 4, "kernel": 3, "kind": "char_conv", "norm": "bn", "vocab": 104, "width": 64}', '6c7da2ab6735c075'),
    ('{"depth": 4, "kernel": 3, "kind": "char_conv", "norm": "bn_masked", "vocab": 104, "width": 64}', '6c7da2ab6735c075'),
    ('{"depth": 4, "kernel": 3, "kind": "char_conv", "norm": "ln", "vocab": 104, "width": 64}', '9b56d48b3fe87aaa'),
    ('{"depth": 4, "kernel": 3, "kind": "char_conv", "norm": "rms", "vocab": 104, "width": 64}', 'a1604ee4d363367b'),
]


def fingerprint(spec: dict) -> str:
    arguments = json.loads(json.dumps(spec))
    torch.manual_seed(0)
    model = build_model(arguments.pop("kind"), **arguments)
    h = hashlib.sha256()
    for t in [*model.parameters(), *model.buffers()]:
        h.update(str(tuple(t.shape)).encode())
        h.update(t.detach().cpu().numpy().tobytes())
    return h.hexdigest()[:16]


# torch's vectorized normal_ (the AVX2 and AVX-512 kernels draw the same values) and its scalar
# fallback (capability DEFAULT, which the emulated generic kernels force) draw different values from
# one seed; the fingerprints hold the vectorized draws, those the committed runs were made with.
VECTORIZED = torch.backends.cpu.get_cpu_capability() != "DEFAULT"


@pytest.mark.skipif(not VECTORIZED, reason="torch's scalar normal_ draws other initial values than the vectorized "
                                         "kernels the fingerprints were recorded with")
@pytest.mark.parametrize("spec, expected", FINGERPRINTS)
def test_a_specification_builds_the_network_it_built_before(spec, expected):
    assert fingerprint(json.loads(spec)) == expected


def test_the_fingerprints_cover_every_kind_and_both_forms_of_the_switch():
    specs = [json.loads(s) for s, _ in FINGERPRINTS]
    assert {s["kind"] for s in specs} == set(KINDS)
    assert any("bn" in s for s in specs) and any("norm" in s for s in specs)


def test_a_fingerprint_sees_a_different_network():
    assert fingerprint({"kind": "cnn", "widths": [4, 8], "norm": "torch"}) != \
        fingerprint({"kind": "cnn", "widths": [4, 8], "norm": "none"})  # conv biases appear


@pytest.mark.parametrize("bn, norm", [(True, "torch"), (False, "none")])
def test_the_earlier_bn_switch_becomes_norm(bn, norm):
    spec = {"kind": "cnn", "bn": bn, "widths": [4, 8]}
    assert upgrade_arguments(spec) == {"kind": "cnn", "norm": norm, "widths": [4, 8]}
    assert spec["bn"] is bn  # the input is left as it was
    torch.manual_seed(0)
    a = build_model("cnn", bn=bn, widths=[4, 8])
    torch.manual_seed(0)
    b = build_model("cnn", norm=norm, widths=[4, 8])
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))


def test_the_converter_refuses_both_switches_and_a_non_boolean():
    with pytest.raises(ValueError, match="not both"):
        upgrade_arguments({"bn": True, "norm": "torch"})
    with pytest.raises(TypeError):
        upgrade_arguments({"bn": 1})
