# SPDX-License-Identifier: MIT
"""The man pages: each renders with man(1) without a warning, and documents
every long option that `--help` prints (jailer, jailerctl and each of its
commands, jailerd) and every jailerctl command.  Needs no root.

The pages are build outputs (man/, scdoc): a build without them fails here.
"""
import os
import re
import shutil
import subprocess

import pytest

import jailtest
from jailtest import BUILD

MAN_DIR = BUILD / "man"
PAGES = ["jailer.1", "jailerctl.1", "jailerd.8", "jailerd.json.5", "libjailer.3"]
JAILER = BUILD / "client" / "jailer"
JAILERCTL = BUILD / "client" / "jailerctl"
JAILERD = BUILD / "daemon" / "jailerd"
WIDTH = 80

LONG_OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")


def page_path(name):
    p = MAN_DIR / name
    if not p.is_file():
        pytest.fail(f"{p} was not built: the man pages need scdoc (scripts/install-deps.sh "
                    f"installs it), then `meson setup --reconfigure {BUILD.name} -Dman=enabled "
                    f"&& ninja -C {BUILD.name}`", pytrace=False)
    return p


def man_env():
    env = dict(os.environ, MANWIDTH=str(WIDTH), LC_ALL="C.UTF-8", MANPAGER="cat", PAGER="cat")
    env.pop("MAN_KEEP_FORMATTING", None)
    env.pop("LANGUAGE", None)
    return env


def tool(name, package):
    if not shutil.which(name):
        pytest.fail(f"{name} is not installed (Debian package {package}; scripts/install-deps.sh "
                    f"installs it)", pytrace=False)


def render(path):
    """`man -l` of path: (text, stderr), with man's and groff's warnings on."""
    tool("man", "man-db")
    p = subprocess.run(["man", "--warnings", "-l", str(path)], env=man_env(),
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, f"man -l {path} exited {p.returncode}: {p.stderr}"
    return p.stdout, p.stderr


def groff_warnings(path):
    """Every warning groff has (-ww), formatting for nothing (-z)."""
    tool("groff", "groff-base")
    p = subprocess.run(["groff", "-ww", "-man", "-Tutf8", "-z", "-k", str(path)], env=man_env(),
                       capture_output=True, text=True, timeout=60)
    return p.stderr


def page_text(name):
    """The rendered page with the line breaks inside words undone: groff
    hyphenates (U+2010) and also breaks after a hyphen of the source, which
    would cut an option in two."""
    text, _ = render(page_path(name))
    text = re.sub("\u2010\n[ \t]*", "", text)
    return re.sub(r"(?<=\w-)\n[ \t]*", "", text)


def section(text, title):
    """The body of a top-level section (a heading at column 0)."""
    m = re.search(rf"^{re.escape(title)}\n(.*?)(?=^\S|\Z)", text, re.M | re.S)
    assert m, f"no {title} section"
    return m.group(1)


def help_text(*argv):
    binary = argv[0]
    if not os.access(binary, os.X_OK):
        pytest.fail(f"not built: {binary} (ninja -C {BUILD.name}, or set JAILER_BUILD)", pytrace=False)
    env = dict(os.environ, JAILER_SOCKET="/nonexistent/jailerd.sock")
    p = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=30,
                       stdin=subprocess.DEVNULL, env=env)
    assert p.returncode == 0, f"{argv} exited {p.returncode}: {p.stderr}"
    return p.stdout


def long_options(text):
    return sorted(set(LONG_OPTION.findall(text)))


def jailerctl_commands():
    """The commands `jailerctl --help` lists."""
    text = help_text(JAILERCTL, "--help")
    m = re.search(r"^Commands:\n(.*?)\n\n", text, re.M | re.S)
    assert m, f"no Commands: in jailerctl --help:\n{text}"
    cmds = re.findall(r"^  ([a-z][a-z-]*)\b", m.group(1), re.M)
    assert "run" in cmds and "list" in cmds, cmds
    return cmds


def missing_from(text, options):
    return [o for o in options
            if not re.search(rf"(?<![\w-]){re.escape(o)}(?![\w-])", text)]


# --------------------------------------------------------------- rendering

@pytest.mark.parametrize("name", PAGES)
def test_page_renders_without_warnings(name):
    path = page_path(name)
    text, err = render(path)
    assert err == "", f"man -l {name} warns:\n{err}"
    assert err == "" and groff_warnings(path) == "", f"groff -ww warns on {name}:\n{groff_warnings(path)}"
    title = name.rsplit(".", 1)
    assert text.startswith(f"{title[0]}({title[1]})"), text[:200]
    for heading in ("NAME", "SYNOPSIS", "DESCRIPTION", "SEE ALSO"):
        assert re.search(rf"^{heading}$", text, re.M), f"{name} has no {heading} section"
    wide = [l for l in text.splitlines() if len(l) > WIDTH]
    assert not wide, f"{name}: lines wider than {WIDTH} columns:\n" + "\n".join(wide)


def test_warnings_are_caught(tmp_path):
    """The check above can fail: a page with an unknown macro warns."""
    bad = tmp_path / "bad.1"
    bad.write_text('.TH BAD 1\n.SH NAME\nbad \\- a page\n.BOGUS macro\n')
    _, err = render(bad)
    assert err or groff_warnings(bad), "a page with an undefined macro rendered without a warning"


# --------------------------------------------------------------- --help parity

def test_jailer_page_has_every_option():
    options = long_options(help_text(JAILER, "--help"))
    assert len(options) > 30, options
    missing = missing_from(section(page_text("jailer.1"), "OPTIONS"), options)
    assert not missing, f"jailer --help options missing from jailer(1) OPTIONS: {missing}"


def test_jailerctl_page_has_every_option_of_every_command():
    text = page_text("jailerctl.1")
    options = {"jailerctl --help": long_options(help_text(JAILERCTL, "--help"))}
    for cmd in jailerctl_commands():
        options[f"jailerctl {cmd} --help"] = long_options(help_text(JAILERCTL, cmd, "--help"))
    assert "--memory" in options["jailerctl run --help"], options
    missing = {k: missing_from(text, v) for k, v in options.items()}
    missing = {k: v for k, v in missing.items() if v}
    assert not missing, f"options missing from jailerctl(1): {missing}"


def test_jailerctl_page_has_every_command():
    commands = section(page_text("jailerctl.1"), "COMMANDS")
    missing = [c for c in jailerctl_commands()
               if not re.search(rf"^ {{7}}{re.escape(c)}\b", commands, re.M)]
    assert not missing, f"jailerctl commands without an entry in jailerctl(1) COMMANDS: {missing}"


def test_jailerd_page_has_every_option():
    options = long_options(help_text(JAILERD, "--help"))
    assert "--check-config" in options, options
    missing = missing_from(section(page_text("jailerd.8"), "OPTIONS"), options)
    assert not missing, f"jailerd --help options missing from jailerd(8) OPTIONS: {missing}"
