"""Where Twilio's OpenAPI description of its REST API is, for Stoplight Prism in the contract
tests (tests/conftest.py, `prism_url`) and in bench (bench/outbox.py, bench/soak.py).

The file is Twilio's, not ours, so the repository does not hold it. It is looked for where
CONTACTD_TWILIO_SPEC points, else in ../shared/twilio/ beside the repository. The contract
tests were written against one version of it, named below; another file is used too, with a
warning. Standard library only: bench imports this module without the test dependencies.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Mapping
from pathlib import Path

ENV = "CONTACTD_TWILIO_SPEC"
BESIDE = Path(__file__).resolve().parents[2] / "shared" / "twilio" / "twilio_api_v2010.json"

# The version the contract tests were written against.
REPOSITORY = "https://github.com/twilio/twilio-oai"
COMMIT = "d50069b44ea8cd23141385bdb6db48f16ff75bb5"
TAG = "2.6.7"
PATH = "spec/json/twilio_api_v2010.json"
SHA256 = "99cae87a6bb1725f71363364cbd30282a13140374b2d5f9bdd5bdfa5d4c8a6d7"
DOWNLOAD = f"https://raw.githubusercontent.com/twilio/twilio-oai/{COMMIT}/{PATH}"
VERSION = f"{PATH} of {REPOSITORY} at commit {COMMIT} (tag {TAG}), sha256 {SHA256}"


class OtherVersion(UserWarning):
    """The spec found is not the file the contract tests were written against."""


def wanted(environ: Mapping[str, str] | None = None, beside: Path = BESIDE) -> Path:
    """Where the spec should be: the path in CONTACTD_TWILIO_SPEC if it is set (and then only
    there), else ../shared/twilio/twilio_api_v2010.json beside the repository."""
    given = (os.environ if environ is None else environ).get(ENV, "")
    return Path(given).expanduser() if given else beside


def find(environ: Mapping[str, str] | None = None, beside: Path = BESIDE) -> Path | None:
    """The spec's path, or None where it is absent. A file other than the version the tests
    were written against is returned too, with an OtherVersion warning."""
    path = wanted(environ, beside)
    if not path.is_file():
        return None
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != SHA256:
        warnings.warn(
            f"{path} (sha256 {digest}) is not the Twilio spec the contract tests were written "
            f"against: {VERSION}",
            OtherVersion,
            stacklevel=2,
        )
    return path


def how_to_get(environ: Mapping[str, str] | None = None, beside: Path = BESIDE) -> str:
    """That the spec is missing, where it was looked for, and how to get that exact file."""
    env = os.environ if environ is None else environ
    path = wanted(env, beside)
    looked = f"{ENV}={path}" if env.get(ENV) else str(path)
    return (
        f"Twilio's OpenAPI spec is missing (looked for {looked}): the contract tests need "
        f"{VERSION}; e.g. `curl -fL --create-dirs -o {beside} {DOWNLOAD}`, or set {ENV} to "
        "the file's path"
    )


def for_tests(environ: Mapping[str, str] | None = None, beside: Path = BESIDE) -> Path:
    """The spec for a contract test. Where it is absent the test is skipped with how_to_get's
    message; under CI=true it fails instead."""
    import pytest  # here, not above: bench imports this module without pytest

    env = os.environ if environ is None else environ
    with warnings.catch_warnings():
        # Shown in pytest's warnings summary, not raised: pytest turns warnings into errors.
        warnings.simplefilter("always", OtherVersion)
        path = find(env, beside)
    if path is not None:
        return path
    if env.get("CI") == "true":
        pytest.fail(how_to_get(env, beside))
    pytest.skip(how_to_get(env, beside))


def for_prism(spec: Path, folder: Path) -> Path:
    """A copy of the spec for Prism, in `folder`, whose form bodies state the OpenAPI default
    for their array fields (style form, exploded: one key per value, as Twilio's library
    sends them). Prism applies that default only when it is written out
    (stoplightio/prism#2473): without it, it refuses a request that gives an array, such as
    a conference participant's StatusCallbackEvent, as Twilio documents it. Nothing else of
    Twilio's file changes."""
    import json  # here: most users of this module never need it

    document = json.loads(spec.read_text())
    for operations in document["paths"].values():
        for operation in operations.values():
            form = (
                operation.get("requestBody", {})
                .get("content", {})
                .get("application/x-www-form-urlencoded")
                if isinstance(operation, dict)
                else None
            )
            if not form:
                continue
            arrays = [
                name
                for name, field in form["schema"].get("properties", {}).items()
                if field.get("type") == "array"
            ]
            if arrays:
                explicit = {name: {"style": "form", "explode": True} for name in arrays}
                form["encoding"] = {**explicit, **form.get("encoding", {})}
    copy = folder / spec.name
    copy.write_text(json.dumps(document))
    return copy
