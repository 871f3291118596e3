"""The trade tests' servers: the web tests' real app on a real socket (their helpers in
``tests/web/web_support.py`` are reused)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent / "web"))

from web_support import make_server, server  # noqa: E402, F401 (fixtures)
