# footfall: the two commands are `make demo` and `make test`; both set everything up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
SOURCES := pyproject.toml setup.py collector/_probes.c

.PHONY: demo test bench bench-large bench-spark eval docs screenshots fuzz fuzz-deps system-deps venv clean

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

# The pipeline on DuckDB against Spark on local[2], on the same generated sightings in the
# same run: 10 M, then 100 M (the bench-large data set, generated once into bench/.cache).
bench-spark: $(STAMP) system-deps
	$(BIN)/python bench/bench_spark.py --rows 10000000
	$(BIN)/python bench/bench_spark.py --rows 100000000

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

# Hostile input and faults (minutes; not part of make test): the C parser under ASan+UBSan
# with libFuzzer (clang, installed by apt-get when missing) from the sample captures and
# generated captures of every link type; then mutated captures through `footfall collect`
# (files and streams), kill -9 of `footfall run`, kill -9 of `footfall collect -` and the
# same bytes again, concurrent runs and collectors, and a full disk. Prints the counts
# (also in fuzz/work/summary.txt); exit 1 on any failure.
FUZZ_SECONDS ?= 300
FUZZ_CLI_CASES ?= 150
FUZZ_KILLS ?= 30
FUZZ_STREAM_KILLS ?= 30
FUZZ_WORK := fuzz/work
PY_INCLUDE = $(shell $(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
PY_LIBDIR = $(shell $(BIN)/python -c 'import sysconfig; print(sysconfig.get_config_var("LIBDIR"))')
PY_VERSION = $(shell $(BIN)/python -c 'import sysconfig; print(sysconfig.get_config_var("VERSION"))')

fuzz-deps:
	@if command -v clang >/dev/null 2>&1 && echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' \
		| clang -x c -fsanitize=fuzzer,address,undefined - -o /dev/null 2>/dev/null; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null 2>&1; then SUDO=sudo; \
	else echo "clang with libFuzzer is missing and this user cannot install it: apt-get install clang libclang-rt-dev" >&2; exit 1; fi; \
	echo "installing clang and libFuzzer (apt-get) ..."; \
	$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q clang libclang-rt-dev >/dev/null || \
	{ $$SUDO apt-get update -q >/dev/null && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q clang libclang-rt-dev >/dev/null; }

$(FUZZ_WORK)/probes_fuzzer: fuzz/probes_fuzzer.c collector/_probes.c $(STAMP) | fuzz-deps
	mkdir -p $(FUZZ_WORK)
	clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -I$(PY_INCLUDE) \
		fuzz/probes_fuzzer.c -o $@ -L$(PY_LIBDIR) -lpython$(PY_VERSION) -Wl,-rpath,$(PY_LIBDIR)

fuzz: $(STAMP) system-deps $(FUZZ_WORK)/probes_fuzzer
	rm -rf $(FUZZ_WORK)/seeds && $(BIN)/python fuzz/make_seeds.py $(FUZZ_WORK)/seeds
	$(BIN)/python fuzz/run_fuzz.py --work $(FUZZ_WORK) --seconds $(FUZZ_SECONDS) --cli-cases $(FUZZ_CLI_CASES) --kills $(FUZZ_KILLS) --stream-kills $(FUZZ_STREAM_KILLS)

clean:
	rm -rf $(VENV) demo build *.egg-info bench/.cache collector/*.so $(FUZZ_WORK)
