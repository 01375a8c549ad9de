"""``make bench``: run every benchmark and write their tables to ``benchmarks/RESULTS.md``.

Each benchmark runs in its own process (one's connections and heap do not weigh on the next);
its output goes to the terminal as it comes and into RESULTS.md under the date and machine.
A benchmark that is not there (the Redis limiter's, when the ``redis`` work has not landed) or
that fails is noted in the file, and the others still run.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from _common import machine

HERE = Path(__file__).parent

# (script, arguments, whether it prints Markdown itself). Sizes keep the whole run near
# 10 minutes on a 2-core machine; each script's --help gives the full-size runs.
BENCHES: list[tuple[str, list[str], bool]] = [
    (
        "bench_throughput.py",
        ["--concurrency", "1", "64", "512", "--n1", "500", "--n", "5000", "--n512", "1500"],
        True,
    ),
    ("bench_overhead.py", ["--instructions", "--calls", "500"], True),
    ("bench_codecs.py", [], True),
    ("bench_inflight_memory.py", [], True),
    ("bench_bulk_memory.py", [], False),
    ("bench_limiter.py", ["--quick"], False),
    ("bench_redis_limiter.py", ["overhead", "--n", "3000"], False),
]


def main() -> int:
    sections = [
        "# Benchmark results\n",
        f"Written by `make bench` ({Path(__file__).name}). {machine()}\n",
        "Every figure is one run on this machine; compare the ratios (measured side by side in",
        "the same run), not the absolute numbers, across machines or runs.\n",
    ]
    for script, args, markdown in BENCHES:
        path = HERE / script
        if not path.exists():
            sections.append(f"\n## {script}\n\nNot run: {script} is not in this tree.\n")
            continue
        print(f"\n=== {script} {' '.join(args)}", flush=True)
        start = time.monotonic()
        proc = subprocess.run(
            [sys.executable, str(path), *args], capture_output=True, text=True, cwd=HERE.parent
        )
        took = time.monotonic() - start
        print(proc.stdout, end="")
        if proc.returncode != 0:
            print(proc.stderr[-3000:], file=sys.stderr)
        out = proc.stdout.strip()
        if not markdown:
            out = f"## {script}\n\n```\n{out}\n```"
        sections.append(
            f"\n{out}\n\n_`python benchmarks/{script} {' '.join(args)}`: {took:.0f} s"
            + ("" if proc.returncode == 0 else f", FAILED (exit {proc.returncode})")
            + "_\n"
        )
    (HERE / "RESULTS.md").write_text("\n".join(sections))
    print(f"\nwrote {HERE / 'RESULTS.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
