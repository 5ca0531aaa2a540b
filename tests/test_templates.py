"""The HTML pages come from grader/templates (Jinja2, autoescaped), never from markup in Python strings."""
import ast
import re
import tomllib
from pathlib import Path

from markupsafe import Markup

import grader
from grader.reports.templates import environment, render_page

PACKAGE = Path(grader.__file__).parent
ROOT = PACKAGE.parent
TEMPLATES = PACKAGE / "templates"
# a tag that builds a page; <code> (i18n.code_html) and <mark> (copydetect's highlight marks) are
# fragments of safe values, and <meta> marks (notebook_page.MARK_RENDERED) are compared as text
HTML_TAG = re.compile(r"<(p|td|th|tr|h[1-6]|table|div|span|li|ul|ol|a|pre|img|strong|html|head|body|style|title)[\s>/]",
                      re.IGNORECASE)
# (file, reason) for the Python files that may still hold such a string: none today. (The sanitiser's
# allow-lists in reports/notebook_page.py are tag names without brackets, so they need no entry.)
ALLOWED: dict[str, str] = {}


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def test_no_python_string_in_the_package_holds_html_markup():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = path.relative_to(PACKAGE).as_posix()
        if name in ALLOWED:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docs = _docstrings(tree)
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs
                    and HTML_TAG.search(node.value)):
                found.append(f"{name}:{node.lineno}: {node.value[:60]!r}")
    assert found == [], "HTML belongs in grader/templates:\n" + "\n".join(found)


def test_every_page_extends_the_one_base_layout():
    fragments = {"base.html.j2", "selfcheck.html.j2"}      # the shell itself, and a fragment shown in Jupyter
    pages = [p for p in TEMPLATES.glob("*.html.j2") if p.name not in fragments]
    assert len(pages) >= 6
    for page in pages:
        parents = re.findall(r'{%-?\s*extends\s+"([^"]+)"', page.read_text(encoding="utf-8"))
        assert parents, page.name
        while parents and parents[0] != "base.html.j2":
            parents = re.findall(r'{%-?\s*extends\s+"([^"]+)"', (TEMPLATES / parents[0]).read_text(encoding="utf-8"))
        assert parents == ["base.html.j2"], page.name


def test_templates_escape_what_they_are_given_and_keep_what_is_marked_safe():
    page = render_page("not_rendered.html.j2", title="<script>x</script>", lang="en", head_extra=Markup(""),
                       why="a & <b>")
    assert "<script>x" not in page and "&lt;script&gt;x&lt;/script&gt;" in page and "a &amp; &lt;b&gt;" in page
    page = render_page("notebook.html.j2", title="t", lang="en", head_extra=Markup(""),
                       notebook=Markup("<p>kept</p>"))
    assert "<p>kept</p>" in page
    assert environment().undefined.__name__ == "StrictUndefined"
    for name in environment().list_templates(extensions=["j2"]):
        if not name.startswith("nbconvert/"):      # nbconvert's own loader compiles that one
            environment().get_template(name)


def test_the_templates_ship_with_the_package():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    data = project["tool"]["setuptools"]["package-data"]["grader"]
    assert "templates/*.html.j2" in data and "templates/nbconvert/*.html.j2" in data
    assert any(d.startswith("jinja2") for d in project["project"]["dependencies"])
