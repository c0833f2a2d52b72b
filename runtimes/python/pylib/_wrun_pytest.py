"""pytest on CPython for WASI (python:cpython under wrun) with pytest's defaults.

The python:cpython runtime package ships this plugin in its standard library
directory, registered through the ``pytest11`` entry point of
``wrun_pytest-1.0.dist-info`` beside it, so pytest loads it whatever is
mounted over site-packages. It changes nothing on other platforms, and
``-p no:wrun`` turns it off. On WASI (no ``os.dup2``, no ``os.getuid``, no
``os.chmod``) it

- makes ``--capture=sys`` the default: pytest's default, ``fd``, redirects
  file descriptors 1 and 2 with ``os.dup2``. ``-s``/``--capture=no``,
  ``sys`` and ``tee-sys`` work; an explicit ``--capture=fd`` is refused with
  a usage error, and the ``capfd``/``capfdbinary`` fixtures fail the test
  that asks for them with a message saying to use ``capsys``;
- blocks pytest's ``faulthandler`` plugin, which duplicates stderr's file
  descriptor; CPython's faulthandler cannot dump tracebacks on WASI anyway
  (no signals);
- lets ``tmp_path``/``tmpdir`` create their base directory: pytest checks the
  owner of ``/tmp/pytest-of-<user>`` against ``os.getuid()``; here the id is
  reported as -1 ("unknown", which pytest accepts) to pytest's tmpdir module
  only, not to the program under test.
"""

import os
import sys
import types

import pytest

_WASI = sys.platform == "wasi"

_FD_MESSAGE = (
    "capturing file descriptors needs os.dup2, which CPython on WASI "
    "(python:cpython under wrun) does not have"
)


class _OsWithUnknownUid(types.ModuleType):
    """The os module as pytest's tmpdir module sees it: os.getuid() == -1."""

    def __getattr__(self, name):
        return getattr(os, name)

    @staticmethod
    def getuid():
        return -1


if _WASI:

    def pytest_addoption(parser, pluginmanager):
        for opt in parser.getgroup("general").options:
            if "--capture" in opt.names():
                opt.default = "sys"
                opt._attrs["default"] = "sys"
        pluginmanager.set_blocked("faulthandler")
        try:
            from _pytest import tmpdir
        except ImportError:
            return
        if not hasattr(os, "getuid") and getattr(tmpdir, "os", None) is os:
            tmpdir.os = _OsWithUnknownUid("os")

    # pytest parsed its early options (known_args_namespace) before this
    # plugin changed the default; capture's own hook reads them. Parsed again
    # with the new default, "fd" means the user (or addopts) asked for it.
    @pytest.hookimpl(tryfirst=True, hookwrapper=True)
    def pytest_load_initial_conftests(early_config, parser, args):
        ns = early_config.known_args_namespace
        if getattr(ns, "capture", None) == "fd":
            chosen = getattr(parser.parse_known_args(args), "capture", "fd")
            if chosen == "fd":
                raise pytest.UsageError(
                    "--capture=fd: " + _FD_MESSAGE + "; use --capture=sys (the default here), "
                    "--capture=tee-sys or -s"
                )
            ns.capture = chosen
        yield

    @pytest.fixture
    def capfd():
        pytest.fail("capfd: " + _FD_MESSAGE + "; use capsys", pytrace=False)

    @pytest.fixture
    def capfdbinary():
        pytest.fail("capfdbinary: " + _FD_MESSAGE + "; use capsysbinary", pytrace=False)
