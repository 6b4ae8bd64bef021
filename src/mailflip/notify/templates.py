"""The notification templates of SPEC.md, as Jinja2: a text and an HTML part per
template (`notify/emails/NAME.txt` and `NAME.html`; the subject is the text part's
`subject` block). Rendering is strict: a value a template names and the context lacks
is an error (`StrictUndefined`), never an empty gap in a customer's email."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from mailflip.domain.names import Template

ENV = Environment(loader=PackageLoader("mailflip.notify", "emails"),
                  undefined=StrictUndefined, autoescape=select_autoescape(["html"]),
                  trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def render(template: str, context: dict[str, Any]) -> Rendered:
    """Raises jinja2.UndefinedError for a value the context lacks, ValueError for a
    template SPEC.md does not name."""
    name = Template(template).value
    text = ENV.get_template(f"{name}.txt")
    subject = " ".join("".join(text.blocks["subject"](text.new_context(context))).split())
    return Rendered(subject, text.render(context).strip() + "\n",
                    ENV.get_template(f"{name}.html").render({**context, "subject": subject}))
