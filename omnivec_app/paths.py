"""Which server paths a user may type into the app. On this machine only (loopback) any readable path works;
on a shared server (a --host other than loopback, or --share) a typed path must lie under an allowed root:
the --gallery folder, each --allow-dir, the repository's runs/ and checkpoints/. One policy object, built in
launch.py from the arguments and held by AppState (no module-level state)."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def exposed(host: str | None, share: bool = False) -> bool:
    """Whether the app is reachable from other machines: a share link, or a bind address beyond loopback."""
    return bool(share) or str(host or "").strip().lower().strip("[]") not in LOOPBACK


@dataclass(frozen=True)
class PathPolicy:
    """`roots`: the folders a typed path must lie under (resolved, symlinks followed); None: unrestricted."""
    roots: tuple[Path, ...] | None = None

    @classmethod
    def confined(cls, roots: Iterable[str | Path]) -> PathPolicy:
        """A shared server's policy: only under these folders (each resolved now, duplicates dropped)."""
        return cls(tuple(dict.fromkeys(Path(r).expanduser().resolve() for r in roots)))

    @property
    def restricted(self) -> bool:
        return self.roots is not None

    def describe(self) -> str:
        if self.roots is None:
            return "any path this machine can read (the app listens on this machine only)"
        return "paths under " + (", ".join(str(r) for r in self.roots) or "no folder at all")

    def refusal(self, what: str) -> str:
        roots = ", ".join(str(r) for r in self.roots) or "(none)"
        return (f"{what}: this server is shared, so paths must be under one of: {roots}; start it with "
                "--allow-dir DIR to allow another folder")

    def check(self, text: str | Path) -> Path:
        """The path the user typed, if the policy allows it; a ValueError saying why not otherwise.
        Unrestricted: the path as typed with ~ expanded (what the tabs did before). Restricted: the path
        resolved (~ expanded, `..` and every symlink followed), which must lie under one of the roots; the
        message names only what was typed, never where it leads, so it shows nothing of the server's files."""
        typed = str(text if text is not None else "").strip()
        if not typed:
            raise ValueError("no path given")
        if "\x00" in typed:
            raise ValueError(f"{typed!r} is not a path (it holds a NUL character)")
        try:
            path = Path(typed).expanduser()
        except RuntimeError:  # ~user with no such user, or no home directory
            raise ValueError(f"{typed!r}: cannot expand ~ here") from None
        if self.roots is None:
            return path
        try:
            resolved = path.resolve(strict=False)  # a missing path is refused or allowed by where it would lie
        except (OSError, RuntimeError):  # a symlink loop, a name too long
            raise ValueError(self.refusal(f"{typed!r} cannot be resolved")) from None
        if any(resolved == root or resolved.is_relative_to(root) for root in self.roots):
            return resolved
        raise ValueError(self.refusal(f"{typed!r} is outside the folders this server shares"))
