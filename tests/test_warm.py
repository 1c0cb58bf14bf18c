"""The first run's imports: every module the pages use, then frozen out of the collector's walks."""

import subprocess
import sys


def test_imports_are_frozen_out_of_the_full_collection_after_every_run():
    # In a fresh interpreter: this test process has imported everything long ago.
    script = (
        "import gc, sys\n"
        "from cubescope_ui.warm import import_page_modules\n"
        "import_page_modules()\n"
        "assert 'cubescope_ui.viewer' in sys.modules and 'plotly.graph_objects' in sys.modules\n"
        "print(gc.get_freeze_count(), len(gc.get_objects()))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    frozen, walked = (int(v) for v in done.stdout.split())
    # What Streamlit's collection after each run walks is what sessions made, not the libraries.
    assert frozen > 100_000, frozen
    assert walked < frozen / 20, (walked, frozen)
