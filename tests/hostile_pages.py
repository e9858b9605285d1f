"""A stored HTML page that probes its sandbox: its script reports what it could reach of the page showing it."""

from __future__ import annotations


def probing_page(heading: str, *, title: str, mark: str) -> str:
    """A page whose script writes ``mark`` on the parent if it can, and reports each attempt in ``#probe``."""
    return f"""<!doctype html>
<html><head><title>{title}</title></head>
<body>
<h1 id="known">{heading}</h1>
<p id="probe">script did not run</p>
<script>
var out = [];
try {{ window.parent.document.body.setAttribute("{mark}", "parent"); out.push("parent: WRITTEN"); }}
catch (e) {{ out.push("parent: blocked"); }}
try {{ window.top.document.title = "PWNED"; out.push("top: WRITTEN"); }}
catch (e) {{ out.push("top: blocked"); }}
try {{ document.cookie = "psnb=1"; out.push(document.cookie ? "cookie: readable" : "cookie: none"); }}
catch (e) {{ out.push("cookie: blocked"); }}
document.getElementById("probe").textContent = "script ran; " + out.join("; ");
</script>
</body></html>"""
