"""The research questions at a working budget: a baseline that transcribes, intervals on every row, confounds apart.

The first sweep (configs/ablations/all.py, docs/ABLATIONS.md) asked every question at a budget where its baseline
reached 15% onset F1. This one starts from where that sweep's answers led, the shipped model's recipe on the small
ablation model (203-bin log-frequency input, the regression objective, no spectrogram masking: 56.9% there), and
trains each row twice as long (`STEPS` steps of 4 x 2.56 s), so the baseline reaches 60% on the held-out piano.
Every row states its training compute (GFLOP and minutes). Three seeds for the baseline and for each row within
twice their spread of it (`sweep.seeds`, `sweep.reseed_within`); intervals over test clips and seeds
(pianojax.stats). Run (resumable, row by row; `--variants=a,b` for some):

  python launch.py --mode=sweep --config=configs/ablations/working.py --config.data.synth.midi_dir=../shared/midi \
    --workdir=outputs/sweeps/working

Questions whose first answer hid a confound get rows that take it apart:
- representation at equal bin count (203: mel, linear from a shorter FFT, MFCC with and without its DCT
  truncation) and, at their natural sizes, 128 mel bands and the linear spectrogram (1,021 bins), each at equal
  steps and at equal compute (training GFLOP: 3 x the forward FLOPs x batch x steps);
- the band at equal bin count (the piano's band up to C8 against up to 8 kHz, 203 bins each; mel over 0-8 kHz
  against 27.5 Hz-8 kHz);
- segment length at equal audio per step (batch x frames held at 512 frames);
- the objective at this budget (and the hybrid of regression's onsets with classification's ends); per-beat
  framing, scored also at beat resolution (`beat onset F1`: a note counts by its pitch and the beat it starts in,
  metrics.beat_metrics), where per-beat output can be right, and where a per-frame model can be compared with it
  on the same terms;
- note ends: without the key-release and pedal heads, and with the note-end branch;
- device synthesis (data.source=device) with its variety on and off, against the rendered datasets, all evaluated
  on the held-out piano. (Two stages against one on mixtures: configs/ablations/two_stage.py, its own sweep.)
Where a question's reference is another row (variety on against off, MFCC with against without truncation, ...),
`sweep.pairs` compares the two rows directly.
"""

from configs.ablations import base

STEPS = 2400
HALF = STEPS // 2
MEL_203 = "frontend.representation=mel frontend.n_mels=203"

VARIANTS = (
  "baseline:",
  # Representation, at the baseline's 203 bins.
  f"mel_203: {MEL_203}",
  "linear_203: frontend.representation=linear frontend.n_fft=406 frontend.win_length=406",
  f"mfcc_40: {MEL_203} frontend.representation=mfcc frontend.n_mfcc=40",
  f"mfcc_203: {MEL_203} frontend.representation=mfcc frontend.n_mfcc=203",
  # ... and at their usual sizes.
  "mel_128: frontend.representation=mel frontend.n_mels=128",
  # ... and the first sweep's 128 mel bands at the baseline's compute (6,473 -> 9,750 GFLOP: 1.5x the steps).
  "mel_128_equal_compute: frontend.representation=mel frontend.n_mels=128 train.steps=3615",
  "logfreq_24: frontend.bins_per_octave=24",
  # Band, at equal bin count.
  "band_c8: frontend.harmonic_headroom=1.0 frontend.bins_per_octave=46",
  f"mel_203_full: {MEL_203} frontend.band=full",
  # Framing.
  "frame_32ms: frontend.hop_length=512 data.segment_frames=80 inference.segment_hop_frames=40",
  "beat: frontend.framing=beat",
  # Segment length at equal audio per step, and overlap at inference.
  "seg64: data.segment_frames=64 inference.segment_hop_frames=32 train.batch_size=8",
  "seg256: data.segment_frames=256 inference.segment_hop_frames=128 train.batch_size=2",
  "hop_none: inference.segment_hop_frames=128",
  # Objective.
  "classification: objective=classification",
  # ... and regression's onset triangles with classification's end events (the two rows above each won one side).
  "hybrid: objective=hybrid",
  "hybrid_end_branch: objective=hybrid model.end_context=True",
  # Note ends.
  "no_pedal_heads: model.pedal=False",
  "end_branch: model.end_context=True",
  "end_branch_equal_compute: model.end_context=True train.steps=2065",  # 11,331 -> the baseline's 9,750 GFLOP
  # Curriculum: clean notes and chords first, then everything (same total steps).
  f"pretrain_clean: data.train=notes,chords data.train_weights=1,2 train.steps={HALF} | train.steps={HALF}",
  # Training material and augmentation.
  "no_mixtures: data.train=notes,chords,others,performances data.train_weights=1,2,1,4 data.augment.noise_prob=0.0",
  "spec_mask: data.augment.spec_time_masks=2 data.augment.spec_freq_masks=2",
  "no_noise: data.augment.noise_prob=0.0",
  "no_pitch_shift: data.augment.pitch_shift=0",
  "no_augment: data.augment.gain_db=0.0 data.augment.noise_prob=0.0 data.augment.pitch_shift=0 "
  "data.augment.detune_cents=0.0 data.augment.mixup_prob=0.0",
  # Training audio synthesised on the device (sample banks of the same four training pianos, real performances and
  # other instruments) instead of the rendered datasets: with its variety (rooms, tunings, dampers, EQ) and without.
  "device: data.source=device",
  "device_plain: data.source=device data.device.variety_on=False",
  # The linear spectrogram at its natural 1,021 bins (4.75x the compute per step): at the baseline's compute
  # (505 steps), then at its steps (last: the slowest row).
  "linear_equal_compute: frontend.representation=linear train.steps=505",
  "linear: frontend.representation=linear",
)


def get_config():
  config = base.get_config(VARIANTS)
  config.frontend.representation = "logfreq"
  config.frontend.bins_per_octave = 36
  config.objective = "regression"
  config.data.augment.spec_time_masks = 0
  config.data.augment.spec_freq_masks = 0
  config.train.steps = STEPS
  config.train.checkpoint_every = 600
  config.sweep.eval_max_records = 16  # every test clip (16 per set, 48 in all): the intervals are over clips
  config.sweep.seeds = 3
  config.sweep.reseed_within = 2.0
  # Questions whose reference is another row than the baseline: "a - b: question", paired over clips.
  config.sweep.pairs = (
    "mfcc_203 - mel_203: the cepstral axis (all 203 coefficients: a rotation of the same 203 mel bands)",
    "mfcc_40 - mfcc_203: MFCC's truncation (40 of 203 coefficients)",
    "linear_equal_compute - linear_203: the linear spectrogram's 1,021 bins against 203, at equal compute",
    "mel_203_full - mel_203: mel from 0 Hz against from 27.5 Hz (203 bands each)",
    "device - device_plain: device synthesis, its variety (rooms, tunings, dampers, EQ) on against off",
    "hybrid - classification: regression's onset triangles on classification's end events",
    "hybrid_end_branch - end_branch: the hybrid objective with the note-end branch, against the branch alone",
    "seg256 - seg64: 5.12 s segments against 1.28 s, at equal audio per step",
  )
  config.sweep.beat_metrics = True  # per-beat framing scored where it can be right: onsets at beat resolution
  # Every finished row is kept here (committed): the sweep resumes from it on a fresh machine, and its report is
  # rebuilt from it without training.
  config.sweep.archive = "docs/ablations/working"
  return config
