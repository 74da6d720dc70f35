"""Session 26's recipe for piano with accompaniment that plays along with it (issue #15): session 23's
accompaniment fine-tune (configs/accompaniment.py: the shipped model, whole network, 1,500 steps, half the examples
accompanied, 93 instrument banks) whose accompanied examples mostly (70%) get parts that play with the piano
instead of lines of their own: half of those parts as an ensemble part would (`generators.following`: a bass on
the lowest sounding note, held or strummed chords of the sounding pitch classes, entering at the piano's onsets),
half doubling some of its notes (`generators.doubling`, entering with them or on a note it holds), at -6 to +3 dB
against the piano instead of -12 to +3.

  python launch.py --mode=build_data --config=configs/ensembles.py --config.data.synth.midi_dir=../shared/midi
  python launch.py --mode=train --config=configs/ensembles.py --config.data.synth.midi_dir=../shared/midi \\
    --workdir=outputs/ensemble_follow

Measured in docs/ABLATIONS.md, "Ensembles (session 26)": +2.8 [+1.9, +3.7] onset F1 on the held-out ensembles
against the same fine-tune without it, nothing lost with the old mixtures, but onset+offset and frame F1 on the held-out
performances 1.5 points lower, below #12's targets. The two runs before it there: doubling alone
(`--config.data.device.others_following=0`, and at commit 572c36d without its entries on held notes, at
`others_coupled=0.5` and the old level range).

The shipped model since session 27 (docs/MODEL.md, "Session 27") is that run with its note-end branch trained again
in three stages with the onsets frozen (6,000 steps), which took the note ends back over the targets:

  ... --config.init_from=outputs/ensemble_follow --config.train.freeze=notes --config.train.steps=1000 \
    --config.optim.learning_rate=5e-4 --workdir=outputs/ensemble_follow_ends
  ... --config.init_from=outputs/ensemble_follow_ends --config.train.freeze=notes --config.train.steps=2000 \
    --config.optim.learning_rate=5e-4 --config.seed=29 --workdir=outputs/ensemble_follow_ends2
  ... --config.init_from=outputs/ensemble_follow_ends2 --config.train.freeze=notes --config.train.steps=3000 \
    --config.optim.learning_rate=3e-4 --config.seed=31 --workdir=outputs/ensemble_follow_ends3

Session 28's (docs/MODEL.md, "Session 28"): from that model, 1,500 more steps with every second batch rendered by
FluidSynth (the host's `ensembles` and `performances` of the training pianos, built first by `--mode=build_data`
with the same three data flags), then the pedal branch alone:

  ... --config.init_from=SESSION27_MODEL --config.data.device.tfds_every=2 \
    --config.data.train=ensembles,performances --config.data.train_weights=1,1 --config.seed=35 \
    --workdir=outputs/host_half
  ... --config.init_from=outputs/host_half --config.train.freeze=all_but_pedal --config.train.steps=2000 \
    --config.optim.learning_rate=3e-4 --config.seed=37 --workdir=outputs/host_half_pedal
"""

from configs import accompaniment


def get_config():
  config = accompaniment.get_config()
  dev = config.data.device
  dev.others_coupled = 0.7
  dev.others_following = 0.5
  dev.others_db = (-6.0, 3.0)
  return config
