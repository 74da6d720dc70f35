"""notebooks/pianojax_tour.ipynb runs top to bottom (with its training cells at a few steps) and is kept without
outputs."""

import json

import pytest

from tests.conftest import FAST_COMPILE, REPO, readme_example_onset_f1

NOTEBOOK = REPO / "notebooks" / "pianojax_tour.ipynb"


def test_the_notebook_is_stored_without_outputs():
  cells = json.loads(NOTEBOOK.read_text())["cells"]
  code = [c for c in cells if c["cell_type"] == "code"]
  assert code and all(not c["outputs"] and c["execution_count"] is None for c in code)


def test_the_notebook_runs_top_to_bottom(tmp_path, monkeypatch):
  from pianojax.synth import soundfonts
  from tests.conftest import require

  require("musescore" in soundfonts.available(), "the notebook plays MuseScore General's grand")
  nbclient = pytest.importorskip("nbclient")
  import nbformat

  monkeypatch.setenv("PIANOJAX_TOUR_STEPS", "8")
  monkeypatch.setenv("PIANOJAX_TOUR_CLIPS", "4")
  monkeypatch.setenv("XLA_FLAGS", FAST_COMPILE)  # (one CPU device, as a user has; the tests force 8)
  monkeypatch.setenv("PIANOJAX_TOUR_DIR", str(tmp_path))
  nb = nbformat.read(NOTEBOOK, as_version=4)
  nbclient.NotebookClient(
    nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}
  ).execute()
  text = "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
  images = sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs)
  # the shipped model on the example, as the demo prints it and the README quotes it
  assert f"onset F1 {readme_example_onset_f1()}%" in text
  assert "| mel |" in text and "| mfcc |" in text  # the ablation's table
  assert images >= 3  # the frontend views, the piano roll, the loss curve
  assert (tmp_path / "run" / "metrics.jsonl").is_file() and (tmp_path / "prelude_c_roll.png").is_file()
