"""Session 23's recipe for piano with accompaniment (issue #15): the shipped model (models/default) fine-tuned whole
on device synthesis whose other instruments come from every GM program the rendered mixtures draw from
(synth/materials.py's OTHER_PROGRAMS, 31) played by three SoundFonts (FluidR3, TimGM6mb, the Csound GM bank)
instead of eight programs from FluidR3 alone. The held-out piano's SoundFont (MuseScore General) stays out of
training entirely, accompaniment included, so its mixtures stay a test of instruments never heard.

  python launch.py --mode=build_data --config=configs/accompaniment.py --config.data.synth.midi_dir=../shared/midi
  python launch.py --mode=train --config=configs/accompaniment.py --config.data.synth.midi_dir=../shared/midi \\
    --workdir=outputs/accompaniment

Measured in docs/ABLATIONS.md, "Accompaniment (session 23)": no change with accompaniment (-1.0 [-2.7, +0.7] onset
F1), so it is not shipped. Session 24 ran it again as the control of the same recipe with spectral subtraction
(`--config.frontend.denoise=2 --config.frontend.denoise_quantile=0.3`), which lost 2.0 [-4.0, -0.2] onset F1 with
accompaniment (docs/ABLATIONS.md, "The gap split in two"). Session 25 ran it with the accompaniment's onsets as
hard negatives of the piano onset head (`--config.loss.others_negative_weight=5`), with and without the other
instruments' own EQ (`--config.data.device.others_eq=1.0`), and with the EQ alone (docs/ABLATIONS.md, "Where the
false onsets sit"). A control for the banks (same steps, seed and mixture share, the old eight FluidR3 programs;
not run):
  ... --config.data.device.others_sources=fluidr3 \\
    --config.data.device.others="(('guitar',25),('bass',33),('strings',48),('brass',61),('reed',65),('pipe',73),('organ',19),('synth',81))"
"""

from configs import note_ends
from pianojax.synth.materials import OTHER_PROGRAMS


def get_config():
  config = note_ends.get_config()
  config.objective = "hybrid"
  config.model.velocity_level = True
  config.model.pedal_context = True  # the shipped network, so init_from restores it whole
  config.init_from = "models/default"
  config.train.freeze = "none"
  config.train.steps = 1500
  config.optim.learning_rate = 3e-4
  config.loss.pedalled_releases = False
  config.seed = 23
  dev = config.data.device
  dev.others_sources = ("fluidr3", "timgm6mb", "csound")
  dev.others = tuple((family, program) for family, programs in OTHER_PROGRAMS.items() for program in programs)
  dev.others_prob = 0.5  # as the shipped model's device fine-tuning: half the examples accompanied
  return config
