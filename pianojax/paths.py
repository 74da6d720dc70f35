"""Where the files shipped with pianojax are: the repository's own folders, or the copies `pip install` puts under
`<prefix>/share/pianojax` (the shipped model, the example). Nothing is read at import."""

from __future__ import annotations

import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def shipped(*parts: str) -> str:
  """`parts` (e.g. "models", "default") in the repository if it is there, else in the installed data, else the
  repository's path (for the error message that names it)."""
  for base in (REPO, os.path.join(sys.prefix, "share", "pianojax")):
    path = os.path.join(base, *parts)
    if os.path.exists(path):
      return path
  return os.path.join(REPO, *parts)
