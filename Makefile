# Two commands for a fresh machine: `make run` and `make test`. Everything they need is installed here.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
PIP     := $(BIN)/pip
MW      := $(BIN)/mahnwerk
HTMX    := static/vendor/htmx.min.js
NPM_DEPS := node_modules/.installed
CATALOG := translations/de/LC_MESSAGES/messages.mo
APT_GET := $(shell command -v apt-get 2>/dev/null)

.PHONY: run test test-servers lint format bench clean i18n-update apt docs-images

$(BIN)/activate:
	$(PY) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/activate
	$(PIP) install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

# htmx (served) and axe-core (the browser tests' accessibility checker) come from the npm
# registry, pinned in package.json / package-lock.json.
$(NPM_DEPS): package.json package-lock.json
	@command -v npm >/dev/null || { [ -n "$(APT_GET)" ] && apt-get update -qq && apt-get install -y -qq nodejs npm; }
	npm ci --no-audit --no-fund --silent
	touch $@

$(HTMX): $(NPM_DEPS)
	mkdir -p static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js $(HTMX)

# The portal's German catalog, compiled from the committed messages.po (the .mo is not committed).
$(CATALOG): translations/de/LC_MESSAGES/messages.po | $(VENV)/.installed
	$(BIN)/pybabel compile --statistics -d translations

# After adding or changing portal strings: extract them, merge them into the German catalog,
# then translate the new entries in messages.po (tests/portal/test_i18n.py finds any left).
i18n-update: $(VENV)/.installed-dev
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_pgettext:1c,2 --width 100 --no-location --sort-output -o translations/messages.pot .
	$(BIN)/pybabel update --width 100 --no-fuzzy-matching --ignore-obsolete -i translations/messages.pot -d translations

# Debian's chromium for the browser tests (Playwright drives it; it downloads no browser).
/usr/bin/chromium:
	@[ -n "$(APT_GET)" ] || { echo "please install chromium at /usr/bin/chromium"; exit 1; }
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

# What WeasyPrint renders the letters with (pango, harfbuzz, fonts), for `make run` too.
PDF_PACKAGES  := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core fonts-dejavu-extra
# What the tests read documents back with: pdftotext/pdftoppm (poppler), zbarimg (QR codes).
TEST_PACKAGES := poppler-utils zbar-tools
$(VENV)/.system-pdf: | $(BIN)/activate
	@$(MAKE) --no-print-directory apt PACKAGES="$(PDF_PACKAGES)"
	touch $@
$(VENV)/.system-test: | $(BIN)/activate
	@$(MAKE) --no-print-directory apt PACKAGES="$(PDF_PACKAGES) $(TEST_PACKAGES)"
	touch $@
apt:
	@missing=$$(for p in $(PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  [ -n "$(APT_GET)" ] || { echo "please install: $$missing"; exit 1; }; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

run: $(VENV)/.installed $(VENV)/.system-pdf $(HTMX) $(CATALOG)
	$(MW) db upgrade
	$(MW) demo
	$(MW) serve

test: $(VENV)/.installed-dev $(VENV)/.system-test $(HTMX) $(NPM_DEPS) $(CATALOG) /usr/bin/chromium
	$(BIN)/pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The pictures of docs/documents.md, made by the real letter code from the demo's orders.
docs-images: $(VENV)/.installed-dev $(VENV)/.system-test $(CATALOG)
	$(BIN)/python docs/document_images.py

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/run.py
	$(BIN)/python bench/rules.py

clean:
	rm -rf $(VENV) node_modules static/vendor .pytest_cache $(CATALOG)
