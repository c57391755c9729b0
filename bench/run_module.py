"""bench/run as a Python module, for the scripts beside it (its process,
wrk, CPU and memory helpers), so that each does not load it its own way.
"""

import importlib.machinery
import importlib.util
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def load_run():
    """bench/run, loaded as the module bench_run."""
    loader = importlib.machinery.SourceFileLoader(
        "bench_run", os.path.join(HERE, "run"))
    spec = importlib.util.spec_from_loader("bench_run", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod
