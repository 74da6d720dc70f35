"""The shipped model and the example, as data files under <prefix>/share/pianojax (pianojax.paths finds them); the
rest of the package is described in pyproject.toml."""

import os

from setuptools import setup


def data_files(*folders):
  found = {}
  for folder in folders:
    for root, _, files in os.walk(folder):
      if files:
        found[os.path.join("share", "pianojax", root)] = sorted(os.path.join(root, f) for f in files)
  return sorted(found.items())


setup(data_files=data_files("models", "examples"))
