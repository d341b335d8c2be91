"""Masking of national identity numbers (NINs) for staff who may not see them in full.

One rule, applied by the admin site to the whole of every admin response for a user without
``orders.view_full_nin`` (``OpsAdminSite.admin_view``), so a page, field, inline, breadcrumb, history
entry, delete confirmation, message or export added later is masked without anyone remembering to:

* the value of a NIN key in JSON (``"nationalIdentityNumber"``, ``"national_identity_number"``,
  ``"recipient_national_identity_number"``, ``"nin"``; as stored, or HTML-escaped in a page), whatever
  the value looks like;
* anywhere else, 11 digits standing alone (not part of a longer run of digits or letters, a UUID or an
  E.164 number ``+…``), also when printed as ``DDMMYY NNNNN``.

Both become ``********345`` (the last three digits, enough to tell recipients apart). A full NIN the user
typed into the search box stays in the search box and in the links that repeat the search, so paging and
filtering the results keep working; the results themselves are masked like everything else.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Iterator

from django.http import HttpRequest, HttpResponseBase, QueryDict
from django.template.response import SimpleTemplateResponse

NIN_PERMISSION = "orders.view_full_nin"

# A quote as JSON writes it, or as Django's escaping writes it into a page.
_QUOTE = r"(?:\"|&quot;|&#34;|&#x22;|'|&#x27;|&#39;)"
_NIN_KEY = r"(?:(?:recipient_?)?national_?identity_?number|nin)"
_KEYED = re.compile(
    rf"(?P<head>{_QUOTE}{_NIN_KEY}{_QUOTE}\s*:\s*)"
    rf"(?:(?P<quote>{_QUOTE})(?P<text>.{{0,64}}?)(?P=quote)|(?P<number>[0-9]+))",
    re.IGNORECASE,
)
# A cheap test (a literal search, on the lower-cased text) for whether _KEYED can match at all.
_KEY_HINT = re.compile(rf"identity_?number|nin{_QUOTE}")
# Runs of digits that can hold a NIN: groups of five or more digits, one space apart ("DDMMYY NNNNN").
# Which group is a NIN, and whether it stands alone, is decided in Python (``_standalone``): a single
# regex with look-arounds at every position scans several times slower.
_RUN = re.compile(r"[0-9]{5,}(?: [0-9]{5,})*")
# A NIN is not part of a longer token: a digit, letter, "_" or "-" (a UUID's group), or "+" before it (an
# E.164 number); a digit, letter, "_" or "-" after it. A percent-escape before it (``%3D``) is no token.
_TOKEN_BEFORE = frozenset(string.ascii_letters + string.digits + "_+-")
_TOKEN_AFTER = frozenset(string.ascii_letters + string.digits + "_-")
_PERCENT_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
# Where a page repeats the search term: the search box and the query strings of its links.
_SEARCH_ECHO = ('name="q" value="', "q=", "q%3D", "q%3d")
# Bodies that cannot carry readable text.
_BINARY_TYPES = ("image/", "audio/", "video/", "font/")


def mask_nin(nin: str | None) -> str:
    """A national identity number with all but its last three digits hidden (``********345``)."""
    if not nin:
        return "-"
    return "*" * (len(nin) - 3) + nin[-3:]


def may_see_nin(request: HttpRequest) -> bool:
    return request.user.has_perm(NIN_PERMISSION)


def mask_nins_in_text(text: str, *, keep: frozenset[str] = frozenset()) -> str:
    """``text`` (plain, JSON, HTML, CSV) with every NIN masked; ``keep`` is the user's own search term,
    left where the page repeats the search (see the module's docstring)."""

    def keyed(match: re.Match[str]) -> str:
        if match["number"] is not None:
            return match["head"] + f'"{mask_nin(match["number"])}"'
        value = match["text"]
        compact = "".join(value.split())
        masked = value if not compact or set(compact) == {"*"} else mask_nin(compact)
        return f"{match['head']}{match['quote']}{masked}{match['quote']}"

    if _KEY_HINT.search(text.lower()):
        text = _KEYED.sub(keyed, text)
    return _RUN.sub(lambda run: _standalone(run, keep), text)


def _standalone(run: re.Match[str], keep: frozenset[str]) -> str:
    """A run of digit groups with each NIN in it masked: an 11-digit group, or a 6- and a 5-digit group."""
    text, start, end = run.string, run.start(), run.end()
    alone_before = (
        start == 0
        or text[start - 1] not in _TOKEN_BEFORE
        or _PERCENT_ESCAPE.fullmatch(text, start - 3, start) is not None
    )
    alone_after = end == len(text) or text[end] not in _TOKEN_AFTER
    groups = run[0].split(" ")
    out: list[str] = []
    position, i = start, 0
    while i < len(groups):
        taken = 2 if len(groups[i]) == 6 and i + 1 < len(groups) and len(groups[i + 1]) == 5 else 1
        written = " ".join(groups[i : i + taken])
        digits = written.replace(" ", "")
        is_nin = (
            len(digits) == 11
            and (i > 0 or alone_before)
            and (i + taken < len(groups) or alone_after)
            and not (digits in keep and text.endswith(_SEARCH_ECHO, 0, position))
        )
        out.append(mask_nin(digits) if is_nin else written)
        position += len(written) + 1
        i += taken
    return " ".join(out)


def search_terms(request: HttpRequest) -> frozenset[str]:
    """The NINs the user searched for on this page (``q``, also inside ``_changelist_filters``)."""
    queries = [request.GET]
    if "_changelist_filters" in request.GET:
        queries.append(QueryDict(request.GET["_changelist_filters"]))
    terms = ("".join(query.get("q", "").split()) for query in queries)
    return frozenset(term for term in terms if len(term) == 11 and term.isdigit())


def _mask_lines(chunks: Iterable[bytes], charset: str, keep: frozenset[str]) -> Iterator[bytes]:
    """A streamed body masked line by line (a NIN never spans lines; a chunk boundary may split one)."""
    pending = b""
    for chunk in chunks:
        pending += chunk
        complete, newline, pending = pending.rpartition(b"\n")
        if newline:
            yield _mask_bytes(complete + newline, charset, keep)
    if pending:
        yield _mask_bytes(pending, charset, keep)


def _mask_bytes(content: bytes, charset: str, keep: frozenset[str]) -> bytes:
    # surrogateescape: bytes that are not text in that charset come back out unchanged.
    text = content.decode(charset, "surrogateescape")
    return mask_nins_in_text(text, keep=keep).encode(charset, "surrogateescape")


def mask_response(response: HttpResponseBase, *, keep: frozenset[str] = frozenset()) -> HttpResponseBase:
    """Mask every NIN in ``response``: its body (once rendered, for a template response) and the headers
    that can repeat data (``Location``, ``Content-Disposition``)."""
    for header in ("Location", "Content-Disposition"):
        if header in response:
            response[header] = mask_nins_in_text(response[header], keep=keep)
    if response.get("Content-Type", "").startswith(_BINARY_TYPES):
        return response
    if isinstance(response, SimpleTemplateResponse) and not response.is_rendered:
        response.add_post_render_callback(lambda rendered: _mask_content(rendered, keep))
    elif response.streaming:
        response.streaming_content = _mask_lines(response.streaming_content, response.charset, keep)  # type: ignore[attr-defined]
    else:
        _mask_content(response, keep)
    return response


def _mask_content(response: HttpResponseBase, keep: frozenset[str]) -> None:
    content: bytes = response.content  # type: ignore[attr-defined]
    masked = _mask_bytes(content, response.charset, keep)
    if masked != content:
        response.content = masked  # type: ignore[attr-defined]
        if "Content-Length" in response:
            response["Content-Length"] = str(len(masked))
