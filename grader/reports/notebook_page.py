"""A student's executed notebook as an HTML page, with everything in it treated as hostile.

nbconvert's ``sanitize_html`` cleans cell and output *content*, but its templates also copy notebook
metadata into attributes, some unquoted (an image's ``width=1 onerror=...`` ran in a browser), and
their cost grows steeply with a cell's size (a 1 MB code cell: over a minute and 1.5 GB). So, before
nbconvert sees it, the notebook is rebuilt from what a page needs (sources, known outputs, numeric
image sizes), each part cut to a size cap with a visible note; after it, the HTML is re-serialised
keeping only the tags and attributes a notebook page uses. The page shell adds the CSP. Markdown (cells and
outputs) and HTML outputs are rendered as a reader sees them: nbconvert's own bleaching, which escaped
every heading and paragraph as text, is left out, and the scrubber's allow-list of tags and attributes
is the one filter. No host path reaches the page: the injected parameters show neutral values and the
grader's folders (out, work, data) are replaced by a neutral name wherever they appear.

This module renders; ``render_worker`` runs it in a child process under a time and a memory limit.
"""
from __future__ import annotations

import html
import re
from functools import lru_cache
from html.parser import HTMLParser
from importlib.resources import files
from pathlib import Path

from markupsafe import Markup

from grader.errors import InputError
from grader.i18n import msg, render
from grader.notebook_tags import INJECTED_TAG, PAPERMILL_PARAMETERS_TAG
from grader.reports.templates import render_page

# Bumped whenever rendering changes what is safe: pages written by an older renderer are rendered again.
RENDERER_VERSION = "3"
MARK_RENDERED = f'<meta name="grader-notebook" content="rendered {RENDERER_VERSION}">'
MARK_NOT_RENDERED = f'<meta name="grader-notebook" content="not-rendered {RENDERER_VERSION}">'

KB = 1024
# Caps per part and per page. Highlighted code costs most (pygments writes ~23 bytes of markup per byte
# of dense code, ~25 s per MB to render and scrub), plain text outputs little, images nearly nothing.
SOURCE_CAP = 100 * KB        # one cell's source
TEXT_CAP = 100 * KB          # one text output (stream, text/plain, html, markdown, traceback)
IMAGE_CAP = 2048 * KB        # one image (base64 characters): a large plot is ~200 KB
PAGE_CAPS = {"source": 512 * KB, "text": 2048 * KB, "image": 8192 * KB}   # all of a kind on one page

_TEXT_TYPES = ("text/plain", "text/html", "text/markdown", "text/latex", "image/svg+xml")
_IMAGE_TYPES = ("image/png", "image/jpeg")
_BASE64 = re.compile(r"[A-Za-z0-9+/=\s]*")
_NUMBER = re.compile(r"[0-9]{1,5}(\.[0-9]{1,3})?")
_CELL_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_TAG = re.compile(r"[A-Za-z0-9_.-]{1,64}")


class _Budget:
    """What is left of each page cap, and the note a cut part gets, in the page's language."""

    def __init__(self, lang: str, hide: tuple[str, ...] = ()):
        self.left = dict(PAGE_CAPS)
        self.lang = lang
        # longest first, so a folder inside another is replaced whole; "/" alone would hide everything
        self.hide = sorted({h.rstrip("/\\") for h in hide if len(h.rstrip("/\\")) > 1}, key=len, reverse=True)
        self.folder = render(msg("notebook_grader_folder"), lang)

    def neutral(self, text: str) -> str:
        """``text`` with every folder of the grader's host replaced by a neutral name."""
        for path in self.hide:
            text = text.replace(path, self.folder)
        return text

    def fits(self, text: str, cap: int, kind: str) -> bool:
        return len(text) <= min(cap, self.left[kind])      # base64: characters are bytes

    def left_out(self, text: str) -> str:
        return render(msg("notebook_image_left_out", size=len(text) // KB), self.lang)

    def cut(self, text: str, cap: int, kind: str) -> tuple[str, str | None]:
        """``text`` within ``cap`` and what is left of its kind, and the note to show (None: whole)."""
        size = len(text.encode("utf-8", "replace"))
        allowed = max(0, min(cap, self.left[kind]))
        if size <= allowed:
            self.left[kind] -= size
            return text, None
        kept = text[:allowed]      # characters, at most ``allowed`` bytes
        self.left[kind] -= len(kept.encode("utf-8", "replace"))
        return kept, render(msg("notebook_truncated", shown=allowed // KB, total=size // KB), self.lang)


def untrusted_copy(nb, lang: str, hide: tuple[str, ...] = ()):
    """A new notebook holding only what the page shows, every part checked and capped; the folders in
    ``hide`` (the grader's own) never appear, nor any absolute path among the injected parameters."""
    # start-up: the notebook page's renderer (nbconvert) is imported in the render worker, under its memory limit
    import nbformat

    budget = _Budget(lang, tuple(hide))
    copy = nbformat.v4.new_notebook()
    # the lexer comes from here: a fixed one, not a name the student chose
    copy.metadata = {"language_info": {"name": "python", "pygments_lexer": "ipython3"}}
    copy.cells = [c for c in (_clean_cell(cell, budget) for cell in nb.get("cells", [])
                              if isinstance(cell, dict) and not _is_probe_cell(cell)) if c is not None]
    return copy


def _clean_cell(cell, budget: _Budget):
    # start-up: the notebook page's renderer (nbconvert) is imported in the render worker, under its memory limit
    import nbformat

    kind, source = cell.get("cell_type"), _text(cell.get("source", ""))
    if _is_injected_parameters(cell):
        source = _ABSOLUTE_STRING.sub(lambda m: f'"{render(msg("notebook_course_data"), budget.lang)}"', source)
    source = budget.neutral(source)
    source, note = budget.cut(source, SOURCE_CAP, "source")
    if kind == "code":
        new = nbformat.v4.new_code_cell(source + (f"\n# {note}" if note else ""))
        count = cell.get("execution_count")
        # the template prints it unescaped: an int or nothing
        new.execution_count = count if isinstance(count, int) and not isinstance(count, bool) else None
        new.outputs = [o for o in (_clean_output(out, budget) for out in cell.get("outputs", [])
                                   if isinstance(out, dict)) if o is not None]
    elif kind in ("markdown", "raw"):
        maker = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_raw_cell
        new = maker(source + (f"\n\n*{note}*" if note else ""))
    else:
        return None
    tags = cell.get("metadata", {}).get("tags", []) if isinstance(cell.get("metadata"), dict) else []
    new.metadata = {"tags": [t for t in tags if isinstance(t, str) and _TAG.fullmatch(t)]} if tags else {}
    cell_id = cell.get("id")
    new.id = cell_id if isinstance(cell_id, str) and _CELL_ID.fullmatch(cell_id) else new.id
    return new


def _clean_output(output, budget: _Budget):
    # start-up: the notebook page's renderer (nbconvert) is imported in the render worker, under its memory limit
    import nbformat

    kind = output.get("output_type")
    if kind == "stream":
        text, note = budget.cut(budget.neutral(_text(output.get("text", ""))), TEXT_CAP, "text")
        name = output.get("name") if output.get("name") in ("stdout", "stderr") else "stdout"
        return nbformat.v4.new_output("stream", name=name, text=text + (f"\n{note}\n" if note else ""))
    if kind == "error":
        lines = output.get("traceback", [])
        text, note = budget.cut(budget.neutral("\n".join(_text(line) for line in lines if isinstance(line, str))),
                                TEXT_CAP, "text")
        return nbformat.v4.new_output("error", ename=_text(output.get("ename", ""))[:200],
                                      evalue=budget.neutral(_text(output.get("evalue", "")))[:2000],
                                      traceback=[text] + ([note] if note else []))
    if kind in ("display_data", "execute_result"):
        data, metadata = _clean_data(output.get("data", {}), output.get("metadata", {}), budget)
        new = nbformat.v4.new_output(kind, data=data, metadata=metadata)
        if kind == "execute_result":
            new.execution_count = None
        return new
    return None


def _clean_data(data, metadata, budget: _Budget) -> tuple[dict, dict]:
    """Known mimetypes only; images valid base64 with numeric sizes; a note where one was cut."""
    data = data if isinstance(data, dict) else {}
    metadata = metadata if isinstance(metadata, dict) else {}
    clean, sizes = {}, {}
    for mimetype in _IMAGE_TYPES:
        value = data.get(mimetype)
        if isinstance(value, str) and _BASE64.fullmatch(value):
            if not budget.fits(value, IMAGE_CAP, "image"):     # half an image is no image: the note alone
                return {"text/plain": budget.left_out(value)}, {}
            clean[mimetype], _ = budget.cut(value, IMAGE_CAP, "image")
            sizes[mimetype] = _sizes(metadata.get(mimetype))
    for mimetype in _TEXT_TYPES:
        value = _text(data.get(mimetype)) if isinstance(data.get(mimetype), (str, list)) else None
        if value is not None:
            kept, note = budget.cut(budget.neutral(value), TEXT_CAP, "text")
            clean[mimetype] = kept + (f"\n{note}" if note else "")
    return clean, {k: v for k, v in sizes.items() if v}


def _sizes(meta) -> dict:
    """width and height only when they are plain positive numbers: the template writes them unquoted."""
    if not isinstance(meta, dict):
        return {}
    return {key: meta[key] for key in ("width", "height") if _positive_number(meta.get(key))}


def _positive_number(value) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return 0 < value < 100_000
    return isinstance(value, str) and bool(_NUMBER.fullmatch(value)) and float(value) > 0


def _text(value) -> str:
    if isinstance(value, list):       # nbformat's multi-line form
        return "".join(v for v in value if isinstance(v, str))
    return value if isinstance(value, str) else ""


# a quoted absolute path (POSIX, home, Windows drive or UNC), as papermill writes a parameter's value
_ABSOLUTE_STRING = re.compile(r"""(["'])(?:/|~|[A-Za-z]:[\\/]|\\\\)(?:(?!\1)[^\n])*\1""")


def _is_injected_parameters(cell) -> bool:
    metadata = cell.get("metadata", {})
    tags = metadata.get("tags", []) if isinstance(metadata, dict) else []
    return isinstance(tags, list) and PAPERMILL_PARAMETERS_TAG in tags


def _is_probe_cell(cell) -> bool:
    metadata = cell.get("metadata", {})
    tags = metadata.get("tags", []) if isinstance(metadata, dict) else []
    return isinstance(tags, list) and INJECTED_TAG in tags and PAPERMILL_PARAMETERS_TAG not in tags


# --- after nbconvert: keep only what a notebook page uses ---------------------------------------------
_DROP_WITH_CONTENT = {"script", "style", "iframe", "object", "applet", "frameset", "noscript", "template",
                      "noembed", "noframes", "xmp", "plaintext", "title", "textarea", "select", "svg", "math"}
_DROP_TAG = {"embed", "frame", "base", "meta", "link", "form", "input", "button", "param", "source",
             "track", "html", "head", "body", "video", "audio", "picture"}
_VOID = {"area", "br", "col", "hr", "img", "wbr"}
# every tag a notebook page may show (nbconvert's cells, rendered markdown, tables such as pandas writes);
# any other tag is dropped and its text kept
_TAGS = {"a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "col", "colgroup", "dd", "del", "details",
         "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins",
         "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "samp", "small", "span", "strong", "sub", "summary", "sup",
         "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul", "var"}
_ATTRIBUTES = {"class", "id", "alt", "title", "width", "height", "src", "href", "colspan", "rowspan", "align"}
_IMAGE_SRC = re.compile(r"data:image/(png|jpeg|gif|svg\+xml);base64,[A-Za-z0-9+/=\s]*")
_SCHEME = re.compile(r"([a-z][a-z0-9+.-]*):")


class _Scrubber(HTMLParser):
    """Re-serialises HTML: every attribute quoted and escaped, unknown attributes and active elements
    gone. What the browser parses is what this parser understood, so no attribute can hide in another."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping: str | None = None
        self.depth = 0

    def handle_starttag(self, tag, attrs):
        if self._skipped(tag, opening=True) or tag in _DROP_TAG or tag not in _TAGS:
            return
        kept = "".join(f' {name}="{html.escape(value, quote=True)}"' for name, value in attrs
                       if value is not None and _allowed(name, value))
        self.parts.append(f"<{tag}{kept}>")

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if self.skipping is None and tag in _TAGS and tag not in _VOID:
            self.parts.append(f"</{tag}>")
        elif self.skipping == tag:            # a self-closed dropped element: nothing to skip
            self._skipped(tag, opening=False)

    def handle_endtag(self, tag):
        if self._skipped(tag, opening=False) or tag in _DROP_TAG or tag in _VOID or tag not in _TAGS:
            return
        self.parts.append(f"</{tag}>")

    def handle_data(self, data):
        if self.skipping is None:
            self.parts.append(html.escape(data, quote=False))

    def _skipped(self, tag: str, opening: bool) -> bool:
        """True while inside a dropped element (counting nested ones of its kind)."""
        if self.skipping is None:
            if opening and tag in _DROP_WITH_CONTENT:
                self.skipping, self.depth = tag, 1
                return True
            return False
        if tag == self.skipping:
            self.depth += 1 if opening else -1
            if self.depth == 0:
                self.skipping = None
        return True


def _allowed(name: str, value: str) -> bool:
    if name not in _ATTRIBUTES:
        return False
    if name in ("width", "height"):
        return _positive_number(value)
    if name == "src":
        return bool(_IMAGE_SRC.fullmatch(value))
    if name == "href":
        scheme = _SCHEME.match(re.sub(r"[\x00-\x20]", "", value).lower())
        return scheme is None or scheme.group(1) in ("http", "https", "mailto")
    return True


def scrub_html(text: str) -> str:
    scrubber = _Scrubber()
    scrubber.feed(text)
    scrubber.close()
    return "".join(scrubber.parts)


# --- the page -----------------------------------------------------------------------------------------
def render_body(nb, lang: str, hide: tuple[str, ...] = ()) -> str:
    """The notebook's HTML body: checked and capped before nbconvert, scrubbed after it."""
    body, _ = _exporter().from_notebook_node(untrusted_copy(nb, lang, hide))
    return scrub_html(body)


# nbconvert's basic template (grader/templates/nbconvert/grader_notebook.html.j2), but the highlighted source is not passed through bleach again: pygments
# escapes every character of the source itself, and bleach on its output was 70 % of a big cell's cost.
# Markdown and HTML are not bleached either: bleach's short list escaped headings, paragraphs and tables
# as visible text. The scrubber (an allow-list of tags and attributes) sees everything, and the CSP stays.


@lru_cache(maxsize=1)
def _exporter():
    # start-up: the notebook page's renderer (nbconvert) is imported in the render worker, under its memory limit
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter, TemplateExporter
    from nbconvert.filters.highlight import Highlight2HTML
    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

    class PageExporter(HTMLExporter):
        """HTMLExporter without its last step, which re-parses the whole page with BeautifulSoup to add
        alt texts and tab stops: over half the time of a large page. The scrubber re-parses it anyway."""

        def from_notebook_node(self, nb, resources=None, **kw):
            resources = self._init_resources(resources)       # sets should_sanitize_html for the template
            self.register_filter("highlight_code", Highlight2HTML(pygments_lexer="ipython3", parent=self))
            self.register_filter("filter_data_type", WidgetsDataTypeFilter(
                notebook_metadata=self._nb_metadata, parent=self, resources=resources))
            return TemplateExporter.from_notebook_node(self, nb, resources, **kw)

    template = (files("grader") / "templates" / "nbconvert" / "grader_notebook.html.j2").read_text(encoding="utf-8")
    return PageExporter(template_name="basic", sanitize_html=True, template_file="grader_notebook.html.j2",
                        extra_loaders=[DictLoader({"grader_notebook.html.j2": template})])


def warm_up() -> None:
    """Import nbconvert and compile its templates by rendering an empty notebook."""
    # start-up: the notebook page's renderer (nbconvert) is imported in the render worker, under its memory limit
    import nbformat

    render_body(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1"),
                                                nbformat.v4.new_markdown_cell("1")]), "en")


def notebook_page(nb, title: str, lang: str, hide: tuple[str, ...] = ()) -> str:
    # the body is scrubbed HTML (render_body); the title is escaped by the template
    return render_page("notebook.html.j2", title=title.replace("`", ""), lang=lang,
                       head_extra=Markup(MARK_RENDERED), notebook=Markup(render_body(nb, lang, hide)))


def not_rendered_page(title: str, reason_text: str, lang: str) -> str:
    """The small page written instead when the notebook could not be rendered within the limits."""
    return render_page("not_rendered.html.j2", title=title, lang=lang, head_extra=Markup(MARK_NOT_RENDERED),
                       why=render(msg("notebook_not_rendered", reason=reason_text), lang))


def page_state(page: Path, lang: str | None = None) -> str | None:
    """"rendered" or "not-rendered" for a page this renderer version wrote (in ``lang``, when given), else None
    (render again: a course graded again in another language gets its pages in that one)."""
    try:
        with page.open("r", encoding="utf-8", errors="replace") as fh:
            head = fh.read(2048)
    except OSError:
        return None
    if lang is not None and f'lang="{lang}"' not in head:   # the page's <html> element, first in it
        return None
    if MARK_RENDERED in head:
        return "rendered"
    return "not-rendered" if MARK_NOT_RENDERED in head else None


def write_notebook_page(source: Path, dest: Path, title: str, lang: str, hide: tuple[str, ...] = ()) -> None:
    """Read ``source``, write its page to ``dest`` (whole or not at all); ``hide``: the grader's folders.
    InputError, with the reason, for a notebook the checked reader refuses (past a limit, damaged)."""
    # start-up: the notebook page's renderer (nbconvert) is imported in the render worker, under its memory limit
    from grader.notebooks import read_notebook

    nb, reasons = read_notebook(source)
    if nb is None:
        raise InputError(f"{source.name} cannot be read", reason=reasons[0] if reasons else None)
    _write_atomic(dest, notebook_page(nb, title, lang, tuple(hide)))


def _write_atomic(dest: Path, text: str) -> None:
    partial = dest.with_name(dest.name + ".part")
    partial.write_text(text, encoding="utf-8")
    partial.replace(dest)
