"""`flowwire demo`: sample workflows run by the reference runner, shown live on a page.

`samples` holds the workflows and the runner that runs them; `site` serves the
page and mounts flowwire next to it. The demo sits on top of the other layers
and may import them all; nothing imports the demo but the command line.
"""

__all__: list[str] = []
