"""Small HTML pieces of the admin's detail pages; every value is escaped unless already safe."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString


def pre(text: str | None) -> SafeString:
    return format_html('<pre style="white-space: pre-wrap; margin: 0">{}</pre>', text or "")


def folded(content: SafeString) -> SafeString:
    """Long content (raw provider answers) folded away until asked for."""
    return format_html("<details><summary>show</summary>{}</details>", content)


def html_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> SafeString:
    """A plain admin table; cells are escaped unless already safe (links, <pre> blocks)."""
    head = format_html_join("", "<th>{}</th>", ((header,) for header in headers))
    body = format_html_join(
        "", "<tr>{}</tr>", ((format_html_join("", "<td>{}</td>", ((cell,) for cell in row)),) for row in rows)
    )
    return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", head, body)
