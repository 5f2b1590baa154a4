"""The tours of README.md and docs/walkthrough.md run as written.

Each is the shell code of its document, taken from the document itself, run by bash against a
fresh server in a fresh directory, as a reader would: `zentra` on the PATH, the server's database
`./zentra.sqlite` of that directory, `API` its address. bash runs with -e and pipefail, so the
tour stops at the first call that answers an error status (`curl --fail-with-body`) or check
(`jq -e`) that does not hold: a tour that rots fails here."""
import re
import subprocess

import pytest

from conftest import BINARY, ROOT, Server

TOURS = {"README.md": "## A tour", "docs/walkthrough.md": "# Walkthrough with curl"}


def shell_of(document, heading):
    """The first ```sh block after the heading."""
    text = (ROOT / document).read_text()
    section = text[text.index(heading):]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)


@pytest.mark.parametrize("document", sorted(TOURS))
def test_the_tour_runs_as_written(document, tmp_path):
    server = Server(f"sqlite://{tmp_path}/zentra.sqlite")
    try:
        result = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", shell_of(document, TOURS[document])], cwd=tmp_path, capture_output=True, text=True,
            timeout=120, env={"PATH": f"{BINARY.parent}:/usr/local/bin:/usr/bin:/bin", "API": f"http://127.0.0.1:{server.port}",
                              "HOME": str(tmp_path)})
        assert result.returncode == 0, f"{document} stopped ({result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    finally:
        server.stop()
