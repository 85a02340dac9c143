"""A worker whose start() config asks for a fresh process after every job (`refresh_worker`)."""

import os

import runpod


def handler(job):
    return {"pid": os.getpid()}


runpod.serverless.start({"handler": handler, "refresh_worker": True})
