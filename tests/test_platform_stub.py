# SPDX-License-Identifier: MIT
"""The platforms jailer does not support (the spec's "stub only": macOS,
Windows) get a library and a `jailer` whose every call fails with
"jailer: only Linux is supported".  Proven with a real cross build for
Windows (Debian's mingw-w64) and, where Debian's wine runs here, by running
the stub."""
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

import jailtest

REPO = jailtest.REPO
CROSS = REPO / "tests" / "cross" / "mingw-w64.txt"
MESSAGE = "jailer: only Linux is supported"


def public_functions():
    text = (REPO / "common" / "jailer.h").read_text()
    return sorted(set(re.findall(r"^[a-z][\w \*]*?\b(jailer_\w+)\(", text, re.M)))


def test_the_stub_defines_every_public_function():
    names = public_functions()
    assert len(names) > 40, names
    stub = (REPO / "common" / "stub.c").read_text()
    missing = [n for n in names if not re.search(rf"^[a-z][\w \*]*?\b{n}\(", stub, re.M)]
    assert not missing, f"jailer.h declares, common/stub.c does not define: {missing}"


@pytest.fixture(scope="module")
def windows_build():
    if shutil.which("x86_64-w64-mingw32-gcc") is None:
        pytest.fail("the mingw-w64 cross compiler is missing (scripts/install-deps.sh installs "
                    "gcc-mingw-w64-x86-64)", pytrace=False)
    d = Path(tempfile.mkdtemp(prefix="jailer-win-"))
    try:
        p = subprocess.run(["meson", "setup", str(d / "b"), "--cross-file", str(CROSS), "--werror"],
                           cwd=REPO, capture_output=True, text=True)
        assert p.returncode == 0, p.stdout[-3000:] + p.stderr
        p = subprocess.run(["ninja", "-C", str(d / "b")], capture_output=True, text=True)
        assert p.returncode == 0, p.stdout[-3000:]
        yield d / "b"
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_windows_cross_build_makes_the_stub(windows_build):
    exe, dll = windows_build / "jailer.exe", windows_build / "libjailer.dll"
    assert exe.exists() and dll.exists()
    assert exe.read_bytes()[:2] == b"MZ" and dll.read_bytes()[:2] == b"MZ"
    dump = subprocess.run(["x86_64-w64-mingw32-objdump", "-p", str(dll)], capture_output=True, text=True).stdout
    exported = set(re.findall(r"\] (jailer_\w+)", dump))
    assert set(public_functions()) <= exported, sorted(set(public_functions()) - exported)
    # It needs nothing but Windows' own DLLs (no json-c, libcap, libseccomp).
    for f in (exe, dll):
        dump = subprocess.run(["x86_64-w64-mingw32-objdump", "-p", str(f)], capture_output=True, text=True).stdout
        dlls = {d.lower() for d in re.findall(r"DLL Name: (\S+)", dump)} - {"libjailer.dll"}
        assert dlls <= {"kernel32.dll", "msvcrt.dll"}, (f.name, dlls)


def test_the_windows_stub_says_only_linux_is_supported(windows_build, tmp_path):
    wine = shutil.which("wine") or shutil.which("wine64") or \
        next((w for w in ("/usr/lib/wine/wine64",) if os.access(w, os.X_OK)), None)
    if wine is None:
        pytest.skip("Debian's wine is not installed here: the stub was built, not run")
    env = dict(os.environ, WINEPREFIX=str(tmp_path / "wineprefix"), WINEDEBUG="-all",
               WINEDLLOVERRIDES="mscoree,mshtml=", DISPLAY="")
    p = subprocess.run([wine, str(windows_build / "jailer.exe"), "--id", "x"], env=env,
                       capture_output=True, text=True, timeout=300, cwd=windows_build)
    assert p.returncode == 125, (p.returncode, p.stdout, p.stderr[-2000:])
    assert MESSAGE in p.stderr, p.stderr[-2000:]
    server = shutil.which("wineserver") or "/usr/lib/wine/wineserver64"
    subprocess.run([server, "-k"], env=env, capture_output=True, timeout=60)
    # wine made its server's directory in /tmp (wine-XXXXXX/server-DEV-INO,
    # named after our prefix's device and inode): ours to remove, and only
    # that one.
    st = os.stat(tmp_path / "wineprefix")
    ours = f"server-{st.st_dev:x}-{st.st_ino:x}"
    for d in Path("/tmp").glob("wine-*"):
        if (d / ours).is_dir() and d.stat().st_uid == os.getuid():
            shutil.rmtree(d, ignore_errors=True)
