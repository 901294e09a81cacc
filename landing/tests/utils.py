"""Helpers for posting to landing pages in tests."""

from landing.abuse import form_token_make


def submit(client, page, *, ip="127.0.0.1", token=None, **values):
    data = {"_token": token if token is not None else form_token_make(page=page), **values}
    return client.post(f"/l/{page.slug}/", data, REMOTE_ADDR=ip, HTTP_USER_AGENT="pytest-browser")
