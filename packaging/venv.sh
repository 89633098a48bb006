#!/usr/bin/env bash
# Creates .venv and installs SecondMe with the given extras; skips pip when nothing changed.
# Usage: source packaging/venv.sh EXTRAS   (e.g. "answer,gui")
#
# llama.cpp's AMX kernels crash on Q4_K models (llama.cpp issue #20824), and a native build on
# a CPU with AMX turns them on. On such CPUs llama-cpp-python is built once with AMX off and
# every ISA extension the CPU has named explicitly; the wheel is kept in a cache keyed by the
# flags, so later set-ups reuse it.
set -euo pipefail
extras="$1"
python="${PYTHON:-python3}"
llama_version="0.3.36"

llama_cmake_args() {
    local cpu flags="" pair
    cpu="$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)"
    if [[ " $cpu " == *" amx_tile "* ]]; then
        flags="-DGGML_NATIVE=OFF"
        for pair in avx:AVX avx2:AVX2 fma:FMA f16c:F16C bmi2:BMI2 avx512f:AVX512 avx512_vnni:AVX512_VNNI \
                    avx512_bf16:AVX512_BF16 avx_vnni:AVX_VNNI; do
            [[ " $cpu " == *" ${pair%%:*} "* ]] && flags="$flags -DGGML_${pair#*:}=ON"
        done
        flags="$flags -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
    fi
    echo "$flags"
}

if [ ! -x .venv/bin/python ]; then
    echo "Creating .venv with $($python --version)"
    "$python" -m venv .venv
fi
cmake_args="$(llama_cmake_args)"
want="$( (cat pyproject.toml; echo "$cmake_args") | sha256sum | cut -c1-16)"
stamp=".venv/.secondme-$(echo "$extras" | tr ',' '-')"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    pip=(.venv/bin/python -m pip --disable-pip-version-check)
    if [ -n "$cmake_args" ]; then
        wheels="${XDG_CACHE_HOME:-$HOME/.cache}/secondme/wheels/$(echo "$cmake_args" | sha256sum | cut -c1-12)"
        if ! ls "$wheels"/llama_cpp_python-"$llama_version"-*.whl >/dev/null 2>&1; then
            echo "Building llama-cpp-python $llama_version without AMX (about 5 minutes, once)"
            mkdir -p "$wheels"
            CMAKE_ARGS="$cmake_args" "${pip[@]}" wheel --quiet --no-deps --no-cache-dir \
                -w "$wheels" "llama-cpp-python==$llama_version"
        fi
        "${pip[@]}" install --quiet --force-reinstall --no-deps "$wheels"/llama_cpp_python-"$llama_version"-*.whl
    fi
    echo "Installing SecondMe[$extras] into .venv (the first time compiles llama-cpp-python: ~5 min)"
    "${pip[@]}" install --quiet -e ".[$extras]"
    echo "$want" > "$stamp"
fi
