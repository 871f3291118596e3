"""The trade pages' texts (web/static/trade-i18n.js): both languages for every key the
pages use, and no key that redefines another page's text (addStrings would overwrite
it: the host console's "register" once read "注册账户")."""

import re
from pathlib import Path

STATIC = Path(__file__).resolve().parents[2] / "web" / "static"
PAGES = ["notices", "notice", "portal", "review"]
OTHERS = ["i18n.js", "records-i18n.js", "host.js", "room.js", "report-words.js",
          "deposit.js"]


def keys(text: str) -> list[str]:
    """The keys of the texts: one a line, or several a line (``a: "…", b: "…"``)."""
    return re.findall(r'(?:^ {4}|", )([a-z_0-9]+):', text, re.MULTILINE)


def languages(text: str) -> tuple[list[str], list[str]]:
    zh, _, en = text.partition("\n  en: {")
    return keys(zh), keys(en)


def test_the_trade_strings_come_in_both_languages_and_redefine_nothing() -> None:
    zh, en = languages((STATIC / "trade-i18n.js").read_text(encoding="utf-8"))
    assert zh and sorted(zh) == sorted(en)
    others = {k for name in OTHERS for k in keys((STATIC / name).read_text(encoding="utf-8"))}
    assert sorted(set(zh) & others) == []


def test_every_text_the_trade_pages_use_exists() -> None:
    known = set(languages((STATIC / "trade-i18n.js").read_text(encoding="utf-8"))[0])
    known |= {k for name in OTHERS for k in keys((STATIC / name).read_text(encoding="utf-8"))}
    for page in PAGES:
        for suffix in (".html", ".js"):
            text = (STATIC / f"{page}{suffix}").read_text(encoding="utf-8")
            used = set(re.findall(r'data-i18n(?:-placeholder)?="([a-z_0-9]+)"', text))
            used |= set(re.findall(r'\bt\("([a-z_0-9]+)"', text))
            used |= set(re.findall(r'key: "([a-z_0-9]+)"', text))
            assert sorted(used - known) == [], page + suffix
