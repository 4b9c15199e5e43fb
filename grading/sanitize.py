"""Student content reaches graders' and students' browsers as sanitised HTML, never as script.

Formgrader's manual grading view and ``nbgrader generate_feedback`` both render the autograded
notebook with nbconvert's ``HTMLExporter`` (nbgrader's ``formgrade`` and ``feedback`` templates), and
both read ``HTMLExporter`` settings from nbgrader_config.py. ``HTMLExporter.sanitize_html = True`` alone
is not enough: it makes nbconvert's ``classic`` template pass HTML outputs through ``clean_html`` and
drop JavaScript and widget outputs, but nbgrader's two templates override the markdown cell block with
``cell.source | markdown2html | strip_files_prefix``, without ``clean_html``, and nbconvert's
markdown renderer passes raw HTML (and ``javascript:`` links) through. So script in any markdown
cell, a graded written answer included, ran in both views. And nbconvert's own ``clean_html`` has no
``img``, ``th`` or ``p``: it would turn the student's images and tables into escaped text.

nbgrader_config.py therefore sets, for the ``HTMLExporter`` of both views:

- ``markdown2html`` -> ``Markdown2HTML``: the exporter's own markdown rendering (math, attachments,
  highlighted code), then ``clean_html``. It covers markdown cells, ``text/markdown`` outputs and
  feedback comments, whatever template calls it.
- ``clean_html`` -> ``clean_html``: nh3 (the Ammonia sanitiser) with its default allowlist of tags
  (images, tables, headings, lists, code...) plus ``class`` for styling. No ``<script>``, ``<style>``,
  iframes, objects, embeds, forms, SVG or event handlers; links and images keep ``http(s)`` and
  relative URLs, ``data:`` only as a raster image's ``src``. Element ids get the prefix ``nb-``
  (in-page ``#links`` follow), so student content cannot take over the ids of formgrader's score and
  comment boxes (``#task4_answer``, ``#task4_answer-comment``).
- ``NumericImageSizes``: nbconvert's template writes an image output's ``width`` / ``height`` metadata
  into the ``<img>`` tag unquoted, so a code cell could add an ``onload`` attribute through them;
  anything but a number is dropped.

With ``sanitize_html`` on, the template leaves JavaScript and widget outputs out and shows SVG outputs
only as ``<img>`` (a browser runs no script in an image). MathJax reads ``$...$`` from the page text,
which sanitising keeps. The template's own markup (score and comment boxes, formgrader's scripts) is
not student content and is left as it is.
"""
import re

import nh3
from jinja2 import pass_context
from nbconvert.preprocessors import Preprocessor
from traitlets.config import LoggingConfigurable

ID_PREFIX = "nb-"
_ATTRIBUTES = {**{tag: set(names) for tag, names in nh3.ALLOWED_ATTRIBUTES.items()}, "*": {"class", "id"}}
_ATTRIBUTES["th"] = _ATTRIBUTES["th"] | {"style"}  # mistune's column alignment: style="text-align:..."
_ATTRIBUTES["td"] = _ATTRIBUTES["td"] | {"style"}
_RASTER_DATA_URI = re.compile(r"data:image/(png|jpeg|gif|webp);base64,[a-z0-9+/=\s]*\Z", re.IGNORECASE)


def _attribute_filter(tag, attribute, value):
    if attribute in ("href", "src") and value.strip().lower().startswith("data:"):
        return value if (tag, attribute) == ("img", "src") and _RASTER_DATA_URI.match(value.strip()) else None
    if attribute == "href" and value.startswith("#") and not value.startswith("#" + ID_PREFIX):
        return "#" + ID_PREFIX + value[1:]  # follows the prefixed ids
    return value


def clean_html(html):
    """``html`` (str or bytes) with only harmless markup left (replaces nbconvert's ``clean_html`` filter)."""
    html = html.decode() if isinstance(html, bytes) else str(html)
    return nh3.clean(html, attributes=_ATTRIBUTES, attribute_filter=_attribute_filter,
                     url_schemes=nh3.ALLOWED_URL_SCHEMES | {"data"}, filter_style_properties={"text-align"},
                     id_prefix=ID_PREFIX)


@pass_context  # jinja passes the template context, which HTMLExporter.markdown2html needs (cell attachments)
class Markdown2HTML(LoggingConfigurable):
    """The ``markdown2html`` filter: the exporter's own (its ``parent``), then ``clean_html``."""

    def __call__(self, context, source):
        return clean_html(self.parent.markdown2html(context, source))


class NumericImageSizes(Preprocessor):
    """Drops output metadata ``width`` / ``height`` that are not numbers (the template writes them unquoted)."""

    def preprocess_cell(self, cell, resources, index):
        for output in cell.get("outputs", []):
            metadata = output.get("metadata", {})
            for level in [metadata, *(value for value in metadata.values() if isinstance(value, dict))]:
                for key in ("width", "height"):
                    if key in level and (isinstance(level[key], bool) or not isinstance(level[key], (int, float))):
                        del level[key]
        return cell, resources
