"""pianojax entry point: `python launch.py --mode=MODE --config=configs/x.py [--config.a.b=v]`.

`--help` lists the modes and flags; the code is pianojax/command.py, which the installed
`pianojax` command shares.
"""

from pianojax import command

if __name__ == "__main__":
  command.launch()
