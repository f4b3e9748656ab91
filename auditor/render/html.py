"""report.html: one self-contained file (inline CSS, SVG and script) under a strict CSP."""

from __future__ import annotations

from markupsafe import Markup

from auditor.render.templating import csp_hash, environment, resource_text
from auditor.render.view import SCREEN, ReportView, diagram_for, print_limits


def render_html(view: ReportView, *, pdf: bool = False) -> str:
    """The report page; `pdf=True` leaves out the script and adds the paged-media CSS."""
    css = resource_text("report.css")
    if pdf:
        css += "\n" + resource_text("pdf.css")
    script = resource_text("report.js")
    limits = print_limits(view) if pdf else SCREEN
    diagram, diagram_note = diagram_for(view, limits)
    return (
        environment()
        .get_template("report.html.j2")
        .render(
            view=view,
            pdf=pdf,
            limits=limits,
            paper=view.options.checked_paper(),
            css=Markup(css),
            script=Markup(script),
            script_hash=Markup(csp_hash(script)),
            diagram=Markup(diagram),
            diagram_note=diagram_note,
            changes=Markup(view.changes_html),  # escaped by its own autoescaped template
        )
    )
