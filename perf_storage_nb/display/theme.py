"""The one palette: tones and surfaces mapped to JupyterLab's CSS variables, with fallbacks for other hosts.

JupyterLab's theme variables change with the theme (the state colours are 700 shades in the light theme and
brighter 500 shades in the dark one; layout colours flip), so output styled with them follows the user's
theme. The fallbacks are for hosts without those variables (nbviewer, GitHub, a saved HTML page): tones are
mid colours, and surfaces are translucent greys that darken a light page and lighten a dark one alike.

Text is never drawn in a tone on a solid tone: badges keep the theme's own text colour over a faint tint of
the tone with a border in the tone, which reads on light and dark backgrounds (no white-on-light, no
dark-on-dark).

Untrusted notebooks: JupyterLab's sanitizer keeps inline styles but drops every declaration that holds
``var()`` or ``color-mix()`` (checked in JupyterLab 4.6). :func:`css` therefore writes surfaces, borders and
fonts twice, the plain fallback first (``background:#8882;background:var(--jp-layout-color2,#8882)``): a trusted
output takes the themed value, a sanitised one keeps the fallback. Text colours are written once: without
the variable, text inherits the theme's own colour, which always reads.
"""

from __future__ import annotations

import re
from typing import Literal

__all__ = [
    "BORDER",
    "CODE_BG",
    "CODE_FONT",
    "HEADER_BG",
    "STATUS_TONES",
    "SYNTAX",
    "TEXT",
    "TEXT_MUTED",
    "TONES",
    "Tone",
    "ZEBRA_BG",
    "css",
    "plain_fallback",
    "tint",
    "tone_of",
]

Tone = Literal["good", "bad", "warn", "info", "muted"]

#: tone -> colour (borders, tints, the odd coloured word)
TONES: dict[Tone, str] = {
    "good": "var(--jp-success-color1,#1a7f37)",
    "bad": "var(--jp-error-color1,#cf222e)",
    "warn": "var(--jp-warn-color1,#bf8700)",
    "info": "var(--jp-brand-color1,#0969da)",
    "muted": "var(--jp-ui-font-color2,#6e7781)",
}

TEXT = "var(--jp-ui-font-color1,inherit)"
TEXT_MUTED = "var(--jp-ui-font-color2,#7f7f7f)"  # mid grey: readable on white and on near-black
# Translucent fallbacks (#rgba): a grey wash that shows on a light page and on a dark one.
HEADER_BG = "var(--jp-layout-color2,#8882)"
# JupyterLab's own stripe colour for rendered tables (grey-100 light, grey-900 dark).
ZEBRA_BG = "var(--jp-rendermime-table-row-background,#8881)"
BORDER = "var(--jp-border-color2,#8886)"
CODE_BG = "var(--jp-cell-editor-background,#8881)"
CODE_FONT = "var(--jp-code-font-family,monospace)"

#: JSON tree colours: the editor's own syntax colours, so values look like code in either theme
SYNTAX: dict[str, str] = {
    "key": "var(--jp-mirror-editor-property-color,#05a)",
    "string": "var(--jp-mirror-editor-string-color,#ba2121)",
    "number": "var(--jp-mirror-editor-number-color,#080)",
    "atom": "var(--jp-mirror-editor-keyword-color,#008000)",  # true, false, null
}

#: every status word shown in a badge -> its tone (diffs, batches, session comparisons)
STATUS_TONES: dict[str, Tone] = {
    "added": "good",
    "removed": "bad",
    "changed": "warn",
    "tolerated": "muted",
    "unchanged": "muted",
    "done": "good",
    "skipped": "muted",
    "failed": "bad",
    "not_run": "warn",
    "interrupted": "warn",
    "regressed": "bad",
    "improved": "info",
    "within": "good",
    "same": "muted",
    "missing_baseline": "warn",
    "missing_current": "bad",
}


def tone_of(status: str) -> Tone:
    """The tone of a status word (``muted`` for words without one)."""
    return STATUS_TONES.get(status, "muted")


def tint(tone: Tone, percent: int = 16) -> str:
    """A translucent background of ``tone``: over white it is pale, over a dark theme it is deep."""
    # A browser without color-mix() drops the declaration: the badge keeps its border and stays readable.
    return f"color-mix(in srgb,{TONES[tone]} {percent}%,transparent)"


_VAR = re.compile(r"var\(--[a-z0-9-]+,([^()]+)\)")
_MIX = re.compile(r"^color-mix\(in srgb,(#[0-9a-f]{6}) (\d+)%,transparent\)$")


def plain_fallback(value: str) -> str | None:
    """``value`` with each ``var(--x,F)`` replaced by ``F``, a tint by ``#rrggbbaa``; None if nothing plain is left."""
    plain = _VAR.sub(lambda m: m.group(1), value)
    mix = _MIX.match(plain)
    if mix:
        plain = f"{mix.group(1)}{round(int(mix.group(2)) * 255 / 100):02x}"
    if plain == value or "var(" in plain or "(" in plain or "inherit" in plain:
        return None
    return plain


def css(prop: str, value: str) -> str:
    """``prop:value``, preceded by ``prop:<plain fallback>`` for surfaces, borders and fonts (see the module doc)."""
    fallback = None if prop == "color" else plain_fallback(value)
    return f"{prop}:{fallback};{prop}:{value}" if fallback else f"{prop}:{value}"
