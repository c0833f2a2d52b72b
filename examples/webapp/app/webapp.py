"""A plain WSGI app, run by wrun serve as a CGI handler.

GET /            the page: static/index.html, with its asset URLs replaced by
                 their content-hash URLs (from the manifest wrun serve mounts
                 at $WRUN_ASSET_URLS) and a line rendered here
GET /api/greet   JSON: a greeting for ?name=, and what answered it
GET /font        the font, sent by the host: the app hands back a handle
                 (X-Wrun-Asset), never the bytes
"""

import html
import json
import os
import sys
import urllib.parse
from wsgiref.handlers import CGIHandler

PAGE = "/static/index.html"


def asset_urls():
    """Maps the URL path of each static file to its content-hash URL."""
    path = os.environ.get("WRUN_ASSET_URLS")
    if not path:
        return {}
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def render_page():
    with open(PAGE, encoding="utf-8") as f:
        text = f.read()
    for url, hashed in asset_urls().items():
        text = text.replace('"%s"' % url, '"%s"' % hashed)
    where = "Rendered by Python %s on %s." % (sys.version.split()[0], sys.platform)
    return text.replace("<!--rendered-->", html.escape(where))


def greet(environ):
    query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
    name = query.get("name", ["world"])[0][:80]
    return {
        "greeting": "Hello, %s!" % name,
        "python": sys.version.split()[0],
        "platform": sys.platform,
        "method": environ.get("REQUEST_METHOD", ""),
    }


def app(environ, start_response):
    path = environ.get("PATH_INFO") or "/"
    if path == "/":
        body = render_page().encode("utf-8")
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-cache")])
        return [body]
    if path == "/api/greet":
        body = json.dumps(greet(environ)).encode("utf-8")
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]
    if path == "/font":
        start_response("200 OK", [("X-Wrun-Asset", "/static/dejavu-sans-ascii.ttf")])
        return [b""]
    start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
    return [b"not found\n"]


if __name__ == "__main__":
    CGIHandler().run(app)
