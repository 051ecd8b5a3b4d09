# The commands of the README:
#   make book   render the book to _build/html (stored notebook outputs, seconds; installs no torch)
#   make check  the fast loop while editing (a few minutes): unit tests not marked slow, and nbval
#               of the notebooks that differ from main (BASE=...), under the native kernels
#   make test   the gate before landing: unit tests and nbval under several CPU kernel
#               configurations, a fresh -W build, the browser check, the PDF edition and its check;
#               the translations' check, and each other language's edition (HTML, PDF) with the
#               same checks
# Each creates .venv and installs what it needs when it is missing.
#   make assignments             the graded assignments (otter assign): _build/assignments/NAME/
#   make grade SUBMISSION=x.ipynb  grade one submission locally (otter run, no Docker)

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# Set TORCH_PIN (for example torch==2.13.0) to install a specific torch build first;
# CI uses it to take the small CPU build. Without it pip takes its default (a CUDA build on Linux).
TORCH_PIN ?=
PYTEST_WORKERS ?= 2
NBVAL_ARGS = --nbval -p no:cacheprovider --nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-cell-timeout 600
NBVAL = $(BIN)/python -m pytest $(NBVAL_ARGS) book

.PHONY: book test check unit nbval portability htmlcheck execute clean setup setup-book pdf pdfcheck \
	assignments grade gettext translations i18ncheck editions docs docs-en

# The edition's language: `make book LANG=zh_CN` (book, pdf, htmlcheck, pdfcheck) builds the
# Simplified Chinese edition from the catalogs in locales/ (locales/README.md). Only LANG given on
# make's command line picks an edition: LANG from the environment is the locale (C.UTF-8,
# en_US.UTF-8, ...) and builds English. BOOK_LANG=zh_CN says the same without that ambiguity.
LANGUAGES := en zh_CN
ifeq ($(origin LANG),command line)
BOOK_LANG := $(LANG)
# What reaches the tools is a locale again, not an edition; sub-makes (ours, and the one
# Sphinx runs for LaTeX) are told BOOK_LANG instead of LANG.
override LANG := C.UTF-8
MAKEOVERRIDES := $(filter-out LANG=%,$(MAKEOVERRIDES)) BOOK_LANG=$(BOOK_LANG)
endif
BOOK_LANG ?= en
ifeq ($(filter $(BOOK_LANG),$(LANGUAGES)),)
$(error LANG=$(BOOK_LANG) is not an edition of the book: expected one of $(LANGUAGES))
endif
ifeq ($(BOOK_LANG),en)
HTML_DIR  := _build/html
LATEX_DIR := _build/latex
# The English edition reads _config.yml and _toc.yml themselves.
JB_EDITION :=
else
HTML_DIR  := _build/html-$(BOOK_LANG)
LATEX_DIR := _build/latex-$(BOOK_LANG)
# Another language's edition: the configuration scripts/translations.py writes (language set,
# title and part captions translated), and its own build folder.
EDITION_DIR := _build/$(BOOK_LANG)
JB_EDITION = --config $(EDITION_DIR)/_config.yml --toc $(EDITION_DIR)/_toc.yml --path-output $(EDITION_DIR)
endif

setup-book: $(VENV)/.book-installed
setup: $(VENV)/.installed

$(VENV)/.book-installed: requirements-book.txt constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-book.txt -c constraints.txt
	touch $@

$(VENV)/.installed: $(VENV)/.book-installed requirements.txt pyproject.toml
	if [ -n "$(TORCH_PIN)" ]; then $(BIN)/pip install --quiet "$(TORCH_PIN)"; fi
	$(BIN)/pip install --quiet -r requirements.txt -c constraints.txt
	$(BIN)/pip install --quiet --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@

# EDITION=student builds the student edition, without the exercise solutions.
EDITION ?= instructor
# Each edition removes only its own output, so that the editions, which link to each other, coexist.
book: setup-book
ifeq ($(BOOK_LANG),en)
	rm -rf _build/html _build/.doctrees _build/jupyter_execute
	BOOK_EDITION=$(EDITION) $(BIN)/jupyter-book build . --all -W -n --keep-going
else
	rm -rf $(EDITION_DIR) $(HTML_DIR)
	$(BIN)/python scripts/translations.py edition $(BOOK_LANG) $(EDITION_DIR)
	BOOK_EDITION=$(EDITION) $(BIN)/jupyter-book build . --all -W -n --keep-going $(JB_EDITION)
	mv $(EDITION_DIR)/_build/html $(HTML_DIR)
endif

UNIT_ARGS ?=
unit: setup
	$(BIN)/python -m pytest tests -n $(PYTEST_WORKERS) --dist loadscope $(UNIT_ARGS)

nbval: setup
	$(NBVAL) -n $(PYTEST_WORKERS) --dist loadscope

# unit and nbval under the machine's own kernels and under emulated other CPUs
# (scripts/kernels.py names them: other BLAS, torch and NumPy vector kernels, thread counts).
# Tests that compute no floating-point result (exact SymPy proofs, the data loader's files and
# checksums, the HTML and PDF checkers, the checks of the package's layers, of the notebooks'
# structure and setup, of the API appendix, the editions and the notebook runner) run once,
# under the native kernels only; so do the
# assignments' grading and Colab tests (minutes of fresh kernels and a fresh venv; their
# tolerances are float64 bounds that no kernel choice comes near), and the studies' smoke runs
# through the one command (they check a result's structure: arms, seeds, keys, the command's
# errors; the bits of training under each configuration are checked by test_reproduce, which
# reruns committed histories, and by nbval).
KERNEL_FREE = --ignore=tests/symbolic --ignore=tests/data \
	--ignore=tests/experiments/test_pipeline_whole.py --ignore=tests/experiments/test_cli.py \
	--ignore=tests/experiments/test_pipeline.py --ignore=tests/experiments/test_plain_cnn_studies.py \
	--ignore=tests/experiments/test_smoothness_experiment.py --ignore=tests/experiments/test_sync_bn_run.py \
	--ignore=tests/test_check_html.py --ignore=tests/test_check_pdf.py \
	--ignore=tests/assignments --ignore=tests/test_translations.py \
	--ignore=tests/test_layers.py --ignore=tests/test_book_structure.py --ignore=tests/test_chapter_order.py \
	--ignore=tests/test_notebook_setup.py --ignore=tests/test_api_reference.py --ignore=tests/test_book_edition.py \
	--ignore=tests/test_nbtools.py --ignore=tests/test_repository.py
# One pytest run per configuration holds its unit tests and its notebooks, so that the two
# workers share them to the end (two runs each left a worker idle while the other finished).
portability: setup
	set -e; for c in $$($(BIN)/python scripts/kernels.py names); do \
	  env=$$($(BIN)/python scripts/kernels.py env $$c); \
	  echo "=== kernels: $$c ($$env)"; \
	  if [ $$c = native ]; then args=""; else args="$(KERNEL_FREE)"; fi; \
	  env $$env $(BIN)/python -m pytest tests book $(NBVAL_ARGS) -n $(PYTEST_WORKERS) --dist loadscope $$args; \
	done

# The fast loop: what changed, checked in a few minutes. Unit tests not marked slow
# (@pytest.mark.slow: the slowest, measured with --durations), under the native kernels, and
# nbval of the notebooks that differ from BASE (committed or not, new ones included). It does
# not rerun notebooks that a change in bn/ affects, nor build the book: `make test` before landing.
BASE ?= main
# (against the point where this branch left BASE, so that BASE's own later changes do not count)
CHANGED_NOTEBOOKS = $(sort $(shell git diff --name-only --diff-filter=d $$(git merge-base $(BASE) HEAD) -- 'book/*.ipynb'; \
	git ls-files --others --exclude-standard -- 'book/*.ipynb'))
check: setup
	$(BIN)/python -m pytest tests $(if $(CHANGED_NOTEBOOKS),$(CHANGED_NOTEBOOKS) $(NBVAL_ARGS)) \
	  -m "not slow" -n $(PYTEST_WORKERS) --dist loadscope -p no:cacheprovider

htmlcheck: setup
	$(BIN)/python scripts/check_html.py $(HTML_DIR)$(if $(filter-out en,$(BOOK_LANG)), --screenshot _build/screenshot-preface-$(BOOK_LANG).png)

# The PDF edition, _build/latex/book.pdf (XeLaTeX; install the TeX toolchain first with
# scripts/install_pdf_toolchain.sh); EDITION=student as for the book. LaTeX stops at the first
# error instead of prompting.
pdf: setup-book
	rm -rf $(LATEX_DIR)
ifeq ($(BOOK_LANG),en)
	BOOK_EDITION=$(EDITION) LATEXMKOPTS="-interaction=nonstopmode -halt-on-error" $(BIN)/jupyter-book build . --all --builder pdflatex
else
	rm -rf $(EDITION_DIR)
	$(BIN)/python scripts/translations.py edition $(BOOK_LANG) $(EDITION_DIR)
	BOOK_EDITION=$(EDITION) LATEXMKOPTS="-interaction=nonstopmode -halt-on-error" $(BIN)/jupyter-book build . --all --builder pdflatex $(JB_EDITION)
	mv $(EDITION_DIR)/_build/latex $(LATEX_DIR)
endif

# The check compares the PDF's numbering with the HTML's: build the HTML first (make book;
# make test does), then the PDF.
pdfcheck: pdf
	$(BIN)/python scripts/check_pdf.py $(LATEX_DIR)/book.pdf --html $(HTML_DIR) --edition $(EDITION) --language $(BOOK_LANG)

# Translations (locales/README.md). After the English text changes: `make translations`
# extracts its messages (one template per chapter, _build/gettext) and brings every language's
# catalogs in step (sphinx-intl update: a changed paragraph's translation turns fuzzy, a new
# one is added untranslated); then translate what changed and clear the fuzzy flags.
GETTEXT_DIR := _build/gettext
gettext: setup-book
	rm -rf $(GETTEXT_DIR)
	$(BIN)/jupyter-book build . --all -q --builder custom --custom-builder gettext
	$(BIN)/python scripts/translations.py extract $(GETTEXT_DIR)

translations: gettext
	$(BIN)/sphinx-intl update --pot-dir $(GETTEXT_DIR) --locale-dir locales --jobs 1 --no-obsolete \
	  $(foreach l,$(filter-out en,$(LANGUAGES)),--language $(l))

# The catalogs against the English text of now: the translated share of every chapter; fails if a
# chapter declared translated (locales/LANG/translated.txt) has a fuzzy or untranslated message, or
# a translation changes a role, formula, code or number, or renders a glossary term otherwise.
i18ncheck: gettext
	$(BIN)/python scripts/check_translations.py --pot-dir $(GETTEXT_DIR)

# Every other language's edition, built and checked as the English one.
editions:
	set -e; for l in $(filter-out en,$(LANGUAGES)); do \
	  $(MAKE) --no-print-directory -j1 book htmlcheck pdfcheck LANG=$$l EDITION=$(EDITION); \
	done

# The documents: the English chain (HTML, browser check, PDF and its check, the catalogs' check,
# all in _build/ with one doctree) and the other languages' editions (each in its own _build/LANG)
# touch different folders, and each is one Sphinx or LaTeX process at a time: on two cores they
# run side by side (make test's -j2 below).
docs-en:
	$(MAKE) --no-print-directory -j1 book htmlcheck pdfcheck i18ncheck
docs: docs-en editions

test: portability
	$(MAKE) --no-print-directory -j2 --output-sync=target docs

# Re-execute notebooks in place (all, or NB="book/x.ipynb ..."), after changing bn/ or a chapter.
# Outputs are stored under pinned kernels and one thread (scripts/kernels.py pinned: nbtools.py
# gives them to the kernel), so that they do not depend on the machine that ran them.
execute: setup
	$(BIN)/python scripts/nbtools.py execute $(NB)

clean:
	rm -rf _build .pytest_cache

# The graded assignments (assignments/NAME/NAME.ipynb, otter-grader's format): student notebooks
# and public tests in _build/assignments/NAME/student/, the autograder zip (for `make grade` and
# Gradescope) in _build/assignments/NAME/NAME-autograder.zip. otter assign grades each solution
# and stops unless it scores full marks. NAMES="01_forward ..." builds some.
NAMES ?=
assignments: setup
	$(BIN)/python scripts/assignments.py build $(NAMES)

# Grade one submission locally: make grade SUBMISSION=path/to/notebook.ipynb [ASSIGNMENT=01_forward]
# (the assignment is read from the notebook's metadata or its file name when not given).
SUBMISSION ?=
ASSIGNMENT ?=
grade: setup
	@test -n "$(SUBMISSION)" || { echo "make grade: set SUBMISSION=path/to/notebook.ipynb" >&2; exit 2; }
	$(BIN)/python scripts/assignments.py grade "$(SUBMISSION)" $(if $(ASSIGNMENT),--assignment $(ASSIGNMENT))
