"""scripts/nbtools.py execute: nbclient runs a notebook in its folder under the pinned CPU kernels."""

from __future__ import annotations

import nbformat

from tests.conftest import load_script

nbtools = load_script("nbtools")
kernels = load_script("kernels")


def test_execute_stores_outputs_computed_in_the_notebooks_folder_under_the_pinned_kernels(tmp_path, monkeypatch):
    pinned = kernels.pinned()
    for name in pinned:  # whatever the caller's environment says, the kernel gets the pinned one
        monkeypatch.setenv(name, "caller")
    folder = tmp_path / "part"
    folder.mkdir()
    (folder / "data.txt").write_text("beside the notebook")
    path = folder / "nb.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import os\n"
        f"print({sorted(pinned)!r} and [os.environ.get(k) for k in {sorted(pinned)!r}])\n"
        "print(open('data.txt').read())")]
    nbformat.write(nb, path)

    nbtools.execute([path], timeout=120)

    cell = nbformat.read(path, as_version=4).cells[0]
    text = "".join(o.get("text", "") for o in cell.outputs)
    assert text.splitlines() == [repr([pinned[k] for k in sorted(pinned)]), "beside the notebook"]
    assert cell.execution_count == 1
