# The two commands of the README:
#   make book   render the book to _build/html (stored notebook outputs, seconds; installs no torch)
#   make test   unit tests and nbval under several CPU kernel configurations, a fresh -W build,
#               the browser check, the PDF edition and its check
# Both create .venv and install what they need when it is missing.
#   make assignments             the graded assignments (otter assign): _build/assignments/NAME/
#   make grade SUBMISSION=x.ipynb  grade one submission locally (otter run, no Docker)

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# Set TORCH_PIN (for example torch==2.13.0) to install a specific torch build first;
# CI uses it to take the small CPU build. Without it pip takes its default (a CUDA build on Linux).
TORCH_PIN ?=
PYTEST_WORKERS ?= 2
NBVAL = $(BIN)/python -m pytest --nbval book -p no:cacheprovider \
	--nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-cell-timeout 600

.PHONY: book test unit nbval portability htmlcheck execute clean setup setup-book pdf pdfcheck \
	assignments grade

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
book: setup-book
	rm -rf _build
	BOOK_EDITION=$(EDITION) $(BIN)/jupyter-book build . --all -W -n --keep-going

UNIT_ARGS ?=
unit: setup
	$(BIN)/python -m pytest tests -n $(PYTEST_WORKERS) --dist loadscope $(UNIT_ARGS)

nbval: setup
	$(NBVAL) -n $(PYTEST_WORKERS) --dist loadscope

# unit and nbval under the machine's own kernels and under emulated other CPUs
# (scripts/kernels.py names them: other BLAS, torch and NumPy vector kernels, thread counts).
# Tests that compute no floating-point result (exact SymPy proofs, the data loader's files and
# checksums, the HTML and PDF checkers) run once, under the native kernels only; so do the
# assignments' grading and Colab tests (minutes of fresh kernels and a fresh venv; their
# tolerances are float64 bounds that no kernel choice comes near).
KERNEL_FREE = --ignore=tests/symbolic --ignore=tests/data \
	--ignore=tests/test_check_html.py --ignore=tests/test_check_pdf.py \
	--ignore=tests/assignments
portability: setup
	set -e; for c in $$($(BIN)/python scripts/kernels.py names); do \
	  env=$$($(BIN)/python scripts/kernels.py env $$c); \
	  echo "=== kernels: $$c ($$env)"; \
	  if [ $$c = native ]; then args=""; else args="$(KERNEL_FREE)"; fi; \
	  env $$env $(MAKE) --no-print-directory unit nbval UNIT_ARGS="$$args"; \
	done

htmlcheck: setup
	$(BIN)/python scripts/check_html.py _build/html

# The PDF edition, _build/latex/book.pdf (XeLaTeX; install the TeX toolchain first with
# scripts/install_pdf_toolchain.sh); EDITION=student as for the book. LaTeX stops at the first
# error instead of prompting.
pdf: setup-book
	rm -rf _build/latex
	BOOK_EDITION=$(EDITION) LATEXMKOPTS="-interaction=nonstopmode -halt-on-error" $(BIN)/jupyter-book build . --all --builder pdflatex

# The check compares the PDF's numbering with the HTML's: build the HTML first (make book;
# make test does), then the PDF, since make book starts from an empty _build.
pdfcheck: pdf
	$(BIN)/python scripts/check_pdf.py _build/latex/book.pdf --html _build/html --edition $(EDITION)

test: portability book htmlcheck pdfcheck

# Re-execute notebooks in place (all, or NB="book/x.ipynb ..."), after changing bn/ or a chapter.
# Outputs are stored under pinned kernels and one thread (scripts/kernels.py pinned), so that
# they do not depend on the machine that ran them.
execute: setup
	env $$($(BIN)/python scripts/kernels.py env pinned) $(BIN)/python scripts/nbtools.py execute $(NB)

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
