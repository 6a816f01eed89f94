#!/bin/sh
# Trim a built virtualenv for a runtime image (run last in a Dockerfile's builder stage).
# What goes is never used by a running service: pip and setuptools (the images install nothing at
# run time), the test suites numpy, pandas, pyarrow and scipy ship, pyarrow's C++ headers and
# Cython sources, pyarrow's Arrow Flight RPC (its own shared libraries, ~30 MB; EDIP reads and
# writes parquet files only) and onnxruntime's C API library (34 MB: the Python binding has the
# runtime linked in and never loads it; tests/images serves a model through the built image).
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
            "$arrow"/_flight.* "$arrow"/libarrow_flight.so* "$arrow"/libarrow_python_flight.so*
    fi
    rm -f "$site"/onnxruntime/capi/libonnxruntime.so*
done
du -sh "$venv"
