"""The SoundFonts we render with, found on disk by name (Debian packages, pretty_midi's bundled one).

Each name is one distinct piano (plus the other GM instruments of that bank). Splits can hold
a piano out of training by name: the default holds out MuseScore General's grand for testing.
A name may also be a sample bank (`SAMPLE_BANKS`, e.g. "salamander", a recorded Yamaha grand
played by synth/sampler.py): the most realistic piano we have, held out for evaluation.
"""

from __future__ import annotations

import os

from pianojax.errors import UserError

# name -> candidate paths (first that exists wins). Install with scripts/setup.sh.
KNOWN = {
  "fluidr3": ("/usr/share/sounds/sf2/FluidR3_GM.sf2",),
  "fluidr3mono": ("/usr/share/sounds/sf3/FluidR3Mono_GM.sf3", "/usr/share/fluidr3mono-gm-soundfont/FluidR3Mono_GM.sf3"),
  "musescore": ("/usr/share/sounds/sf3/MuseScore_General_Full.sf3", "/usr/share/sounds/sf3/MuseScore_General.sf3"),
  "timgm6mb": ("/usr/share/sounds/sf2/TimGM6mb.sf2",),
  "csound": ("/usr/share/sounds/sf2/sf_GMbank.sf2", "/usr/share/samples/sf_GMbank.sf2"),
}


# name -> the Debian package that installs it (scripts/setup.sh installs them all).
PACKAGES = {
  "fluidr3": "fluid-soundfont-gm",
  "fluidr3mono": "fluidr3mono-gm-soundfont",
  "musescore": "musescore-general-soundfont",
  "timgm6mb": "timgm6mb-soundfont",
  "csound": "csound-soundfont",
}

# Sample banks (folders of recorded notes, played by synth/sampler.py), fetched by their script.
SAMPLE_BANKS = {"salamander": "~/.cache/pianojax/salamander"}
# What plays the other instruments of a mixture when the piano comes from a sample bank.
SAMPLE_BANK_GM_FALLBACK = "musescore"


def sample_bank(name: str) -> str | None:
  """The folder of sample bank `name` (a SAMPLE_BANKS name or a folder), or None for a SoundFont."""
  if name in SAMPLE_BANKS:
    return os.path.expanduser(SAMPLE_BANKS[name])
  return name if os.path.isdir(name) else None


def _bundled_timgm6mb() -> str | None:
  try:
    import pretty_midi
  except ImportError:
    return None
  path = os.path.join(os.path.dirname(pretty_midi.__file__), "TimGM6mb.sf2")
  return path if os.path.isfile(path) else None


def find(name: str) -> str:
  """Path of SoundFont `name` (a KNOWN name, or a path to any .sf2/.sf3 file)."""
  if os.path.isfile(name):
    return name
  candidates = list(KNOWN.get(name, ()))
  if name == "timgm6mb":
    candidates.append(_bundled_timgm6mb() or "")
  for path in candidates:
    if path and os.path.isfile(path):
      return path
  if name not in KNOWN:
    raise UserError(
      f"unknown SoundFont {name!r}: use one of {sorted(KNOWN)}, a path to a .sf2/.sf3 file, "
      f"or a sample bank ({', '.join(sorted(SAMPLE_BANKS))}: scripts/fetch_salamander.sh, or a folder of samples)"
    )
  raise UserError(
    f"SoundFont {name!r} is not installed: install the Debian package {PACKAGES[name]} (scripts/setup.sh does)"
  )


def available() -> list[str]:
  """The KNOWN SoundFonts present on this machine (sample banks not included)."""
  out = []
  for name in KNOWN:
    try:
      find(name)
      out.append(name)
    except UserError:
      pass
  return out


def check_installed() -> int:
  """Prints one line per SoundFont that configs name but this machine lacks (with its package); the count."""
  missing = [name for name in KNOWN if name not in available()]
  for name in missing:
    print(f"setup: SoundFont {name!r} is missing: install the Debian package {PACKAGES[name]}")
  return len(missing)
