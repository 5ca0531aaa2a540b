"""A hostile notebook's page runs nothing in a browser, and rendering it never stalls the batch."""
from __future__ import annotations

import pytest

import base64
import re
import shutil
import subprocess
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import nbformat

from grader.i18n import msg
from grader.records import PracticalScore
from grader.reports.feedback import write_feedback
from grader.reports.notebook_page import scrub_html
from grader.reports.page import CSP
from grader.reports.render_worker import LimitedRenderer

D = Decimal
# a real 1x1 PNG (its onload fires) and bytes that are no image (its onerror fires)
PNG = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")).decode()
NOT_AN_IMAGE = "AAAA"
PWN = "document.title='pwned';document.body.setAttribute('data-pwned','1')"


def _score(participant: str) -> PracticalScore:
    return PracticalScore("mnist_cnn", participant, "Ana", "graded", D("1"), D("10"), "no", None)


def _write(out: Path, participant: str, cells: list) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    path = out / "work" / "mnist_cnn" / participant / "executed.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def _hostile_cells() -> list:
    cell = nbformat.v4.new_code_cell("plot()  # the student's visible code")
    cell.execution_count = 1
    cell.outputs = [
        nbformat.v4.new_output("display_data", data={"image/png": NOT_AN_IMAGE},
                               metadata={"image/png": {"width": f"1 onerror={PWN}"}}),
        nbformat.v4.new_output("display_data", data={"image/png": PNG},
                               metadata={"image/png": {"height": f"1 onload={PWN}"}}),
        nbformat.v4.new_output("display_data", data={"image/jpeg": NOT_AN_IMAGE},
                               metadata={"image/jpeg": {"width": "1", "height": f"x onerror={PWN}"}}),
        nbformat.v4.new_output("display_data", data={"text/html": f"<img src=x onerror=\"{PWN}\">"}),
        nbformat.v4.new_output("display_data", data={"text/markdown": f"<img src=x onerror=\"{PWN}\">"}),
        nbformat.v4.new_output("display_data", data={"text/html": "<p>isolated</p>"},
                               metadata={"text/html": {"isolated": True}}),
        nbformat.v4.new_output("display_data", data={"image/png": PNG},
                               metadata={"filenames": {"image/png": "javascript:alert(1)"}}),
    ]
    counted = nbformat.v4.new_code_cell("print('still here')")
    counted.execution_count = f"<img src=x onerror=\"{PWN}\">"     # the template prints it unescaped
    counted.outputs = [nbformat.v4.new_output("stream", text="still here\n")]
    return [cell, counted, nbformat.v4.new_markdown_cell(f"# Title\n<img src=x onerror=\"{PWN}\">")]


def _dom(page: Path) -> str:
    """The page's DOM after headless Chromium loaded it and ran whatever it was allowed to run."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    assert binary, "chromium is missing: scripts/ensure_chromium.sh installs it"
    with tempfile.TemporaryDirectory(prefix="grader-chromium-") as profile:
        done = subprocess.run(
            [binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync",
             "--disable-background-networking", "--disable-component-update", f"--user-data-dir={profile}",
             "--virtual-time-budget=3000", "--dump-dom", page.resolve().as_uri()],
            capture_output=True, text=True, timeout=120, cwd=profile)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.slow
def test_the_payload_runs_in_nbconverts_own_page_so_the_browser_test_can_see_it(tmp_path):
    from nbconvert import HTMLExporter

    nb = nbformat.v4.new_notebook()
    nb.cells = _hostile_cells()
    nb.cells[1].execution_count = 2          # nbconvert refuses that one outright; the grader renders it
    body, _ = HTMLExporter(template_name="basic", sanitize_html=True).from_notebook_node(nb)
    page = tmp_path / "plain.html"
    page.write_text(f"<!DOCTYPE html><html><head><title>plain</title></head><body>{body}</body></html>")
    dom = _dom(page)
    assert "<title>pwned</title>" in dom and 'data-pwned="1"' in dom


@pytest.mark.slow
def test_a_hostile_notebooks_page_runs_nothing_in_headless_chromium_and_still_shows_it(tmp_path):
    _write(tmp_path, "101", _hostile_cells())
    _, warnings = write_feedback(tmp_path, [_score("101")], "en")
    assert not warnings
    page = tmp_path / "feedback" / "mnist_cnn" / "101-notebook.html"
    dom = _dom(page)
    assert "pwned" not in dom.split("<body")[0] and "data-pwned" not in dom.split("<body", 1)[1].split(">", 1)[0]
    assert "<title>mnist_cnn · Ana</title>" in dom
    assert "still here" in dom and "the student's visible code" in dom
    assert dom.count("data:image/png;base64,") >= 2        # the images themselves are kept
    feedback = _dom(tmp_path / "feedback" / "mnist_cnn" / "101.html")
    assert "Your notebook as the grader executed it" in feedback


@pytest.mark.slow
def test_only_plain_numeric_image_sizes_and_known_attributes_reach_the_page(tmp_path):
    cells = _hostile_cells()
    cells[0].outputs.append(nbformat.v4.new_output("display_data", data={"image/png": PNG},
                                                   metadata={"image/png": {"width": 320, "height": "240"}}))
    _write(tmp_path, "101", cells)
    write_feedback(tmp_path, [_score("101")], "en")
    page = (tmp_path / "feedback" / "mnist_cnn" / "101-notebook.html").read_text(encoding="utf-8")
    assert re.findall(r"<[a-z][^>]*\son[a-z]+=", page) == []        # no handler on any element
    sized = [tag for tag in re.findall(r"<img [^>]*>", page) if 'width="320"' in tag]
    assert len(sized) == 1 and 'height="240"' in sized[0]
    images = re.findall(r"<img [^>]*>", page)
    assert all(re.fullmatch(r'<img( (src|width|height|alt)="[^"]*")*>', tag) for tag in images)
    assert "javascript:" not in page and "<iframe" not in page and "isolated" in page


@pytest.mark.slow
def test_every_page_carries_a_policy_that_forbids_scripts(tmp_path):
    from grader.reports.notebook_page import not_rendered_page
    from grader.reports.summary import report_html
    from grader.course import single_practical_course
    from grader.similarity.pages import write_index

    assert "script-src 'none'" in CSP and "default-src 'none'" in CSP
    meta = f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
    _write(tmp_path, "101", _hostile_cells())
    write_feedback(tmp_path, [_score("101")], "en")
    course = single_practical_course("mnist_cnn", [tmp_path], tmp_path, tmp_path / "out")
    pages = [(tmp_path / "feedback" / "mnist_cnn" / name).read_text(encoding="utf-8")
             for name in ("101.html", "101-notebook.html")]
    pages.append(report_html(course, [_score("101")], [], []))
    pages.append(write_index(tmp_path, [], 0.6).read_text(encoding="utf-8"))
    pages.append(not_rendered_page("t", "why", "es"))
    for page in pages:
        head = page.split("<head>", 1)[1].split("</head>", 1)[0]
        assert meta in head and head.index(meta) < head.index("<title>")


def test_the_scrubber_keeps_no_handler_script_or_script_url():
    dirty = ("<div class=a onclick=x><img src=data:image/png;base64,AAAA width=1 onerror=alert(1)>"
             "<a href=' javascript:alert(1)'>l</a><a href='https://example.org/x'>ok</a>"
             "<script>alert(1)</script><iframe src=x><p>in</p></iframe><svg><script>1</script></svg>t</div>")
    clean = scrub_html(dirty)
    assert clean == ('<div class="a"><img src="data:image/png;base64,AAAA" width="1"><a>l</a>'
                     '<a href="https://example.org/x">ok</a>t</div>')


def _big_code_cell(size_kb: int):
    line = "x=[1,2,3,4,5,6,7,8,9];y=(a+b)*c-d/e%f\n"       # dense in tokens: the costly kind
    return nbformat.v4.new_code_cell(line * (size_kb * 1024 // len(line)))


@pytest.mark.slow
def test_a_2_mb_code_cell_renders_within_the_limit_cut_with_a_note(tmp_path):
    _write(tmp_path, "101", [_big_code_cell(2048), nbformat.v4.new_markdown_cell("after the big cell")])
    started = time.monotonic()
    with LimitedRenderer(time_limit_s=60) as renderer:
        _, warnings = write_feedback(tmp_path, [_score("101")], "en", renderer)
    assert not warnings and time.monotonic() - started < 60
    page = (tmp_path / "feedback" / "mnist_cnn" / "101-notebook.html").read_text(encoding="utf-8")
    assert "truncated here (100 KB of 2047 KB shown)" in page and "after the big cell" in page
    assert len(page) < 5_000_000            # pygments makes ~23 bytes of markup per byte of dense code


@pytest.mark.slow
def test_a_page_past_the_renderers_limit_says_so_and_the_next_one_is_rendered(tmp_path):
    _write(tmp_path, "101", [_big_code_cell(90) for _ in range(60)])       # each cell under the cap
    _write(tmp_path, "102", [nbformat.v4.new_code_cell("print('small')")])
    started = time.monotonic()
    with LimitedRenderer(time_limit_s=2) as renderer:
        _, warnings = write_feedback(tmp_path, [_score("101"), _score("102")], "es", renderer)
    assert time.monotonic() - started < 40       # the slow page cost its 2 s, not minutes
    assert len(warnings) == 1 and "longer than 2 s" in warnings[0]
    folder = tmp_path / "feedback" / "mnist_cnn"
    slow = (folder / "101-notebook.html").read_text(encoding="utf-8")
    assert "no se pudo mostrar como página: generar la página tardó más de 2 s." in slow
    assert "no se pudo mostrar como página" in (folder / "101.html").read_text(encoding="utf-8")
    assert "small" in (folder / "102-notebook.html").read_text(encoding="utf-8")


@pytest.mark.slow
def test_a_page_past_the_memory_limit_says_so(tmp_path):
    _write(tmp_path, "101", [_big_code_cell(90) for _ in range(5)])      # ~170 MB of address space to render
    with LimitedRenderer(time_limit_s=120, memory_mb=130) as renderer:     # the warm worker needs ~75 MB
        _, warnings = write_feedback(tmp_path, [_score("101")], "en", renderer)
    assert len(warnings) == 1 and ("more than 130 MB" in warnings[0] or "process stopped" in warnings[0])
    page = (tmp_path / "feedback" / "mnist_cnn" / "101-notebook.html").read_text(encoding="utf-8")
    assert "could not be shown as a page" in page


class _NoRendering(LimitedRenderer):
    def render(self, *args):
        raise AssertionError("a re-run rendered a page again")


@pytest.mark.slow
def test_a_rerun_renders_nothing_again_not_even_a_page_that_failed(tmp_path):
    _write(tmp_path, "101", [_big_code_cell(90) for _ in range(60)])
    _write(tmp_path, "102", [nbformat.v4.new_code_cell("print('small')")])
    scores = [_score("101"), _score("102")]
    with LimitedRenderer(time_limit_s=2) as renderer:
        write_feedback(tmp_path, scores, "en", renderer)
    _, warnings = write_feedback(tmp_path, scores, "en", _NoRendering())
    assert warnings == []
    folder = tmp_path / "feedback" / "mnist_cnn"
    assert "could not be shown as a page" in (folder / "101.html").read_text(encoding="utf-8")
    assert "href='102-notebook.html'" in (folder / "102.html").read_text(encoding="utf-8")


@pytest.mark.slow
def test_a_page_from_an_older_renderer_is_rendered_again(tmp_path):
    _write(tmp_path, "101", [nbformat.v4.new_code_cell("print('small')")])
    old = tmp_path / "feedback" / "mnist_cnn" / "101-notebook.html"
    old.parent.mkdir(parents=True)
    old.write_text("<html><img src=x width=1 onerror=alert(1)></html>")   # newer than the notebook
    write_feedback(tmp_path, [_score("101")], "en")
    assert "onerror" not in old.read_text(encoding="utf-8")


def test_the_messages_about_pages_exist_in_both_languages():
    from grader.i18n import catalogue

    for code in ("notebook_truncated", "notebook_image_left_out", "notebook_not_rendered", "notebook_render_timeout",
                 "notebook_render_memory", "notebook_render_failed"):
        assert {"es", "en"} <= set(catalogue()[code])
    assert msg("notebook_render_timeout", limit_s=2).code == "notebook_render_timeout"


@pytest.mark.slow
def test_an_image_over_its_cap_is_replaced_by_a_note_and_the_next_image_still_shows(tmp_path):
    cell = nbformat.v4.new_code_cell("plot()")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"image/png": "A" * (3 * 1024 * 1024),
                                                                 "text/html": "<b>figure</b>"}),
                    nbformat.v4.new_output("display_data", data={"image/png": PNG})]
    _write(tmp_path, "101", [cell])
    write_feedback(tmp_path, [_score("101")], "en")
    page = (tmp_path / "feedback" / "mnist_cnn" / "101-notebook.html").read_text(encoding="utf-8")
    assert "[image left out: 3072 KB, more than the page shows]" in page
    assert f"data:image/png;base64,{PNG}" in page and "AAAAAAAA" not in page


def test_a_renderer_that_cannot_start_fails_every_page_at_once_and_the_feedback_is_still_written(tmp_path):
    for participant in ("101", "102"):
        _write(tmp_path, participant, [nbformat.v4.new_code_cell("print('small')")])
    with LimitedRenderer(memory_mb=20) as renderer:            # too little for Python itself
        _, warnings = write_feedback(tmp_path, [_score("101"), _score("102")], "en", renderer)
    assert len(warnings) == 2 and all("did not start" in w for w in warnings)
    for participant in ("101", "102"):
        assert "Feedback: mnist_cnn" in (tmp_path / "feedback" / "mnist_cnn" / f"{participant}.html").read_text()


def test_markdown_renders_as_a_reader_sees_it_and_unsafe_tags_still_go():
    from grader.reports.notebook_page import render_body

    cell = nbformat.v4.new_markdown_cell("## 5. Evaluación\n\nSome *text*.\n\n<marquee>m</marquee>"
                                         f"<img src=x onerror=\"{PWN}\"><a href='javascript:x'>l</a>")
    body = render_body(nbformat.v4.new_notebook(cells=[cell]), "es")
    assert "<h2" in body and "&lt;h2" not in body and "<p>Some <em>text</em>.</p>" in body
    assert "onerror" not in body and "javascript" not in body and "<marquee" not in body


@pytest.mark.slow
def test_no_host_path_reaches_the_page_the_parameters_show_neutral_values(tmp_path):
    params = nbformat.v4.new_code_cell(f'# Parameters\nepochs = 1\ndata_dir = "{tmp_path}/work/mnist_cnn/_data"\n')
    params.metadata["tags"] = ["injected-parameters", "grader-injected"]
    printed = nbformat.v4.new_code_cell("print(data_dir)")
    printed.outputs = [nbformat.v4.new_output("stream", text=f"{tmp_path}/work/mnist_cnn/_data/x.gz\n"),
                       nbformat.v4.new_output("error", ename="OSError", evalue=f"{tmp_path}/work/y",
                                              traceback=[f"File {tmp_path.resolve()}/work/z.py"])]
    _write(tmp_path, "101", [params, printed])
    _, warnings = write_feedback(tmp_path, [_score("101")], "es")
    page = (tmp_path / "feedback" / "mnist_cnn" / "101-notebook.html").read_text(encoding="utf-8")
    assert not warnings and str(tmp_path) not in page and str(tmp_path.resolve()) not in page
    assert "&lt;datos del curso&gt;" in page and "&lt;carpeta del corrector&gt;/work/mnist_cnn/_data/x.gz" in page
