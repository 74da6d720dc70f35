"""What a user waits for: `launch.py --mode=transcribe` timed as a whole process, next to Basic Pitch.

  python benchmarks/transcribe.py [--checkpoint=models/default] [--audio_dir=DIR] [--repeats=3] [--hour]

Two sets, as the user's own files would be (44.1 kHz WAV): a folder of ten 30 s piano recordings and one 3-minute
file, rendered once with FluidSynth from the real performances under ../shared/midi (random piano sequences where
that folder is absent), played by MuseScore General's grand, a piano the shipped model never heard. Each command
runs as a separate process: start-up, imports, model load and compile, audio decoding, inference, decoding and
writing all count. Per set:

- the first run on a machine (empty JAX and inference caches: a fresh cache folder) and the median of `--repeats`
  runs after it (warm caches, as every later run on that machine);
- the split the command reports (model = load + compile; files = read, network, decode, write; writing alone) and
  start-up (the rest: interpreter, imports, flags), peak memory (the process's max RSS), onset F1 against the MIDI
  the audio was rendered from;
- Basic Pitch on the same files in the same minutes, runs alternating with ours, where it is installed
  (`scripts/compare_basic_pitch.sh` makes .venv-basic-pitch; or --basic_pitch=PYTHON), and the ratio.

`--hour` adds one hour of audio (the 3-minute file looped) for peak memory. Prints one JSON line last.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np
from absl import app, flags

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_CHECKPOINT = flags.DEFINE_string("checkpoint", None, "The model (default: the shipped one, models/default).")
_AUDIO = flags.DEFINE_string("audio_dir", None, "Where the test audio is (made there if missing; default: a temp dir).")
_REPEATS = flags.DEFINE_integer("repeats", 3, "Warm runs per system and set; the median is reported.")
_BASIC_PITCH = flags.DEFINE_string(
  "basic_pitch", os.path.join(REPO, ".venv-basic-pitch", "bin", "python"), "Basic Pitch's Python (skipped if absent)."
)
_MIDI = flags.DEFINE_string("midi_dir", os.path.join(os.path.dirname(REPO), "shared", "midi"), "Performances.")
_HOUR = flags.DEFINE_bool("hour", False, "Also time one hour of audio (peak memory).")
_MAKE_AUDIO = flags.DEFINE_string("make_audio", None, "(internal) render the sets into this folder and exit.")

RATE = 44100
SUMMARY = re.compile(r"model ([\d.]+) s, files ([\d.]+) s: .*writing ([\d.]+)")


def make_audio(folder: str, midi_dir: str) -> dict[str, str]:
  """{set name: input path}: ten 30 s files in `short/`, one 180 s file in `long/` (WAV + the MIDI played)."""
  from pianojax import audio_io, notes
  from pianojax.synth import effects, materials
  from pianojax.synth.render import Renderer

  sets = {"short": os.path.join(folder, "short"), "long": os.path.join(folder, "long")}
  if all(os.path.isdir(p) and os.listdir(p) for p in sets.values()):
    return sets
  rng = np.random.default_rng(0)
  performances = sorted(
    os.path.join(d, n) for d, _, names in os.walk(midi_dir) for n in names if n.lower().endswith((".mid", ".midi"))
  )
  renderer = Renderer(RATE)
  for i in range(11):
    seconds = 30.0 if i < 10 else 180.0
    if performances:
      score = notes.read_midi(performances[rng.integers(len(performances))]).clip(0.0, seconds)
    else:
      score = materials.sequences(rng, seconds).piano
    audio, (played,) = renderer.render([(score, 0)], "musescore", seconds)
    base = os.path.join(sets["short" if i < 10 else "long"], f"piece{i:02d}")
    os.makedirs(os.path.dirname(base), exist_ok=True)
    audio_io.write_wav(base + ".wav", effects.normalize_peak(audio, 10 ** (-3 / 20)), RATE)
    notes.write_midi(played, base + ".mid")
  renderer.close()
  return sets


def make_hour(folder: str, long_wav: str) -> str:
  import soundfile

  path = os.path.join(folder, "hour", "hour.wav")
  if not os.path.exists(path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    audio, rate = soundfile.read(long_wav, dtype="int16")
    with soundfile.SoundFile(path, "w", rate, 1, "PCM_16") as f:
      for _ in range(int(np.ceil(3600 * rate / len(audio)))):
        f.write(audio)
  return os.path.dirname(path)


def run(cmd: list[str], env: dict) -> tuple[float, float, str]:
  """(wall seconds, peak RSS in GB, stdout) of one process; exits naming the command if it fails."""
  with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=out, stderr=err, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    out.seek(0)
    err.seek(0)
    if proc.returncode != 0:
      sys.exit(f"error: {' '.join(cmd)} exited {proc.returncode}: {err.read()[-1000:]}")
    return wall, usage.ru_maxrss / 1024**2, out.read()


def ours(inputs: str, output: str, cache: str) -> list[str]:
  cmd = [sys.executable, "launch.py", "--mode=transcribe", f"--input={inputs}", f"--output={output}"]
  return cmd + ([f"--checkpoint={_CHECKPOINT.value}"] if _CHECKPOINT.value else [])


def onset_f1(inputs: str, output: str) -> float:
  """Mean onset F1 (%) of the MIDI files in `output` against the eval folder `inputs`, as `--mode=eval` scores."""
  cmd = [sys.executable, "benchmarks/score_midi.py", f"--reference={inputs}", f"--estimates={output}"]
  done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=True)
  return json.loads(done.stdout.strip().splitlines()[-1])["onset_f1"]


def audio_seconds(inputs: str) -> float:
  import soundfile

  return sum(soundfile.info(os.path.join(inputs, n)).duration for n in os.listdir(inputs) if n.endswith(".wav"))


def main(argv):
  del argv
  if _MAKE_AUDIO.value:
    sets = make_audio(_MAKE_AUDIO.value, _MIDI.value)
    if _HOUR.value:
      make_hour(_MAKE_AUDIO.value, os.path.join(sets["long"], "piece10.wav"))
    return
  work = tempfile.mkdtemp(prefix="pianojax-bench-")
  try:
    # Rendering runs in its own process: this one stays small, because a child's peak RSS as Linux reports it
    # starts from its parent's size at the fork.
    audio = _AUDIO.value or os.path.join(work, "audio")
    render = [sys.executable, "benchmarks/transcribe.py", f"--make_audio={audio}", f"--midi_dir={_MIDI.value}"]
    subprocess.run(render + (["--hour"] if _HOUR.value else []), cwd=REPO, check=True)
    sets = {"short": os.path.join(audio, "short"), "long": os.path.join(audio, "long")}
    if _HOUR.value:
      sets["hour"] = os.path.join(audio, "hour")
    have_bp = os.path.exists(_BASIC_PITCH.value)
    cache = os.path.join(work, "cache")  # this run's caches: the first run below is a first run on a new machine
    env = {**os.environ, "JAX_COMPILATION_CACHE_DIR": cache}
    result = {"benchmark": "transcribe_command", "model": _CHECKPOINT.value or "models/default", "cpus": os.cpu_count()}
    for name, inputs in sets.items():
      seconds = audio_seconds(inputs)
      if "first_run_s" not in result:  # (empty caches: the machine's first run; later sets find them warm)
        result["first_run_s"] = round(run(ours(inputs, os.path.join(work, f"first-{name}"), cache), env)[0], 2)
        print(f"first run on a new machine ({name}): {result['first_run_s']:.2f} s", flush=True)
      ours_runs, bp_runs, splits, rss = [], [], [], []
      for i in range(_REPEATS.value if name != "hour" else 1):
        out = os.path.join(work, f"ours-{name}-{i}")
        wall, peak, stdout = run(ours(inputs, out, cache), env)
        model_s, files_s, writing_s = map(float, SUMMARY.search(stdout).groups())
        ours_runs.append(wall)
        splits.append((wall - model_s - files_s, model_s, files_s - writing_s, writing_s))
        rss.append(peak)
        if have_bp and name != "hour":
          bp_out = os.path.join(work, f"bp-{name}-{i}")
          bp_cmd = [_BASIC_PITCH.value, "benchmarks/basic_pitch_transcribe.py", inputs, bp_out]
          bp_runs.append(run(bp_cmd, {**os.environ, "CUDA_VISIBLE_DEVICES": ""})[0])
      median = float(np.median(ours_runs))
      startup, model, per_file, writing = np.median(np.array(splits), axis=0)
      row = {
        "audio_s": round(seconds, 1),
        "s": round(median, 2),
        "x_realtime": round(seconds / median, 1),
        "startup_s": round(float(startup), 2),
        "model_s": round(float(model), 2),
        "files_s": round(float(per_file), 2),
        "writing_s": round(float(writing), 2),
        "peak_rss_gb": round(max(rss), 3),
      }
      line = (
        f"{name} ({seconds:.0f} s of audio): pianojax {median:.2f} s (start-up {startup:.2f}, model {model:.2f},"
        f" files {per_file:.2f}, writing {writing:.2f}), peak RSS {max(rss):.2f} GB"
      )
      if name != "hour":
        row["onset_f1"] = onset_f1(inputs, os.path.join(work, f"ours-{name}-0"))
        line += f", onset F1 {row['onset_f1']:.1f}"
      if bp_runs:
        bp = float(np.median(bp_runs))
        row.update(
          basic_pitch_s=round(bp, 2),
          basic_pitch_onset_f1=onset_f1(inputs, os.path.join(work, f"bp-{name}-0")),
          speedup_vs_basic_pitch=round(bp / median, 2),
        )
        line += f"; Basic Pitch {bp:.2f} s (onset F1 {row['basic_pitch_onset_f1']:.1f}): {bp / median:.2f}x faster"
      print(line, flush=True)
      result.update({f"{name}_{k}": v for k, v in row.items()})
    print(json.dumps(result))
  finally:
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
  app.run(main)
