#!/bin/sh
# Trim a built virtualenv for a runtime image (run last in a Dockerfile's builder stage).
# What goes is never used by a running service: pip and setuptools (the images install nothing at
# run time), the test suites numpy, pandas, pyarrow and scipy ship, pyarrow's C++ headers and
# Cython sources, pyarrow's Arrow Flight RPC (its own shared libraries, ~30 MB; EDIP reads and
# writes parquet files only) and onnxruntime's C API library (34 MB: the Python binding has the
# runtime linked in and never loads it; tests/images serves a model through the built image) and
# its model tools (transformers/, quantization/, tools/: 8 MB of Python inference never imports),
# pyarrow's Substrait and ORC bindings (EDIP reads and writes parquet only; pyarrow.lib itself
# links libarrow_substrait, which stays), and the debug symbols
# of the compiled libraries (`strip --strip-unneeded` when binutils is installed, except the libraries auditwheel
# vendored: ~55 MB in the API image, pyarrow's and uvloop's mostly). pyarrow's three identical copies of libarrow_python
# (a wheel cannot hold links) become links to one.
# The rest of every package is left as pip installed it.
#   docker/slim_venv.sh /opt/venv
set -eu
venv=${1:?usage: slim_venv.sh VENV}
"$venv/bin/python" -m pip uninstall --yes --quiet pip setuptools wheel 2>/dev/null || true
for site in "$venv"/lib/python3*/site-packages; do
    for pkg in numpy pandas pyarrow scipy; do
        [ -d "$site/$pkg" ] && find "$site/$pkg" -depth -type d -name tests -exec rm -rf {} +
    done
    arrow=$site/pyarrow
    if [ -d "$arrow" ]; then
        rm -rf "$arrow/include" "$arrow/includes" "$arrow/src" "$arrow/flight.py" \
            "$arrow"/*.pyx "$arrow"/*.pxd "$arrow"/*.pxi "$arrow"/_pyarrow_cpp_tests.* \
            "$arrow"/_flight.* "$arrow"/libarrow_flight.so* "$arrow"/libarrow_python_flight.so* \
            "$arrow"/substrait.py "$arrow"/_substrait.* \
            "$arrow"/orc.py "$arrow"/_orc.* "$arrow"/_dataset_orc.*
        for lib in "$arrow"/libarrow_python*.so; do
            [ -f "$lib" ] || continue
            for copy in "$lib".*; do
                [ -f "$copy" ] && [ ! -L "$copy" ] && cmp -s "$lib" "$copy" \
                    && ln -sf "$(basename "$lib")" "$copy"
            done
        done
    fi
    rm -f "$site"/onnxruntime/capi/libonnxruntime.so*
    # onnxruntime's model tools (transformer optimisation, quantisation, format conversion)
    rm -rf "$site"/onnxruntime/transformers "$site"/onnxruntime/quantization "$site"/onnxruntime/tools
done
if command -v strip >/dev/null 2>&1; then
    # not the libraries auditwheel vendored (*.libs/): patchelf rewrote them, strip breaks them
    find "$venv" -type d -name '*.libs' -prune -o -type f -name '*.so*' \
        -exec strip --strip-unneeded {} +
else
    echo "slim_venv.sh: no strip (binutils): compiled libraries keep their symbols" >&2
fi
du -sh "$venv"
