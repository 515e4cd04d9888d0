"""The portal's pages. (Blueprints are registered in `register`.)"""


def register(app) -> None:
    pass
