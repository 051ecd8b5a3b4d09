"""The translated editions: scripts/check_translations.py, scripts/translations.py,
scripts/book_language.py and the Makefile's LANG.

The checks are tested on small synthetic catalogs, each problem once; the book's own
catalogs must pass them. The Sphinx extension is tested by building a three-page Sphinx
project in Chinese (seconds); the whole book is built by ``make book LANG=zh_CN``.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from babel.messages.catalog import Catalog

from tests.conftest import load_script

REPO = Path(__file__).resolve().parent.parent
translations = load_script("translations")
check = load_script("check_translations")
book_language = load_script("book_language")

TERMS = [check.Term("Mini-batch", ("小批量",)), check.Term("Normalization", ("归一化", "标准化")),
         check.Term("Learning rate", ("学习率",))]


def _message(msgid: str, msgstr: str, fuzzy: bool = False, comments: list[str] | None = None):
    catalog = Catalog()
    catalog.add(msgid, msgstr, flags=["fuzzy"] if fuzzy else [], user_comments=comments or [])
    return catalog[msgid]


# --------------------------------------------------------------------- markup, numbers, terms
def test_markup_finds_roles_math_code_and_link_targets():
    found = check.markup("See {glue:text}`k:.2f` and $x_i$, $$y$$, `code`, [text](a/b.ipynb) "
                         "and {ref}`the title <label>`.")
    assert found == {("{glue:text}", "k:.2f"): 1, ("math", "x_i"): 1, ("dmath", "y"): 1,
                     ("code", "code"): 1, ("target", "a/b.ipynb"): 1, ("{ref}", "label"): 1}


GOOD = ("The mini-batch mean is $\\mu$ ({glue:text}`m:.3f`, `mean`); see [there](x.ipynb) and "
        "{prf:ref}`thm-a`, Section 3.2.")


def test_a_faithful_translation_passes():
    zh = "小批量的均值为 $\\mu$（{glue:text}`m:.3f`，`mean`）；见[那里](x.ipynb)与 {prf:ref}`thm-a`，第 3.2 节。"
    assert check.message_problems(_message(GOOD, zh), TERMS) == []


@pytest.mark.parametrize("zh, problem", [
    ("小批量的均值为 $\\mu$（{glue:text}`m:.2f`，`mean`）；见[那里](x.ipynb)与 {prf:ref}`thm-a`，第 3.2 节。",
     "markup: lost {glue:text}`m:.3f`; added {glue:text}`m:.2f`"),
    ("小批量的均值为 $\\mu_B$（{glue:text}`m:.3f`，`mean`）；见[那里](x.ipynb)与 {prf:ref}`thm-a`，第 3.2 节。",
     "markup: lost $\\mu$; added $\\mu_B$"),
    ("小批量的均值为 $\\mu$（{glue:text}`m:.3f`）；见[那里](x.ipynb)与 {prf:ref}`thm-a`，第 3.2 节。",
     "markup: lost `mean`"),
    ("小批量的均值为 $\\mu$（{glue:text}`m:.3f`，`mean`）；见[那里](y.ipynb)与 {prf:ref}`thm-a`，第 3.2 节。",
     "markup: lost ](x.ipynb); added ](y.ipynb)"),
    ("小批量的均值为 $\\mu$（{glue:text}`m:.3f`，`mean`）；见[那里](x.ipynb)与 {prf:ref}`thm-a`，第 3.3 节。",
     "numbers: lost 3.2; added 3.3"),
    ("最小批的均值为 $\\mu$（{glue:text}`m:.3f`，`mean`）；见[那里](x.ipynb)与 {prf:ref}`thm-a`，第 3.2 节。",
     "term: 'Mini-batch' is 小批量"),
])
def test_each_change_is_reported(zh, problem):
    assert check.message_problems(_message(GOOD, zh), TERMS) == [problem]


def test_the_title_of_a_reference_role_may_be_translated_but_not_its_target():
    en = "As {numref}`Figure %s <fig-a>` shows."
    assert check.message_problems(_message(en, "如 {numref}`图 %s <fig-a>` 所示。"), TERMS) == []
    assert check.message_problems(_message(en, "如 {numref}`图 %s <fig-b>` 所示。"), TERMS) != []


def test_terms_match_plurals_hyphenation_and_case_but_not_inside_code_or_other_words():
    assert check.term_problems("Two mini batches and Minibatches.", "两个批量。", TERMS) == ["'Mini-batch' is 小批量"]
    assert check.term_problems("Learning-rate schedules", "学习率调度", TERMS) == []
    assert check.term_problems("Call `normalization(x)` for renormalization.", "调用 `normalization(x)` 做重归一。",
                               TERMS) == []


def test_a_translator_comment_exempts_a_word_used_in_another_sense():
    en = "Sums are compared after a normalization that pulls factors out."
    assert check.message_problems(_message(en, "比较求和之前先做规范化。"), TERMS) == ["term: 'Normalization' is 归一化"]
    exempt = _message(en, "比较求和之前先做规范化。", comments=["not the glossary term: Normalization"])
    assert check.message_problems(exempt, TERMS) == []


def test_untranslated_and_fuzzy_messages_are_not_checked_for_markup():
    assert check.message_problems(_message(GOOD, ""), TERMS) == []
    assert check.message_problems(_message(GOOD, "错的", fuzzy=True), TERMS) == []


def test_the_glossary_gives_each_term_and_its_first_chinese_name():
    terms = {t.english: t.rendering for t in check.glossary_terms((REPO / "book" / "glossary.md").read_text())}
    assert terms["Batch normalization"] == "批归一化" and terms["Mini-batch"] == "小批量"
    assert terms["Internal covariate shift"] == "内部协变量偏移" and len(terms) >= 20


def test_a_glossary_term_without_chinese_names_is_an_error():
    with pytest.raises(check.CheckError, match="without names"):
        check.glossary_terms("```{glossary}\nBatch normalization\n  Text.\n```\n")


# --------------------------------------------------------------------- catalogs and declarations
def _locales(tmp_path: Path, catalogs: dict[str, dict[str, tuple[str, bool]]], declared: list[str]) -> Path:
    """A locales folder for zh_CN: domain -> {msgid: (msgstr, fuzzy)}; returns the folder."""
    root = tmp_path / "locales"
    for domain, messages in catalogs.items():
        catalog = Catalog(locale="zh_CN")
        for msgid, (msgstr, fuzzy) in messages.items():
            catalog.add(msgid, msgstr, flags=["fuzzy"] if fuzzy else [])
        translations.write_catalog(root / "zh_CN" / "LC_MESSAGES" / f"{domain}.po", catalog)
    (root / "zh_CN" / "translated.txt").write_text("# declared\n" + "".join(d + "\n" for d in declared))
    return root


def _templates(tmp_path: Path, templates: dict[str, list[str]]) -> Path:
    root = tmp_path / "gettext"
    for domain, ids in templates.items():
        catalog = Catalog()
        for msgid in ids:
            catalog.add(msgid)
        translations.write_catalog(root / f"{domain}.pot", catalog)
    return root


def test_shares_count_fuzzy_untranslated_and_messages_the_catalog_lacks(tmp_path):
    locales = _locales(tmp_path, {"book/a": {"One.": ("一。", False), "Two.": ("二。", True), "Three.": ("", False)}},
                       [])
    pots = _templates(tmp_path, {"book/a": ["One.", "Two.", "Three.", "Four."]})
    report = check.check_language("zh_CN", locales, TERMS, pots)
    (p,) = report.progress
    assert (p.total, p.translated, p.fuzzy, p.untranslated) == (4, 1, 1, 2) and p.share == 0.25
    assert report.ok  # not declared: a partial translation is allowed
    assert "25.0 % (1/4; 1 fuzzy, 2 untranslated)" in check.share_table(report)[0]


@pytest.mark.parametrize("messages, templates, problem", [
    ({"One.": ("一。", True)}, ["One."], "book/a: declared translated but has 1 fuzzy and 0 untranslated"),
    ({"One.": ("", False)}, ["One."], "book/a: declared translated but has 0 fuzzy and 1 untranslated"),
    ({"One.": ("一。", False)}, ["One.", "New."], "book/a: declared translated but has 0 fuzzy and 1 untranslated"),
])
def test_a_declared_chapter_must_be_complete(tmp_path, messages, templates, problem):
    locales = _locales(tmp_path, {"book/a": messages}, ["book/a"])
    report = check.check_language("zh_CN", locales, TERMS, _templates(tmp_path, {"book/a": templates}))
    assert [p.split(" messages")[0] for p in report.problems] == [problem]


def test_a_declaration_that_names_nothing_is_an_error(tmp_path):
    locales = _locales(tmp_path, {"book/a": {"One.": ("一。", False)}}, ["book/a", "book/typo"])
    report = check.check_language("zh_CN", locales, TERMS)
    assert report.problems == ["translated.txt declares 'book/typo', which is no catalog or template"]


def test_main_exits_1_on_a_problem_0_when_clean_2_when_it_cannot_run(tmp_path, capsys):
    glossary = tmp_path / "glossary.md"
    glossary.write_text("```{glossary}\nMini-batch (小批量)\n  The examples.\n```\n")
    bad = _locales(tmp_path / "bad", {"book/a": {"A mini-batch.": ("一个批量。", False)}}, ["book/a"])
    assert check.main(["--locale-dir", str(bad), "--glossary", str(glossary)]) == 1
    assert "FAIL zh_CN book/a: term: 'Mini-batch' is 小批量" in capsys.readouterr().out
    good = _locales(tmp_path / "good", {"book/a": {"A mini-batch.": ("一个小批量。", False)}}, ["book/a"])
    assert check.main(["--locale-dir", str(good), "--glossary", str(glossary)]) == 0
    assert check.main(["--locale-dir", str(tmp_path / "none"), "--glossary", str(glossary)]) == 2
    assert capsys.readouterr().err.strip().count("\n") == 0


def test_the_books_translations_keep_markup_numbers_and_terms():
    """Every translated message in locales/ passes; the declared catalogs have nothing fuzzy or untranslated.

    (Against the English text of now, ``make i18ncheck`` also counts messages the catalogs lack.)
    """
    terms = check.glossary_terms((REPO / "book" / "glossary.md").read_text())
    for language in translations.languages():
        report = check.check_language(language, translations.LOCALE_DIR, terms)
        assert report.problems == [], report.problems[:5]
        assert report.declared, f"{language}: no catalog declared translated"


# --------------------------------------------------------------------- the edition's configuration
def test_the_edition_config_sets_the_language_and_translates_title_and_captions(tmp_path):
    locales = _locales(tmp_path, {"_book": {"My Book": ("我的书", False), "Part I: One": ("第一部分：一", False),
                                            "Appendices": ("附录", False)}}, [])
    (tmp_path / "_config.yml").write_text(yaml.safe_dump({
        "title": "My Book", "author": "Us",
        "sphinx": {"local_extensions": {"ext": "scripts/"},
                   "config": {"latex_elements": {"preamble": "% book", "fvset": "\\fvset{fontsize=\\small}"}}}}))
    (tmp_path / "_toc.yml").write_text(yaml.safe_dump({"format": "jb-book", "root": "index", "parts": [
        {"caption": "Part I: One", "chapters": [{"file": "a"}]}, {"caption": "Appendices", "chapters": [{"file": "b"}]}]}))
    config, toc = translations.edition_files("zh_CN", tmp_path, locales)
    assert config["title"] == "我的书" and config["author"] == "Us"  # untranslated text stays English
    assert config["sphinx"]["config"]["language"] == "zh_CN"
    assert config["sphinx"]["local_extensions"]["ext"] == str((tmp_path / "scripts").resolve()) + "/"
    assert [p["caption"] for p in toc["parts"]] == ["第一部分：一", "附录"]
    latex = config["sphinx"]["config"]["latex_elements"]
    assert latex["preamble"].startswith("\\def\\bnappendices{附录}\n") and latex["preamble"].endswith("% book")
    assert latex["fvset"].endswith("\\fvset{formatcom=\\xeCJKVerbAddon}")
    book = translations.book_template(tmp_path)
    assert [m.id for m in book if m.id] == ["My Book", "Us", "Part I: One", "Appendices"]


def test_the_book_appendix_macro_is_defined_where_the_english_preamble_compares_part_titles():
    preamble = yaml.safe_load((REPO / "_config.yml").read_text())["sphinx"]["config"]["latex_elements"]["preamble"]
    assert "\\ifdefined\\bnappendices\\else\\def\\bnappendices{Appendices}\\fi" in preamble
    assert "\\ifx\\bn@title\\bnappendices\\appendix\\fi" in preamble


def test_an_edition_without_catalogs_is_a_one_line_error(tmp_path):
    with pytest.raises(translations.TranslationError, match="no catalogs for 'fr'"):
        translations.edition_files("fr", REPO, tmp_path)
    with pytest.raises(translations.TranslationError, match="source language"):
        translations.edition_files("en")


# --------------------------------------------------------------------- the Sphinx extension
def test_edition_links_climb_out_of_the_page_folder_into_the_sibling_edition():
    editions = {"en": {"name": "English", "html": "html"}, "zh_CN": {"name": "简体中文", "html": "html-zh_CN"}}
    links = book_language.edition_links("book/derivations/01_transform", "en", editions)
    assert links[0]["href"] is None
    assert links[1] == {"code": "zh_CN", "name": "简体中文", "hreflang": "zh-CN",
                        "href": "../../../html-zh_CN/book/derivations/01_transform.html"}


PAGES = {
    "index": "Home\n====\n\nAll translated.\n\n.. toctree::\n\n   part\n   other\n",
    "part": ("Part\n====\n\nThe first paragraph.\n\nThe second paragraph.\n\n"
             ".. exercise:: Routine\n   :label: ex-a\n\n   Compute it.\n\n"
             ".. solution:: ex-a\n\n   It is so.\n"),
    "other": "Other\n=====\n\nNo catalog at all.\n",
}
PO = {"index": {"Home": "首页", "All translated.": "全部已译。"},
      "part": {"Part": "部分", "The first paragraph.": "第一段。", "The second paragraph.": "",
               "Routine": "基础", "Compute it.": "算出来。", "It is so.": "就是这样。"}}


def _sphinx_project(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text(
        f"import sys\nsys.path.insert(0, {str(REPO / 'scripts')!r})\n"
        "extensions = ['sphinx_exercise', 'book_language']\n"
        f"templates_path = [{str(REPO / '_templates')!r}]\n"
        "locale_dirs = ['locales/']\ngettext_compact = False\n"
        "book_languages = {'en': {'name': 'English', 'html': 'html'},"
        " 'zh_CN': {'name': '简体中文', 'html': 'html-zh_CN'}}\n")
    for name, text in PAGES.items():
        (src / f"{name}.rst").write_text(text)
    for domain, messages in PO.items():
        catalog = Catalog(locale="zh_CN")
        for msgid, msgstr in messages.items():
            catalog.add(msgid, msgstr)
        translations.write_catalog(src / "locales" / "zh_CN" / "LC_MESSAGES" / f"{domain}.po", catalog)
    return src


def _build(src: Path, out: Path, builder: str, language: str) -> None:
    from sphinx.cmd.build import build_main

    assert build_main(["-q", "-E", "-b", builder, "-D", f"language={language}", str(src), str(out)]) == 0


def test_a_chinese_build_links_to_english_says_what_falls_back_and_translates_exercise_subtitles(tmp_path):
    src = _sphinx_project(tmp_path)
    _build(src, tmp_path / "html-zh_CN", "html", "zh_CN")
    page = {name: (tmp_path / "html-zh_CN" / f"{name}.html").read_text() for name in PAGES}
    assert 'href="../html/part.html" hreflang="en"' in page["part"]
    assert 'rel="alternate" hreflang="en"' in page["part"]
    assert book_language.NOTICE_CLASS not in page["index"]
    assert "本章尚有 1 段（共 " in page["part"] and "The second paragraph." in page["part"]
    assert "本章尚未译成中文" in page["other"]
    assert "Routine" not in page["part"] and page["part"].count("基础") == 2  # the exercise and its solution


def test_the_english_build_has_the_switch_and_no_notice(tmp_path):
    src = _sphinx_project(tmp_path)
    _build(src, tmp_path / "html", "html", "en")
    page = (tmp_path / "html" / "part.html").read_text()
    assert 'href="../html-zh_CN/part.html" hreflang="zh-CN"' in page
    assert book_language.NOTICE_CLASS not in page and "Routine" in page


def test_gettext_extracts_the_exercise_subtitles(tmp_path):
    src = _sphinx_project(tmp_path)
    _build(src, tmp_path / "gettext", "gettext", "en")
    template = translations.read_catalog(tmp_path / "gettext" / "part.pot")
    assert {"Routine", "The first paragraph.", "Compute it."} <= {m.id for m in template if m.id}


def test_glued_words_are_the_prose_strings_that_text_roles_paste_without_a_number_format():
    def text(value):
        return {"data": {"text/plain": repr(value)}}
    glued = {"verdict": text("not tested at this budget"), "rise": text("still rising (late rise +1.0 points > spread 0.6)"),
             "tol": text("1e-05"), "torch": text("2.13.0+cpu"), "ok": text("True"), "n": {"data": {"text/plain": "64"}},
             "md": {"data": {"text/markdown": "more", "text/plain": "<IPython.core.display.Markdown object>"}},
             "unused": text("never pasted")}
    messages = ["It is *{glue:text}`verdict`* here and {glue:text}`verdict:s` there ({glue:text}`rise`).",
                "Tolerance {glue:text}`tol`, torch {glue:text}`torch`, {glue:text}`ok`, {glue:text}`n:.0f`, "
                "{glue:md}`md`, {glue:text}`other.ipynb::verdict` and {glue:text}`missing`."]
    assert book_language.glued_words(glued, messages) == [
        "not tested at this budget", "still rising (late rise +1.0 points > spread 0.6)"]
    assert book_language.glued_string(glued["n"]["data"]) is None and book_language.glued_string(glued["md"]["data"]) is None


# --------------------------------------------------------------------- the Makefile's LANG
def _make_n(*args: str, env_lang: str = "en_US.UTF-8") -> subprocess.CompletedProcess:
    return subprocess.run(["make", "-n", "-B", *args], cwd=REPO, capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin:/usr/local/bin", "LANG": env_lang})


def test_lang_on_the_command_line_picks_the_edition_and_the_locale_in_the_environment_does_not():
    english = _make_n("book", env_lang="zh_CN.UTF-8").stdout
    assert "--config" not in english and "html-zh_CN" not in english
    chinese = _make_n("book", "pdf", "LANG=zh_CN").stdout
    assert "translations.py edition zh_CN _build/zh_CN" in chinese
    assert "mv _build/zh_CN/_build/html _build/html-zh_CN" in chinese
    assert "mv _build/zh_CN/_build/latex _build/latex-zh_CN" in chinese
    student = _make_n("book", "LANG=zh_CN", "EDITION=student").stdout
    assert "BOOK_EDITION=student" in student and "--config _build/zh_CN/_config.yml" in student


def test_an_unknown_language_is_a_one_line_error():
    result = _make_n("book", "LANG=fr")
    assert result.returncode != 0 and "LANG=fr is not an edition of the book" in result.stderr
