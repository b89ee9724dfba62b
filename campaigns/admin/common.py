"""What the builder's admin pages share: the stylesheet and the template help."""

from __future__ import annotations

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from campaigns.content import templating

# ModelAdmin and the inlines are generic only in django-stubs; subscripting them at runtime needs
# django_stubs_ext, a development tool, hence the type-arg ignores on the classes below.
ADMIN_CSS = {"all": ["css/admin-campaigns.css"]}


def variables_panel() -> SafeString:
    """The variables a template may use, shown next to every template editor."""
    items = format_html_join(
        "",
        "<li><code>{{{{ {} }}}}</code> {}</li>",
        templating.VARIABLES.items(),
    )
    return format_html(
        '<div class="template-variables"><p>Write <code>{{{{ first_name }}}}</code> to '
        "insert a value. Tags: <code>if</code>, <code>for</code>, <code>firstof</code>, "
        "<code>with</code>; filters such as <code>|default:'…'</code> and "
        "<code>|lower</code>. Anything else is refused when you save.</p>"
        "<p>Formatting: the text is plain. A blank line starts a new paragraph and a single "
        "line break stays a line break; nothing else is formatted. What you type shows as "
        "typed (<code>&lt;b&gt;</code> stays <code>&lt;b&gt;</code>), and links cannot be "
        "typed: the button is the email's one link.</p>"
        '<ul class="template-variables-list">{}</ul></div>',
        items,
    )


def _problem_list(intro: str, problems: list[str]) -> SafeString:
    items = format_html_join("", "<li>{}</li>", ((p,) for p in problems))
    return format_html("{}<ul>{}</ul>", intro, items)
