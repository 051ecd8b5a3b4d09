#!/usr/bin/env bash
# Install the Debian/Ubuntu packages that `make pdf` needs (run as root, or it uses sudo).
# Idempotent: packages already installed are not fetched again, and when all are
# present nothing is run at all (not even apt-get update).
#   texlive-xetex, latexmk          the XeLaTeX engine and the build driver Sphinx's Makefile calls
#   texlive-latex-recommended/extra the LaTeX packages Sphinx's sphinx.sty and the book's preamble load
#   texlive-fonts-recommended       base fonts (math)
#   fonts-freefont-otf              FreeSerif/FreeSans/FreeMono: Sphinx's XeLaTeX text fonts; FreeMono has
#                                   the Greek letters and math symbols printed in code (σ, ε, ×, ≈, …)
#   texlive-lang-chinese            xeCJK, for the glossary's Chinese terms
#   fonts-noto-cjk                  the CJK font xeCJK typesets them with
set -euo pipefail
pkgs=(texlive-xetex latexmk texlive-latex-recommended texlive-latex-extra texlive-fonts-recommended
      fonts-freefont-otf texlive-lang-chinese fonts-noto-cjk)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi
sudo=""
[[ $(id -u) -eq 0 ]] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
