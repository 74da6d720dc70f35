"""The one exception family a user sees: `launch.py` prints its message on one line and exits 1."""


class UserError(Exception):
  """Bad input or settings that a user can fix (a file, a flag, a checkpoint)."""
