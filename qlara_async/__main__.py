"""``python -m qlara_async``: the ``qlara`` command line (needs the ``cli`` extra)."""

from __future__ import annotations

import sys


def _main() -> None:
    try:
        from .cli import main
    except ImportError as exc:  # typer or rich missing: say how to get them, no traceback
        sys.stderr.write(
            f"error: the command line needs the cli extra ({exc.name} is missing):"
            " pip install 'qlara-async[cli]'\n"
        )
        raise SystemExit(1) from None
    main()


if __name__ == "__main__":
    _main()
