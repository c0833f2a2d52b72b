"""The CGI entry point wrun serve runs per request: webapp's WSGI app over
CGI/1.1. On python:cpython-preinit, wrun.toml's WRUN_PYTHON_PRELOAD has the
runtime's init import webapp (and what it imports) into the snapshot, so a
request starts with it imported; on the plain runtime it is imported here.
"""

from wsgiref.handlers import CGIHandler

from webapp import app

CGIHandler().run(app)
