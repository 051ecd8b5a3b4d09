#!/usr/bin/env python3
"""The book's editions in other languages: catalogs, and the configuration each edition builds with.

    python scripts/translations.py extract _build/gettext        # the _book template (see below)
    python scripts/translations.py edition zh_CN _build/zh_CN    # _config.yml and _toc.yml of an edition

The prose of every chapter is translated with Sphinx's own machinery: the gettext
builder extracts one template per document (``gettext_compact: false`` in
``_config.yml``), ``sphinx-intl update`` keeps one catalog per document under
``locales/LANG/LC_MESSAGES/`` in step with it, and a build with ``language: LANG``
reads the catalogs (``make translations`` runs the first two; ``make book LANG=zh_CN``
the last). What Sphinx does not extract, the book's title and author (``_config.yml``)
and the part captions (``_toc.yml``), goes to one more template, ``_book.pot``, written by
``extract``; ``edition`` writes the edition's ``_config.yml`` (the English one with
``language`` set and the title translated) and ``_toc.yml`` (captions translated), which
``jupyter-book build --config ... --toc ...`` then reads. Setting ``language`` in the
configuration Jupyter Book hands to Sphinx, rather than in an extension, means Sphinx and
every extension (box titles, "Fig.", the theme's labels) start in that language.

Catalogs are read and written with Babel (what Sphinx and sphinx-intl use).
"""

from __future__ import annotations

import argparse
import fnmatch
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

import yaml
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po, write_po

REPO = Path(__file__).resolve().parent.parent
LOCALE_DIR = REPO / "locales"
SOURCE_LANGUAGE = "en"
# The catalog of what Sphinx does not extract: the title and author in _config.yml, the part captions in _toc.yml.
BOOK_DOMAIN = "_book"
# The file, per language, that declares which catalogs are translated (``make i18ncheck`` holds them to 100 %).
DECLARED_FILE = "translated.txt"


class TranslationError(RuntimeError):
    """A catalog or configuration the command needs is missing or malformed (a one-line message)."""


# --------------------------------------------------------------------- catalogs
def catalog_dir(language: str, locale_dir: Path = LOCALE_DIR) -> Path:
    """Where a language's catalogs live: ``locales/LANG/LC_MESSAGES``."""
    return locale_dir / language / "LC_MESSAGES"


def read_catalog(path: Path) -> Catalog:
    """A ``.po`` or ``.pot`` file as a Babel catalog."""
    with path.open("rb") as f:
        return read_po(f, charset="utf-8")


def write_catalog(path: Path, catalog: Catalog) -> None:
    """Write a catalog (``.pot`` or ``.po``) as Babel and sphinx-intl write it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        write_po(f, catalog, width=76)


def catalogs(language: str, locale_dir: Path = LOCALE_DIR) -> dict[str, Path]:
    """Every catalog of a language by domain (``book/derivations/01_transform``, ``_book``)."""
    root = catalog_dir(language, locale_dir)
    return {p.relative_to(root).with_suffix("").as_posix(): p for p in sorted(root.rglob("*.po"))}


def is_translated(message: Message) -> bool:
    """A message the build uses: a translation that is not fuzzy (Sphinx ignores fuzzy ones)."""
    return bool(message.id) and bool(message.string) and not message.fuzzy


def translator(language: str, domain: str, locale_dir: Path = LOCALE_DIR) -> Callable[[str], str]:
    """``text -> translation`` from one catalog; the text itself where it has no usable translation."""
    path = catalog_dir(language, locale_dir) / f"{domain}.po"
    if language == SOURCE_LANGUAGE or not path.is_file():
        return lambda text: text
    catalog = read_catalog(path)

    def translate(text: str) -> str:
        message = catalog.get(text)
        return message.string if message is not None and is_translated(message) else text

    return translate


@dataclass(frozen=True)
class Progress:
    """How much of one catalog is translated."""

    domain: str
    total: int
    translated: int
    fuzzy: int

    @property
    def untranslated(self) -> int:
        return self.total - self.translated - self.fuzzy

    @property
    def share(self) -> float:
        """Translated messages over all messages (1.0 for an empty catalog)."""
        return self.translated / self.total if self.total else 1.0


def progress(domain: str, catalog: Catalog, template: Catalog | None = None) -> Progress:
    """Count a catalog's messages; with its current template, messages the catalog lacks count as untranslated."""
    ids = {m.id for m in catalog if m.id}
    extra = sum(1 for m in template if m.id and m.id not in ids) if template is not None else 0
    wanted = {m.id for m in template if m.id} if template is not None else ids
    messages = [m for m in catalog if m.id and m.id in wanted]
    return Progress(domain, len(messages) + extra, sum(map(is_translated, messages)),
                    sum(1 for m in messages if m.fuzzy))


def declared(language: str, locale_dir: Path = LOCALE_DIR) -> list[str]:
    """The domains ``locales/LANG/translated.txt`` declares translated (one a line, ``#`` comments)."""
    path = locale_dir / language / DECLARED_FILE
    if not path.is_file():
        return []
    lines = (line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line]


def languages(locale_dir: Path = LOCALE_DIR) -> list[str]:
    """The languages that have catalogs (``locales/LANG/LC_MESSAGES``)."""
    return sorted(p.parent.name for p in locale_dir.glob("*/LC_MESSAGES") if p.is_dir())


# --------------------------------------------------------------------- the _book template
def book_messages(config: dict[str, Any], toc: dict[str, Any]) -> list[tuple[str, str]]:
    """``(text, where)`` for the title and author of ``_config.yml`` and every part caption of ``_toc.yml``."""
    found = [(str(config[key]), f"_config.yml:{key}") for key in ("title", "author") if config.get(key)]
    found += [(str(part["caption"]), "_toc.yml:caption") for part in toc.get("parts", []) if part.get("caption")]
    return found


def book_template(root: Path = REPO) -> Catalog:
    """The ``_book`` template: the messages of :func:`book_messages`, in the book's order."""
    config = _load_yaml(root / "_config.yml")
    toc = _load_yaml(root / "_toc.yml")
    catalog = Catalog(project=str(config.get("title", "")), charset="utf-8")
    for text, where in book_messages(config, toc):
        catalog.add(text, locations=[(where.split(":")[0], None)], auto_comments=[where])
    return catalog


def _load_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise TranslationError(f"{path} not found")
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


# --------------------------------------------------------------------- an edition's configuration
# LaTeX: the macro the preamble of _config.yml compares each \part title with, to start the
# appendix; an edition defines it first, translated.
APPENDICES_MACRO = r"\bnappendices"
APPENDICES = "Appendices"


def edition_files(language: str, root: Path = REPO, locale_dir: Path = LOCALE_DIR) -> tuple[dict, dict]:
    """The ``_config.yml`` and ``_toc.yml`` of a language's edition, as dictionaries.

    The English files with: ``language`` set in the Sphinx configuration; the title, the
    author and the part captions translated from the ``_book`` catalog; local extension
    folders made absolute (Jupyter Book resolves them against the configuration file's
    folder, and the edition's file lives under ``_build``); for LaTeX, the appendix part's
    title in the language, the language's typesetting conventions (``latex/preamble-LANG.tex``:
    the names of the contents and of chapters), and xeCJK's verbatim add-on for Chinese and
    Japanese (as Sphinx's own default for those languages, which the book's ``fvset`` replaces).
    """
    if language == SOURCE_LANGUAGE:
        raise TranslationError(f"{language} is the source language: build it from _config.yml itself")
    if not catalog_dir(language, locale_dir).is_dir():
        known = ", ".join(languages(locale_dir)) or "none"
        raise TranslationError(f"no catalogs for {language!r} under {locale_dir} (languages with catalogs: {known})")
    config = _load_yaml(root / "_config.yml")
    toc = _load_yaml(root / "_toc.yml")
    t = translator(language, BOOK_DOMAIN, locale_dir)
    for key in ("title", "author"):
        if config.get(key):
            config[key] = t(str(config[key]))
    for part in toc.get("parts", []):
        if part.get("caption"):
            part["caption"] = t(str(part["caption"]))
    sphinx = config.setdefault("sphinx", {})
    sphinx.setdefault("config", {})["language"] = language
    sphinx["local_extensions"] = {name: str((root / folder).resolve()) + "/"
                                  for name, folder in (sphinx.get("local_extensions") or {}).items()}
    latex = sphinx["config"].setdefault("latex_elements", {})
    conventions = root / "latex" / f"preamble-{language}.tex"
    latex["preamble"] = (f"\\def{APPENDICES_MACRO}{{{t(APPENDICES)}}}\n"
                         + (conventions.read_text(encoding="utf-8") if conventions.is_file() else "")
                         + latex.get("preamble", ""))
    if language.split("_")[0] in ("zh", "ja"):
        latex["fvset"] = latex.get("fvset", "") + "\n\\fvset{formatcom=\\xeCJKVerbAddon}"
    return config, toc


def write_edition(language: str, outdir: Path, root: Path = REPO, locale_dir: Path = LOCALE_DIR) -> list[Path]:
    """Write the edition's ``_config.yml`` and ``_toc.yml`` into ``outdir``; return their paths."""
    config, toc = edition_files(language, root, locale_dir)
    outdir.mkdir(parents=True, exist_ok=True)
    paths = [outdir / "_config.yml", outdir / "_toc.yml"]
    header = f"# Generated by scripts/translations.py for the {language} edition: edit _config.yml and _toc.yml instead.\n"
    for path, data in zip(paths, (config, toc)):
        path.write_text(header + yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1000),
                        encoding="utf-8")
    return paths


def matching(patterns: Iterable[str], domains: Iterable[str]) -> list[str]:
    """The domains that match any of the (fnmatch) patterns."""
    patterns = list(patterns)
    return [d for d in domains if any(fnmatch.fnmatchcase(d, p) for p in patterns)]


# --------------------------------------------------------------------- command line
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("extract", help="write _book.pot (title, author, part captions) into the gettext folder")
    ex.add_argument("pot_dir", type=Path)
    ed = sub.add_parser("edition", help="write the _config.yml and _toc.yml of a language's edition")
    ed.add_argument("language")
    ed.add_argument("outdir", type=Path)
    args = parser.parse_args(argv)
    try:
        if args.command == "extract":
            write_catalog(args.pot_dir / f"{BOOK_DOMAIN}.pot", book_template())
        else:
            for path in write_edition(args.language, args.outdir):
                print(f"translations: wrote {path}")
    except TranslationError as exc:
        print(f"translations: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
