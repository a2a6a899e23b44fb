"""Runnable recipes: flowwire mounted at /ws in a plain ASGI app and in each framework.

See docs/mounting.md. Every module exposes `app` and `flowwire`.
"""
