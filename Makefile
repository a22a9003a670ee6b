# footfall: the two commands are `make demo` and `make test`; both set everything up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
SOURCES := pyproject.toml setup.py collector/_probes.c

.PHONY: demo test bench bench-large eval docs screenshots system-deps venv clean

$(STAMP): $(SOURCES)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dev]'
	touch $@

venv: $(STAMP)

# tshark is the tests' independent reference dissector and the bench's yardstick;
# chromium is the real browser the dashboard test drives (through Playwright, never a download);
# a headless Java 17 runs pyspark, with which the tests run the documentation's Spark example.
system-deps:
	@if command -v tshark >/dev/null 2>&1; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null 2>&1; then SUDO=sudo; \
	else echo "tshark is missing and this user cannot install it: apt-get install tshark" >&2; exit 1; fi; \
	echo "installing tshark (apt-get) ..."; \
	echo "wireshark-common wireshark-common/install-setuid boolean false" | $$SUDO debconf-set-selections; \
	$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q tshark >/dev/null || \
	{ $$SUDO apt-get update -q >/dev/null && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q tshark >/dev/null; }
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null 2>&1; then SUDO=sudo; \
	else echo "chromium is missing and this user cannot install it: apt-get install chromium" >&2; exit 1; fi; \
	echo "installing chromium (apt-get) ..."; \
	$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null || \
	{ $$SUDO apt-get update -q >/dev/null && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; }
	@if command -v java >/dev/null 2>&1; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null 2>&1; then SUDO=sudo; \
	else echo "java is missing and this user cannot install it: apt-get install openjdk-17-jre-headless" >&2; exit 1; fi; \
	echo "installing a headless Java 17 (apt-get) ..."; \
	$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q openjdk-17-jre-headless >/dev/null || \
	{ $$SUDO apt-get update -q >/dev/null && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q openjdk-17-jre-headless >/dev/null; }

# Collects the two sensors of a real lab day (sample_captures/) into demo/, with the lab's
# configuration (sample_captures/brno.toml: Prague's clock, its -60 dBm walls, its PCs), runs the
# pipeline (the collect summaries, then visitors, passers-by, capture rate and dwell) and
# the privacy audit of everything written, against the captures' own addresses.
demo: $(STAMP)
	rm -rf demo && mkdir demo
	cp sample_captures/brno.toml demo/footfall.toml
	cd demo && ../$(BIN)/footfall collect ../sample_captures/brno_position_1_2024-03-15.pcap.gz --store demo --sensor position_1
	cd demo && ../$(BIN)/footfall collect ../sample_captures/brno_position_2_2024-03-15.pcap.gz --store demo --sensor position_2
	cd demo && ../$(BIN)/footfall run
	cd demo && ../$(BIN)/footfall privacy audit --against ../sample_captures/brno_position_1_2024-03-15.pcap.gz --against ../sample_captures/brno_position_2_2024-03-15.pcap.gz
	@echo
	@echo "Outputs are under demo/data/ (salts in demo/secrets/). For example:"
	@echo "  cd demo && ../$(BIN)/footfall sql --query \"select hour, arrivals, visitors, capture_rate from hourly order by hour\""
	@echo
	@echo "To open the dashboard on the demo data (http://127.0.0.1:8501, Ctrl+C stops it):"
	@echo "  cd demo && ../$(BIN)/footfall dashboard"

test: $(STAMP) system-deps
	$(BIN)/python -m pytest -q

bench: $(STAMP) system-deps
	$(BIN)/python bench/bench_collect.py
	$(BIN)/python bench/bench_collect.py --frames 4000000 --repeat 1 --skip-tshark
	$(BIN)/python bench/bench_stream.py --days 5
	$(BIN)/python bench/bench_pipeline.py --rows 10000000
	$(BIN)/python bench/bench_dashboard.py

# The pipeline on 100 M sightings (generated once into bench/.cache, about 1 GB).
bench-large: $(STAMP)
	$(BIN)/python bench/bench_pipeline.py --rows 100000000

# Accuracy against ground truth on the real captures and on simulated shops (about ten
# minutes; not part of make test), then how the simulated shops compare with real captures.
eval: $(STAMP)
	$(BIN)/python eval/run_eval.py
	$(BIN)/python eval/realism.py

# The pages of docs/ generated from the code (the data dictionary, the privacy report's keys
# and schema); tests/test_docs.py fails when the committed ones differ.
docs: $(STAMP)
	$(BIN)/python -m footfall.reference_docs docs

# The dashboard's screenshots in docs/dashboard.md, from the demo's data (headless chromium).
screenshots: demo system-deps
	$(BIN)/python docs/screenshots/take.py

clean:
	rm -rf $(VENV) demo build *.egg-info bench/.cache collector/*.so
