# The two commands of the README:
#   make book   render the book to _build/html (stored notebook outputs, seconds)
#   make test   unit tests, nbval on every notebook, a fresh -W build, the browser check, the PDF and its check
# Both create .venv and install what they need when it is missing.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# Set TORCH_PIN (for example torch==2.13.0) to install a specific torch build first;
# CI uses it to take the small CPU build.
TORCH_PIN ?=
PYTEST_WORKERS ?= 2

.PHONY: book test unit nbval htmlcheck execute clean setup pdf pdfcheck

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt constraints.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	if [ -n "$(TORCH_PIN)" ]; then $(BIN)/pip install --quiet "$(TORCH_PIN)"; fi
	$(BIN)/pip install --quiet -r requirements.txt -c constraints.txt
	$(BIN)/pip install --quiet --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@

book: setup
	rm -rf _build
	$(BIN)/jupyter-book build . --all -W -n --keep-going

unit: setup
	$(BIN)/python -m pytest tests -n $(PYTEST_WORKERS) --dist loadscope

nbval: setup
	$(BIN)/python -m pytest --nbval book -p no:cacheprovider \
		--nbval-sanitize-with tests/nbval_sanitize.cfg \
		--nbval-cell-timeout 600 -n $(PYTEST_WORKERS) --dist loadscope

htmlcheck: setup
	$(BIN)/python scripts/check_html.py _build/html

# The PDF edition, _build/latex/book.pdf (XeLaTeX; install the TeX toolchain first with
# scripts/install_pdf_toolchain.sh). LaTeX stops at the first error instead of prompting.
pdf: setup
	rm -rf _build/latex
	LATEXMKOPTS="-interaction=nonstopmode -halt-on-error" $(BIN)/jupyter-book build . --all --builder pdflatex

pdfcheck: pdf
	$(BIN)/python scripts/check_pdf.py _build/latex/book.pdf

test: unit nbval book htmlcheck pdfcheck

# Re-execute notebooks in place (all, or NB="book/x.ipynb ..."), after changing bn/ or a chapter.
execute: setup
	$(BIN)/python scripts/nbtools.py execute $(NB)

clean:
	rm -rf _build .pytest_cache
