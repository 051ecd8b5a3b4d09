"""Sphinx extension: the book's editions in several languages.

* **Language switch.** Every HTML page names the editions listed in ``book_languages``
  (``_config.yml``: each edition's name in its own language and the folder of its HTML,
  ``html`` or ``html-zh_CN``, side by side under ``_build``) at the top of the primary
  sidebar (``_templates/language-switch.html``), each one a link to the same page in that
  edition, and adds ``<link rel="alternate" hreflang>`` to the page's head.
* **Glued numbers in translations.** Sphinx parses each translation as a document of its
  own, in which MyST-NB's glue roles (``{glue:text}`key```) find no glue data: the data
  belong to the notebook being read. In a translated edition a glue role of a translation
  that finds no key there reads it from the glue data MyST-NB stored for that notebook.
  Glued Markdown (``{glue:md}``: a verdict such as "not met", written by the notebook's
  code) is prose: the gettext build adds each glued Markdown value to the chapter's
  template, and a translation pastes the value's translation from the chapter's catalog
  (parsed inline: MyST-NB's own Markdown rendering needs the notebook's renderer, which a
  translation, parsed as plain MyST, has not). Glued text that is words (``{glue:text}`key```
  of a string such as "not tested at this budget", without a number format) is prose too:
  the gettext build adds each such value that a message of the chapter pastes, and a
  translation pastes its translation. A glued number or name (``1e-05``, ``2.13.0+cpu``) is not
  a message.
* **Exercise subtitles.** sphinx-exercise makes the subtitle of ``{exercise} ★ routine``
  a node without source or raw text, which Sphinx's Locale transform does not translate;
  they get both. The gettext builder extracts messages after sphinx-exercise has merged
  each subtitle into its box's title, so the subtitles are added to the chapter's template
  as the chapter is read. sphinx-exercise titles a solution from the copy of its
  exercise that it keeps from before Sphinx translated anything; in a translated edition
  that copy is taken again once the subtitles are translated.
* **Box titles in the PDF.** sphinx-proof translates "Theorem" in the HTML but writes it
  in English into the LaTeX; in a translated edition its LaTeX titles are translated with
  its own catalog, as its HTML ones are.
* **Fallback notice.** In an edition other than English (``language`` set; see
  ``scripts/translations.py``), a document with a message that the edition shows in English
  (no translation in its catalog, a fuzzy one, or a paragraph whose English changed since
  the catalog was updated) gets a note right under its title that says so, and how much.
  A message whose translation is the text itself (a formula, a name) is translated.

``_config.yml`` loads this file as a local extension.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.transforms import SphinxTransform
from sphinx.util.i18n import docname_to_domain
from sphinx.util.nodes import extract_messages

sys.path.insert(0, str(Path(__file__).resolve().parent))
import translations  # noqa: E402  (scripts/translations.py: catalogs)

TEMPLATE = "language-switch.html"
# The sidebar component the switch goes before (sphinx-book-theme's navigation).
SIDEBAR_ANCHOR = "sbt-sidebar-nav.html"
NOTICE_CLASS = "bn-translation-fallback"
# The notice atop a chapter that falls back to English, per edition language:
# a title, the text when nothing is translated, the text when some is ({missing} of {total}).
NOTICES: dict[str, tuple[str, str, str]] = {
    "zh_CN": ("翻译说明",
              "本章尚未译成中文，以下为英文原文。",
              "本章尚有 {missing} 段（共 {total} 段）未译成中文，这些段落以英文原文显示。"),
}


# --------------------------------------------------------------------- language switch
def edition_links(pagename: str, current: str, editions: dict[str, dict[str, str]],
                  suffix: str = ".html") -> list[dict[str, str | None]]:
    """One entry per edition: its code, name, ``hreflang`` and the relative link to ``pagename`` there.

    The current edition has no link (``href`` is None). Editions are sibling folders, so
    the link climbs out of this one (one ``../`` per folder level of the page, plus one).
    """
    up = "../" * (pagename.count("/") + 1)
    return [{"code": code,
             "name": str(info["name"]),
             "hreflang": code.replace("_", "-"),
             "href": None if code == current else f"{up}{info['html']}/{pagename}{suffix}"}
            for code, info in editions.items()]


def _page_context(app: Any, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    editions = app.config.book_languages
    if not editions or getattr(app.builder, "format", "") != "html":
        return
    current = app.config.language or translations.SOURCE_LANGUAGE
    if current not in editions:
        raise ValueError(f"book_languages in _config.yml has no entry for the language being built, {current!r}")
    links = edition_links(pagename, current, editions, app.builder.link_suffix)
    context["book_languages"] = links
    sidebars = context.get("sidebars")
    if isinstance(sidebars, list) and TEMPLATE not in sidebars:
        at = sidebars.index(SIDEBAR_ANCHOR) if SIDEBAR_ANCHOR in sidebars else len(sidebars)
        context["sidebars"] = [*sidebars[:at], TEMPLATE, *sidebars[at:]]
    alternates = "".join(f'\n<link rel="alternate" hreflang="{x["hreflang"]}" href="{x["href"]}" />'
                         for x in links if x["href"])
    context["metatags"] = context.get("metatags", "") + alternates


# --------------------------------------------------------------------- exercise subtitles
class TranslatableExerciseSubtitles(SphinxTransform):
    """Give sphinx-exercise's subtitles the source, line and raw text that make them translatable."""

    default_priority = 5  # before sphinx.transforms.i18n.Locale (20) and ApplySourceWorkaround (10)

    def apply(self, **kwargs: Any) -> None:
        from sphinx_exercise.nodes import exercise_subtitle

        for node in self.document.findall(exercise_subtitle):
            if not node.rawsource:
                node.rawsource = node.astext()
            if node.source is None:
                node.source = next((p.source for p in _ancestors(node) if p.source), self.document["source"])
                node.line = next((p.line for p in _ancestors(node) if p.line), None)


class TranslatedExerciseCopies(SphinxTransform):
    """Refresh sphinx-exercise's copies of the exercises (which title their solutions) after translation."""

    default_priority = 21  # just after sphinx.transforms.i18n.Locale (20)

    def apply(self, **kwargs: Any) -> None:
        if (self.config.language or translations.SOURCE_LANGUAGE) == translations.SOURCE_LANGUAGE:
            return
        from sphinx_exercise.nodes import is_exercise_node

        registry = getattr(self.env, "sphinx_exercise_registry", {})
        for node in self.document.findall(is_exercise_node):
            entry = registry.get(node.get("label"))
            if entry is not None and entry.get("docname") == self.env.docname:
                entry["node"] = node.deepcopy()


def _extract_unseen_messages(app: Any, doctree: nodes.document) -> None:
    """In a gettext build, add the chapter's exercise subtitles and glued Markdown to its template."""
    from sphinx.builders.gettext import MsgOrigin
    from sphinx_exercise.nodes import exercise_subtitle

    catalog = app.builder.catalogs[docname_to_domain(app.env.docname, app.config.gettext_compact)]
    for node in doctree.findall(exercise_subtitle):
        catalog.add(node.rawsource, MsgOrigin(node.source, node.line))
    nb_config = getattr(app.env, "mystnb_config", None)  # MyST-NB is loaded (the book), or not (a test)
    source = str(doctree.get("source", app.env.docname))
    for text in glued_markdown(nb_config.output_folder, app.env.docname) if nb_config is not None else []:
        catalog.add(text, MsgOrigin(source, 0))
    if nb_config is not None:
        glued = read_glue(nb_config.output_folder, app.env.docname)
        for text in glued_words(glued, (message for _, message in extract_messages(doctree))):
            catalog.add(text, MsgOrigin(source, 0))


def _ancestors(node: nodes.Node) -> list[nodes.Node]:
    found = []
    while node.parent is not None:
        node = node.parent
        found.append(node)
    return found


# --------------------------------------------------------------------- sphinx-proof's LaTeX titles
def _translate_latex_box_titles(app: Any) -> None:
    """Re-register sphinx-proof's LaTeX handlers so that the box titles they write are translated."""
    from sphinx_proof import nodes as proof

    def wrap(depart: Any) -> Any:
        def translated_depart(self: Any, node: nodes.Element) -> None:
            depart(self, node)
            english = node.attributes.get("realtype", "").title()
            # sphinx-proof has just put "Theorem 1.2" (or "Theorem") after the box's opening.
            at = proof.list_rindex(self.body, proof.latex_admonition_start) + 2
            if english and at < len(self.body) and self.body[at].startswith(english):
                self.body[at] = proof._(english) + self.body[at][len(english):]
        return translated_depart

    app.add_node(proof.unenumerable_node, override=True,
                 latex=(proof.visit_unenumerable_node, wrap(proof.depart_unenumerable_node)))
    for node_class in proof.NODE_TYPES.values():
        app.add_node(node_class, override=True,
                     latex=(proof.visit_enumerable_node, wrap(proof.depart_enumerable_node)))


# --------------------------------------------------------------------- glue in translations
# The source Sphinx gives a translation it parses (sphinx.transforms.i18n.publish_msgstr).
TRANSLATED_SOURCE = ":<translated>"


def read_glue(output_folder: str | Path, docname: str) -> dict[str, Any]:
    """The glue data MyST-NB wrote for a notebook while reading it (``DOCNAME.glue.json``), or {}."""
    path = Path(output_folder, *docname.split("/")[:-1], docname.split("/")[-1] + ".glue.json")
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


MARKDOWN = "text/markdown"
CATALOG_CACHE = "book_language_catalog"


def _translate(env: Any, text: str) -> str:
    """``text`` translated by the catalog of the document being read (itself where there is none)."""
    cached = env.temp_data.get(CATALOG_CACHE)
    if cached is None or cached[0] != env.docname:
        path = _catalog_path(env.app, env.docname)
        cached = (env.docname, translations.read_catalog(path) if path is not None else None)
        env.temp_data[CATALOG_CACHE] = cached
    entry = cached[1].get(text) if cached[1] is not None else None
    return str(entry.string) if entry is not None and translations.is_translated(entry) else text


def glued_markdown(output_folder: str | Path, docname: str) -> list[str]:
    """The Markdown values a notebook glues (what ``{glue:md}`` pastes), in the order it glues them."""
    return [str(v["data"][MARKDOWN]) for v in read_glue(output_folder, docname).values()
            if MARKDOWN in v.get("data", {})]


# A {glue:text} role in a message: its key, and the format spec after the last ":" (if any).
GLUE_TEXT_ROLE = re.compile(r"\{glue:text\}`(?P<body>[^`]+)`")
# Glued text is prose when it has a word: two letters or more, not part of a name or number
# ("1e-05", "2.13.0+cpu" and "float64" have none), and not a Python constant ("True").
PROSE_WORD = re.compile(r"(?<![\w.+-])(?!(?:True|False|None)(?![\w.+-]))[^\W\d_]{2,}(?![\w.+-])")


def glued_string(data: dict[str, Any]) -> str | None:
    """The string a glued value holds (its ``text/plain`` is a string's repr), or None (a number, an object)."""
    if MARKDOWN in data or "text/plain" not in data:
        return None
    try:
        value = ast.literal_eval(str(data["text/plain"]))
    except (SyntaxError, ValueError):
        return None
    return value if isinstance(value, str) else None


def _text_role_key(body: str) -> tuple[str, str]:
    """``(key, format spec)`` of a ``{glue:text}`` role's body, as MyST-NB splits it (spec "" if none)."""
    key, _, spec = body.rpartition(":") if ":" in body else (body, "", "")
    return key, spec


def glued_words(glued: dict[str, Any], messages: Any) -> list[str]:
    """The glued strings that ``{glue:text}`` roles in ``messages`` paste as prose, in order, once each.

    Only a role of this notebook's glue (not ``path::key``) with no format spec or a plain
    ``s`` counts, and only a value with a word in it: "not tested at this budget" is prose
    to translate, a glued version or tolerance is not.
    """
    found: list[str] = []
    for message in messages:
        for m in GLUE_TEXT_ROLE.finditer(message):
            key, spec = _text_role_key(m.group("body"))
            if "::" in key or spec not in ("", "s") or key not in glued:
                continue
            text = glued_string(glued[key].get("data", {}))
            if text is not None and PROSE_WORD.search(text) and text not in found:
                found.append(text)
    return found


def _glue_from_notebook() -> None:
    """Make MyST-NB's glue roles in a translation find the glue data of the notebook being read."""
    from myst_nb.core.variables import RetrievalError, VariableOutput
    from myst_nb.ext.glue import roles

    original = roles.retrieve_glue_data
    if getattr(original, "book_language", False):
        return

    def retrieve_glue_data(document: nodes.document, key: str) -> Any:
        try:
            return original(document, key)
        except RetrievalError:
            env = getattr(document.settings, "env", None)
            if env is None or not str(document.get("source", "")).endswith(TRANSLATED_SOURCE):
                raise
            glued = read_glue(env.mystnb_config.output_folder, env.docname)
            if key not in glued:
                raise
            return VariableOutput(data=glued[key]["data"], metadata=glued[key].get("metadata", {}),
                                  nb_renderer=document.get("nb_renderer"), vtype="glue")

    def run_markdown(self: Any) -> tuple[list[nodes.Node], list[nodes.system_message]]:
        # MyST-NB renders glued Markdown with the notebook's renderer, which a translation
        # (parsed as plain MyST) has not: parse the value's translation inline here instead.
        env = getattr(self.document.settings, "env", None)
        if env is None or not str(self.document.get("source", "")).endswith(TRANSLATED_SOURCE):
            return run_markdown.original(self)
        key = self.text.rsplit(":", 1)[0] if ":" in self.text else self.text
        data = read_glue(env.mystnb_config.output_folder, env.docname).get(key, {}).get("data", {})
        if MARKDOWN not in data:
            return run_markdown.original(self)
        children, messages = self.inliner.parse(_translate(env, str(data[MARKDOWN])), self.line,
                                                None, nodes.inline())
        for child in children:
            self.set_source_info(child)
        return list(children), messages

    def run_text(self: Any) -> tuple[list[nodes.Node], list[nodes.system_message]]:
        # Glued words ("not tested at this budget") in a translation: the value's translation.
        found, messages = run_text.original(self)
        env = getattr(self.document.settings, "env", None)
        if env is None or not str(self.document.get("source", "")).endswith(TRANSLATED_SOURCE):
            return found, messages
        key, spec = _text_role_key(self.text)
        if "::" in key or spec not in ("", "s"):
            return found, messages
        text = glued_string(read_glue(env.mystnb_config.output_folder, env.docname).get(key, {}).get("data", {}))
        if text is None or not PROSE_WORD.search(text):
            return found, messages
        for i, node in enumerate(found):
            if isinstance(node, nodes.inline) and node.astext() == text:
                translated = _translate(env, text)
                new = nodes.inline(translated, translated, classes=node["classes"])
                self.set_source_info(new)
                found[i] = new
        return found, messages

    retrieve_glue_data.book_language = True  # type: ignore[attr-defined]
    roles.retrieve_glue_data = retrieve_glue_data
    run_markdown.original = roles.PasteMarkdownRole.run  # type: ignore[attr-defined]
    roles.PasteMarkdownRole.run = run_markdown
    run_text.original = roles.PasteTextRole.run  # type: ignore[attr-defined]
    roles.PasteTextRole.run = run_text


def _config_inited(app: Any, config: Any) -> None:
    if (config.language or translations.SOURCE_LANGUAGE) != translations.SOURCE_LANGUAGE:
        _glue_from_notebook()


# --------------------------------------------------------------------- fallback notice
def falls_back(doctree: nodes.document, catalog: Any) -> tuple[int, int]:
    """``(messages shown in English, messages)`` of a document read in a translated edition.

    The messages are the nodes Sphinx's Locale transform looked up (it marks each one
    ``translated`` or not). A message is shown in English when Locale did not translate its
    node and the catalog has no usable translation for it (one equal to the text itself is
    usable: Sphinx leaves such a node alone, and rightly).
    """
    from sphinx_exercise.nodes import exercise_title, solution_title

    missing = total = 0
    for node, message in extract_messages(doctree):
        if "translated" not in node:  # not a message of the catalog (Sphinx's Locale did not look it up)
            continue
        if isinstance(node, (exercise_title, solution_title)):
            # sphinx-exercise's box titles: "Exercise" comes translated from its own catalog, the
            # subtitle is a message of its own, and the title as a whole is never extracted.
            continue
        total += 1
        if node["translated"]:
            continue
        entry = catalog.get(message)
        if entry is None or not translations.is_translated(entry):
            missing += 1
    return missing, total


def notice(language: str, missing: int, total: int) -> nodes.admonition | None:
    """The note for a document with ``missing`` of ``total`` messages in English (None: nothing to say)."""
    if not missing or language not in NOTICES:
        return None
    title, none, some = NOTICES[language]
    text = none if missing == total else some.format(missing=missing, total=total)
    return nodes.admonition("", nodes.title("", title), nodes.paragraph("", text),
                            classes=["note", NOTICE_CLASS])


def _catalog_path(app: Any, docname: str) -> Path | None:
    """The catalog of a document in the language being built (first of ``locale_dirs``), if any."""
    language = app.config.language or translations.SOURCE_LANGUAGE
    domain = docname_to_domain(docname, app.config.gettext_compact)
    for locale_dir in app.config.locale_dirs:
        candidate = translations.catalog_dir(language, Path(app.srcdir) / locale_dir) / f"{domain}.po"
        if candidate.is_file():
            return candidate
    return None


def _doctree_read(app: Any, doctree: nodes.document) -> None:
    language = app.config.language or translations.SOURCE_LANGUAGE
    if app.builder.name == "gettext":
        _extract_unseen_messages(app, doctree)
        return
    if language == translations.SOURCE_LANGUAGE:
        return
    path = _catalog_path(app, app.env.docname)
    if path is None:  # no catalog: Sphinx translated nothing
        note = notice(language, 1, 1)
    else:
        note = notice(language, *falls_back(doctree, translations.read_catalog(path)))
    section = doctree.next_node(nodes.section)
    if note is None or section is None:
        return
    title = section.next_node(nodes.title)
    section.insert(section.index(title) + 1 if title is not None and title.parent is section else 0, note)


def setup(app: Any) -> dict[str, Any]:
    app.add_config_value("book_languages", {}, "html", types=[dict])
    app.add_transform(TranslatableExerciseSubtitles)
    app.add_transform(TranslatedExerciseCopies)
    app.connect("config-inited", _config_inited)
    if (app.config.language or translations.SOURCE_LANGUAGE) != translations.SOURCE_LANGUAGE:
        _translate_latex_box_titles(app)
    app.connect("html-page-context", _page_context)
    app.connect("doctree-read", _doctree_read)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
