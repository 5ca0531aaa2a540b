"""The shell every HTML page of the grader shares: inline styles, and a Content-Security-Policy.

Pages show what students wrote (names, code, outputs). Escaping and sanitising are the first wall; the
policy is the second: should anything slip through, the browser still runs no script and fetches
nothing, so a student's page cannot act on whoever opens it (instructor or student).
"""
from __future__ import annotations

import html
from string import Template

# default-src 'none' also blocks fetching fonts, frames, media and connections; images only inline
# (the report's plots, a notebook's outputs), styles only inline (the page's own <style>).
CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'none'; "
       "base-uri 'none'; form-action 'none'")
# First in <head>: a policy only covers what the browser parses after it.
CSP_META = f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'

# Inline, so an installed package needs no data file for it; one look for feedback and the report.
PAGE = Template("""<!DOCTYPE html>
<html lang="$lang">
<head>
<meta charset="utf-8">
$csp
$head_extra<meta name="viewport" content="width=device-width, initial-scale=1">
<title>$title</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; margin: 2em auto;
       max-width: 1100px; padding: 0 1em; color: #202124; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: .2em; } h2 { font-size: 1.25em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: .6em 0; } th, td { padding: 4px 10px; text-align: left; vertical-align: top; }
th { background: #f1f3f4; } tr + tr td { border-top: 1px solid #eee; }
tr.pass { background: #e6f4ea; } tr.partial { background: #fff4e5; } tr.fail { background: #fdecea; }
tr.hidden { background: #f1f3f4; font-style: italic; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.grid { display: flex; flex-wrap: wrap; gap: 1em; } .grid figure { margin: 0; }
.muted { color: #5f6368; } img { max-width: 100%; }
pre { background: #f8f9fa; padding: .5em; overflow-x: auto; }
</style>
</head>
<body>
$body
</body>
</html>
""")


def html_page(title: str, body: str, lang: str, head_extra: str = "") -> str:
    """One self-contained page (styles inline) around ``body``; ``title`` is plain text, ``head_extra``
    trusted markup for <head>."""
    return PAGE.substitute(title=html.escape(title), body=body, lang=html.escape(lang), csp=CSP_META,
                           head_extra=head_extra + "\n" if head_extra else "")
