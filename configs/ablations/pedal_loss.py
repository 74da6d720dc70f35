"""The sustain-pedal loss's weight, and what it does to the shared network (session 12's diagnosis).

The working sweep's baseline (configs/ablations/working.py) reached 15% onset F1 at 1,200 steps where the first
sweep's same recipe had reached 57%; the difference was the key-release and pedal heads (model.pedal), added since,
and their loss weights. These rows, at 1,200 steps, one seed, 8 test clips per set:

  python launch.py --mode=sweep --config=configs/ablations/pedal_loss.py --config.data.synth.midi_dir=../shared/midi \
    --workdir=outputs/sweeps/pedal_loss
"""

from configs.ablations import working

VARIANTS = (
  "pedal_half: loss.pedal_weight=0.5",  # configs/default.py's weight until 2026-12-05
  "no_pedal_heads: model.pedal=False",
  "pedal_untrained: loss.pedal_weight=0.0",  # the heads there, their loss off (the key-release heads still train)
  "pedal_per_key: loss.pedal_weight=0.0057",  # 0.5 / 88: what configs/default.py has now
)


def get_config():
  config = working.get_config()
  config.sweep.variants = VARIANTS
  config.train.steps = 1200
  config.sweep.seeds = 1
  config.sweep.eval_max_records = 8
  return config
