"""Replicas may share one cache folder: two processes writing the same feature and prediction entries at once.

Both caches are content-keyed (an entry's name is the hash of what it holds, so two writers of
one name write the same bytes) and written to a temp file then `os.replace`d, so a reader sees
the old file or the new one, never half of one. Here two processes hammer the same entries while
reading them back.
"""

from __future__ import annotations

import subprocess
import sys

from aiart.config import PROJECT_ROOT

WRITER = """
import sys
from pathlib import Path
import numpy as np
from aiart import browse
from aiart.data import dataset
from aiart.data.features import Extractor, FeatureStore

root, folder, name = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
store = FeatureStore(None, root / "features", extractor=Extractor("shared-test", 32, (512,), np.float32, None))
samples = dataset.scan(folder)
p = np.linspace(0, 1, len(samples))
cache = browse.cache_file("shared-test", browse.folder_key(samples))
print("ready", flush=True)
sys.stdin.readline()
bad = 0
for i in range(300):
    key = f"{i % 40:064x}"
    store.put(key, np.full(512, i % 40, np.float32))  # the same key always holds the same content
    got = store.get(f"{(i * 7) % 40:064x}")
    bad += got is not None and not np.array_equal(got, np.full(512, (i * 7) % 40, np.float32))
    if i % 10 == 0:
        browse.write_cache(cache, samples, p, [None] * len(samples))
        read = browse.read_cache(cache, samples)
        bad += read is None or not np.allclose(read[0], p)
print(f"bad {bad}", flush=True)
"""


def test_two_processes_share_one_cache_folder(tmp_path, labelled_folder, monkeypatch):
    monkeypatch.setenv("AIART_CACHE", str(tmp_path / "shared"))
    cmd = [sys.executable, "-c", WRITER, str(tmp_path / "shared"), str(labelled_folder)]
    procs = [
        subprocess.Popen([*cmd, name], cwd=PROJECT_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for name in ("a", "b")
    ]
    assert [p.stdout.readline().strip() for p in procs] == ["ready", "ready"]
    for p in procs:  # both start writing at the same moment
        p.stdin.write("go\n")
        p.stdin.flush()
    assert [p.stdout.readline().strip() for p in procs] == ["bad 0", "bad 0"]
    assert [p.wait(120) for p in procs] == [0, 0]
    entries = sorted((tmp_path / "shared" / "features").rglob("*.npy"))
    assert len(entries) == 40 and not list((tmp_path / "shared").rglob("*.tmp"))
    assert len(list((tmp_path / "shared" / "predictions").rglob("*.json"))) == 1
