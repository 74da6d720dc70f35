"""CPU training restarts itself with tcmalloc, which stops XLA's per-call buffers being page-faulted anew."""

import json
import os
import subprocess
import sys

import pytest

from pianojax import allocator

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Restarts itself as training does, then counts the page faults of calls that each need 64 MB of fresh buffers.
SCRIPT = """
import json, resource, sys
sys.path.insert(0, {root!r})
from pianojax import allocator
allocator.use_tcmalloc()
import jax, jax.numpy as jnp
x = jnp.ones((2048, 8192))
f = jax.jit(lambda x: jnp.sin(x) * 2 + 1)
for _ in range(4):  # (the allocator's first calls grow its heap)
  f(x).block_until_ready()
faults = []
for _ in range(9):
  before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
  f(x).block_until_ready()
  faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
# the median call: tcmalloc now and then grows its heap once more (one call in ~10 faults its 64 MB in)
faults = sorted(faults)[len(faults) // 2]
print(json.dumps({{"allocator": allocator.active(), "faults_per_call": faults, "pages": x.size * 4 // 4096}}))
"""


def run_script(tmp_path, **env):
  path = tmp_path / "calls.py"
  path.write_text(SCRIPT.format(root=ROOT))
  environ = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", allocator.ENV)} | env
  done = subprocess.run(
    [sys.executable, str(path)], check=False, capture_output=True, text=True, env=environ, timeout=120
  )
  assert done.returncode == 0, done.stderr[-2000:]
  return json.loads(done.stdout.strip().splitlines()[-1])


def test_restart_command(tmp_path):
  script = str(tmp_path / "x.py")
  open(script, "w").close()
  assert allocator.restart_command({allocator.ENV: "system"}, [script]) is None
  assert allocator.restart_command({"LD_PRELOAD": "/lib/libtcmalloc.so.4"}, [script]) is None
  assert allocator.restart_command({}, ["-c"]) is None  # nothing to run again
  library = allocator.tcmalloc_library()
  command = allocator.restart_command({"LD_PRELOAD": "libother.so", "HOME": "/h"}, [script, "--a=1"])
  if library is None:
    assert command is None
    return
  argv, environ = command
  assert argv == [sys.executable, script, "--a=1"]
  assert environ["LD_PRELOAD"] == f"{library} libother.so" and environ["HOME"] == "/h"
  assert environ[allocator.ENV] == "system"  # the restarted process does not restart again


@pytest.mark.skipif(allocator.tcmalloc_library() is None, reason="tcmalloc is not installed (scripts/setup.sh)")
def test_tcmalloc_reuses_the_buffers_glibc_faults_in_again(tmp_path):
  fast = run_script(tmp_path)
  plain = run_script(tmp_path, **{allocator.ENV: "system"})
  assert fast["allocator"] == "tcmalloc" and plain["allocator"] == "system"
  # glibc: every call's 64 MB output and temporaries come from fresh pages; tcmalloc: from the last call's
  assert plain["faults_per_call"] >= plain["pages"]
  assert fast["faults_per_call"] < plain["pages"] / 100
