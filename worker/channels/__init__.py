"""Outbound channels. Each `send(message, merchant)` raises ChannelError when delivery failed."""


class ChannelError(Exception):
    def __init__(self, message: str, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent
