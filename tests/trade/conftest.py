"""The trade tests' real server: the web tests' fixtures, reused."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent / "web"))

from web_support import make_server, server  # noqa: E402, F401 (fixtures)
