# Two entry points for a newcomer: `make run` (the main job on the embedded default) and
# `make test` (the test suite). Both create .venv with pip when it is missing, and install the
# Debian libraries headless rendering needs (EGL, OSMesa) when they are missing and we are root.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
GL_PACKAGES := libegl1 libgl1 libosmesa6
# setuptools announces every editable install with an informational UserWarning ("Editable
# installation. Please be careful with folders ... with the same name as your package"), printed
# even with pip --quiet; it reports no problem, so the install hides that one message.
QUIET_SETUPTOOLS := PYTHONWARNINGS="ignore:Editable installation:UserWarning"

.PHONY: run test lint setup system-deps

system-deps:
	@if ldconfig -p | grep -q 'libEGL.so.1' && ldconfig -p | grep -q 'libOSMesa.so'; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(GL_PACKAGES) >/dev/null; \
	else echo "rendering needs: sudo apt-get install $(GL_PACKAGES)"; fi

$(BIN)/pbml: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip "setuptools>=77"  # tests/test_install.py builds with it
	$(QUIET_SETUPTOOLS) $(BIN)/pip install --quiet -e ".[dev,ray,tensorboard]"
	touch $(BIN)/pbml

setup: system-deps $(BIN)/pbml

run: setup
	@echo "== 1. A controller from the zoo (evolved by configs/recipes/HalfCheetah-v5.toml) =="
	$(BIN)/pbml zoo
	$(BIN)/pbml evaluate zoo:HalfCheetah-v5 --episodes 3
	$(BIN)/pbml render zoo:HalfCheetah-v5 --steps 300 --gif --out runs/zoo_cheetah.mp4
	@echo "== 2. A short run of the same recipe (4M env steps, a few minutes on 2 cores) =="
	$(BIN)/pbml train configs/default.toml --out runs/default --overwrite
	$(BIN)/pbml render runs/default --steps 300 --gif --out runs/default/rollout.mp4
	@echo "videos: runs/zoo_cheetah.mp4 (the zoo) and runs/default/rollout.mp4 (this run), with .gif"
	@echo "This short run's best is printed above; docs/recipes.md says what 4M steps usually reach."
	@echo "For the zoo's result: pbml train configs/recipes/HalfCheetah-v5.toml (docs/recipes.md)."

test: setup
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check . && $(BIN)/ruff format --check .
