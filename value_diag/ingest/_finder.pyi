from collections.abc import Iterable

VECTORS: str
"""How sixteen bytes are tested at once: "sse2", "vector extensions" or "none"."""

class Finder:
    """The leftmost of several byte strings that all start with the same byte."""

    simd: bool
    escapes: bool
    def __init__(
        self, needles: Iterable[bytes], simd: bool = True, escapes: bool = False
    ) -> None: ...
    def search(self, data: bytes | bytearray, pos: int = 0, end: int = ..., /) -> int: ...
    def scan(self, data: bytes | bytearray, pos: int = 0, end: int = ..., /) -> tuple[int, int]: ...
