"""The grader's HTML templates (``grader/templates/*.html.j2``) and the one Jinja2 environment that renders them.

Autoescape is on: every value a page shows is escaped unless the code already made it safe HTML and says so
(``markupsafe.Markup``, or the ``code`` filter, which escapes and shows `names` as code). An undefined name in a
template is an error, not an empty string.
"""
from __future__ import annotations

from functools import lru_cache

from markupsafe import Markup

from grader.i18n import code_html
from grader.reports.page import CSP


@lru_cache(maxsize=1)
def environment():
    # start-up: jinja2 only when a page is rendered
    from jinja2 import Environment, PackageLoader, StrictUndefined


    env = Environment(loader=PackageLoader("grader", "templates"), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.globals["csp"] = Markup(CSP)      # written as is: its quotes are the policy's own
    env.filters["code"] = lambda text: Markup(code_html(str(text)))
    return env


def render_page(name: str, **context) -> str:
    """``grader/templates/<name>`` rendered with ``context``."""
    return environment().get_template(name).render(**context)
