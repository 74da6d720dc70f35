"""FluidSynth rendering: repeatable, labels as rendered."""

import numpy as np

from pianojax.synth import materials
from pianojax.synth.examples import make_example
from pianojax.synth.render import Renderer


def test_rendering_is_deterministic_and_labels_are_as_rendered():
  r1, r2 = Renderer(16000), Renderer(16000)
  mat = materials.chords(np.random.default_rng(3), 3.0)
  a, notes_a = make_example(mat, r1, "timgm6mb", np.random.default_rng(7))
  make_example(materials.mixture(np.random.default_rng(1), 2.0), r1, "timgm6mb", np.random.default_rng(1))
  b, _ = make_example(mat, r1, "timgm6mb", np.random.default_rng(7))
  c, _ = make_example(mat, r2, "timgm6mb", np.random.default_rng(7))
  assert np.abs(a.astype(int) - b).max() <= 1 and np.abs(a.astype(int) - c).max() <= 1
  step = 64 / 16000
  np.testing.assert_allclose(notes_a.onset / step, np.round(notes_a.onset / step), atol=1e-6)
