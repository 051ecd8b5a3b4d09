#!/usr/bin/env python3
"""Check the translations under ``locales/`` against the English text and the glossary.

    python scripts/check_translations.py [--pot-dir _build/gettext] [--locale-dir locales]
                                         [--glossary book/glossary.md] [--language zh_CN]

``make i18ncheck`` extracts the English messages first (``--pot-dir``, one template per
chapter) and runs it. For each language with catalogs it prints the translated share of
every catalog (a message is translated when its translation is there and not fuzzy; with
``--pot-dir``, a message of the English text of now that the catalog lacks counts as
untranslated, so a paragraph changed without ``make translations`` shows up) and fails when

* **a declared chapter is incomplete**: a catalog named in ``locales/LANG/translated.txt``
  has a fuzzy or an untranslated message, or has no catalog or no template at all;
* **markup changed** in any translated message: its roles (``{glue:text}`x```,
  ``{cite}`k```, ``{prf:ref}`l```, ``{numref}`l```, ...), math (``$...$``, ``$$...$$``),
  inline code and link targets differ from the English message's, as multisets (word
  order may change; the title of a reference role, ``{ref}`title <target>```, may be
  translated, its target not);
* **a number changed**: a number written in digits outside that markup is missing;
* **a glossary term is rendered another way**: the English message names a term of the
  glossary (``book/glossary.md``: ``Mini-batch (小批量)``; plural and ``-ing`` forms, any
  hyphenation) and the translation lacks the term's rendering there, the first of the names
  in parentheses. Where the English word is used in another sense (the "normalization" of
  a sum into canonical form), a translator comment in the catalog says so and exempts
  that message: ``# not the glossary term: Normalization``.

It exits 1 if any check fails, 2 if it cannot run (no catalogs, no glossary).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from babel.messages.catalog import Catalog, Message

sys.path.insert(0, str(Path(__file__).resolve().parent))
import translations  # noqa: E402  (scripts/translations.py)

GLOSSARY = translations.REPO / "book" / "glossary.md"
# MyST inline markup that must survive translation, in the order a scanner tries it at each position.
MARKUP = re.compile(
    r"\{(?P<role>[A-Za-z][\w:.+-]*)\}(?P<rtick>`+)(?P<body>.+?)(?P=rtick)"  # {role}`body`
    r"|(?P<ctick>`+)(?P<code>.+?)(?P=ctick)"                                 # `code`
    r"|(?<!\\)\$\$(?P<dmath>.+?)(?<!\\)\$\$"                                 # $$display$$
    r"|(?<!\\)\$(?P<math>[^$]+?)(?<!\\)\$"                                   # $inline$
    r"|\]\((?P<target>[^()\s]+(?:\([^()\s]*\)[^()\s]*)*)\)"                  # [text](target)
    r"|<(?P<url>https?://[^>\s]+)>",                                         # <https://...>
    re.S,
)
# Roles whose body may be "title <target>": the title is prose, the target is not.
TITLED_ROLES = {"ref", "doc", "numref", "prf:ref", "term", "eq", "download", "any", "std:ref", "std:doc"}
TITLED = re.compile(r"^(?P<title>.*?)\s*<(?P<target>[^<>]+)>$", re.S)
# A number written in digits, not part of a name (float64, L2, x_1) nor of an ordinal (2nd).
NUMBER = re.compile(r"(?<![A-Za-z0-9_.])\d+(?:\.\d+)*(?![A-Za-z_]|\.\d)")
GLOSSARY_BLOCK = re.compile(r"^(`{3,}|:{3,})\{glossary\}[^\n]*\n(?P<body>.*?)^\1\s*$", re.S | re.M)
GLOSSARY_TERM = re.compile(r"^(?P<english>[^\s(][^(]*?)\s*\((?P<names>[^)]*)\)\s*$")


class CheckError(RuntimeError):
    """The check could not run (a one-line message)."""


# --------------------------------------------------------------------- markup and numbers
def markup(text: str) -> Counter[tuple[str, str]]:
    """The roles, math, inline code and link targets of a MyST message, as a multiset of ``(kind, text)``."""
    found: Counter[tuple[str, str]] = Counter()
    for m in MARKUP.finditer(text):
        if m.group("role"):
            role, body = m.group("role"), m.group("body")
            titled = TITLED.match(body) if role in TITLED_ROLES else None
            found[(f"{{{role}}}", titled.group("target") if titled else body)] += 1
        else:
            kind = next(k for k in ("code", "dmath", "math", "target", "url") if m.group(k) is not None)
            found[(kind, m.group(kind).strip() if kind.endswith("math") else m.group(kind))] += 1
    return found


def prose(text: str) -> str:
    """The message with its markup (see :func:`markup`) taken out: what a translator rewrites."""
    return MARKUP.sub(" ", text)


def numbers(text: str) -> Counter[str]:
    """The numbers written in digits in the prose of a message."""
    return Counter(NUMBER.findall(prose(text)))


def _difference(english: Counter, translated: Counter) -> str:
    lost, added = english - translated, translated - english
    parts = []
    if lost:
        parts.append("lost " + ", ".join(_show(k) for k in sorted(lost)))
    if added:
        parts.append("added " + ", ".join(_show(k) for k in sorted(added)))
    return "; ".join(parts)


def _show(item: tuple[str, str] | str) -> str:
    if isinstance(item, str):
        return item
    kind, text = item
    text = text if len(text) <= 40 else text[:37] + "..."
    return {"code": f"`{text}`", "math": f"${text}$", "dmath": f"$${text}$$", "target": f"]({text})",
            "url": f"<{text}>"}.get(kind, f"{kind}`{text}`")


# --------------------------------------------------------------------- glossary terms
@dataclass(frozen=True)
class Term:
    """A glossary entry: the English term and its names in the other language, the book's first."""

    english: str
    names: tuple[str, ...]

    @property
    def pattern(self) -> re.Pattern[str]:
        """The term in English prose: any case, words joined by spaces, hyphens or nothing, plural or -ing."""
        words = [re.escape(w) for w in re.split(r"[\s-]+", self.english.strip()) if w]
        return re.compile(r"\b" + r"[\s-]*".join(words) + r"(?:s|es|ing)?\b", re.I)

    @property
    def rendering(self) -> str:
        return self.names[0]


def glossary_terms(markdown: str) -> list[Term]:
    """The terms of the ``{glossary}`` block: unindented lines ``English (名称, 别名)``."""
    block = GLOSSARY_BLOCK.search(markdown)
    if block is None:
        raise CheckError("no {glossary} block in the glossary")
    terms = []
    for line in block.group("body").splitlines():
        if not line.strip() or line[0].isspace():
            continue
        m = GLOSSARY_TERM.match(line)
        if m is None:
            raise CheckError(f"glossary term without names in parentheses: {line.strip()!r}")
        names = tuple(n.strip() for n in m.group("names").split(",") if n.strip())
        terms.append(Term(m.group("english").strip(), names))
    if not terms:
        raise CheckError("the {glossary} block has no terms")
    return terms


NOT_THE_TERM = re.compile(r"^\s*not the glossary term:\s*(?P<term>.+?)\s*$", re.I)


def exempt_terms(comments: list[str]) -> set[str]:
    """The terms a message's translator comments exempt (``not the glossary term: X``), lower case."""
    return {m.group("term").lower() for c in comments if (m := NOT_THE_TERM.match(c))}


def term_problems(msgid: str, msgstr: str, terms: list[Term], exempt: set[str] = frozenset()) -> list[str]:
    """Each glossary term that the English message names and the translation renders otherwise."""
    english = prose(msgid)
    return [f"{t.english!r} is {t.rendering}" for t in terms
            if t.english.lower() not in exempt and t.pattern.search(english) and t.rendering not in msgstr]


# --------------------------------------------------------------------- one message
def message_problems(message: Message, terms: list[Term]) -> list[str]:
    """What is wrong with one translated message (empty when all is well, or when it is not translated)."""
    if not translations.is_translated(message):
        return []
    msgid, msgstr = str(message.id), str(message.string)
    problems = []
    diff = _difference(markup(msgid), markup(msgstr))
    if diff:
        problems.append(f"markup: {diff}")
    diff = _difference(numbers(msgid), numbers(msgstr))
    if diff:
        problems.append(f"numbers: {diff}")
    exempt = exempt_terms(list(message.user_comments))
    problems += [f"term: {p}" for p in term_problems(msgid, msgstr, terms, exempt)]
    return problems


# --------------------------------------------------------------------- catalogs
@dataclass
class Report:
    """The check of one language's catalogs."""

    language: str
    progress: list[translations.Progress] = field(default_factory=list)
    declared: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_language(language: str, locale_dir: Path, terms: list[Term], pot_dir: Path | None = None) -> Report:
    """Shares, declared chapters and every translated message of one language."""
    report = Report(language, declared=translations.declared(language, locale_dir))
    found = translations.catalogs(language, locale_dir)
    templates = ({p.relative_to(pot_dir).with_suffix("").as_posix(): p for p in sorted(pot_dir.rglob("*.pot"))}
                 if pot_dir is not None else {})
    for domain in sorted(set(found) | set(templates)):
        catalog = translations.read_catalog(found[domain]) if domain in found else Catalog()
        template = translations.read_catalog(templates[domain]) if domain in templates else None
        report.progress.append(translations.progress(domain, catalog, template))
        for message in catalog:
            if message.id and (template is None or message.id in template):
                for problem in message_problems(message, terms):
                    report.problems.append(f"{domain}: {problem} in {_excerpt(str(message.id))!r}")
    by_domain = {p.domain: p for p in report.progress}
    for pattern in report.declared:
        matched = translations.matching([pattern], by_domain)
        if not matched:
            report.problems.append(f"{translations.DECLARED_FILE} declares {pattern!r}, which is no catalog or template")
        for domain in matched:
            p = by_domain[domain]
            if domain not in found:
                report.problems.append(f"{domain}: declared translated but has no catalog (make translations)")
            elif pot_dir is not None and domain not in templates:
                report.problems.append(f"{domain}: declared translated but the English text has no such document")
            elif p.fuzzy or p.untranslated:
                report.problems.append(f"{domain}: declared translated but has {p.fuzzy} fuzzy and "
                                       f"{p.untranslated} untranslated messages")
    return report


def _excerpt(text: str, width: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def share_table(report: Report) -> list[str]:
    """One line per catalog: the share translated, fuzzy and untranslated counts, declared or not."""
    declared = set(translations.matching(report.declared, [p.domain for p in report.progress]))
    lines = []
    for p in report.progress:
        mark = "declared" if p.domain in declared else ""
        lines.append(f"{report.language} {p.domain:<45} {100 * p.share:5.1f} % "
                     f"({p.translated}/{p.total}; {p.fuzzy} fuzzy, {p.untranslated} untranslated) {mark}".rstrip())
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pot-dir", type=Path, help="the English templates (make gettext: _build/gettext)")
    parser.add_argument("--locale-dir", type=Path, default=translations.LOCALE_DIR)
    parser.add_argument("--glossary", type=Path, default=GLOSSARY)
    parser.add_argument("--language", action="append", help="check only this language (repeatable)")
    args = parser.parse_args(argv)
    try:
        if args.pot_dir is not None and not any(args.pot_dir.rglob("*.pot")):
            raise CheckError(f"no templates under {args.pot_dir} (make gettext)")
        if not args.glossary.is_file():
            raise CheckError(f"no glossary at {args.glossary}")
        terms = glossary_terms(args.glossary.read_text(encoding="utf-8"))
        langs = args.language or translations.languages(args.locale_dir)
        if not langs:
            raise CheckError(f"no catalogs under {args.locale_dir}")
        reports = [check_language(lang, args.locale_dir, terms, args.pot_dir) for lang in langs]
    except CheckError as exc:
        print(f"check_translations: {exc}", file=sys.stderr)
        return 2
    for report in reports:
        for line in share_table(report):
            print(line)
        for problem in report.problems:
            print(f"FAIL {report.language} {problem}")
        total = sum(p.total for p in report.progress)
        done = sum(p.translated for p in report.progress)
        print(f"check_translations: {report.language}: {done}/{total} messages translated "
              f"({100 * done / max(total, 1):.1f} %), {len(report.declared)} catalogs declared translated, "
              f"{len(report.problems)} problems")
    return 0 if all(r.ok for r in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
