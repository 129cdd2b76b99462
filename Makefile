# Every target does its own set-up on a fresh machine: nothing needs installing by hand.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
UPSTOX_SDK := 2.30.0

.PHONY: run test check-static test-python bench soak contract clean native

# upstox-python-sdk is installed apart, --no-deps: only its generated protobuf module is used, and
# its REST client's dependencies are not wanted (docs/upstox.md).
$(STAMP): requirements.lock pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps upstox-python-sdk==$(UPSTOX_SDK)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps -e .
	$(PY) -m app.predictor.compile  # the predictor's numba kernels, compiled into their cache (docs/predictor.md)
	touch $@

# The trading engine's hot modules compiled with mypyc (app/trading/native.py): built when their
# sources changed since the last build, else nothing to do. Without it they run as Python.
native: $(STAMP)
	$(PY) -c 'from app.trading.native import ensure; ensure()'

run: $(STAMP) web native
	SIGNALDESK_PREDICTOR_AUTOSTART=true SIGNALDESK_AUTOMATION_RETRAIN_AT_START=true SIGNALDESK_HFT_AUTOSTART=true $(VENV)/bin/signaldesk serve

# Everything at most two at once (-j2): the trading engine's compile (mypyc, ~1.5 min, or a copy
# from the build cache) and then the Python suite in one line, the static checks, the contract
# check and the dashboard's suites (vitest, the browser) in the other; the suites mostly wait on
# servers they start. A failure stops what has not started. Each target's output is printed
# whole when it ends (-O), not interleaved.
test:
	$(MAKE) --no-print-directory -j2 -O test-python check-static check-contract test-frontend test-e2e

# Lint, layout (ruff format) and type-check: seconds, beside the engine's compile, before the minutes of tests.
check-static: $(STAMP)
	$(VENV)/bin/ruff check app bench tests
	$(VENV)/bin/ruff format --check app bench tests
	$(VENV)/bin/mypy

# Two processes: the tests mostly wait on servers they start, so this halves the wall time.
test-python: $(STAMP) native
	$(VENV)/bin/pytest -q -n 2

# bench.scaleout starts its own redis-server (Debian's, installed here when missing).
bench: $(STAMP) native
	@command -v redis-server >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server)
	$(PY) -m bench
	$(PY) -m bench.scaleout
	$(PY) -m bench.predictor
	$(PY) -m bench.training
	$(PY) -m bench.trading
	$(PY) -m bench.trading --bus-synchronous normal
	$(PY) -m bench.trading --backtest
	$(PY) -m bench.upstox
	$(PY) -m bench.upstox_orders

# Ten minutes of mixed load on one server, then a verdict (docs/soak.md); not part of make test.
soak: $(STAMP) native
	$(PY) -m bench.soak

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .mypy_cache .ruff_cache build app/trading/native.json
	find app -name '*.so' -delete

# --- the WebSocket contract in JSON Schema, AsyncAPI and TypeScript (frontend-v2) ----------
# --- and the REST API's OpenAPI document, with its TypeScript types (api.gen.ts) -----------
FRONTEND   := frontend-v2
NODE_STAMP := $(FRONTEND)/node_modules/.installed
GENERATED  := contracts $(FRONTEND)/src/lib/ws.gen.ts $(FRONTEND)/src/lib/ws.zod.gen.ts $(FRONTEND)/src/lib/api.gen.ts

.PHONY: test-frontend check-contract web test-e2e

# npm ci empties node_modules, stamp included: it reruns whenever the lock or manifest changes.
$(NODE_STAMP): $(FRONTEND)/package-lock.json $(FRONTEND)/package.json
	cd $(FRONTEND) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

contract: $(STAMP) $(NODE_STAMP)
	$(PY) -m app.api.contract_schema contracts
	$(PY) -m app.openapi contracts/openapi.json
	cd $(FRONTEND) && npm run --silent gen && npm run --silent gen:api

# Needs the venv: the client tests start a real `signaldesk serve`.
test-frontend: $(STAMP) $(NODE_STAMP)
	cd $(FRONTEND) && npx tsc --noEmit && npx vitest run

# The dashboard (frontend-v2/dist, served by the backend at /): make run builds it first.
web: $(NODE_STAMP)
	cd $(FRONTEND) && npm run --silent build

# The browser end-to-end test: Debian's Chromium (installed here when missing), no browser download.
test-e2e: $(STAMP) web
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)
	cd $(FRONTEND) && npx vitest run --config vitest.e2e.config.ts

check-contract: contract
	@git diff --exit-code -- $(GENERATED) || { echo "generated contract files are stale: run make contract and commit them"; exit 1; }
	@new="$$(git ls-files --others --exclude-standard -- $(GENERATED))"; \
	  if [ -n "$$new" ]; then echo "generated but not committed: $$new"; exit 1; fi
